/**
 * Serving the distribution on the configured domain: an ACM certificate in us-east-1 (the only
 * region CloudFront takes certificates from), validated by a DNS record in the hosted zone, and
 * A/AAAA alias records once the distribution exists.
 */
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { Construct } from 'constructs';

export interface CustomDomainProps {
  readonly domainName: string;
  readonly zoneId: string;
  /** us-east-1. */
  readonly provider: AwsProvider;
}

/** What an alias record points at. */
export interface AliasTarget {
  readonly domainName: string;
  readonly hostedZoneId: string;
}

export class CustomDomain extends Construct {
  readonly domainName: string;
  private readonly props: CustomDomainProps;
  private readonly validation: AcmCertificateValidation;

  constructor(scope: Construct, id: string, props: CustomDomainProps) {
    super(scope, id);
    this.props = props;
    this.domainName = props.domainName;
    const certificate = new AcmCertificate(this, 'certificate', {
      provider: props.provider,
      domainName: props.domainName,
      validationMethod: 'DNS',
      // A replacement must be issued before the distribution lets go of the old one.
      lifecycle: { createBeforeDestroy: true },
    });
    // One domain, one validation option.
    const option = certificate.domainValidationOptions.get(0);
    const record = new Route53Record(this, 'validation-record', {
      provider: props.provider,
      zoneId: props.zoneId,
      name: option.resourceRecordName,
      type: option.resourceRecordType,
      records: [option.resourceRecordValue],
      ttl: 300,
      allowOverwrite: true,
    });
    this.validation = new AcmCertificateValidation(this, 'validation', {
      provider: props.provider,
      certificateArn: certificate.arn,
      validationRecordFqdns: [record.fqdn],
    });
  }

  /** The certificate's ARN, available only once it is issued. */
  get certificateArn(): string {
    return this.validation.certificateArn;
  }

  /** Points the domain (IPv4 and IPv6) at the distribution. */
  aliasTo(target: AliasTarget): Route53Record[] {
    return (['A', 'AAAA'] as const).map(
      (type) =>
        new Route53Record(this, `alias-${type.toLowerCase()}`, {
          provider: this.props.provider,
          zoneId: this.props.zoneId,
          name: this.props.domainName,
          type,
          alias: { name: target.domainName, zoneId: target.hostedZoneId, evaluateTargetHealth: false },
        }),
    );
  }
}

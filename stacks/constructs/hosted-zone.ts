/**
 * The public Route53 zone holding `_rollout.<domain>`, `_bucket.<domain>` and the distribution's
 * alias records: the configured id, or a lookup by name when the config has none.
 */
import { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';

export interface HostedZoneProps {
  readonly zoneName: string;
  /** @default looked up by zoneName (public zones only) */
  readonly zoneId?: string;
  readonly provider: AwsProvider;
}

export class HostedZone extends Construct {
  readonly zoneId: string;
  readonly zoneName: string;

  constructor(scope: Construct, id: string, props: HostedZoneProps) {
    super(scope, id);
    this.zoneName = props.zoneName;
    this.zoneId =
      props.zoneId ??
      new DataAwsRoute53Zone(this, 'lookup', {
        provider: props.provider,
        name: props.zoneName,
        privateZone: false,
      }).zoneId;
  }
}

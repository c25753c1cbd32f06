/**
 * Where CloudFront writes its standard access logs: a PrivateBucket whose objects expire like
 * the function logs. CloudFront standard logging delivers through an ACL grant to its
 * log-delivery account, so this one bucket keeps ACLs enabled (BucketOwnerPreferred), with every
 * public ACL still blocked.
 */
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { PrivateBucket } from './private-bucket';

export interface AccessLogBucketProps {
  readonly bucketName: string;
  readonly provider: AwsProvider;
  readonly expirationDays: number;
}

export class AccessLogBucket extends Construct {
  private readonly storage: PrivateBucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id);
    this.storage = new PrivateBucket(this, 'storage', {
      bucketName: props.bucketName,
      provider: props.provider,
      objectOwnership: 'BucketOwnerPreferred',
      abortIncompleteUploadDays: 1,
      lifecycleRules: [
        { id: 'expire-logs', status: 'Enabled', filter: [{}], expiration: [{ days: props.expirationDays }] },
      ],
    });
  }

  get bucketName(): string {
    return this.storage.bucketName;
  }

  /** What CloudFront's logging_config names. */
  get domainName(): string {
    return this.storage.bucket.bucketDomainName;
  }

  /** The distribution must wait for ACLs to be writable and public ones blocked. */
  get ready(): ITerraformDependable[] {
    return [this.storage.ownershipControls, this.storage.publicAccessBlock];
  }
}

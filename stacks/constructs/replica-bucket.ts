/**
 * One replica bucket: every build's assets (uploaded outside Terraform state) in one region.
 *
 * A PrivateBucket, versioned so a bad cleanup can be undone for `noncurrentVersionDays`, and
 * readable by CloudFront only under `assets/`: the upload also writes `builds/<buildId>.json`
 * manifests that must never be served.
 */
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { PrivateBucket } from './private-bucket';

/** The key prefix CloudFront may read; everything else in the bucket stays private. */
export const SERVED_PREFIX = 'assets/';

/** Something CloudFront reads S3 as: the origin access identity's IAM ARN. */
export interface ReadIdentity {
  readonly iamArn: string;
}

export interface ReplicaBucketProps {
  readonly bucketName: string;
  readonly region: string;
  readonly provider: AwsProvider;
  /** Days a replaced or deleted object version is kept (at least 1). */
  readonly noncurrentVersionDays: number;
}

export class ReplicaBucket extends Construct {
  readonly region: string;
  private readonly storage: PrivateBucket;

  constructor(scope: Construct, id: string, props: ReplicaBucketProps) {
    super(scope, id);
    this.region = props.region;
    this.storage = new PrivateBucket(this, 'storage', {
      bucketName: props.bucketName,
      provider: props.provider,
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-replaced-versions',
          status: 'Enabled',
          filter: [{}],
          noncurrentVersionExpiration: [{ noncurrentDays: Math.max(1, props.noncurrentVersionDays) }],
          expiration: [{ expiredObjectDeleteMarker: true }],
        },
      ],
    });
  }

  get bucketName(): string {
    return this.storage.bucketName;
  }

  get bucketArn(): string {
    return this.storage.bucketArn;
  }

  /** Lets CloudFront (through `identity`) read the served assets, and nothing else. */
  grantRead(identity: ReadIdentity): void {
    this.storage.addToResourcePolicy({
      sid: 'CloudFrontReadsAssets',
      actions: ['s3:GetObject'],
      resources: [`${this.storage.bucketArn}/${SERVED_PREFIX}*`],
      principals: [{ type: 'AWS', identifiers: [identity.iamArn] }],
    });
  }
}

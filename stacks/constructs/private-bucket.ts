/**
 * An S3 bucket nobody reaches but those granted: every public access block on, SSE-S3, a bucket
 * policy that denies any request not over TLS, and lifecycle rules that at least abort stale
 * multipart uploads. The replica buckets and the access-log bucket are both this, plus their
 * own rules and grants.
 */
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Construct } from 'constructs';
import { PolicyDocument, type PolicyStatement } from './iam';

export interface PrivateBucketProps {
  readonly bucketName: string;
  readonly provider: AwsProvider;
  /**
   * BucketOwnerEnforced disables ACLs; only a bucket that CloudFront standard logging writes to
   * (it delivers through an ACL grant) needs BucketOwnerPreferred. @default 'BucketOwnerEnforced'
   */
  readonly objectOwnership?: 'BucketOwnerEnforced' | 'BucketOwnerPreferred';
  /** @default false */
  readonly versioned?: boolean;
  /** Rules besides aborting incomplete multipart uploads. @default none */
  readonly lifecycleRules?: readonly S3BucketLifecycleConfigurationRule[];
  /** @default 7 */
  readonly abortIncompleteUploadDays?: number;
}

export class PrivateBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly publicAccessBlock: S3BucketPublicAccessBlock;
  readonly ownershipControls: S3BucketOwnershipControls;
  private readonly policy: PolicyDocument;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
    const provider = props.provider;
    this.bucket = new S3Bucket(this, 'bucket', { provider, bucket: props.bucketName });
    const bucket = this.bucket.id;

    this.publicAccessBlock = new S3BucketPublicAccessBlock(this, 'public-access', {
      provider,
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    this.ownershipControls = new S3BucketOwnershipControls(this, 'ownership', {
      provider,
      bucket,
      rule: { objectOwnership: props.objectOwnership ?? 'BucketOwnerEnforced' },
    });
    // SSE-S3, not KMS: CloudFront's origin access identity cannot read SSE-KMS objects.
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      provider,
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    const versioning = props.versioned
      ? new S3BucketVersioningA(this, 'versioning', {
          provider,
          bucket,
          versioningConfiguration: { status: 'Enabled' },
        })
      : undefined;
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      provider,
      bucket,
      // Lifecycle rules on noncurrent versions need versioning in place first.
      dependsOn: versioning ? [versioning] : undefined,
      rule: [
        {
          id: 'abort-incomplete-uploads',
          status: 'Enabled',
          filter: [{}],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: props.abortIncompleteUploadDays ?? 7 }],
        },
        ...(props.lifecycleRules ?? []),
      ],
    });

    this.policy = new PolicyDocument(this, 'policy-document', {
      provider,
      statements: [
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          actions: ['s3:*'],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
          principals: [{ type: '*', identifiers: ['*'] }],
          conditions: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ],
    });
    new S3BucketPolicy(this, 'policy', {
      provider,
      bucket,
      policy: this.policy.json,
      // S3 refuses policy changes while the public access block is still being applied.
      dependsOn: [this.publicAccessBlock],
    });
  }

  get bucketName(): string {
    return this.bucket.bucket;
  }

  get bucketArn(): string {
    return this.bucket.arn;
  }

  addToResourcePolicy(...statements: PolicyStatement[]): void {
    this.policy.addStatements(...statements);
  }
}

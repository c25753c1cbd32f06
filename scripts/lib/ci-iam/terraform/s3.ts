/** S3: the buckets and their settings. */
import type { ResourceView } from '../grants';
import { type ResourcePermissions, s3Bucket } from './shared';

/** The bucket a bucket-level resource (`bucket = aws_s3_bucket.x.id`) belongs to. */
const ownBucket = (r: ResourceView) => [s3Bucket(r.scoped('bucket'))];

/**
 * An S3 bucket sub-resource: one Put action creates, changes and removes it (S3 has no Delete action for most of them).
 */
function bucketSetting(put: string, get: string): ResourcePermissions {
  return { arns: ownBucket, actions: { create: [put], read: [get], update: [put], delete: [put] } };
}

export const S3_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_s3_bucket: {
    arns: (r) => [s3Bucket(r.scoped('bucket'))],
    actions: {
      create: ['s3:CreateBucket', 's3:PutBucketTagging'],
      // The provider's refresh reads every bucket setting, managed here or not (HeadBucket is s3:ListBucket).
      read: [
        's3:ListBucket',
        's3:GetBucketPolicy',
        's3:GetBucketAcl',
        's3:GetBucketCORS',
        's3:GetBucketWebsite',
        's3:GetBucketVersioning',
        's3:GetAccelerateConfiguration',
        's3:GetBucketRequestPayment',
        's3:GetBucketLogging',
        's3:GetLifecycleConfiguration',
        's3:GetReplicationConfiguration',
        's3:GetEncryptionConfiguration',
        's3:GetBucketObjectLockConfiguration',
        's3:GetBucketTagging',
      ],
      update: ['s3:PutBucketTagging'],
      delete: ['s3:DeleteBucket'],
    },
  },
  aws_s3_bucket_policy: {
    arns: ownBucket,
    actions: {
      create: ['s3:PutBucketPolicy'],
      read: ['s3:GetBucketPolicy'],
      update: ['s3:PutBucketPolicy'],
      delete: ['s3:DeleteBucketPolicy'],
    },
  },
  aws_s3_bucket_lifecycle_configuration: bucketSetting('s3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration'),
  aws_s3_bucket_ownership_controls: bucketSetting('s3:PutBucketOwnershipControls', 's3:GetBucketOwnershipControls'),
  aws_s3_bucket_public_access_block: bucketSetting('s3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock'),
  aws_s3_bucket_server_side_encryption_configuration: bucketSetting(
    's3:PutEncryptionConfiguration',
    's3:GetEncryptionConfiguration',
  ),
  // Deleting suspends versioning: a Put too.
  aws_s3_bucket_versioning: bucketSetting('s3:PutBucketVersioning', 's3:GetBucketVersioning'),
  aws_s3_bucket_metric: bucketSetting('s3:PutMetricsConfiguration', 's3:GetMetricsConfiguration'),
};

/** Kinesis Data Streams: the signal stream. */
import type { ResourcePermissions } from './shared';

export const KINESIS_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // The signal stream, named by us. The provider creates it with its tags (CreateStream with Tags
  // is also authorized as AddTagsToStream: Kinesis API reference, CreateStream), waits for ACTIVE
  // (DescribeStreamSummary), sets its retention (IncreaseStreamRetentionPeriod, whenever
  // retention_period is set) and its encryption (StartStreamEncryption, which the reference
  // authorizes on the stream and on the KMS key both), then reads it back with its tags
  // (ListTagsForStream). A plan checks the account's shard limit (DescribeLimits, which takes no
  // resource; the provider ignores a refusal). Not granted: UpdateShardCount, UpdateStreamMode,
  // Enable/DisableEnhancedMonitoring and StopStreamEncryption, which Terraform calls only when the
  // shard count, the mode, shard-level metrics or the encryption change: the stacks fix all four
  // (one provisioned shard, encrypted, contracts/signal-capacity.ts), and the first three take no
  // resource, so a grant would reach every stream in the account.
  aws_kinesis_stream: {
    arns: (r) => [r.arn('kinesis', r.region, `stream/${r.scoped('name')}`)],
    actions: {
      create: [
        'kinesis:CreateStream',
        'kinesis:AddTagsToStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:IncreaseStreamRetentionPeriod',
        'kinesis:StartStreamEncryption',
        'kinesis:ListTagsForStream',
      ],
      read: ['kinesis:DescribeStreamSummary', 'kinesis:ListTagsForStream', 'kinesis:DescribeLimits'],
      update: [
        'kinesis:IncreaseStreamRetentionPeriod',
        'kinesis:DecreaseStreamRetentionPeriod',
        'kinesis:StartStreamEncryption',
        'kinesis:DescribeStreamSummary',
        'kinesis:AddTagsToStream',
        'kinesis:RemoveTagsFromStream',
      ],
      // The provider waits for the stream to be gone.
      delete: ['kinesis:DeleteStream', 'kinesis:DescribeStreamSummary'],
    },
    // StartStreamEncryption on the key too: the AWS managed key's id is KMS's, so any key of the region.
    also: (r) => [
      {
        phases: { create: ['kinesis:StartStreamEncryption'], update: ['kinesis:StartStreamEncryption'] },
        resources: [r.arn('kms', r.region, 'key/*')],
      },
    ],
  },
};

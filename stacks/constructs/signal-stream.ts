/**
 * The release signal's stream: the Kinesis data stream CloudFront's real-time logs of the entry
 * and of the error reports go to, and the signal consumer reads (contracts/signal-capacity.ts sizes
 * it: one shard, and a sampling rate that keeps the peak within 80 % of what one shard takes).
 *
 * - PROVISIONED with one shard, not ON_DEMAND: one shard read in order by one consumer is the one
 *   place every record of a period meets; on-demand mode chooses its own shard count and splits
 *   shards as traffic grows (Terraform's aws_kinesis_stream: `stream_mode_details.stream_mode`,
 *   and `shard_count` is required, at least 1, when it is PROVISIONED).
 * - Kept 24 hours, the least Kinesis keeps (aws_kinesis_stream `retention_period`, hours, 24 to
 *   8760): a record holds the viewer's address, which lives nowhere else and no longer than this.
 * - Encrypted at rest with the AWS managed key `alias/aws/kinesis` (aws_kinesis_stream:
 *   `encryption_type = "KMS"`, `kms_key_id` "the GUID for the customer-managed KMS key ... You can
 *   also use a Kinesis-owned master key by specifying the alias alias/aws/kinesis"). That key's
 *   policy lets every principal of the account use it through Kinesis ("The use of the default
 *   service key for encryption does not require application of custom IAM permissions", Kinesis
 *   Data Streams developer guide, "Permissions to use user-generated KMS keys"); the grants below
 *   still name it, as AWS documents for encrypted streams (producers kms:GenerateDataKey, consumers
 *   kms:Decrypt, same page; CloudFront developer guide, "Real-time log configuration IAM role"), so
 *   they keep working should the stream move to a key of our own. The key's ARN comes from the
 *   alias, read at plan time (the aws_kms_alias data source calls DescribeKey with the alias, which
 *   also creates the AWS managed key in an account that has never used it).
 *
 * Grants are methods: CloudFront's real-time log role writes, the consumer reads.
 */
import { DataAwsKmsAlias } from '@cdktf/provider-aws/lib/data-aws-kms-alias';
import { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { Grantable } from './rollout-store';

/** The AWS managed key Kinesis encrypts with when told so. */
export const KINESIS_MANAGED_KEY_ALIAS = 'alias/aws/kinesis';
/** The least Kinesis keeps a record, in hours. */
export const MINIMUM_RETENTION_HOURS = 24;

export interface SignalStreamProps {
  readonly streamName: string;
  /** signalCapacity(config.metrics).shards: always 1 (contracts/signal-capacity.ts). */
  readonly shards: 1;
  /** Hours. @default 24, Kinesis's minimum: records hold viewers' addresses */
  readonly retentionHours?: number;
  /** us-east-1, next to CloudFront's other resources and the consumer. */
  readonly provider: AwsProvider;
}

export class SignalStream extends Construct {
  readonly stream: KinesisStream;
  readonly streamName: string;
  readonly streamArn: string;
  /** ARN of the key the stream is encrypted with. */
  readonly keyArn: string;

  constructor(scope: Construct, id: string, props: SignalStreamProps) {
    super(scope, id);
    const key = new DataAwsKmsAlias(this, 'key', { provider: props.provider, name: KINESIS_MANAGED_KEY_ALIAS });
    this.keyArn = key.targetKeyArn;
    this.stream = new KinesisStream(this, 'stream', {
      provider: props.provider,
      name: props.streamName,
      streamModeDetails: { streamMode: 'PROVISIONED' },
      shardCount: props.shards,
      retentionPeriod: props.retentionHours ?? MINIMUM_RETENTION_HOURS,
      encryptionType: 'KMS',
      kmsKeyId: KINESIS_MANAGED_KEY_ALIAS,
    });
    this.streamName = this.stream.name;
    this.streamArn = this.stream.arn;
  }

  /**
   * What a producer needs: CloudFront's real-time log role (CloudFront developer guide, "Real-time
   * log configuration IAM role": kinesis:DescribeStreamSummary, DescribeStream, PutRecord and
   * PutRecords on the stream, and kms:GenerateDataKey on its key when the stream is encrypted).
   */
  grantWrite(grantee: Grantable): void {
    grantee.addToRolePolicy(
      {
        sid: 'WriteSignalStream',
        actions: ['kinesis:DescribeStreamSummary', 'kinesis:DescribeStream', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        resources: [this.streamArn],
      },
      { sid: 'EncryptSignalRecords', actions: ['kms:GenerateDataKey'], resources: [this.keyArn] },
    );
  }

  /**
   * What Lambda's event source mapping reads the stream with, as the function's role (Lambda
   * developer guide, "Using Lambda with Kinesis" / "Process Amazon Kinesis Data Streams records with
   * Lambda": kinesis:DescribeStream, DescribeStreamSummary, GetRecords, GetShardIterator, ListShards,
   * ListStreams; kms:Decrypt for an encrypted stream, Kinesis guide above). SubscribeToShard is for
   * enhanced fan-out consumers, which this is not.
   */
  grantRead(grantee: Grantable): void {
    grantee.addToRolePolicy(
      {
        sid: 'ReadSignalStream',
        actions: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
        ],
        resources: [this.streamArn],
      },
      // ListStreams takes no resource in AWS's service authorization reference: only "*" grants it,
      // and on the stream's ARN it would be silently no grant. It lists stream names, nothing more.
      { sid: 'ListStreamsTakesNoResource', actions: ['kinesis:ListStreams'], resources: ['*'] },
      { sid: 'DecryptSignalRecords', actions: ['kms:Decrypt'], resources: [this.keyArn] },
    );
  }
}

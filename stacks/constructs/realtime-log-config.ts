/**
 * CloudFront's real-time log configuration of the release signal: exactly the fields the signal
 * consumer reads (contracts/realtime-log.ts REALTIME_LOG_FIELDS), sampled at the rate that keeps the
 * peak within one shard (contracts/signal-capacity.ts), delivered to the signal stream. The entry
 * behaviour and the error-report behaviour carry it (stacks/constructs/distribution.ts).
 *
 * CloudFront writes to the stream with a role it assumes (CloudFront developer guide, "Real-time
 * log configuration IAM role": trusted by cloudfront.amazonaws.com, allowed
 * kinesis:DescribeStreamSummary, DescribeStream, PutRecord and PutRecords on the stream, and
 * kms:GenerateDataKey on the stream's key when it is encrypted; SignalStream.grantWrite). Creating
 * the configuration passes that role to CloudFront (iam:PassRole), and CloudFront checks the role can
 * reach the stream, so the configuration waits for the role's policy (Terraform's
 * aws_cloudfront_realtime_log_config example: `depends_on` the role policy).
 */
import { CloudfrontRealtimeLogConfig } from '@cdktf/provider-aws/lib/cloudfront-realtime-log-config';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { REALTIME_LOG_FIELDS } from '../../contracts/realtime-log';
import { ServiceRole, type PolicyStatement } from './iam';
import type { SignalStream } from './signal-stream';

export interface SignalLogConfigProps {
  readonly configName: string;
  /** The role CloudFront writes to the stream with; `<name>-…`, as every role the stacks create. */
  readonly roleName: string;
  /** signalCapacity(config.metrics).samplingPercent: 1 to 100. */
  readonly samplingPercent: number;
  readonly stream: SignalStream;
  /** us-east-1: CloudFront's resources live there. */
  readonly provider: AwsProvider;
}

export class SignalLogConfig extends Construct {
  readonly config: CloudfrontRealtimeLogConfig;
  readonly role: ServiceRole;

  constructor(scope: Construct, id: string, props: SignalLogConfigProps) {
    super(scope, id);
    if (!Number.isInteger(props.samplingPercent) || props.samplingPercent < 1 || props.samplingPercent > 100) {
      throw new Error(
        `the real-time log sampling rate is a whole percentage from 1 to 100, got ${props.samplingPercent}`,
      );
    }
    this.role = new ServiceRole(this, 'role', {
      provider: props.provider,
      roleName: props.roleName,
      assumedBy: ['cloudfront.amazonaws.com'],
      description:
        'CloudFront writes the release signal (real-time logs of the entry and the error reports) to its stream',
    });
    const role = this.role;
    props.stream.grantWrite({ addToRolePolicy: (...statements: PolicyStatement[]) => role.addToPolicy(...statements) });
    this.config = new CloudfrontRealtimeLogConfig(this, 'config', {
      provider: props.provider,
      name: props.configName,
      samplingRate: props.samplingPercent,
      // The AWS provider holds `fields` as a set (schema.TypeSet) and sends them in an order of its
      // own; CloudFront's API reference says a response lists them "in the same order in which
      // they are sent to the Amazon Kinesis data stream" (RealtimeLogConfig, Fields). So the
      // consumer asks GetRealtimeLogConfig for the order at its start (grantReadFields), rather than
      // trusting this one.
      fields: [...REALTIME_LOG_FIELDS],
      endpoint: {
        streamType: 'Kinesis',
        kinesisStreamConfig: { roleArn: this.role.roleArn, streamArn: props.stream.streamArn },
      },
      dependsOn: this.role.permissionResources,
    });
  }

  get arn(): string {
    return this.config.arn;
  }

  /** GetRealtimeLogConfig: the order CloudFront writes the fields in. */
  grantReadFields(grantee: { addToRolePolicy(...statements: PolicyStatement[]): void }): void {
    grantee.addToRolePolicy({
      sid: 'ReadLogFieldOrder',
      actions: ['cloudfront:GetRealtimeLogConfig'],
      resources: [this.config.arn],
    });
  }
}

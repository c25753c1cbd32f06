/**
 * Health of one replica bucket, as Route53 sees it, without making anything in the bucket public.
 *
 * An HTTP health check would need a public object (`_health`), i.e. a hole in the public access
 * block of a bucket whose whole point is that only CloudFront reads it. Instead: S3 request
 * metrics for the whole bucket → a CloudWatch alarm in the bucket's region on `5xxErrors` →
 * a Route53 health check of type CLOUDWATCH_METRIC on that alarm. A region whose S3 is failing
 * requests drops out of the `_bucket.<domain>` latency answers; a region that is outright
 * unreachable produces no metrics (missing data is not breaching, insufficient data is healthy),
 * and that case is CloudFront origin failover's job: the origin group retries the secondary.
 */
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53HealthCheck } from '@cdktf/provider-aws/lib/route53-health-check';
import { S3BucketMetric } from '@cdktf/provider-aws/lib/s3-bucket-metric';
import { Construct } from 'constructs';

/** Name of the request-metrics configuration; it is the `FilterId` dimension of the metrics. */
export const WHOLE_BUCKET_METRICS = 'EntireBucket';

export interface BucketHealthCheckProps {
  readonly bucketName: string;
  readonly region: string;
  /** Provider of the bucket's region: S3 metrics and their alarm live there. */
  readonly regionProvider: AwsProvider;
  /** Provider for Route53 (global; us-east-1). */
  readonly globalProvider: AwsProvider;
  /** Server errors per minute that count as failing. @default 5 */
  readonly errorsPerMinute?: number;
  /** @default 3 */
  readonly evaluationPeriods?: number;
  /** @default 2 */
  readonly datapointsToAlarm?: number;
}

export class BucketHealthCheck extends Construct {
  readonly alarm: CloudwatchMetricAlarm;
  readonly healthCheck: Route53HealthCheck;

  constructor(scope: Construct, id: string, props: BucketHealthCheckProps) {
    super(scope, id);
    const metrics = new S3BucketMetric(this, 'request-metrics', {
      provider: props.regionProvider,
      bucket: props.bucketName,
      name: WHOLE_BUCKET_METRICS,
    });
    this.alarm = new CloudwatchMetricAlarm(this, 'server-errors', {
      provider: props.regionProvider,
      alarmName: `${props.bucketName}-5xx-errors`,
      alarmDescription: `S3 in ${props.region} is failing requests for ${props.bucketName}; Route53 stops answering this region for the nearest bucket.`,
      namespace: 'AWS/S3',
      metricName: '5xxErrors',
      dimensions: { BucketName: props.bucketName, FilterId: WHOLE_BUCKET_METRICS },
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: props.evaluationPeriods ?? 3,
      datapointsToAlarm: props.datapointsToAlarm ?? 2,
      threshold: props.errorsPerMinute ?? 5,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      dependsOn: [metrics],
    });
    this.healthCheck = new Route53HealthCheck(this, 'health-check', {
      provider: props.globalProvider,
      type: 'CLOUDWATCH_METRIC',
      cloudwatchAlarmName: this.alarm.alarmName,
      cloudwatchAlarmRegion: props.region,
      insufficientDataHealthStatus: 'Healthy',
      tags: { Name: `${props.bucketName} (${props.region})` },
    });
  }

  get healthCheckId(): string {
    return this.healthCheck.id;
  }
}

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
 *
 * A bucket is also unhealthy while it lacks a build viewers are assigned: rollout sync checks
 * every bucket for the stable and canary builds' manifests each minute and emits `MissingBuilds`
 * per region (us-east-1); an alarm on it, with missing data breaching, keeps a region out of the
 * answers until rollout sync has seen it hold them (a region just added to the config, before the
 * backfill copies the builds in; a region cleanup emptied by mistake). The record answers only
 * while both checks are healthy (a CALCULATED check over the two). If rollout sync stops, every
 * region goes unhealthy, and Route53 then answers as if all were healthy: it fails open.
 */
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53HealthCheck } from '@cdktf/provider-aws/lib/route53-health-check';
import { S3BucketMetric } from '@cdktf/provider-aws/lib/s3-bucket-metric';
import { Construct } from 'constructs';
import { DIMENSION_REGION, METRIC_MISSING_BUILDS } from '../../contracts/release-signal';

/** Name of the request-metrics configuration; it is the `FilterId` dimension of the metrics. */
export const WHOLE_BUCKET_METRICS = 'EntireBucket';

export interface BucketHealthCheckProps {
  readonly bucketName: string;
  readonly region: string;
  /** Provider of the bucket's region: S3 metrics and their alarm live there. */
  readonly regionProvider: AwsProvider;
  /** Provider for Route53 (global; us-east-1), and for the missing-builds alarm (rollout sync emits there). */
  readonly globalProvider: AwsProvider;
  /** Namespace rollout sync emits MissingBuilds in (config metrics.namespace). */
  readonly metricsNamespace: string;
  /** Server errors per minute that count as failing. @default 5 */
  readonly errorsPerMinute?: number;
  /** @default 3 */
  readonly evaluationPeriods?: number;
  /** @default 2 */
  readonly datapointsToAlarm?: number;
}

/** Periods of one minute (rollout sync's schedule) without a good report before a region is out. */
export const MISSING_BUILDS_PERIODS = 3;

export class BucketHealthCheck extends Construct {
  readonly alarm: CloudwatchMetricAlarm;
  readonly missingBuildsAlarm: CloudwatchMetricAlarm;
  /** What the record answers by: both checks healthy. */
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
      alarmDescription:
        `S3 in ${props.region} is failing requests for ${props.bucketName}; Route53 stops answering this region ` +
        `for the nearest bucket.`,
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
    const serverErrors = new Route53HealthCheck(this, 'health-check', {
      provider: props.globalProvider,
      type: 'CLOUDWATCH_METRIC',
      cloudwatchAlarmName: this.alarm.alarmName,
      cloudwatchAlarmRegion: props.region,
      insufficientDataHealthStatus: 'Healthy',
      tags: { Name: `${props.bucketName} (${props.region}): S3 server errors` },
    });
    this.missingBuildsAlarm = new CloudwatchMetricAlarm(this, 'missing-builds', {
      provider: props.globalProvider,
      alarmName: `${props.bucketName}-missing-builds`,
      alarmDescription:
        `${props.bucketName} (${props.region}) lacks a build viewers are assigned, or rollout sync has not said ` +
        `it holds them; Route53 stops answering this region for the nearest bucket.`,
      namespace: props.metricsNamespace,
      metricName: METRIC_MISSING_BUILDS,
      dimensions: { [DIMENSION_REGION]: props.region },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: MISSING_BUILDS_PERIODS,
      datapointsToAlarm: MISSING_BUILDS_PERIODS,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      // No report is no proof: a region nobody has checked is not sent viewers.
      treatMissingData: 'breaching',
    });
    const holdsBuilds = new Route53HealthCheck(this, 'holds-builds', {
      provider: props.globalProvider,
      type: 'CLOUDWATCH_METRIC',
      cloudwatchAlarmName: this.missingBuildsAlarm.alarmName,
      cloudwatchAlarmRegion: 'us-east-1',
      insufficientDataHealthStatus: 'Unhealthy',
      tags: { Name: `${props.bucketName} (${props.region}): holds the assigned builds` },
    });
    this.healthCheck = new Route53HealthCheck(this, 'answerable', {
      provider: props.globalProvider,
      type: 'CALCULATED',
      childHealthchecks: [serverErrors.id, holdsBuilds.id],
      childHealthThreshold: 2,
      tags: { Name: `${props.bucketName} (${props.region})` },
    });
  }

  get healthCheckId(): string {
    return this.healthCheck.id;
  }
}

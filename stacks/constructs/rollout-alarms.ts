/**
 * The two alarms a deployment is judged by; CodeDeploy rolls the alias back when either fires.
 *
 * Client errors: what browsers report through the metrics API for *this* release's build
 * (dimension BuildId), as a percentage of its loads. Below the minimum sample a period's rate
 * counts as 0, so a handful of viewers cannot roll a release back.
 *
 * Edge errors: Lambda@Edge's own metrics are written in every region that ran it, so one alarm
 * cannot see them; CloudFront's per-distribution LambdaExecutionError/LambdaValidationError are
 * global (us-east-1, Region=Global) and cover both routers wherever they ran.
 */
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { DeployConfig } from '../../config';
import { DIMENSION_BUILD_ID, METRIC_ERRORS, METRIC_LOADS } from '../../regional-function/shared/metric-names';

export interface RolloutAlarmsProps {
  readonly clientErrorAlarmName: string;
  readonly edgeErrorAlarmName: string;
  readonly alarms: DeployConfig['alarms'];
  /** CloudWatch namespace the metrics API writes to. */
  readonly namespace: string;
  /** The build this release ships; only its errors and loads count. */
  readonly buildId: string;
  readonly distributionId: string;
  /** us-east-1: where the metrics API publishes and CloudFront's metrics live. */
  readonly provider: AwsProvider;
}

export class RolloutAlarms extends Construct {
  readonly clientErrors: CloudwatchMetricAlarm;
  readonly edgeErrors: CloudwatchMetricAlarm;

  constructor(scope: Construct, id: string, props: RolloutAlarmsProps) {
    super(scope, id);
    const { alarms } = props;
    const period = alarms.periodSeconds;
    const clientMetric = (metricName: string) => ({
      namespace: props.namespace,
      metricName,
      dimensions: { [DIMENSION_BUILD_ID]: props.buildId },
      period,
      stat: 'Sum',
    });
    this.clientErrors = new CloudwatchMetricAlarm(this, 'client-errors', {
      provider: props.provider,
      alarmName: props.clientErrorAlarmName,
      alarmDescription: `Build ${props.buildId}: client errors above ${alarms.errorRatePercent}% of loads (periods with fewer than ${alarms.minLoads} loads count as 0). CodeDeploy rolls back.`,
      metricQuery: [
        { id: 'errors', metric: clientMetric(METRIC_ERRORS), returnData: false },
        { id: 'loads', metric: clientMetric(METRIC_LOADS), returnData: false },
        {
          id: 'error_rate',
          label: 'Client error rate (%)',
          expression: `IF(FILL(loads, 0) >= ${alarms.minLoads}, 100 * FILL(errors, 0) / FILL(loads, 0), 0)`,
          returnData: true,
        },
      ],
      comparisonOperator: 'GreaterThanThreshold',
      threshold: alarms.errorRatePercent,
      evaluationPeriods: alarms.evaluationPeriods,
      datapointsToAlarm: alarms.datapointsToAlarm,
      treatMissingData: 'notBreaching',
    });

    const cloudFrontMetric = (metricName: string) => ({
      namespace: 'AWS/CloudFront',
      metricName,
      dimensions: { DistributionId: props.distributionId, Region: 'Global' },
      period,
      stat: 'Sum',
    });
    this.edgeErrors = new CloudwatchMetricAlarm(this, 'edge-errors', {
      provider: props.provider,
      alarmName: props.edgeErrorAlarmName,
      alarmDescription: `Lambda@Edge execution or validation errors reach ${alarms.edgeFunctionErrors} per period on the distribution. CodeDeploy rolls back.`,
      metricQuery: [
        { id: 'execution', metric: cloudFrontMetric('LambdaExecutionError'), returnData: false },
        { id: 'validation', metric: cloudFrontMetric('LambdaValidationError'), returnData: false },
        { id: 'edge_errors', label: 'Lambda@Edge errors', expression: 'FILL(execution, 0) + FILL(validation, 0)', returnData: true },
      ],
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: alarms.edgeFunctionErrors,
      evaluationPeriods: alarms.evaluationPeriods,
      datapointsToAlarm: alarms.datapointsToAlarm,
      treatMissingData: 'notBreaching',
    });
  }

  get alarmNames(): string[] {
    return [this.clientErrors.alarmName, this.edgeErrors.alarmName];
  }
}

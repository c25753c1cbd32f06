/**
 * The release's alarms. CodeDeploy rolls the alias back on the client-error alarm, and rollout
 * sync takes the canary's viewers away the moment it fires; the edge-error alarm is not one
 * CodeDeploy acts on (see rollbackAlarmNames).
 *
 * Client errors: the share of canary viewers who reported an error, against the same share among
 * stable viewers over the same periods, counted by the metrics API as distinct viewers per role
 * and period; the rule, its minimum of viewers and its metric math are contracts/release-signal.ts's.
 *
 * Edge errors: Lambda@Edge's own metrics are written in every region that ran it, so one alarm
 * cannot see them; CloudFront's per-distribution LambdaExecutionError/LambdaValidationError are
 * global (us-east-1, Region=Global) and cover both routers wherever they ran.
 */
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmMetricQuery } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { DeployConfig } from '../../config';
import { DIMENSION_ROLE, releaseAlarmQueries, type ReleaseAlarmQueries } from '../../contracts/release-signal';

export interface RolloutAlarmsProps {
  readonly clientErrorAlarmName: string;
  readonly edgeErrorAlarmName: string;
  readonly alarms: DeployConfig['alarms'];
  /** CloudWatch namespace the metrics API writes to. */
  readonly namespace: string;
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
    const queries = releaseAlarmQueries(alarms);
    this.clientErrors = new CloudwatchMetricAlarm(this, 'client-errors', {
      provider: props.provider,
      alarmName: props.clientErrorAlarmName,
      // Nothing here names a build: the canary is a role, so a deploy during a running deployment
      // leaves the alarm exactly as it was, still judging that deployment's canary.
      alarmDescription:
        `The canary's share of viewers reporting an error exceeds the stable build's by more than ${alarms.excessErrorPercent} points ` +
        `(periods with fewer than ${alarms.minViewers} canary viewers count as 0). CodeDeploy rolls back; rollout sync holds the canary at once.`,
      metricQuery: alarmMetricQueries(queries, props.namespace, period),
      comparisonOperator: 'GreaterThanThreshold',
      threshold: queries.threshold,
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
      alarmDescription: `Lambda@Edge execution or validation errors reach ${alarms.edgeFunctionErrors} per period on the distribution. Router code reaches every viewer at once, so no rollback of the build undoes it: redeploy the previous commit.`,
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

  /**
   * The alarms CodeDeploy rolls a deployment back on: only the client-error alarm. A rollback
   * moves the alias, i.e. the build viewers get; the edge-error alarm watches the routers' code,
   * which every viewer runs from the moment the deploy associates it, whatever the alias says, so
   * rolling the build back would undo the wrong thing. Router code is checked before it is
   * deployed instead (npm run verify-edge), and the edge-error alarm is there to be seen
   * (dashboard, `rollout status`) and acted on by redeploying the previous commit.
   */
  get rollbackAlarmNames(): string[] {
    return [this.clientErrors.alarmName];
  }
}

/** The contract's queries as the alarm's metric_query blocks: Sum of each role's metric per period. */
export function alarmMetricQueries(queries: ReleaseAlarmQueries, namespace: string, period: number): CloudwatchMetricAlarmMetricQuery[] {
  return [
    ...queries.metrics.map((query) => ({
      id: query.id,
      metric: { namespace, metricName: query.metric.metricName, dimensions: { [DIMENSION_ROLE]: query.metric.role }, period, stat: 'Sum' },
      returnData: false,
    })),
    ...queries.expressions.map((query) => ({ id: query.id, expression: query.expression, label: query.label, returnData: query.id === queries.resultId })),
  ];
}

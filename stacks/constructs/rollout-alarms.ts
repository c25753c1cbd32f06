/**
 * The release's alarms. CodeDeploy rolls the alias back on the client-error alarm, and rollout
 * sync takes the canary's viewers away the moment it fires; while the unjudged alarm fires, the
 * weight holds (see rollbackAlarmNames).
 *
 * Client errors: the judge's verdict (contracts/canary-judge.ts), which the signal consumer emits
 * at every look as a high-resolution metric: 1 once the evidence shows the canary failing.
 *
 * Unjudged periods: the signal could not see a period whole (stacks/constructs/signal-unjudged-alarm.ts).
 *
 * Edge errors: Lambda@Edge's own metrics are written in every region that ran it, so one alarm
 * cannot see them; CloudFront's per-distribution LambdaExecutionError/LambdaValidationError are
 * global (us-east-1, Region=Global) and cover both routers wherever they ran.
 *
 * Assignment fallbacks: entry loads the viewer-assignment function passed on unrewritten because it
 * could not use the rollout state, each one a Lambda@Edge invocation and a read of the store's API.
 * The function logs one line on that path only (STATE_UNREADABLE_LOG), CloudFront Functions send
 * console.log lines to the log group `/aws/cloudfront/function/<name>` in us-east-1 whatever edge ran
 * the function (CloudFront developer guide, "Edge function logs", CloudFront Functions logs), and a
 * metric filter there counts them. Nothing is logged, stored or counted on the normal path.
 */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchLogMetricFilter } from '@cdktf/provider-aws/lib/cloudwatch-log-metric-filter';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { DeployConfig } from '../../config';
import {
  DIMENSION_SIGNAL,
  METRIC_CANARY_FAILING,
  SIGNAL_ENTRY,
  VERDICT_PERIOD_SECONDS,
} from '../../contracts/release-signal';
import { STATE_UNREADABLE_LOG } from '../../contracts/rollout-state';
import { SignalUnjudgedAlarm } from './signal-unjudged-alarm';

/** The metric the fallback lines become, in the configured namespace: one per entry load that fell back. */
export const METRIC_ASSIGNMENT_FALLBACKS = 'AssignmentFallbacks';

/**
 * When the fallback alarm fires: any fallback in 2 of 3 periods of 5 minutes. Not configurable: by
 * design no entry load falls back (rollout sync keeps the key written, and the function reads it at
 * the edge location), so there is no traffic-dependent baseline to tune; 2 of 3 lets one brief blip
 * (a key deleted and rewritten within a period) pass, and fires within 10-15 minutes on what lasts:
 * a broken store, or function code that refuses the state rollout sync writes, which would
 * otherwise send every load through Lambda@Edge, unseen, until someone read the bill.
 */
const ASSIGNMENT_FALLBACK_ALARM = {
  periodSeconds: 300,
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
  threshold: 1,
} as const;

/**
 * The filter pattern counting the function's fallback line: the marker as one quoted term, matched
 * anywhere in the log event and case sensitive. It must be quoted: "Metric filter terms that
 * include characters other than alphanumeric or underscore must be placed inside double quotes"
 * (CloudWatch Logs user guide, "Filter and pattern syntax", matching terms in log events).
 */
const ASSIGNMENT_FALLBACK_PATTERN = `"${STATE_UNREADABLE_LOG}"`;

/** CloudFront Functions' log group for a function (in us-east-1). */
function cloudFrontFunctionLogGroup(functionName: string): string {
  return `/aws/cloudfront/function/${functionName}`;
}

export interface RolloutAlarmsProps {
  readonly clientErrorAlarmName: string;
  readonly edgeErrorAlarmName: string;
  readonly alarms: DeployConfig['alarms'];
  /** CloudWatch namespace the signal consumer and rollout sync write to (config metrics.namespace). */
  readonly namespace: string;
  readonly distributionId: string;
  readonly assignmentFallbackAlarmName: string;
  /** The viewer-assignment CloudFront Function's name: its log group is named after it. */
  readonly viewerAssignmentName: string;
  readonly logRetentionDays: number;
  /** The unjudged alarm: its name, the lateness it allows, and the consumer and stream it watches, by name. */
  readonly signal: {
    readonly unjudgedAlarmName: string;
    readonly latenessSeconds: number;
    readonly consumerFunctionName: string;
    readonly streamName: string;
  };
  /** us-east-1: where the signal consumer publishes, CloudFront's metrics live and CloudFront Functions log. */
  readonly provider: AwsProvider;
}

export class RolloutAlarms extends Construct {
  readonly clientErrors: CloudwatchMetricAlarm;
  readonly edgeErrors: CloudwatchMetricAlarm;
  /** `/aws/cloudfront/function/<viewer-assignment>`: created here, with a retention, before CloudFront would. */
  readonly viewerAssignmentLogs: CloudwatchLogGroup;
  readonly assignmentFallbacks: CloudwatchMetricAlarm;
  readonly signalUnjudged: SignalUnjudgedAlarm;

  constructor(scope: Construct, id: string, props: RolloutAlarmsProps) {
    super(scope, id);
    const { alarms } = props;
    const period = alarms.periodSeconds;
    this.clientErrors = new CloudwatchMetricAlarm(this, 'client-errors', {
      provider: props.provider,
      alarmName: props.clientErrorAlarmName,
      // Nothing here names a build: the verdict is on whatever canary the release runs, so a
      // deploy during a running deployment leaves the alarm exactly as it was.
      alarmDescription:
        `The judge found the canary failing: the evidence shows its share of viewers reporting an error more ` +
        `than ${alarms.toleratedExcessPercent} points above the stable build's ` +
        `(a confidence sequence that holds at every look; at most ${alarms.falseRollbackRate} of healthy ` +
        `releases rolled back). CodeDeploy rolls back; rollout sync has taken the canary's viewers away already.`,
      namespace: props.namespace,
      metricName: METRIC_CANARY_FAILING,
      dimensions: { [DIMENSION_SIGNAL]: SIGNAL_ENTRY },
      statistic: 'Maximum',
      period: VERDICT_PERIOD_SECONDS,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No verdict is no failure: a judge that cannot see holds the weight (the unjudged alarm, rollout sync).
      treatMissingData: 'notBreaching',
    });
    this.signalUnjudged = new SignalUnjudgedAlarm(this, 'signal-unjudged', {
      provider: props.provider,
      alarmName: props.signal.unjudgedAlarmName,
      alarms,
      latenessSeconds: props.signal.latenessSeconds,
      namespace: props.namespace,
      consumerFunctionName: props.signal.consumerFunctionName,
      streamName: props.signal.streamName,
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
      alarmDescription:
        `Lambda@Edge execution or validation errors reach ${alarms.edgeFunctionErrors} per period on the ` +
        `distribution. Router code reaches every viewer at once, so no rollback of the build undoes it: redeploy ` +
        `the previous commit.`,
      metricQuery: [
        { id: 'execution', metric: cloudFrontMetric('LambdaExecutionError'), returnData: false },
        { id: 'validation', metric: cloudFrontMetric('LambdaValidationError'), returnData: false },
        {
          id: 'edge_errors',
          label: 'Lambda@Edge errors',
          expression: 'FILL(execution, 0) + FILL(validation, 0)',
          returnData: true,
        },
      ],
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: alarms.edgeFunctionErrors,
      evaluationPeriods: alarms.evaluationPeriods,
      datapointsToAlarm: alarms.datapointsToAlarm,
      treatMissingData: 'notBreaching',
    });

    // Named from the config, not from the function resource, so that it can be created before the
    // function (see DeliveryStack): a group CloudFront made first would make this create fail.
    this.viewerAssignmentLogs = new CloudwatchLogGroup(this, 'viewer-assignment-logs', {
      provider: props.provider,
      name: cloudFrontFunctionLogGroup(props.viewerAssignmentName),
      retentionInDays: props.logRetentionDays,
    });
    // No default value: a period without a fallback line reports no datapoint (the function logs
    // nothing else), which the alarm treats as not breaching.
    new CloudwatchLogMetricFilter(this, 'assignment-fallback-lines', {
      provider: props.provider,
      name: `${props.viewerAssignmentName}-${STATE_UNREADABLE_LOG}`,
      logGroupName: this.viewerAssignmentLogs.name,
      pattern: ASSIGNMENT_FALLBACK_PATTERN,
      metricTransformation: {
        name: METRIC_ASSIGNMENT_FALLBACKS,
        namespace: props.namespace,
        value: '1',
        unit: 'Count',
      },
    });
    const fallback = ASSIGNMENT_FALLBACK_ALARM;
    this.assignmentFallbacks = new CloudwatchMetricAlarm(this, 'assignment-fallbacks', {
      provider: props.provider,
      alarmName: props.assignmentFallbackAlarmName,
      alarmDescription:
        `Entry loads reach the entry router through the fallback in ${fallback.datapointsToAlarm} of ` +
        `${fallback.evaluationPeriods} periods of ${fallback.periodSeconds / 60} minutes: ` +
        `the viewer-assignment function could not read or parse the rollout state (its log line ` +
        `"${STATE_UNREADABLE_LOG} read|invalid"), so every such load runs Lambda@Edge and reads the store's ` +
        `API. ` +
        "Viewers still get the right build. Check the rollout key (npm run rollout -- status) and the function's logs.",
      namespace: props.namespace,
      metricName: METRIC_ASSIGNMENT_FALLBACKS,
      statistic: 'Sum',
      period: fallback.periodSeconds,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: fallback.threshold,
      evaluationPeriods: fallback.evaluationPeriods,
      datapointsToAlarm: fallback.datapointsToAlarm,
      treatMissingData: 'notBreaching',
    });
  }

  /**
   * The alarms CodeDeploy rolls a deployment back on: the client-error alarm, the judge's verdict.
   * Not the unjudged alarm: a judge that cannot see holds the weight where it is (rollout sync),
   * and a hold that lasts ends the release as "not enough evidence"; rolling back on every blind
   * minute would let a flood of log records stop any release. A rollback moves the alias, i.e. the
   * build viewers get; the edge-error alarm watches the routers' code, which every viewer runs from
   * the moment the deploy associates it, whatever the alias says, so rolling the build back would
   * undo the wrong thing. Router code is checked before it is deployed instead (npm run
   * verify-edge), and the edge-error alarm is there to be seen (dashboard, `rollout status`) and
   * acted on by redeploying the previous commit.
   */
  get rollbackAlarmNames(): string[] {
    return [this.clientErrors.alarmName];
  }
}

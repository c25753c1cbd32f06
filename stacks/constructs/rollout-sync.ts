/**
 * Rollout sync: mirrors the alias `live` into the rollout state. It runs every minute, at once on
 * every CodeDeploy state change of this application, and at once when the client-error alarm or
 * the unjudged alarm changes state (either one firing takes the canary's viewers away within
 * seconds), and may do exactly that much: read the entry router's alias and versions, read and
 * conditionally write the rollout store, see its deployment group's deployments and stop one (with
 * rollback) when an alarm fires, read those two alarms, announce each state to the timeline in the
 * release-signal table before it writes it, read the build manifests in every replica bucket, and
 * publish each deployment and alarm state change to the release notifications topic (EventBridge
 * also runs it on the edge-error and fallback alarms, for that alone). Its metric (the
 * weight) goes out in its
 * log as embedded metric format: no CloudWatch write permission.
 */
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { BUILDS_PREFIX } from '../../contracts/published-build';
import type { RolloutSyncEnvironment } from '../../contracts/function-environment';
import type { AwsAccount } from './aws-account';
import type { FunctionCode } from './packaged-function';
import type { ReleaseNotifications } from './release-notifications';
import type { ReleaseSignalTable } from './release-signal-table';
import type { RolloutStore } from './rollout-store';
import { RegionalFunction } from './regional-function';

export const SYNC_SCHEDULE = 'rate(1 minute)';

export interface RolloutSyncProps {
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  readonly environment: RolloutSyncEnvironment;
  /** Unqualified ARN of the entry router whose alias is mirrored. */
  readonly entryRouterArn: string;
  readonly deploymentGroupArn: string;
  /** The alarm whose ALARM holds the canary (its name is CLIENT_ERROR_ALARM in the environment). */
  readonly clientErrorAlarmArn: string;
  /** The alarm whose ALARM holds the canary too: the signal could not judge it (SIGNAL_UNJUDGED_ALARM). */
  readonly unjudgedAlarmArn: string;
  /**
   * Alarms whose state changes it only reports (the edge-error and fallback alarms): EventBridge
   * runs it on them too, and it publishes each change to the topic. @default none
   */
  readonly notifiedAlarmArns?: readonly string[];
  /** The topic it publishes each deployment and alarm state change to. */
  readonly notifications: ReleaseNotifications;
  /** The store it writes the state to. */
  readonly rolloutStore: RolloutStore;
  /** Where it announces each state: the signal consumer's timeline. */
  readonly signalTable: ReleaseSignalTable;
  /** Region → replica bucket: it checks the assigned builds' manifests in each. */
  readonly buckets: Readonly<Record<string, string>>;
  readonly logRetentionDays: number;
  readonly provider: AwsProvider;
  readonly account: AwsAccount;
}

export class RolloutSync extends Construct {
  readonly handler: RegionalFunction<RolloutSyncEnvironment>;
  readonly schedule: CloudwatchEventRule;
  readonly deploymentEvents: CloudwatchEventRule;
  readonly alarmEvents: CloudwatchEventRule;

  constructor(scope: Construct, id: string, props: RolloutSyncProps) {
    super(scope, id);
    const { provider, environment: env } = props;
    this.handler = new RegionalFunction(this, 'handler', {
      functionName: props.functionName,
      code: props.code,
      runtime: props.runtime,
      provider,
      logRetentionDays: props.logRetentionDays,
      environment: props.environment,
      // Several AWS calls in a row (store, alias, two versions, the deployment list), and a retry or two.
      timeout: 30,
      description: 'Mirrors the entry router alias into the rollout state',
    });
    this.handler.addToRolePolicy(
      {
        sid: 'ReadEntryRouterAliasAndVersions',
        actions: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
        resources: [props.entryRouterArn, `${props.entryRouterArn}:*`],
      },
      {
        sid: 'SeeOwnDeployments',
        actions: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment'],
        resources: [props.deploymentGroupArn],
      },
      // StopDeployment takes no resource in AWS's service authorization reference (nor any
      // condition key): only "*" grants it, and on the group's ARN it is silently no grant. The
      // function stops only a deployment of its own group that shifts the alias (sync.ts).
      { sid: 'StopDeploymentTakesNoResource', actions: ['codedeploy:StopDeployment'], resources: ['*'] },
      // One DescribeAlarms names both alarms; each is authorized on its own ARN.
      {
        sid: 'SeeRollbackAlarms',
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [props.clientErrorAlarmArn, props.unjudgedAlarmArn],
      },
      {
        sid: 'SeeBuildManifests',
        actions: ['s3:GetObject'],
        resources: Object.values(props.buckets).map((bucket) => `arn:aws:s3:::${bucket}/${BUILDS_PREFIX}*`),
      },
    );
    props.rolloutStore.grantReadWrite(this.handler);
    props.signalTable.grantAnnounceStates(this.handler);
    props.signalTable.grantReadJudgments(this.handler);
    props.signalTable.grantRecordNotifications(this.handler);
    props.notifications.grantPublish(this.handler);

    this.schedule = new CloudwatchEventRule(this, 'schedule', {
      provider,
      name: `${props.functionName}-schedule`,
      description: 'Re-mirror the alias every minute (catches anything an event missed)',
      scheduleExpression: SYNC_SCHEDULE,
    });
    this.deploymentEvents = new CloudwatchEventRule(this, 'deployment-events', {
      provider,
      name: `${props.functionName}-deployments`,
      description: 'Mirror the alias at once when a deployment of the entry router changes state',
      eventPattern: JSON.stringify({
        source: ['aws.codedeploy'],
        'detail-type': ['CodeDeploy Deployment State-change Notification'],
        detail: { application: [env.CODEDEPLOY_APPLICATION], deploymentGroup: [env.CODEDEPLOY_DEPLOYMENT_GROUP] },
      }),
    });
    this.alarmEvents = new CloudwatchEventRule(this, 'alarm-events', {
      provider,
      name: `${props.functionName}-alarm`,
      description:
        'Hold the canary at once when its client-error or unjudged alarm ' +
        'fires, release it when both are clear, and report every alarm change',
      eventPattern: JSON.stringify({
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: [props.clientErrorAlarmArn, props.unjudgedAlarmArn, ...(props.notifiedAlarmArns ?? [])],
      }),
    });
    for (const [ruleId, rule] of [
      ['schedule', this.schedule],
      ['deployment-events', this.deploymentEvents],
      ['alarm-events', this.alarmEvents],
    ] as const) {
      new CloudwatchEventTarget(this, `${ruleId}-target`, { provider, rule: rule.name, arn: this.handler.functionArn });
      this.handler.grantInvoke('events.amazonaws.com', rule.arn);
    }
  }
}

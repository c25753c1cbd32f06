/**
 * Rollout sync: mirrors the alias `live` into the rollout record. It runs every minute and at
 * once on every CodeDeploy state change of this application, and may do exactly that much: read
 * the entry router's alias and versions, read and UPSERT one TXT record in one zone, see its
 * deployment group's deployments, and publish the rollout weight metric.
 */
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { RolloutSyncEnvironment } from '../../regional-function/shared/environment';
import type { AwsAccount } from './aws-account';
import { putMetricDataIn } from './metrics-permission';
import type { FunctionCode } from './packaged-function';
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
  readonly logRetentionDays: number;
  readonly provider: AwsProvider;
  readonly account: AwsAccount;
}

export class RolloutSync extends Construct {
  readonly handler: RegionalFunction<RolloutSyncEnvironment>;
  readonly schedule: CloudwatchEventRule;
  readonly deploymentEvents: CloudwatchEventRule;

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
      // Several AWS calls in a row (alias, two versions, the record, the deployment list).
      timeout: 30,
      description: 'Mirrors the entry router alias into the rollout record',
    });
    const zoneArn = props.account.arn('route53', '', `hostedzone/${env.HOSTED_ZONE_ID}`, '');
    this.handler.addToRolePolicy(
      {
        sid: 'ReadEntryRouterAliasAndVersions',
        actions: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
        resources: [props.entryRouterArn, `${props.entryRouterArn}:*`],
      },
      {
        sid: 'WriteRolloutRecordOnly',
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [zoneArn],
        conditions: [
          // Route53 compares lowercased names without the trailing dot.
          { test: 'ForAllValues:StringEquals', variable: 'route53:ChangeResourceRecordSetsNormalizedRecordNames', values: [env.ROLLOUT_RECORD_NAME.toLowerCase()] },
          { test: 'ForAllValues:StringEquals', variable: 'route53:ChangeResourceRecordSetsRecordTypes', values: ['TXT'] },
          { test: 'ForAllValues:StringEquals', variable: 'route53:ChangeResourceRecordSetsActions', values: ['UPSERT'] },
        ],
      },
      { sid: 'ReadRolloutRecord', actions: ['route53:ListResourceRecordSets'], resources: [zoneArn] },
      {
        sid: 'SeeOwnDeployments',
        actions: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment'],
        resources: [props.deploymentGroupArn],
      },
      putMetricDataIn(env.METRICS_NAMESPACE),
    );

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
    for (const [ruleId, rule] of [
      ['schedule', this.schedule],
      ['deployment-events', this.deploymentEvents],
    ] as const) {
      new CloudwatchEventTarget(this, `${ruleId}-target`, { provider, rule: rule.name, arn: this.handler.functionArn });
      this.handler.grantInvoke('events.amazonaws.com', rule.arn);
    }
  }
}

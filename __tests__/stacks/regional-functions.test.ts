import { resourceNames, rolloutSteps } from '../../config';
import type { RolloutSyncEnvironment } from '../../contracts/function-environment';
import { judgmentKey } from '../../contracts/release-progress';
import { NOTIFICATION_LOG_KEY } from '../../contracts/release-notification';
import { statePropagationMs } from '../../contracts/release-signal';
import { dashboardUrl } from '../../contracts/release-dashboard';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import type { Block } from '../../stacks/policy/terraform-json';
import { bodies, FIVE_REGIONS, only, ref, roleStatements, synthesize, testConfig } from './support';

describe('rollout sync', () => {
  it.each([
    ['one region', {}],
    ['five regions', FIVE_REGIONS],
  ])(
    'gets its typed environment and runs every minute, on each deployment ' +
      'state change and on each change of any of the four alarms (%s)',
    (_label, regions) => {
      const { delivery, config } = synthesize(testConfig({ ...regions, edge: { stateCacheSeconds: 15 } }));
      const names = resourceNames(config);
      const fn = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.rolloutSync);
      const entry = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.entryRouter);
      const app = only(delivery, 'aws_codedeploy_app');
      const group = only(delivery, 'aws_codedeploy_deployment_group');
      const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.clientErrorAlarm);
      const unjudged = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.signalUnjudgedAlarm);
      // Heard only: their changes are published, and hold nothing.
      const edgeErrors = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.edgeErrorAlarm);
      const fallbacks = only(
        delivery,
        'aws_cloudwatch_metric_alarm',
        (a) => a.alarm_name === names.assignmentFallbackAlarm,
      );
      const environment: RolloutSyncEnvironment = {
        ENTRY_ROUTER_FUNCTION: ref(delivery, 'aws_lambda_function', entry, 'function_name'),
        LIVE_ALIAS: ref(delivery, 'aws_lambda_alias', only(delivery, 'aws_lambda_alias'), 'name'),
        ROLLOUT_STORE_ARN: ref(
          delivery,
          'aws_cloudfront_key_value_store',
          only(delivery, 'aws_cloudfront_key_value_store'),
          'arn',
        ),
        METRICS_NAMESPACE: config.metrics.namespace,
        CODEDEPLOY_APPLICATION: ref(delivery, 'aws_codedeploy_app', app, 'name'),
        CODEDEPLOY_DEPLOYMENT_GROUP: ref(delivery, 'aws_codedeploy_deployment_group', group, 'deployment_group_name'),
        CLIENT_ERROR_ALARM: ref(delivery, 'aws_cloudwatch_metric_alarm', alarm, 'alarm_name'),
        SIGNAL_TABLE: ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'name'),
        BUCKETS: JSON.stringify(Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)]))),
        SIGNAL_UNJUDGED_ALARM: ref(delivery, 'aws_cloudwatch_metric_alarm', unjudged, 'alarm_name'),
        // The store's 40 s and the router's cached fallback state (edge.stateCacheSeconds).
        STATE_PROPAGATION_MS: String(statePropagationMs(config.edge)),
        // The steps the judge paces, and how long a step may wait for its evidence.
        ROLLOUT_STEPS: JSON.stringify(rolloutSteps(config.rollout)),
        HOLD_MINUTES: String(config.alarms.holdMinutes),
        // Where it publishes each deployment and alarm state change, and what each message names and links.
        NOTIFICATION_TOPIC_ARN: ref(delivery, 'aws_sns_topic', only(delivery, 'aws_sns_topic'), 'arn'),
        DISTRIBUTION_NAME: config.name,
        DASHBOARD_URL: dashboardUrl(names.dashboard),
      };
      expect(environment.STATE_PROPAGATION_MS).toBe('55000');
      // The default canary: 10 % at once, everyone after 5 minutes; a step may wait 30 more for its evidence.
      expect(environment.ROLLOUT_STEPS).toBe('[{"atMinute":0,"weight":1000},{"atMinute":5,"weight":10000}]');
      expect(environment.HOLD_MINUTES).toBe('30');
      expect(fn).toMatchObject({
        runtime: config.regionalRuntime,
        provider: 'aws.us-east-1',
        environment: { variables: environment },
      });
      expect(Object.keys((fn.environment as Block).variables as Block).sort()).toEqual(Object.keys(environment).sort());

      const schedule = only(delivery, 'aws_cloudwatch_event_rule', (r) => r.schedule_expression !== undefined);
      expect(schedule.schedule_expression).toBe('rate(1 minute)');
      const events = only(delivery, 'aws_cloudwatch_event_rule', (r) =>
        String(r.event_pattern ?? '').includes('aws.codedeploy'),
      );
      const alarmEvents = only(delivery, 'aws_cloudwatch_event_rule', (r) =>
        String(r.event_pattern ?? '').includes('aws.cloudwatch'),
      );
      expect(JSON.parse(String(alarmEvents.event_pattern))).toEqual({
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: [alarm, unjudged, edgeErrors, fallbacks].map((a) =>
          ref(delivery, 'aws_cloudwatch_metric_alarm', a, 'arn'),
        ),
      });
      expect(JSON.parse(String(events.event_pattern))).toEqual({
        source: ['aws.codedeploy'],
        'detail-type': ['CodeDeploy Deployment State-change Notification'],
        detail: {
          application: [environment.CODEDEPLOY_APPLICATION],
          deploymentGroup: [environment.CODEDEPLOY_DEPLOYMENT_GROUP],
        },
      });
      for (const rule of [schedule, events, alarmEvents]) {
        expect(
          only(
            delivery,
            'aws_cloudwatch_event_target',
            (t) => t.rule === ref(delivery, 'aws_cloudwatch_event_rule', rule, 'name'),
          ).arn,
        ).toBe(ref(delivery, 'aws_lambda_function', fn, 'arn'));
        expect(
          only(
            delivery,
            'aws_lambda_permission',
            (p) => p.source_arn === ref(delivery, 'aws_cloudwatch_event_rule', rule, 'arn'),
          ),
        ).toMatchObject({
          principal: 'events.amazonaws.com',
          function_name: ref(delivery, 'aws_lambda_function', fn, 'function_name'),
        });
      }
    },
  );

  it(
    "may read the alias, read and write the rollout store, see and stop its group's deployments, see both " +
      'alarms, announce states to the timeline, read the ' +
      "releases' judgments, publish to its topic and keep its last messages, and nothing else",
    () => {
      const { delivery, config } = synthesize(testConfig());
      const names = resourceNames(config);
      const entryArn = ref(
        delivery,
        'aws_lambda_function',
        only(delivery, 'aws_lambda_function', (f) => f.function_name === names.entryRouter),
        'arn',
      );
      const storeArn = ref(
        delivery,
        'aws_cloudfront_key_value_store',
        only(delivery, 'aws_cloudfront_key_value_store'),
        'arn',
      );
      const statements = roleStatements(delivery, names.rolloutSync).filter((s) => s.sid !== 'WriteOwnLogs');
      expect(statements).toEqual([
        expect.objectContaining({
          actions: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
          resources: [entryArn, `${entryArn}:*`],
        }),
        expect.objectContaining({
          actions: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment'],
          resources: [
            ref(delivery, 'aws_codedeploy_deployment_group', only(delivery, 'aws_codedeploy_deployment_group'), 'arn'),
          ],
        }),
        // The reference lists no resource type for StopDeployment: only "*" grants it.
        expect.objectContaining({ actions: ['codedeploy:StopDeployment'], resources: ['*'] }),
        expect.objectContaining({
          actions: ['cloudwatch:DescribeAlarms'],
          resources: [names.clientErrorAlarm, names.signalUnjudgedAlarm].map((name) =>
            ref(
              delivery,
              'aws_cloudwatch_metric_alarm',
              only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name),
              'arn',
            ),
          ),
        }),
        expect.objectContaining({
          actions: ['s3:GetObject'],
          resources: config.regions.map((region) => `arn:aws:s3:::${names.bucket(region)}/builds/*`),
        }),
        expect.objectContaining({
          actions: [
            'cloudfront-keyvaluestore:DescribeKeyValueStore',
            'cloudfront-keyvaluestore:GetKey',
            'cloudfront-keyvaluestore:PutKey',
          ],
          resources: [storeArn],
        }),
        // announceState reads the timeline, then writes it conditionally.
        expect.objectContaining({
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'arn')],
          condition: [
            { test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [STATE_TIMELINE_KEY] },
          ],
        }),
        // The judge's record of the release it moves (release#<deployment id>): read, never written.
        expect.objectContaining({
          sid: 'ReadReleaseJudgments',
          actions: ['dynamodb:GetItem'],
          resources: [ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'arn')],
          condition: [
            { test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [judgmentKey('*')] },
          ],
        }),
        // The log of the last messages published, for `rollout status`: that one item only.
        expect.objectContaining({
          sid: 'RecordReleaseNotifications',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'arn')],
          condition: [
            { test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [NOTIFICATION_LOG_KEY] },
          ],
        }),
        // The release notifications: its one topic, and the topic's key to encrypt each message with.
        expect.objectContaining({
          sid: 'PublishReleaseNotifications',
          actions: ['sns:Publish'],
          resources: [ref(delivery, 'aws_sns_topic', only(delivery, 'aws_sns_topic'), 'arn')],
        }),
        expect.objectContaining({
          sid: 'EncryptReleaseNotifications',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [
            ref(
              delivery,
              'aws_kms_alias',
              only(delivery, 'aws_kms_alias', (k) => k.name === 'alias/aws/sns', 'data'),
              'target_key_arn',
              'data',
            ),
          ],
        }),
      ]);
      // The test seam for a loopback store is never set by the stacks.
      expect(
        Object.keys(
          (only(delivery, 'aws_lambda_function', (f) => f.function_name === names.rolloutSync).environment as Block)
            .variables as Block,
        ),
      ).not.toContain('ROLLOUT_STORE_ENDPOINT');
    },
  );
});

it('gives every regional function its own log group with the configured retention', () => {
  const { delivery, config } = synthesize(testConfig({ retention: { logRetentionDays: 90 } }));
  const names = resourceNames(config);
  for (const name of [names.signalConsumer, names.rolloutSync, names.release]) {
    const group = only(delivery, 'aws_cloudwatch_log_group', (g) => g.name === `/aws/lambda/${name}`);
    expect(group).toMatchObject({ retention_in_days: 90, provider: 'aws.us-east-1' });
    const fn = only(delivery, 'aws_lambda_function', (f) => f.function_name === name);
    expect(fn.depends_on).toContain(
      ref(delivery, 'aws_cloudwatch_log_group', group, 'arn').replace(/^\$\{(.*)\.arn\}$/, '$1'),
    );
  }
  expect(bodies(delivery, 'aws_cloudwatch_log_group').every((g) => g.retention_in_days === 90)).toBe(true);
});

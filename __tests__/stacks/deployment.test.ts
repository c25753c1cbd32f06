import { CodedeployApp } from '@cdktf/provider-aws/lib/codedeploy-app';
import { CodedeployDeploymentConfig } from '@cdktf/provider-aws/lib/codedeploy-deployment-config';
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias';
import { customDeploymentConfigName, RELEASE_WINDOW_MARGIN_MINUTES, resourceNames } from '../../config';
import type { ReleaseInput } from '../../contracts/function-environment';
import {
  DIMENSION_SIGNAL,
  METRIC_CANARY_FAILING,
  SIGNAL_ENTRY,
  VERDICT_PERIOD_SECONDS,
} from '../../contracts/release-signal';
import type { Block } from '../../stacks/policy/terraform-json';
import { only, policyStatements, ref, roleStatements, synthesize, testConfig, type SynthesizedStack } from './support';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const entryRouterOf = (stack: SynthesizedStack, name: string) =>
  only(stack, 'aws_lambda_function', (f) => f.function_name === name);

describe('alias live', () => {
  it('starts on the version this deploy published and leaves version and weights to CodeDeploy', () => {
    const { delivery, config } = synthesize(testConfig());
    const names = resourceNames(config);
    const entry = entryRouterOf(delivery, names.entryRouter);
    expect(only(delivery, 'aws_lambda_alias')).toEqual(
      expect.objectContaining({
        name: 'live',
        function_name: ref(delivery, 'aws_lambda_function', entry, 'function_name'),
        function_version: ref(delivery, 'aws_lambda_function', entry, 'version'),
        lifecycle: { ignore_changes: ['function_version', 'routing_config'] },
      }),
    );
    expect(delivery.text).toHaveResource(LambdaAlias);
  });
});

describe('CodeDeploy', () => {
  it(
    'deploys the alias blue/green with traffic control, automatic rollback on the client-error alarm (the ' +
      'verdict) alone: not the unjudged alarm, which holds the weight, nor the edge-error one',
    () => {
      const { delivery, config } = synthesize(
        testConfig({ rollout: { strategy: 'linear', percent: 10, intervalMinutes: 1 } }),
      );
      const names = resourceNames(config);
      expect(delivery.text).toHaveResourceWithProperties(CodedeployApp, {
        name: names.codeDeployApplication,
        compute_platform: 'Lambda',
      });
      const group = only(delivery, 'aws_codedeploy_deployment_group');
      const clientErrors = only(
        delivery,
        'aws_cloudwatch_metric_alarm',
        (a) => a.alarm_name === names.clientErrorAlarm,
      );
      // A linear rollout is judged too: CodeDeploy holds the first step, no predefined linear config.
      const custom = only(delivery, 'aws_codedeploy_deployment_config');
      expect(custom.deployment_config_name).toBe(
        customDeploymentConfigName(config.name, config.rollout, config.alarms.holdMinutes),
      );
      expect(group).toMatchObject({
        deployment_group_name: names.deploymentGroup,
        deployment_config_name: ref(delivery, 'aws_codedeploy_deployment_config', custom, 'deployment_config_name'),
        deployment_style: { deployment_type: 'BLUE_GREEN', deployment_option: 'WITH_TRAFFIC_CONTROL' },
        // The one alarm a rollback answers: the judge's verdict on the canary build. A judge that
        // cannot see (the unjudged alarm) holds the weight instead; the edge-error alarm watches
        // router code, which a rollback of the alias does not undo.
        alarm_configuration: {
          enabled: true,
          alarms: [ref(delivery, 'aws_cloudwatch_metric_alarm', clientErrors, 'alarm_name')],
        },
        auto_rollback_configuration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
      });
      expect((group.alarm_configuration as Block).alarms).toHaveLength(1);
      const role = only(delivery, 'aws_iam_role', (r) => r.name === `${config.name}-codedeploy`);
      expect(group.service_role_arn).toBe(ref(delivery, 'aws_iam_role', role, 'arn'));
      expect(only(delivery, 'aws_iam_role_policy_attachment').policy_arn).toMatch(
        /^arn:\$\{data\.aws_partition\.[^}]+\}:iam::aws:policy\/service-role\/AWSCodeDeployRoleForLambda$/,
      );
      expect(policyStatements(delivery, role.assume_role_policy)).toEqual([
        expect.objectContaining({ principals: [{ type: 'Service', identifiers: ['codedeploy.amazonaws.com'] }] }),
      ]);
    },
  );

  it('moves an all-at-once rollout with the predefined config, and creates none of its own', () => {
    const { delivery } = synthesize(testConfig({ rollout: { strategy: 'all-at-once' } }));
    expect(only(delivery, 'aws_codedeploy_deployment_group').deployment_config_name).toBe(
      'CodeDeployDefault.LambdaAllAtOnce',
    );
    expect(delivery.text).not.toHaveResource(CodedeployDeploymentConfig);
  });

  it.each([
    // Canary 20 % for 7 minutes: one judged step, 7 minutes and a 30-minute hold, and the margin.
    ['canary', 37 + RELEASE_WINDOW_MARGIN_MINUTES],
    // Linear 20 % every 7 minutes: four judged steps, 28 minutes and four holds, and the margin.
    ['linear', 28 + 4 * 30 + RELEASE_WINDOW_MARGIN_MINUTES],
  ] as const)(
    'holds a %s rollout at its first step for the whole window the judge may take (CodeDeploy cannot wait for ' +
      'evidence between steps)',
    (strategy, interval) => {
      const rollout = { strategy, percent: 20, intervalMinutes: 7 };
      const { delivery, config } = synthesize(testConfig({ rollout }));
      const custom = only(delivery, 'aws_codedeploy_deployment_config');
      expect(custom).toMatchObject({
        deployment_config_name: customDeploymentConfigName(config.name, config.rollout, config.alarms.holdMinutes),
        compute_platform: 'Lambda',
        traffic_routing_config: { type: 'TimeBasedCanary', time_based_canary: { interval, percentage: 20 } },
      });
      expect(only(delivery, 'aws_codedeploy_deployment_group').deployment_config_name).toBe(
        ref(delivery, 'aws_codedeploy_deployment_config', custom, 'deployment_config_name'),
      );
    },
  );
});

describe('rollout alarms', () => {
  it(
    "fires on the judge's verdict: the consumer's high-resolution CanaryFailing metric, in the config's " +
      'namespace, within one 10-second period of a 1',
    () => {
      // Per-period settings the old metric-math alarm followed: the verdict's alarm must not.
      const alarms = {
        excessErrorPercent: 2.5,
        toleratedExcessPercent: 1.5,
        falseRollbackRate: 0.01,
        minViewers: 80,
        periodSeconds: 120,
        evaluationPeriods: 4,
        datapointsToAlarm: 3,
      };
      const { delivery, config, manifest } = synthesize(testConfig({ alarms, metrics: { namespace: 'Acme/Widget' } }));
      const alarm = only(
        delivery,
        'aws_cloudwatch_metric_alarm',
        (a) => a.alarm_name === resourceNames(config).clientErrorAlarm,
      );
      expect(alarm).toMatchObject({
        namespace: 'Acme/Widget',
        metric_name: METRIC_CANARY_FAILING,
        dimensions: { [DIMENSION_SIGNAL]: SIGNAL_ENTRY },
        statistic: 'Maximum',
        period: VERDICT_PERIOD_SECONDS,
        threshold: 1,
        comparison_operator: 'GreaterThanOrEqualToThreshold',
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        // No verdict is no failure: a judge that cannot see holds the weight (the unjudged alarm).
        treat_missing_data: 'notBreaching',
        provider: 'aws.us-east-1',
      });
      expect(VERDICT_PERIOD_SECONDS).toBe(10);
      expect(alarm.dimensions).toEqual({ Signal: 'entry' });
      // One metric, no per-period math over the viewers' counts.
      expect(alarm.metric_query).toBeUndefined();
      expect(alarm).not.toHaveProperty('extended_statistic');
      expect(alarm.alarm_description).toContain(
        `more than ${alarms.toleratedExcessPercent} points above the stable build's`,
      );
      expect(alarm.alarm_description).toContain(`at most ${alarms.falseRollbackRate} of healthy releases rolled back`);
      // The verdict is on whatever canary runs: nothing in the alarm changes from one release to the next.
      expect(JSON.stringify(alarm)).not.toContain(manifest.buildId);
    },
  );

  it(
    'is not re-pointed by a deploy during a running ' + 'deployment: the next build synthesizes the very same alarms',
    () => {
      const first = synthesize(testConfig());
      const next = synthesize(testConfig(), { manifest: { ...first.manifest, buildId: 'feedfacefeedface' } });
      const alarm = (stack: typeof first.delivery, name: string) =>
        only(stack, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name);
      // The release the deploy publishes differs (a new build)...
      expect(only(next.delivery, 'aws_lambda_invocation').input).not.toEqual(
        only(first.delivery, 'aws_lambda_invocation').input,
      );
      // ...but the alarms CodeDeploy is watching for the running deployment do not change at all.
      const names = resourceNames(first.config);
      for (const name of [names.clientErrorAlarm, names.signalUnjudgedAlarm])
        expect(alarm(next.delivery, name)).toEqual(alarm(first.delivery, name));
    },
  );

  it('watches CloudFront’s global Lambda@Edge errors for the distribution', () => {
    const { delivery, config } = synthesize(testConfig({ alarms: { edgeFunctionErrors: 9 } }));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const alarm = only(
      delivery,
      'aws_cloudwatch_metric_alarm',
      (a) => a.alarm_name === resourceNames(config).edgeErrorAlarm,
    );
    expect(alarm).toMatchObject({
      threshold: 9,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      treat_missing_data: 'notBreaching',
      provider: 'aws.us-east-1',
    });
    const queries = alarm.metric_query as Block[];
    expect(queries.filter((q) => q.metric).map((q) => (q.metric as Block).metric_name)).toEqual([
      'LambdaExecutionError',
      'LambdaValidationError',
    ]);
    for (const q of queries.filter((query) => query.metric)) {
      expect(q.metric).toMatchObject({
        namespace: 'AWS/CloudFront',
        dimensions: {
          DistributionId: ref(delivery, 'aws_cloudfront_distribution', distribution, 'id'),
          Region: 'Global',
        },
      });
    }
    expect(queries.find((q) => q.return_data === true)?.expression).toBe('FILL(execution, 0) + FILL(validation, 0)');
  });
});

describe('release', () => {
  it(
    'invokes the release function once per new version, after the distribution, alias, group and the alarms ' +
      'CodeDeploy and people watch',
    () => {
      const { delivery, config, manifest } = synthesize(testConfig());
      const names = resourceNames(config);
      const entry = entryRouterOf(delivery, names.entryRouter);
      const version = ref(delivery, 'aws_lambda_function', entry, 'version');
      const release = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.release);
      const invocation = only(delivery, 'aws_lambda_invocation');
      expect(invocation.function_name).toBe(ref(delivery, 'aws_lambda_function', release, 'function_name'));
      expect(invocation.triggers).toEqual({ version });
      const input = JSON.parse(String(invocation.input)) as ReleaseInput;
      expect(input).toEqual({ version, buildId: manifest.buildId });
      const dependsOn = invocation.depends_on as string[];
      for (const type of [
        'aws_cloudfront_distribution',
        'aws_lambda_alias',
        'aws_codedeploy_deployment_group',
        'aws_iam_role_policy',
      ]) {
        expect(dependsOn.some((d) => d.startsWith(`${type}.`))).toBe(true);
      }
      expect(dependsOn.filter((d) => d.startsWith('aws_cloudwatch_metric_alarm.'))).toHaveLength(3);
      const alarm = (name: string) =>
        ref(
          delivery,
          'aws_cloudwatch_metric_alarm',
          only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name),
          'arn',
        ).replace(/^\$\{(.*)\.arn\}$/, '$1');
      for (const name of [names.clientErrorAlarm, names.signalUnjudgedAlarm, names.edgeErrorAlarm])
        expect(dependsOn).toContain(alarm(name));
    },
  );

  it(
    'may only deploy through its own group, config and application, read ' +
      'the entry router, and ask the store whether a build is revoked',
    () => {
      const { delivery, config } = synthesize(testConfig());
      const names = resourceNames(config);
      const release = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.release);
      expect(release.environment).toEqual({
        variables: {
          ENTRY_ROUTER_FUNCTION: ref(
            delivery,
            'aws_lambda_function',
            entryRouterOf(delivery, names.entryRouter),
            'function_name',
          ),
          LIVE_ALIAS: ref(delivery, 'aws_lambda_alias', only(delivery, 'aws_lambda_alias'), 'name'),
          CODEDEPLOY_APPLICATION: ref(delivery, 'aws_codedeploy_app', only(delivery, 'aws_codedeploy_app'), 'name'),
          CODEDEPLOY_DEPLOYMENT_GROUP: ref(
            delivery,
            'aws_codedeploy_deployment_group',
            only(delivery, 'aws_codedeploy_deployment_group'),
            'deployment_group_name',
          ),
          BUCKETS: JSON.stringify({ 'us-east-1': names.bucket('us-east-1') }),
          // Where a revoked build's key would be: it never releases one.
          ROLLOUT_STORE_ARN: ref(
            delivery,
            'aws_cloudfront_key_value_store',
            only(delivery, 'aws_cloudfront_key_value_store'),
            'arn',
          ),
        },
      });
      const entryArn = ref(delivery, 'aws_lambda_function', entryRouterOf(delivery, names.entryRouter), 'arn');
      const statements = roleStatements(delivery, names.release).filter((s) => s.sid !== 'WriteOwnLogs');
      expect(statements.map((s) => [s.actions, s.resources])).toEqual([
        [
          ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
          [entryArn, `${entryArn}:*`],
        ],
        [
          ['codedeploy:CreateDeployment', 'codedeploy:GetDeployment', 'codedeploy:ListDeployments'],
          [ref(delivery, 'aws_codedeploy_deployment_group', only(delivery, 'aws_codedeploy_deployment_group'), 'arn')],
        ],
        [
          ['codedeploy:GetDeploymentConfig'],
          [
            // The group's own config: the default canary, held at its first step for the release's window.
            expect.stringMatching(
              new RegExp(
                `:codedeploy:us-east-1:\\$\\{data\\.aws_caller_identity\\.[^}]+\\}:deploymentconfig:` +
                  `${escapeRegExp(
                    ref(
                      delivery,
                      'aws_codedeploy_deployment_config',
                      only(delivery, 'aws_codedeploy_deployment_config'),
                      'deployment_config_name',
                    ),
                  )}$`,
              ),
            ),
            // A release that keeps the build moves all at once, and CreateDeployment reads that config too.
            expect.stringMatching(
              new RegExp(
                ':codedeploy:us-east-1:\\$\\{data\\.aws_caller_identity\\.[^}]+\\}:' +
                  'deploymentconfig:CodeDeployDefault\\.LambdaAllAtOnce$',
              ),
            ),
          ],
        ],
        [['s3:GetObject'], [`arn:aws:s3:::${names.bucket('us-east-1')}/builds/*`]],
        [
          ['codedeploy:RegisterApplicationRevision', 'codedeploy:GetApplicationRevision'],
          [ref(delivery, 'aws_codedeploy_app', only(delivery, 'aws_codedeploy_app'), 'arn')],
        ],
        // Whether the build is revoked: one key of the store, read.
        [
          ['cloudfront-keyvaluestore:GetKey'],
          [ref(delivery, 'aws_cloudfront_key_value_store', only(delivery, 'aws_cloudfront_key_value_store'), 'arn')],
        ],
      ]);
    },
  );
});

describe('rollout store', () => {
  it(
    'holds the state under one key, created with no canary (rollout-store.test.ts: and the build alias live ' +
      'serves), and leaves its value to rollout sync',
    () => {
      const { delivery, config } = synthesize(testConfig());
      const store = only(delivery, 'aws_cloudfront_key_value_store');
      expect(store).toMatchObject({ name: `${config.name}-rollout` });
      expect(only(delivery, 'aws_cloudfrontkeyvaluestore_key')).toEqual(
        expect.objectContaining({
          key: 'rollout',
          key_value_store_arn: ref(delivery, 'aws_cloudfront_key_value_store', store, 'arn'),
          value: expect.stringMatching(
            /^\{"v":1,"stable":"\$\{.+\}","canary":null,"weight":0,"salt":null,"ring":\[\]\}$/,
          ),
          lifecycle: { ignore_changes: ['value'] },
        }),
      );
      // The TXT record of the design before it is gone.
      expect(
        Object.values(delivery.json.resource?.aws_route53_record ?? {}).filter((record) =>
          String((record as Block).name).startsWith('_rollout.'),
        ),
      ).toEqual([]);
    },
  );
});

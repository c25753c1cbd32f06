import { CodedeployApp } from '@cdktf/provider-aws/lib/codedeploy-app';
import { CodedeployDeploymentConfig } from '@cdktf/provider-aws/lib/codedeploy-deployment-config';
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias';
import { customDeploymentConfigName, resourceNames } from '../../config';
import type { ReleaseInput } from '../../contracts/function-environment';
import { METRIC_ERRORING_VIEWERS, METRIC_VIEWERS, releaseAlarmQueries } from '../../contracts/release-signal';
import type { Block } from '../../stacks/policy/terraform-json';
import { only, policyStatements, ref, roleStatements, synthesize, testConfig, type SynthesizedStack } from './support';

const entryRouterOf = (stack: SynthesizedStack, name: string) => only(stack, 'aws_lambda_function', (f) => f.function_name === name);

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
  it('deploys the alias blue/green with traffic control, automatic rollback on the client-error and the unjudged alarm, not the edge-error one', () => {
    const { delivery, config } = synthesize(testConfig({ rollout: { strategy: 'linear', percent: 10, intervalMinutes: 1 } }));
    const names = resourceNames(config);
    expect(delivery.text).toHaveResourceWithProperties(CodedeployApp, { name: names.codeDeployApplication, compute_platform: 'Lambda' });
    const group = only(delivery, 'aws_codedeploy_deployment_group');
    const [clientErrors, unjudged] = [names.clientErrorAlarm, names.signalUnjudgedAlarm].map((name) => only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name));
    expect(group).toMatchObject({
      deployment_group_name: names.deploymentGroup,
      deployment_config_name: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
      deployment_style: { deployment_type: 'BLUE_GREEN', deployment_option: 'WITH_TRAFFIC_CONTROL' },
      // The alarms a rollback can answer: the client errors of the canary build, and a canary the
      // signal cannot judge. The edge-error alarm watches router code, which a rollback of the
      // alias does not undo.
      alarm_configuration: { enabled: true, alarms: [ref(delivery, 'aws_cloudwatch_metric_alarm', clientErrors, 'alarm_name'), ref(delivery, 'aws_cloudwatch_metric_alarm', unjudged, 'alarm_name')] },
      auto_rollback_configuration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
    });
    expect(delivery.text).not.toHaveResource(CodedeployDeploymentConfig);
    const role = only(delivery, 'aws_iam_role', (r) => r.name === `${config.name}-codedeploy`);
    expect(group.service_role_arn).toBe(ref(delivery, 'aws_iam_role', role, 'arn'));
    expect(only(delivery, 'aws_iam_role_policy_attachment').policy_arn).toMatch(/^arn:\$\{data\.aws_partition\.[^}]+\}:iam::aws:policy\/service-role\/AWSCodeDeployRoleForLambda$/);
    expect(policyStatements(delivery, role.assume_role_policy)).toEqual([expect.objectContaining({ principals: [{ type: 'Service', identifiers: ['codedeploy.amazonaws.com'] }] })]);
  });

  it.each([
    ['canary', 'TimeBasedCanary', 'time_based_canary'],
    ['linear', 'TimeBasedLinear', 'time_based_linear'],
  ] as const)('creates a custom %s config when no predefined one matches', (strategy, type, block) => {
    const rollout = { strategy, percent: 20, intervalMinutes: 7 };
    const { delivery, config } = synthesize(testConfig({ rollout }));
    const custom = only(delivery, 'aws_codedeploy_deployment_config');
    expect(custom).toMatchObject({
      deployment_config_name: customDeploymentConfigName(config.name, config.rollout),
      compute_platform: 'Lambda',
      traffic_routing_config: { type, [block]: { interval: 7, percentage: 20 } },
    });
    expect(only(delivery, 'aws_codedeploy_deployment_group').deployment_config_name).toBe(ref(delivery, 'aws_codedeploy_deployment_config', custom, 'deployment_config_name'));
  });
});

describe('rollout alarms', () => {
  it("judges the canary against the stable build with the contract's queries, per role, counting periods below the minimum of viewers as 0", () => {
    const alarms = { excessErrorPercent: 2.5, minViewers: 80, periodSeconds: 120, evaluationPeriods: 4, datapointsToAlarm: 3 };
    const { delivery, config, manifest } = synthesize(testConfig({ alarms, metrics: { namespace: 'Acme/Widget' } }));
    const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === resourceNames(config).clientErrorAlarm);
    expect(alarm).toMatchObject({
      threshold: 2.5,
      comparison_operator: 'GreaterThanThreshold',
      evaluation_periods: 4,
      datapoints_to_alarm: 3,
      treat_missing_data: 'notBreaching',
      provider: 'aws.us-east-1',
    });
    const queries = alarm.metric_query as Block[];
    const metric = (name: string, role: string) => ({ namespace: 'Acme/Widget', metric_name: name, dimensions: { Role: role }, period: 120, stat: 'Sum' });
    const contract = releaseAlarmQueries(alarms);
    expect(queries).toEqual([
      { id: 'canary_viewers_raw', metric: metric(METRIC_VIEWERS, 'canary'), return_data: false },
      { id: 'canary_erroring_raw', metric: metric(METRIC_ERRORING_VIEWERS, 'canary'), return_data: false },
      { id: 'stable_viewers_raw', metric: metric(METRIC_VIEWERS, 'stable'), return_data: false },
      { id: 'stable_erroring_raw', metric: metric(METRIC_ERRORING_VIEWERS, 'stable'), return_data: false },
      ...contract.expressions.map((q) => ({ id: q.id, expression: q.expression, label: q.label, return_data: q.id === 'excess' })),
    ]);
    expect(queries.find((q) => q.return_data === true)?.expression).toBe('IF(canary_viewers >= 80, canary_rate - stable_rate, 0)');
    // Metrics by role, not by build: nothing in the queries changes from one release to the next.
    expect(JSON.stringify(queries)).not.toContain(manifest.buildId);
  });

  it('is not re-pointed by a deploy during a running deployment: the next build synthesizes the very same alarms', () => {
    const first = synthesize(testConfig());
    const next = synthesize(testConfig(), { manifest: { ...first.manifest, buildId: 'feedfacefeedface' } });
    const alarm = (stack: typeof first.delivery, name: string) => only(stack, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name);
    // The release the deploy publishes differs (a new build)...
    expect(only(next.delivery, 'aws_lambda_invocation').input).not.toEqual(only(first.delivery, 'aws_lambda_invocation').input);
    // ...but the alarms CodeDeploy is watching for the running deployment do not change at all.
    const names = resourceNames(first.config);
    for (const name of [names.clientErrorAlarm, names.signalUnjudgedAlarm]) expect(alarm(next.delivery, name)).toEqual(alarm(first.delivery, name));
  });

  it('watches CloudFront’s global Lambda@Edge errors for the distribution', () => {
    const { delivery, config } = synthesize(testConfig({ alarms: { edgeFunctionErrors: 9 } }));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === resourceNames(config).edgeErrorAlarm);
    expect(alarm).toMatchObject({ threshold: 9, comparison_operator: 'GreaterThanOrEqualToThreshold', treat_missing_data: 'notBreaching', provider: 'aws.us-east-1' });
    const queries = alarm.metric_query as Block[];
    expect(queries.filter((q) => q.metric).map((q) => (q.metric as Block).metric_name)).toEqual(['LambdaExecutionError', 'LambdaValidationError']);
    for (const q of queries.filter((query) => query.metric)) {
      expect(q.metric).toMatchObject({
        namespace: 'AWS/CloudFront',
        dimensions: { DistributionId: ref(delivery, 'aws_cloudfront_distribution', distribution, 'id'), Region: 'Global' },
      });
    }
    expect(queries.find((q) => q.return_data === true)?.expression).toBe('FILL(execution, 0) + FILL(validation, 0)');
  });
});

describe('release', () => {
  it('invokes the release function once per new version, after the distribution, alias, group and the alarms CodeDeploy and people watch', () => {
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
    for (const type of ['aws_cloudfront_distribution', 'aws_lambda_alias', 'aws_codedeploy_deployment_group', 'aws_iam_role_policy']) {
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
    for (const name of [names.clientErrorAlarm, names.signalUnjudgedAlarm, names.edgeErrorAlarm]) expect(dependsOn).toContain(alarm(name));
  });

  it('may only deploy through its own group, config and application, and read the entry router', () => {
    const { delivery, config } = synthesize(testConfig());
    const names = resourceNames(config);
    const release = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.release);
    expect(release.environment).toEqual({
      variables: {
        ENTRY_ROUTER_FUNCTION: ref(delivery, 'aws_lambda_function', entryRouterOf(delivery, names.entryRouter), 'function_name'),
        LIVE_ALIAS: ref(delivery, 'aws_lambda_alias', only(delivery, 'aws_lambda_alias'), 'name'),
        CODEDEPLOY_APPLICATION: ref(delivery, 'aws_codedeploy_app', only(delivery, 'aws_codedeploy_app'), 'name'),
        CODEDEPLOY_DEPLOYMENT_GROUP: ref(delivery, 'aws_codedeploy_deployment_group', only(delivery, 'aws_codedeploy_deployment_group'), 'deployment_group_name'),
        BUCKETS: JSON.stringify({ 'us-east-1': names.bucket('us-east-1') }),
      },
    });
    const entryArn = ref(delivery, 'aws_lambda_function', entryRouterOf(delivery, names.entryRouter), 'arn');
    const statements = roleStatements(delivery, names.release).filter((s) => s.sid !== 'WriteOwnLogs');
    expect(statements.map((s) => [s.actions, s.resources])).toEqual([
      [
        ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
        [entryArn, `${entryArn}:*`],
      ],
      [['codedeploy:CreateDeployment', 'codedeploy:GetDeployment', 'codedeploy:ListDeployments'], [ref(delivery, 'aws_codedeploy_deployment_group', only(delivery, 'aws_codedeploy_deployment_group'), 'arn')]],
      [
        ['codedeploy:GetDeploymentConfig'],
        [
          expect.stringMatching(/:codedeploy:us-east-1:\$\{data\.aws_caller_identity\.[^}]+\}:deploymentconfig:CodeDeployDefault\.LambdaCanary10Percent5Minutes$/),
          // A release that keeps the build moves all at once, and CreateDeployment reads that config too.
          expect.stringMatching(/:codedeploy:us-east-1:\$\{data\.aws_caller_identity\.[^}]+\}:deploymentconfig:CodeDeployDefault\.LambdaAllAtOnce$/),
        ],
      ],
      [['s3:GetObject'], [`arn:aws:s3:::${names.bucket('us-east-1')}/builds/*`]],
      [['codedeploy:RegisterApplicationRevision', 'codedeploy:GetApplicationRevision'], [ref(delivery, 'aws_codedeploy_app', only(delivery, 'aws_codedeploy_app'), 'arn')]],
    ]);
  });
});

describe('rollout store', () => {
  it('holds the state under one key, created with no canary (rollout-store.test.ts: and the build alias live serves), and leaves its value to rollout sync', () => {
    const { delivery, config } = synthesize(testConfig());
    const store = only(delivery, 'aws_cloudfront_key_value_store');
    expect(store).toMatchObject({ name: `${config.name}-rollout` });
    expect(only(delivery, 'aws_cloudfrontkeyvaluestore_key')).toEqual(
      expect.objectContaining({
        key: 'rollout',
        key_value_store_arn: ref(delivery, 'aws_cloudfront_key_value_store', store, 'arn'),
        value: expect.stringMatching(/^\{"v":1,"stable":"\$\{.+\}","canary":null,"weight":0,"salt":null,"ring":\[\]\}$/),
        lifecycle: { ignore_changes: ['value'] },
      }),
    );
    // The TXT record of the design before it is gone.
    expect(Object.values(delivery.json.resource?.aws_route53_record ?? {}).filter((record) => String((record as Block).name).startsWith('_rollout.'))).toEqual([]);
  });
});

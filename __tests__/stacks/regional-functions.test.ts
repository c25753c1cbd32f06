import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { resourceNames } from '../../config';
import type { MetricsApiEnvironment, RolloutSyncEnvironment } from '../../contracts/function-environment';
import { apiGatewayCorsOrigins } from '../../stacks/constructs/metrics-api';
import type { Block } from '../../stacks/policy/terraform-json';
import { bodies, FIVE_REGIONS, only, ref, roleStatements, synthesize, testConfig } from './support';

describe('metrics API', () => {
  it('routes POST /api/metrics on an auto-deployed, throttled $default stage to its function', () => {
    const metrics = { allowedOrigins: ['https://*.shop.example', 'https://news.example'], throttleRatePerSecond: 50, throttleBurst: 80, namespace: 'Acme/Widget', maxBatch: 12 };
    const { delivery, config } = synthesize(testConfig({ metrics, regionalRuntime: 'nodejs22.x', retention: { logRetentionDays: 60 } }));
    const names = resourceNames(config);
    const fn = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.metricsApi);
    const secrets = Object.keys(delivery.json.resource!.random_password as Block);
    const environment: MetricsApiEnvironment = {
      METRICS_NAMESPACE: 'Acme/Widget',
      ALLOWED_ORIGINS: JSON.stringify(metrics.allowedOrigins),
      MAX_BATCH: '12',
      // Digests only: reading the function's configuration does not give the secret away.
      ORIGIN_SECRET_SHA256: `\${jsonencode([${secrets.map((id) => `sha256(random_password.${id}.result)`).join(', ')}])}`,
      PERIOD_SECONDS: String(config.alarms.periodSeconds),
      SIGNAL_TABLE: ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'name'),
      STATE_CACHE_SECONDS: '10',
    };
    expect(fn).toMatchObject({ runtime: 'nodejs22.x', handler: 'index.handler', provider: 'aws.us-east-1', environment: { variables: environment } });
    const api = only(delivery, 'aws_apigatewayv2_api');
    expect(api).toMatchObject({
      name: names.metricsApi,
      protocol_type: 'HTTP',
      cors_configuration: { allow_origins: ['https://*', 'https://news.example'], allow_methods: ['POST', 'OPTIONS'] },
    });
    const integration = only(delivery, 'aws_apigatewayv2_integration');
    expect(integration).toMatchObject({ integration_type: 'AWS_PROXY', payload_format_version: '2.0', integration_uri: ref(delivery, 'aws_lambda_function', fn, 'invoke_arn') });
    expect(delivery.text).toHaveResourceWithProperties(Apigatewayv2Route, {
      route_key: 'POST /api/metrics',
      target: `integrations/${ref(delivery, 'aws_apigatewayv2_integration', integration, 'id')}`,
    });
    const stage = only(delivery, 'aws_apigatewayv2_stage');
    expect(stage).toMatchObject({ name: '$default', auto_deploy: true, default_route_settings: { throttling_rate_limit: 50, throttling_burst_limit: 80 } });
    const accessLogs = only(delivery, 'aws_cloudwatch_log_group', (g) => g.name === `/aws/apigateway/${names.metricsApi}`);
    expect(accessLogs.retention_in_days).toBe(60);
    expect((stage.access_log_settings as Block).destination_arn).toBe(ref(delivery, 'aws_cloudwatch_log_group', accessLogs, 'arn'));
    expect(only(delivery, 'aws_lambda_permission', (p) => p.principal === 'apigateway.amazonaws.com').source_arn).toBe(`${ref(delivery, 'aws_apigatewayv2_api', api, 'execution_arn')}/*/POST/api/metrics`);
  });

  it('may update viewer entries, read the state copy and write its logs (its metrics are log lines), nothing else', () => {
    const { delivery, config } = synthesize(testConfig({ metrics: { namespace: 'Acme/Widget' } }));
    const statements = roleStatements(delivery, resourceNames(config).metricsApi);
    const table = ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'arn');
    expect(statements).toEqual([
      expect.objectContaining({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.[^}]+\.arn\}:\*$/)] }),
      expect.objectContaining({ actions: ['dynamodb:UpdateItem'], resources: [table], condition: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: ['viewer#*'] }] }),
      expect.objectContaining({ actions: ['dynamodb:GetItem'], resources: [table], condition: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: ['rollout-state'] }] }),
    ]);
    expect(JSON.stringify(statements)).not.toContain('cloudwatch:');
  });

  it('serves a configured beacon path under /api/, and refuses one the distribution would not route', () => {
    const { delivery } = synthesize(testConfig({ metrics: { endpoint: '/api/beacons' } }));
    expect(only(delivery, 'aws_apigatewayv2_route').route_key).toBe('POST /api/beacons');
    expect(String(only(delivery, 'aws_lambda_permission', (p) => p.principal === 'apigateway.amazonaws.com').source_arn)).toMatch(/\/\*\/POST\/api\/beacons$/);
    expect(() => synthesize(testConfig({ metrics: { endpoint: '/beacons' } }))).toThrow(/not under \/api\//);
    const external = synthesize(testConfig({ metrics: { endpoint: 'https://metrics.example.com/collect' } }));
    expect(only(external.delivery, 'aws_apigatewayv2_route').route_key).toBe('POST /api/metrics');
  });

  it('widens wildcard origin patterns to their scheme for API Gateway, keeps exact ones', () => {
    expect(apiGatewayCorsOrigins(['http://127.0.0.1:*', 'http://localhost:*', 'https://*.example.com', 'https://a.example'])).toEqual(['http://*', 'https://*', 'https://a.example']);
  });
});

describe('rollout sync', () => {
  it.each([
    ['one region', {}],
    ['five regions', FIVE_REGIONS],
  ])('gets its typed environment and runs every minute, on each deployment state change and on each change of its alarm (%s)', (_label, regions) => {
    const { delivery, config } = synthesize(testConfig({ ...regions }));
    const names = resourceNames(config);
    const fn = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.rolloutSync);
    const entry = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.entryRouter);
    const app = only(delivery, 'aws_codedeploy_app');
    const group = only(delivery, 'aws_codedeploy_deployment_group');
    const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.clientErrorAlarm);
    const environment: RolloutSyncEnvironment = {
      ENTRY_ROUTER_FUNCTION: ref(delivery, 'aws_lambda_function', entry, 'function_name'),
      LIVE_ALIAS: ref(delivery, 'aws_lambda_alias', only(delivery, 'aws_lambda_alias'), 'name'),
      ROLLOUT_STORE_ARN: ref(delivery, 'aws_cloudfront_key_value_store', only(delivery, 'aws_cloudfront_key_value_store'), 'arn'),
      METRICS_NAMESPACE: config.metrics.namespace,
      CODEDEPLOY_APPLICATION: ref(delivery, 'aws_codedeploy_app', app, 'name'),
      CODEDEPLOY_DEPLOYMENT_GROUP: ref(delivery, 'aws_codedeploy_deployment_group', group, 'deployment_group_name'),
      CLIENT_ERROR_ALARM: ref(delivery, 'aws_cloudwatch_metric_alarm', alarm, 'alarm_name'),
      SIGNAL_TABLE: ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'name'),
      BUCKETS: JSON.stringify(Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)]))),
    };
    expect(fn).toMatchObject({ runtime: config.regionalRuntime, provider: 'aws.us-east-1', environment: { variables: environment } });
    expect(Object.keys((fn.environment as Block).variables as Block).sort()).toEqual(Object.keys(environment).sort());

    const schedule = only(delivery, 'aws_cloudwatch_event_rule', (r) => r.schedule_expression !== undefined);
    expect(schedule.schedule_expression).toBe('rate(1 minute)');
    const events = only(delivery, 'aws_cloudwatch_event_rule', (r) => String(r.event_pattern ?? '').includes('aws.codedeploy'));
    const alarmEvents = only(delivery, 'aws_cloudwatch_event_rule', (r) => String(r.event_pattern ?? '').includes('aws.cloudwatch'));
    expect(JSON.parse(String(alarmEvents.event_pattern))).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      resources: [ref(delivery, 'aws_cloudwatch_metric_alarm', alarm, 'arn')],
    });
    expect(JSON.parse(String(events.event_pattern))).toEqual({
      source: ['aws.codedeploy'],
      'detail-type': ['CodeDeploy Deployment State-change Notification'],
      detail: { application: [environment.CODEDEPLOY_APPLICATION], deploymentGroup: [environment.CODEDEPLOY_DEPLOYMENT_GROUP] },
    });
    for (const rule of [schedule, events, alarmEvents]) {
      expect(only(delivery, 'aws_cloudwatch_event_target', (t) => t.rule === ref(delivery, 'aws_cloudwatch_event_rule', rule, 'name')).arn).toBe(ref(delivery, 'aws_lambda_function', fn, 'arn'));
      expect(only(delivery, 'aws_lambda_permission', (p) => p.source_arn === ref(delivery, 'aws_cloudwatch_event_rule', rule, 'arn'))).toMatchObject({
        principal: 'events.amazonaws.com',
        function_name: ref(delivery, 'aws_lambda_function', fn, 'function_name'),
      });
    }
  });

  it("may read the alias, read and write the rollout store, see and stop its group's deployments, see its alarm, and write the state copy", () => {
    const { delivery, config } = synthesize(testConfig());
    const names = resourceNames(config);
    const entryArn = ref(
      delivery,
      'aws_lambda_function',
      only(delivery, 'aws_lambda_function', (f) => f.function_name === names.entryRouter),
      'arn',
    );
    const storeArn = ref(delivery, 'aws_cloudfront_key_value_store', only(delivery, 'aws_cloudfront_key_value_store'), 'arn');
    const statements = roleStatements(delivery, names.rolloutSync).filter((s) => s.sid !== 'WriteOwnLogs');
    expect(statements).toEqual([
      expect.objectContaining({ actions: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'], resources: [entryArn, `${entryArn}:*`] }),
      expect.objectContaining({
        actions: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment'],
        resources: [ref(delivery, 'aws_codedeploy_deployment_group', only(delivery, 'aws_codedeploy_deployment_group'), 'arn')],
      }),
      // The reference lists no resource type for StopDeployment: only "*" grants it.
      expect.objectContaining({ actions: ['codedeploy:StopDeployment'], resources: ['*'] }),
      expect.objectContaining({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [
          ref(
            delivery,
            'aws_cloudwatch_metric_alarm',
            only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.clientErrorAlarm),
            'arn',
          ),
        ],
      }),
      expect.objectContaining({ actions: ['s3:GetObject'], resources: config.regions.map((region) => `arn:aws:s3:::${names.bucket(region)}/builds/*`) }),
      expect.objectContaining({ actions: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:GetKey', 'cloudfront-keyvaluestore:PutKey'], resources: [storeArn] }),
      expect.objectContaining({
        actions: ['dynamodb:PutItem'],
        resources: [ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'arn')],
        condition: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: ['rollout-state'] }],
      }),
    ]);
    // The test seam for a loopback store is never set by the stacks.
    expect(Object.keys((only(delivery, 'aws_lambda_function', (f) => f.function_name === names.rolloutSync).environment as Block).variables as Block)).not.toContain('ROLLOUT_STORE_ENDPOINT');
  });
});

it('gives every regional function its own log group with the configured retention', () => {
  const { delivery, config } = synthesize(testConfig({ retention: { logRetentionDays: 90 } }));
  const names = resourceNames(config);
  for (const name of [names.metricsApi, names.rolloutSync, names.release]) {
    const group = only(delivery, 'aws_cloudwatch_log_group', (g) => g.name === `/aws/lambda/${name}`);
    expect(group).toMatchObject({ retention_in_days: 90, provider: 'aws.us-east-1' });
    const fn = only(delivery, 'aws_lambda_function', (f) => f.function_name === name);
    expect(fn.depends_on).toContain(ref(delivery, 'aws_cloudwatch_log_group', group, 'arn').replace(/^\$\{(.*)\.arn\}$/, '$1'));
  }
  expect(bodies(delivery, 'aws_cloudwatch_log_group').every((g) => g.retention_in_days === 90)).toBe(true);
});

/**
 * The release signal's resources, as synthesized: CloudFront's real-time logs of the entry and the
 * error reports, the one-shard stream they go to, the consumer that reads it, the table it keeps its
 * place and the rollout timeline in, the unjudged alarm, and the release dashboard; and nothing of the
 * metrics API it replaces (no API, no secret between CloudFront and an origin, no WAF).
 */
import { resourceNames, rolloutSteps } from '../../config';
import { judgeRule } from '../../contracts/canary-judge';
import { judgmentKey } from '../../contracts/release-progress';
import { dashboardUrl, releasePanels } from '../../contracts/release-dashboard';
import { REALTIME_LOG_FIELDS } from '../../contracts/realtime-log';
import { METRIC_ROLLOUT_WEIGHT, releaseAlarmQueries, unjudgedAlarmQueries } from '../../contracts/release-signal';
import { signalCapacity } from '../../contracts/signal-capacity';
import { CONSUMER_CHECKPOINT_KEY } from '../../contracts/release-signal';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import { signalHealthPanels } from '../../stacks/constructs/release-dashboard';
import type { Block } from '../../stacks/policy/terraform-json';
import {
  bodies,
  FIVE_REGIONS,
  only,
  policyStatements,
  ref,
  roleStatements,
  synthesize,
  testConfig,
  type SynthesizedStack,
} from './support';

/** References to the signal stream's ARN and to its KMS key's, as roles' statements name them. */
function streamAndKey(delivery: SynthesizedStack): { stream: string; key: string } {
  return {
    stream: ref(delivery, 'aws_kinesis_stream', only(delivery, 'aws_kinesis_stream'), 'arn'),
    key: ref(
      delivery,
      'aws_kms_alias',
      only(delivery, 'aws_kms_alias', (k) => k.name === 'alias/aws/kinesis', 'data'),
      'target_key_arn',
      'data',
    ),
  };
}

const leadingKey = (key: string) => [
  { test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [key] },
];

describe('the release-signal table', () => {
  it('is on-demand, keyed by one string, and expires its items by TTL', () => {
    const { delivery, config } = synthesize(testConfig());
    expect(only(delivery, 'aws_dynamodb_table')).toMatchObject({
      name: resourceNames(config).signalTable,
      billing_mode: 'PAY_PER_REQUEST',
      hash_key: 'pk',
      attribute: [{ name: 'pk', type: 'S' }],
      // Kept for an upgraded table: the earlier viewer ledger's items expire on their own.
      ttl: { attribute_name: 'expiresAt', enabled: true },
      provider: 'aws.us-east-1',
    });
  });
});

describe('the signal stream', () => {
  it('is one provisioned shard, kept 24 hours, encrypted with the AWS managed key', () => {
    const { delivery, config } = synthesize(testConfig());
    expect(signalCapacity(config.metrics).shards).toBe(1);
    expect(only(delivery, 'aws_kinesis_stream')).toMatchObject({
      name: resourceNames(config).signalStream,
      stream_mode_details: { stream_mode: 'PROVISIONED' },
      shard_count: 1,
      retention_period: 24,
      encryption_type: 'KMS',
      kms_key_id: 'alias/aws/kinesis',
      provider: 'aws.us-east-1',
    });
    // The key's ARN, for the grants, is read from the alias at plan time.
    expect(only(delivery, 'aws_kms_alias', (k) => k.name === 'alias/aws/kinesis', 'data')).toMatchObject({
      name: 'alias/aws/kinesis',
      provider: 'aws.us-east-1',
    });
  });
});

describe("CloudFront's real-time log configuration", () => {
  it(
    'asks for exactly the fields the consumer reads, in its order, at the sampling rate one shard takes, into ' +
      'the stream',
    () => {
      const { delivery, config } = synthesize(testConfig());
      const names = resourceNames(config);
      const logs = only(delivery, 'aws_cloudfront_realtime_log_config');
      const role = only(delivery, 'aws_iam_role', (r) => r.name === `${names.realtimeLogConfig}-cloudfront`);
      expect(logs).toMatchObject({
        name: names.realtimeLogConfig,
        sampling_rate: 100,
        endpoint: {
          stream_type: 'Kinesis',
          kinesis_stream_config: {
            role_arn: ref(delivery, 'aws_iam_role', role, 'arn'),
            stream_arn: ref(delivery, 'aws_kinesis_stream', only(delivery, 'aws_kinesis_stream'), 'arn'),
          },
        },
        provider: 'aws.us-east-1',
      });
      expect(logs.fields).toEqual([...REALTIME_LOG_FIELDS]);
      // CloudFront checks the role can reach the stream when the configuration is made.
      expect(logs.depends_on).toEqual([expect.stringMatching(/^aws_iam_role_policy\./)]);
    },
  );

  it(
    'samples the way contracts/signal-capacity.ts sizes it: 23 % at 100 million loads a day, or the rate the ' +
      'config names',
    () => {
      const sampled = (metrics: Record<string, unknown>) =>
        only(synthesize(testConfig({ metrics })).delivery, 'aws_cloudfront_realtime_log_config').sampling_rate;
      expect(sampled({ expectedLoadsPerDay: 100_000_000 })).toBe(23);
      expect(signalCapacity({ expectedLoadsPerDay: 100_000_000, peakToAverage: 3 }).samplingPercent).toBe(23);
      expect(sampled({ expectedLoadsPerDay: 100_000_000, samplingPercent: 10 })).toBe(10);
    },
  );

  it(
    'writes with a role only CloudFront may assume, which may describe and write the stream and make data keys ' +
      'with its key, nothing else',
    () => {
      const { delivery, config } = synthesize(testConfig());
      const roleName = `${resourceNames(config).realtimeLogConfig}-cloudfront`;
      const role = only(delivery, 'aws_iam_role', (r) => r.name === roleName);
      expect(policyStatements(delivery, role.assume_role_policy)).toEqual([
        expect.objectContaining({
          actions: ['sts:AssumeRole'],
          principals: [{ type: 'Service', identifiers: ['cloudfront.amazonaws.com'] }],
        }),
      ]);
      const { stream, key } = streamAndKey(delivery);
      expect(roleStatements(delivery, roleName)).toEqual([
        expect.objectContaining({
          actions: [
            'kinesis:DescribeStreamSummary',
            'kinesis:DescribeStream',
            'kinesis:PutRecord',
            'kinesis:PutRecords',
          ],
          resources: [stream],
        }),
        expect.objectContaining({ actions: ['kms:GenerateDataKey'], resources: [key] }),
      ]);
    },
  );
});

describe('the signal consumer', () => {
  it(
    "gets its typed environment, with the judge's rule and rollout sync to wake, and reads the one shard in " +
      'order, one batch at a time, from the newest record, within a second, with bounded retries and no bisecting',
    () => {
      const alarms = {
        periodSeconds: 120,
        excessErrorPercent: 4,
        toleratedExcessPercent: 1.5,
        falseRollbackRate: 0.01,
        minViewers: 70,
      };
      const { delivery, config } = synthesize(
        testConfig({
          alarms,
          metrics: { namespace: 'Acme/Widget', latenessSeconds: 30 },
          regionalRuntime: 'nodejs22.x',
        }),
      );
      const names = resourceNames(config);
      const fn = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.signalConsumer);
      expect(fn).toMatchObject({
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        provider: 'aws.us-east-1',
        environment: {
          variables: {
            METRICS_NAMESPACE: 'Acme/Widget',
            SIGNAL_TABLE: ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'name'),
            PERIOD_SECONDS: '120',
            LATENESS_SECONDS: '30',
            REALTIME_LOG_CONFIG_ARN: ref(
              delivery,
              'aws_cloudfront_realtime_log_config',
              only(delivery, 'aws_cloudfront_realtime_log_config'),
              'arn',
            ),
            // The judge's rule is the config's alarms, as contracts/canary-judge.ts reads them.
            JUDGE_RULE: JSON.stringify(judgeRule(config.alarms)),
            // By name, the function the consumer invokes when the judge decides.
            ROLLOUT_SYNC_FUNCTION: only(delivery, 'aws_lambda_function', (f) => f.function_name === names.rolloutSync)
              .function_name,
            // The steps, to wake rollout sync when one judged healthy is due.
            ROLLOUT_STEPS: JSON.stringify(rolloutSteps(config.rollout)),
          },
        },
      });
      expect(JSON.parse(String(((fn.environment as Block).variables as Block).JUDGE_RULE))).toEqual({
        excessErrorPercent: 4,
        toleratedExcessPercent: 1.5,
        falseRollbackRate: 0.01,
        minViewers: 70,
      });
      expect(Object.keys((fn.environment as Block).variables as Block).sort()).toEqual([
        'JUDGE_RULE',
        'LATENESS_SECONDS',
        'METRICS_NAMESPACE',
        'PERIOD_SECONDS',
        'REALTIME_LOG_CONFIG_ARN',
        'ROLLOUT_STEPS',
        'ROLLOUT_SYNC_FUNCTION',
        'SIGNAL_TABLE',
      ]);
      const mapping = only(delivery, 'aws_lambda_event_source_mapping');
      expect(mapping).toMatchObject({
        function_name: ref(delivery, 'aws_lambda_function', fn, 'arn'),
        event_source_arn: ref(delivery, 'aws_kinesis_stream', only(delivery, 'aws_kinesis_stream'), 'arn'),
        starting_position: 'LATEST',
        batch_size: 1000,
        // The judge looks at every batch: a failing canary waits no longer than a second for it.
        maximum_batching_window_in_seconds: 1,
        parallelization_factor: 1,
        bisect_batch_on_function_error: false,
        maximum_retry_attempts: 3,
        provider: 'aws.us-east-1',
      });
      // One shard and one batch of it at a time: every record of a period meets in one place, in order.
      expect(only(delivery, 'aws_kinesis_stream').shard_count).toBe(1);
      // A widget that would rather pay less than roll back a few seconds sooner says so in config.
      const slower = synthesize(testConfig({ metrics: { batchWindowSeconds: 5 } })).delivery;
      expect(only(slower, 'aws_lambda_event_source_mapping').maximum_batching_window_in_seconds).toBe(5);
      // Lambda checks the role may read the stream when the mapping is created.
      expect(mapping.depends_on).toEqual([expect.stringMatching(/^aws_iam_role_policy\./)]);
    },
  );

  it(
    "may read the stream as the mapping does, read the timeline, move its checkpoint, keep the releases' " +
      'judgments, invoke rollout sync and write its logs: nothing else',
    () => {
      const { delivery, config } = synthesize(testConfig());
      const statements = roleStatements(delivery, resourceNames(config).signalConsumer);
      const { stream, key } = streamAndKey(delivery);
      const table = ref(delivery, 'aws_dynamodb_table', only(delivery, 'aws_dynamodb_table'), 'arn');
      const rolloutSync = only(
        delivery,
        'aws_lambda_function',
        (f) => f.function_name === resourceNames(config).rolloutSync,
      );
      const rolloutSyncArn = new RegExp(
        `^arn:\\$\\{data\\.aws_partition\\.[^}]+\\}:lambda:us-east-1:` +
          `\\$\\{data\\.aws_caller_identity\\.[^}]+\\}:function:${String(rolloutSync.function_name)}$`,
      );
      expect(statements).toEqual([
        expect.objectContaining({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
        expect.objectContaining({
          actions: [
            'kinesis:DescribeStream',
            'kinesis:DescribeStreamSummary',
            'kinesis:GetRecords',
            'kinesis:GetShardIterator',
            'kinesis:ListShards',
          ],
          resources: [stream],
        }),
        // The reference lists no resource type for ListStreams: only "*" grants it.
        expect.objectContaining({ actions: ['kinesis:ListStreams'], resources: ['*'] }),
        expect.objectContaining({ actions: ['kms:Decrypt'], resources: [key] }),
        expect.objectContaining({
          actions: ['dynamodb:GetItem'],
          resources: [table],
          condition: leadingKey(STATE_TIMELINE_KEY),
        }),
        expect.objectContaining({
          actions: ['dynamodb:PutItem'],
          resources: [table],
          condition: leadingKey(CONSUMER_CHECKPOINT_KEY),
        }),
        // Each release's evidence and verdicts, under release#<salt> and nowhere else in the table.
        expect.objectContaining({
          sid: 'KeepReleaseJudgments',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [table],
          condition: leadingKey(judgmentKey('*')),
        }),
        // Rollout sync, woken the moment the judge decides; that function and no other.
        expect.objectContaining({
          sid: 'RequestRolloutSync',
          actions: ['lambda:InvokeFunction'],
          resources: [expect.stringMatching(rolloutSyncArn)],
        }),
        // The order CloudFront writes the fields in, asked of CloudFront at the consumer's start.
        expect.objectContaining({
          sid: 'ReadLogFieldOrder',
          actions: ['cloudfront:GetRealtimeLogConfig'],
          resources: [
            ref(
              delivery,
              'aws_cloudfront_realtime_log_config',
              only(delivery, 'aws_cloudfront_realtime_log_config'),
              'arn',
            ),
          ],
        }),
      ]);
      // Its metrics are log lines (embedded metric format), the verdict's too.
      expect(JSON.stringify(statements)).not.toContain('cloudwatch:');
      expect(judgmentKey('*')).toBe('release#*');
    },
  );
});

describe('the unjudged alarm', () => {
  it("is the contract's metric math, in the config's namespace, and treats missing data as breaching", () => {
    const alarms = { periodSeconds: 120, evaluationPeriods: 4, datapointsToAlarm: 3 };
    const { delivery, config } = synthesize(
      testConfig({ alarms, metrics: { namespace: 'Acme/Widget', latenessSeconds: 45 } }),
    );
    const names = resourceNames(config);
    const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.signalUnjudgedAlarm);
    expect(alarm).toMatchObject({
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
      evaluation_periods: 4,
      datapoints_to_alarm: 3,
      treat_missing_data: 'breaching',
      provider: 'aws.us-east-1',
    });
    const contract = unjudgedAlarmQueries(
      { latenessSeconds: 45 },
      { consumerFunction: names.signalConsumer, stream: names.signalStream },
    );
    expect(alarm.metric_query).toEqual([
      ...contract.metrics.map((q) => ({
        id: q.id,
        metric: {
          namespace: q.namespace === 'signal' ? 'Acme/Widget' : q.namespace,
          metric_name: q.metricName,
          dimensions: q.dimensions,
          period: 120,
          stat: q.stat,
        },
        return_data: false,
      })),
      ...contract.expressions.map((q) => ({
        id: q.id,
        expression: q.expression,
        label: q.label,
        return_data: q.id === contract.resultId,
      })),
    ]);
    // What it reads: the consumer's own metrics, its Lambda errors, the stream's iterator age and the records its full
    // shard refused.
    expect(
      (alarm.metric_query as Block[])
        .filter((q) => q.metric)
        .map((q) => [(q.metric as Block).namespace, (q.metric as Block).metric_name, (q.metric as Block).dimensions]),
    ).toEqual([
      ['Acme/Widget', 'UnjudgedPeriods', { Signal: 'entry' }],
      ['AWS/Lambda', 'Errors', { FunctionName: names.signalConsumer }],
      ['AWS/Kinesis', 'GetRecords.IteratorAgeMilliseconds', { StreamName: names.signalStream }],
      ['AWS/Kinesis', 'WriteProvisionedThroughputExceeded', { StreamName: names.signalStream }],
    ]);
    expect((alarm.metric_query as Block[]).find((q) => q.id === 'throttled')?.expression).toBe(
      'IF(FILL(throttled_raw, 0) > 0, 1, 0)',
    );
    expect((alarm.metric_query as Block[]).find((q) => q.id === 'behind')?.expression).toBe('IF(age > 45000, 1, 0)');
  });
});

describe('the release dashboard', () => {
  it(
    "draws the alarm's own queries, the weight, the edge errors, the fallback loads, the signal's health and " +
      'every alarm, and its URL is what `rollout status` prints',
    () => {
      const { delivery, config } = synthesize(testConfig({ metrics: { namespace: 'Acme/Widget' } }));
      const names = resourceNames(config);
      const dashboard = only(delivery, 'aws_cloudwatch_dashboard');
      expect(dashboard).toMatchObject({ dashboard_name: names.dashboard, provider: 'aws.us-east-1' });
      const body = JSON.parse(String(dashboard.dashboard_body)) as { widgets: Block[] };
      const panels = releasePanels(releaseAlarmQueries(config.alarms));
      const health = signalHealthPanels(config.metrics.latenessSeconds);
      const metricWidgets = body.widgets.filter((w) => w.type === 'metric');
      expect(metricWidgets.map((w) => (w.properties as Block).title)).toEqual([
        ...panels.map((p) => p.title),
        ...health.map((p) => p.title),
      ]);
      const rates = (metricWidgets[0]!.properties as Block).metrics as unknown[][];
      for (const query of releaseAlarmQueries(config.alarms).expressions) {
        expect(rates).toContainEqual([expect.objectContaining({ id: query.id, expression: query.expression })]);
      }
      expect((metricWidgets[0]!.properties as Block).annotations).toEqual({
        horizontal: [{ label: 'the excess a step must rule out', value: config.alarms.excessErrorPercent }],
      });
      expect((metricWidgets[1]!.properties as Block).metrics).toContainEqual([
        'Acme/Widget',
        'Viewers',
        'Role',
        'ring',
        { stat: 'Sum', label: 'ring hosts (not judged)' },
      ]);
      expect((metricWidgets[1]!.properties as Block).metrics).toContainEqual([
        'Acme/Widget',
        'Viewers',
        'Role',
        'preview',
        { stat: 'Sum', label: 'previews (not judged)' },
      ]);
      expect((metricWidgets[2]!.properties as Block).metrics).toEqual([
        ['Acme/Widget', METRIC_ROLLOUT_WEIGHT, 'Role', 'canary', { stat: 'Maximum', label: 'weight' }],
      ]);
      // The judge's verdict, as the client-error alarm reads it.
      expect((metricWidgets[3]!.properties as Block).metrics).toEqual([
        ['Acme/Widget', 'CanaryFailing', 'Signal', 'entry', { stat: 'Maximum', label: 'failing' }],
      ]);
      const distribution = only(delivery, 'aws_cloudfront_distribution');
      expect(JSON.stringify((metricWidgets[4]!.properties as Block).metrics)).toContain(
        ref(delivery, 'aws_cloudfront_distribution', distribution, 'id'),
      );
      // The signal's health: the unjudged alarm's own metrics, the lateness as the line for the iterator age.
      expect((metricWidgets[5]!.properties as Block).metrics).toEqual([
        [
          'Acme/Widget',
          'UnjudgedPeriods',
          'Signal',
          'entry',
          { stat: 'Sum', label: 'periods the consumer did not see whole, and late records' },
        ],
        ['AWS/Lambda', 'Errors', 'FunctionName', names.signalConsumer, { stat: 'Sum', label: 'consumer errors' }],
        [
          'AWS/Kinesis',
          'WriteProvisionedThroughputExceeded',
          'StreamName',
          names.signalStream,
          { stat: 'Sum', label: 'log records the full shard refused' },
        ],
      ]);
      expect((metricWidgets[6]!.properties as Block).metrics).toEqual([
        [
          'AWS/Kinesis',
          'GetRecords.IteratorAgeMilliseconds',
          'StreamName',
          names.signalStream,
          { stat: 'Maximum', label: 'iterator age, maximum' },
        ],
      ]);
      expect((metricWidgets[6]!.properties as Block).annotations).toEqual({
        horizontal: [{ label: 'unjudged above (the lateness)', value: config.metrics.latenessSeconds * 1000 }],
      });
      const alarms = body.widgets.find((w) => w.type === 'alarm')!.properties as Block;
      const arn = (name: string) =>
        ref(
          delivery,
          'aws_cloudwatch_metric_alarm',
          only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name),
          'arn',
        );
      expect(alarms.alarms).toEqual([
        arn(names.clientErrorAlarm),
        arn(names.signalUnjudgedAlarm),
        arn(names.edgeErrorAlarm),
        arn(names.assignmentFallbackAlarm),
      ]);
      expect((delivery.json.output as Block)['dashboard-url']).toMatchObject({ value: dashboardUrl(names.dashboard) });
      expect(dashboardUrl('widget-releases')).toBe(
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/widget-releases',
      );
    },
  );
});

describe('what the signal no longer has', () => {
  it.each([
    ['one region', testConfig()],
    ['five regions', testConfig(FIVE_REGIONS)],
  ])(
    'no API Gateway, WAF, random secret or custom origin, and no header but the store ARN on any origin (%s)',
    (_label, config) => {
      const { delivery, all } = synthesize(config);
      for (const stack of all) {
        const types = [...Object.keys(stack.json.resource ?? {}), ...Object.keys(stack.json.data ?? {})];
        expect(types.filter((type) => /^(aws_apigatewayv2_|aws_wafv2_|random_)/.test(type))).toEqual([]);
        expect(Object.keys(stack.json.provider ?? {})).toEqual(['aws']);
        expect(JSON.stringify((stack.json.terraform as Block).required_providers)).not.toContain('random');
      }
      const distribution = only(delivery, 'aws_cloudfront_distribution');
      expect(distribution.web_acl_id).toBeUndefined();
      const origins = distribution.origin as Block[];
      expect(origins.filter((o) => o.custom_origin_config)).toEqual([]);
      for (const origin of origins)
        expect((origin.custom_header as Block[]).map((h) => h.name)).toEqual(['x-rollout-store']);
      expect(JSON.stringify(delivery.json)).not.toMatch(/x-origin-verify|execute-api|metrics-api/);
      expect(bodies(delivery, 'aws_lambda_function').map((f) => f.function_name)).not.toContain(
        `${config.name}-metrics-api`,
      );
    },
  );
});

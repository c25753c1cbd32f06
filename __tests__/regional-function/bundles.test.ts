import { CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { formatRolloutState, parseRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import { LocalKeyValueStore, startKvsServer } from '../../local/kvs-server';
import { removeEdgeScratch, runtimeSdkWithout } from '../fixtures/edge';
import { loadBundledHandler } from '../../scripts/lib/bundled-handler';
import { versionDescription } from '../../contracts/version-description';
import { functionZip } from '../fixtures/build';
import { fakeTable } from '../fixtures/dynamodb-table';
import { STATE_TIMELINE_KEY } from '../../regional-function/shared/signal-table';
import { formatRecord, REALTIME_LOG_FIELDS } from '../../contracts/realtime-log';
import { CloudFrontClient, GetRealtimeLogConfigCommand } from '@aws-sdk/client-cloudfront';

/** What Powertools writes (stdout for INFO and metrics, stderr for errors), as parsed JSON lines, while `body` runs. */
async function capturingLogs<T>(body: () => Promise<T>): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const written: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }),
  );
  try {
    const result = await body();
    return {
      result,
      lines: written
        .flatMap((chunk) => chunk.split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** Runs `body` with exactly these variables set (and every other one the functions read unset). */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const names = [
    'ENTRY_ROUTER_FUNCTION',
    'LIVE_ALIAS',
    'ROLLOUT_STORE_ARN',
    'ROLLOUT_STORE_ENDPOINT',
    'METRICS_NAMESPACE',
    'CODEDEPLOY_APPLICATION',
    'CODEDEPLOY_DEPLOYMENT_GROUP',
    'CLIENT_ERROR_ALARM',
    'SIGNAL_TABLE',
    'BUCKETS',
    'PERIOD_SECONDS',
    'LATENESS_SECONDS',
    'REALTIME_LOG_CONFIG_ARN',
    'SIGNAL_UNJUDGED_ALARM',
    'STATE_PROPAGATION_MS',
    'AWS_REGION',
  ];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  for (const name of names) delete process.env[name];
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

describe('regional bundles as they ship', () => {
  it('rollout-sync loads with no environment and rejects a malformed event by saying what it expects', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('rollout-sync'));
      await expect(handler({ hello: 'world' })).rejects.toThrow(
        /rollout sync runs on an EventBridge "Scheduled Event", "CodeDeploy Deployment State-change Notification" or "CloudWatch Alarm State Change" event.*got an object without detail-type/,
      );
      await expect(handler(null)).rejects.toThrow(/got null/);
      // A valid event with no environment names every missing variable.
      await expect(handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).rejects.toThrow(
        'missing environment variables: ENTRY_ROUTER_FUNCTION, LIVE_ALIAS, ROLLOUT_STORE_ARN, METRICS_NAMESPACE, CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP, CLIENT_ERROR_ALARM, SIGNAL_TABLE, BUCKETS',
      );
    });
  });

  it('release loads with no environment and rejects a malformed input by naming the fields', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('release'));
      await expect(handler({ version: '$LATEST', buildId: 'nope' })).rejects.toThrow(/release input must be .*version: must be a published version number.*buildId: must be a buildId/);
      await expect(handler({ version: '3', buildId: '0123456789abcdef' })).rejects.toThrow('missing environment variables: ENTRY_ROUTER_FUNCTION, LIVE_ALIAS, CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP, BUCKETS');
    });
  });

  it('signal-consumer loads with no environment and names the variables it needs', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('signal-consumer'));
      await expect(handler({ Records: [] })).rejects.toThrow('missing environment variables: METRICS_NAMESPACE, SIGNAL_TABLE, PERIOD_SECONDS, LATENESS_SECONDS, REALTIME_LOG_CONFIG_ARN');
    });
  });

  it('release, as bundled, starts a deployment through the runtime SDK', async () => {
    const lambda = mockClient(LambdaClient);
    const codedeploy = mockClient(CodeDeployClient);
    const s3 = mockClient(S3Client);
    try {
      s3.on(HeadObjectCommand).resolves({});
      lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '4' });
      lambda.on(GetFunctionConfigurationCommand, { Qualifier: '4' }).resolves({ Description: versionDescription('0123456789abcdef') });
      lambda.on(GetFunctionConfigurationCommand, { Qualifier: '5' }).resolves({ Description: versionDescription('fedcba9876543210') });
      codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
      codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-BUNDLED01' });
      const env = {
        ENTRY_ROUTER_FUNCTION: 'edge-widget-entry-router',
        LIVE_ALIAS: 'live',
        CODEDEPLOY_APPLICATION: 'edge-widget',
        CODEDEPLOY_DEPLOYMENT_GROUP: 'edge-widget-entry-router',
        BUCKETS: '{"us-east-1":"b1","eu-west-1":"b2"}',
        AWS_REGION: 'us-east-1',
      };
      const { result, lines } = await capturingLogs(() => withEnv(env, () => loadBundledHandler(functionZip('release'))({ version: '5', buildId: 'fedcba9876543210' })));
      expect(result).toEqual({ action: 'started', deploymentId: 'd-BUNDLED01', reason: 'shifting alias live from version 4 to 5 (build fedcba9876543210)' });
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
      expect(codedeploy.commandCalls(GetDeploymentCommand)).toHaveLength(0);
      expect(
        s3
          .commandCalls(HeadObjectCommand)
          .map((call) => call.args[0].input.Bucket)
          .sort(),
      ).toEqual(['b1', 'b2']);
      // Powertools' Logger, bundled: a structured line naming the deployment.
      expect(lines).toContainEqual(expect.objectContaining({ level: 'INFO', message: 'release', service: 'release', deploymentId: 'd-BUNDLED01' }));
    } finally {
      lambda.restore();
      codedeploy.restore();
      s3.restore();
    }
  });

  it('rollout-sync, as bundled, writes the state through its own KeyValueStore client and SigV4A signer, which the runtime SDK need not have', async () => {
    const kvs = await startKvsServer({ store: new LocalKeyValueStore({ [ROLLOUT_STATE_KEY]: formatRolloutState(steadyState('0123456789abcdef')) }) });
    const lambda = mockClient(LambdaClient);
    const cloudwatch = mockClient(CloudWatchClient);
    const dynamodb = mockClient(DynamoDBClient);
    const s3 = mockClient(S3Client);
    try {
      s3.on(HeadObjectCommand).resolves({});
      lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '5' });
      lambda.on(GetFunctionConfigurationCommand, { Qualifier: '5' }).resolves({ Description: versionDescription('fedcba9876543210') });
      fakeTable(dynamodb);
      const env = {
        ENTRY_ROUTER_FUNCTION: 'edge-widget-entry-router',
        LIVE_ALIAS: 'live',
        ROLLOUT_STORE_ARN: kvs.arn,
        ROLLOUT_STORE_ENDPOINT: kvs.endpoint,
        METRICS_NAMESPACE: 'EdgeWidget',
        CODEDEPLOY_APPLICATION: 'edge-widget',
        CODEDEPLOY_DEPLOYMENT_GROUP: 'edge-widget-entry-router',
        CLIENT_ERROR_ALARM: 'edge-widget-client-error-rate',
        SIGNAL_TABLE: 'edge-widget-release-signal',
        BUCKETS: '{"us-east-1":"b1"}',
        SIGNAL_UNJUDGED_ALARM: 'edge-widget-signal-unjudged',
        STATE_PROPAGATION_MS: '100000',
        AWS_REGION: 'us-east-1',
      };
      const runtimeSdk = runtimeSdkWithout(['@aws-sdk/client-cloudfront-keyvaluestore', '@aws-sdk/signature-v4a']);
      const { result, lines } = await capturingLogs(() => withEnv(env, () => loadBundledHandler(functionZip('rollout-sync'), { runtimeSdk })({ source: 'aws.events', 'detail-type': 'Scheduled Event' })));
      expect(result).toMatchObject({ action: 'written', weight: 0 });
      expect(lines).toContainEqual(expect.objectContaining({ RolloutWeight: 0, Role: 'canary' }));
      expect(cloudwatch.calls()).toHaveLength(0);
      // Announced to the signal consumer's timeline before it was written.
      const timeline = JSON.parse(
        dynamodb
          .commandCalls(PutItemCommand)
          .filter((call) => call.args[0].input.Item?.pk?.S === STATE_TIMELINE_KEY)
          .at(-1)!.args[0].input.Item!.timeline!.S!,
      );
      expect(timeline.at(-1)).toMatchObject({ text: formatRolloutState(steadyState('fedcba9876543210')), until: null });
      expect(parseRolloutState(kvs.store.get(ROLLOUT_STATE_KEY))).toEqual(steadyState('fedcba9876543210'));
      expect(kvs.requests.map((request) => `${request.method} ${request.algorithm}`)).toEqual(['GET AWS4-ECDSA-P256-SHA256', 'GET AWS4-ECDSA-P256-SHA256', 'PUT AWS4-ECDSA-P256-SHA256']);
    } finally {
      lambda.restore();
      cloudwatch.restore();
      dynamodb.restore();
      s3.restore();
      removeEdgeScratch();
      await kvs.close();
    }
  });

  it('signal-consumer, as bundled, counts viewers from real-time log records and emits them with Powertools, logging each message once', async () => {
    const dynamodb = mockClient(DynamoDBClient);
    const cloudfront = mockClient(CloudFrontClient);
    try {
      const table = fakeTable(dynamodb);
      const stable = '0123456789abcdef';
      table.items.set(STATE_TIMELINE_KEY, { pk: { S: STATE_TIMELINE_KEY }, timeline: { S: JSON.stringify([{ text: formatRolloutState(steadyState(stable)), from: 0, until: null }]) }, version: { N: '1' } });
      cloudfront.on(GetRealtimeLogConfigCommand).resolves({ RealtimeLogConfig: { ARN: 'arn', Name: 'n', SamplingRate: 100, EndPoints: [], Fields: [...REALTIME_LOG_FIELDS] } });
      const env = {
        METRICS_NAMESPACE: 'EdgeWidget',
        SIGNAL_TABLE: 'edge-widget-release-signal',
        PERIOD_SECONDS: '60',
        LATENESS_SECONDS: '20',
        REALTIME_LOG_CONFIG_ARN: 'arn:aws:cloudfront::123456789012:realtime-log-config/edge-widget-signal',
        AWS_REGION: 'us-east-1',
      };
      const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
      let sequence = 0;
      const event = (records: { ip: string; at: number; uri?: string; query?: string; status?: number }[]) => ({
        Records: records.map((r) => {
          sequence += 1;
          return {
            kinesis: {
              data: Buffer.from(formatRecord({ at: r.at, clientIp: r.ip, method: 'GET', uri: r.uri ?? '/assets/index.js', query: r.query ?? '', status: r.status ?? 200, referer: null })).toString('base64'),
              approximateArrivalTimestamp: (r.at + 500) / 1000,
              sequenceNumber: String(sequence),
            },
          };
        }),
      });
      const { result, lines } = await capturingLogs(() =>
        withEnv(env, async () => {
          const handler = loadBundledHandler(functionZip('signal-consumer'));
          await handler(event([{ ip: '198.51.100.1', at: T0 - 60_000 }]));
          await handler(
            event([
              { ip: '198.51.100.2', at: T0 + 1000 },
              { ip: '198.51.100.3', at: T0 + 2000 },
              { ip: '198.51.100.3', at: T0 + 3000, uri: '/api/e', query: `b=${stable}&m=TypeError%3A%20x`, status: 204 },
            ]),
          );
          return handler(event([{ ip: '198.51.100.4', at: T0 + 81_000 }]));
        }),
      );
      // The period the consumer started in is not judged (it missed its beginning); the next one is.
      expect(result).toMatchObject({
        closed: [
          { start: T0 - 60_000, unjudged: 'the consumer started after the period began' },
          { start: T0, unjudged: null },
        ],
      });
      expect(lines).toContainEqual(expect.objectContaining({ Role: 'stable', Viewers: 2, ErroringViewers: 1 }));
      expect(lines).toContainEqual(expect.objectContaining({ message: 'error reported', role: 'stable', buildId: stable, errorMessage: 'TypeError: x' }));
      // No address anywhere in what it writes.
      expect(JSON.stringify(lines)).not.toMatch(/198\.51\.100/);
    } finally {
      dynamodb.restore();
      cloudfront.restore();
    }
  });
});

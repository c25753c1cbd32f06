import {
  CodeDeployClient,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  formatRolloutState,
  parseRolloutState,
  ROLLOUT_STATE_KEY,
  steadyState,
  type RolloutState,
} from '../../contracts/rollout-state';
import { assignBuild } from '../../contracts/assignment';
import { judgmentKey, parseJudgmentRecord, VERDICT_SYNC_EVENT } from '../../contracts/release-progress';
import { METRIC_CANARY_FAILING } from '../../contracts/release-signal';
import { LocalKeyValueStore, startKvsServer } from '../../loopback/kvs-server';
import { revocationKey } from '../../contracts/revocation';
import { removeEdgeScratch, runtimeSdkWithout } from '../fixtures/edge';
import { loadBundledHandler } from '../../edge-code/bundled-handler';
import { versionDescription } from '../../contracts/version-description';
import { functionZip } from '../fixtures/build';
import { fakeTable } from '../fixtures/dynamodb-table';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import { formatRecord, REALTIME_LOG_FIELDS } from '../../contracts/realtime-log';
import { CloudFrontClient, GetRealtimeLogConfigCommand } from '@aws-sdk/client-cloudfront';

/** The default alarms' rule (contracts/canary-judge.ts), as the stacks put it in the consumer's environment. */
const JUDGE_RULE = { excessErrorPercent: 5, toleratedExcessPercent: 2, falseRollbackRate: 0.001, minViewers: 50 };
/** The signal consumer's environment as the stack sets it, for its bundled handler. */
const CONSUMER_ENV = {
  METRICS_NAMESPACE: 'EdgeWidget',
  SIGNAL_TABLE: 'edge-widget-release-signal',
  PERIOD_SECONDS: '60',
  LATENESS_SECONDS: '20',
  REALTIME_LOG_CONFIG_ARN: 'arn:aws:cloudfront::123456789012:realtime-log-config/edge-widget-signal',
  JUDGE_RULE: JSON.stringify(JUDGE_RULE),
  ROLLOUT_SYNC_FUNCTION: 'edge-widget-rollout-sync',
  ROLLOUT_STEPS: JSON.stringify([
    { atMinute: 0, weight: 1000 },
    { atMinute: 5, weight: 10000 },
  ]),
  AWS_REGION: 'us-east-1',
};

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
    'ROLLOUT_STEPS',
    'HOLD_MINUTES',
    'NOTIFICATION_TOPIC_ARN',
    'DISTRIBUTION_NAME',
    'DASHBOARD_URL',
    'JUDGE_RULE',
    'ROLLOUT_SYNC_FUNCTION',
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

/**
 * Kinesis events of the signal stream as Lambda hands them to the consumer: one record per request
 * (the entry unless named), arriving half a second after it, sequence numbers counting up across
 * the events one returned function makes.
 */
function kinesisEvents(): (records: { ip: string; at: number; uri?: string; query?: string; status?: number }[]) => {
  Records: { kinesis: { data: string; approximateArrivalTimestamp: number; sequenceNumber: string } }[];
} {
  let sequence = 0;
  return (records) => ({
    Records: records.map((r) => {
      sequence += 1;
      return {
        kinesis: {
          data: Buffer.from(
            formatRecord({
              at: r.at,
              clientIp: r.ip,
              method: 'GET',
              uri: r.uri ?? '/assets/index.js',
              query: r.query ?? '',
              status: r.status ?? 200,
              referer: null,
            }),
          ).toString('base64'),
          approximateArrivalTimestamp: (r.at + 500) / 1000,
          sequenceNumber: String(sequence),
        },
      };
    }),
  });
}

describe('regional bundles as they ship', () => {
  it('rollout-sync loads with no environment and rejects a malformed event by saying what it expects', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('rollout-sync'));
      await expect(handler({ hello: 'world' })).rejects.toThrow(
        new RegExp(
          'rollout sync runs on an EventBridge "Scheduled Event", "CodeDeploy Deployment State-change Notification" ' +
            'or "CloudWatch Alarm State Change" event.*got an object without detail-type',
        ),
      );
      // The signal consumer's request is one of the events it names.
      await expect(handler({ source: 'signal-consumer' })).rejects.toThrow(JSON.stringify(VERDICT_SYNC_EVENT));
      await expect(handler(null)).rejects.toThrow(/got null/);
      // A valid event with no environment names every missing variable.
      await expect(handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).rejects.toThrow(
        'missing environment variables: ENTRY_ROUTER_FUNCTION, LIVE_ALIAS, ROLLOUT_STORE_ARN, ' +
          'METRICS_NAMESPACE, CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP, ' +
          'CLIENT_ERROR_ALARM, SIGNAL_TABLE, BUCKETS, SIGNAL_UNJUDGED_ALARM, STATE_PROPAGATION_MS, ' +
          'ROLLOUT_STEPS, HOLD_MINUTES, NOTIFICATION_TOPIC_ARN, DISTRIBUTION_NAME, DASHBOARD_URL',
      );
    });
  });

  it('release loads with no environment and rejects a malformed input by naming the fields', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('release'));
      await expect(handler({ version: '$LATEST', buildId: 'nope' })).rejects.toThrow(
        /release input must be .*version: must be a published version number.*buildId: must be a buildId/,
      );
      await expect(handler({ version: '3', buildId: '0123456789abcdef' })).rejects.toThrow(
        'missing environment variables: ENTRY_ROUTER_FUNCTION, LIVE_ALIAS, ' +
          'CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP, BUCKETS',
      );
    });
  });

  it('signal-consumer loads with no environment and names the variables it needs', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('signal-consumer'));
      await expect(handler({ Records: [] })).rejects.toThrow(
        new RegExp(
          '^missing environment variables: METRICS_NAMESPACE, SIGNAL_TABLE, PERIOD_SECONDS, LATENESS_SECONDS, ' +
            'REALTIME_LOG_CONFIG_ARN, JUDGE_RULE, ROLLOUT_SYNC_FUNCTION, ROLLOUT_STEPS$',
        ),
      );
    });
  });

  it(
    'release, as bundled, asks the store whether the build is revoked (its ' +
      'own SigV4A client), then starts a deployment through the runtime SDK',
    async () => {
      const kvs = await startKvsServer({ store: new LocalKeyValueStore() });
      const lambda = mockClient(LambdaClient);
      const codedeploy = mockClient(CodeDeployClient);
      const s3 = mockClient(S3Client);
      try {
        s3.on(HeadObjectCommand).resolves({});
        lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '4' });
        lambda
          .on(GetFunctionConfigurationCommand, { Qualifier: '4' })
          .resolves({ Description: versionDescription('0123456789abcdef') });
        lambda
          .on(GetFunctionConfigurationCommand, { Qualifier: '5' })
          .resolves({ Description: versionDescription('fedcba9876543210') });
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
        codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-BUNDLED01' });
        const env = {
          ENTRY_ROUTER_FUNCTION: 'edge-widget-entry-router',
          LIVE_ALIAS: 'live',
          CODEDEPLOY_APPLICATION: 'edge-widget',
          CODEDEPLOY_DEPLOYMENT_GROUP: 'edge-widget-entry-router',
          BUCKETS: '{"us-east-1":"b1","eu-west-1":"b2"}',
          ROLLOUT_STORE_ARN: kvs.arn,
          ROLLOUT_STORE_ENDPOINT: kvs.endpoint,
          AWS_REGION: 'us-east-1',
        };
        const { result, lines } = await capturingLogs(() =>
          withEnv(env, () => loadBundledHandler(functionZip('release'))({ version: '5', buildId: 'fedcba9876543210' })),
        );
        expect(kvs.requests.map((request) => `${request.method} ${request.path} ${request.algorithm}`)).toEqual([
          `GET /key-value-stores/${encodeURIComponent(kvs.arn)}/keys/` +
            `${encodeURIComponent(revocationKey('fedcba9876543210'))} AWS4-ECDSA-P256-SHA256`,
        ]);
        expect(result).toEqual({
          action: 'started',
          deploymentId: 'd-BUNDLED01',
          reason: 'shifting alias live from version 4 to 5 (build fedcba9876543210)',
        });
        expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
        expect(codedeploy.commandCalls(GetDeploymentCommand)).toHaveLength(0);
        expect(
          s3
            .commandCalls(HeadObjectCommand)
            .map((call) => call.args[0].input.Bucket)
            .sort(),
        ).toEqual(['b1', 'b2']);
        // Powertools' Logger, bundled: a structured line naming the deployment.
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: 'INFO',
            message: 'release',
            service: 'release',
            deploymentId: 'd-BUNDLED01',
          }),
        );
      } finally {
        lambda.restore();
        codedeploy.restore();
        s3.restore();
        await kvs.close();
      }
    },
  );

  it(
    'rollout-sync, as bundled, writes the state through its own KeyValueStore ' +
      'client and SigV4A signer, which the runtime SDK need not have',
    async () => {
      const kvs = await startKvsServer({
        store: new LocalKeyValueStore({ [ROLLOUT_STATE_KEY]: formatRolloutState(steadyState('0123456789abcdef')) }),
      });
      const lambda = mockClient(LambdaClient);
      const cloudwatch = mockClient(CloudWatchClient);
      const dynamodb = mockClient(DynamoDBClient);
      const s3 = mockClient(S3Client);
      try {
        s3.on(HeadObjectCommand).resolves({});
        lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '5' });
        lambda
          .on(GetFunctionConfigurationCommand, { Qualifier: '5' })
          .resolves({ Description: versionDescription('fedcba9876543210') });
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
          ROLLOUT_STEPS: JSON.stringify([
            { atMinute: 0, weight: 1000 },
            { atMinute: 5, weight: 10000 },
          ]),
          HOLD_MINUTES: '30',
          NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:edge-widget-releases',
          DISTRIBUTION_NAME: 'edge-widget',
          DASHBOARD_URL: 'https://dashboard.example/edge-widget-releases',
          AWS_REGION: 'us-east-1',
        };
        const runtimeSdk = runtimeSdkWithout(['@aws-sdk/client-cloudfront-keyvaluestore', '@aws-sdk/signature-v4a']);
        const { result, lines } = await capturingLogs(() =>
          withEnv(env, () =>
            loadBundledHandler(functionZip('rollout-sync'), { runtimeSdk })({
              source: 'aws.events',
              'detail-type': 'Scheduled Event',
            }),
          ),
        );
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
        expect(timeline.at(-1)).toMatchObject({
          text: formatRolloutState(steadyState('fedcba9876543210')),
          until: null,
        });
        expect(parseRolloutState(kvs.store.get(ROLLOUT_STATE_KEY))).toEqual(steadyState('fedcba9876543210'));
        expect(kvs.requests.map((request) => `${request.method} ${request.algorithm}`)).toEqual([
          'GET AWS4-ECDSA-P256-SHA256',
          'GET AWS4-ECDSA-P256-SHA256',
          'PUT AWS4-ECDSA-P256-SHA256',
        ]);
      } finally {
        lambda.restore();
        cloudwatch.restore();
        dynamodb.restore();
        s3.restore();
        removeEdgeScratch();
        await kvs.close();
      }
    },
  );

  it(
    'signal-consumer, as bundled, counts viewers from real-time log ' +
      'records and emits them with Powertools, logging each message once',
    async () => {
      const dynamodb = mockClient(DynamoDBClient);
      const cloudfront = mockClient(CloudFrontClient);
      const lambda = mockClient(LambdaClient);
      try {
        const table = fakeTable(dynamodb);
        const stable = '0123456789abcdef';
        table.items.set(STATE_TIMELINE_KEY, {
          pk: { S: STATE_TIMELINE_KEY },
          timeline: { S: JSON.stringify([{ text: formatRolloutState(steadyState(stable)), from: 0, until: null }]) },
          version: { N: '1' },
        });
        cloudfront.on(GetRealtimeLogConfigCommand).resolves({
          RealtimeLogConfig: {
            ARN: 'arn',
            Name: 'n',
            SamplingRate: 100,
            EndPoints: [],
            Fields: [...REALTIME_LOG_FIELDS],
          },
        });
        const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
        const event = kinesisEvents();
        const { result, lines } = await capturingLogs(() =>
          withEnv(CONSUMER_ENV, async () => {
            const handler = loadBundledHandler(functionZip('signal-consumer'));
            await handler(event([{ ip: '198.51.100.1', at: T0 - 60_000 }]));
            await handler(
              event([
                { ip: '198.51.100.2', at: T0 + 1000 },
                { ip: '198.51.100.3', at: T0 + 2000 },
                {
                  ip: '198.51.100.3',
                  at: T0 + 3000,
                  uri: '/api/e',
                  query: `b=${stable}&m=TypeError%3A%20x`,
                  status: 204,
                },
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
        expect(lines).toContainEqual(
          expect.objectContaining({
            message: 'error reported',
            role: 'stable',
            buildId: stable,
            errorMessage: 'TypeError: x',
          }),
        );
        // No address anywhere in what it writes.
        expect(JSON.stringify(lines)).not.toMatch(/198\.51\.100/);
        // No release runs: no verdict, no judgment kept, rollout sync left alone.
        expect(lines.filter((line) => METRIC_CANARY_FAILING in line)).toEqual([]);
        expect([...table.items.keys()].filter((key) => key.startsWith('release#'))).toEqual([]);
        expect(lambda.calls()).toHaveLength(0);
      } finally {
        dynamodb.restore();
        cloudfront.restore();
        lambda.restore();
      }
    },
  );

  it(
    'signal-consumer, as bundled, judges the release running: keeps its record, prints ' +
      'the high-resolution verdict, and wakes rollout sync the moment the canary fails',
    async () => {
      const dynamodb = mockClient(DynamoDBClient);
      const cloudfront = mockClient(CloudFrontClient);
      const lambda = mockClient(LambdaClient);
      try {
        lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
        const table = fakeTable(dynamodb);
        const [stable, canary] = ['0123456789abcdef', 'fedcba9876543210'];
        const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
        const release: RolloutState = { stable, canary, weight: 5000, salt: 'd-BUNDLED02', ring: [] };
        table.items.set(STATE_TIMELINE_KEY, {
          pk: { S: STATE_TIMELINE_KEY },
          timeline: { S: JSON.stringify([{ text: formatRolloutState(release), from: T0 - 120_000, until: null }]) },
          version: { N: '1' },
        });
        cloudfront.on(GetRealtimeLogConfigCommand).resolves({
          RealtimeLogConfig: {
            ARN: 'arn',
            Name: 'n',
            SamplingRate: 100,
            EndPoints: [],
            Fields: [...REALTIME_LOG_FIELDS],
          },
        });
        /** Addresses the rule puts on `build` under the release. */
        const on = (build: string) => {
          const found: string[] = [];
          for (let i = 1; found.length < 60; i += 1)
            if (assignBuild(release, `198.51.${i >> 8}.${i & 0xff}`, null, 0) === build)
              found.push(`198.51.${i >> 8}.${i & 0xff}`);
          return found;
        };
        const event = kinesisEvents();
        // Every canary viewer reports an error, no stable one does: failing before the period even closes.
        const failing = [
          ...on(canary).flatMap((ip, i) => [
            { ip, at: T0 + 1000 + i * 10 },
            { ip, at: T0 + 2000 + i * 10, uri: '/api/e', query: `b=${canary}&m=TypeError%3A%20x`, status: 204 },
          ]),
          ...on(stable).map((ip, i) => ({ ip, at: T0 + 3000 + i * 10 })),
        ];
        const { result, lines } = await capturingLogs(() =>
          withEnv(CONSUMER_ENV, async () => {
            const handler = loadBundledHandler(functionZip('signal-consumer'));
            await handler(event([{ ip: '192.0.2.1', at: T0 - 60_000 }]));
            return handler(event(failing));
          }),
        );
        expect(result).toMatchObject({ closed: [], verdict: { salt: 'd-BUNDLED02', verdict: 'failing' } });
        // The record, under release#<salt>, names the builds and when the canary was found failing.
        const stored = parseJudgmentRecord(table.items.get(judgmentKey('d-BUNDLED02'))?.record?.S);
        expect(stored).toMatchObject({
          salt: 'd-BUNDLED02',
          stable,
          canary,
          failedAt: expect.any(Number),
          failure: expect.any(String),
        });
        expect(Number(table.items.get(judgmentKey('d-BUNDLED02'))?.expiresAt?.N)).toBeGreaterThan(Date.now() / 1000);
        // One verdict per batch while the release runs: 0 before the evidence, 1 once it shows the canary failing; high
        // resolution.
        const verdicts = lines.filter((line) => METRIC_CANARY_FAILING in line);
        expect(verdicts.map((line) => line[METRIC_CANARY_FAILING])).toEqual([0, 1]);
        for (const line of verdicts) {
          expect(line).toMatchObject({
            Signal: 'entry',
            _aws: {
              CloudWatchMetrics: [
                {
                  Namespace: 'EdgeWidget',
                  Dimensions: [['Signal']],
                  Metrics: [{ Name: METRIC_CANARY_FAILING, Unit: 'Count', StorageResolution: 1 }],
                },
              ],
            },
          });
        }
        expect(lines).toContainEqual(
          expect.objectContaining({ message: 'canary failing', salt: 'd-BUNDLED02', canary }),
        );
        // Rollout sync, asked once, without waiting for it.
        expect(lambda.commandCalls(InvokeCommand).map((call) => call.args[0].input)).toEqual([
          { FunctionName: 'edge-widget-rollout-sync', InvocationType: 'Event', Payload: expect.anything() },
        ]);
        expect(
          JSON.parse(
            Buffer.from(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array).toString('utf8'),
          ),
        ).toEqual(VERDICT_SYNC_EVENT);
        // No address anywhere in what it writes, logs or keeps.
        expect(JSON.stringify(lines)).not.toMatch(/198\.51\.|192\.0\.2\./);
        expect(JSON.stringify([...table.items.values()])).not.toMatch(/198\.51\.|192\.0\.2\./);
      } finally {
        dynamodb.restore();
        cloudfront.restore();
        lambda.restore();
      }
    },
  );
});

import { CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { formatRolloutState, parseRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import { LocalKeyValueStore, startKvsServer } from '../../local/kvs-server';
import { removeEdgeScratch, runtimeSdkWithout } from '../fixtures/edge';
import { loadBundledHandler } from '../../scripts/lib/bundled-handler';
import { versionDescription } from '../../contracts/version-description';
import { functionZip } from '../fixtures/build';
import { originSecretHash } from '../../regional-function/metrics-api/core';

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
    'ALLOWED_ORIGINS',
    'MAX_BATCH',
    'ORIGIN_SECRET_SHA256',
    'PERIOD_SECONDS',
    'STATE_CACHE_SECONDS',
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

  it('metrics-api loads with no environment and rejects an event that is not an HTTP API 2.0 event', async () => {
    await withEnv({}, async () => {
      const handler = loadBundledHandler(functionZip('metrics-api'));
      await expect(handler({ httpMethod: 'POST', body: '{}' })).rejects.toThrow(/payload format 2.0; got version null/);
      await expect(handler(undefined)).rejects.toThrow(/payload format 2.0; got undefined/);
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
      dynamodb.on(PutItemCommand).resolves({});
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
        AWS_REGION: 'us-east-1',
      };
      const runtimeSdk = runtimeSdkWithout(['@aws-sdk/client-cloudfront-keyvaluestore', '@aws-sdk/signature-v4a']);
      const { result, lines } = await capturingLogs(() => withEnv(env, () => loadBundledHandler(functionZip('rollout-sync'), { runtimeSdk })({ source: 'aws.events', 'detail-type': 'Scheduled Event' })));
      expect(result).toMatchObject({ action: 'written', weight: 0 });
      expect(lines).toContainEqual(expect.objectContaining({ RolloutWeight: 0, Role: 'canary' }));
      expect(cloudwatch.calls()).toHaveLength(0);
      expect(dynamodb.commandCalls(PutItemCommand)[0].args[0].input.Item?.state?.S).toBe(formatRolloutState(steadyState('fedcba9876543210')));
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

  it('metrics-api, as bundled, counts a viewer in the table and emits it with Powertools, refusing a direct call first', async () => {
    const dynamodb = mockClient(DynamoDBClient);
    const secret = 'bundled-test-secret-0123456789abcdefghijklmnop';
    const state = { stable: '0123456789abcdef', canary: null, weight: 0, salt: null, ring: [] };
    try {
      dynamodb.on(GetItemCommand).resolves({ Item: { pk: { S: 'rollout-state' }, state: { S: formatRolloutState(state) }, takenAt: { N: '1' } } });
      dynamodb.on(UpdateItemCommand).resolves({});
      const env = {
        METRICS_NAMESPACE: 'EdgeWidget',
        ALLOWED_ORIGINS: '["https://*.example.com"]',
        MAX_BATCH: '20',
        ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash(secret)]),
        PERIOD_SECONDS: '60',
        SIGNAL_TABLE: 'edge-widget-release-signal',
        STATE_CACHE_SECONDS: '10',
        AWS_REGION: 'us-east-1',
      };
      const event = (headers: Record<string, string>) => ({
        version: '2.0',
        requestContext: { http: { method: 'POST' } },
        headers: { origin: 'https://shop.example.com', 'content-type': 'text/plain', 'cloudfront-viewer-address': '198.51.100.7:443', ...headers },
        body: JSON.stringify({ v: 1, buildId: '0123456789abcdef', events: [{ name: 'load' }] }),
        isBase64Encoded: false,
      });
      const { result, lines } = await capturingLogs(() =>
        withEnv(env, async () => {
          const handler = loadBundledHandler(functionZip('metrics-api'));
          return [await handler(event({})), await handler(event({ 'x-origin-verify': secret }))];
        }),
      );
      expect(result).toMatchObject([{ statusCode: 403 }, { statusCode: 204 }]);
      expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
      expect(lines).toContainEqual(expect.objectContaining({ Role: 'stable', Viewers: 1 }));
    } finally {
      dynamodb.restore();
    }
  });
});

import { CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { formatRolloutState, parseRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import { LocalKeyValueStore, startKvsServer } from '../../scripts/local/kvs-server';
import { removeEdgeZips, runtimeSdkWithout } from '../fixtures/edge';
import { loadBundledHandler } from '../../scripts/lib/bundled-handler';
import { versionDescription } from '../../regional-function/shared/version-description';
import { functionZip } from '../fixtures/build';

/** Runs `body` with exactly these variables set (and every other one the functions read unset). */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const names = ['ENTRY_ROUTER_FUNCTION', 'LIVE_ALIAS', 'ROLLOUT_STORE_ARN', 'ROLLOUT_STORE_ENDPOINT', 'METRICS_NAMESPACE', 'CODEDEPLOY_APPLICATION', 'CODEDEPLOY_DEPLOYMENT_GROUP', 'CLIENT_ERROR_ALARM', 'ALLOWED_ORIGINS', 'MAX_BATCH', 'AWS_REGION'];
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
      await expect(handler({ hello: 'world' })).rejects.toThrow(/rollout sync runs on an EventBridge "Scheduled Event", "CodeDeploy Deployment State-change Notification" or "CloudWatch Alarm State Change" event.*got an object without detail-type/);
      await expect(handler(null)).rejects.toThrow(/got null/);
      // A valid event with no environment names every missing variable.
      await expect(handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).rejects.toThrow(
        'missing environment variables: ENTRY_ROUTER_FUNCTION, LIVE_ALIAS, ROLLOUT_STORE_ARN, METRICS_NAMESPACE, CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP, CLIENT_ERROR_ALARM',
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
        'missing environment variables: ENTRY_ROUTER_FUNCTION, LIVE_ALIAS, CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP',
      );
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
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '4' });
      lambda.on(GetFunctionConfigurationCommand, { Qualifier: '4' }).resolves({ Description: versionDescription('0123456789abcdef') });
      lambda.on(GetFunctionConfigurationCommand, { Qualifier: '5' }).resolves({ Description: versionDescription('fedcba9876543210') });
      codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
      codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-BUNDLED01' });
      const env = { ENTRY_ROUTER_FUNCTION: 'edge-widget-entry-router', LIVE_ALIAS: 'live', CODEDEPLOY_APPLICATION: 'edge-widget', CODEDEPLOY_DEPLOYMENT_GROUP: 'edge-widget-entry-router', AWS_REGION: 'us-east-1' };
      const result = await withEnv(env, () => loadBundledHandler(functionZip('release'))({ version: '5', buildId: 'fedcba9876543210' }));
      expect(result).toEqual({ action: 'started', deploymentId: 'd-BUNDLED01', reason: 'shifting alias live from version 4 to 5 (build fedcba9876543210)' });
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
      expect(codedeploy.commandCalls(GetDeploymentCommand)).toHaveLength(0);
      expect(log).toHaveBeenCalledWith(expect.stringContaining('"deploymentId":"d-BUNDLED01"'));
    } finally {
      log.mockRestore();
      lambda.restore();
      codedeploy.restore();
    }
  });

  it('rollout-sync, as bundled, writes the state through its own KeyValueStore client and SigV4A signer, which the runtime SDK need not have', async () => {
    const kvs = await startKvsServer({ store: new LocalKeyValueStore({ [ROLLOUT_STATE_KEY]: formatRolloutState(steadyState('0123456789abcdef')) }) });
    const lambda = mockClient(LambdaClient);
    const cloudwatch = mockClient(CloudWatchClient);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '5' });
      lambda.on(GetFunctionConfigurationCommand, { Qualifier: '5' }).resolves({ Description: versionDescription('fedcba9876543210') });
      cloudwatch.on(PutMetricDataCommand).resolves({});
      const env = {
        ENTRY_ROUTER_FUNCTION: 'edge-widget-entry-router',
        LIVE_ALIAS: 'live',
        ROLLOUT_STORE_ARN: kvs.arn,
        ROLLOUT_STORE_ENDPOINT: kvs.endpoint,
        METRICS_NAMESPACE: 'EdgeWidget',
        CODEDEPLOY_APPLICATION: 'edge-widget',
        CODEDEPLOY_DEPLOYMENT_GROUP: 'edge-widget-entry-router',
        CLIENT_ERROR_ALARM: 'edge-widget-client-error-rate',
        AWS_REGION: 'us-east-1',
      };
      const runtimeSdk = runtimeSdkWithout(['@aws-sdk/client-cloudfront-keyvaluestore', '@aws-sdk/signature-v4a']);
      const result = await withEnv(env, () => loadBundledHandler(functionZip('rollout-sync'), { runtimeSdk })({ source: 'aws.events', 'detail-type': 'Scheduled Event' }));
      expect(result).toMatchObject({ action: 'written', weight: 0 });
      expect(parseRolloutState(kvs.store.get(ROLLOUT_STATE_KEY))).toEqual(steadyState('fedcba9876543210'));
      expect(kvs.requests.map((request) => `${request.method} ${request.algorithm}`)).toEqual(['GET AWS4-ECDSA-P256-SHA256', 'GET AWS4-ECDSA-P256-SHA256', 'PUT AWS4-ECDSA-P256-SHA256']);
    } finally {
      log.mockRestore();
      lambda.restore();
      cloudwatch.restore();
      removeEdgeZips();
      await kvs.close();
    }
  });
});

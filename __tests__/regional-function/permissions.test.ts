/**
 * Permissions follow use: each regional function is run through its handler in the situations it
 * meets, every AWS SDK command it sends is recorded at the mock boundary, turned into the IAM
 * actions and ARNs AWS checks for it (__tests__/fixtures/iam.ts), and checked against the policy the
 * stacks synthesize for its role. A call the role does not allow fails here, not in AWS.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudFrontKeyValueStoreClient, DescribeKeyValueStoreCommand, GetKeyCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand, ListDeploymentsCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { resourceNames } from '../../config';
import { formatRolloutState, ROLLOUT_STATE_KEY } from '../../contracts/rollout-state';
import { originSecretHash } from '../../regional-function/metrics-api/core';
import type { Block } from '../../stacks/policy/terraform-json';
import { allows, recordedCommands, requiredPermissions, resolveReferences, storeArnFor, type RequirementContext } from '../fixtures/iam';
import { only, roleStatements, synthesize, testConfig, FIVE_REGIONS } from '../stacks/support';
import { BUILD_A, BUILD_B, lambdaDeployment, versionConfiguration } from './aws-fixtures';

const synthesized = synthesize(testConfig({ ...FIVE_REGIONS }));
const { delivery, config } = synthesized;
const names = resourceNames(config);
const group = only(delivery, 'aws_codedeploy_deployment_group');
const context: RequirementContext = {
  application: names.codeDeployApplication,
  deploymentGroup: names.deploymentGroup,
  groupDeploymentConfig: resolveReferences(delivery, String(group.deployment_config_name)),
};
const buckets = Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)]));
const STORE_ARN = storeArnFor(names.rolloutStore);

const lambda = mockClient(LambdaClient);
const codedeploy = mockClient(CodeDeployClient);
const s3 = mockClient(S3Client);
const cloudwatch = mockClient(CloudWatchClient);
const kvs = mockClient(CloudFrontKeyValueStoreClient);
const dynamodb = mockClient(DynamoDBClient);
const mocks = [lambda, codedeploy, s3, cloudwatch, kvs, dynamodb];

const saved = { ...process.env };
beforeEach(() => {
  for (const mock of mocks) mock.reset();
  for (const stream of [process.stdout, process.stderr]) jest.spyOn(stream, 'write').mockImplementation(() => true);
  lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_A));
  lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_B));
  s3.on(HeadObjectCommand).resolves({});
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
});
afterAll(() => {
  for (const mock of mocks) mock.restore();
});

/** Every permission the recorded commands need that the role does not grant. */
function ungranted(roleName: string): string[] {
  const statements = roleStatements(delivery, roleName) as Block[];
  const commands = recordedCommands(...mocks);
  expect(commands.length).toBeGreaterThan(0);
  return commands
    .flatMap((command) => requiredPermissions(command, context).map((permission) => ({ command: command.name, permission })))
    .filter(({ permission }) => !allows(delivery, statements, permission))
    .map(({ command, permission }) => `${command}: ${permission.action} on ${permission.resource}${permission.context ? ` ${JSON.stringify(permission.context)}` : ''}`);
}

describe('the release function may do what it does', () => {
  beforeEach(() => {
    Object.assign(process.env, {
      ENTRY_ROUTER_FUNCTION: names.entryRouter,
      LIVE_ALIAS: names.liveAlias,
      CODEDEPLOY_APPLICATION: names.codeDeployApplication,
      CODEDEPLOY_DEPLOYMENT_GROUP: names.deploymentGroup,
      BUCKETS: JSON.stringify(buckets),
      AWS_REGION: 'us-east-1',
    });
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-PERMS0001' });
  });
  const { handler } = jest.requireActual<typeof import('../../regional-function/release/index')>('../../regional-function/release/index');

  it('releasing a new build with the group’s deployment config', async () => {
    await handler({ version: '8', buildId: BUILD_B });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
    expect(ungranted(names.release)).toEqual([]);
  });

  it('releasing router code that keeps the build, all at once (CodeDeployDefault.LambdaAllAtOnce)', async () => {
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_A));
    await handler({ version: '8', buildId: BUILD_A });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input.deploymentConfigName).toBe('CodeDeployDefault.LambdaAllAtOnce');
    expect(ungranted(names.release)).toEqual([]);
  });

  it('refusing a build missing from a region (it looked in every bucket)', async () => {
    s3.on(HeadObjectCommand, { Bucket: names.bucket('sa-east-1') }).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    await expect(handler({ version: '8', buildId: BUILD_B })).rejects.toThrow(`manifest is missing from ${names.bucket('sa-east-1')} (sa-east-1)`);
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(config.regions.length);
    expect(ungranted(names.release)).toEqual([]);
  });
});

describe('rollout sync may do what it does', () => {
  const { handler } = jest.requireActual<typeof import('../../regional-function/rollout-sync/index')>('../../regional-function/rollout-sync/index');
  beforeEach(() => {
    Object.assign(process.env, {
      ENTRY_ROUTER_FUNCTION: names.entryRouter,
      LIVE_ALIAS: names.liveAlias,
      ROLLOUT_STORE_ARN: STORE_ARN,
      METRICS_NAMESPACE: config.metrics.namespace,
      CODEDEPLOY_APPLICATION: names.codeDeployApplication,
      CODEDEPLOY_DEPLOYMENT_GROUP: names.deploymentGroup,
      CLIENT_ERROR_ALARM: names.clientErrorAlarm,
      SIGNAL_TABLE: names.signalTable,
      BUCKETS: JSON.stringify(buckets),
      AWS_REGION: 'us-east-1',
    });
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'e1' });
    kvs.on(GetKeyCommand).resolves({ Key: ROLLOUT_STATE_KEY, Value: formatRolloutState({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-PERMS0002', ring: [] }) });
    kvs.on(PutKeyCommand).resolves({ ETag: 'e2' });
    dynamodb.on(PutItemCommand).resolves({});
  });

  it('mirroring a rollout, holding the canary and stopping the deployment when the alarm fires, writing the state and its copy', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.2 } } });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-PERMS0002'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: names.clientErrorAlarm, StateValue: 'ALARM' }] });
    await handler({ source: 'rollout-cli', 'detail-type': 'Sync Request' });
    for (const command of [GetAliasCommand, GetDeploymentCommand, StopDeploymentCommand, DescribeAlarmsCommand, PutKeyCommand, PutItemCommand] as const) {
      expect(recordedCommands(...mocks).map((c) => c.name)).toContain(command.name);
    }
    expect(ungranted(names.rolloutSync)).toEqual([]);
  });
});

describe('the metrics API may do what it does', () => {
  const { handler } = jest.requireActual<typeof import('../../regional-function/metrics-api/index')>('../../regional-function/metrics-api/index');
  it('counting a viewer: the state copy, the ledger', async () => {
    Object.assign(process.env, {
      METRICS_NAMESPACE: config.metrics.namespace,
      ALLOWED_ORIGINS: JSON.stringify(config.metrics.allowedOrigins),
      MAX_BATCH: '20',
      ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash('s')]),
      PERIOD_SECONDS: '60',
      SIGNAL_TABLE: names.signalTable,
      STATE_CACHE_SECONDS: '10',
      AWS_REGION: 'us-east-1',
    });
    dynamodb.on(GetItemCommand).resolves({ Item: { pk: { S: 'rollout-state' }, state: { S: formatRolloutState({ stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] }) }, takenAt: { N: '1' } } });
    dynamodb.on(UpdateItemCommand).resolves({});
    const event = {
      version: '2.0',
      requestContext: { http: { method: 'POST' } },
      headers: { origin: 'http://127.0.0.1:8081', 'content-type': 'text/plain', 'x-origin-verify': 's', 'cloudfront-viewer-address': '198.51.100.7:443' },
      body: JSON.stringify({ v: 1, buildId: BUILD_A, events: [{ name: 'load' }] }),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    expect((await handler(event)).statusCode).toBe(204);
    expect(ungranted(names.metricsApi)).toEqual([]);
  });
});

describe('the check itself', () => {
  it('catches a call the role does not allow, and a call it does not know', () => {
    const statements = roleStatements(delivery, names.metricsApi) as Block[];
    const table = `arn:aws:dynamodb:us-east-1:123456789012:table/${names.signalTable}`;
    expect(allows(delivery, statements, { action: 'dynamodb:UpdateItem', resource: table, context: { 'dynamodb:LeadingKeys': ['viewer#1#b#v'] } })).toBe(true);
    // The same action on the state copy's key is outside the LeadingKeys condition.
    expect(allows(delivery, statements, { action: 'dynamodb:UpdateItem', resource: table, context: { 'dynamodb:LeadingKeys': ['rollout-state'] } })).toBe(false);
    expect(allows(delivery, statements, { action: 'dynamodb:DeleteItem', resource: table, context: { 'dynamodb:LeadingKeys': ['viewer#1'] } })).toBe(false);
    expect(() => requiredPermissions({ name: 'DeleteTableCommand', input: {} }, context)).toThrow('no IAM requirement known for DeleteTableCommand');
  });
});

/**
 * Permissions follow use: each regional function is run through its handler in the situations it
 * meets, every AWS SDK command it sends is recorded at the mock boundary, turned into the IAM
 * requests AWS checks for it (__tests__/fixtures/iam.ts, with AWS's service authorization
 * reference), and evaluated against the policies the stacks synthesize for its role, within the
 * permissions boundary every role carries. A call the role does not allow fails here, not in AWS.
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
import { allows, boundaryStatements, bucketPolicy, callContext, evaluate, iamRequests, mockedCalls, ORIGIN_ACCESS_IDENTITY, resolveIn, roleArn, rolePolicies, storeArnFor, ungranted as ungrantedCalls } from '../fixtures/iam';
import { only, synthesize, testConfig, FIVE_REGIONS } from '../stacks/support';
import { BUILD_A, BUILD_B, lambdaDeployment, versionConfiguration } from './aws-fixtures';

const synthesized = synthesize(testConfig({ ...FIVE_REGIONS }));
const { delivery, config } = synthesized;
const names = resourceNames(config);
const group = only(delivery, 'aws_codedeploy_deployment_group');
const context = callContext(config, resolveIn(delivery.json, String(group.deployment_config_name)));
const buckets = Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)]));
const STORE_ARN = storeArnFor(names.rolloutStore);
const boundary = boundaryStatements(synthesized.all, config);

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

/** Every request the recorded calls make that the role, within its boundary, does not allow. */
function ungranted(roleName: string): string[] {
  const calls = mockedCalls(...mocks);
  expect(calls.length).toBeGreaterThan(0);
  return ungrantedCalls(rolePolicies(delivery, roleName, boundary), roleArn(roleName), calls, context);
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
    for (const operation of ['GetAlias', 'GetDeployment', 'StopDeployment', 'DescribeAlarms', 'PutKey', 'PutItem']) {
      expect(mockedCalls(...mocks).map((c) => c.operation)).toContain(operation);
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

describe('CodeDeploy, as its service role, may shift the alias and watch the alarms, within the boundary', () => {
  const role = `${config.name}-codedeploy`;
  const policies = rolePolicies(delivery, role, boundary);
  const request = (action: string, resource: string) => evaluate(policies, { principal: roleArn(role), action, resource });
  const entryRouter = `arn:aws:lambda:us-east-1:123456789012:function:${names.entryRouter}`;

  it("GetAlias, UpdateAlias and DescribeAlarms on the distribution's own function and alarms", () => {
    expect(request('lambda:GetAlias', `${entryRouter}:live`).allowed).toBe(true);
    expect(request('lambda:UpdateAlias', `${entryRouter}:live`).allowed).toBe(true);
    expect(request('cloudwatch:DescribeAlarms', `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${names.clientErrorAlarm}`).allowed).toBe(true);
  });

  it('no further than the boundary, though AWSCodeDeployRoleForLambda allows any alias and SNS', () => {
    expect(request('lambda:UpdateAlias', 'arn:aws:lambda:us-east-1:123456789012:function:someone-else:live')).toEqual({ allowed: false, why: 'boundary' });
    expect(request('sns:Publish', 'arn:aws:sns:us-east-1:123456789012:alerts')).toEqual({ allowed: false, why: 'boundary' });
  });
});

describe('CloudFront reads the buckets through its origin access identity, and the routers with their roles', () => {
  const read = (bucket: string, key: string, principal: string, secure = true) =>
    evaluate({ identity: [], resource: bucketPolicy(synthesized.all, bucket) }, { principal, action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${key}`, context: { 'aws:SecureTransport': secure } });

  it("the identity reads a build's assets in every replica bucket, over TLS only, and nothing else", () => {
    for (const bucket of Object.values(buckets)) {
      expect(read(bucket, `assets/${BUILD_A}/index.js`, ORIGIN_ACCESS_IDENTITY)).toMatchObject({ allowed: true, by: 'resource' });
      expect(read(bucket, `assets/${BUILD_A}/index.js`, ORIGIN_ACCESS_IDENTITY, false)).toMatchObject({ allowed: false, why: 'explicit-deny' });
      expect(read(bucket, `builds/${BUILD_A}.json`, ORIGIN_ACCESS_IDENTITY)).toMatchObject({ allowed: false, why: 'no-allow' });
      expect(read(bucket, `assets/${BUILD_A}/index.js`, 'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E9OTHERIDENTITY')).toMatchObject({ allowed: false });
    }
  });

  it("the entry router reads another build's entry with its role, within the boundary, and the bucket policy lets it", () => {
    const policies = { ...rolePolicies(delivery, names.entryRouter, boundary), resource: bucketPolicy(synthesized.all, buckets['eu-west-1']) };
    const request = { principal: roleArn(names.entryRouter), action: 's3:GetObject', context: { 'aws:SecureTransport': true } };
    expect(allows(policies, { ...request, resource: `arn:aws:s3:::${buckets['eu-west-1']}/assets/${BUILD_B}/index.js` })).toBe(true);
    expect(allows(policies, { ...request, resource: `arn:aws:s3:::${buckets['eu-west-1']}/builds/${BUILD_B}.json` })).toBe(false);
    expect(allows(policies, { ...request, resource: STORE_ARN, action: 'cloudfront-keyvaluestore:GetKey' })).toBe(true);
    expect(allows(policies, { ...request, resource: STORE_ARN, action: 'cloudfront-keyvaluestore:PutKey' })).toBe(false);
  });
});

describe('the check itself', () => {
  it('catches a call the role does not allow, a call its boundary does not, and a call it does not know', () => {
    const policies = rolePolicies(delivery, names.metricsApi, boundary);
    const table = `arn:aws:dynamodb:us-east-1:123456789012:table/${names.signalTable}`;
    const principal = roleArn(names.metricsApi);
    expect(allows(policies, { principal, action: 'dynamodb:UpdateItem', resource: table, context: { 'dynamodb:LeadingKeys': ['viewer#1#b#v'] } })).toBe(true);
    // The same action on the state copy's key is outside the LeadingKeys condition.
    expect(allows(policies, { principal, action: 'dynamodb:UpdateItem', resource: table, context: { 'dynamodb:LeadingKeys': ['rollout-state'] } })).toBe(false);
    expect(allows(policies, { principal, action: 'dynamodb:DeleteItem', resource: table, context: { 'dynamodb:LeadingKeys': ['viewer#1'] } })).toBe(false);
    // A role policy that grew past the boundary: the boundary still says no.
    const widened = { ...policies, identity: [...policies.identity, { effect: 'Allow' as const, actions: ['dynamodb:DeleteTable'], notActions: [], resources: [table], notResources: [], principals: [], conditions: [] }] };
    expect(evaluate(widened, { principal, action: 'dynamodb:DeleteTable', resource: table })).toEqual({ allowed: false, why: 'boundary' });
    expect(() => iamRequests({ service: 'dynamodb', operation: 'DeleteTables', input: {} }, context)).toThrow(/dynamodb:DeleteTables is authorized as no action in AWS's reference/);
  });

  it('sees that StopDeployment on the group\'s ARN grants nothing: only "*" does', () => {
    const policies = rolePolicies(delivery, names.rolloutSync, boundary);
    const onArn = { ...policies, identity: policies.identity.filter((s) => !s.resources.includes('*')).map((s) => (s.actions.includes('codedeploy:GetDeployment') ? { ...s, actions: [...s.actions, 'codedeploy:StopDeployment'] } : s)) };
    const stop = { principal: roleArn(names.rolloutSync), action: 'codedeploy:StopDeployment', resource: `arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:${names.codeDeployApplication}/${names.deploymentGroup}` };
    expect(evaluate(onArn, stop)).toEqual({ allowed: false, why: 'no-allow' });
    expect(evaluate(policies, stop)).toMatchObject({ allowed: true });
  });
});

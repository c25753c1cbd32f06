/**
 * Permissions follow use: each regional function is run through its handler in the situations it
 * meets, every AWS SDK command it sends is recorded at the mock boundary, turned into the IAM
 * requests AWS checks for it (__tests__/fixtures/iam.ts, with AWS's service authorization
 * reference), and evaluated against the policies the stacks synthesize for its role, within the
 * permissions boundary every role carries. A call the role does not allow fails here, not in AWS.
 */
import { CloudFrontClient, GetRealtimeLogConfigCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetAliasCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { NOTIFICATION_LOG_KEY } from '../../contracts/release-notification';
import type { KinesisStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { resourceNames, rolloutSteps } from '../../config';
import { assignBuild } from '../../contracts/assignment';
import { judgeRule } from '../../contracts/canary-judge';
import { formatRecord, REALTIME_LOG_FIELDS } from '../../contracts/realtime-log';
import { judgmentKey, VERDICT_SYNC_EVENT, type JudgmentRecord } from '../../contracts/release-progress';
import { METRIC_CANARY_FAILING, statePropagationMs } from '../../contracts/release-signal';
import { formatRolloutState, ROLLOUT_STATE_KEY, type RolloutState } from '../../contracts/rollout-state';
import { CONSUMER_CHECKPOINT_KEY } from '../../contracts/release-signal';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import {
  ACCOUNT,
  allows,
  ASSIGNED_IDS,
  type AwsCall,
  boundaryStatements,
  bucketPolicy,
  callContext,
  evaluate,
  iamRequests,
  mockedCalls,
  ORIGIN_ACCESS_IDENTITY,
  resolveIn,
  roleArn,
  rolePolicies,
  storeArnFor,
  ungranted as ungrantedCalls,
} from '../fixtures/iam';
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
const cloudfront = mockClient(CloudFrontClient);
const sns = mockClient(SNSClient);
const mocks = [lambda, codedeploy, s3, cloudwatch, kvs, dynamodb, cloudfront, sns];

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

/**
 * Every request the recorded calls (and any made by a service with the role) make that the role, within its boundary,
 * does not allow.
 */
function ungranted(roleName: string, serviceCalls: readonly AwsCall[] = []): string[] {
  const calls = [...mockedCalls(...mocks), ...serviceCalls];
  expect(calls.length).toBeGreaterThan(0);
  return ungrantedCalls(rolePolicies(delivery, roleName, boundary), roleArn(roleName), calls, context);
}

/** The DynamoDB operations sent, with the item key each names. */
function itemCalls(): string[] {
  return dynamodb.calls().map((call) => {
    const command = call.args[0] as unknown as {
      constructor: { name: string };
      input: { Key?: { pk: { S: string } }; Item?: { pk: { S: string } } };
    };
    return `${command.constructor.name.replace(/Command$/, '')} ${(command.input.Key ?? command.input.Item)?.pk.S}`;
  });
}

describe('the release function may do what it does', () => {
  beforeEach(() => {
    Object.assign(process.env, {
      ENTRY_ROUTER_FUNCTION: names.entryRouter,
      LIVE_ALIAS: names.liveAlias,
      CODEDEPLOY_APPLICATION: names.codeDeployApplication,
      CODEDEPLOY_DEPLOYMENT_GROUP: names.deploymentGroup,
      BUCKETS: JSON.stringify(buckets),
      ROLLOUT_STORE_ARN: STORE_ARN,
      AWS_REGION: 'us-east-1',
    });
    // No build here is revoked: the store has no key for it.
    kvs.on(GetKeyCommand).rejects(Object.assign(new Error('no such key'), { name: 'ResourceNotFoundException' }));
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-PERMS0001' });
  });
  const { handler } = jest.requireActual<typeof import('../../regional-function/release/index')>(
    '../../regional-function/release/index',
  );

  it('releasing a new build with the group’s deployment config', async () => {
    await handler({ version: '8', buildId: BUILD_B });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
    expect(ungranted(names.release)).toEqual([]);
  });

  it('releasing router code that keeps the build, all at once (CodeDeployDefault.LambdaAllAtOnce)', async () => {
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_A));
    await handler({ version: '8', buildId: BUILD_A });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input.deploymentConfigName).toBe(
      'CodeDeployDefault.LambdaAllAtOnce',
    );
    expect(ungranted(names.release)).toEqual([]);
  });

  it('refusing a build missing from a region (it looked in every bucket)', async () => {
    s3.on(HeadObjectCommand, { Bucket: names.bucket('sa-east-1') }).rejects(
      Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    await expect(handler({ version: '8', buildId: BUILD_B })).rejects.toThrow(
      `manifest is missing from ${names.bucket('sa-east-1')} (sa-east-1)`,
    );
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(config.regions.length);
    expect(ungranted(names.release)).toEqual([]);
  });
});

describe('rollout sync may do what it does', () => {
  const { handler } = jest.requireActual<typeof import('../../regional-function/rollout-sync/index')>(
    '../../regional-function/rollout-sync/index',
  );
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
      SIGNAL_UNJUDGED_ALARM: names.signalUnjudgedAlarm,
      STATE_PROPAGATION_MS: String(statePropagationMs(config.edge)),
      ROLLOUT_STEPS: JSON.stringify(rolloutSteps(config.rollout)),
      HOLD_MINUTES: String(config.alarms.holdMinutes),
      NOTIFICATION_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:${names.notificationTopic}`,
      DISTRIBUTION_NAME: config.name,
      DASHBOARD_URL: 'https://dashboard.example',
      AWS_REGION: 'us-east-1',
    });
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'e1' });
    // The state under its key; no build is revoked (no other key exists).
    kvs.on(GetKeyCommand).rejects(Object.assign(new Error('no such key'), { name: 'ResourceNotFoundException' }));
    kvs.on(GetKeyCommand, { Key: ROLLOUT_STATE_KEY }).resolves({
      Key: ROLLOUT_STATE_KEY,
      Value: formatRolloutState({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-PERMS0002', ring: [] }),
    });
    kvs.on(PutKeyCommand).resolves({ ETag: 'e2' });
    dynamodb.on(GetItemCommand).resolves({});
    dynamodb.on(PutItemCommand).resolves({});
  });

  it(
    "mirroring a rollout, reading the judge's record of it, holding the canary and stopping the " +
      "deployment when the verdict's alarm fires, announcing the state to the timeline before writing it",
    async () => {
      lambda
        .on(GetAliasCommand)
        .resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.2 } } });
      codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-PERMS0002'] });
      codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
      codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
      cloudwatch.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          { AlarmName: names.clientErrorAlarm, StateValue: 'ALARM' },
          { AlarmName: names.signalUnjudgedAlarm, StateValue: 'OK' },
        ],
      });
      const summary = await handler({ source: 'rollout-cli', 'detail-type': 'Sync Request' });
      expect(summary).toMatchObject({ held: true, stoppedDeployment: 'd-PERMS0002' });
      for (const operation of [
        'GetAlias',
        'GetDeployment',
        'StopDeployment',
        'DescribeAlarms',
        'PutKey',
        'GetItem',
        'PutItem',
      ]) {
        expect(mockedCalls(...mocks).map((c) => c.operation)).toContain(operation);
      }
      // One DescribeAlarms names both alarms: the verdict, and the signal's blindness.
      expect(cloudwatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames)).toEqual([
        [names.clientErrorAlarm, names.signalUnjudgedAlarm],
      ]);
      // The judgment of the deployment shifting the alias is read; the held state is announced (the
      // timeline read, then written); no other item touched.
      expect([...new Set(itemCalls())].sort()).toEqual([
        `GetItem ${judgmentKey('d-PERMS0002')}`,
        `GetItem ${STATE_TIMELINE_KEY}`,
        `PutItem ${STATE_TIMELINE_KEY}`,
      ]);
      expect(ungranted(names.rolloutSync)).toEqual([]);
    },
  );

  it(
    'publishing a rolled-back release to the topic, encrypted with its ' +
      'key, with the build and weight the timeline and the judgment give',
    async () => {
      lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
      codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
      cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
      sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
      const summary = await handler({
        source: 'aws.codedeploy',
        'detail-type': 'CodeDeploy Deployment State-change Notification',
        detail: {
          application: names.codeDeployApplication,
          deploymentGroup: names.deploymentGroup,
          deploymentId: 'd-PERMS0003',
          state: 'STOP',
        },
      });
      expect(summary.notification).toMatchObject({ failure: null });
      // ... and kept in the log `rollout status` reads (read, then written conditionally).
      expect(itemCalls()).toEqual(
        expect.arrayContaining([`GetItem ${NOTIFICATION_LOG_KEY}`, `PutItem ${NOTIFICATION_LOG_KEY}`]),
      );
      expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
      expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.TopicArn).toBe(
        `arn:aws:sns:us-east-1:${ACCOUNT}:${names.notificationTopic}`,
      );
      // SNS encrypts the message with the topic's key, with the caller's credentials.
      const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${ASSIGNED_IDS.kmsKey}`;
      expect(
        ungranted(names.rolloutSync, [
          { service: 'kms', operation: 'GenerateDataKey', input: { KeyId: key } },
          { service: 'kms', operation: 'Decrypt', input: { KeyId: key } },
        ]),
      ).toEqual([]);
    },
  );

  it(
    'moving viewers on as the judge allows, woken by the ' + "consumer's verdict: the judgment read, never written",
    async () => {
      const started = Date.now() - 10 * 60_000;
      const record: JudgmentRecord = {
        salt: 'd-PERMS0002',
        stable: BUILD_A,
        canary: BUILD_B,
        baseline: { viewers: 0, erroring: 0 },
        closed: {
          canary: { viewers: 400, erroring: 1 },
          stable: { viewers: 4000, erroring: 12 },
          newestCanary: { viewers: 400, erroring: 1 },
        },
        atWeight: { '1000': 400 },
        lastPeriod: started + 3 * 60_000,
        lastPeriodJudged: true,
        // The first step judged healthy two minutes in: the next is due at its time, five minutes in.
        healthyAt: { '1000': started + 2 * 60_000 },
        failedAt: null,
        failure: null,
        last: null,
      };
      lambda
        .on(GetAliasCommand)
        .resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
      codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-PERMS0002'] });
      codedeploy
        .on(GetDeploymentCommand)
        .resolves(lambdaDeployment({ from: '7', to: '8', createTime: new Date(started) }));
      cloudwatch.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          { AlarmName: names.clientErrorAlarm, StateValue: 'OK' },
          { AlarmName: names.signalUnjudgedAlarm, StateValue: 'OK' },
        ],
      });
      dynamodb
        .on(GetItemCommand, { Key: { pk: { S: judgmentKey('d-PERMS0002') } } })
        .resolves({ Item: { pk: { S: judgmentKey('d-PERMS0002') }, record: { S: JSON.stringify(record) } } });
      const summary = await handler(VERDICT_SYNC_EVENT);
      expect(summary).toMatchObject({ trigger: 'verdict', held: false, outcome: 'complete', stoppedDeployment: null });
      // Everyone has the new build, though CodeDeploy still holds the alias at the first step.
      const written = kvs
        .commandCalls(PutKeyCommand)
        .map((call) => JSON.parse(String(call.args[0].input.Value)) as RolloutState);
      expect(written).toEqual([expect.objectContaining({ stable: BUILD_A, canary: BUILD_B, weight: 10000 })]);
      expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
      expect(itemCalls()).toContain(`GetItem ${judgmentKey('d-PERMS0002')}`);
      expect(itemCalls().filter((call) => call.startsWith('PutItem'))).toEqual([`PutItem ${STATE_TIMELINE_KEY}`]);
      expect(ungranted(names.rolloutSync)).toEqual([]);
      // Reading is all rollout sync may do with a judgment: the signal consumer alone writes them.
      const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${names.signalTable}`;
      const policies = rolePolicies(delivery, names.rolloutSync, boundary);
      expect(
        allows(policies, {
          principal: roleArn(names.rolloutSync),
          action: 'dynamodb:PutItem',
          resource: table,
          context: { 'dynamodb:LeadingKeys': [judgmentKey('d-PERMS0002')] },
        }),
      ).toBe(false);
    },
  );
});

describe('the signal consumer may do what it does', () => {
  const { handler } = jest.requireActual<typeof import('../../regional-function/signal-consumer/index')>(
    '../../regional-function/signal-consumer/index',
  );
  const stream = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${names.signalStream}`;
  const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${ASSIGNED_IDS.kmsKey}`;
  const state = formatRolloutState({ stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] });

  /** Not the order the stacks ask for: the provider sends its own, and the consumer reads CloudFront's. */
  const FIELD_ORDER = [...REALTIME_LOG_FIELDS].reverse();
  /** A Kinesis event of real-time log records: entry loads and an error report, a second apart. */
  function event(start: number): KinesisStreamEvent {
    const requests = [
      { clientIp: '198.51.100.7', uri: '/assets/index.js', query: '', status: 200 },
      { clientIp: '198.51.100.8', uri: '/assets/index.js', query: '', status: 304 },
      { clientIp: '2001:db8:1:2::7', uri: '/assets/index.js', query: '', status: 200 },
      { clientIp: '198.51.100.7', uri: '/api/e', query: `b=${BUILD_A}&m=TypeError`, status: 204 },
    ];
    return streamEvent(requests, start, 1000, '4959');
  }

  /**
   * The requests as CloudFront's real-time logs put them on the stream (in FIELD_ORDER), `spacingMs`
   * apart from `start`, each arriving half a second later, sequence numbers `<prefix><start + i>`.
   */
  function streamEvent(
    requests: readonly { clientIp: string; uri: string; query: string; status: number }[],
    start: number,
    spacingMs: number,
    sequencePrefix: string,
  ): KinesisStreamEvent {
    return {
      Records: requests.map((request, i) => ({
        eventSource: 'aws:kinesis',
        eventSourceARN: stream,
        kinesis: {
          data: Buffer.from(
            formatRecord(
              { at: start + i * spacingMs, method: 'GET', referer: 'https://host.example/page', ...request },
              FIELD_ORDER,
            ),
          ).toString('base64'),
          approximateArrivalTimestamp: (start + i * spacingMs + 500) / 1000,
          sequenceNumber: `${sequencePrefix}${start + i}`,
          partitionKey: String(i),
          kinesisSchemaVersion: '1.0',
        },
      })),
    } as unknown as KinesisStreamEvent;
  }

  beforeEach(() => {
    Object.assign(process.env, {
      METRICS_NAMESPACE: config.metrics.namespace,
      SIGNAL_TABLE: names.signalTable,
      PERIOD_SECONDS: String(config.alarms.periodSeconds),
      LATENESS_SECONDS: String(config.metrics.latenessSeconds),
      REALTIME_LOG_CONFIG_ARN: `arn:aws:cloudfront::${ACCOUNT}:realtime-log-config/${names.realtimeLogConfig}`,
      JUDGE_RULE: JSON.stringify(judgeRule(config.alarms)),
      ROLLOUT_SYNC_FUNCTION: names.rolloutSync,
      ROLLOUT_STEPS: JSON.stringify(rolloutSteps(config.rollout)),
      AWS_REGION: 'us-east-1',
    });
    // CloudFront reports the order it writes the fields in; the records below are written in it.
    cloudfront.on(GetRealtimeLogConfigCommand).resolves({
      RealtimeLogConfig: {
        ARN: '',
        Name: names.realtimeLogConfig,
        SamplingRate: 100,
        EndPoints: [],
        Fields: [...FIELD_ORDER],
      },
    });
    dynamodb.on(GetItemCommand).resolves({});
    dynamodb.on(GetItemCommand, { Key: { pk: { S: STATE_TIMELINE_KEY } } }).resolves({
      Item: {
        pk: { S: STATE_TIMELINE_KEY },
        timeline: { S: JSON.stringify([{ text: state, from: 0, until: null }]) },
        version: { N: '1' },
      },
    });
    dynamodb.on(PutItemCommand).resolves({});
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  });

  it(
    'counting a batch of the stream: the timeline read, ' + 'the checkpoint moved, and nothing else of the table',
    async () => {
      const summary = await handler(event(Date.UTC(2026, 11, 6, 12, 0, 10)));
      expect(summary).toMatchObject({ records: 4 });
      expect(itemCalls()).toEqual([`PutItem ${CONSUMER_CHECKPOINT_KEY}`, `GetItem ${STATE_TIMELINE_KEY}`]);
      expect(ungranted(names.signalConsumer)).toEqual([]);
    },
  );

  it(
    'and the next batch, which closes a period: the checkpoint moved ' +
      'on from where this container left it (the test above ran first)',
    async () => {
      const summary = await handler(event(Date.UTC(2026, 11, 6, 12, 1, 40)));
      expect(summary).toMatchObject({
        records: 4,
        resumed: true,
        closed: [{ start: Date.UTC(2026, 11, 6, 12, 0, 0) }],
      });
      const checkpoint = dynamodb.commandCalls(PutItemCommand)[0]!.args[0].input;
      expect(checkpoint).toMatchObject({ ConditionExpression: 'sequenceNumber = :from' });
      expect(itemCalls().filter((call) => call.startsWith('PutItem'))).toEqual([`PutItem ${CONSUMER_CHECKPOINT_KEY}`]);
      // No release runs: no judgment read or written, and rollout sync left alone.
      expect(itemCalls().filter((call) => call.includes('release#'))).toEqual([]);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
      expect(ungranted(names.signalConsumer)).toEqual([]);
    },
  );

  it(
    "and a batch while a release runs (the tests above ran first): the release's record " +
      'read and written, and rollout sync woken when the judge finds the canary failing',
    async () => {
      const releaseFrom = Date.UTC(2026, 11, 6, 12, 2, 0);
      const release: RolloutState = { stable: BUILD_A, canary: BUILD_B, weight: 5000, salt: 'd-PERMS0003', ring: [] };
      // The container read the timeline seconds ago: let its cache run out.
      const before = Date.now();
      jest.spyOn(Date, 'now').mockReturnValue(before + 60_000);
      dynamodb.on(GetItemCommand, { Key: { pk: { S: STATE_TIMELINE_KEY } } }).resolves({
        Item: {
          pk: { S: STATE_TIMELINE_KEY },
          timeline: { S: JSON.stringify([{ text: formatRolloutState(release), from: releaseFrom, until: null }]) },
          version: { N: '2' },
        },
      });
      const on = (build: string) => {
        const found: string[] = [];
        for (let i = 1; found.length < 60; i += 1)
          if (assignBuild(release, `203.0.${i >> 8}.${i & 0xff}`, null, 0) === build)
            found.push(`203.0.${i >> 8}.${i & 0xff}`);
        return found;
      };
      // Every canary viewer reports an error; no stable one does.
      const start = Date.UTC(2026, 11, 6, 12, 3, 0);
      const requests = [
        ...on(BUILD_B).flatMap((clientIp) => [
          { clientIp, uri: '/assets/index.js', query: '', status: 200 },
          { clientIp, uri: '/api/e', query: `b=${BUILD_B}&m=TypeError`, status: 204 },
        ]),
        ...on(BUILD_A).map((clientIp) => ({ clientIp, uri: '/assets/index.js', query: '', status: 200 })),
      ];
      const summary = await handler(streamEvent(requests, start, 100, '5959'));
      expect(summary.verdict).toMatchObject({ salt: 'd-PERMS0003', verdict: 'failing' });
      expect(itemCalls()).toEqual([
        `PutItem ${CONSUMER_CHECKPOINT_KEY}`,
        `GetItem ${STATE_TIMELINE_KEY}`,
        `GetItem ${judgmentKey('d-PERMS0003')}`,
        `PutItem ${judgmentKey('d-PERMS0003')}`,
      ]);
      const written = JSON.parse(
        String(dynamodb.commandCalls(PutItemCommand)[1]!.args[0].input.Item?.record?.S),
      ) as JudgmentRecord;
      expect(written).toMatchObject({
        salt: 'd-PERMS0003',
        stable: BUILD_A,
        canary: BUILD_B,
        failedAt: expect.any(Number),
        failure: expect.any(String),
      });
      expect(written.failedAt).toBeGreaterThanOrEqual(before);
      // Rollout sync, asked to act at once, and not waited for.
      expect(lambda.commandCalls(InvokeCommand).map((call) => call.args[0].input)).toEqual([
        { FunctionName: names.rolloutSync, InvocationType: 'Event', Payload: expect.any(Uint8Array) },
      ]);
      expect(
        JSON.parse(
          new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array),
        ),
      ).toEqual(VERDICT_SYNC_EVENT);
      // The verdict, for the client-error alarm: a high-resolution 1.
      const printed = (process.stdout.write as unknown as jest.Mock).mock.calls
        .map(([line]) => String(line))
        .filter((line) => line.includes(METRIC_CANARY_FAILING));
      expect(printed).toHaveLength(1);
      expect(JSON.parse(printed[0]!)).toMatchObject({
        [METRIC_CANARY_FAILING]: 1,
        _aws: { CloudWatchMetrics: [{ Metrics: [{ Name: METRIC_CANARY_FAILING, StorageResolution: 1 }] }] },
      });
      expect(ungranted(names.signalConsumer)).toEqual([]);
      // Rollout sync is the one function it may invoke, and judgments the one kind of item it keeps besides its
      // checkpoint.
      const policies = rolePolicies(delivery, names.signalConsumer, boundary);
      const principal = roleArn(names.signalConsumer);
      expect(
        allows(policies, {
          principal,
          action: 'lambda:InvokeFunction',
          resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${names.release}`,
        }),
      ).toBe(false);
      const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${names.signalTable}`;
      expect(
        allows(policies, {
          principal,
          action: 'dynamodb:DeleteItem',
          resource: table,
          context: { 'dynamodb:LeadingKeys': [judgmentKey('d-PERMS0003')] },
        }),
      ).toBe(false);
    },
  );

  it(
    "reading the stream as Lambda's event source mapping does, with the function's " +
      "role (Lambda developer guide, 'Using Lambda with Kinesis'), and decrypting it",
    () => {
      const mapping: AwsCall[] = [
        { service: 'kinesis', operation: 'DescribeStream', input: { StreamARN: stream } },
        { service: 'kinesis', operation: 'DescribeStreamSummary', input: { StreamARN: stream } },
        { service: 'kinesis', operation: 'ListShards', input: { StreamARN: stream } },
        { service: 'kinesis', operation: 'ListStreams', input: {} },
        {
          service: 'kinesis',
          operation: 'GetShardIterator',
          input: { StreamARN: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' },
        },
        { service: 'kinesis', operation: 'GetRecords', input: { StreamARN: stream, ShardIterator: 'AAAA' } },
        // Kinesis decrypts the records with the caller's credentials.
        { service: 'kms', operation: 'Decrypt', input: { KeyId: key } },
      ];
      expect(
        ungrantedCalls(
          rolePolicies(delivery, names.signalConsumer, boundary),
          roleArn(names.signalConsumer),
          mapping,
          context,
        ),
      ).toEqual([]);
      // Never a write to the stream, nor another stream.
      const denied: AwsCall[] = [
        { service: 'kinesis', operation: 'PutRecords', input: { StreamARN: stream } },
        {
          service: 'kinesis',
          operation: 'GetRecords',
          input: { StreamARN: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/someone-elses` },
        },
      ];
      expect(
        ungrantedCalls(
          rolePolicies(delivery, names.signalConsumer, boundary),
          roleArn(names.signalConsumer),
          denied,
          context,
        ),
      ).toHaveLength(2);
    },
  );
});

describe(
  "CloudFront, with the real-time log configuration's " + 'role, may write the signal stream, within the boundary',
  () => {
    const role = `${names.realtimeLogConfig}-cloudfront`;
    const stream = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${names.signalStream}`;
    const calls = (...operations: string[]): AwsCall[] =>
      operations.map((operation) => ({ service: 'kinesis', operation, input: { StreamARN: stream } }));

    it(
      'describing it, putting records, and making data keys with its key ' +
        '(CloudFront developer guide, "Real-time log configuration IAM role")',
      () => {
        const written = [
          ...calls('DescribeStreamSummary', 'DescribeStream', 'PutRecord', 'PutRecords'),
          {
            service: 'kms',
            operation: 'GenerateDataKey',
            input: { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${ASSIGNED_IDS.kmsKey}` },
          },
        ];
        expect(ungrantedCalls(rolePolicies(delivery, role, boundary), roleArn(role), written, context)).toEqual([]);
      },
    );

    it('and nothing else: no reading the records back, no other stream', () => {
      const policies = rolePolicies(delivery, role, boundary);
      expect(
        ungrantedCalls(policies, roleArn(role), calls('GetRecords', 'GetShardIterator', 'DeleteStream'), context),
      ).toHaveLength(3);
      expect(
        allows(policies, {
          principal: roleArn(role),
          action: 'kinesis:PutRecords',
          resource: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/someone-elses`,
        }),
      ).toBe(false);
    });
  },
);

describe('CodeDeploy, as its service role, may shift the alias and watch the alarms, within the boundary', () => {
  const role = `${config.name}-codedeploy`;
  const policies = rolePolicies(delivery, role, boundary);
  const request = (action: string, resource: string) =>
    evaluate(policies, { principal: roleArn(role), action, resource });
  const entryRouter = `arn:aws:lambda:us-east-1:123456789012:function:${names.entryRouter}`;

  it("GetAlias, UpdateAlias and DescribeAlarms on the distribution's own function and alarms", () => {
    expect(request('lambda:GetAlias', `${entryRouter}:live`).allowed).toBe(true);
    expect(request('lambda:UpdateAlias', `${entryRouter}:live`).allowed).toBe(true);
    expect(
      request('cloudwatch:DescribeAlarms', `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${names.clientErrorAlarm}`)
        .allowed,
    ).toBe(true);
  });

  it('no further than the boundary, though AWSCodeDeployRoleForLambda allows any alias and SNS', () => {
    expect(request('lambda:UpdateAlias', 'arn:aws:lambda:us-east-1:123456789012:function:someone-else:live')).toEqual({
      allowed: false,
      why: 'boundary',
    });
    expect(request('sns:Publish', 'arn:aws:sns:us-east-1:123456789012:alerts')).toEqual({
      allowed: false,
      why: 'boundary',
    });
  });
});

describe('CloudFront reads the buckets through its origin access identity, and the routers with their roles', () => {
  const read = (bucket: string, key: string, principal: string, secure = true) =>
    evaluate(
      { identity: [], resource: bucketPolicy(synthesized.all, bucket) },
      {
        principal,
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${bucket}/${key}`,
        context: { 'aws:SecureTransport': secure },
      },
    );

  it("the identity reads a build's assets in every replica bucket, over TLS only, and nothing else", () => {
    for (const bucket of Object.values(buckets)) {
      expect(read(bucket, `assets/${BUILD_A}/index.js`, ORIGIN_ACCESS_IDENTITY)).toMatchObject({
        allowed: true,
        by: 'resource',
      });
      expect(read(bucket, `assets/${BUILD_A}/index.js`, ORIGIN_ACCESS_IDENTITY, false)).toMatchObject({
        allowed: false,
        why: 'explicit-deny',
      });
      expect(read(bucket, `builds/${BUILD_A}.json`, ORIGIN_ACCESS_IDENTITY)).toMatchObject({
        allowed: false,
        why: 'no-allow',
      });
      expect(
        read(
          bucket,
          `assets/${BUILD_A}/index.js`,
          'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E9OTHERIDENTITY',
        ),
      ).toMatchObject({ allowed: false });
    }
  });

  it(
    "the entry router reads another build's entry with its " +
      'role, within the boundary, and the bucket policy lets it',
    () => {
      const policies = {
        ...rolePolicies(delivery, names.entryRouter, boundary),
        resource: bucketPolicy(synthesized.all, buckets['eu-west-1']!),
      };
      const request = {
        principal: roleArn(names.entryRouter),
        action: 's3:GetObject',
        context: { 'aws:SecureTransport': true },
      };
      expect(
        allows(policies, { ...request, resource: `arn:aws:s3:::${buckets['eu-west-1']}/assets/${BUILD_B}/index.js` }),
      ).toBe(true);
      expect(
        allows(policies, { ...request, resource: `arn:aws:s3:::${buckets['eu-west-1']}/builds/${BUILD_B}.json` }),
      ).toBe(false);
      expect(allows(policies, { ...request, resource: STORE_ARN, action: 'cloudfront-keyvaluestore:GetKey' })).toBe(
        true,
      );
      expect(allows(policies, { ...request, resource: STORE_ARN, action: 'cloudfront-keyvaluestore:PutKey' })).toBe(
        false,
      );
    },
  );
});

describe('the check itself', () => {
  it('catches a call the role does not allow, a call its boundary does not, and a call it does not know', () => {
    const policies = rolePolicies(delivery, names.signalConsumer, boundary);
    const table = `arn:aws:dynamodb:us-east-1:123456789012:table/${names.signalTable}`;
    const principal = roleArn(names.signalConsumer);
    expect(
      allows(policies, {
        principal,
        action: 'dynamodb:PutItem',
        resource: table,
        context: { 'dynamodb:LeadingKeys': [CONSUMER_CHECKPOINT_KEY] },
      }),
    ).toBe(true);
    // The same action on the timeline's key is outside the LeadingKeys condition: only rollout sync announces states.
    expect(
      allows(policies, {
        principal,
        action: 'dynamodb:PutItem',
        resource: table,
        context: { 'dynamodb:LeadingKeys': [STATE_TIMELINE_KEY] },
      }),
    ).toBe(false);
    expect(
      allows(policies, {
        principal,
        action: 'dynamodb:DeleteItem',
        resource: table,
        context: { 'dynamodb:LeadingKeys': [CONSUMER_CHECKPOINT_KEY] },
      }),
    ).toBe(false);
    // A role policy that grew past the boundary: the boundary still says no.
    const widened = {
      ...policies,
      identity: [
        ...policies.identity,
        {
          effect: 'Allow' as const,
          actions: ['dynamodb:DeleteTable'],
          notActions: [],
          resources: [table],
          notResources: [],
          principals: [],
          conditions: [],
        },
      ],
    };
    expect(evaluate(widened, { principal, action: 'dynamodb:DeleteTable', resource: table })).toEqual({
      allowed: false,
      why: 'boundary',
    });
    expect(() => iamRequests({ service: 'dynamodb', operation: 'DeleteTables', input: {} }, context)).toThrow(
      /dynamodb:DeleteTables is authorized as no action in AWS's reference/,
    );
  });

  it('sees that StopDeployment on the group\'s ARN grants nothing: only "*" does', () => {
    const policies = rolePolicies(delivery, names.rolloutSync, boundary);
    const onArn = {
      ...policies,
      identity: policies.identity
        .filter((s) => !s.resources.includes('*'))
        .map((s) =>
          s.actions.includes('codedeploy:GetDeployment')
            ? { ...s, actions: [...s.actions, 'codedeploy:StopDeployment'] }
            : s,
        ),
    };
    const stop = {
      principal: roleArn(names.rolloutSync),
      action: 'codedeploy:StopDeployment',
      resource:
        `arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:` +
        `${names.codeDeployApplication}/${names.deploymentGroup}`,
    };
    expect(evaluate(onArn, stop)).toEqual({ allowed: false, why: 'no-allow' });
    expect(evaluate(policies, stop)).toMatchObject({ allowed: true });
  });
});

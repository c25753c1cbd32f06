import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import {
  CloudFrontClient,
  CreateInvalidationCommand,
  DescribeKeyValueStoreCommand as DescribeStoreByName,
  ListDistributionsByRealtimeLogConfigCommand,
} from '@aws-sdk/client-cloudfront';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { formatRevocation, parseRevocation, revocationKey } from '../../contracts/revocation';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import * as path from 'node:path';
import { ConfigError, loadConfig, resourceNames } from '../../config';
import {
  formatRolloutState,
  parseRolloutState,
  ROLLOUT_STATE_KEY,
  sharedBudget,
  steadyState,
  type RolloutState,
} from '../../contracts/rollout-state';
import { lambdaAppSpec } from '../../rollout-control/deployments';
import { readTimeline } from '../../rollout-control/signal-table';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import { fakeTable, type FakeTable } from '../fixtures/dynamodb-table';
import { versionDescription } from '../../contracts/version-description';
import { runRolloutCli } from '../../scripts/rollout-commands';
import { rolloutClients } from '../../scripts/rollout';
import { rolloutOutcome, type DeploymentStatus } from '../../scripts/lib/rollout-wait';
import { LocalKeyValueStore, StoreConflict } from '../../loopback/kvs-server';
import {
  BUILD_A,
  BUILD_B,
  BUILD_C,
  lambdaDeployment,
  NAMES,
  versionConfiguration,
} from '../regional-function/aws-fixtures';

const CONFIG_FILE = path.resolve(__dirname, '..', '..', 'deploy.config.json');
const STORE_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-4000-8000-000000000000';

const lambda = mockClient(LambdaClient);
const codedeploy = mockClient(CodeDeployClient);
const cloudfront = mockClient(CloudFrontClient);
const kvs = mockClient(CloudFrontKeyValueStoreClient);
const cloudwatch = mockClient(CloudWatchClient);
const sts = mockClient(STSClient);
const s3 = mockClient(S3Client);
const dynamodb = mockClient(DynamoDBClient);
const mocks = [lambda, codedeploy, cloudfront, kvs, cloudwatch, sts, s3, dynamodb];
/** The release-signal table: ring edits announce the new state to its timeline before writing it. */
let table: FakeTable;
/** The rollout store behind the mocked KeyValueStore API, with its ETag semantics. */
let store: LocalKeyValueStore;
const putState = (state: RolloutState) => store.put(ROLLOUT_STATE_KEY, formatRolloutState(state));
const storedState = () => parseRolloutState(store.get(ROLLOUT_STATE_KEY));

interface Run {
  code: number;
  out: string;
  err: string;
  sleeps: number[];
  json: () => unknown;
}

async function rollout(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  const code = await runRolloutCli(argv, {
    loadConfig: (file) => loadConfig(file ?? CONFIG_FILE),
    // The clients as scripts/rollout.ts makes them; aws-sdk-client-mock answers every instance.
    createClients: () => rolloutClients(),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    // Thirty seconds into the fixtures' running deployment (the judge allows its first step), and on as the command
    // sleeps.
    now: () => Date.parse('2026-11-26T10:00:30Z') + sleeps.reduce((sum, ms) => sum + ms, 0),
  });
  return { code, out: out.join('\n'), err: err.join('\n'), sleeps, json: () => JSON.parse(out.join('\n')) };
}

function notFound(name: string, message = 'not found'): Error {
  return Object.assign(new Error(message), { name });
}

/** A release in flight: alias 7 (build A) with 30 % on 8 (build B), deployment d-RUNNING01. */
function midRollout(): void {
  lambda.on(GetAliasCommand).resolves({
    Name: 'live',
    FunctionVersion: '7',
    RoutingConfig: { AdditionalVersionWeights: { '8': 0.3 } },
    RevisionId: 'rev-1',
  });
  codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-RUNNING01'] });
  codedeploy
    .on(GetDeploymentCommand)
    .resolves(lambdaDeployment({ from: '7', to: '8', createTime: new Date('2026-11-26T10:00:00Z') }));
  putState({ stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-RUNNING01', ring: [] });
}

/** Nothing in flight: alias on 8 (build B); the last deployment d-DONE00001 succeeded. */
function settled(): void {
  lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '8', RevisionId: 'rev-2' });
  codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
  codedeploy.on(GetDeploymentGroupCommand).resolves({
    deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-DONE00001', status: 'Succeeded' } },
  });
  codedeploy
    .on(GetDeploymentCommand, { deploymentId: 'd-DONE00001' })
    .resolves(
      lambdaDeployment({ from: '7', to: '8', status: 'Succeeded', completeTime: new Date('2026-11-26T10:10:00Z') }),
    );
  putState(steadyState(BUILD_B));
}

beforeEach(() => {
  for (const mock of mocks) mock.reset();
  table = fakeTable(dynamodb);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ops' });
  // Every build's manifest is in every bucket unless a test says otherwise.
  s3.on(HeadObjectCommand).resolves({});
  lambda.on(GetFunctionConfigurationCommand, { Qualifier: '6' }).resolves(versionConfiguration(BUILD_C));
  lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_A));
  lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_B));
  lambda.on(ListVersionsByFunctionCommand).resolves({
    Versions: [
      { Version: '$LATEST', Description: '' },
      { Version: '6', Description: versionDescription(BUILD_C) },
      { Version: '7', Description: versionDescription(BUILD_A) },
      { Version: '8', Description: versionDescription(BUILD_B) },
    ],
  });
  store = new LocalKeyValueStore();
  cloudfront.on(DescribeStoreByName, { Name: 'edge-widget-rollout' }).resolves({
    KeyValueStore: {
      Name: 'edge-widget-rollout',
      Id: 'x',
      ARN: STORE_ARN,
      Comment: '',
      LastModifiedTime: new Date(),
    },
    ETag: 'E1',
  });
  kvs
    .on(DescribeKeyValueStoreCommand, { KvsARN: STORE_ARN })
    .callsFake(() => ({ ETag: store.etag, KvsARN: STORE_ARN }));
  kvs.on(GetKeyCommand, { KvsARN: STORE_ARN }).callsFake((input: { Key: string }) => {
    const value = store.get(input.Key);
    if (value === undefined) throw notFound('ResourceNotFoundException');
    return { Key: input.Key, Value: value };
  });
  kvs.on(ListKeysCommand, { KvsARN: STORE_ARN }).callsFake(() => ({
    Items: store.keys().map((key) => ({ Key: key, Value: store.get(key) })),
  }));
  kvs.on(PutKeyCommand, { KvsARN: STORE_ARN }).callsFake((input: { Key: string; Value: string; IfMatch: string }) => {
    try {
      return { ETag: store.put(input.Key, input.Value, input.IfMatch) };
    } catch (error) {
      if (error instanceof StoreConflict) throw notFound('ConflictException', error.message);
      throw error;
    }
  });
  // The last day's traffic the signal counted: a million loads a day, 1 % of stable viewers erring.
  cloudwatch
    .on(GetMetricStatisticsCommand)
    .callsFake((input: { MetricName: string; Dimensions: { Value: string }[]; StartTime: Date }) => {
      const perHour = input.Dimensions[0]!.Value !== 'stable' ? 0 : input.MetricName === 'Viewers' ? 41_000 : 410;
      return {
        Datapoints: Array.from({ length: 24 }, (_, hour) => ({
          Timestamp: new Date(input.StartTime.getTime() + hour * 3_600_000),
          Sum: perHour,
        })),
      };
    });
  cloudwatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [
      {
        AlarmName: 'edge-widget-client-error-rate',
        StateValue: 'OK',
        StateReason: 'Threshold Crossed: no datapoints were above 5',
        StateUpdatedTimestamp: new Date('2026-11-26T09:00:00Z'),
      },
      {
        AlarmName: 'edge-widget-signal-unjudged',
        StateValue: 'OK',
        StateReason: 'Threshold Crossed: no datapoints were above 0',
        StateUpdatedTimestamp: new Date('2026-11-26T09:30:00Z'),
      },
      {
        AlarmName: 'edge-widget-edge-function-errors',
        StateValue: 'INSUFFICIENT_DATA',
        StateReason: 'Unchecked: Initial alarm creation',
        StateUpdatedTimestamp: new Date('2026-11-26T08:00:00Z'),
      },
    ],
  });
});
afterAll(() => {
  for (const mock of mocks) mock.restore();
});

describe('usage', () => {
  it.each([
    [['deploy'], "error: unknown command 'deploy'"],
    [['status', 'start'], "error: too many arguments for 'status'"],
    [['status', '--version', '3'], "error: unknown option '--version'"],
    [
      ['start', '--version', 'latest'],
      `error: option '--version <n>' argument 'latest' is invalid. expected a whole number of at least 1, got ` +
        `"latest".`,
    ],
    [
      ['rollback', '--version', '0'],
      `error: option '--version <n>' argument '0' is invalid. expected a whole number of at least 1, got "0".`,
    ],
    [['status', '--verbose'], "error: unknown option '--verbose'"],
  ])('exits 2 for %j, saying why and where the usage is', async (argv, message) => {
    const run = await rollout(...argv);
    expect(run.code).toBe(2);
    expect(run.err).toContain(message);
    expect(run.err).toContain('(run with --help for usage and examples)');
    expect(sts.calls()).toHaveLength(0);
  });

  it('shows the usage on stderr, with exit 2, when no command is given', async () => {
    const run = await rollout();
    expect(run.code).toBe(2);
    expect(run.err).toContain('Usage: npm run rollout -- [options] [command]');
    expect(sts.calls()).toHaveLength(0);
  });

  it('prints the usage, every command and examples for --help, and exits 0', async () => {
    const run = await rollout('--help');
    expect(run.code).toBe(0);
    for (const command of ['status', 'start', 'stop', 'rollback', 'promote', 'ring', 'preview', 'revoke', 'wait'])
      expect(run.out).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(run.out).toContain('Examples:\n  $ npm run rollout -- status');
  });

  it.each([
    ['status'],
    ['start'],
    ['stop'],
    ['rollback'],
    ['promote'],
    ['ring'],
    ['ring', 'list'],
    ['ring', 'add'],
    ['ring', 'remove'],
    ['preview'],
    ['preview', 'list'],
    ['preview', 'add'],
    ['preview', 'remove'],
    ['wait'],
  ])('has --help with examples for %s', async (...command) => {
    const run = await rollout(...command, '--help');
    expect(run.code).toBe(0);
    expect(run.out).toContain(`Usage: npm run rollout -- ${command.join(' ')}`);
    expect(run.out).toMatch(/Examples:\n {2}\$ npm run rollout -- /);
    expect(sts.calls()).toHaveLength(0);
  });
});

describe('before any command', () => {
  it('reports a bad config file as the build does, with exit 1', async () => {
    const run = await rollout('status', '--config', '/nonexistent/deploy.config.json');
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/deploy\.config\.json is not valid \(1 problem\):\n {2}- cannot be read \(ENOENT\)/);
    expect(sts.calls()).toHaveLength(0);
    expect(new ConfigError('x', ['y']).name).toBe('ConfigError');
  });

  it('checks the credentials first and says how to configure them', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(notFound('CredentialsProviderError', 'Could not load credentials from any providers'));
    const run = await rollout('status');
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'rollout status: no AWS credentials found (Could not load credentials from any providers). Configure ' +
        'credentials for the account the stacks were deployed to: `aws configure` (access keys), or ' +
        '`aws sso login --profile <name>` then `export AWS_PROFILE=<name>`, or set AWS_ACCESS_KEY_ID and ' +
        'AWS_SECRET_ACCESS_KEY.',
    );
    expect(lambda.calls()).toHaveLength(0);
  });

  it('tells expired credentials apart', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(notFound('ExpiredTokenException', 'The security token included in the request is expired'));
    expect((await rollout('stop')).err).toMatch(/^rollout stop: the AWS credentials have expired .* Refresh them/);
  });

  it('prints a JSON error on stdout with --json, so scripts can parse every outcome', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(notFound('InvalidClientTokenId', 'The security token included in the request is invalid.'));
    const run = await rollout('status', '--json');
    expect(run.code).toBe(1);
    expect(run.json()).toEqual({
      error: expect.stringMatching(/^AWS rejected the credentials \(InvalidClientTokenId/),
    });
  });
});

describe('status', () => {
  it('shows weights, the rollout state, the running deployment and the alarms', async () => {
    midRollout();
    const run = await rollout('status');
    expect(run.code).toBe(0);
    expect(run.out.split('\n')).toEqual([
      'Entry router edge-widget-entry-router, alias live (account 123456789012)',
      `  stable  version 7  build ${BUILD_A}  70%`,
      `  canary  version 8  build ${BUILD_B}  30%`,
      '',
      'Rollout state (CloudFront key value store edge-widget-rollout)',
      `  ${formatRolloutState({ stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-RUNNING01', ring: [] })}`,
      '  matches the alias',
      '',
      'Deployment',
      '  id        d-RUNNING01  InProgress (running)',
      '  versions  7 → 8',
      '  config    CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
      '  started   2026-11-26T10:00:00.000Z',
      '  progress  30% of viewers on version 8',
      '',
      'Judge (deployment d-RUNNING01)',
      '  outcome  running',
      '  weight   10% allowed by the evidence so far',
      '  verdict  no look yet: the signal consumer has counted no viewer of this release',
      '',
      'Alarms',
      '  edge-widget-client-error-rate     OK                 Threshold Crossed: no datapoints were above 5',
      '  edge-widget-signal-unjudged       OK                 Threshold Crossed: no datapoints were above 0',
      '  edge-widget-edge-function-errors  INSUFFICIENT_DATA  Unchecked: Initial alarm creation',
      '',
      'Dashboard  ' +
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/edge-widget-releases',
    ]);
    // The store is found by the name every deploy gives it, then read through its own API.
    expect(kvs.commandCalls(GetKeyCommand)[0]!.args[0].input).toEqual({ KvsARN: STORE_ARN, Key: 'rollout' });
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toEqual({
      AlarmNames: ['edge-widget-client-error-rate', 'edge-widget-signal-unjudged', 'edge-widget-edge-function-errors'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  it('prints the whole model with --json', async () => {
    midRollout();
    const run = await rollout('status', '--json');
    expect(run.code).toBe(0);
    expect(run.json()).toEqual({
      account: '123456789012',
      alias: {
        functionName: 'edge-widget-entry-router',
        name: 'live',
        stable: { version: '7', buildId: BUILD_A },
        canary: { version: '8', buildId: BUILD_B, weight: 3000 },
      },
      state: {
        store: 'edge-widget-rollout',
        arn: STORE_ARN,
        text: formatRolloutState({ stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-RUNNING01', ring: [] }),
        parsed: { stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-RUNNING01', ring: [] },
        matchesAlias: true,
      },
      deployment: {
        id: 'd-RUNNING01',
        status: 'InProgress',
        active: true,
        config: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
        creator: 'user',
        description: null,
        started: '2026-11-26T10:00:00.000Z',
        completed: null,
        fromVersion: '7',
        toVersion: '8',
        progress: 3000,
        error: null,
        rollbackOf: null,
        rolledBackBy: null,
      },
      alarms: [
        {
          name: 'edge-widget-client-error-rate',
          state: 'OK',
          reason: 'Threshold Crossed: no datapoints were above 5',
          updated: '2026-11-26T09:00:00.000Z',
        },
        {
          name: 'edge-widget-signal-unjudged',
          state: 'OK',
          reason: 'Threshold Crossed: no datapoints were above 0',
          updated: '2026-11-26T09:30:00.000Z',
        },
        {
          name: 'edge-widget-edge-function-errors',
          state: 'INSUFFICIENT_DATA',
          reason: 'Unchecked: Initial alarm creation',
          updated: '2026-11-26T08:00:00.000Z',
        },
      ],
      judgment: {
        deploymentId: 'd-RUNNING01',
        outcome: 'running',
        weight: 1000,
        heldSince: null,
        holdEndsAt: null,
        reason: 'no look yet: the signal consumer has counted no viewer of this release',
        canary: null,
        stable: null,
        lookedAt: null,
        healthyAt: {},
      },
      dashboard:
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/edge-widget-releases',
      problems: [],
      revocations: [],
      previews: [],
      notifications: [],
    });
    // `rollout wait`, the deploy workflow's last step, judges this same model.
    expect(rolloutOutcome(run.json() as DeploymentStatus, 'd-BEFORE001')).toEqual({
      state: 'waiting',
      started: true,
      detail: 'd-RUNNING01 InProgress',
    });
  });

  it('shows the last deployment when none runs, and a state that lags the alias', async () => {
    settled();
    putState({ stable: BUILD_A, canary: BUILD_B, weight: 9000, salt: 'd-DONE00001', ring: [] });
    const run = await rollout('status', '--json');
    const status = run.json() as {
      deployment: { id: string; status: string; progress: number | null; completed: string };
      state: { matchesAlias: boolean };
      alias: { canary: null };
    };
    expect(status.deployment).toMatchObject({
      id: 'd-DONE00001',
      status: 'Succeeded',
      active: false,
      progress: null,
      completed: '2026-11-26T10:10:00.000Z',
    });
    expect(status.alias.canary).toBeNull();
    expect(status.state.matchesAlias).toBe(false);
    expect((await rollout('status')).out).toContain('differs from the alias: rollout sync has not caught up');
  });

  it('lists the previews in force beside the ring, in text and JSON, and not those that ended', async () => {
    settled();
    const nowS = Date.parse('2026-11-26T10:00:30Z') / 1000;
    putState({
      ...steadyState(BUILD_B),
      ring: ['https://demo.example.com'],
      previews: [
        { build: BUILD_A, viewer: '203.0.113.0/24', until: nowS + 3600 },
        { build: BUILD_C, viewer: '198.51.100.7/32', until: nowS - 60 },
        { build: BUILD_C, viewer: '2001:db8:7::/48', until: nowS + 86_400 + 90 },
      ],
    });
    const run = await rollout('status');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      '  matches the alias\n' +
        '  ring: https://demo.example.com (canary whatever the weight)\n' +
        `  preview: 203.0.113.0/24 gets build ${BUILD_A} until 2026-11-26T11:00:30.000Z (1h left; counted apart, ` +
        'never judged)\n' +
        `  preview: 2001:db8:7::/48 gets build ${BUILD_C} until 2026-11-27T10:02:00.000Z (1d left; counted apart, ` +
        'never judged)\n\nDeployment',
    );
    expect(run.out).not.toMatch(/preview: 198\.51\.100\.7/);
    expect(((await rollout('status', '--json')).json() as { previews: unknown }).previews).toEqual([
      { build: BUILD_A, viewer: '203.0.113.0/24', until: '2026-11-26T11:00:30.000Z', secondsLeft: 3600 },
      { build: BUILD_C, viewer: '2001:db8:7::/48', until: '2026-11-27T10:02:00.000Z', secondsLeft: 86_490 },
    ]);
  });

  it('still shows what it can read, lists the rest as problems, and exits 1', async () => {
    settled();
    store.delete(ROLLOUT_STATE_KEY);
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    const run = await rollout('status');
    expect(run.code).toBe(1);
    expect(run.out).toContain(`  stable  version 8  build ${BUILD_B}  100%`);
    expect(run.out).toContain(
      'Problems\n  - the rollout state is missing from edge-widget-rollout: the edges fall back to the entry ' +
        'router; deploy the stacks to recreate the key, and rollout sync fills it within a minute',
    );
    expect(run.out).toContain('  - alarm edge-widget-client-error-rate does not exist: deploy the stacks first');
    expect(run.out).toContain('  edge-widget-client-error-rate     MISSING');
  });

  it('fails with "deploy the stacks first" when the alias does not exist', async () => {
    lambda
      .on(GetAliasCommand)
      .rejects(
        notFound(
          'ResourceNotFoundException',
          'Function not found: arn:aws:lambda:us-east-1:123456789012:function:edge-widget-entry-router:live',
        ),
      );
    const run = await rollout('status');
    expect(run).toMatchObject({ code: 1, out: '' });
    expect(run.err).toBe(
      'rollout status: alias live of function edge-widget-entry-router not found: deploy the stacks first ' +
        '(cdktf deploy creates the function and its alias)',
    );
  });
});

describe('start', () => {
  it('refuses a version whose build is missing from a region, before CodeDeploy hears of it', async () => {
    settled();
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RevisionId: 'rev-3' });
    s3.on(HeadObjectCommand, { Bucket: 'edge-widget-eu-west-1-9afbe6ff' }).rejects(
      Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } }),
    );
    const run = await rollout('start', '--version', '8');
    expect(run.code).toBe(1);
    expect(run.err).toContain('edge-widget-eu-west-1-9afbe6ff (eu-west-1)');
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('deploys the newest published version through the release code path', async () => {
    settled();
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    lambda
      .on(ListVersionsByFunctionCommand)
      .resolvesOnce({
        Versions: [{ Version: '$LATEST' }, { Version: '7', Description: versionDescription(BUILD_A) }],
        NextMarker: 'page2',
      })
      .resolves({
        Versions: [{ Version: '8', Description: versionDescription(BUILD_B) }],
      });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-STARTED01' });
    const run = await rollout('start');
    expect(run.code).toBe(0);
    const lines = run.out.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `Started deployment d-STARTED01: version 7 → 8 (build ${BUILD_B}).`,
      `  shifting alias live from version 7 to 8 (build ${BUILD_B})`,
      'Follow it with `npm run rollout -- status`; stop it with `npm run rollout -- stop`.',
    ]);
    // The deploy config's one-minute steps cannot be judged in a minute, however busy the widget: said once, not
    // refused.
    expect(lines.slice(3)).toEqual([
      expect.stringMatching(
        new RegExp(
          "^Warning: at the last day's quietest hour \\(41,000 viewers, stable ones erring at 1 %\\), the first " +
            'step \\(10%\\) gets 68\\.3 canary viewers a minute and needs about \\d+, .* against its 1, so the ' +
            'steps hold until judged',
        ),
      ),
      expect.stringMatching(
        new RegExp(
          "^Warning: at the last day's quietest hour \\(41,000 viewers, stable ones erring at 1 %\\), the " +
            'slowest later step \\(\\d+%\\) .* against its 1, so the steps hold until judged',
        ),
      ),
    ]);
    // The last day's traffic, hour by hour, as the signal consumer counted it.
    expect(
      cloudwatch
        .commandCalls(GetMetricStatisticsCommand)
        .map(
          (call) =>
            `${call.args[0].input.MetricName} ${call.args[0].input.Dimensions?.[0]?.Value} ` +
            `${call.args[0].input.Period}`,
        )
        .sort(),
    ).toEqual(['ErroringViewers stable 3600', 'Viewers canary 3600', 'Viewers ring 3600', 'Viewers stable 3600']);
    expect(lambda.commandCalls(ListVersionsByFunctionCommand).map((call) => call.args[0].input.Marker)).toEqual([
      undefined,
      'page2',
    ]);
    expect(codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input).toEqual({
      applicationName: 'edge-widget',
      deploymentGroupName: 'edge-widget-entry-router',
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: lambdaAppSpec({
          functionName: NAMES.functionName,
          alias: 'live',
          currentVersion: '7',
          targetVersion: '8',
        }),
      },
      description: `release build ${BUILD_B}: version 7 → 8`,
    });
  });

  it('prints the release result with --json', async () => {
    settled();
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '6' });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-STARTED02' });
    const run = await rollout('start', '--version', '7', '--json');
    expect(run.json()).toEqual({
      action: 'started',
      deploymentId: 'd-STARTED02',
      reason: `shifting alias live from version 6 to 7 (build ${BUILD_A})`,
      fromVersion: '6',
      toVersion: '7',
      buildId: BUILD_A,
      warnings: [expect.any(String), expect.any(String)],
    });
  });

  it('warns, and still starts, when the last day cannot be read or counted nobody', async () => {
    settled();
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '6' });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-STARTED03' });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });
    const silent = await rollout('start', '--version', '7', '--json');
    expect(silent.json()).toMatchObject({
      action: 'started',
      warnings: [expect.stringMatching(/^The release signal counted no entry viewer in the last day/)],
    });
    cloudwatch.on(GetMetricStatisticsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudwatch:GetMetricStatistics'), {
        name: 'AccessDenied',
      }),
    );
    const denied = await rollout('start', '--version', '7');
    expect(denied.code).toBe(0);
    expect(denied.out).toContain(
      "Warning: could not read the last day's traffic to check the steps can be judged in time: User is not " +
        'authorized to perform: cloudwatch:GetMetricStatistics',
    );
  });

  it('does nothing, successfully, when the newest version is already live', async () => {
    settled();
    const run = await rollout('start');
    expect(run).toMatchObject({
      code: 0,
      out:
        'Nothing to start: alias live already points at version 8 (first deploy, or this version is already ' +
        'released).',
    });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('refuses while another deployment runs, naming it', async () => {
    midRollout();
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '6', to: '7' }));
    const run = await rollout('start');
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^rollout start: deployment d-RUNNING01 \(version 6 → 7, InProgress\) is in progress/);
  });

  it('says so when the version does not exist or the function has none', async () => {
    expect((await rollout('start', '--version', '42')).err).toBe(
      'rollout start: edge-widget-entry-router has no version 42 (published: 6, 7, 8)',
    );
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ Version: '$LATEST' }] });
    expect((await rollout('start')).err).toBe(
      'rollout start: edge-widget-entry-router has no published version: deploy the stacks first',
    );
    lambda.on(ListVersionsByFunctionCommand).rejects(notFound('ResourceNotFoundException'));
    expect((await rollout('start')).err).toBe(
      'rollout start: function edge-widget-entry-router not found: deploy the stacks first',
    );
  });
});

describe('stop', () => {
  it('stops the running deployment with rollback', async () => {
    midRollout();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending', statusMessage: 'Stop request is pending' });
    const run = await rollout('stop');
    expect(run.code).toBe(0);
    expect(codedeploy.commandCalls(StopDeploymentCommand)[0]!.args[0].input).toEqual({
      deploymentId: 'd-RUNNING01',
      autoRollbackEnabled: true,
    });
    expect(run.out).toMatch(
      new RegExp(
        '^Stopping deployment d-RUNNING01 \\(version 7 → 8\\) with rollback: Stop request is ' +
          'pending\\.\\nCodeDeploy moves alias live back to version 7',
      ),
    );
    const json = (await rollout('stop', '--json')).json();
    expect(json).toEqual({
      action: 'stopped',
      deploymentId: 'd-RUNNING01',
      rollback: true,
      fromVersion: '7',
      toVersion: '8',
      status: 'Pending',
      message: 'Stop request is pending',
    });
  });

  it('fails when nothing runs, naming the last deployment and pointing at rollback', async () => {
    settled();
    const run = await rollout('stop');
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'rollout stop: no deployment is in progress (the last one, d-DONE00001, Succeeded); nothing to stop. To ' +
        'go back to the previous build, run `npm run rollout -- rollback`.',
    );
    expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  it('says "deploy the stacks first" when the deployment group is missing', async () => {
    codedeploy.on(ListDeploymentsCommand).rejects(notFound('DeploymentGroupDoesNotExistException'));
    expect((await rollout('stop')).err).toBe(
      'rollout stop: CodeDeploy deployment group edge-widget-entry-router (application edge-widget) does not ' +
        'exist: deploy the stacks first',
    );
  });
});

describe('rollback', () => {
  it('stops a running deployment with rollback', async () => {
    midRollout();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    const run = await rollout('rollback', '--json');
    expect(run.json()).toMatchObject({ action: 'stopped', deploymentId: 'd-RUNNING01', rollback: true });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('otherwise deploys the previous build all at once, with the alarms off for that deployment', async () => {
    settled();
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-ROLLBACK1' });
    const run = await rollout('rollback');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `Started deployment d-ROLLBACK1: version 8 → 7 (build ${BUILD_A}) with CodeDeployDefault.LambdaAllAtOnce.`,
    );
    expect(codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input).toEqual({
      applicationName: 'edge-widget',
      deploymentGroupName: 'edge-widget-entry-router',
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: lambdaAppSpec({
          functionName: NAMES.functionName,
          alias: 'live',
          currentVersion: '8',
          targetVersion: '7',
        }),
      },
      description: `rollback to build ${BUILD_A}: version 8 → 7 (rollout CLI)`,
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      overrideAlarmConfiguration: { enabled: false, alarms: [] },
    });
  });

  it(
    'refuses to roll back, alarms off, to a build cleanup ' + 'removed from a region: its viewers would get 403',
    async () => {
      settled();
      const gone = 'edge-widget-ap-southeast-2-9afbe6ff';
      s3.on(HeadObjectCommand, { Bucket: gone }).rejects(
        Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
      const run = await rollout('rollback');
      expect(run.code).toBe(1);
      expect(run.err).toContain(
        `build ${BUILD_A} is not in every bucket: its manifest is missing from ${gone} (ap-southeast-2)`,
      );
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
      // It asked each configured bucket for the manifest, in its own region.
      expect(s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).toEqual(
        Array(3).fill(`builds/${BUILD_A}.json`),
      );
    },
  );

  it('skips versions of the same build, and takes --version', async () => {
    settled();
    lambda.on(ListVersionsByFunctionCommand).resolves({
      Versions: [
        { Version: '6', Description: versionDescription(BUILD_C) },
        { Version: '7', Description: versionDescription(BUILD_B) },
        { Version: '8', Description: versionDescription(BUILD_B) },
      ],
    });
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_B));
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-ROLLBACK2' });
    expect((await rollout('rollback', '--json')).json()).toMatchObject({
      action: 'started',
      toVersion: '6',
      buildId: BUILD_C,
    });
    expect((await rollout('rollback', '--version', '7', '--json')).json()).toMatchObject({
      action: 'started',
      toVersion: '7',
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
    });
  });

  it('fails when there is nothing older to go back to', async () => {
    settled();
    lambda
      .on(ListVersionsByFunctionCommand)
      .resolves({ Versions: [{ Version: '8', Description: versionDescription(BUILD_B) }] });
    const run = await rollout('rollback');
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      `rollout rollback: no version below 8 serves another build than ${BUILD_B}: nothing to roll back to ` +
        `(name one with --version N)`,
    );
  });
});

describe('promote', () => {
  const firing = () =>
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        {
          AlarmName: 'edge-widget-client-error-rate',
          StateValue: 'ALARM',
          StateReason: 'Threshold Crossed: 2 datapoints were greater than 5',
        },
      ],
    });

  it('refuses while the client-error alarm is in ALARM, touching nothing, and says how to insist', async () => {
    midRollout();
    firing();
    const run = await rollout('promote');
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      'not promoting deployment d-RUNNING01: its client-error alarm edge-widget-client-error-rate is in ALARM ' +
        '(Threshold Crossed: 2 datapoints were greater than 5)',
    );
    expect(run.err).toContain('npm run rollout -- promote --force');
    expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it(
    'refuses while the unjudged alarm is in ALARM: a canary the signal cannot see is not promoted by accident ' +
      'either',
    async () => {
      midRollout();
      cloudwatch.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          { AlarmName: 'edge-widget-client-error-rate', StateValue: 'OK', StateReason: 'no datapoints were above 5' },
          {
            AlarmName: 'edge-widget-signal-unjudged',
            StateValue: 'ALARM',
            StateReason: 'Threshold Crossed: 2 datapoints were greater than 0',
          },
        ],
      });
      const run = await rollout('promote');
      expect(run.code).toBe(1);
      expect(run.err).toContain(
        'not promoting deployment d-RUNNING01: its unjudged alarm (the release signal cannot see the canary) ' +
          'edge-widget-signal-unjudged is in ALARM (Threshold Crossed: 2 datapoints were greater than 0)',
      );
      expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input.AlarmNames).toEqual([
        'edge-widget-client-error-rate',
        'edge-widget-signal-unjudged',
      ]);
      expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
      expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
    },
  );

  it('promotes anyway with --force, which only promote takes', async () => {
    midRollout();
    firing();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8', status: 'Stopped' }));
    lambda.on(UpdateAliasCommand).resolves({});
    expect((await rollout('promote', '--force')).code).toBe(0);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(1);
    expect((await rollout('stop', '--force')).code).toBe(2);
  });

  it(
    'stops without rollback, waits for the stop, moves ' + 'the alias fully, and asks rollout sync to publish',
    async () => {
      midRollout();
      codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
      codedeploy
        .on(GetDeploymentCommand)
        .resolvesOnce(lambdaDeployment({ from: '7', to: '8' }))
        .resolvesOnce(lambdaDeployment({ from: '7', to: '8' }))
        .resolvesOnce(lambdaDeployment({ from: '7', to: '8' }))
        .resolves(lambdaDeployment({ from: '7', to: '8', status: 'Stopped' }));
      lambda.on(UpdateAliasCommand).resolves({});
      lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
      const run = await rollout('promote');
      expect(run.code).toBe(0);
      expect(codedeploy.commandCalls(StopDeploymentCommand)[0]!.args[0].input).toEqual({
        deploymentId: 'd-RUNNING01',
        autoRollbackEnabled: false,
      });
      expect(run.sleeps).toEqual([3000, 3000]);
      expect(lambda.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toEqual({
        FunctionName: 'edge-widget-entry-router',
        Name: 'live',
        FunctionVersion: '8',
        RoutingConfig: { AdditionalVersionWeights: {} },
        RevisionId: 'rev-1',
      });
      const invoke = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
      expect(invoke).toMatchObject({ FunctionName: 'edge-widget-rollout-sync', InvocationType: 'Event' });
      expect(JSON.parse(new TextDecoder().decode(invoke.Payload as Uint8Array))).toEqual({
        source: 'rollout-cli',
        'detail-type': 'Sync Request',
      });
      expect(run.out).toBe(
        [
          `Promoted deployment d-RUNNING01: alias live sends 100% of viewers to version 8 (build ${BUILD_B}).`,
          'The deployment is Stopped in CodeDeploy, so no alarm rolls this release back any more; if it ' +
            'misbehaves, run `npm run rollout -- rollback`.',
          'Rollout sync was asked to update the rollout state now.',
        ].join('\n'),
      );
    },
  );

  it('prints the outcome with --json, and survives a rollout sync it cannot invoke', async () => {
    midRollout();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Succeeded' });
    codedeploy
      .on(GetDeploymentCommand)
      .resolvesOnce(lambdaDeployment({ from: '7', to: '8' }))
      .resolves(lambdaDeployment({ from: '7', to: '8', status: 'Stopped' }));
    lambda.on(UpdateAliasCommand).resolves({});
    lambda.on(InvokeCommand).rejects(notFound('AccessDeniedException'));
    const run = await rollout('promote', '--json');
    expect(run.code).toBe(0);
    expect(run.json()).toEqual({
      action: 'promoted',
      deploymentId: 'd-RUNNING01',
      deploymentStatus: 'Stopped',
      version: '8',
      buildId: BUILD_B,
      aliasMoved: true,
      syncRequested: false,
    });
  });

  it('refuses to promote a deployment that failed meanwhile (CodeDeploy rolls it back)', async () => {
    midRollout();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    codedeploy
      .on(GetDeploymentCommand)
      .resolvesOnce(lambdaDeployment({ from: '7', to: '8' }))
      .resolves(lambdaDeployment({ from: '7', to: '8', status: 'Failed', error: 'alarm active' }));
    const run = await rollout('promote');
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'rollout promote: deployment d-RUNNING01 failed before it could be promoted (alarm active); CodeDeploy ' +
        'rolls it back. See `npm run rollout -- status`.',
    );
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('does not overwrite an alias someone else changed meanwhile', async () => {
    midRollout();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    codedeploy
      .on(GetDeploymentCommand)
      .resolvesOnce(lambdaDeployment({ from: '7', to: '8' }))
      .resolves(lambdaDeployment({ from: '7', to: '8', status: 'Stopped' }));
    lambda
      .on(UpdateAliasCommand)
      .rejects(notFound('PreconditionFailedException', 'The RevisionId provided does not match the latest RevisionId'));
    const run = await rollout('promote');
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'rollout promote: alias live changed while promoting; check `npm run rollout -- status` and run promote ' +
        'again if still needed',
    );
  });

  it('gives up waiting after two minutes, saying what to do', async () => {
    midRollout();
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    const run = await rollout('promote');
    expect(run.code).toBe(1);
    expect(run.sleeps).toHaveLength(40);
    expect(run.err).toBe(
      'rollout promote: deployment d-RUNNING01 is still InProgress 120 s after the stop request; run ' +
        '`npm run rollout -- promote` again once it has stopped',
    );
  });

  it('fails when nothing runs', async () => {
    settled();
    const run = await rollout('promote');
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'rollout promote: no deployment is in progress (the last one, d-DONE00001, Succeeded); nothing to ' +
        'promote. Start one with `npm run rollout -- start`.',
    );
  });
});

describe('ring', () => {
  it('adds a host origin, normalized, with a conditional write that keeps the rest of the state', async () => {
    midRollout();
    const etag = store.etag;
    const run = await rollout('ring', 'add', 'HTTPS://Demo.Example.com:443');
    expect(run.code).toBe(0);
    expect(run.out).toBe(
      `Added https://demo.example.com. A page on that origin loading the widget: it gets the canary (build ` +
        `${BUILD_B}) on its next load.\nThe ring has 1 origin.`,
    );
    expect(storedState()).toEqual({
      stable: BUILD_A,
      canary: BUILD_B,
      weight: 3000,
      salt: 'd-RUNNING01',
      ring: ['https://demo.example.com'],
    });
    expect(kvs.commandCalls(PutKeyCommand)[0]!.args[0].input).toMatchObject({
      KvsARN: STORE_ARN,
      Key: 'rollout',
      IfMatch: etag,
    });
    // Announced to the signal's timeline first (the consumer judges by it), then written.
    expect(table.items.has(STATE_TIMELINE_KEY)).toBe(true);
    expect(
      (
        await readTimeline(
          new DynamoDBClient({ region: 'us-east-1' }),
          resourceNames(loadConfig(CONFIG_FILE)).signalTable,
        )
      ).at(-1),
    ).toEqual({ state: storedState(), from: expect.any(Number), until: null });
    // Rollout sync is asked to sync now, not at its next minute: it reads the store on a manual sync.
    expect(lambda.commandCalls(InvokeCommand).map((call) => call.args[0].input)).toEqual([
      {
        FunctionName: 'edge-widget-rollout-sync',
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ source: 'rollout-cli', 'detail-type': 'Sync Request' })),
      },
    ]);
    expect((await rollout('ring', 'list', '--json')).json()).toEqual({
      ring: ['https://demo.example.com'],
      bytes: 26,
      limitBytes: 862,
    });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('removes one, and says so when there was nothing to add or remove, writing nothing', async () => {
    settled();
    putState({ ...steadyState(BUILD_B), ring: ['https://demo.example.com'] });
    expect((await rollout('ring', 'add', 'https://demo.example.com')).out).toContain(
      'Already in the ring: https://demo.example.com.',
    );
    expect((await rollout('ring', 'remove', 'https://other.example.com')).out).toContain(
      'Not in the ring: https://other.example.com.',
    );
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
    expect((await rollout('ring', 'remove', 'https://demo.example.com')).out).toContain(
      'Removed https://demo.example.com.',
    );
    expect(storedState()?.ring).toEqual([]);
    expect((await rollout('ring')).out).toBe('The ring is empty: every viewer is assigned by weight.');
  });

  it(
    'reads again when rollout sync wrote between its ' + 'read and its write, and keeps what rollout sync wrote',
    async () => {
      midRollout();
      let raced = false;
      kvs.on(GetKeyCommand, { KvsARN: STORE_ARN }).callsFake((input: { Key: string }) => {
        const value = store.get(input.Key)!;
        if (!raced) {
          raced = true;
          putState({ stable: BUILD_A, canary: BUILD_B, weight: 4000, salt: 'd-RUNNING01', ring: [] });
        }
        return { Key: input.Key, Value: value };
      });
      expect((await rollout('ring', 'add', 'https://demo.example.com')).code).toBe(0);
      expect(storedState()).toEqual({
        stable: BUILD_A,
        canary: BUILD_B,
        weight: 4000,
        salt: 'd-RUNNING01',
        ring: ['https://demo.example.com'],
      });
      expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(2);
    },
  );

  it('refuses what is not an origin, and a ring that would not leave room for a rollout, saying why', async () => {
    settled();
    let run = await rollout('ring', 'add', 'https://demo.example.com/pricing');
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/is not a host origin: write scheme:\/\/host\[:port\] with no path/);
    putState({
      ...steadyState(BUILD_B),
      ring: Array.from({ length: 24 }, (_, n) => `https://customer-${String(n).padStart(3, '0')}.example.com`),
    });
    run = await rollout('ring', 'add', 'https://customer-999.example.com');
    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /the ring cannot take https:\/\/customer-999.example.com: its 25 origins would take 874 of the 862 bytes/,
    );
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
  });

  it('refuses to edit a store with no valid state, and misuse as usage errors', async () => {
    settled();
    store.put(ROLLOUT_STATE_KEY, 'nonsense');
    expect((await rollout('ring', 'add', 'https://demo.example.com')).err).toMatch(
      /holds no valid rollout state \(its value does not parse\)/,
    );
    expect((await rollout('ring', 'add')).code).toBe(2);
    expect(await rollout('ring', 'drop', 'https://demo.example.com')).toMatchObject({
      code: 2,
      err: expect.stringContaining(
        '"drop https://demo.example.com" is not a ring command; use list, add <origin> or remove <origin>.',
      ),
    });
    expect((await rollout('ring', 'list', 'https://x.example.com')).code).toBe(2);
  });
});

describe('preview', () => {
  /** The fixtures' clock (rollout() above), in the epoch seconds a preview ends at. */
  const NOW_S = Date.parse('2026-11-26T10:00:30Z') / 1000;
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  const notInBucket = () =>
    Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
  const nothingWritten = () => {
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
    expect(table.items.has(STATE_TIMELINE_KEY)).toBe(false);
  };

  it(
    'shows a build to a prefix for an hour by default, the prefix normalized, with a conditional write that ' +
      'keeps the rest of the state, announced first, after checking every bucket and the revocations',
    async () => {
      midRollout();
      const etag = store.etag;
      const run = await rollout('preview', 'add', BUILD_C, '--viewer', '203.0.113.77/24');
      expect([run.code, run.err]).toEqual([0, '']);
      expect(run.out.split('\n')).toEqual([
        `Previewing build ${BUILD_C} for viewers in 203.0.113.0/24 until 2026-11-26T11:00:30.000Z (1h from now).`,
        'Their next load of /assets/index.js gets it within 40 s (the rollout store reaching every edge), on every ' +
          'host page and whatever the rollout; they are counted apart from the rollout and never judged.',
        'It ends by itself then; to end it sooner: npm run rollout -- preview remove --viewer 203.0.113.0/24',
      ]);
      expect(storedState()).toEqual({
        stable: BUILD_A,
        canary: BUILD_B,
        weight: 3000,
        salt: 'd-RUNNING01',
        ring: [],
        previews: [{ build: BUILD_C, viewer: '203.0.113.0/24', until: NOW_S + 3600 }],
      });
      expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input)).toEqual([
        expect.objectContaining({ KvsARN: STORE_ARN, Key: 'rollout', IfMatch: etag }),
      ]);
      const config = loadConfig(CONFIG_FILE);
      expect(
        s3
          .commandCalls(HeadObjectCommand)
          .map((call) => [call.args[0].input.Bucket, call.args[0].input.Key])
          .sort(),
      ).toEqual(
        config.regions.map((region) => [resourceNames(config).bucket(region), `builds/${BUILD_C}.json`]).sort(),
      );
      expect(kvs.commandCalls(GetKeyCommand).map((call) => call.args[0].input.Key)).toContain(revocationKey(BUILD_C));
      expect(
        (await readTimeline(new DynamoDBClient({ region: 'us-east-1' }), resourceNames(config).signalTable)).at(-1),
      ).toEqual({ state: storedState(), from: Date.parse('2026-11-26T10:00:30Z'), until: null });
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    },
  );

  it.each([
    ['1m', 60],
    ['30m', 1800],
    ['1.5h', 5400],
    ['2h', 7200],
    ['1d', 86_400],
    ['7d', 7 * 86_400],
  ])('takes --for %s', async (text, seconds) => {
    settled();
    const run = await rollout('preview', 'add', BUILD_A, '--viewer', '2001:DB8:7:0:1::/48', '--for', text, '--json');
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({
      viewer: '2001:db8:7::/48',
      until: iso(NOW_S + seconds),
      untilEpochSeconds: NOW_S + seconds,
    });
    expect(storedState()?.previews).toEqual([{ build: BUILD_A, viewer: '2001:db8:7::/48', until: NOW_S + seconds }]);
  });

  it('replaces the preview of the same prefix, drops the ended ones, and prints the same as data with --json', async () => {
    settled();
    putState({
      ...steadyState(BUILD_B),
      previews: [
        { build: BUILD_C, viewer: '203.0.113.7/32', until: NOW_S + 600 },
        { build: BUILD_C, viewer: '198.51.100.0/24', until: NOW_S - 60 },
      ],
    });
    const run = await rollout('preview', 'add', BUILD_A, '--viewer', '203.0.113.7', '--for', '2h', '--json');
    expect(run.code).toBe(0);
    const written = [{ build: BUILD_A, viewer: '203.0.113.7/32', until: NOW_S + 7200 }];
    expect(storedState()?.previews).toEqual(written);
    expect(run.json()).toEqual({
      action: 'add',
      build: BUILD_A,
      viewer: '203.0.113.7/32',
      until: '2026-11-26T12:00:30.000Z',
      untilEpochSeconds: NOW_S + 7200,
      entry: '/assets/index.js',
      propagationSeconds: 40,
      replaced: { build: BUILD_C, viewer: '203.0.113.7/32', until: '2026-11-26T10:10:30.000Z', secondsLeft: 600 },
      previews: [{ build: BUILD_A, viewer: '203.0.113.7/32', until: '2026-11-26T12:00:30.000Z', secondsLeft: 7200 }],
      bytes: sharedBudget(storedState()!).used,
      limitBytes: 862,
      syncRequested: true,
    });
    const again = await rollout('preview', 'add', BUILD_C, '--viewer', '203.0.113.7/32', '--for', '30m');
    expect(again.out).toContain(`It replaces the preview of build ${BUILD_A} there (until 2026-11-26T12:00:30.000Z).`);
    expect(storedState()?.previews).toEqual([{ build: BUILD_C, viewer: '203.0.113.7/32', until: NOW_S + 1800 }]);
  });

  it.each([
    [['--for', '90'], 'expected a duration with its unit (500ms, 90s, 10m, 1h, 1d), got "90"'],
    [['--for', '-1h'], 'expected a duration with its unit'],
    [['--for', 'an hour'], 'expected a duration with its unit'],
    [['--for', '0m'], 'a preview lasts at least 1m, got "0m"'],
    [
      ['--for', '30s'],
      'a preview lasts at least 1m, got "30s": the rollout store takes up to 40s to reach every edge, so a shorter ' +
        'one could end before its viewers see it.',
    ],
    [['--for', '59999ms'], 'a preview lasts at least 1m'],
    [['--for', '8d'], '"8d" is longer than a week.'],
    [['--for', '169h'], '"169h" is longer than a week.'],
    [['--viewer', '203.0.113.0/16'], 'is not a prefix a preview can name: an IPv4 prefix is /24 to /32'],
    [['--viewer', '2001:db8::/32'], 'an IPv6 prefix is /48 to /128'],
    [['--viewer', 'demo.example.com'], '--viewer "demo.example.com" is not an IP address or prefix'],
    [['--viewer', '203.0.113.7/33'], 'is not a prefix a preview can name'],
  ])('add exits 2 for %j, writing nothing', async (flags, message) => {
    settled();
    const argv = flags[0] === '--viewer' ? flags : ['--viewer', '203.0.113.7', ...flags];
    const run = await rollout('preview', 'add', BUILD_A, ...argv);
    expect([run.code, run.err]).toEqual([2, expect.stringContaining(message)]);
    expect(run.err).toContain('(run with --help for usage and examples)');
    // Nothing ran: not even the credentials were checked.
    expect(sts.calls()).toHaveLength(0);
    nothingWritten();
  });

  it.each([
    [['add', 'not-a-build', '--viewer', '203.0.113.7'], 'the build "not-a-build" is not a build id'],
    [['add', BUILD_A.toUpperCase(), '--viewer', '203.0.113.7'], 'is not a build id (16 lowercase hex digits'],
    [['add', BUILD_A], "required option '--viewer <address>' not specified"],
    [['add', '--viewer', '203.0.113.7'], "missing required argument 'buildId'"],
    [['remove'], 'name what to end: --viewer <address> or --build <buildId>'],
    [
      ['remove', '--viewer', '203.0.113.7', '--build', BUILD_A],
      "option '--viewer <address>' cannot be used with option '--build <buildId>'",
    ],
    [['remove', '--build', 'abc'], '--build "abc" is not a build id'],
    [['remove', '--viewer', '10.0.0.0/8'], 'an IPv4 prefix is /24 to /32'],
    [['drop', '203.0.113.7'], '"drop 203.0.113.7" is not a preview command'],
    [['list', 'x'], '"x" is not a preview command'],
  ])('exits 2 for preview %j, writing nothing', async (argv, message) => {
    settled();
    const run = await rollout('preview', ...argv);
    expect([run.code, run.err]).toEqual([2, expect.stringContaining(message)]);
    expect(sts.calls()).toHaveLength(0);
    nothingWritten();
  });

  it('refuses a build a region lacks, naming the region, and one no bucket holds, writing nothing', async () => {
    settled();
    const names = resourceNames(loadConfig(CONFIG_FILE));
    s3.on(HeadObjectCommand, { Bucket: names.bucket('eu-west-1') }).rejects(notInBucket());
    const lacking = await rollout('preview', 'add', BUILD_C, '--viewer', '203.0.113.7');
    expect([lacking.code, lacking.err]).toEqual([
      1,
      `rollout preview: build ${BUILD_C} is not in every bucket: its manifest is missing from ` +
        `${names.bucket('eu-west-1')} (eu-west-1), whose viewers would get errors; copy it there first (npm run ` +
        'backfill), then add the preview again',
    ]);
    s3.on(HeadObjectCommand).rejects(notInBucket());
    const nowhere = await rollout('preview', 'add', BUILD_C, '--viewer', '203.0.113.7', '--json');
    expect(nowhere.code).toBe(1);
    expect(nowhere.err).toContain(`rollout preview: no bucket holds build ${BUILD_C}`);
    expect(nowhere.json()).toEqual({ error: expect.stringContaining(`no bucket holds build ${BUILD_C}`) });
    nothingWritten();
    expect(storedState()).toEqual(steadyState(BUILD_B));
  });

  it('refuses a revoked build, naming the revocation, also one revoked between its read and its write', async () => {
    settled();
    store.put(revocationKey(BUILD_C), formatRevocation({ at: Date.UTC(2026, 10, 1), reason: 'CVE-2026-0001' }));
    const revoked = await rollout('preview', 'add', BUILD_C, '--viewer', '203.0.113.7');
    expect([revoked.code, revoked.err]).toEqual([
      1,
      `rollout preview: build ${BUILD_C} was revoked at 2026-11-01T00:00:00.000Z (CVE-2026-0001): it cannot be ` +
        'previewed',
    ]);
    nothingWritten();
    // `rollout revoke` of build A lands just after this command looked its revocation up: the store's ETag moves
    // with it, so the write is refused, and the next attempt finds the revocation.
    let raced = false;
    kvs.on(GetKeyCommand, { KvsARN: STORE_ARN }).callsFake((input: { Key: string }) => {
      const value = store.get(input.Key);
      if (input.Key === revocationKey(BUILD_A) && !raced) {
        raced = true;
        store.put(revocationKey(BUILD_A), formatRevocation({ at: Date.UTC(2026, 10, 26), reason: 'leaked a token' }));
      }
      if (value === undefined) throw notFound('ResourceNotFoundException');
      return { Key: input.Key, Value: value };
    });
    const run = await rollout('preview', 'add', BUILD_A, '--viewer', '203.0.113.7');
    expect([run.code, run.err]).toEqual([
      1,
      `rollout preview: build ${BUILD_A} was revoked at 2026-11-26T00:00:00.000Z (leaked a token): it cannot be ` +
        'previewed',
    ]);
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(1);
    expect(storedState()).toEqual(steadyState(BUILD_B));
  });

  it('refuses a preview the state has no room for, and a store with no valid state, writing nothing', async () => {
    settled();
    putState({
      ...steadyState(BUILD_B),
      ring: Array.from({ length: 24 }, (_, n) => `https://customer-${String(n).padStart(3, '0')}.example.com`),
    });
    const full = await rollout('preview', 'add', BUILD_A, '--viewer', '203.0.113.7');
    expect(full.code).toBe(1);
    expect(full.err).toMatch(
      new RegExp(
        '^rollout preview: the rollout state cannot take another preview: 1 previews and 24 ring origins would ' +
          'take \\d+ of the 862 bytes they may share .*remove a preview or a ring origin first$',
      ),
    );
    store.put(ROLLOUT_STATE_KEY, 'nonsense');
    const invalid = await rollout('preview', 'add', BUILD_A, '--viewer', '203.0.113.7');
    expect([invalid.code, invalid.err]).toEqual([
      1,
      'rollout preview: the rollout store edge-widget-rollout holds no valid rollout state (its value does not ' +
        'parse); rollout sync writes one within a minute of a deploy, then add the preview',
    ]);
    store.delete(ROLLOUT_STATE_KEY);
    const missing = await rollout('preview', 'add', BUILD_A, '--viewer', '203.0.113.7');
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining('holds no valid rollout state (no key)')]);
    expect((await rollout('preview', 'list')).code).toBe(1);
    nothingWritten();
  });

  it('fills the budget it shares with the ring, then refuses the next one', async () => {
    settled();
    let added = 0;
    for (; added < 40; added += 1) {
      const run = await rollout('preview', 'add', BUILD_A, '--viewer', `198.51.${added}.0/24`, '--for', '7d');
      if (run.code !== 0) {
        expect(run.err).toContain(`the rollout state cannot take another preview: ${added + 1} previews`);
        break;
      }
    }
    expect(storedState()?.previews).toHaveLength(added);
    expect(added).toBeGreaterThan(10);
    const budget = sharedBudget(storedState()!);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
  });

  it('lists the previews in force with the time each has left, and apart those ended but still stored', async () => {
    settled();
    expect((await rollout('preview')).out).toBe(
      'No preview in force: every viewer gets the build the ring and the weight give it.',
    );
    const previews = [
      { build: BUILD_A, viewer: '203.0.113.0/24', until: NOW_S + 3570 },
      { build: BUILD_C, viewer: '2001:db8:7::/48', until: NOW_S + 2 * 86_400 + 3600 },
      { build: BUILD_A, viewer: '198.51.100.7/32', until: NOW_S - 30 },
    ];
    putState({ ...steadyState(BUILD_B), previews });
    const bytes = sharedBudget(storedState()!).used;
    const run = await rollout('preview');
    expect(run.out.split('\n')).toEqual([
      `Previews in force (2; with the ring they take ${bytes} of 862 bytes), their build on every host page ` +
        'whatever the rollout:',
      `  203.0.113.0/24   build ${BUILD_A}  until 2026-11-26T11:00:00.000Z  59m 30s left`,
      `  2001:db8:7::/48  build ${BUILD_C}  until 2026-11-28T11:00:30.000Z  2d 1h left`,
      'Ended, still stored until the state is next written (the edges ignore them): 1',
      `  198.51.100.7/32  build ${BUILD_A}  until 2026-11-26T10:00:00.000Z`,
    ]);
    expect((await rollout('preview', 'list', '--json')).json()).toEqual({
      previews: [
        { build: BUILD_A, viewer: '203.0.113.0/24', until: '2026-11-26T11:00:00.000Z', secondsLeft: 3570 },
        {
          build: BUILD_C,
          viewer: '2001:db8:7::/48',
          until: '2026-11-28T11:00:30.000Z',
          secondsLeft: 2 * 86_400 + 3600,
        },
      ],
      expired: [{ build: BUILD_A, viewer: '198.51.100.7/32', until: '2026-11-26T10:00:00.000Z', secondsLeft: 0 }],
      bytes,
      limitBytes: 862,
    });
    nothingWritten();
  });

  it(
    'removes the preview of a prefix, or every preview of a build; nothing to remove is no failure, as for the ' +
      'ring: it says so and writes nothing',
    async () => {
      settled();
      putState({
        ...steadyState(BUILD_B),
        previews: [
          { build: BUILD_A, viewer: '203.0.113.0/24', until: NOW_S + 3600 },
          { build: BUILD_A, viewer: '2001:db8:7::/48', until: NOW_S + 3600 },
          { build: BUILD_C, viewer: '198.51.100.7/32', until: NOW_S + 3600 },
        ],
      });
      // An address inside a previewed prefix is not that prefix: it says which one holds it.
      const inside = await rollout('preview', 'remove', '--viewer', '203.0.113.9');
      expect([inside.code, inside.out]).toEqual([
        0,
        'Not previewed: no preview in force is for 203.0.113.9/32. 203.0.113.0/24 (build ' +
          `${BUILD_A}) holds it: remove that prefix with --viewer.\n3 previews in force now.`,
      ]);
      const other = await rollout('preview', 'remove', '--build', BUILD_B);
      expect([other.code, other.out]).toEqual([
        0,
        `Not previewed: no preview in force shows build ${BUILD_B}.\n3 previews in force now.`,
      ]);
      nothingWritten();
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);

      const one = await rollout('preview', 'remove', '--viewer', '198.51.100.7');
      expect([one.code, one.out]).toEqual([
        0,
        `Ended the preview of build ${BUILD_C} for 198.51.100.7/32 (it was to last until 2026-11-26T11:00:30.000Z).\n` +
          'Their next load of /assets/index.js gets the build the rollout gives them, within 40 s (the rollout ' +
          'store reaching every edge).\n2 previews in force now.',
      ]);
      const all = await rollout('preview', 'remove', '--build', BUILD_A, '--json');
      expect(all.json()).toEqual({
        action: 'remove',
        build: BUILD_A,
        changed: true,
        removed: [
          { build: BUILD_A, viewer: '203.0.113.0/24', until: '2026-11-26T11:00:30.000Z', secondsLeft: 3600 },
          { build: BUILD_A, viewer: '2001:db8:7::/48', until: '2026-11-26T11:00:30.000Z', secondsLeft: 3600 },
        ],
        previews: [],
        syncRequested: true,
      });
      // With none left the field is gone: the value every earlier reader understands.
      expect(store.get(ROLLOUT_STATE_KEY)).toBe(formatRolloutState(steadyState(BUILD_B)));
      expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(2);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    },
  );
});

describe('revoke', () => {
  const sns = mockClient(SNSClient);
  const DISTRIBUTION = { Id: 'E2WIDGET', DomainName: 'd1234.cloudfront.net' };
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    cloudfront
      .on(ListDistributionsByRealtimeLogConfigCommand, { RealtimeLogConfigName: 'edge-widget-signal' })
      .resolves({
        DistributionList: {
          Items: [DISTRIBUTION as never],
          Marker: '',
          MaxItems: 100,
          IsTruncated: false,
          Quantity: 1,
        },
      });
    cloudfront
      .on(CreateInvalidationCommand)
      .resolves({ Invalidation: { Id: 'I-REVOKE', Status: 'InProgress' } as never });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
  });
  afterAll(() => sns.restore());
  const revoked = (buildId: string) => store.get(revocationKey(buildId));

  it(
    'takes a running canary away: revoked first, its deployment stopped with ' +
      'rollback, sync asked, its paths invalidated, the revocation published',
    async () => {
      midRollout();
      const run = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0001: XSS in the comment box');
      expect([run.code, run.err]).toEqual([0, '']);
      expect(parseRevocation(BUILD_B, revoked(BUILD_B))).toMatchObject({
        reason: 'CVE-2026-0001: XSS in the comment box',
      });
      expect(codedeploy.commandCalls(StopDeploymentCommand)[0]!.args[0].input).toEqual({
        deploymentId: 'd-RUNNING01',
        autoRollbackEnabled: true,
      });
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
      expect(cloudfront.commandCalls(CreateInvalidationCommand)[0]!.args[0].input).toMatchObject({
        DistributionId: 'E2WIDGET',
        InvalidationBatch: { Paths: { Quantity: 1, Items: [`/assets/${BUILD_B}/*`] } },
      });
      const published = sns.commandCalls(PublishCommand)[0]!.args[0].input;
      expect(published.TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:edge-widget-releases');
      expect((JSON.parse(published.Message!) as { default: string }).default.split('\n')[0]).toBe(
        `Revoked: build ${BUILD_B}: CVE-2026-0001: XSS in the comment box`,
      );
      expect(run.out).toContain('Its chunks stay until cleanup');
      // Nothing was deleted without --purge.
      expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
      // The message is kept where `rollout status` shows the last ones.
      const status = await rollout('status', '--json');
      expect((status.json() as { notifications: unknown[] }).notifications).toEqual([
        {
          at: expect.any(Number),
          subject: expect.stringContaining(`Revoked: build ${BUILD_B}`),
          failure: null,
        },
      ]);
    },
  );

  it(
    'ends every preview of the revoked build in the state, after the revocation and announced, keeping the ' +
      'others; a build only a preview still names is one it knows',
    async () => {
      midRollout();
      const nowS = Date.parse('2026-11-26T10:00:30Z') / 1000;
      const other = { build: BUILD_C, viewer: '198.51.100.7/32', until: nowS + 3600 };
      putState({
        stable: BUILD_A,
        canary: BUILD_B,
        weight: 3000,
        salt: 'd-RUNNING01',
        ring: [],
        previews: [
          { build: BUILD_B, viewer: '203.0.113.0/24', until: nowS + 3600 },
          other,
          { build: BUILD_B, viewer: '2001:db8:7::/48', until: nowS - 60 },
        ],
      });
      const run = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0004');
      expect([run.code, run.err]).toEqual([0, '']);
      expect(run.out).toContain(
        "Ended its preview for 203.0.113.0/24: those viewers' next load gets the build the rollout gives them, " +
          'within 40 s.',
      );
      expect(storedState()).toEqual({
        stable: BUILD_A,
        canary: BUILD_B,
        weight: 3000,
        salt: 'd-RUNNING01',
        ring: [],
        previews: [other],
      });
      // The 410 gate first, then the state: both conditional writes; the state announced before it is written.
      expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input.Key)).toEqual([
        revocationKey(BUILD_B),
        ROLLOUT_STATE_KEY,
      ]);
      expect(
        (
          await readTimeline(
            new DynamoDBClient({ region: 'us-east-1' }),
            resourceNames(loadConfig(CONFIG_FILE)).signalTable,
          )
        ).at(-1)?.state,
      ).toEqual(storedState());

      // A build cleanup already deleted everywhere, that no version names, still previewed: revoked, and unpreviewed.
      const gone = 'abcdefabcdefabcd';
      putState({ ...steadyState(BUILD_A), previews: [{ build: gone, viewer: '203.0.113.0/24', until: nowS + 60 }] });
      s3.on(HeadObjectCommand).rejects(
        Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
      const json = await rollout('revoke', gone, '--reason', 'CVE-2026-0005', '--json');
      expect(json.code).toBe(0);
      expect(json.json()).toMatchObject({
        previewsEnded: [{ build: gone, viewer: '203.0.113.0/24', until: '2026-11-26T10:01:30.000Z', secondsLeft: 60 }],
      });
      expect(storedState()).toEqual(steadyState(BUILD_A));
    },
  );

  it(
    "goes on when the state's previews cannot be ended, taking the build off every viewer, and exits 1 saying " +
      'to run it again',
    async () => {
      midRollout();
      const nowS = Date.parse('2026-11-26T10:00:30Z') / 1000;
      const previewed = {
        stable: BUILD_A,
        canary: BUILD_B,
        weight: 3000,
        salt: 'd-RUNNING01',
        ring: [],
        previews: [{ build: BUILD_B, viewer: '203.0.113.0/24', until: nowS + 3600 }],
      };
      putState(previewed);
      // Every state is announced to the signal's timeline before it is written: that write fails.
      dynamodb
        .on(PutItemCommand, { Item: { pk: { S: STATE_TIMELINE_KEY } } })
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      const run = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0006');
      expect(run.code).toBe(1);
      expect(run.out).toContain(
        'Could not remove its previews from the rollout state (Rate exceeded): the edges give those viewers the ' +
          "rollout's build all the same (they check a previewed build's revocation); run the same revoke again " +
          'to remove them.',
      );
      // Revoked, the canary stopped and the cache invalidated all the same; the preview still stored.
      expect(parseRevocation(BUILD_B, revoked(BUILD_B))).toMatchObject({ reason: 'CVE-2026-0006' });
      expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(1);
      expect(cloudfront.commandCalls(CreateInvalidationCommand)).toHaveLength(1);
      expect(storedState()).toEqual(previewed);
    },
  );

  it('writes no state when no preview names the build, and says nothing of previews', async () => {
    midRollout();
    const run = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0006', '--json');
    expect(run.json()).toMatchObject({ previewsEnded: [] });
    expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input.Key)).toEqual([revocationKey(BUILD_B)]);
    expect((await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0006')).out).not.toContain('preview');
  });

  it(
    'refuses the stable build without --to, and an unknown ' +
      'build, writing nothing; exits 2 for what is not a command',
    async () => {
      settled();
      const stable = await rollout('revoke', BUILD_B, '--reason', 'bad');
      expect(stable.code).toBe(1);
      expect(stable.err).toMatch(
        /build [0-9a-f]{16} is the stable build: every viewer gets it\. Name the build that replaces it with --to/,
      );
      s3.on(HeadObjectCommand).rejects(
        Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
      const unknown = await rollout('revoke', 'abcdefabcdefabcd', '--reason', 'bad');
      expect(unknown.code).toBe(1);
      expect(unknown.err).toContain('unknown build abcdefabcdefabcd');
      for (const argv of [
        ['revoke', 'not-a-build', '--reason', 'x'],
        ['revoke', BUILD_A],
        ['revoke', BUILD_A, '--reason', '   '],
        ['revoke', BUILD_A, '--reason', 'two\nlines'],
        ['revoke', BUILD_A, '--reason', 'x', '--to', BUILD_A],
      ])
        expect([argv.join(' '), (await rollout(...argv)).code]).toEqual([argv.join(' '), 2]);
      expect(store.keys()).toEqual([ROLLOUT_STATE_KEY]);
      expect(cloudfront.commandCalls(CreateInvalidationCommand)).toHaveLength(0);
    },
  );

  it(
    'replaces the stable build with --to, all at once with ' +
      'the alarms off, and a release of it is refused ever after',
    async () => {
      settled();
      codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-REPLACE01' });
      const run = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0002', '--to', BUILD_A);
      expect([run.code, run.err]).toEqual([0, '']);
      expect(codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input).toMatchObject({
        deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
        overrideAlarmConfiguration: { enabled: false, alarms: [] },
      });
      expect(run.out).toContain(
        'its own URL answers 410 already; loads of /assets/index.js get it until the alias has moved and ' +
          'rollout sync has written the state',
      );
      // From now on nothing makes it serve again (the alias on build A now, as the deployment leaves it).
      lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RevisionId: 'rev-3' });
      codedeploy.reset();
      codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
      const again = await rollout('start', '--version', '8');
      expect(again.code).toBe(1);
      expect(again.err).toContain(`build ${BUILD_B} was revoked at `);
      expect(again.err).toContain('(CVE-2026-0002): it cannot be released');
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
      // And status lists it.
      const status = await rollout('status');
      expect(status.out).toContain(`Revoked builds (410 everywhere; never stable, canary or a rollback target again)`);
      expect(status.out).toMatch(new RegExp(`  ${BUILD_B}  \\d{4}-\\d\\d-\\d\\dT[^ ]+  CVE-2026-0002`));
    },
  );

  it(
    'refuses a --to that is revoked or served by no version, and ' +
      'the stable build while a deployment runs, writing nothing',
    async () => {
      midRollout();
      const running = await rollout('revoke', BUILD_A, '--reason', 'x', '--to', BUILD_C);
      expect([running.code, running.err]).toEqual([
        1,
        'rollout revoke: deployment d-RUNNING01 is in progress: stop it first (npm run rollout -- stop), then revoke ' +
          `${BUILD_A} with --to again`,
      ]);
      settled();
      const unserved = await rollout('revoke', BUILD_B, '--reason', 'x', '--to', 'abcdefabcdefabcd');
      expect(unserved.err).toContain('no version of edge-widget-entry-router serves build abcdefabcdefabcd');
      store.put(revocationKey(BUILD_C), formatRevocation({ at: Date.UTC(2026, 10, 1), reason: 'older' }));
      const revokedTo = await rollout('revoke', BUILD_B, '--reason', 'x', '--to', BUILD_C);
      expect(revokedTo.err).toContain(
        `build ${BUILD_C} was revoked at 2026-11-01T00:00:00.000Z (older): it cannot be what replaces a revoked build`,
      );
      expect(store.keys()).toEqual([revocationKey(BUILD_C), ROLLOUT_STATE_KEY].sort());
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    },
  );

  it(
    'replaces a revoked stable build on a run after one whose deployment failed, ' +
      'and refuses a --to a bucket lacks, writing nothing',
    async () => {
      settled();
      // A replacement one region lacks: refused before the key.
      s3.on(HeadObjectCommand, { Key: `builds/${BUILD_A}.json` }).rejects(
        Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
      const missing = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0003', '--to', BUILD_A);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain(`build ${BUILD_A} is not in every bucket`);
      expect(store.keys()).toEqual([ROLLOUT_STATE_KEY]);
      // The key written by a run whose deployment then failed; the alias still on the revoked build.
      s3.on(HeadObjectCommand).resolves({});
      store.put(revocationKey(BUILD_B), formatRevocation({ at: Date.UTC(2026, 10, 1), reason: 'CVE-2026-0003' }));
      codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-REPLACE02' });
      const again = await rollout('revoke', BUILD_B, '--reason', 'CVE-2026-0003', '--to', BUILD_A);
      expect([again.code, again.err]).toEqual([0, '']);
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
      // The notification names what viewers get instead.
      const message = (JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as { default: string })
        .default;
      expect(JSON.parse(message.slice(message.indexOf('\n\n') + 2))).toMatchObject({
        kind: 'revoked',
        buildId: BUILD_B,
        stable: BUILD_A,
      });
    },
  );

  it(
    'is idempotent: a second revoke keeps the first record ' + 'and finishes the steps (the invalidation again)',
    async () => {
      settled();
      store.put(revocationKey(BUILD_C), formatRevocation({ at: Date.UTC(2026, 10, 1), reason: 'first' }));
      s3.on(ListObjectsV2Command).resolves({
        Contents: [
          { Key: `assets/${BUILD_C}/index.js`, Size: 10 },
          { Key: `assets/${BUILD_C}/main.1.js`, Size: 20 },
        ],
      });
      s3.on(DeleteObjectsCommand).resolves({ Deleted: [] });
      const run = await rollout('revoke', BUILD_C, '--reason', 'second', '--purge');
      expect([run.code, run.err]).toEqual([0, '']);
      expect(run.out).toContain(`Build ${BUILD_C} was already revoked at 2026-11-01T00:00:00.000Z: first.`);
      expect(parseRevocation(BUILD_C, revoked(BUILD_C)).reason).toBe('first');
      expect(cloudfront.commandCalls(CreateInvalidationCommand)).toHaveLength(1);
      // --purge: its objects in every bucket, and its manifest.
      // --purge: its objects and its manifest, in every bucket.
      const config = loadConfig(CONFIG_FILE);
      const deletions = s3
        .commandCalls(DeleteObjectsCommand)
        .map((call) => [call.args[0].input.Bucket, call.args[0].input.Delete!.Objects!.map((o) => o.Key)]);
      expect(deletions).toEqual(
        config.regions.map((region) => [
          resourceNames(config).bucket(region),
          [`assets/${BUILD_C}/index.js`, `assets/${BUILD_C}/main.1.js`, `builds/${BUILD_C}.json`],
        ]),
      );
    },
  );
});

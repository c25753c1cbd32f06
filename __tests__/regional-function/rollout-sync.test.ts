import { newJudgmentRecord } from '../../contracts/release-progress';
import { fakeTable } from '../fixtures/dynamodb-table';
import { formatRevocation, revocationKey } from '../../contracts/revocation';
import { readNotifications, readTimeline, writeJudgment } from '../../rollout-control/signal-table';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import {
  formatRolloutState,
  parseRolloutState,
  ROLLOUT_STATE_KEY,
  steadyState,
  type RolloutState,
} from '../../contracts/rollout-state';
import {
  chooseSalt,
  effectiveCanary,
  MANUAL_SYNC_EVENT,
  parseSyncEvent,
  planSync,
  rolloutStateFor,
  syncTriggerFrom,
  type SyncEvent,
} from '../../rollout-control/sync-plan';
import { handler } from '../../regional-function/rollout-sync/index';
import { createRolloutSync, VERIFY_INTERVAL_MS, type RolloutSyncClients } from '../../rollout-control/rollout-sync';
import type { AliasBuilds } from '../../rollout-control/alias-state';
import { deploymentSummaryFrom, type DeploymentSummary } from '../../rollout-control/deployments';
import type { RolloutSyncEnvironment } from '../../contracts/function-environment';
import { LocalKeyValueStore, StoreConflict } from '../../loopback/kvs-server';
import { BUILD_A, BUILD_B, BUILD_C, lambdaDeployment, NAMES, versionConfiguration } from './aws-fixtures';

const GROUP = { application: NAMES.application, deploymentGroup: NAMES.deploymentGroup };
const SCHEDULED: SyncEvent = { source: 'aws.events', 'detail-type': 'Scheduled Event' };

function stateChange(
  deploymentId: string,
  state: string,
  group: { application: string; deploymentGroup: string } = GROUP,
): SyncEvent {
  return {
    source: 'aws.codedeploy',
    'detail-type': 'CodeDeploy Deployment State-change Notification',
    detail: { application: group.application, deploymentGroup: group.deploymentGroup, deploymentId, state },
  };
}

function builds(canary?: { version: string; buildId: string; weight: number }): AliasBuilds {
  return { stable: { version: '7', buildId: BUILD_A }, canary: canary ?? null };
}

function deployment(
  id: string,
  from: string,
  to: string,
  status: 'InProgress' | 'Succeeded' | 'Stopped' = 'InProgress',
): DeploymentSummary {
  return deploymentSummaryFrom(id, lambdaDeployment({ from, to, status }).deploymentInfo);
}

describe('rollout state from the alias', () => {
  it('has no canary when the alias has no second version, a zero weight, or the same build twice', () => {
    expect(rolloutStateFor(builds(), null, [])).toEqual(steadyState(BUILD_A));
    expect(rolloutStateFor(builds({ version: '8', buildId: BUILD_B, weight: 0 }), 'd-X', [])).toEqual(
      steadyState(BUILD_A),
    );
    // A new version of the same build (router code or config changed): no viewer changes build.
    expect(effectiveCanary(builds({ version: '8', buildId: BUILD_A, weight: 5000 }))).toBeNull();
    expect(rolloutStateFor(builds({ version: '8', buildId: BUILD_A, weight: 5000 }), 'd-X', [])).toEqual(
      steadyState(BUILD_A),
    );
  });

  it('names the stable build, the canary build and its weight in basis points, and keeps the ring', () => {
    expect(
      rolloutStateFor(builds({ version: '8', buildId: BUILD_B, weight: 2500 }), 'd-ABC123', [
        'https://demo.example.com',
      ]),
    ).toEqual({
      stable: BUILD_A,
      canary: BUILD_B,
      weight: 2500,
      salt: 'd-ABC123',
      ring: ['https://demo.example.com'],
    });
    expect(() => rolloutStateFor(builds({ version: '8', buildId: BUILD_B, weight: 2500 }), null, [])).toThrow(
      'needs a salt',
    );
  });

  it('carries the ring of the current state over, and replaces a value nobody can parse', () => {
    const ring = ['https://demo.example.com'];
    const current = formatRolloutState({ ...steadyState(BUILD_A), ring });
    const plan = planSync(
      builds({ version: '8', buildId: BUILD_B, weight: 1000 }),
      deployment('d-RING00001', '7', '8'),
      { text: current, state: parseRolloutState(current) },
    );
    expect(plan.state.ring).toEqual(ring);
    expect(planSync(builds(), null, { text: 'garbage', state: null })).toMatchObject({
      write: true,
      state: steadyState(BUILD_A),
    });
  });

  it('always formats a state the edge parser reads back to the same builds and weight', () => {
    const buildId = fc.stringMatching(/^[0-9a-f]{16}$/);
    fc.assert(
      fc.property(
        buildId,
        buildId,
        fc.integer({ min: 0, max: 9999 }),
        fc.stringMatching(/^d-[A-Z0-9]{9}$/),
        fc.option(fc.stringMatching(/^d-[A-Z0-9]{9}$/)),
        (a, b, weight, id, currentSalt) => {
          const alias = { stable: { version: '3', buildId: a }, canary: { version: '4', buildId: b, weight } };
          const current =
            currentSalt && a !== b ? { stable: a, canary: b, weight: 100, salt: currentSalt, ring: [] } : null;
          const plan = planSync(alias, deployment(id, '3', '4'), current ? { text: 'old', state: current } : null);
          const parsed = parseRolloutState(plan.text);
          expect(parsed).toEqual(plan.state);
          const live = a !== b && weight > 0;
          expect(parsed!.canary).toBe(live ? b : null);
          expect(parsed!.weight).toBe(live ? weight : 0);
          expect(parsed!.salt).toBe(live ? id : null);
        },
      ),
    );
  });
});

describe('salt', () => {
  const shifting = builds({ version: '8', buildId: BUILD_B, weight: 1000 });

  it('is the id of the active deployment that targets the canary version', () => {
    expect(chooseSalt(shifting, deployment('d-NEW000001', '7', '8'), null)).toEqual({
      salt: 'd-NEW000001',
      source: 'deployment',
    });
  });

  it('ignores a deployment that has ended or that moves elsewhere (a rollback), and keeps the current cohort', () => {
    const current: RolloutState = { stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-OLD000001', ring: [] };
    expect(chooseSalt(shifting, deployment('d-DONE00001', '7', '8', 'Succeeded'), current)).toEqual({
      salt: 'd-OLD000001',
      source: 'current-state',
    });
    expect(chooseSalt(shifting, deployment('d-ROLLBACK1', '8', '7'), current)).toEqual({
      salt: 'd-OLD000001',
      source: 'current-state',
    });
    expect(chooseSalt(shifting, null, current)).toEqual({ salt: 'd-OLD000001', source: 'current-state' });
  });

  it('does not carry a salt over from a state of another shift, and falls back to the alias versions', () => {
    const otherShift: RolloutState = { stable: BUILD_A, canary: BUILD_C, weight: 1000, salt: 'd-OLD000001', ring: [] };
    expect(chooseSalt(shifting, null, otherShift)).toEqual({ salt: 'alias-7-8', source: 'alias-versions' });
    expect(chooseSalt(shifting, null, null)).toEqual({ salt: 'alias-7-8', source: 'alias-versions' });
  });

  it('is none without a canary, whatever CodeDeploy says', () => {
    expect(chooseSalt(builds(), deployment('d-NEW000001', '7', '8'), null)).toEqual({ salt: null, source: 'none' });
  });
});

describe('sync events', () => {
  it('takes the deployment id only from a START of our own group', () => {
    expect(syncTriggerFrom(parseSyncEvent(stateChange('d-START0001', 'START')), GROUP)).toEqual({
      kind: 'deployment',
      startedDeploymentId: 'd-START0001',
    });
    expect(syncTriggerFrom(parseSyncEvent(stateChange('d-START0001', 'SUCCESS')), GROUP)).toEqual({
      kind: 'deployment',
      startedDeploymentId: null,
    });
    expect(
      syncTriggerFrom(
        stateChange('d-START0001', 'START', { application: 'other', deploymentGroup: NAMES.deploymentGroup }),
        GROUP,
      ),
    ).toEqual({
      kind: 'deployment',
      startedDeploymentId: null,
    });
    expect(syncTriggerFrom(parseSyncEvent(SCHEDULED), GROUP)).toEqual({ kind: 'schedule', startedDeploymentId: null });
    expect(syncTriggerFrom(parseSyncEvent({ ...MANUAL_SYNC_EVENT }), GROUP)).toEqual({
      kind: 'manual',
      startedDeploymentId: null,
    });
  });

  it('rejects anything else, saying what it accepts and what it got', () => {
    expect(() => parseSyncEvent({ source: 'aws.s3', 'detail-type': 'Object Created' })).toThrow(
      /runs on an EventBridge "Scheduled Event", .* got an object with detail-type "Object Created"/,
    );
    expect(() => parseSyncEvent({ ...stateChange('not-an-id', 'START') })).toThrow(/detail.deploymentId: must match/);
    expect(() => parseSyncEvent('tick')).toThrow(/got "tick" \(event: must be an object\)/);
  });
});

/**
 * Thirty seconds into the fixtures' deployments (aws-fixtures.ts lambdaDeployment): the judge allows the first step.
 */
const SOON = () => Date.parse('2026-11-26T10:00:30Z');

describe('rollout sync against AWS', () => {
  const lambda = mockClient(LambdaClient);
  const kvsMock = mockClient(CloudFrontKeyValueStoreClient);
  const codedeploy = mockClient(CodeDeployClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const dynamodb = mockClient(DynamoDBClient);
  const s3 = mockClient(S3Client);
  const sns = mockClient(SNSClient);
  const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:edge-widget-releases';
  const BUCKETS = { 'us-east-1': 'edge-widget-us-east-1-test', 'eu-west-1': 'edge-widget-eu-west-1-test' };
  const STORE_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-4000-8000-000000000000';
  const env: RolloutSyncEnvironment = {
    ENTRY_ROUTER_FUNCTION: NAMES.functionName,
    LIVE_ALIAS: NAMES.alias,
    ROLLOUT_STORE_ARN: STORE_ARN,
    METRICS_NAMESPACE: 'EdgeWidget',
    CODEDEPLOY_APPLICATION: NAMES.application,
    CODEDEPLOY_DEPLOYMENT_GROUP: NAMES.deploymentGroup,
    CLIENT_ERROR_ALARM: 'edge-widget-client-error-rate',
    SIGNAL_TABLE: 'edge-widget-release-signal',
    BUCKETS: JSON.stringify(BUCKETS),
    SIGNAL_UNJUDGED_ALARM: 'edge-widget-signal-unjudged',
    STATE_PROPAGATION_MS: '100000',
    ROLLOUT_STEPS: JSON.stringify([
      { atMinute: 0, weight: 1000 },
      { atMinute: 5, weight: 10000 },
    ]),
    HOLD_MINUTES: '30',
    NOTIFICATION_TOPIC_ARN: TOPIC_ARN,
    DISTRIBUTION_NAME: 'edge-widget',
    DASHBOARD_URL: 'https://dashboard.example/edge-widget-releases',
  };
  const clients = (): RolloutSyncClients => ({
    lambda: new LambdaClient({ region: 'us-east-1' }),
    kvs: new CloudFrontKeyValueStoreClient({ region: 'us-east-1' }),
    codedeploy: new CodeDeployClient({ region: 'us-east-1' }),
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    s3For: (region: string) => new S3Client({ region }),
    sns: new SNSClient({ region: 'us-east-1' }),
  });
  /** The store behind the mocked API: ETag semantics as AWS has them (one ETag, If-Match on writes). */
  let store: LocalKeyValueStore;
  /** The alias as GetAlias answers it now; tests move it between calls. */
  let alias: { FunctionVersion: string; RoutingConfig?: { AdditionalVersionWeights: Record<string, number> } };
  /** Called before each GetAlias answer and each PutKey: a test's hooks to interleave runs. */
  let beforeGetAlias: (call: number) => Promise<void> | void;
  let beforePutKey: (call: number) => Promise<void> | void;
  const rolling = (weight: number) => ({
    FunctionVersion: '7',
    RoutingConfig: { AdditionalVersionWeights: { '8': weight } },
  });
  const steady = (version = '7') => ({ FunctionVersion: version });

  beforeEach(() => {
    for (const mock of [lambda, kvsMock, codedeploy, cloudwatch, dynamodb, s3, sns]) mock.reset();
    s3.on(HeadObjectCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    store = new LocalKeyValueStore();
    alias = steady();
    beforeGetAlias = () => undefined;
    beforePutKey = () => undefined;
    let getAliasCalls = 0;
    let putKeyCalls = 0;
    lambda.on(GetAliasCommand).callsFake(async () => {
      getAliasCalls += 1;
      await beforeGetAlias(getAliasCalls);
      return { Name: 'live', ...alias };
    });
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_A));
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_B));
    kvsMock
      .on(DescribeKeyValueStoreCommand)
      .callsFake(() => ({ ETag: store.etag, KvsARN: STORE_ARN, ItemCount: store.keys().length }));
    kvsMock.on(GetKeyCommand).callsFake((input: { Key: string }) => {
      const value = store.get(input.Key);
      if (value === undefined)
        throw Object.assign(new Error(`key ${input.Key} not found`), { name: 'ResourceNotFoundException' });
      return { Key: input.Key, Value: value };
    });
    kvsMock.on(PutKeyCommand).callsFake(async (input: { Key: string; Value: string; IfMatch: string }) => {
      putKeyCalls += 1;
      await beforePutKey(putKeyCalls);
      try {
        return { ETag: store.put(input.Key, input.Value, input.IfMatch) };
      } catch (error) {
        if (error instanceof StoreConflict)
          throw Object.assign(new Error(error.message), { name: 'ConflictException' });
        throw error;
      }
    });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    fakeTable(dynamodb);
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'edge-widget-client-error-rate', StateValue: 'OK' }] });
  });
  afterAll(() => {
    for (const mock of [lambda, kvsMock, codedeploy, cloudwatch, dynamodb, s3, sns]) mock.restore();
  });

  const stored = () => parseRolloutState(store.get(ROLLOUT_STATE_KEY));
  /** The signal consumer's record of a release, as it writes it. */
  const judgment = (salt: string, healthyAt: Record<string, number>, failedAt: number | null = null) =>
    writeJudgment(
      new DynamoDBClient({ region: 'us-east-1' }),
      env.SIGNAL_TABLE,
      {
        ...newJudgmentRecord({ salt, stable: BUILD_A, canary: BUILD_B }),
        healthyAt,
        failedAt,
        failure: failedAt === null ? null : 'failing',
      },
      Date.parse('2026-11-26T10:00:00Z'),
    );
  const writes = () => kvsMock.commandCalls(PutKeyCommand).map((call) => call.args[0].input);
  const put = (state: RolloutState) => store.put(ROLLOUT_STATE_KEY, formatRolloutState(state));
  /** The timeline rollout sync announced states to, as the signal consumer reads it. */
  const timeline = () => readTimeline(new DynamoDBClient({ region: 'us-east-1' }), env.SIGNAL_TABLE);
  /** The last messages rollout sync published, as `rollout status` reads them. */
  const notificationLog = () => readNotifications(new DynamoDBClient({ region: 'us-east-1' }), env.SIGNAL_TABLE);
  /** The state the timeline says the edges serve now. */
  const announced = async () => (await timeline()).find((timed) => timed.until === null)?.state;

  it(
    'writes nothing when the store already says what the ' + 'alias says, and takes what it found into the timeline',
    async () => {
      put(steadyState(BUILD_A));
      const summary = await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED);
      const text = formatRolloutState(steadyState(BUILD_A));
      expect(summary).toEqual({
        action: 'unchanged',
        trigger: 'schedule',
        state: text,
        previous: text,
        weight: 0,
        saltSource: 'none',
        attempts: 1,
        storeRead: true,
        held: false,
        hold: null,
        outcome: null,
        stoppedDeployment: null,
        stopFailure: null,
        missingBuilds: { 'us-east-1': [], 'eu-west-1': [] },
        notification: null,
      });
      expect(writes()).toEqual([]);
      // A schedule is nothing anybody needs to hear about.
      expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
      // Without a canary CodeDeploy is not asked anything.
      expect(codedeploy.calls()).toHaveLength(0);
      expect(kvsMock.commandCalls(GetKeyCommand)[0]!.args[0].input).toEqual({ KvsARN: STORE_ARN, Key: 'rollout' });
      expect(await announced()).toEqual(steadyState(BUILD_A));
    },
  );

  it(
    'on a START event, salts with that deployment and ' + 'writes the state conditionally on the ETag it read',
    async () => {
      put(steadyState(BUILD_A));
      const etag = store.etag;
      alias = rolling(0.1);
      codedeploy
        .on(GetDeploymentCommand, { deploymentId: 'd-START0001' })
        .resolves(lambdaDeployment({ from: '7', to: '8' }));
      const summary = await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-START0001', 'START'));
      const text = formatRolloutState({
        stable: BUILD_A,
        canary: BUILD_B,
        weight: 1000,
        salt: 'd-START0001',
        ring: [],
      });
      expect(summary).toMatchObject({
        action: 'written',
        trigger: 'deployment',
        state: text,
        weight: 1000,
        saltSource: 'deployment',
      });
      expect(writes()).toEqual([{ KvsARN: STORE_ARN, Key: 'rollout', Value: text, IfMatch: etag }]);
      expect(codedeploy.commandCalls(ListDeploymentsCommand)).toHaveLength(0);
      // The timeline's current state is what it wrote, not what it read.
      expect(await announced()).toEqual(parseRolloutState(text));
    },
  );

  describe('notifications', () => {
    const published = () =>
      sns.commandCalls(PublishCommand).map((call) => {
        const { TopicArn, Subject, Message, MessageStructure } = call.args[0].input;
        // Per protocol: the text for email, Amazon Q Developer's custom-notification schema over HTTPS.
        expect(MessageStructure).toBe('json');
        const { default: text, https } = JSON.parse(String(Message)) as { default: string; https: string };
        const chat = JSON.parse(https) as {
          version: string;
          source: string;
          content: { description: string };
          metadata: { eventType: string; additionalContext: Record<string, string> };
        };
        const [first, second, , ...json] = text.split('\n');
        expect([chat.version, chat.source, chat.content.description]).toEqual(['1.0', 'custom', `${first}\n${second}`]);
        expect(chat.metadata.additionalContext).toEqual(
          Object.fromEntries(
            Object.entries(JSON.parse(json.join('\n')) as Record<string, unknown>).map(([k, v]) => [
              k,
              v === null ? '' : String(v),
            ]),
          ),
        );
        return { TopicArn, Subject, first, second, detail: JSON.parse(json.join('\n')) };
      });

    it('publishes a START of its group with the build and the weight it wrote, linking the dashboard', async () => {
      put(steadyState(BUILD_A));
      alias = rolling(0.1);
      codedeploy
        .on(GetDeploymentCommand, { deploymentId: 'd-START0001' })
        .resolves(lambdaDeployment({ from: '7', to: '8' }));
      const summary = await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-START0001', 'START'));
      const subject = `[edge-widget] Release started: build ${BUILD_B} at 10 % of viewers, stable ${BUILD_A}`;
      expect(summary.notification).toEqual({ subject, failure: null });
      // Kept for `rollout status`, newest last (SNS keeps nothing).
      expect((await notificationLog()).at(-1)).toEqual({ at: SOON(), subject, failure: null });
      expect(published()).toEqual([
        {
          TopicArn: TOPIC_ARN,
          Subject: subject,
          first: `Release started: build ${BUILD_B} at 10 % of viewers, stable ${BUILD_A}`,
          second: `Dashboard: ${env.DASHBOARD_URL}`,
          detail: expect.objectContaining({
            kind: 'release-started',
            distribution: 'edge-widget',
            stable: BUILD_A,
            canary: BUILD_B,
            weightPercent: 10,
            deploymentId: 'd-START0001',
            dashboard: env.DASHBOARD_URL,
          }),
        },
      ]);
    });

    it(
      "publishes a STOP as a rollback: the canary's last weight " +
        "from the timeline, the judge's words as the reason",
      async () => {
        put(steadyState(BUILD_A));
        alias = rolling(0.1);
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-START0001', 'START'));
        // The judge found it failing; CodeDeploy stopped it and moved the alias back.
        await writeJudgment(
          new DynamoDBClient({ region: 'us-east-1' }),
          env.SIGNAL_TABLE,
          {
            ...newJudgmentRecord({ salt: 'd-START0001', stable: BUILD_A, canary: BUILD_B }),
            failedAt: SOON(),
            failure: 'failing: canary 31 % against stable 2 %',
          },
          SOON(),
        );
        alias = steady();
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8', status: 'Stopped' }));
        sns.resetHistory();
        const summary = await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-START0001', 'STOP'));
        expect(stored()).toEqual(steadyState(BUILD_A));
        const line =
          `Rolled back: build ${BUILD_B} at 10 % taken off every viewer, ` +
          `stable ${BUILD_A} stays: failing: canary 31 % against stable 2 %`;
        expect(published()).toEqual([
          expect.objectContaining({
            first: line,
            detail: expect.objectContaining({
              kind: 'release-stopped',
              canary: BUILD_B,
              weightPercent: 10,
              reason: 'failing: canary 31 % against stable 2 %',
            }),
          }),
        ]);
        // SNS takes at most 100 characters of subject: cut, the whole sentence in the body.
        expect(summary.notification?.subject).toHaveLength(100);
        expect(summary.notification?.subject.endsWith('...')).toBe(true);
      },
    );

    it(
      'publishes each alarm state change with what the ' + 'canary had, and nothing for another group or a READY',
      async () => {
        put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-START0001', ring: [] });
        alias = rolling(0.1);
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        const alarmEvent: SyncEvent = {
          source: 'aws.cloudwatch',
          'detail-type': 'CloudWatch Alarm State Change',
          detail: {
            alarmName: 'edge-widget-edge-function-errors',
            state: { value: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [7.0] was greater than 5.0' },
          },
        };
        await createRolloutSync(env, clients(), { now: SOON })(alarmEvent);
        await createRolloutSync(env, clients(), { now: SOON })(
          stateChange('d-OTHER0001', 'STOP', { application: 'other', deploymentGroup: 'other' }),
        );
        await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-START0001', 'READY'));
        expect(published().map((message) => [message.first, message.detail.alarmState])).toEqual([
          [
            `Alarm edge-widget-edge-function-errors: build ${BUILD_B} at 10 ` +
              `%: Threshold Crossed: 1 datapoint [7.0] was greater than 5.0`,
            'ALARM',
          ],
        ]);
      },
    );

    it('writes the state all the same when the topic refuses, and says why the message was lost', async () => {
      put(steadyState(BUILD_A));
      alias = rolling(0.1);
      codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
      sns
        .on(PublishCommand)
        .rejects(Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' }));
      const summary = await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-START0001', 'START'));
      expect(summary).toMatchObject({ action: 'written', weight: 1000 });
      expect(summary.notification?.failure).toBe('AuthorizationErrorException: not authorized');
      expect(stored()).toMatchObject({ canary: BUILD_B, weight: 1000 });
      expect((await notificationLog()).at(-1)).toMatchObject({
        failure: 'AuthorizationErrorException: not authorized',
      });
    });
  });

  it('on the schedule, finds the active deployment of the group for the salt', async () => {
    put({ stable: BUILD_A, canary: BUILD_B, weight: 2000, salt: 'd-ACTIVE001', ring: [] });
    alias = rolling(0.3);
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ACTIVE001'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    const summary = await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED);
    // CodeDeploy's alias is not what viewers get while a deployment runs: the judge is (the first step here, no
    // evidence yet).
    expect(summary).toMatchObject({
      action: 'written',
      weight: 1000,
      saltSource: 'deployment',
      outcome: 'running',
      hold: null,
    });
    expect(stored()).toEqual({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-ACTIVE001', ring: [] });
    expect(codedeploy.commandCalls(ListDeploymentsCommand)[0]!.args[0].input).toEqual({
      applicationName: NAMES.application,
      deploymentGroupName: NAMES.deploymentGroup,
      includeOnlyStatuses: ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'],
    });
  });

  it('creates the state when the key is missing, and overwrites a value the edges cannot parse', async () => {
    alias = steady('8');
    expect(await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).toMatchObject({
      action: 'written',
      previous: null,
      state: formatRolloutState(steadyState(BUILD_B)),
    });
    store.put(ROLLOUT_STATE_KEY, 'v=1 stable=x');
    expect(await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).toMatchObject({
      action: 'written',
      previous: 'v=1 stable=x',
    });
    expect(stored()).toEqual(steadyState(BUILD_B));
  });

  it('keeps the ring the rollout CLI wrote', async () => {
    put({ ...steadyState(BUILD_A), ring: ['https://demo.example.com'] });
    alias = rolling(0.1);
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-RING00001'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED);
    expect(stored()?.ring).toEqual(['https://demo.example.com']);
  });

  it(
    'makes no store call while the alias still gives the state it ' +
      'last read or wrote, and checks the store every ten minutes',
    async () => {
      put(steadyState(BUILD_A));
      let clock = 0;
      const sync = createRolloutSync(env, clients(), { now: () => clock });
      const storeCalls = () => kvsMock.calls().length;
      expect(await sync(SCHEDULED)).toMatchObject({ action: 'unchanged', storeRead: true });
      const afterFirst = storeCalls();
      for (let minute = 1; minute < 10; minute += 1) {
        clock = minute * 60_000;
        expect(await sync(SCHEDULED)).toMatchObject({ action: 'unchanged', storeRead: false });
      }
      expect(storeCalls()).toBe(afterFirst);
      clock = VERIFY_INTERVAL_MS;
      expect(await sync(SCHEDULED)).toMatchObject({ storeRead: true });
      // The check asks for the store's ETag only: it is still the one remembered, so no GetKey.
      expect(
        kvsMock
          .calls()
          .slice(afterFirst)
          .map((call) => call.args[0].constructor.name),
      ).toEqual(['DescribeKeyValueStoreCommand']);
    },
  );

  it('repairs a state deleted by hand at its next check, though nothing else changed', async () => {
    put(steadyState(BUILD_A));
    let clock = 0;
    const sync = createRolloutSync(env, clients(), { now: () => clock });
    await sync(SCHEDULED);
    store.delete(ROLLOUT_STATE_KEY);
    clock = VERIFY_INTERVAL_MS - 1;
    expect(await sync(SCHEDULED)).toMatchObject({ action: 'unchanged', storeRead: false });
    clock = VERIFY_INTERVAL_MS;
    expect(await sync(SCHEDULED)).toMatchObject({ action: 'written', previous: null });
    expect(stored()).toEqual(steadyState(BUILD_A));
  });

  it('reports, per region, the assigned builds its bucket lacks or cannot be asked about', async () => {
    put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-MISSING01', ring: [] });
    alias = rolling(0.1);
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-MISSING01'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    s3.on(HeadObjectCommand, { Bucket: BUCKETS['eu-west-1'], Key: `builds/${BUILD_B}.json` }).rejects(
      Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    expect((await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).missingBuilds).toEqual({
      'us-east-1': [],
      'eu-west-1': [BUILD_B],
    });
    // A bucket that cannot be asked (a region down) is as good as lacking them: nobody is sent there on a guess.
    s3.on(HeadObjectCommand, { Bucket: BUCKETS['us-east-1'] }).rejects(
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
    );
    expect((await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).missingBuilds).toEqual({
      'us-east-1': [BUILD_A, BUILD_B],
      'eu-west-1': [BUILD_B],
    });
  });

  it('asks Lambda for each version once per container: published versions never change', async () => {
    alias = rolling(0.1);
    const sync = createRolloutSync(env, clients(), { now: SOON });
    await sync(SCHEDULED);
    await sync(SCHEDULED);
    await sync(SCHEDULED);
    expect(lambda.commandCalls(GetFunctionConfigurationCommand).map((call) => call.args[0].input.Qualifier)).toEqual([
      '7',
      '8',
    ]);
  });

  describe('the timeline the signal consumer counts by', () => {
    it(
      'announces every state before it writes it, and the ' + 'state before stays a candidate for the propagation time',
      async () => {
        put(steadyState(BUILD_A));
        let announcedBeforeWrite = false;
        beforePutKey = async () => {
          announcedBeforeWrite = (await timeline()).some(
            (timed) => timed.state.canary === BUILD_B && timed.until === null,
          );
        };
        alias = rolling(0.2);
        const at = 1_800_000_000_000;
        codedeploy
          .on(GetDeploymentCommand)
          .resolves(lambdaDeployment({ from: '7', to: '8', createTime: new Date(at - 10_000) }));
        await createRolloutSync(env, clients(), { now: () => at })(stateChange('d-TIMELINE1', 'START'));
        expect(announcedBeforeWrite).toBe(true);
        const entries = await timeline();
        expect(entries.at(-1)).toMatchObject({ from: at, until: null, state: { canary: BUILD_B, weight: 1000 } });
        expect(entries.at(-2)).toMatchObject({
          until: at + Number(env.STATE_PROPAGATION_MS),
          state: steadyState(BUILD_A),
        });
      },
    );

    it('takes a state it finds unannounced into the timeline, as served since the state before it', async () => {
      put(steadyState(BUILD_A));
      await createRolloutSync(env, clients(), { now: () => 5000 })(SCHEDULED);
      expect(await timeline()).toEqual([{ state: steadyState(BUILD_A), from: 0, until: null }]);
    });
  });

  describe('the alarm', () => {
    it(
      'holds the canary the moment its alarm fires, before CodeDeploy ' +
        'moves the alias back, and lets it go when the alarm clears',
      async () => {
        put({
          stable: BUILD_A,
          canary: BUILD_B,
          weight: 3000,
          salt: 'd-ALARM0001',
          ring: ['https://demo.example.com'],
        });
        alias = rolling(0.3);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ALARM0001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        cloudwatch
          .on(DescribeAlarmsCommand)
          .resolves({ MetricAlarms: [{ AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'ALARM' }] });
        const firing = {
          source: 'aws.cloudwatch' as const,
          'detail-type': 'CloudWatch Alarm State Change' as const,
          detail: { alarmName: env.CLIENT_ERROR_ALARM, state: { value: 'ALARM' } },
        };
        const sync = createRolloutSync(env, clients(), { now: SOON });
        expect(await sync(parseSyncEvent(firing))).toMatchObject({
          action: 'written',
          trigger: 'alarm',
          held: true,
          weight: 0,
        });
        // Nobody on the canary, ring hosts included; the ring itself stays.
        expect(stored()).toEqual({ ...steadyState(BUILD_A), ring: ['https://demo.example.com'] });
        expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toEqual({
          AlarmNames: [env.CLIENT_ERROR_ALARM, env.SIGNAL_UNJUDGED_ALARM],
          AlarmTypes: ['MetricAlarm'],
        });
        // A false alarm that clears while the deployment still runs: the canary gets its viewers back.
        cloudwatch
          .on(DescribeAlarmsCommand)
          .resolves({ MetricAlarms: [{ AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'OK' }] });
        expect(
          await sync(parseSyncEvent({ ...firing, detail: { ...firing.detail, state: { value: 'OK' } } })),
        ).toMatchObject({ action: 'written', held: false, weight: 1000 });
      },
    );

    it(
      'holds a revoked canary as a firing alarm would, and stops ' +
        'its deployment with rollback, whatever the judge says',
      async () => {
        put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-REVOKE001', ring: [] });
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-REVOKE001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
        const sync = createRolloutSync(env, clients(), { now: SOON });
        // Not revoked: the canary keeps its viewers.
        expect(await sync(SCHEDULED)).toMatchObject({ held: false, weight: 1000 });
        store.put(revocationKey(BUILD_B), formatRevocation({ at: SOON(), reason: 'CVE-2026-0001' }));
        expect(await sync(SCHEDULED)).toMatchObject({
          action: 'written',
          held: true,
          weight: 0,
          stoppedDeployment: 'd-REVOKE001',
        });
        expect(stored()).toEqual(steadyState(BUILD_A));
      },
    );

    it(
      'never raises the weight while the judge cannot see (the ' +
        'unjudged alarm), and neither rolls back nor stops for it',
      async () => {
        put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-BLIND0001', ring: [] });
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-BLIND0001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        // Judged healthy at 10 % a minute in: the step to everyone is due at five minutes.
        await judgment('d-BLIND0001', { 1000: Date.parse('2026-11-26T10:01:00Z') });
        const later = () => Date.parse('2026-11-26T10:06:00Z');
        cloudwatch.on(DescribeAlarmsCommand).resolves({
          MetricAlarms: [
            { AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'OK' },
            { AlarmName: env.SIGNAL_UNJUDGED_ALARM, StateValue: 'ALARM' },
          ],
        });
        const blind = await createRolloutSync(env, clients(), { now: later })(SCHEDULED);
        expect(blind).toMatchObject({
          held: false,
          weight: 1000,
          stoppedDeployment: null,
          hold: { reason: expect.stringMatching(/^the judge cannot see/) },
        });
        expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
        // Once it sees again, the judged step goes through.
        cloudwatch
          .on(DescribeAlarmsCommand)
          .resolves({ MetricAlarms: [{ AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'OK' }] });
        expect(await createRolloutSync(env, clients(), { now: later })(SCHEDULED)).toMatchObject({
          action: 'written',
          weight: 10000,
          outcome: 'complete',
        });
      },
    );

    it(
      'gives a canary whose deployment was stopped no viewers back ' +
        'while CodeDeploy has not yet moved the alias back, under any salt',
      async () => {
        put(steadyState(BUILD_A));
        alias = rolling(0.1);
        // Nothing shifts the alias any more; the deployment that did was stopped with rollback.
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
        codedeploy
          .on(ListDeploymentsCommand, { includeOnlyStatuses: ['Stopped', 'Failed'] })
          .resolves({ deployments: ['d-STOPPED01'] });
        codedeploy
          .on(GetDeploymentCommand, { deploymentId: 'd-STOPPED01' })
          .resolves(lambdaDeployment({ from: '7', to: '8', status: 'Stopped' }));
        expect(await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).toMatchObject({
          action: 'unchanged',
          held: true,
          weight: 0,
          stoppedDeployment: null,
        });
        expect(stored()).toEqual(steadyState(BUILD_A));
        // A split made by hand, with no deployment behind it ever stopped, still gets its viewers.
        codedeploy
          .on(ListDeploymentsCommand, { includeOnlyStatuses: ['Stopped', 'Failed'] })
          .resolves({ deployments: [] });
        expect(await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).toMatchObject({
          action: 'written',
          held: false,
          weight: 1000,
          saltSource: 'alias-versions',
        });
      },
    );

    it(
      'rolls a release back as not enough evidence once its step ' +
        'held past the hold, and as failed the moment the judge says so',
      async () => {
        put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-QUIET0001', ring: [] });
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-QUIET0001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
        const held = await createRolloutSync(env, clients(), { now: () => Date.parse('2026-11-26T10:20:00Z') })(
          SCHEDULED,
        );
        expect(held).toMatchObject({
          held: false,
          weight: 1000,
          outcome: 'running',
          hold: { since: Date.parse('2026-11-26T10:05:00Z'), reason: 'no evidence yet: no canary viewer counted' },
        });
        const quiet = await createRolloutSync(env, clients(), { now: () => Date.parse('2026-11-26T10:35:00Z') })(
          SCHEDULED,
        );
        expect(quiet).toMatchObject({
          held: true,
          weight: 0,
          outcome: 'not-enough-evidence',
          stoppedDeployment: 'd-QUIET0001',
        });
        expect(stored()).toEqual(steadyState(BUILD_A));

        put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-QUIET0001', ring: [] });
        await judgment('d-QUIET0001', {}, Date.parse('2026-11-26T10:00:20Z'));
        expect(
          await createRolloutSync(env, clients(), { now: SOON })({
            source: 'signal-consumer',
            'detail-type': 'Verdict',
          }),
        ).toMatchObject({ trigger: 'verdict', held: true, weight: 0, outcome: 'failed' });
      },
    );

    it(
      'stops the deployment with rollback when the alarm ' + 'fires, rather than waiting for CodeDeploy to look',
      async () => {
        put({ stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-ALARM0002', ring: [] });
        alias = rolling(0.3);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ALARM0002'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
        cloudwatch
          .on(DescribeAlarmsCommand)
          .resolves({ MetricAlarms: [{ AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'ALARM' }] });
        const sync = createRolloutSync(env, clients(), { now: SOON });
        expect(await sync(SCHEDULED)).toMatchObject({ held: true, stoppedDeployment: 'd-ALARM0002' });
        expect(codedeploy.commandCalls(StopDeploymentCommand).map((call) => call.args[0].input)).toEqual([
          { deploymentId: 'd-ALARM0002', autoRollbackEnabled: true },
        ]);
        // Another run finds it stopped already (or CodeDeploy got there first): nothing to do, no error.
        codedeploy.on(StopDeploymentCommand).rejects(
          Object.assign(new Error('The deployment is already completed'), {
            name: 'DeploymentAlreadyCompletedException',
          }),
        );
        expect(await sync(SCHEDULED)).toMatchObject({ held: true, stoppedDeployment: null });
      },
    );

    it(
      'holds the canary first, and a stop that fails (AccessDenied, ' +
        'throttling) neither throws nor undoes the hold',
      async () => {
        put({ stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-ALARM0003', ring: [] });
        alias = rolling(0.3);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ALARM0003'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        cloudwatch
          .on(DescribeAlarmsCommand)
          .resolves({ MetricAlarms: [{ AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'ALARM' }] });
        const order: string[] = [];
        beforePutKey = () => {
          order.push('PutKey');
        };
        codedeploy.on(StopDeploymentCommand).callsFake(() => {
          order.push('StopDeployment');
          throw Object.assign(new Error('User is not authorized to perform: codedeploy:StopDeployment'), {
            name: 'AccessDeniedException',
          });
        });
        expect(await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).toMatchObject({
          action: 'written',
          held: true,
          weight: 0,
          stoppedDeployment: null,
          stopFailure: 'AccessDeniedException: User is not authorized to perform: codedeploy:StopDeployment',
        });
        expect(order).toEqual(['PutKey', 'StopDeployment']);
        expect(stored()).toEqual(steadyState(BUILD_A));
      },
    );

    it('does not stop a deployment that is not shifting to the canary (a rollback deployment, say)', async () => {
      put({ stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'alias-7-8', ring: [] });
      alias = rolling(0.3);
      codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-BACK00001'] });
      codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '8', to: '7' }));
      cloudwatch
        .on(DescribeAlarmsCommand)
        .resolves({ MetricAlarms: [{ AlarmName: env.CLIENT_ERROR_ALARM, StateValue: 'ALARM' }] });
      expect(await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).toMatchObject({
        held: true,
        stoppedDeployment: null,
      });
      expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
    });

    it('does not ask about the alarm when there is no canary to hold', async () => {
      put(steadyState(BUILD_A));
      await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED);
      expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
    });
  });

  describe('races', () => {
    it(
      'a slow run never writes the alias it saw before a ' + 'rollback: it reads the alias again just before writing',
      async () => {
        // A deployment has just started: the store still says steady, the alias says 10 %.
        put(steadyState(BUILD_A));
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-SLOW00001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        // Between the slow run's first read of the alias and its write, CodeDeploy rolls back and
        // the run triggered by that state change finds nothing to write.
        let rolledBack = false;
        beforeGetAlias = async (call) => {
          if (call === 2 && !rolledBack) {
            rolledBack = true;
            alias = steady();
            const other = await createRolloutSync(env, clients(), { now: SOON })(stateChange('d-SLOW00001', 'FAILURE'));
            expect(other.action).toBe('unchanged');
          }
        };
        const slow = await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED);
        expect(slow).toMatchObject({ action: 'unchanged', attempts: 2 });
        expect(stored()).toEqual(steadyState(BUILD_A));
        expect(writes()).toEqual([]);
      },
    );

    it(
      'two runs at once: a write based on an older read is ' +
        'refused by the ETag, read again, and the newer state stays',
      async () => {
        put(steadyState(BUILD_A));
        const firstEtag = store.etag;
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-RACE00001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        // Run A has read the store, the alias (10 %) and the judge (no record: the first step) and is about to write;
        // it stalls there.
        const later = () => Date.parse('2026-11-26T10:06:00Z');
        let releaseA!: () => void;
        beforePutKey = (call) => (call === 1 ? new Promise<void>((resolve) => (releaseA = resolve)) : undefined);
        const runA = createRolloutSync(env, clients(), { now: later })(SCHEDULED);
        while (kvsMock.commandCalls(PutKeyCommand).length < 1) await new Promise((resolve) => setImmediate(resolve));
        // Meanwhile the judge finds the first step healthy, and run B moves everyone to the canary.
        await judgment('d-RACE00001', { 1000: Date.parse('2026-11-26T10:01:00Z') });
        const resultB = await createRolloutSync(env, clients(), { now: later })(SCHEDULED);
        releaseA();
        const resultA = await runA;
        expect(resultB).toMatchObject({ action: 'written', weight: 10000 });
        expect(resultA).toMatchObject({ action: 'unchanged', weight: 10000, attempts: 2 });
        expect(stored()?.weight).toBe(10000);
        // Both writes carried the ETag of the same first read; B's landed first, A's was refused.
        expect(writes().map((input) => [input.IfMatch, (JSON.parse(input.Value!) as RolloutState).weight])).toEqual([
          [firstEtag, 1000],
          [firstEtag, 10000],
        ]);
      },
    );

    it(
      'a ring edit between a read and a write is not lost: ' + 'the write is refused, read again, and carries it',
      async () => {
        put(steadyState(BUILD_A));
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-EDIT00001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        beforeGetAlias = (call) => {
          // The CLI adds a ring origin after rollout sync read the store.
          if (call === 1) put({ ...steadyState(BUILD_A), ring: ['https://demo.example.com'] });
        };
        const result = await createRolloutSync(env, clients(), { now: SOON })(SCHEDULED);
        expect(result).toMatchObject({ action: 'written', attempts: 2 });
        expect(stored()).toEqual({
          stable: BUILD_A,
          canary: BUILD_B,
          weight: 1000,
          salt: 'd-EDIT00001',
          ring: ['https://demo.example.com'],
        });
      },
    );

    it(
      'gives up after a bounded number of attempts when the ' +
        'store never stops changing, saying the next run will write',
      async () => {
        alias = rolling(0.1);
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-BUSY00001'] });
        codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
        beforeGetAlias = () => void put(steadyState(BUILD_A));
        await expect(createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).rejects.toThrow(
          /kept changing during 4 attempts; the next run will write the state/,
        );
      },
    );
  });

  it('says what is missing when the alias or the store does not exist', async () => {
    lambda
      .on(GetAliasCommand)
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    await expect(createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).rejects.toThrow(
      'alias live of function edge-widget-entry-router not found: deploy the stacks first',
    );
    kvsMock
      .on(DescribeKeyValueStoreCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    await expect(createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).rejects.toThrow(
      `the rollout store ${STORE_ARN} does not exist`,
    );
  });

  it('names the version whose description has no buildId', async () => {
    alias = steady('9');
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '9' }).resolves(versionConfiguration(null));
    await expect(createRolloutSync(env, clients(), { now: SOON })(SCHEDULED)).rejects.toThrow(
      'edge-widget-entry-router version 9 has no buildId in its description ("published by hand")',
    );
  });

  it(
    'reads the store on a manual sync (the CLI after a ring edit), ' +
      'whatever it remembers, and takes what it found into the timeline',
    async () => {
      put(steadyState(BUILD_A));
      const sync = createRolloutSync(env, clients(), { now: SOON });
      await sync(SCHEDULED);
      const ringed = { ...steadyState(BUILD_A), ring: ['https://demo.example.com'] };
      put(ringed);
      expect(await sync(SCHEDULED)).toMatchObject({ storeRead: false });
      expect(await sync(parseSyncEvent(MANUAL_SYNC_EVENT))).toMatchObject({
        trigger: 'manual',
        storeRead: true,
        action: 'unchanged',
      });
      expect(await announced()).toEqual(ringed);
    },
  );

  it('the handler logs its summary and emits the weight as an EMF line, with no PutMetricData', async () => {
    put({ stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-EMF000001', ring: [] });
    alias = rolling(0.1);
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-EMF000001'] });
    // The handler runs on the real clock: a deployment that has just started, at its first step.
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8', createTime: new Date() }));
    const saved = { ...process.env };
    Object.assign(process.env, { ...env, AWS_REGION: 'us-east-1' });
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr])
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    try {
      await handler(SCHEDULED);
    } finally {
      jest.restoreAllMocks();
      process.env = saved;
    }
    const lines = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => '_aws' in line)).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Namespace: 'EdgeWidget', Dimensions: [['Role']], Metrics: [{ Name: 'RolloutWeight', Unit: 'None' }] },
        ],
      },
      Role: 'canary',
      RolloutWeight: 1000,
    });
    // One MissingBuilds document per region, which that region's health alarm reads.
    expect(lines.filter((line) => 'MissingBuilds' in line)).toEqual([
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            { Namespace: 'EdgeWidget', Dimensions: [['Region']], Metrics: [{ Name: 'MissingBuilds', Unit: 'Count' }] },
          ],
        }),
        Region: 'us-east-1',
        MissingBuilds: 0,
      }),
      expect.objectContaining({ Region: 'eu-west-1', MissingBuilds: 0 }),
    ]);
    expect(lines.find((line) => line.message === 'rollout sync')).toMatchObject({
      level: 'INFO',
      service: 'rollout-sync',
      action: 'unchanged',
      weight: 1000,
    });
    expect(cloudwatch.calls().filter((call) => call.args[0].constructor.name !== 'DescribeAlarmsCommand')).toHaveLength(
      0,
    );
  });
});

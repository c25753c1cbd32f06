import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { CloudFrontClient, DescribeKeyValueStoreCommand as DescribeStoreByName } from '@aws-sdk/client-cloudfront';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig, parseConfig, resourceNames } from '../../config';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { versionDescription } from '../../contracts/version-description';
import { runRolloutCli } from '../../scripts/rollout-commands';
import { rolloutClients } from '../../scripts/rollout';
import {
  awaitRollout,
  defaultTimeoutMs,
  readBaseline,
  rolloutOutcome,
  saveBaseline,
  type DeploymentStatus,
} from '../../scripts/lib/rollout-wait';
import { lambdaDeployment } from '../regional-function/aws-fixtures';

const CONFIG_FILE = path.resolve(__dirname, '..', '..', 'deploy.config.json');

const status = (id: string | null, state = 'InProgress'): DeploymentStatus => ({
  deployment: id ? ({ id, status: state } as DeploymentStatus['deployment']) : null,
});

/** A clock that moves only when the poller sleeps. */
function fakeTime() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe('rollout wait: deciding', () => {
  it('judges only a deployment newer than the baseline', () => {
    expect(rolloutOutcome(status('d-1', 'Failed'), 'd-1')).toMatchObject({ state: 'waiting', started: false });
    expect(rolloutOutcome(status('d-2', 'InProgress'), 'd-1')).toMatchObject({ state: 'waiting', started: true });
    expect(rolloutOutcome(status('d-2', 'Succeeded'), 'd-1')).toMatchObject({
      state: 'succeeded',
      deploymentId: 'd-2',
    });
    expect(rolloutOutcome(status('d-2', 'Failed'), null)).toMatchObject({
      state: 'rolled-back',
      detail: 'd-2 ended Failed: the rollout was rolled back',
    });
    expect(rolloutOutcome(status('d-2', 'Stopped'), 'd-1').state).toBe('rolled-back');
  });

  it('polls until the new deployment ends', async () => {
    const clock = fakeTime();
    const statuses = [
      status('d-1', 'Succeeded'),
      status('d-2', 'InProgress'),
      status('d-2', 'InProgress'),
      status('d-2', 'Failed'),
    ];
    const lines: string[] = [];
    const outcome = await awaitRollout({
      readStatus: async () => statuses.shift()!,
      baseline: 'd-1',
      timeoutMs: 3_600_000,
      intervalMs: 20_000,
      settleMs: 120_000,
      ...clock,
      log: (line) => lines.push(line),
    });
    expect(outcome).toMatchObject({ state: 'rolled-back', deploymentId: 'd-2' });
    expect(lines).toEqual(['newest is still d-1 (Succeeded), from before this deploy', 'd-2 InProgress']);
  });

  it('passes when the deploy started no deployment, once the status has settled', async () => {
    const clock = fakeTime();
    const outcome = await awaitRollout({
      readStatus: async () => status('d-1', 'Succeeded'),
      baseline: 'd-1',
      timeoutMs: 3_600_000,
      intervalMs: 20_000,
      settleMs: 120_000,
      ...clock,
    });
    expect(outcome).toEqual({
      state: 'no-new-deployment',
      detail: 'no deployment newer than d-1 after 2m: this deploy started none',
    });
    expect(clock.now()).toBe(120_000);
  });

  it('gives up at the timeout, and after repeated unreadable statuses', async () => {
    const clock = fakeTime();
    await expect(
      awaitRollout({
        readStatus: async () => status('d-2', 'InProgress'),
        baseline: 'd-1',
        timeoutMs: 600_000,
        intervalMs: 20_000,
        settleMs: 0,
        ...clock,
      }),
    ).rejects.toThrow(/did not end within 10m \(last: d-2 InProgress\)/);
    let reads = 0;
    const flaky = async () => {
      reads += 1;
      if (reads <= 2) throw new Error('throttled');
      return reads === 3 ? status('d-2', 'InProgress') : status('d-2', 'Succeeded');
    };
    await expect(
      awaitRollout({
        readStatus: flaky,
        baseline: 'd-1',
        timeoutMs: 600_000,
        intervalMs: 1,
        settleMs: 0,
        ...fakeTime(),
        maxReadFailures: 3,
      }),
    ).resolves.toMatchObject({ state: 'succeeded' });
    await expect(
      awaitRollout({
        readStatus: () => Promise.reject(new Error('no credentials')),
        baseline: null,
        timeoutMs: 600_000,
        intervalMs: 1,
        settleMs: 0,
        ...fakeTime(),
        maxReadFailures: 3,
      }),
    ).rejects.toThrow('no credentials');
  });

  it('waits as long as the judge may take (the steps, every step waiting its whole hold), plus a margin', () => {
    const config = loadConfig(CONFIG_FILE);
    // linear 10 % every minute: the last step at minute 9, nine judged steps of 30 minutes' hold; 15 minutes margin.
    expect(defaultTimeoutMs(config)).toBe((9 + 9 * 30 + 15) * 60_000);
    const canary = parseConfig({
      domain: 'w.example.com',
      hostedZone: { name: 'example.com' },
      primaryRegion: 'us-east-1',
      regions: ['us-east-1'],
      rollout: { strategy: 'canary', percent: 10, intervalMinutes: 30 },
      alarms: { holdMinutes: 20 },
    });
    expect(defaultTimeoutMs(canary)).toBe((30 + 20 + 15) * 60_000);
  });

  it(
    "takes the judge's word before CodeDeploy's window ends: everyone on the new build succeeds, failed or " +
      'unjudged is rolled back',
    () => {
      const judged = (
        outcome: 'running' | 'complete' | 'failed' | 'not-enough-evidence',
        deploymentId = 'd-2',
      ): DeploymentStatus => ({
        ...status('d-2', 'InProgress'),
        judgment: {
          deploymentId,
          outcome,
          weight: 0,
          heldSince: null,
          holdEndsAt: null,
          reason: 'failing: the canary errs at least 20 points more than stable',
          canary: null,
          stable: null,
          lookedAt: null,
          healthyAt: {},
        },
      });
      expect(rolloutOutcome(judged('running'), 'd-1')).toMatchObject({ state: 'waiting', started: true });
      expect(rolloutOutcome(judged('complete'), 'd-1')).toMatchObject({
        state: 'succeeded',
        deploymentId: 'd-2',
        detail: expect.stringMatching(/reached every viewer, each step judged healthy/),
      });
      expect(rolloutOutcome(judged('failed'), 'd-1')).toMatchObject({
        state: 'rolled-back',
        detail: expect.stringMatching(/^d-2 failed: the judge found the canary failing \(failing: /),
      });
      expect(rolloutOutcome(judged('not-enough-evidence'), 'd-1')).toMatchObject({
        state: 'rolled-back',
        detail: expect.stringMatching(/^d-2 ended for want of evidence/),
      });
      // The judge's view of another deployment says nothing of this one.
      expect(rolloutOutcome(judged('complete', 'd-9'), 'd-1')).toMatchObject({ state: 'waiting' });
    },
  );
});

/**
 * `npm run rollout -- wait`, in this process, against the mocked AWS SDK. The baseline is what
 * tells this deploy's deployment from the one before it: a baseline that is missing, unreadable or
 * broken must stop the job; only a history that really is empty (nothing deployed yet) may be
 * recorded as "no deployment", and it is written as such.
 */
describe('rollout wait: the command', () => {
  const config = loadConfig(CONFIG_FILE);
  const names = resourceNames(config);
  const lambda = mockClient(LambdaClient);
  const codedeploy = mockClient(CodeDeployClient);
  const cloudfront = mockClient(CloudFrontClient);
  const kvs = mockClient(CloudFrontKeyValueStoreClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const sts = mockClient(STSClient);
  // The signal table: `status` reads the last notifications there (none here).
  const dynamodb = mockClient(DynamoDBClient);
  const mocks = [lambda, codedeploy, cloudfront, kvs, cloudwatch, sts, dynamodb];
  const BUILD = '0123456789abcdef';
  const STORE_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-4000-8000-000000000000';
  let dir: string;

  async function wait(...argv: string[]): Promise<{ code: number; out: string; err: string; sleeps: number[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const sleeps: number[] = [];
    let now = 0;
    const code = await runRolloutCli(['wait', ...argv], {
      loadConfig: (file) => loadConfig(file ?? CONFIG_FILE),
      // The clients as scripts/rollout.ts makes them; aws-sdk-client-mock answers every instance.
      createClients: () => rolloutClients(),
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    return { code, out: out.join('\n'), err: err.join('\n'), sleeps };
  }

  /** The stacks deployed, alias `live` on version 1; `last` is the group's last deployment, if any. */
  function deployed(last: { id: string; status: 'Succeeded' | 'Failed' | 'Stopped' | 'InProgress' } | null): void {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '1', RevisionId: 'rev-1' });
    lambda.on(GetFunctionConfigurationCommand).resolves({ Description: versionDescription(BUILD) });
    cloudfront.on(DescribeStoreByName).resolves({
      KeyValueStore: { Name: names.rolloutStore, Id: 'x', ARN: STORE_ARN, Comment: '', LastModifiedTime: new Date() },
      ETag: 'E1',
    });
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'K1', KvsARN: STORE_ARN });
    kvs.on(GetKeyCommand).resolves({ Key: 'rollout', Value: formatRolloutState(steadyState(BUILD)) });
    kvs.on(ListKeysCommand).resolves({ Items: [{ Key: 'rollout', Value: formatRolloutState(steadyState(BUILD)) }] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: names.clientErrorAlarm, StateValue: 'OK' },
        { AlarmName: names.signalUnjudgedAlarm, StateValue: 'OK' },
        { AlarmName: names.edgeErrorAlarm, StateValue: 'OK' },
      ],
    });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    dynamodb.on(GetItemCommand).resolves({});
    codedeploy.on(GetDeploymentGroupCommand).resolves({
      deploymentGroupInfo: last ? { lastAttemptedDeployment: { deploymentId: last.id, status: last.status } } : {},
    });
    if (last)
      codedeploy
        .on(GetDeploymentCommand, { deploymentId: last.id })
        .resolves(
          lambdaDeployment({ from: '1', to: '1', status: last.status, completeTime: new Date('2026-11-26T10:10:00Z') }),
        );
  }

  const baselineNaming = (deployment: string) => {
    const file = path.join(dir, 'baseline');
    writeFileSync(
      file,
      `${JSON.stringify({ schema: 1, deployment, status: 'Succeeded', savedAt: '2026-11-26T10:00:00.000Z' })}\n`,
    );
    return file;
  };

  beforeEach(() => {
    for (const mock of mocks) mock.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
    dir = mkdtempSync(path.join(tmpdir(), 'baseline-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => {
    for (const mock of mocks) mock.restore();
  });

  it('--save-baseline records the newest deployment, and an empty history explicitly', async () => {
    const file = path.join(dir, 'baseline');
    deployed({ id: 'd-DONE00001', status: 'Succeeded' });
    expect(await wait('--save-baseline', file)).toMatchObject({
      code: 0,
      out: 'baseline deployment: d-DONE00001 (Succeeded)',
    });
    expect(readBaseline(file)).toMatchObject({ deployment: 'd-DONE00001' });

    // Stacks deployed, but CodeDeploy never ran: no deployment, said so.
    deployed(null);
    expect((await wait('--save-baseline', file)).code).toBe(0);
    expect(readBaseline(file)).toMatchObject({ deployment: null, why: expect.stringMatching(/no deployment/) });

    // Before the very first deploy there is no alias to ask: no deployment either, said so.
    for (const mock of mocks) mock.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
    lambda
      .on(GetAliasCommand)
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    expect((await wait('--save-baseline', file)).code).toBe(0);
    expect(readBaseline(file)).toMatchObject({ deployment: null, why: expect.stringMatching(/first deploy/) });
  });

  it(
    '--save-baseline exits 1 and leaves no baseline when the status cannot be read, after a second try an ' +
      '--interval later',
    async () => {
      const file = path.join(dir, 'baseline');
      lambda.on(GetAliasCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      const run = await wait('--save-baseline', file, '--interval', '5s');
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/rollout wait: cannot read the rollout status .*Rate exceeded.*: no baseline saved/);
      expect(run.sleeps).toEqual([5000]);
      expect(existsSync(file)).toBe(false);
    },
  );

  it('--save-baseline exits 1 and writes nothing without AWS credentials, saying how to configure them', async () => {
    const file = path.join(dir, 'baseline');
    sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    const run = await wait('--save-baseline', file);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /cannot read the rollout status \(no AWS credentials found .*aws configure.*\): no baseline saved/,
    );
    expect(existsSync(file)).toBe(false);
  });

  it('--save-baseline exits 1 at once, naming the file, when it cannot write it', async () => {
    const file = path.join(dir, 'no-such-folder', 'baseline');
    const run = await wait('--save-baseline', file);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(new RegExp(`^rollout wait: cannot write the baseline file ${file} \\(ENOENT: [^)]*\\)`));
    expect(sts.calls()).toHaveLength(0);
    await expect(saveBaseline({ file: dir, readStatus: async () => status('d-1') })).rejects.toThrow(
      /cannot write the baseline file .* \(EISDIR/,
    );
  });

  it(
    '--baseline exits 1, naming the file, when it is ' + 'missing or broken, instead of waiting for any deployment',
    async () => {
      const missing = await wait('--baseline', path.join(dir, 'absent'));
      expect(missing.code).toBe(1);
      expect(missing.err).toContain(
        `baseline file ${path.join(dir, 'absent')} does not exist: run \`npm run rollout -- wait --save-baseline`,
      );
      expect(missing.out).not.toMatch(/waiting/);
      expect(() => readBaseline(dir)).toThrow(/cannot read the baseline file .* \(EISDIR/);
      for (const text of [
        'none\n',
        'd-123\n',
        '',
        '{"deployment":5}',
        '{"schema":1,"deployment":null}',
        '{"schema":1,"deployment":""}',
      ]) {
        writeFileSync(path.join(dir, 'broken'), text);
        const broken = await wait('--baseline', path.join(dir, 'broken'));
        expect([text, broken.code]).toEqual([text, 1]);
        expect(broken.err).toMatch(/baseline file .*broken is not a baseline --save-baseline wrote/);
      }
      expect(sts.calls()).toHaveLength(0);
    },
  );

  it('--baseline: exits 0 once a newer deployment succeeded, 1 when it rolled back', async () => {
    deployed({ id: 'd-NEW000001', status: 'Succeeded' });
    const passed = await wait('--baseline', baselineNaming('d-OLD000001'));
    expect(passed.code).toBe(0);
    expect(passed.out).toMatch(
      /^waiting up to 294m for a deployment newer than d-OLD000001 to end\n.*d-NEW000001 succeeded$/s,
    );

    deployed({ id: 'd-NEW000002', status: 'Stopped' });
    const rolledBack = await wait('--baseline', baselineNaming('d-OLD000001'), '--timeout', '40m');
    expect(rolledBack.code).toBe(1);
    expect(rolledBack.out).toMatch(/^waiting up to 40m .*d-NEW000002 ended Stopped: the rollout was rolled back$/s);
  });

  it(
    '--baseline: passes once the baseline stayed newest for --settle, and fails at --timeout while ' +
      'a deployment runs',
    async () => {
      deployed({ id: 'd-OLD000001', status: 'Succeeded' });
      const none = await wait('--baseline', baselineNaming('d-OLD000001'), '--settle', '1m', '--interval', '15s');
      expect(none.code).toBe(0);
      expect(none.sleeps).toEqual([15_000, 15_000, 15_000, 15_000]);
      expect(none.out).toMatch(/no deployment newer than d-OLD000001 after 1m: this deploy started none$/);

      deployed({ id: 'd-NEW000001', status: 'InProgress' });
      const late = await wait('--baseline', baselineNaming('d-OLD000001'), '--timeout', '5m', '--interval', '1m');
      expect(late.code).toBe(1);
      expect(late.err).toBe(
        'rollout wait: the rollout did not end within 5m (last: d-NEW000001 InProgress); see ' +
          '`npm run rollout -- status`.',
      );
    },
  );

  it.each([
    ['--timeout', '10', 'expected a duration with its unit (500ms, 90s, 10m, 1h, 1d), got "10"'],
    ['--timeout', '30s', 'expected a duration from 1m to 24h, got "30s"'],
    ['--interval', '0s', 'expected a duration from 1s to 1h, got "0s"'],
    ['--settle', '2h', 'expected a duration from 1s to 1h, got "2h"'],
  ])(
    '%s %s is a usage error (exit 2) saying what to write, not a wait that never ends',
    async (flag, value, message) => {
      const run = await wait(flag, value, '--baseline', '/nonexistent/baseline');
      expect(run.code).toBe(2);
      expect(run.err).toContain(`error: option '${flag} <duration>' argument '${value}' is invalid. ${message}.`);
      expect(run.err).toContain('(run with --help for usage and examples)');
    },
  );

  it('--save-baseline and --baseline are two steps: both at once is a usage error', async () => {
    const run = await wait('--save-baseline', path.join(dir, 'a'), '--baseline', path.join(dir, 'b'));
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/option '--save-baseline <file>' cannot be used with option '--baseline <file>'/);
    expect(existsSync(path.join(dir, 'a'))).toBe(false);
  });
});

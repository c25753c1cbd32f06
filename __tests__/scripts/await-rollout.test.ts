import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient, GetDeploymentCommand, GetDeploymentGroupCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { CloudFrontClient, DescribeKeyValueStoreCommand as DescribeStoreByName } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, DescribeKeyValueStoreCommand, GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig, parseConfig, resourceNames } from '../../config';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { versionDescription } from '../../contracts/version-description';
import {
  awaitRollout,
  defaultTimeoutMinutes,
  parseStatus,
  readBaseline,
  rolloutOutcome,
  saveBaseline,
  statusFromCli,
  wholeNumberFlag,
  type RolloutStatus,
} from '../../scripts/await-rollout';
import { runRolloutCli, type RolloutClients } from '../../scripts/lib/rollout-cli';
import { lambdaDeployment } from '../regional-function/aws-fixtures';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const CONFIG_FILE = path.join(PROJECT_ROOT, 'deploy.config.json');

const status = (id: string | null, state = 'InProgress'): RolloutStatus => ({ deployment: id ? { id, status: state } : null });

/** A clock that moves only when the poller sleeps. */
function fakeTime() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe('await-rollout', () => {
  it('reads the status JSON the rollout CLI prints, and says what is wrong with anything else', () => {
    expect(parseStatus('{"deployment":{"id":"d-1","status":"Baking","weight":10000},"stable":"x"}')).toMatchObject({ deployment: { id: 'd-1', status: 'Baking' } });
    expect(parseStatus('{"deployment":null}')).toEqual({ deployment: null });
    expect(() => parseStatus('> edge-widget@0.1.0 rollout')).toThrow(/printed no JSON/);
    expect(() => parseStatus('{"state":"ok"}')).toThrow(/has no deployment \{id, status\}/);
  });

  it('keeps reading a status that lists problems, unless it cannot show the deployment', () => {
    const withProblems = '{"deployment":{"id":"d-2","status":"InProgress"},"problems":["rollout record does not exist"]}';
    expect(statusFromCli(1, withProblems, '')).toMatchObject({ deployment: { id: 'd-2' } });
    expect(() => statusFromCli(1, '{"deployment":null,"problems":["cannot read deployments: throttled"]}', '')).toThrow(/exited with 1: .*cannot read deployments/);
    expect(statusFromCli(0, '{"deployment":null}', '')).toEqual({ deployment: null });
    expect(() => statusFromCli(1, '{"error":"no AWS credentials found"}', 'npm error code 1')).toThrow(/exited with 1: npm error code 1/);
  });

  it('judges only a deployment newer than the baseline', () => {
    expect(rolloutOutcome(status('d-1', 'Failed'), 'd-1')).toMatchObject({ state: 'waiting', started: false });
    expect(rolloutOutcome(status('d-2', 'InProgress'), 'd-1')).toMatchObject({ state: 'waiting', started: true });
    expect(rolloutOutcome(status('d-2', 'Succeeded'), 'd-1')).toMatchObject({ state: 'succeeded', deploymentId: 'd-2' });
    expect(rolloutOutcome(status('d-2', 'Failed'), null)).toMatchObject({ state: 'rolled-back', detail: 'd-2 ended Failed: the rollout was rolled back' });
    expect(rolloutOutcome(status('d-2', 'Stopped'), 'd-1').state).toBe('rolled-back');
  });

  it('polls until the new deployment ends', async () => {
    const clock = fakeTime();
    const statuses = [status('d-1', 'Succeeded'), status('d-2', 'InProgress'), status('d-2', 'InProgress'), status('d-2', 'Failed')];
    const lines: string[] = [];
    const outcome = await awaitRollout({ readStatus: async () => statuses.shift()!, baseline: 'd-1', timeoutMs: 3_600_000, intervalMs: 20_000, settleMs: 120_000, ...clock, log: (line) => lines.push(line) });
    expect(outcome).toMatchObject({ state: 'rolled-back', deploymentId: 'd-2' });
    expect(lines).toEqual(['newest is still d-1 (Succeeded), from before this deploy', 'd-2 InProgress']);
  });

  it('passes when the deploy started no deployment, once the status has settled', async () => {
    const clock = fakeTime();
    const outcome = await awaitRollout({ readStatus: async () => status('d-1', 'Succeeded'), baseline: 'd-1', timeoutMs: 3_600_000, intervalMs: 20_000, settleMs: 120_000, ...clock });
    expect(outcome.state).toBe('no-new-deployment');
    expect(clock.now()).toBe(120_000);
  });

  it('gives up at the timeout, and after repeated unreadable statuses', async () => {
    const clock = fakeTime();
    await expect(awaitRollout({ readStatus: async () => status('d-2', 'InProgress'), baseline: 'd-1', timeoutMs: 600_000, intervalMs: 20_000, settleMs: 0, ...clock })).rejects.toThrow(
      /did not end within 10 minutes \(last: d-2 InProgress\)/,
    );
    let reads = 0;
    const flaky = async () => {
      reads += 1;
      if (reads <= 2) throw new Error('throttled');
      return reads === 3 ? status('d-2', 'InProgress') : status('d-2', 'Succeeded');
    };
    await expect(awaitRollout({ readStatus: flaky, baseline: 'd-1', timeoutMs: 600_000, intervalMs: 1, settleMs: 0, ...fakeTime(), maxReadFailures: 3 })).resolves.toMatchObject({ state: 'succeeded' });
    await expect(awaitRollout({ readStatus: () => Promise.reject(new Error('no credentials')), baseline: null, timeoutMs: 600_000, intervalMs: 1, settleMs: 0, ...fakeTime(), maxReadFailures: 3 })).rejects.toThrow('no credentials');
  });

  it('waits as long as the configured rollout takes, plus the alarm window and a margin', () => {
    const config = loadConfig(path.resolve(__dirname, '..', '..', 'deploy.config.json'));
    // linear 10 % every minute: the last step at minute 9; alarm 3 × 60 s; 15 minutes margin.
    expect(defaultTimeoutMinutes(config)).toBe(9 + 3 + 15);
    const canary = parseConfig({ domain: 'w.example.com', hostedZone: { name: 'example.com' }, primaryRegion: 'us-east-1', regions: ['us-east-1'], rollout: { strategy: 'canary', percent: 10, intervalMinutes: 30 } });
    expect(defaultTimeoutMinutes(canary)).toBe(30 + 3 + 15);
  });
});

/**
 * The baseline is what tells this deploy's deployment from the one before it. A baseline that is
 * missing, unreadable or broken must stop the job; only a history that really is empty (nothing
 * deployed yet) may be recorded as "no deployment", and it is written as such.
 */
describe('await-rollout baseline', () => {
  const config = loadConfig(CONFIG_FILE);
  const names = resourceNames(config);
  const lambda = mockClient(LambdaClient);
  const codedeploy = mockClient(CodeDeployClient);
  const cloudfront = mockClient(CloudFrontClient);
  const kvs = mockClient(CloudFrontKeyValueStoreClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const sts = mockClient(STSClient);
  const mocks = [lambda, codedeploy, cloudfront, kvs, cloudwatch, sts];
  const BUILD = '0123456789abcdef';
  const STORE_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-4000-8000-000000000000';
  let dir: string;

  /** `rollout status --json`, in this process, against the mocked AWS SDK. */
  async function readStatus(): Promise<RolloutStatus> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRolloutCli(['status', '--json'], {
      loadConfig: () => config,
      createClients: () =>
        ({
          lambda: new LambdaClient({ region: 'us-east-1' }),
          codedeploy: new CodeDeployClient({ region: 'us-east-1' }),
          cloudfront: new CloudFrontClient({ region: 'us-east-1' }),
          kvs: new CloudFrontKeyValueStoreClient({ region: 'us-east-1' }),
          cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
          sts: new STSClient({ region: 'us-east-1' }),
          s3For: (region: string) => new S3Client({ region }),
        }) as RolloutClients,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return statusFromCli(code, out.join('\n'), err.join('\n'));
  }

  /** The stacks deployed, alias `live` on version 1; `last` is the group's last deployment, if any. */
  function deployed(last: { id: string; status: 'Succeeded' | 'Failed' } | null): void {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '1', RevisionId: 'rev-1' });
    lambda.on(GetFunctionConfigurationCommand).resolves({ Description: versionDescription(BUILD) });
    cloudfront.on(DescribeStoreByName).resolves({ KeyValueStore: { Name: names.rolloutStore, Id: 'x', ARN: STORE_ARN, Comment: '', LastModifiedTime: new Date() }, ETag: 'E1' });
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'K1', KvsARN: STORE_ARN });
    kvs.on(GetKeyCommand).resolves({ Key: 'rollout', Value: formatRolloutState(steadyState(BUILD)) });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: names.clientErrorAlarm, StateValue: 'OK' }, { AlarmName: names.edgeErrorAlarm, StateValue: 'OK' }] });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    codedeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: last ? { lastAttemptedDeployment: { deploymentId: last.id, status: last.status } } : {} });
    if (last) codedeploy.on(GetDeploymentCommand, { deploymentId: last.id }).resolves(lambdaDeployment({ from: '1', to: '1', status: last.status, completeTime: new Date('2026-11-26T10:10:00Z') }));
  }

  beforeEach(() => {
    mocks.forEach((mock) => mock.reset());
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
    dir = mkdtempSync(path.join(tmpdir(), 'baseline-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => mocks.forEach((mock) => mock.restore()));

  it('--save-baseline records the newest deployment, and an empty history explicitly', async () => {
    const file = path.join(dir, 'baseline');
    deployed({ id: 'd-DONE00001', status: 'Succeeded' });
    await expect(saveBaseline({ file, readStatus })).resolves.toMatchObject({ deployment: 'd-DONE00001' });
    expect(readBaseline(file)).toMatchObject({ deployment: 'd-DONE00001' });

    // Stacks deployed, but CodeDeploy never ran: no deployment, said so.
    deployed(null);
    await saveBaseline({ file, readStatus });
    expect(readBaseline(file)).toMatchObject({ deployment: null, why: expect.stringMatching(/no deployment/) });

    // Before the very first deploy there is no alias to ask: no deployment either, said so.
    mocks.forEach((mock) => mock.reset());
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
    lambda.on(GetAliasCommand).rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    await saveBaseline({ file, readStatus });
    expect(readBaseline(file)).toMatchObject({ deployment: null, why: expect.stringMatching(/first deploy/) });
    expect(() => readBaseline(path.join(dir, 'never-saved'))).toThrow(/does not exist/);
  });

  it('--save-baseline fails, and leaves no baseline, when the status cannot be read', async () => {
    const file = path.join(dir, 'baseline');
    lambda.on(GetAliasCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const sleeps: number[] = [];
    await expect(saveBaseline({ file, readStatus, attempts: 2, retryMs: 5000, sleep: async (ms) => void sleeps.push(ms) })).rejects.toThrow(
      /cannot read the rollout status .*Rate exceeded.*: no baseline saved/,
    );
    expect(sleeps).toEqual([5000]);
    expect(existsSync(file)).toBe(false);
  });

  it('--save-baseline fails before asking anything when it cannot write the file', async () => {
    let asked = false;
    const ask = async () => ((asked = true), status('d-1'));
    await expect(saveBaseline({ file: path.join(dir, 'no-such-folder', 'baseline'), readStatus: ask })).rejects.toThrow(/cannot write the baseline file .*no-such-folder\/baseline \(ENOENT/);
    await expect(saveBaseline({ file: dir, readStatus: ask })).rejects.toThrow(/cannot write the baseline file .* \(EISDIR/);
    expect(asked).toBe(false);
  });

  it('--baseline refuses a file that is missing, unreadable or not one --save-baseline wrote', () => {
    expect(() => readBaseline(path.join(dir, 'absent'))).toThrow(new RegExp(`baseline file ${dir}/absent does not exist: run \`npm run await-rollout -- --save-baseline`));
    expect(() => readBaseline(dir)).toThrow(/cannot read the baseline file .* \(EISDIR/);
    for (const text of ['none\n', 'd-123\n', '', '{"deployment":5}', '{"schema":1,"deployment":null}', '{"schema":1,"deployment":""}']) {
      writeFileSync(path.join(dir, 'broken'), text);
      expect(() => readBaseline(path.join(dir, 'broken'))).toThrow(/is not a baseline --save-baseline wrote/);
    }
  });

  it('CLI: --save-baseline exits 1 and writes nothing when AWS cannot be asked', async () => {
    const file = path.join(dir, 'baseline');
    const run = await awaitRolloutCli(['--save-baseline', file, '--interval-seconds', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read the rollout status .*no AWS credentials.*: no baseline saved/);
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('CLI: --save-baseline exits 1 at once, naming the file, when it cannot write it', async () => {
    const file = path.join(dir, 'no-such-folder', 'baseline');
    const run = await awaitRolloutCli(['--save-baseline', file]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(new RegExp(`^cannot write the baseline file ${file} \\(ENOENT: [^)]*\\)`));
    expect(run.stderr).not.toMatch(/credentials/);
  });

  it('CLI: --baseline exits 1, naming the file, when it is missing or broken, instead of waiting for any deployment', async () => {
    const missing = await awaitRolloutCli(['--baseline', path.join(dir, 'absent'), '--interval-seconds', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`baseline file ${path.join(dir, 'absent')} does not exist`);
    expect(missing.stdout).not.toMatch(/waiting/);
    writeFileSync(path.join(dir, 'old'), 'none\n');
    const broken = await awaitRolloutCli(['--baseline', path.join(dir, 'old'), '--interval-seconds', '1']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/baseline file .*old is not a baseline --save-baseline wrote/);
  });
});

describe('await-rollout numeric flags', () => {
  it.each([
    ['--timeout-minutes', 'minutes', 1, 1440],
    ['--interval-seconds', 'seconds', 1, 3600],
    ['--settle-seconds', 'seconds', 1, 3600],
  ])('CLI: %s takes a whole number of %s, and says so instead of waiting forever', async (flag, unit, min, max) => {
    const run = await awaitRolloutCli([flag, '10m', '--baseline', '/nonexistent/baseline']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`${flag} takes a whole number of ${unit} from ${min} to ${max}; got "10m".`);
  });

  it('accepts only whole numbers in range', () => {
    expect(wholeNumberFlag('--settle-seconds', '120', 'seconds', 1, 3600)).toBe(120);
    expect(wholeNumberFlag('--settle-seconds', '3600', 'seconds', 1, 3600)).toBe(3600);
    for (const value of ['10m', '0', '-5', '1.5', '1e3', '0x10', ' 7', '', 'NaN', 'Infinity', '3601', '99999999999999999999']) {
      expect(() => wholeNumberFlag('--settle-seconds', value, 'seconds', 1, 3600)).toThrow(`--settle-seconds takes a whole number of seconds from 1 to 3600; got ${JSON.stringify(value)}.`);
    }
  });
});

/**
 * The CLI in a child process without AWS credentials; killed (with what it started) after
 * `timeoutMs`, so a wait that never ends fails the test instead of outliving it.
 */
async function awaitRolloutCli(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'await-rollout.ts'), ...args], {
    cwd: PROJECT_ROOT,
    detached: true,
    env: { PATH: process.env.PATH, HOME: '/nonexistent', NODE_NO_WARNINGS: '1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

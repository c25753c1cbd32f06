import * as path from 'node:path';
import { loadConfig, parseConfig } from '../../config';
import { awaitRollout, defaultTimeoutMinutes, parseStatus, rolloutOutcome, statusFromCli, type RolloutStatus } from '../../scripts/await-rollout';

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

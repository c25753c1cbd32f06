import { parseConfig } from '../../config';
import { rolloutSteps } from '../../config/rollout';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { METRIC_ERRORS, METRIC_LOADS } from '../../regional-function/shared/metric-names';
import { evaluateErrorAlarm, type MetricSample } from '../../scripts/local/alarm';
import { advance, aliasBuilds, initialState, publishVersion, rollBack, startDeployment } from '../../scripts/local/codedeploy-simulator';
import { ControlPlane, scaledClock } from '../../scripts/local/control-plane';
import { formatStatusLine } from '../../scripts/local/status-line';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const MINUTE = 60_000;
const config = parseConfig(
  { domain: 'widget.example.com', hostedZone: { name: 'example.com' }, primaryRegion: 'us-east-1', regions: ['us-east-1'], rollout: { strategy: 'linear', percent: 10, intervalMinutes: 1 } },
  'test',
  {},
);
const rule = { errorRatePercent: 5, minLoads: 50, periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 };

function samples(buildId: string, at: number, loads: number, errors: number): MetricSample[] {
  return [
    { at, metricName: METRIC_LOADS, buildId, value: loads },
    { at, metricName: METRIC_ERRORS, buildId, value: errors },
  ];
}

describe('local alarm', () => {
  it('fires on datapointsToAlarm of evaluationPeriods periods above the rate, counting only the build it watches', () => {
    const data = [...samples(B, 0, 100, 10), ...samples(B, MINUTE, 100, 1), ...samples(A, MINUTE, 100, 90)];
    expect(evaluateErrorAlarm(data, B, rule, MINUTE + 1).state).toBe('OK');
    const verdict = evaluateErrorAlarm([...data, ...samples(B, 2 * MINUTE, 100, 6)], B, rule, 2 * MINUTE + 1);
    expect(verdict.state).toBe('ALARM');
    expect(verdict.periods.map((p) => p.rate)).toEqual([10, 1, 6]);
  });

  it('counts a period below the minimum sample as 0, as the stack’s IF(loads >= min) does', () => {
    const data = [...samples(B, 0, 49, 49), ...samples(B, MINUTE, 49, 49)];
    const verdict = evaluateErrorAlarm(data, B, rule, MINUTE + 1);
    expect(verdict.state).toBe('OK');
    expect(verdict.periods.every((p) => p.rate === 0)).toBe(true);
  });

  it('forgets periods that left the window', () => {
    const data = [...samples(B, 0, 100, 50), ...samples(B, MINUTE, 100, 50)];
    expect(evaluateErrorAlarm(data, B, rule, 2 * MINUTE).state).toBe('ALARM');
    expect(evaluateErrorAlarm(data, B, rule, 4 * MINUTE).state).toBe('OK');
  });
});

describe('simulated CodeDeploy', () => {
  const steps = rolloutSteps(config.rollout);

  it('shifts the alias by the configured steps and finishes on the new version', () => {
    const { state: published, version } = publishVersion(initialState(A), B);
    let state = startDeployment(published, version, steps, 0);
    expect(aliasBuilds(state)).toEqual({ stable: { version: '1', buildId: A }, canary: { version: '2', buildId: B, weight: 1000 } });
    state = advance(state, 3.5 * MINUTE);
    expect(state.canaryWeight).toBe(4000);
    state = advance(state, 10 * MINUTE);
    expect(aliasBuilds(state)).toEqual({ stable: { version: '2', buildId: B }, canary: null });
    expect(state.deployment?.status).toBe('Succeeded');
  });

  it('rolls the alias back to where the deployment started, and refuses a second deployment while one runs', () => {
    const { state: published, version } = publishVersion(initialState(A), B);
    const running = advance(startDeployment(published, version, steps, 0), 5 * MINUTE);
    expect(() => startDeployment(running, version, steps, 5 * MINUTE)).toThrow(/d-LOCAL0001 is in progress/);
    const back = rollBack(running, 6 * MINUTE, 'alarm', 'Failed');
    expect(aliasBuilds(back)).toEqual({ stable: { version: '1', buildId: A }, canary: null });
    expect(back.deployment).toMatchObject({ status: 'Failed', error: 'alarm' });
    expect(advance(back, 20 * MINUTE)).toBe(back);
  });
});

describe('control plane', () => {
  function plane(now: { t: number }) {
    const written: string[] = [];
    let stored: string | undefined;
    const store = { read: () => stored, write: (text: string) => void written.push((stored = text)) };
    const control = new ControlPlane({ config, initialBuildId: A, clock: { now: () => now.t }, alarm: rule, store });
    return { control, written, edit: (text: string) => (stored = text) };
  }
  const beacon = (buildId: string, events: { name: string }[]) => ({
    method: 'POST',
    headers: { origin: 'http://127.0.0.1:8081', 'content-type': 'text/plain;charset=UTF-8' },
    body: JSON.stringify({ v: 1, buildId, events }),
    isBase64Encoded: false,
  });

  it('writes what rollout sync’s core makes of the alias, salted by the deployment, only when it changes', () => {
    const now = { t: 0 };
    const { control, written } = plane(now);
    expect(written).toEqual([formatRolloutState(steadyState(A))]);
    const { deploymentId } = control.release(B);
    now.t = 2 * MINUTE;
    control.tick();
    control.tick();
    expect(written.slice(1)).toEqual([
      formatRolloutState({ stable: A, canary: B, weight: 1000, salt: deploymentId, ring: [] }),
      formatRolloutState({ stable: A, canary: B, weight: 3000, salt: deploymentId, ring: [] }),
    ]);
    now.t = 11 * MINUTE;
    expect(parseRolloutState(control.tick().state)).toEqual(steadyState(B));
  });

  it('keeps a ring edited in the store while it syncs', () => {
    const now = { t: 0 };
    const { control, edit } = plane(now);
    edit(formatRolloutState({ ...steadyState(A), ring: ['http://127.0.0.1:8081'] }));
    control.release(B);
    expect(parseRolloutState(control.status().state)?.ring).toEqual(['http://127.0.0.1:8081']);
  });

  it('rolls back when the beacons of the canary push its error rate over the alarm', async () => {
    const now = { t: 0 };
    const { control } = plane(now);
    control.release(B);
    for (const minute of [0, 1]) {
      now.t = minute * MINUTE + 1000;
      for (let i = 0; i < 60; i += 1) expect((await control.metricsApi(beacon(B, [{ name: 'load' }, ...(i < 6 ? [{ name: 'error' }] : [])]))).statusCode).toBe(204);
      control.tick();
    }
    const status = control.status();
    expect(status.deployment).toMatchObject({ status: 'Failed', error: expect.stringMatching(/^alarm: 2 of the last 3 periods above 5%/) });
    expect(parseRolloutState(status.state)).toEqual(steadyState(A));
    const served = { entryByBuild: { [A]: 3, [B]: 1 }, entryHits: 3, entryMisses: 1, chunkHits: 0, chunkMisses: 0, routerInvocations: { entry: 1, chunks: 0 }, functionRuns: 4, functionFallbacks: 0, originRequests: {}, failovers: 0, handlerErrors: 0, invalidResults: 0 };
    expect(formatStatusLine(status, served)).toBe(
      'stable aaaaaaaa (v1) | no canary | served aaaaaaaa×3 bbbbbbbb×1 | d-LOCAL0001 Failed | alarm ALARM',
    );
  });

  it('refuses beacons from origins the config does not allow, and keeps no metric from them', async () => {
    const now = { t: 0 };
    const { control } = plane(now);
    control.release(B);
    const refused = await control.metricsApi({ ...beacon(B, [{ name: 'error' }]), headers: { origin: 'https://evil.example.net', 'content-type': 'text/plain' } });
    expect(refused.statusCode).toBe(403);
    expect(control.tick().alarm?.periods.every((p) => p.loads === 0 && p.errors === 0)).toBe(true);
  });

  it('runs its clock faster by the time scale', () => {
    let real = 1000;
    const clock = scaledClock(60, () => real);
    real += 1000;
    expect(clock.now()).toBe(1000 + 60_000);
    expect(() => scaledClock(0)).toThrow(/positive/);
  });
});

import { parseConfig } from '../../config';
import { rolloutSteps } from '../../config/rollout';
import { assignBuild } from '../../contracts/assignment';
import { DIMENSION_ROLE, METRIC_ERRORING_VIEWERS, METRIC_VIEWERS, type Role } from '../../contracts/release-signal';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { evaluateReleaseAlarm } from '../../local/alarm';
import { advance, aliasBuilds, initialState, publishVersion, rollBack, startDeployment } from '../../local/codedeploy-simulator';
import { ControlPlane, scaledClock } from '../../local/control-plane';
import { datapointsOf, LocalMetricStore } from '../../local/metric-store';
import { formatStatusLine } from '../../local/status-line';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const MINUTE = 60_000;
const NS = 'EdgeWidget';
const config = parseConfig({ domain: 'widget.example.com', hostedZone: { name: 'example.com' }, primaryRegion: 'us-east-1', regions: ['us-east-1'], rollout: { strategy: 'linear', percent: 10, intervalMinutes: 1 } }, 'test', {});
const rule = { excessErrorPercent: 5, minViewers: 50, periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 };

/** Viewers and erroring viewers of a role in the period starting at `at`, as the metrics API emits them. */
function period(store: LocalMetricStore, role: Role, at: number, viewers: number, erroring: number): void {
  store.add({ namespace: NS, metricName: METRIC_VIEWERS, dimensions: { [DIMENSION_ROLE]: role }, value: viewers, at });
  store.add({ namespace: NS, metricName: METRIC_ERRORING_VIEWERS, dimensions: { [DIMENSION_ROLE]: role }, value: erroring, at });
}

describe('local alarm', () => {
  it('fires on datapointsToAlarm of evaluationPeriods periods where the canary is worse than stable by more than the margin', () => {
    const store = new LocalMetricStore();
    period(store, 'canary', 0, 100, 10);
    period(store, 'stable', 0, 900, 9);
    period(store, 'canary', MINUTE, 100, 3);
    period(store, 'stable', MINUTE, 900, 9);
    expect(evaluateReleaseAlarm(store, NS, rule, MINUTE + 1).state).toBe('OK');
    period(store, 'canary', 2 * MINUTE, 100, 7);
    period(store, 'stable', 2 * MINUTE, 900, 9);
    const verdict = evaluateReleaseAlarm(store, NS, rule, 2 * MINUTE + 1);
    expect(verdict.state).toBe('ALARM');
    expect(verdict.periods.map((p) => p.result)).toEqual([9, 2, 6]);
  });

  it('does not fire when the stable build fails as much (the host page broke, not the release)', () => {
    const store = new LocalMetricStore();
    for (const at of [0, MINUTE]) {
      period(store, 'canary', at, 100, 30);
      period(store, 'stable', at, 900, 270);
    }
    expect(evaluateReleaseAlarm(store, NS, rule, MINUTE + 1).state).toBe('OK');
  });

  it('counts a period below the minimum of canary viewers as 0, as the stack’s IF(canary_viewers >= min) does', () => {
    const store = new LocalMetricStore();
    period(store, 'canary', 0, 49, 49);
    period(store, 'canary', MINUTE, 49, 49);
    const verdict = evaluateReleaseAlarm(store, NS, rule, MINUTE + 1);
    expect(verdict.state).toBe('OK');
    expect(verdict.periods.every((p) => p.result === 0)).toBe(true);
  });

  it('forgets periods that left the window', () => {
    const store = new LocalMetricStore();
    period(store, 'canary', 0, 100, 50);
    period(store, 'canary', MINUTE, 100, 50);
    expect(evaluateReleaseAlarm(store, NS, rule, 2 * MINUTE).state).toBe('ALARM');
    expect(evaluateReleaseAlarm(store, NS, rule, 4 * MINUTE).state).toBe('OK');
  });

  it('reads datapoints out of EMF documents as CloudWatch does: one per metric and dimension set', () => {
    const document = {
      _aws: {
        Timestamp: 5,
        CloudWatchMetrics: [
          {
            Namespace: NS,
            Dimensions: [['Role']],
            Metrics: [
              { Name: 'Viewers', Unit: 'Count' },
              { Name: 'ErroringViewers', Unit: 'Count' },
            ],
          },
        ],
      },
      Role: 'canary',
      Viewers: 1,
      ErroringViewers: 1,
      buildId: B,
    };
    expect(datapointsOf(document)).toEqual([
      { namespace: NS, metricName: 'Viewers', dimensions: { Role: 'canary' }, value: 1, at: 5 },
      { namespace: NS, metricName: 'ErroringViewers', dimensions: { Role: 'canary' }, value: 1, at: 5 },
    ]);
    expect(() => datapointsOf({ Viewers: 1 })).toThrow('not an embedded metric format document');
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
  const SECRET = 'local-test-secret';
  function plane(now: { t: number }) {
    const written: string[] = [];
    let stored: string | undefined;
    const store = {
      read: () => stored,
      write: (text: string) => {
        stored = text;
        written.push(text);
      },
    };
    const control = new ControlPlane({ config, initialBuildId: A, clock: { now: () => now.t }, alarm: rule, store, originSecret: SECRET });
    return { control, written, edit: (text: string) => (stored = text) };
  }
  const beacon = (buildId: string, events: { name: string }[], ip: string) => ({
    method: 'POST',
    headers: { origin: 'http://127.0.0.1:8081', 'content-type': 'text/plain;charset=UTF-8', 'x-origin-verify': SECRET, 'cloudfront-viewer-address': `${ip}:5000` },
    body: JSON.stringify({ v: 1, buildId, events }),
    isBase64Encoded: false,
  });
  /** The first `count` addresses the state assigns to `buildId`. */
  function viewersOf(control: ControlPlane, buildId: string, count: number): string[] {
    const state = parseRolloutState(control.status().state)!;
    const found: string[] = [];
    for (let n = 0; found.length < count; n += 1) {
      const ip = `10.${(n >> 8) & 255}.${n & 255}.${1 + (n >> 16)}`;
      if (assignBuild(state, ip, null) === buildId) found.push(ip);
    }
    return found;
  }

  it('writes what rollout sync’s core makes of the alias, salted by the deployment, only when it changes', () => {
    const now = { t: 0 };
    const { control, written } = plane(now);
    expect(written).toEqual([formatRolloutState(steadyState(A))]);
    const { deploymentId } = control.release(B);
    now.t = 2 * MINUTE;
    control.tick();
    control.tick();
    expect(written.slice(1)).toEqual([formatRolloutState({ stable: A, canary: B, weight: 1000, salt: deploymentId, ring: [] }), formatRolloutState({ stable: A, canary: B, weight: 3000, salt: deploymentId, ring: [] })]);
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

  it('rolls back when the canary’s viewers report errors far more often than the stable build’s', async () => {
    const now = { t: 0 };
    const { control } = plane(now);
    control.release(B);
    for (const minute of [0, 1]) {
      now.t = minute * MINUTE + 1000;
      const canary = viewersOf(control, B, 60);
      const stable = viewersOf(control, A, 200);
      for (const [i, ip] of canary.entries()) expect((await control.metricsApi(beacon(B, [{ name: 'load' }, ...(i < 12 ? [{ name: 'error' }] : [])], ip))).statusCode).toBe(204);
      for (const [i, ip] of stable.entries()) expect((await control.metricsApi(beacon(A, [{ name: 'load' }, ...(i < 2 ? [{ name: 'error' }] : [])], ip))).statusCode).toBe(204);
      control.tick();
    }
    const status = control.status();
    expect(status.deployment).toMatchObject({ status: 'Failed', error: expect.stringMatching(/^alarm: 2 of the last 3 periods with the canary's error share more than 5 points above stable/) });
    expect(parseRolloutState(status.state)).toEqual(steadyState(A));
    const served = {
      entryByBuild: { [A]: 3, [B]: 1 },
      entryHits: 3,
      entryMisses: 1,
      chunkHits: 0,
      chunkMisses: 0,
      routerInvocations: { entry: 1, chunks: 0 },
      functionRuns: 4,
      functionFallbacks: 0,
      originRequests: {},
      failovers: 0,
      handlerErrors: 0,
      invalidResults: 0,
    };
    expect(formatStatusLine(status, served)).toBe('stable aaaaaaaa (v1) | no canary | served aaaaaaaa×3 bbbbbbbb×1 | d-LOCAL0001 Failed | alarm ALARM');
  });

  it('counts what it emits through Powertools EMF into its metric store: viewers once, by role', async () => {
    const now = { t: 5000 };
    const { control } = plane(now);
    const [ip] = viewersOf(control, A, 1);
    for (let i = 0; i < 3; i += 1) await control.metricsApi(beacon(A, [{ name: 'load' }, { name: 'error' }], ip));
    expect(control.metrics.sum(NS, METRIC_VIEWERS, { Role: 'stable' }, 0, MINUTE)).toBe(1);
    expect(control.metrics.sum(NS, METRIC_ERRORING_VIEWERS, { Role: 'stable' }, 0, MINUTE)).toBe(1);
  });

  it('refuses beacons without the origin secret or from origins the config does not allow, and keeps no metric from them', async () => {
    const now = { t: 0 };
    const { control } = plane(now);
    control.release(B);
    const [ip] = viewersOf(control, B, 1);
    const refused = await control.metricsApi({ ...beacon(B, [{ name: 'error' }], ip), headers: { ...beacon(B, [], ip).headers, origin: 'https://evil.example.net' } });
    expect(refused.statusCode).toBe(403);
    const direct = await control.metricsApi({ ...beacon(B, [{ name: 'error' }], ip), headers: { ...beacon(B, [], ip).headers, 'x-origin-verify': 'guess' } });
    expect(direct.statusCode).toBe(403);
    expect(control.tick().alarm?.periods.every((p) => p.values.canary_viewers === 0 && p.values.canary_erroring === 0)).toBe(true);
  });

  it('runs its clock faster by the time scale', () => {
    let real = 1000;
    const clock = scaledClock(60, () => real);
    real += 1000;
    expect(clock.now()).toBe(1000 + 60_000);
    expect(() => scaledClock(0)).toThrow(/positive/);
  });
});

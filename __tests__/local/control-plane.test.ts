import { newJudgmentRecord } from '../../contracts/release-progress';
import { parseConfig, resourceNames } from '../../config';
import { rolloutSteps } from '../../config/rollout';
import { KINESIS_ITERATOR_AGE, statePropagationMs, type Role } from '../../contracts/release-signal';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { functionMetrics, periodDocuments, verdictDocument } from '../../regional-function/shared/observability';
import { evaluateAlarm, evaluateReleaseAlarm, unjudgedAlarm } from '../../local/alarm';
import {
  advance,
  aliasBuilds,
  initialState,
  publishVersion,
  rollBack,
  startDeployment,
} from '../../local/codedeploy-simulator';
import { ControlPlane, manualClock, scaledClock } from '../../local/control-plane';
import { datapointsOf, LocalMetricStore } from '../../local/metric-store';
import { LocalTimeline } from '../../local/signal-timeline';
import { formatStatusLine } from '../../local/status-line';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const MINUTE = 60_000;
const NS = 'EdgeWidget';
const config = parseConfig(
  {
    domain: 'widget.example.com',
    hostedZone: { name: 'example.com' },
    primaryRegion: 'us-east-1',
    regions: ['us-east-1'],
    rollout: { strategy: 'linear', percent: 10, intervalMinutes: 1 },
  },
  'test',
  {},
);
const rule = { ...config.alarms, periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 };
const names = resourceNames(config);
const SIGNAL_NAMES = { consumerFunction: names.signalConsumer, stream: names.signalStream };

describe('local alarm', () => {
  it(
    "fires on one 10-second period in which the judge's verdict " +
      "was failing, as the stack's high-resolution alarm does",
    () => {
      const store = new LocalMetricStore();
      // Timestamps near the epoch: Powertools would warn that CloudWatch skips them; the local store takes them.
      const quiet = () => undefined;
      const emitter = functionMetrics(NS, 'test', { debug: quiet, info: quiet, warn: quiet, error: quiet });
      // Silence and healthy looks are not breaching.
      expect(evaluateReleaseAlarm(store, NS, 5_000).state).toBe('OK');
      store.ingest(verdictDocument(emitter, false, 1_000));
      expect(evaluateReleaseAlarm(store, NS, 5_000).state).toBe('OK');
      store.ingest(verdictDocument(emitter, true, 12_000));
      const verdict = evaluateReleaseAlarm(store, NS, 15_000);
      expect(verdict.state).toBe('ALARM');
      expect(verdict.reason).toBe('1 of the last 1 periods with the judge finding the canary failing');
      // Once the consumer stops saying so (the canary is gone), the alarm returns to OK.
      expect(evaluateReleaseAlarm(store, NS, 25_000).state).toBe('OK');
    },
  );

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
    expect(aliasBuilds(state)).toEqual({
      stable: { version: '1', buildId: A },
      canary: { version: '2', buildId: B, weight: 1000 },
    });
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

describe('the unjudged alarm, locally', () => {
  const LATENESS_S = 20;
  const age = (store: LocalMetricStore, at: number, value = 0) =>
    store.add({
      namespace: 'AWS/Kinesis',
      metricName: KINESIS_ITERATOR_AGE,
      dimensions: { StreamName: names.signalStream },
      value,
      at,
    });
  const health = (store: LocalMetricStore, metricName: string, at: number, value = 1) =>
    store.add({ namespace: NS, metricName, dimensions: { Signal: 'entry' }, value, at });
  const verdict = (store: LocalMetricStore, now: number) =>
    evaluateAlarm(unjudgedAlarm(store, NS, LATENESS_S, SIGNAL_NAMES), rule, now);

  it('is OK while the stream is read every period and every period is judged', () => {
    const store = new LocalMetricStore();
    for (const at of [0, MINUTE, 2 * MINUTE]) age(store, at + 5000);
    expect(verdict(store, 2 * MINUTE + 10_000)).toMatchObject({ state: 'OK' });
    expect(verdict(store, 2 * MINUTE + 10_000).periods.map((p) => p.result)).toEqual([0, 0, 0]);
  });

  it('breaches on a period nobody read (missing data), but waits for the one still running', () => {
    const store = new LocalMetricStore();
    age(store, 5000);
    // Period 1 has no iterator age: nothing read the stream. Period 2 is running and has none yet.
    const running = verdict(store, 2 * MINUTE + 10);
    expect(running.periods.map((p) => [p.result, p.breaching])).toEqual([
      [0, false],
      [null, true],
      [null, false],
    ]);
    expect(running.state).toBe('OK');
    // Once period 2 has ended unread too, two of three breach.
    expect(verdict(store, 3 * MINUTE + 10)).toMatchObject({
      state: 'ALARM',
      reason: expect.stringMatching(/^2 of the last 3 periods the signal could not judge/),
    });
  });

  it(
    'breaches on unjudged periods (late records among them), consumer errors, ' +
      'records the full shard refused, and a reader behind by more than the lateness',
    () => {
      const cases: [string, (store: LocalMetricStore, at: number) => void][] = [
        ['UnjudgedPeriods', (store, at) => health(store, 'UnjudgedPeriods', at)],
        [
          'Errors',
          (store, at) =>
            store.add({
              namespace: 'AWS/Lambda',
              metricName: 'Errors',
              dimensions: { FunctionName: names.signalConsumer },
              value: 1,
              at,
            }),
        ],
        ['iterator age', (store, at) => age(store, at + 1, LATENESS_S * 1000 + 1)],
        [
          'WriteProvisionedThroughputExceeded',
          (store, at) =>
            store.add({
              namespace: 'AWS/Kinesis',
              metricName: 'WriteProvisionedThroughputExceeded',
              dimensions: { StreamName: names.signalStream },
              value: 3,
              at: at + 2,
            }),
        ],
      ];
      for (const [what, add] of cases) {
        const store = new LocalMetricStore();
        for (const at of [0, MINUTE, 2 * MINUTE]) age(store, at + 5000);
        add(store, 0);
        add(store, MINUTE);
        expect([what, verdict(store, 2 * MINUTE + 10_000).state]).toEqual([what, 'ALARM']);
      }
      // Exactly the lateness behind is not behind.
      const store = new LocalMetricStore();
      for (const at of [0, MINUTE, 2 * MINUTE]) age(store, at + 5000, LATENESS_S * 1000);
      expect(verdict(store, 2 * MINUTE + 10_000).state).toBe('OK');
    },
  );
});

describe('the timeline of rollout states, locally', () => {
  it(
    'keeps the previous state a candidate for the propagation ' + 'time after each announcement, as announceState does',
    () => {
      const timeline = new LocalTimeline();
      const a = formatRolloutState(steadyState(A));
      const b = formatRolloutState({ stable: A, canary: B, weight: 1000, salt: 'd-LOCAL0001', ring: [] });
      // Terraform's key, found in the store: served since the beginning.
      timeline.announce(a, 500, { propagationMs: 41_000, seenOnly: true });
      timeline.announce(a, 700, { propagationMs: 41_000, seenOnly: true });
      timeline.announce(b, 1000, { propagationMs: 41_000 });
      timeline.announce(b, 2000, { propagationMs: 41_000 });
      expect(timeline.read()).toEqual([
        { state: steadyState(A), from: 0, until: 42_000 },
        { state: parseRolloutState(b), from: 1000, until: null },
      ]);
      // A state nobody announced, seen in the store: served since the one before it began.
      const c = formatRolloutState({ ...steadyState(A), ring: ['http://127.0.0.1:8081'] });
      timeline.announce(c, 5000, { propagationMs: 41_000, seenOnly: true });
      expect(timeline.read().slice(-2)).toEqual([
        { state: parseRolloutState(b), from: 1000, until: 46_000 },
        { state: parseRolloutState(c), from: 1000, until: null },
      ]);
    },
  );
});

describe('control plane', () => {
  function plane(now: { t: number }, options: { watched?: boolean } = {}) {
    const written: string[] = [];
    let stored: string | undefined;
    let control: ControlPlane | undefined;
    const store = {
      read: () => stored,
      write: (text: string) => {
        // Every write was announced to the timeline first, at the time of the write.
        if (control)
          expect(control.timeline.read().at(-1)).toEqual({ state: parseRolloutState(text), from: now.t, until: null });
        stored = text;
        written.push(text);
      },
    };
    control = new ControlPlane({ config, initialBuildId: A, clock: { now: () => now.t }, alarm: rule, store });
    const watch = (at: number) =>
      control!.metrics.add({
        namespace: 'AWS/Kinesis',
        metricName: KINESIS_ITERATOR_AGE,
        dimensions: { StreamName: names.signalStream },
        value: 0,
        at,
      });
    // The stream read in every period of the tests (as the signal runner reports it), unless a test says otherwise.
    if (options.watched !== false) for (let minute = -3; minute < 30; minute += 1) watch(minute * MINUTE + 1);
    return { control, written, edit: (text: string) => (stored = text) };
  }
  // Timestamps near the epoch: Powertools would warn that CloudWatch skips them; the local store takes them.
  const quiet = () => undefined;
  const emitter = functionMetrics(NS, 'test', { debug: quiet, info: quiet, warn: quiet, error: quiet });
  /** What the signal consumer emits for a closed period, into the control plane's store. */
  function closed(
    control: ControlPlane,
    start: number,
    counts: Partial<Record<Role, { viewers: number; erroring: number }>>,
    unjudged: string | null = null,
  ): void {
    const all = {
      canary: { viewers: 0, erroring: 0 },
      stable: { viewers: 0, erroring: 0 },
      ring: { viewers: 0, erroring: 0 },
      preview: { viewers: 0, erroring: 0 },
      ...counts,
    };
    for (const document of periodDocuments(emitter, { start, unjudged, counts: all })) control.metrics.ingest(document);
  }

  /** A judgment record as the consumer keeps it: healthy at these weights, at these times; failing at `failedAt`. */
  function judged(
    control: ControlPlane,
    salt: string,
    healthyAt: Record<string, number>,
    failedAt: number | null = null,
  ): void {
    control.judgments.set(salt, {
      ...newJudgmentRecord({ salt, stable: A, canary: B }),
      healthyAt,
      failedAt,
      failure: failedAt === null ? null : 'failing: the canary errs at least 20 points more than stable',
    });
  }

  it(
    'writes what rollout sync’s core makes of the alias and the judge, salted ' +
      'by the deployment, only when it changes, announcing each state first',
    () => {
      const now = { t: 0 };
      const { control, written } = plane(now);
      expect(written).toEqual([formatRolloutState(steadyState(A))]);
      const { deploymentId } = control.release(B);
      now.t = 2 * MINUTE;
      // No evidence yet: the first step holds past its minute, and says why.
      let status = control.tick();
      expect(parseRolloutState(status.state)?.weight).toBe(1000);
      expect(status.release).toEqual({
        outcome: 'running',
        weight: 1000,
        hold: { reason: 'no evidence yet: no canary viewer counted', since: MINUTE },
      });
      // Judged healthy at 10 % after 30 s: the second step began at its minute, and holds from the second.
      judged(control, deploymentId, { 1000: 30_000 });
      status = control.tick();
      control.tick();
      expect(written.slice(1)).toEqual([
        formatRolloutState({ stable: A, canary: B, weight: 1000, salt: deploymentId, ring: [] }),
        formatRolloutState({ stable: A, canary: B, weight: 2000, salt: deploymentId, ring: [] }),
      ]);
      expect(status.release?.hold?.since).toBe(2 * MINUTE);
      const propagation = statePropagationMs(config.edge);
      expect(control.timeline.read().map(({ from, until }) => [from, until])).toEqual([
        [0, propagation],
        [0, 2 * MINUTE + propagation],
        [2 * MINUTE, null],
      ]);
      // Every step judged as soon as it began: everyone has B at the ninth minute, while CodeDeploy still holds the
      // alias open.
      judged(
        control,
        deploymentId,
        Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => [String(k * 1000), (k - 1) * MINUTE + 1])),
      );
      now.t = 9 * MINUTE;
      status = control.tick();
      expect(parseRolloutState(status.state)).toMatchObject({ stable: A, canary: B, weight: 10000 });
      expect(status.release?.outcome).toBe('complete');
      expect(status.deployment?.status).toBe('InProgress');
    },
  );

  it(
    'ends a release whose step waits past its hold as not ' + 'enough evidence: rolled back, told apart from failed',
    () => {
      const now = { t: 0 };
      const { control } = plane(now);
      control.release(B);
      now.t = MINUTE + config.alarms.holdMinutes * MINUTE;
      const status = control.tick();
      expect(status.deployment).toMatchObject({
        status: 'Stopped',
        error: 'not enough evidence: a step held past its hold time',
      });
      expect(status.release?.outcome).toBe('not-enough-evidence');
      expect(parseRolloutState(status.state)).toEqual(steadyState(A));
    },
  );

  it('keeps a ring edited in the store while it syncs, and puts a state nobody announced into the timeline', () => {
    const now = { t: 0 };
    const { control, edit } = plane(now);
    const ringed = formatRolloutState({ ...steadyState(A), ring: ['http://127.0.0.1:8081'] });
    edit(ringed);
    now.t = 1000;
    control.tick();
    expect(control.timeline.read().at(-1)).toEqual({ state: parseRolloutState(ringed), from: 0, until: null });
    control.release(B);
    expect(parseRolloutState(control.status().state)?.ring).toEqual(['http://127.0.0.1:8081']);
  });

  it(
    'rolls back the moment the judge finds the canary ' + 'failing, and CodeDeploy rolls back on the verdict’s alarm',
    () => {
      const now = { t: 0 };
      const { control } = plane(now);
      const { deploymentId } = control.release(B);
      now.t = 20_000;
      judged(control, deploymentId, {}, 15_000);
      let status = control.tick();
      expect(status.deployment).toMatchObject({
        status: 'Stopped',
        error: 'the judge found the canary failing: failing: the canary errs at least 20 points more than stable',
      });
      expect(status.release?.outcome).toBe('failed');
      expect(parseRolloutState(status.state)).toEqual(steadyState(A));
      // One message for the start, one for the rollback: the build, how far it had got, and why.
      expect(status.notifications.map((n) => n.message.split('\n')[0])).toEqual([
        `Release started: build ${B} at 10 % of viewers, stable ${A}`,
        `Rolled back: build ${B} at 10 % taken off every viewer, stable ${A} stays: the judge ` +
          `found the canary failing: failing: the canary errs at least 20 points more than stable`,
      ]);
      expect(status.notifications[1]!.detail).toMatchObject({ kind: 'release-stopped', canary: B, weightPercent: 10 });

      // The alarm alone (the consumer's verdict metric) rolls a second release back too.
      const second = control.release(B);
      now.t = 40_000;
      control.metrics.ingest(verdictDocument(emitter, true, now.t));
      status = control.tick();
      expect(status.alarm?.state).toBe('ALARM');
      expect(status.deployment).toMatchObject({
        id: second.deploymentId,
        status: 'Failed',
        error: expect.stringMatching(/^alarm: 1 of the last 1 periods with the judge finding the canary failing/),
      });
      expect(parseRolloutState(status.state)).toEqual(steadyState(A));
      expect(status.notifications.slice(2).map((n) => n.detail.kind)).toEqual([
        'release-started',
        'release-failed',
        'alarm',
      ]);
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
      expect(formatStatusLine(status, served)).toBe(
        'stable aaaaaaaa (v1) | no canary | served aaaaaaaa×3 bbbbbbbb×1 | ' +
          'd-LOCAL0002 Failed | client-error alarm ALARM | unjudged alarm OK' +
          ` | last notice: Alarm edge-widget-client-error-rate: build ${B} at 10 ` +
          `%: 1 of the last 1 periods with the judge finding the canary failing`,
      );
    },
  );

  it(
    'holds the weight while the signal cannot judge the canary: ' +
      'it may not rise, and the release is not rolled back for it',
    () => {
      const now = { t: 0 };
      const { control } = plane(now);
      const { deploymentId } = control.release(B);
      closed(control, 0, {}, 'the consumer lost its place in the stream');
      closed(control, MINUTE, {}, 'a record fell in no known rollout state');
      // Healthy at 10 % (a judgment made before the signal went blind): the step would be due at 1 minute.
      judged(control, deploymentId, { 1000: 30_000 });
      now.t = MINUTE + 30_000;
      const status = control.tick();
      expect(status.unjudgedAlarm?.state).toBe('ALARM');
      expect(status.deployment?.status).toBe('InProgress');
      expect(parseRolloutState(status.state)?.weight).toBe(1000);
      expect(status.release?.hold?.reason).toMatch(/^the judge cannot see/);
    },
  );

  it(
    'gives a release nothing judges no viewers at all (a ' + 'judge that reports nothing sees nothing), and says why',
    () => {
      const now = { t: 0 };
      const { control } = plane(now, { watched: false });
      control.release(B);
      for (const minute of [1, 5, 20]) {
        now.t = minute * MINUTE;
        const status = control.tick();
        expect(status.unjudgedAlarm?.state).toBe('ALARM');
        expect(parseRolloutState(status.state)).toEqual(steadyState(A));
        expect(status.release?.hold?.reason).toMatch(/^the judge cannot see/);
        expect(status.deployment?.status).toBe('InProgress');
      }
    },
  );

  it('evaluates both alarms even with no deployment, and reports both', () => {
    const now = { t: 5000 };
    const { control } = plane(now);
    const status = control.tick();
    expect(status.alarm?.state).toBe('OK');
    expect(status.unjudgedAlarm?.state).toBe('OK');
    expect(status.unjudgedAlarm?.periods).toHaveLength(rule.evaluationPeriods);
  });

  it('runs its clock faster by the time scale, and places a real instant on it', () => {
    let real = 1000;
    const clock = scaledClock(60, () => real);
    real += 1000;
    expect(clock.now()).toBe(1000 + 60_000);
    expect(clock.at?.(1500)).toBe(1000 + 30_000);
    expect(() => scaledClock(0)).toThrow(/positive/);
  });

  it(
    'has a manual clock that remembers when each setting was made ' +
      '(an instant in the same millisecond as a setting comes before it)',
    () => {
      let real = 100;
      const clock = manualClock(5000, () => real);
      real = 200;
      clock.set(9000);
      real = 300;
      clock.set(12_000);
      expect(clock.now()).toBe(12_000);
      expect([
        clock.at(50),
        clock.at(150),
        clock.at(200),
        clock.at(201),
        clock.at(250),
        clock.at(300),
        clock.at(301),
      ]).toEqual([5000, 5000, 5000, 9000, 9000, 9000, 12_000]);
    },
  );
});

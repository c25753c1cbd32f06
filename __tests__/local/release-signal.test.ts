/**
 * The release signal end to end, over HTTP against the local distribution: viewers load the entry
 * through the CloudFront emulator (the published viewer-assignment function gives each its build),
 * some report an error with one GET to /api/e (the published error-report function answers 204),
 * the emulator writes CloudFront's real-time log record of each to a Kinesis stream (loopback/kinesis-server.ts),
 * the signal consumer's own code reads them in order and emits per-period counts into the local
 * metric store, and the control plane evaluates the stack's two alarms on them while CodeDeploy
 * shifts the weight. Nothing here calls the consumer or the store directly: it sees only what the
 * stream carried.
 *
 * The harness (fixtures/local.ts startSignalHarness) runs the local clock by hand: each period the
 * control plane ticks at its start, traffic comes once the new state has reached every edge, and
 * the next period's traffic (or `closePeriod`) moves the stream past the lateness, which closes it.
 */
import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { loadConfig } from '../../config';
import { periodStart } from '../../contracts/release-signal';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { CLIENT_IP_HEADER } from '../../loopback/cloudfront-emulator';
import { scaledClock } from '../../local/control-plane';
import { startLocalDistribution } from '../../local/local-distribution';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';
import { expectedCounts, inBatches, PAGE, viewersOf, visitAll, type Visits } from '../fixtures/signal-traffic';

const config = loadConfig();
const builds = localBuilds();
// A step is judged healthy from 20 canary viewers counted at its weight, once the evidence rules
// out an excess of 15 points: a few periods of these scenarios' 300 viewers (10 % and more on the
// canary). A step waits at most 3 minutes past its time for that. The rollback side is the default.
const alarm = { ...config.alarms, minViewers: 20, excessErrorPercent: 15, holdMinutes: 3 };

describe('the release signal, from CloudFront real-time logs', () => {
  let h: SignalHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it(
    'rolls back a canary that fails for 30 % of its viewers within its first period, and counts exactly the ' +
      'viewers it was sent',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      await h.local.release(builds.canary.dir);
      let canaryVisits = 0;
      const failing = (buildId: string) => buildId === builds.canary.buildId && canaryVisits++ % 10 < 3;
      const periods: Visits[] = [];
      // The judge looks at every batch, the open period's counts included: the first period's traffic is enough.
      await h.period(base, async () => periods.push(await visitAll(h!, viewersOf(0), failing)));
      await pollUntil(
        'the judge to find the canary failing',
        () => h!.local.status().deployment?.status !== 'InProgress',
        10_000,
        20,
      );
      const status = h.local.status();
      expect(status.deployment?.status).toMatch(/^(Failed|Stopped)$/);
      expect(status.judgment).toMatchObject({
        failedAt: expect.any(Number),
        failure: expect.stringMatching(/^failing: the canary errs at least [\d.]+ points more than stable/),
      });
      // Off every viewer well within a minute of the first failing load (the period began at base).
      expect(status.judgment!.failedAt! - base).toBeLessThan(60_000);
      expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));

      // What the store holds for the period is what was sent: distinct addresses per role.
      await h.closePeriod(base);
      const expected = expectedCounts(periods[0]!);
      const counted = h.counts(base);
      expect({ canary: counted.canary, stable: counted.stable }).toEqual({
        canary: expected.canary,
        stable: expected.stable,
      });
      expect(counted.unjudged).toBeNull();
      // Every viewer's next load gets the stable build.
      const { buildId } = await h.load(
        [...periods[0]!.entries()].find(([, v]) => v.buildId === builds.canary.buildId)![0],
      );
      expect(buildId).toBe(builds.stable.buildId);
    },
  );

  it(
    'lets a healthy canary reach every viewer, a step at a time as the judge finds each healthy, and ' +
      'never before its time',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      const { deploymentId } = await h.local.release(builds.canary.dir);
      // 2 % of every build's viewers see an error (host pages break too): the canary is no worse.
      let visits = 0;
      const background = () => visits++ % 50 === 0;
      const states = new Set<string>();
      const weights: number[] = [];
      let p = 0;
      for (; p < 40 && parseRolloutState(h.local.status().state)?.weight !== 10000; p += 1) {
        const status = await h.period(base + p * h.periodMs, () => visitAll(h!, viewersOf(p), background));
        states.add(`${status.alarm?.state}/${status.unjudgedAlarm?.state}`);
        weights.push(parseRolloutState(status.state)?.weight ?? 0);
      }
      expect(states).toEqual(new Set(['OK/OK']));
      expect(parseRolloutState(h.local.status().state)).toMatchObject({
        stable: builds.stable.buildId,
        canary: builds.canary.buildId,
        weight: 10000,
      });
      expect(h.local.status().release?.outcome).toBe('complete');
      // One step at a time, never down, and never sooner than the configured minute per step.
      expect(weights).toEqual([...weights].sort((a, b) => a - b));
      const record = h.local.controlPlane.judgments.get(deploymentId)!;
      expect(
        Object.keys(record.healthyAt)
          .map(Number)
          .sort((a, b) => a - b),
      ).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
      expect(record.failedAt).toBeNull();
      expect(weights.filter((w) => w === 10000).length).toBeLessThanOrEqual(1);
      expect(p).toBeGreaterThanOrEqual(9);
      for (let closed = 0; closed < p - 1; closed += 1) {
        const period = h.local.signal.runner.closedPeriod(base + closed * h.periodMs);
        expect(period).toMatchObject({ unjudged: null });
        // A step the judge allowed mid-period is announced then: viewers it moved are not counted
        // until every edge has it, rather than counted in a role they may not have had.
        expect(period!.counts.canary.viewers + period!.counts.stable.viewers).toBeLessThanOrEqual(300);
        expect(period!.counts.canary.viewers + period!.counts.stable.viewers).toBeGreaterThanOrEqual(270);
      }
    },
  );

  it(
    'counts a flood of error reports from one address as one erroring viewer, and an error naming a build the ' +
      'viewer was not given as none',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      await h.local.release(builds.canary.dir);
      let visits!: Visits;
      const status = await h.period(base, async () => {
        visits = await visitAll(h!, viewersOf(0), () => false);
        const [flooder] = [...visits.entries()].find(([, v]) => v.buildId === builds.canary.buildId)!;
        const [stableViewer] = [...visits.entries()].find(([, v]) => v.buildId === builds.stable.buildId)!;
        // 200 reports, each message different (the widget sends an identical one once per page load).
        await inBatches(
          Array.from({ length: 200 }, (_, i) => i),
          50,
          async (i) =>
            expect(await h!.reportError(flooder, builds.canary.buildId, `error ${i}`, { referer: PAGE })).toBe(204),
        );
        // A stable viewer naming the canary: the rule did not give it that build, so it is not heard.
        for (let i = 0; i < 20; i += 1)
          expect(await h!.reportError(stableViewer, builds.canary.buildId, 'forged', { referer: PAGE })).toBe(204);
      });
      expect(status.deployment?.status).toBe('InProgress');
      const closed = await h.closePeriod(base);
      const expected = expectedCounts(visits);
      expect(closed).toMatchObject({
        unjudged: null,
        counts: {
          canary: { viewers: expected.canary.viewers, erroring: 1 },
          stable: { viewers: expected.stable.viewers, erroring: 0 },
        },
      });
      expect(h.counts(base).canary).toEqual({ viewers: expected.canary.viewers, erroring: 1 });
      // One erroring voice among ~30 canary viewers: the judge does not find the canary failing.
      const after = h.local.controlPlane.tick();
      expect(after.alarm?.state).toBe('OK');
      expect(after.deployment?.status).toBe('InProgress');
      expect(after.judgment).toMatchObject({ failedAt: null, closed: { canary: { erroring: 1 } } });
    },
  );

  it(
    'holds a canary whose periods arrive after the lateness (unjudged): its weight never rises, and a hold that ' +
      'lasts ends it as not enough evidence',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      await h.local.release(builds.canary.dir);
      const { periodMs, latenessMs, trafficOffsetMs } = h;
      const weights: number[] = [];
      const tick = () => {
        const status = h!.local.controlPlane.tick();
        weights.push(parseRolloutState(status.state)?.weight ?? 0);
        return status;
      };
      await h.period(base, () => visitAll(h!, viewersOf(0, 100), () => false));
      await h.at(base + periodMs + 1000);
      tick();

      /** A period whose records CloudFront delivers late: after a record of the next period closed it. */
      async function latePeriod(p: number): Promise<void> {
        const start = base + p * periodMs;
        await h!.at(start + trafficOffsetMs);
        h!.local.emulator.logDelivery = { delayMs: 0, drop: false, hold: true };
        await visitAll(h!, viewersOf(p, 100), () => false);
        h!.local.emulator.logDelivery = { delayMs: 0, drop: false };
        // The next period begins (CodeDeploy moves on); a record on time, another viewer's, moves the
        // stream past this period's end plus the lateness, and the consumer closes it without the
        // delayed records.
        await h!.at(start + periodMs + 1000);
        tick();
        await h!.at(start + periodMs + latenessMs + 1000);
        await h!.nudge();
        await pollUntil(
          'the consumer to close the period',
          () => (h!.local.signal.runner.closedBefore() ?? -Infinity) > start,
          3000,
          20,
        );
        const before = h!.local.signal.runner.stats().late;
        // Then the delayed records arrive: late, filed in the period they arrived in.
        h!.local.emulator.releaseHeldLogs();
        await h!.settle();
        expect(h!.local.signal.runner.stats().late - before).toBe(100);
        // Filed as UnjudgedPeriods in the period they arrived in (one per batch that carried some).
        expect(h!.counts(start + periodMs).unjudged).toBeGreaterThanOrEqual(1);
      }

      await latePeriod(1);
      let status = h.local.controlPlane.tick();
      expect(status.unjudgedAlarm?.periods.at(-1)?.values.unjudged).toBeGreaterThanOrEqual(1);
      await latePeriod(2);
      status = h.local.controlPlane.tick();
      expect(status.unjudgedAlarm?.state).toBe('ALARM');
      expect(status.alarm?.state).toBe('OK');
      // Blind: held at the first step, saying why, and not rolled back for it.
      expect(status.deployment?.status).toBe('InProgress');
      expect(status.release).toMatchObject({ outcome: 'running', weight: 1000, hold: { since: base + periodMs } });
      expect(weights.every((weight) => weight === 1000)).toBe(true);

      // The hold runs out three minutes after the step was due: not enough evidence, rolled back.
      await h.at(base + periodMs + alarm.holdMinutes * 60_000 + 1000);
      status = tick();
      expect(status.deployment).toMatchObject({
        status: 'Stopped',
        error: 'not enough evidence: a step held past its hold time',
      });
      expect(status.release?.outcome).toBe('not-enough-evidence');
      expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));

      // From then on the canary gets no viewer: the deployment is over, the store names no canary.
      for (let p = 6; p < 9; p += 1) {
        const after = await h.period(base + p * periodMs, () => visitAll(h!, viewersOf(p, 50), () => false));
        expect(after.canary).toBeNull();
        expect(parseRolloutState(after.state)).toEqual(steadyState(builds.stable.buildId));
      }
    },
  );

  it(
    'never advances a failing canary whose records a flood keeps out of the full shard: refused records make the ' +
      'period unjudged, so a flood can stop a rollout but never push one through',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      await h.local.release(builds.canary.dir);
      let canaryVisits = 0;
      const failing = (buildId: string) => buildId === builds.canary.buildId && canaryVisits++ % 10 < 3;
      // The shard is full from the start: the stream refuses every record CloudFront writes, so the
      // consumer sees no viewer of either build and the judge has nothing to judge.
      h.local.emulator.logDelivery = { delayMs: 0, drop: false, throttle: true };
      const before = h.local.emulator.logStats();
      const weights: number[] = [];
      const verdicts: string[] = [];
      for (let p = 0; p < 6 && h.local.status().deployment?.status === 'InProgress'; p += 1) {
        const status = await h.period(base + p * h.periodMs, () => visitAll(h!, viewersOf(p), failing));
        weights.push(parseRolloutState(status.state)?.weight ?? 0);
        verdicts.push(`${status.alarm?.state}/${status.unjudgedAlarm?.state}`);
      }
      expect(h.local.emulator.logStats().throttled - before.throttled).toBeGreaterThan(0);
      expect(h.local.emulator.logStats().delivered - before.delivered).toBe(0);
      // The client-error alarm never fired (the judge saw no one); the unjudged alarm did, from its second blind
      // period.
      expect(verdicts.slice(0, 2)).toEqual(['OK/OK', 'OK/ALARM']);
      // The weight never rose past the first step, which nothing judged; the hold ran out: not enough evidence.
      expect(Math.max(...weights)).toBeLessThanOrEqual(1000);
      expect(h.local.status().release?.outcome).toBe('not-enough-evidence');
      expect(h.local.status().deployment).toMatchObject({
        status: 'Stopped',
        error: 'not enough evidence: a step held past its hold time',
      });
      expect(h.local.status().state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    },
  );

  it(
    'holds the weight where it is when the consumer stops: it never rises, and the release ends for ' +
      'want of evidence',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      await h.local.release(builds.canary.dir);
      const background = () => false;
      await h.period(base, () => visitAll(h!, viewersOf(0), background));
      // The consumer stops (a broken deploy, a throttled function): records pile up in the stream, unread.
      await h.local.signal.runner.stop();
      const weights: number[] = [];
      for (let p = 1; p <= 3; p += 1) {
        h.clock.set(base + p * h.periodMs + h.trafficOffsetMs);
        await visitAll(h, viewersOf(p), background);
        const status = h.local.controlPlane.tick();
        weights.push(parseRolloutState(status.state)?.weight ?? 0);
      }
      // Nothing judged the first step healthy, so it held; the unjudged alarm (no iterator age at all) fires too.
      expect(weights).toEqual([1000, 1000, 1000]);
      expect(h.local.controlPlane.status()).toMatchObject({
        unjudgedAlarm: { state: 'ALARM' },
        deployment: { status: 'InProgress' },
        release: { outcome: 'running', hold: { reason: expect.stringMatching(/^the judge cannot see/) } },
      });
      h.clock.set(base + h.periodMs + alarm.holdMinutes * 60_000);
      const status = h.local.controlPlane.tick();
      expect(status).toMatchObject({
        deployment: { status: 'Stopped', error: 'not enough evidence: a step held past its hold time' },
        release: { outcome: 'not-enough-evidence' },
      });
      expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    },
  );

  it(
    'never slows or fails a viewer when log delivery drops or fails; a stream nobody can read makes ' +
      'every period unjudged',
    async () => {
      const logged: string[] = [];
      h = await startSignalHarness(config, { alarm, log: (line) => logged.push(line) });
      const base = h.clock.now();
      h.local.emulator.logDelivery = { delayMs: 0, drop: true };
      const before = h.local.emulator.logStats();
      for (let i = 0; i < 10; i += 1) expect((await h.load(`10.9.0.${i + 1}`)).status).toBe(200);
      expect(await h.reportError('10.9.0.1', builds.stable.buildId)).toBe(204);
      expect(h.local.emulator.logStats().dropped - before.dropped).toBe(11);

      // The stream goes away: every write fails, each is logged and dropped, the viewer never knows.
      h.local.emulator.logDelivery = { delayMs: 0, drop: false };
      await h.local.signal.kinesis.client.send(
        new DeleteStreamCommand({ StreamName: h.local.signal.kinesis.streamName }),
      );
      const failedBefore = h.local.emulator.logStats().failed;
      const started = Date.now();
      for (let i = 0; i < 10; i += 1) expect((await h.load(`10.9.1.${i + 1}`)).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5000);
      await h.local.emulator.logsSettled();
      expect(h.local.emulator.logStats().failed - failedBefore).toBe(10);
      expect(logged.some((line) => /real-time logs: \d+ records not delivered/.test(line))).toBe(true);

      // Nothing reads the stream, so no iterator age is reported: once the window holds only such
      // periods, the unjudged alarm fires (missing data is breaching).
      const failedReads = () => logged.filter((line) => line.startsWith('signal runner: reading')).length;
      for (let p = 1; p <= alarm.evaluationPeriods; p += 1) {
        const seen = failedReads();
        h.clock.set(base + p * h.periodMs + 1000);
        await pollUntil('a failed read of the stream', () => failedReads() > seen, 3000, 20);
      }
      const status = h.local.controlPlane.tick();
      expect(status.unjudgedAlarm?.state).toBe('ALARM');
      expect(
        status.unjudgedAlarm?.periods.slice(0, -1).every((period) => period.result === null && period.breaching),
      ).toBe(true);
    },
  );
});

describe('the release signal on the clock `npm start` runs', () => {
  it('takes a canary failing 30 % of its viewers off every viewer within a minute of its first failing load ' +
    '(at --time-scale 20: twice the pace `npm start` runs at, so half the real time for the same work)', async () => {
    const timeScale = 20;
    const clock = scaledClock(timeScale);
    const local = await startLocalDistribution({ config, buildDir: builds.stable.dir, clock, alarm });
    try {
      const request = async (url: string, ip: string) => {
        const response = await fetch(`${local.url}${url}`, { headers: { [CLIENT_IP_HEADER]: ip, referer: PAGE } });
        await response.arrayBuffer();
        return response;
      };
      // The stable build's viewers of the minutes before the release: the judge's baseline.
      const before = clock.now();
      for (let i = 0; i < 400; i += 1) await request('/assets/index.js', `10.200.${i >> 8}.${i & 255}`);
      // Once their period has closed, the consumer holds them for the release that starts next.
      // A period closes once a record arrives past its end and the lateness: more viewers come meanwhile.
      let more = 0;
      await pollUntil(
        'the stable viewers’ period to close',
        async () => {
          await request('/assets/index.js', `10.202.${more >> 8}.${more++ & 255}`);
          return (local.signal.runner.closedBefore() ?? 0) > periodStart(before, alarm.periodSeconds);
        },
        30_000,
        50,
      );
      await local.release(builds.canary.dir);
      let firstFailingLoad: number | null = null;
      let canaryViewers = 0;
      // Viewers keep coming, about one a simulated second on the canary (as a million loads a day at 10 %), until it is
      // gone.
      for (let i = 0; local.controlPlane.status().deployment?.status === 'InProgress' && i < 5000; i += 1) {
        const ip = `10.201.${i >> 8}.${i & 255}`;
        const sentAt = Date.now();
        const response = await request('/assets/index.js', ip);
        const buildId = response.headers.get('x-build-id');
        if (buildId !== builds.canary.buildId) continue;
        canaryViewers += 1;
        if (canaryViewers % 10 >= 3) continue;
        firstFailingLoad ??= sentAt;
        expect((await request(`/api/e?b=${buildId}&m=boom`, ip)).status).toBe(204);
      }
      const rolledBack = Date.now();
      const status = local.controlPlane.status();
      expect(status.judgment?.failure).toMatch(/^failing: /);
      expect(parseRolloutState(status.state)).toEqual(steadyState(builds.stable.buildId));
      // Real time, scaled to the local clock: the first failing load to the store naming no canary.
      expect(firstFailingLoad).not.toBeNull();
      expect(((rolledBack - firstFailingLoad!) * timeScale) / 1000).toBeLessThan(60);
    } finally {
      await local.stop();
    }
  }, 120_000);
});

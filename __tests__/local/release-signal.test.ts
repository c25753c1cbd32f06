/**
 * The release signal end to end, over HTTP against the local distribution: viewers load the entry
 * through the CloudFront emulator (the published viewer-assignment function gives each its build),
 * some report an error with one GET to /api/e (the published error-report function answers 204),
 * the emulator writes CloudFront's real-time log record of each to a Kinesis stream (kinesalite),
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
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';
import { expectedCounts, inBatches, PAGE, viewersOf, visitAll, type Visits } from '../fixtures/signal-traffic';

const config = loadConfig();
const builds = localBuilds();
// Periods are judged from 20 canary viewers, so every period of these scenarios (300 viewers, 10 %
// and more on the canary) is judged.
const alarm = { ...config.alarms, minViewers: 20 };

describe('the release signal, from CloudFront real-time logs', () => {
  let h: SignalHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('rolls back a canary that fails for 30 % of its viewers, and counts exactly the viewers it was sent', async () => {
    h = await startSignalHarness(config, { alarm });
    const base = h.clock.now();
    await h.local.release(builds.canary.dir);
    let canaryVisits = 0;
    const failing = (buildId: string) => buildId === builds.canary.buildId && canaryVisits++ % 10 < 3;
    const states: string[] = [];
    const periods: Visits[] = [];
    for (let p = 0; p < 5 && h.local.status().deployment?.status === 'InProgress'; p += 1) {
      const status = await h.period(base + p * h.periodMs, async () => periods.push(await visitAll(h!, viewersOf(p), failing)));
      states.push(`${status.alarm?.state}/${status.unjudgedAlarm?.state}`);
    }
    // A period is counted once the next one's traffic has moved the stream past its end plus the
    // lateness: the second breaching period is seen in the third, and the deployment ends there.
    expect(states).toEqual(['OK/OK', 'OK/OK', 'ALARM/OK']);
    const status = h.local.status();
    expect(status.deployment).toMatchObject({ status: 'Failed', error: expect.stringMatching(/^alarm: 2 of the last 3 periods with the canary's error share more than 5 points above stable/) });
    expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));

    // What the store holds for the first two periods is what was sent: distinct addresses per role.
    for (const [p, visits] of periods.slice(0, 2).entries()) {
      const expected = expectedCounts(visits);
      expect(expected.canary.viewers).toBeGreaterThanOrEqual(alarm.minViewers);
      const counted = h.counts(base + p * h.periodMs);
      expect({ canary: counted.canary, stable: counted.stable }).toEqual({ canary: expected.canary, stable: expected.stable });
      expect(counted.unjudged).toBeNull();
    }
    // Every viewer's next load gets the stable build.
    const { buildId } = await h.load([...periods[0].entries()].find(([, v]) => v.buildId === builds.canary.buildId)![0]);
    expect(buildId).toBe(builds.stable.buildId);
  });

  it('lets a healthy canary reach every viewer: both alarms OK in every period, every period judged', async () => {
    h = await startSignalHarness(config, { alarm });
    const base = h.clock.now();
    await h.local.release(builds.canary.dir);
    // 2 % of every build's viewers see an error (host pages break too): the canary is no worse.
    let visits = 0;
    const background = () => visits++ % 50 === 0;
    const states = new Set<string>();
    let p = 0;
    for (; p < 12 && h.local.status().deployment?.status === 'InProgress'; p += 1) {
      const status = await h.period(base + p * h.periodMs, () => visitAll(h!, viewersOf(p), background));
      states.add(`${status.alarm?.state}/${status.unjudgedAlarm?.state}`);
    }
    expect(states).toEqual(new Set(['OK/OK']));
    expect(h.local.status().deployment?.status).toBe('Succeeded');
    expect(parseRolloutState(h.local.status().state)).toEqual(steadyState(builds.canary.buildId));
    for (let closed = 0; closed < p - 1; closed += 1) {
      const period = h.local.signal.runner.closedPeriod(base + closed * h.periodMs);
      expect(period).toMatchObject({ unjudged: null });
      expect(period!.counts.canary.viewers + period!.counts.stable.viewers).toBe(300);
    }
  });

  it('counts a flood of error reports from one address as one erroring viewer, and an error naming a build the viewer was not given as none', async () => {
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
        async (i) => expect(await h!.reportError(flooder, builds.canary.buildId, `error ${i}`, { referer: PAGE })).toBe(204),
      );
      // A stable viewer naming the canary: the rule did not give it that build, so it is not heard.
      for (let i = 0; i < 20; i += 1) expect(await h!.reportError(stableViewer, builds.canary.buildId, 'forged', { referer: PAGE })).toBe(204);
    });
    expect(status.deployment?.status).toBe('InProgress');
    const closed = await h.closePeriod(base);
    const expected = expectedCounts(visits);
    expect(closed).toMatchObject({ unjudged: null, counts: { canary: { viewers: expected.canary.viewers, erroring: 1 }, stable: { viewers: expected.stable.viewers, erroring: 0 } } });
    expect(h.counts(base).canary).toEqual({ viewers: expected.canary.viewers, erroring: 1 });
    // One voice among ~30 is a 3-point share: below the 5-point margin, so the period does not breach.
    const verdict = h.local.controlPlane.tick().alarm!;
    const judged = verdict.periods.find((period) => period.start === base)!;
    expect(judged.values.canary_erroring).toBe(1);
    expect(judged.breaching).toBe(false);
  });

  it('holds and rolls back a canary whose periods arrive after the lateness (unjudged), and never gives it a viewer again', async () => {
    h = await startSignalHarness(config, { alarm });
    const base = h.clock.now();
    await h.local.release(builds.canary.dir);
    const { periodMs, latenessMs, trafficOffsetMs } = h;
    const weights: number[] = [];
    const tick = () => {
      const status = h!.local.controlPlane.tick();
      weights.push(status.canary?.weight ?? 0);
      return status;
    };
    await h.period(base, () => visitAll(h!, viewersOf(0, 100), () => false));
    await h.at(base + periodMs + 1000);
    tick();

    /** A period whose records CloudFront delivers late: after a record of the next period closed it. */
    async function latePeriod(p: number): Promise<void> {
      const start = base + p * periodMs;
      await h!.at(start + trafficOffsetMs);
      h!.local.emulator.logDelivery = { delayMs: 4000, drop: false };
      await visitAll(h!, viewersOf(p, 100), () => false);
      h!.local.emulator.logDelivery = { delayMs: 0, drop: false };
      // The next period begins (CodeDeploy moves on); a record on time, another viewer's, moves the
      // stream past this period's end plus the lateness, and the consumer closes it without the
      // delayed records.
      await h!.at(start + periodMs + 1000);
      tick();
      await h!.at(start + periodMs + latenessMs + 1000);
      await h!.nudge();
      await pollUntil('the consumer to close the period', () => (h!.local.signal.runner.closedBefore() ?? -Infinity) > start, 3000, 20);
      const before = h!.local.signal.runner.stats().late;
      // Then the delayed records arrive: late, filed in the period they arrived in.
      await h!.settle();
      expect(h!.local.signal.runner.stats().late - before).toBe(100);
      // Filed as UnjudgedPeriods in the period they arrived in (one per batch that carried some).
      expect(h!.counts(start + periodMs).unjudged).toBeGreaterThanOrEqual(1);
    }

    await latePeriod(1);
    // One blind period of three: the unjudged alarm's datapoint breaches, and it waits for a second.
    let status = h.local.controlPlane.tick();
    expect(status.unjudgedAlarm?.periods.at(-1)).toMatchObject({ breaching: true, values: { unjudged: expect.any(Number), failures: 0, behind: 0 } });
    expect(status.unjudgedAlarm?.periods.at(-1)?.values.unjudged).toBeGreaterThanOrEqual(1);
    expect(status.unjudgedAlarm?.state).toBe('OK');
    expect(status.deployment?.status).toBe('InProgress');

    await latePeriod(2);
    status = h.local.controlPlane.tick();
    expect(status.unjudgedAlarm?.state).toBe('ALARM');
    expect(status.alarm?.state).toBe('OK');
    expect(status.deployment).toMatchObject({ status: 'Failed', error: expect.stringMatching(/^alarm: 2 of the last 3 periods the signal could not judge/) });
    expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    // CodeDeploy had moved on a step a minute, as the alarm's 2 of 3 allows, up to the period it fired in.
    expect(weights).toEqual([2000, 3000, 4000]);

    // From then on the canary gets no viewer: the deployment is over, the store names no canary.
    for (let p = 4; p < 7; p += 1) {
      const after = await h.period(base + p * periodMs, () => visitAll(h!, viewersOf(p, 50), () => false));
      expect(after.canary).toBeNull();
      expect(parseRolloutState(after.state)).toEqual(steadyState(builds.stable.buildId));
    }
  });

  it('rolls back a failing canary whose records a flood keeps out of the full shard: refused records make the period unjudged, so a flood can stop a rollout but never push one through', async () => {
    h = await startSignalHarness(config, { alarm });
    const base = h.clock.now();
    await h.local.release(builds.canary.dir);
    let canaryVisits = 0;
    const failing = (buildId: string) => buildId === builds.canary.buildId && canaryVisits++ % 10 < 3;
    // The shard is full from the start: the stream refuses every record CloudFront writes, so the
    // consumer sees no viewer of either build and the client-error alarm has nothing to judge.
    h.local.emulator.logDelivery = { delayMs: 0, drop: false, throttle: true };
    const before = h.local.emulator.logStats();
    const weights: number[] = [];
    const verdicts: string[] = [];
    for (let p = 0; p < 6 && h.local.status().deployment?.status === 'InProgress'; p += 1) {
      const status = await h.period(base + p * h.periodMs, () => visitAll(h!, viewersOf(p), failing));
      weights.push(status.canary?.weight ?? 0);
      verdicts.push(`${status.alarm?.state}/${status.unjudgedAlarm?.state}`);
    }
    expect(h.local.emulator.logStats().throttled - before.throttled).toBeGreaterThan(0);
    expect(h.local.emulator.logStats().delivered - before.delivered).toBe(0);
    // The client-error alarm never fired (it saw no one); the unjudged alarm did, on its second blind period.
    expect(verdicts).toEqual(['OK/OK', 'OK/ALARM']);
    expect(h.local.status().deployment).toMatchObject({ status: 'Failed', error: expect.stringMatching(/^alarm: 2 of the last 3 periods the signal could not judge/) });
    expect(h.local.status().state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    expect(Math.max(...weights)).toBeLessThanOrEqual(2000);
  });

  it('never slows or fails a viewer when log delivery drops or fails; a stream nobody can read makes every period unjudged', async () => {
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
    await h.local.signal.kinesis.client.send(new DeleteStreamCommand({ StreamName: h.local.signal.kinesis.streamName }));
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
    expect(status.unjudgedAlarm?.periods.slice(0, -1).every((period) => period.result === null && period.breaching)).toBe(true);
  });
});

/**
 * The release signal under attack, end to end over HTTP against the local distribution (as
 * local/release-signal.test.ts runs it): honest viewers, 800 distinct addresses a period, load the
 * entry and report the errors of the build they got, while attackers do the most they can with what
 * they hold. An attacker's only input is what CloudFront itself sees: the address a request comes
 * from, its path and query, the time. So what an attacker holds is addresses, and each counts once
 * a period, in the role the rule gave it, for the build it got.
 *
 * One deployment each (the local CodeDeploy's first salt); bench/release-simulation.ts and its test
 * give the odds over many deployments, each a fresh cohort.
 */
import { loadConfig } from '../../config';
import { assignBuild } from '../../contracts/assignment';
import { formatRolloutState, parseRolloutState, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { CLIENT_IP_HEADER } from '../../loopback/cloudfront-emulator';
import type { ControlPlaneStatus } from '../../local/control-plane';
import { statesAt } from '../../regional-function/signal-consumer/core';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { expectedCounts, inBatches, PAGE, viewersOf, visitAll, type Visits } from '../fixtures/signal-traffic';

const config = loadConfig();
const builds = localBuilds();
const HONEST = 800;
// The rollback side as it ships (failing once the evidence shows the canary more than 2 points
// worse than stable, at most 1 healthy release in 1,000 rolled back): what an attacker must beat.
// The advance side is lenient (20 canary viewers, ruling out 15 points), so a healthy release
// climbs a step every two periods or so and the test stays short; it is not what attackers target.
const alarm = { ...config.alarms, minViewers: 20, excessErrorPercent: 15 };

/** An attacker: the addresses it sends from in a period (one IPv4 address, or /64s of its /48). */
interface Attacker {
  readonly name: string;
  readonly addresses: readonly string[];
}

const ipv4Attackers = (count: number): Attacker[] =>
  Array.from({ length: count }, (_, i) => ({ name: `203.0.113.${i + 1}`, addresses: [`203.0.113.${i + 1}`] }));
/** Each /48 probes `probes` of its 65,536 /64s, a different host in each, every period. */
const ipv6Attackers = (count: number, probes = 16): Attacker[] =>
  Array.from({ length: count }, (_, i) => {
    const site = `2001:db8:${(0x100 + i).toString(16)}`;
    return {
      name: `${site}::/48`,
      addresses: Array.from(
        { length: probes },
        (_, sub) => `${site}:${sub.toString(16)}::${(sub * 7 + 1).toString(16)}`,
      ),
    };
  });

/** What an attacker saw in a period: the build each of its addresses got. */
type Probes = Map<string, string[]>;

/**
 * Attackers in one period: every address loads the entry and learns its build (X-Build-Id). Then
 *   fail: every address that got the canary reports errors naming it, and every one that got the
 *         stable build reports errors naming the canary too (it cannot be heard, but costs nothing);
 *   mask: every address that got the stable build reports errors naming it, to raise the stable
 *         build's share, and those on the canary report nothing.
 * Each reports three times, with different messages: a flood from one address is still one voice.
 */
async function attack(h: SignalHarness, attackers: readonly Attacker[], goal: 'fail' | 'mask'): Promise<Probes> {
  const probes: Probes = new Map();
  await inBatches(attackers, 5, async (attacker) => {
    const seen: string[] = [];
    for (const ip of attacker.addresses) {
      // Thrown, not expect()ed: a thousand matchers a period cost more than the requests.
      const { status, buildId } = await h.load(ip, { referer: PAGE });
      if (status !== 200 || buildId === null) throw new Error(`${ip} got ${status} with build ${buildId}`);
      seen.push(buildId);
      const name =
        goal === 'fail' ? builds.canary.buildId : buildId === builds.stable.buildId ? builds.stable.buildId : null;
      for (let i = 0; name !== null && i < 3; i += 1) {
        const reported = await h.reportError(ip, name, `attack ${i}`, { referer: PAGE });
        if (reported !== 204) throw new Error(`${ip}'s report ${i} got ${reported}`);
      }
    }
    probes.set(attacker.name, seen);
  });
  return probes;
}

/** Per attacker, its one build: every address of it must have got the same one. */
function oneBuildEach(probes: Probes): Map<string, string> {
  return new Map(
    [...probes].map(([name, seen]) => [
      name,
      [...new Set(seen)].length === 1 ? seen[0]! : `several: ${[...new Set(seen)].join(', ')}`,
    ]),
  );
}

describe('the release signal against attackers holding addresses', () => {
  let h: SignalHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  /**
   * A whole release with attackers every period. Checks each closed period counts exactly the honest
   * viewers plus each attacker once, in its role, erring only as the rule lets it; returns the
   * statuses, what the attackers saw, and how many periods were checked for exact counts.
   */
  async function release(
    attackers: readonly Attacker[],
    goal: 'fail' | 'mask',
    canaryFails: number,
  ): Promise<{ statuses: ControlPlaneStatus[]; probes: Probes[]; served: RolloutState[][]; exact: number }> {
    h = await startSignalHarness(config, { alarm });
    const base = h.clock.now();
    await h.local.release(builds.canary.dir);
    // 2 % of every build's honest viewers see an error; the canary fails `canaryFails` more.
    const seen = { canary: 0, stable: 0 };
    const fails = (buildId: string) => {
      const role = buildId === builds.canary.buildId ? 'canary' : 'stable';
      const nth = seen[role]++;
      return nth % 50 === 0 || (role === 'canary' && nth % 10 < canaryFails * 10);
    };
    const statuses: ControlPlaneStatus[] = [];
    const honest: Visits[] = [];
    const probes: Probes[] = [];
    for (
      let p = 0;
      p < 40 &&
      h.local.status().deployment?.status === 'InProgress' &&
      h.local.status().release?.outcome !== 'complete';
      p += 1
    ) {
      statuses.push(
        await h.period(base + p * h.periodMs, async () => {
          honest.push(await visitAll(h!, viewersOf(p, HONEST), fails));
          probes.push(await attack(h!, attackers, goal));
        }),
      );
    }
    // Every period the consumer has closed (all but the last, at least): exactly the honest viewers,
    // and each attacker once.
    let checked = 0;
    let exact = 0;
    const servedIn: RolloutState[][] = [];
    const timeline = h.local.controlPlane.timeline.read();
    for (let p = 0; p < honest.length; p += 1) {
      const start = base + p * h.periodMs;
      const served = timeline.filter(
        (timed) => timed.from < start + h!.periodMs && (timed.until === null || timed.until > start),
      );
      servedIn.push(served.map((timed) => timed.state));
      const closed = h.local.signal.runner.closedPeriod(base + p * h.periodMs);
      if (closed === null) continue;
      checked += 1;
      const expected = expectedCounts(honest[p]!);
      for (const build of oneBuildEach(probes[p]!).values()) {
        const role = build === builds.canary.buildId ? 'canary' : 'stable';
        expected[role].viewers += 1;
        if ((goal === 'fail' && role === 'canary') || (goal === 'mask' && role === 'stable'))
          expected[role].erroring += 1;
      }
      // The clock holds still while a period's traffic runs, so the consumer judges all of it by the
      // states the edges may have served at that one time. Where that is one state (about half the
      // periods: the state before a step has stopped propagating by the next period's traffic), the
      // period counts exactly what was sent. Where a step landed mid-traffic, it leaves out the
      // viewers the step moved until every edge had it, and counts no one twice or wrongly. (A whole
      // period served by one state never happens here: the state before a step still propagates into
      // the next period, so a check on that ran in no period.)
      if (statesAt(timeline, start + h.trafficOffsetMs).length === 1) {
        exact += 1;
        expect([p, closed.unjudged, closed.counts.canary, closed.counts.stable]).toEqual([
          p,
          null,
          expected.canary,
          expected.stable,
        ]);
      } else {
        expect([p, closed.unjudged]).toEqual([p, null]);
        for (const role of ['canary', 'stable'] as const) {
          expect(closed.counts[role].viewers).toBeLessThanOrEqual(expected[role].viewers);
          expect(closed.counts[role].erroring).toBeLessThanOrEqual(expected[role].erroring);
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(honest.length - 1);
    return { statuses, probes, served: servedIn, exact };
  }

  it(
    '10 IPv4 addresses reporting errors wherever they get the canary cannot fail a healthy one: it ' +
      'reaches every viewer',
    async () => {
      const { statuses, probes, exact } = await release(ipv4Attackers(10), 'fail', 0);
      // The exact counts were checked: in about half the periods (those no step landed in mid-traffic).
      expect(exact).toBeGreaterThan(0);
      expect(statuses.map((s) => s.alarm?.state)).toEqual(statuses.map(() => 'OK'));
      expect(h!.local.status().judgment?.failedAt).toBeNull();
      expect(h!.local.status().release?.outcome).toBe('complete');
      expect(parseRolloutState(h!.local.status().state)).toMatchObject({
        canary: builds.canary.buildId,
        weight: 10000,
      });
      // Some of them did get the canary, and reported from it: the attack was made, and failed.
      expect(
        [...oneBuildEach(probes.at(-1)!).values()].filter((build) => build === builds.canary.buildId).length,
      ).toBeGreaterThan(0);
    },
  );

  it('10 IPv6 /48s probing their /64s find one build per /48, and cannot fail a healthy canary either', async () => {
    const { statuses, probes, served, exact } = await release(ipv6Attackers(10), 'fail', 0);
    expect(exact).toBeGreaterThan(0);
    // Every /64 a /48 probed got a build the states served in that period give the /48 itself:
    // one build where one state served, and no more than the states between them where a step
    // moved the weight mid-period (as it moves anyone's). Probing finds nothing to pick.
    const sites = new Map(ipv6Attackers(10).map((attacker) => [attacker.name, attacker.addresses[0]]));
    for (const [p, period] of probes.entries()) {
      for (const [name, seen] of period) {
        const allowed = new Set(served[p]!.map((state) => assignBuild(state, sites.get(name)!, null, 0)));
        expect([p, name, [...new Set(seen)].every((build) => allowed.has(build))]).toEqual([p, name, true]);
        if (allowed.size === 1) expect([p, name, new Set(seen).size]).toEqual([p, name, 1]);
      }
    }
    expect(statuses.map((s) => s.alarm?.state)).toEqual(statuses.map(() => 'OK'));
    expect(h!.local.status().judgment?.failedAt).toBeNull();
    expect(h!.local.status().release?.outcome).toBe('complete');
    expect(
      [...oneBuildEach(probes.at(-1)!).values()].filter((build) => build === builds.canary.buildId).length,
    ).toBeGreaterThan(0);
  });

  it.each([
    ['50 IPv4 addresses', () => ipv4Attackers(50)],
    ['50 IPv6 /48s reporting from 4 /64s each', () => ipv6Attackers(50, 4)],
  ])(
    '%s reporting errors on the stable build cannot keep a canary that fails 30 %% of its viewers from rolling back',
    async (_label, attackers) => {
      await release(attackers(), 'mask', 0.3);
      const status = h!.local.status();
      expect(status.judgment?.failure).toMatch(/^failing: the canary errs at least [\d.]+ points more than stable/);
      expect(status.deployment?.status).toMatch(/^(Failed|Stopped)$/);
      expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    },
  );

  it(
    "adds no counted viewer with everything a pull request's plan can read: there is no secret, and no header or " +
      'query is a viewer',
    async () => {
      h = await startSignalHarness(config, { alarm });
      const base = h.clock.now();
      await h.local.release(builds.canary.dir);
      const attacker = '198.51.100.66';
      let attackerBuild = '';
      const status = await h.period(base, async () => {
        await visitAll(h!, viewersOf(0, 100), () => false);
        // What state, the plan's outputs and GetDistributionConfig show: the distribution's names and
        // ARNs, the stream, the store, the table, the old origin secret's header. Sent as every header
        // a proxy could set for the address it speaks for, and as query parameters, none of which
        // CloudFront logs as the viewer's address (c-ip is the TCP peer).
        const claims = Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 10}`);
        for (const claimed of claims) {
          const headers = {
            'x-forwarded-for': claimed,
            'true-client-ip': claimed,
            'cloudfront-viewer-address': `${claimed}:443`,
            forwarded: `for=${claimed}`,
            'x-origin-verify': 'a-secret-from-state',
          };
          for (const [url, expected] of [
            [`/assets/index.js?ip=${claimed}&c-ip=${claimed}`, 200],
            [`/api/e?b=${builds.canary.buildId}&m=forged&c-ip=${claimed}`, 204],
            [`/api/e?b=${builds.stable.buildId}&m=forged&c-ip=${claimed}`, 204],
          ] as const) {
            const response = await fetch(`${h!.local.url}${url}`, {
              headers: { ...headers, [CLIENT_IP_HEADER]: attacker },
            });
            await response.arrayBuffer();
            expect(response.status).toBe(expected);
            if (url.startsWith('/assets/')) attackerBuild = response.headers.get('x-build-id')!;
          }
        }
      });
      expect(status.deployment?.status).toBe('InProgress');
      const closed = await h.closePeriod(base);
      // 100 honest viewers, no errors; the attacker is one viewer, in its role, erring once at most
      // (its report naming its own build), whatever it claimed 40 times over.
      const role = attackerBuild === builds.canary.buildId ? 'canary' : 'stable';
      const honest = closed!.counts.canary.viewers + closed!.counts.stable.viewers - 1;
      expect(honest).toBe(100);
      expect(closed!.counts[role].erroring).toBe(1);
      expect(closed!.counts[role === 'canary' ? 'stable' : 'canary'].erroring).toBe(0);
    },
  );
});

/**
 * The release signal under attack, over HTTP against the local distribution: beacons go through
 * the CloudFront emulator (origin secret added, CloudFront-Viewer-Address set from the client-IP
 * seam) to the metrics API's own endpoint, into the real metrics API core, the local metric store
 * and the alarm the stack ships (its metric math). Honest viewers load the entry first and report
 * the build it gave them; attackers send what they like, with every header they can forge.
 */
import { loadConfig } from '../../config';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { localBuilds } from '../fixtures/local';

const MINUTE = 60_000;
const RING_HOST = 'https://demo.example.com';
const PAGE = 'http://127.0.0.1:8081';
const config = loadConfig();
const builds = localBuilds();
// Periods are judged from 20 canary viewers, so every period of these scenarios is judged.
const alarm = { ...config.alarms, minViewers: 20 };

interface Scenario {
  readonly local: LocalDistribution;
  readonly now: { t: number };
  readonly alarmStates: string[];
}

async function startRelease(): Promise<Scenario> {
  const now = { t: 1_800_000_000_000 };
  const local = await startLocalDistribution({ config, buildDir: builds.stable.dir, clock: { now: () => now.t }, tickMs: 0, alarm });
  await local.release(builds.canary.dir);
  // The vendor's demo site sees every canary: the most an attacker could claim to be.
  local.ring('add', RING_HOST);
  return { local, now, alarmStates: [] };
}

function beacon(local: LocalDistribution, ip: string, buildId: string, events: readonly string[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${local.url}${config.metrics.endpoint}`, {
    method: 'POST',
    headers: { origin: PAGE, 'content-type': 'text/plain;charset=UTF-8', 'x-local-client-ip': ip, ...headers },
    body: JSON.stringify({ v: 1, buildId, events: events.map((name) => ({ name })) }),
  });
}

/** An honest viewer: loads the entry, runs the build it got, reports a load (and an error if that build fails it). */
async function honestVisit(local: LocalDistribution, ip: string, fails: (buildId: string) => boolean): Promise<string> {
  const entry = await fetch(`${local.url}/assets/index.js`, { headers: { 'x-local-client-ip': ip, referer: `${PAGE}/` } });
  await entry.arrayBuffer();
  const buildId = entry.headers.get('x-build-id')!;
  const response = await beacon(local, ip, buildId, fails(buildId) ? ['load', 'error'] : ['load']);
  expect(response.status).toBe(204);
  return buildId;
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T, index: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map((item, i) => each(item, start + i)));
}

const honestViewers = (period: number) => Array.from({ length: 300 }, (_, i) => `10.${period}.${i >> 7}.${(i & 127) + 1}`);
const attackerIps = (count: number) => Array.from({ length: count }, (_, i) => `198.51.100.${i + 1}`);
/** Every header an attacker might forge; CloudFront sets or replaces the two that matter. */
const FORGED = { origin: RING_HOST, 'x-origin-verify': 'guessed', 'cloudfront-viewer-address': '10.9.9.9:443' };

/** One alarm period: `traffic` runs in it, then the control plane evaluates, as CloudWatch and CodeDeploy would. */
async function period(s: Scenario, index: number, traffic: () => Promise<void>): Promise<void> {
  s.now.t = 1_800_000_000_000 + index * MINUTE + 1000;
  await traffic();
  s.now.t += 58_000;
  const status = s.local.controlPlane.tick();
  s.alarmStates.push(status.alarm?.state ?? 'none');
}

describe('the release signal, attacked over HTTP', () => {
  let s: Scenario;
  afterEach(async () => {
    await s?.local.stop();
  });

  it('10 attacker IPs sending as many error beacons as they like, claiming a ring host, cannot fail a healthy canary', async () => {
    s = await startRelease();
    for (let p = 0; p < 3; p += 1) {
      await period(s, p, async () => {
        await inBatches(honestViewers(p), 50, (ip) => honestVisit(s.local, ip, () => false));
        // Each attacker, 15 error beacons for the canary and 5 for the stable build per period (repeats count for nothing), forged headers and all.
        const attacks = attackerIps(10).flatMap((ip) => [...Array.from({ length: 15 }, () => [ip, builds.canary.buildId] as const), ...Array.from({ length: 5 }, () => [ip, builds.stable.buildId] as const)]);
        await inBatches(attacks, 50, async ([ip, buildId]) => (await beacon(s.local, ip, buildId, ['error', 'error', 'error'], FORGED)).arrayBuffer());
      });
    }
    expect(s.alarmStates).toEqual(['OK', 'OK', 'OK']);
    expect(s.local.status().deployment?.status).toBe('InProgress');
    const judged = s.local.status().alarm!.periods.at(-1)!;
    // The canary was judged (enough viewers), and at most the attackers whose addresses the weight
    // put on the canary counted, once each: the ring claims were counted as ring, never judged.
    expect(judged.values.canary_viewers).toBeGreaterThanOrEqual(20);
    expect(judged.values.canary_erroring).toBeLessThanOrEqual(10);
    expect(judged.result!).toBeLessThanOrEqual(5);
  });

  it('50 attacker IPs sending load beacons (and errors for the stable build) cannot keep a canary that fails for 30% of its viewers from rolling back', async () => {
    s = await startRelease();
    let canaryVisits = 0;
    const failing = (buildId: string) => buildId === builds.canary.buildId && canaryVisits++ % 10 < 3;
    for (let p = 0; p < 3 && s.local.status().deployment?.status === 'InProgress'; p += 1) {
      await period(s, p, async () => {
        await inBatches(honestViewers(p), 50, (ip) => honestVisit(s.local, ip, failing));
        const attacks = attackerIps(50).flatMap((ip) => [...Array.from({ length: 6 }, () => [ip, builds.canary.buildId, ['load']] as const), ...Array.from({ length: 2 }, () => [ip, builds.stable.buildId, ['load', 'error']] as const)]);
        // Loads for the canary claim a ring host; errors for the stable build come from a plain page (a ring page gets the canary).
        await inBatches(attacks, 50, async ([ip, buildId, events]) => (await beacon(s.local, ip, buildId, events, buildId === builds.canary.buildId ? FORGED : { 'x-origin-verify': 'guessed' })).arrayBuffer());
      });
    }
    expect(s.alarmStates.at(-1)).toBe('ALARM');
    expect(s.local.status().deployment?.status).toBe('Failed');
    // The attack did raise the stable build's share (its errors counted, once per attacker), just not enough.
    const judged = s.local.status().alarm!.periods.find((p) => p.breaching)!;
    expect(judged.values.stable_rate!).toBeGreaterThan(5);
    // Every viewer's next load gets the stable build.
    const entry = await fetch(`${s.local.url}/assets/index.js`, { headers: { 'x-local-client-ip': honestViewers(0)[0] } });
    await entry.arrayBuffer();
    expect(entry.headers.get('x-build-id')).toBe(builds.stable.buildId);
  });

  it('real errors from real viewers roll back, with nobody attacking', async () => {
    s = await startRelease();
    let canaryVisits = 0;
    const failing = (buildId: string) => buildId === builds.canary.buildId && canaryVisits++ % 10 < 3;
    for (let p = 0; p < 3 && s.local.status().deployment?.status === 'InProgress'; p += 1) {
      await period(s, p, () => inBatches(honestViewers(p), 50, (ip) => honestVisit(s.local, ip, failing)));
    }
    expect(s.alarmStates).toEqual(['OK', 'ALARM']);
    expect(s.local.status().deployment?.status).toBe('Failed');
  });

  it('refuses what did not come through the distribution, what names another build, and what speaks for another viewer', async () => {
    s = await startRelease();
    const direct = (headers: Record<string, string>) =>
      fetch(`${s.local.api.url}${config.metrics.endpoint}`, {
        method: 'POST',
        headers: { origin: PAGE, 'content-type': 'text/plain', ...headers },
        body: JSON.stringify({ v: 1, buildId: builds.canary.buildId, events: [{ name: 'error' }] }),
      });
    // The API's own endpoint: no secret, a guessed one, forged viewer addresses: 403, and nothing counted.
    for (const headers of [{}, { 'x-origin-verify': 'guessed' }, { 'x-origin-verify': '', 'cloudfront-viewer-address': '10.0.0.1:443' }] as Record<string, string>[]) {
      const response = await direct(headers);
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('beacons are accepted through the distribution only\n');
    }
    // Through the distribution: a build that is not served (410), and a build the viewer is not assigned (403).
    const stableViewer = honestViewers(0)[0];
    const got = await honestVisit(s.local, stableViewer, () => false);
    expect((await beacon(s.local, stableViewer, 'ffffffffffffffff', ['error'])).status).toBe(410);
    const other = got === builds.canary.buildId ? builds.stable.buildId : builds.canary.buildId;
    expect((await beacon(s.local, stableViewer, other, ['error'])).status).toBe(403);
    s.local.controlPlane.tick();
    const current = s.local.status().alarm!.periods.at(-1)!;
    expect((current.values.canary_viewers ?? 0) + (current.values.stable_viewers ?? 0)).toBe(1);
    expect((current.values.canary_erroring ?? 0) + (current.values.stable_erroring ?? 0)).toBe(0);
  });
});

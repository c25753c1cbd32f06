/**
 * The local distribution over HTTP: the emulator does what CloudFront does around the bundled
 * routers, the simulated deployment reaches viewers through the real rollout record, and the
 * control endpoint releases and stops as `npm run local:release` does.
 */
import { loadConfig, resourceNames } from '../../config';
import { callControl, startControlServer } from '../../scripts/local/control-server';
import { startLocalDistribution, type LocalDistribution } from '../../scripts/local/local-distribution';
import { readManifest } from '../../scripts/lib/manifest';
import { edgesCatchUp, localBuilds } from '../fixtures/local';

const MINUTE = 60_000;
const config = loadConfig();
const names = resourceNames(config);
const builds = localBuilds();
const now = { t: 0 };
let local: LocalDistribution;
const logged: string[] = [];

beforeAll(async () => {
  local = await startLocalDistribution({ config, buildDir: builds.stable.dir, clock: { now: () => now.t }, tickMs: 0, log: (line) => logged.push(line) });
});
afterAll(async () => {
  await local?.stop();
});


async function entryBuild(viewer: string): Promise<string> {
  const before = local.emulator.stats().entryByBuild;
  const response = await fetch(`${local.url}/assets/index.js?viewer=${viewer}`);
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  const after = local.emulator.stats().entryByBuild;
  const changed = Object.keys(after).filter((id) => after[id] !== (before[id] ?? 0));
  expect(changed).toHaveLength(1);
  return changed[0];
}

describe('local CloudFront', () => {
  it('answers the entry from the router itself, uncacheable, with CORS for any host page', async () => {
    const response = await fetch(`${local.url}/assets/index.js`, { headers: { origin: 'https://shop.example.org', 'accept-encoding': 'gzip, br' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-build-id')).toBe(builds.stable.buildId);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-cache')).toBe('LambdaGeneratedResponse from cloudfront');
    expect(await response.text()).toContain(`/assets/${builds.stable.buildId}/`);
  });

  it('serves chunks from the nearest bucket, pre-compressed, then from its cache', async () => {
    const chunk = readManifest(builds.stable.dir).assets.find((a) => /\/react[^/]*\.js$/.test(a.key))!;
    const before = local.emulator.stats();
    const first = await fetch(`${local.url}/${chunk.key}`, { headers: { 'accept-encoding': 'br' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-encoding')).toBe('br');
    expect(first.headers.get('x-cache')).toBe('Miss from cloudfront');
    expect(first.headers.get('cache-control')).toMatch(/immutable/);
    expect((await first.arrayBuffer()).byteLength).toBe(chunk.bytes);
    const second = await fetch(`${local.url}/${chunk.key}`, { headers: { 'accept-encoding': 'br' } });
    expect(second.headers.get('x-cache')).toBe('Hit from cloudfront');
    await second.arrayBuffer();
    const after = local.emulator.stats();
    expect(after.originRequests[names.bucket(config.primaryRegion)] - (before.originRequests[names.bucket(config.primaryRegion)] ?? 0)).toBe(1);
    expect(after.chunkHits - before.chunkHits).toBe(1);
  });

  it('fails over to the secondary bucket when the primary lost an object', async () => {
    const chunk = readManifest(builds.stable.dir).assets.find((a) => a.key.endsWith('.js') && !a.key.endsWith('/index.js') && !/react/.test(a.key))!;
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await local.s3.client(config.primaryRegion).send(new DeleteObjectCommand({ Bucket: names.bucket(config.primaryRegion), Key: chunk.key }));
    const before = local.emulator.stats().failovers;
    const response = await fetch(`${local.url}/${chunk.key}`, { headers: { 'accept-encoding': 'identity' } });
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(chunk.bytes);
    expect(local.emulator.stats().failovers - before).toBe(1);
    expect(local.emulator.stats().originRequests[names.bucket(config.failoverRegion!)]).toBeGreaterThanOrEqual(1);
  });

  it('refuses what CloudFront refuses, and never crashes on a bad request', async () => {
    expect((await fetch(`${local.url}/assets/index.js`, { method: 'POST', body: 'x' })).status).toBe(403);
    expect((await fetch(`${local.url}/assets/index.js?viewer=not-an-ip`)).status).toBe(400);
    expect((await fetch(`${local.url}/assets/../../etc/passwd`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${local.url}/api/unknown`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${local.url}${config.metrics.endpoint}`, { method: 'POST', body: '{', headers: { origin: 'http://127.0.0.1:1', 'content-type': 'text/plain' } })).status).toBe(400);
    expect((await fetch(`${local.url}/assets/index.js`)).status).toBe(200);
  });
});

describe('a release, locally', () => {
  it('shifts a weighted, sticky share of 200 viewers to the canary, and rolls them all back on stop', async () => {
    const control = await startControlServer(local);
    try {
      const released = (await callControl({ url: control.url, pid: process.pid, distribution: local.url, hostPage: local.hostUrl }, 'POST', '/release', { buildDir: builds.canary.dir })) as { buildId: string };
      expect(released.buildId).toBe(builds.canary.buildId);
      now.t = 2 * MINUTE; // linear 10% per minute: 30%
      const status = local.controlPlane.tick();
      expect(status.canary?.weight).toBe(3000);
      expect(status.record).toBe(`v=1 stable=${builds.stable.buildId} canary=${builds.canary.buildId} weight=3000 salt=${status.deployment!.id}`);
      await edgesCatchUp(local, config);

      const viewers = Array.from({ length: 200 }, (_, i) => `198.51.${i >> 6}.${(i * 4) % 256}`);
      const first = new Map<string, string>();
      for (const viewer of viewers) first.set(viewer, await entryBuild(viewer));
      const canaries = [...first.values()].filter((id) => id === builds.canary.buildId).length;
      // Binomial(200, 0.3): mean 60, sd 6.5; ±4.5 sd.
      expect(canaries).toBeGreaterThanOrEqual(31);
      expect(canaries).toBeLessThanOrEqual(89);
      expect(new Set(first.values())).toEqual(new Set([builds.stable.buildId, builds.canary.buildId]));
      // Sticky: the same viewers get the same builds again.
      for (const viewer of viewers.slice(0, 40)) expect(await entryBuild(viewer)).toBe(first.get(viewer));

      const stopped = (await callControl({ url: control.url, pid: process.pid, distribution: local.url, hostPage: local.hostUrl }, 'POST', '/stop')) as { record: string };
      expect(stopped.record).toBe(`v=1 stable=${builds.stable.buildId} canary=- weight=0 salt=-`);
      await edgesCatchUp(local, config);
      const wereCanary = viewers.filter((v) => first.get(v) === builds.canary.buildId);
      for (const viewer of wereCanary) expect(await entryBuild(viewer)).toBe(builds.stable.buildId);
    } finally {
      await control.close();
    }
  });
});


/**
 * The local distribution over HTTP: the emulator does what CloudFront does around the published
 * viewer-assignment function and the bundled routers, the simulated deployment reaches viewers
 * through the real rollout state in the local KeyValueStore, and the control endpoint releases,
 * stops and edits the ring as `npm run local:release` does.
 */
import { loadConfig, resourceNames } from '../../config';
import { callControl, startControlServer } from '../../local/control-server';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { readManifest } from '../../contracts/build-manifest';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { ENTRY_CACHE_CONTROL, IMMUTABLE_CACHE_CONTROL } from '../../contracts/distribution-paths';
import { localBuilds } from '../fixtures/local';

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

/** The build a viewer's entry load gets, as the response says it (every entry carries X-Build-Id). */
async function entryBuild(viewer: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${local.url}/assets/index.js?viewer=${viewer}`, { headers });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return response.headers.get('x-build-id')!;
}

describe('local CloudFront', () => {
  it('assigns the entry with the viewer-assignment function and caches it per build and encoding; browsers get no-cache', async () => {
    local.emulator.invalidate();
    const before = local.emulator.stats();
    const load = () => fetch(`${local.url}/assets/index.js?viewer=192.0.2.10`, { headers: { origin: 'https://shop.example.org', 'accept-encoding': 'gzip, br' } });
    const first = await load();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-build-id')).toBe(builds.stable.buildId);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(first.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('x-cache')).toBe('LambdaGeneratedResponse from cloudfront');
    expect(await first.text()).toContain(`/assets/${builds.stable.buildId}/`);
    // Every other viewer of that build and encoding: a hit, no Lambda.
    const second = await fetch(`${local.url}/assets/index.js?viewer=203.0.113.99`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(second.headers.get('x-cache')).toBe('Hit from cloudfront');
    expect(second.headers.get('x-build-id')).toBe(builds.stable.buildId);
    await second.arrayBuffer();
    const after = local.emulator.stats();
    expect(after.routerInvocations.entry - before.routerInvocations.entry).toBe(1);
    expect(after.functionRuns - before.functionRuns).toBe(2);
  });

  it("answers a build's entry asked for by its own URL from the entry router, unassigned, with X-Build-Id and the router's immutable Cache-Control", async () => {
    local.emulator.invalidate();
    const before = local.emulator.stats();
    const url = `${local.url}/assets/${builds.stable.buildId}/index.js`;
    const first = await fetch(url, { headers: { origin: 'https://shop.example.org', 'accept-encoding': 'br' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-build-id')).toBe(builds.stable.buildId);
    expect(first.headers.get('cache-control')).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(first.headers.get('content-encoding')).toBe('br');
    expect(first.headers.get('x-cache')).toBe('LambdaGeneratedResponse from cloudfront');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    await first.arrayBuffer();
    const again = await fetch(url, { headers: { 'accept-encoding': 'br' } });
    expect(again.headers.get('x-cache')).toBe('Hit from cloudfront');
    expect(again.headers.get('x-build-id')).toBe(builds.stable.buildId);
    await again.arrayBuffer();
    const after = local.emulator.stats();
    // The entry router once, the viewer-assignment function never, no read of the bucket by CloudFront.
    expect(after.routerInvocations.entry - before.routerInvocations.entry).toBe(1);
    expect(after.routerInvocations.chunks - before.routerInvocations.chunks).toBe(0);
    expect(after.functionRuns - before.functionRuns).toBe(0);
    // The one URL host pages embed still tells browsers to ask on every load.
    const entry = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.13`, { headers: { 'accept-encoding': 'br' } });
    expect(entry.headers.get('x-build-id')).toBe(builds.stable.buildId);
    expect(entry.headers.get('cache-control')).toBe(ENTRY_CACHE_CONTROL);
    await entry.arrayBuffer();
  });

  it('answers a returning viewer whose build has not changed with 304; the ETag names one build in one encoding', async () => {
    const first = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.11`, { headers: { 'accept-encoding': 'br' } });
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    const again = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.11`, { headers: { 'accept-encoding': 'br', 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('x-build-id')).toBe(builds.stable.buildId);
    expect(again.headers.get('cache-control')).toBe('no-cache');
    const otherEncoding = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.11`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': etag } });
    expect(otherEncoding.status).toBe(200);
    expect(otherEncoding.headers.get('etag')).not.toBe(etag);
    await otherEncoding.arrayBuffer();
  });

  it('passes the entry unrewritten when the state cannot be read; the router assigns it and nothing is cached', async () => {
    local.emulator.invalidate();
    local.kvs.store.functionFault = 'error';
    try {
      const before = local.emulator.stats();
      for (let i = 0; i < 3; i += 1) {
        const response = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.12`);
        expect(response.status).toBe(200);
        expect(response.headers.get('x-build-id')).toBe(builds.stable.buildId);
        expect(response.headers.get('x-cache')).toBe('LambdaGeneratedResponse from cloudfront');
        await response.arrayBuffer();
      }
      const after = local.emulator.stats();
      expect(after.functionFallbacks - before.functionFallbacks).toBe(3);
      expect(after.routerInvocations.entry - before.routerInvocations.entry).toBe(3);
    } finally {
      local.kvs.store.functionFault = 'none';
    }
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
      const released = (await callControl(control.address, 'POST', '/release', { buildDir: builds.canary.dir })) as { buildId: string };
      expect(released.buildId).toBe(builds.canary.buildId);
      now.t = 2 * MINUTE; // linear 10% per minute: 30%
      const status = local.controlPlane.tick();
      expect(status.canary?.weight).toBe(3000);
      expect(status.state).toBe(formatRolloutState({ stable: builds.stable.buildId, canary: builds.canary.buildId, weight: 3000, salt: status.deployment!.id, ring: [] }));

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

      const stopped = (await callControl(control.address, 'POST', '/stop')) as { state: string };
      expect(stopped.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
      // The next load of every viewer: the function reads the store on each one.
      const wereCanary = viewers.filter((v) => first.get(v) === builds.canary.buildId);
      for (const viewer of wereCanary) expect(await entryBuild(viewer)).toBe(builds.stable.buildId);
    } finally {
      await control.close();
    }
  });
});

describe('the ring, locally', () => {
  it('gives a ring host the canary at the first step, and the stable build again after a stop', async () => {
    const control = await startControlServer(local);
    const address = control.address;
    try {
      const host = new URL(local.hostUrl).origin;
      expect(await callControl(address, 'POST', '/ring', { action: 'add', origin: host })).toEqual({ ring: [host] });
      now.t += 10 * MINUTE;
      await callControl(address, 'POST', '/release', { buildDir: builds.canary.dir });
      expect(local.controlPlane.tick().canary?.weight).toBe(1000);
      const referer = { referer: `${host}/?viewer=anything` };
      for (let i = 0; i < 20; i += 1) expect(await entryBuild(`198.18.0.${i}`, referer)).toBe(builds.canary.buildId);
      // Not a ring host: by weight (10 %), so most of these get stable.
      const others = await Promise.all(Array.from({ length: 20 }, (_, i) => entryBuild(`198.18.0.${i}`, { referer: 'https://elsewhere.example.org/' })));
      expect(others.filter((id) => id === builds.stable.buildId).length).toBeGreaterThan(10);
      await callControl(address, 'POST', '/stop');
      for (let i = 0; i < 5; i += 1) expect(await entryBuild(`198.18.0.${i}`, referer)).toBe(builds.stable.buildId);
      expect(await callControl(address, 'POST', '/ring', { action: 'remove', origin: host })).toEqual({ ring: [] });
    } finally {
      await control.close();
    }
  });
});

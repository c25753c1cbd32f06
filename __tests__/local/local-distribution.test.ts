/**
 * The local distribution over HTTP: the emulator does what CloudFront does around the published
 * viewer-assignment and error-report functions and the bundled routers, logs the entry and the
 * error reports to the signal's stream as CloudFront's real-time logs do, the simulated deployment
 * reaches viewers through the real rollout state in the local KeyValueStore, and the control
 * endpoint releases, stops and edits the ring as `npm run local:release` does.
 */
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { loadConfig, resourceNames } from '../../config';
import { callControl, startControlServer } from '../../local/control-server';
import { SIGNAL_SHARD_ID } from '../../loopback/kinesis-server';
import type { LocalDistribution } from '../../local/local-distribution';
import { readManifest } from '../../contracts/build-manifest';
import { parseRecord, type RealtimeLogRecord } from '../../contracts/realtime-log';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { ENTRY_CACHE_CONTROL, IMMUTABLE_CACHE_CONTROL } from '../../contracts/distribution-paths';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';

const MINUTE = 60_000;
const config = loadConfig();
const names = resourceNames(config);
const builds = localBuilds();
let h: SignalHarness;
let local: LocalDistribution;
const logged: string[] = [];

beforeAll(async () => {
  h = await startSignalHarness(config, { log: (line) => logged.push(line) });
  local = h.local;
});
afterAll(async () => {
  await h?.stop();
});

/** The build a viewer's entry load gets, as the response says it (every entry carries X-Build-Id). */
async function entryBuild(viewer: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${local.url}/assets/index.js?viewer=${viewer}`, { headers });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return response.headers.get('x-build-id')!;
}

describe('local CloudFront', () => {
  it(
    'assigns the entry with the viewer-assignment function and caches it per build and encoding; ' +
      'browsers get no-cache',
    async () => {
      local.emulator.invalidate();
      const before = local.emulator.stats();
      const load = () =>
        fetch(`${local.url}/assets/index.js?viewer=192.0.2.10`, {
          headers: { origin: 'https://shop.example.org', 'accept-encoding': 'gzip, br' },
        });
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
      const second = await fetch(`${local.url}/assets/index.js?viewer=203.0.113.99`, {
        headers: { 'accept-encoding': 'gzip, br' },
      });
      expect(second.headers.get('x-cache')).toBe('Hit from cloudfront');
      expect(second.headers.get('x-build-id')).toBe(builds.stable.buildId);
      await second.arrayBuffer();
      const after = local.emulator.stats();
      expect(after.routerInvocations.entry - before.routerInvocations.entry).toBe(1);
      expect(after.functionRuns - before.functionRuns).toBe(2);
    },
  );

  it(
    "answers a build's entry asked for by its own URL from the entry router, unassigned, with X-Build-Id and the " +
      "router's immutable Cache-Control",
    async () => {
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
      // The entry router once; the viewer-assignment function as the revocation gate on both (it runs before the
      // cache), never assigning; no read of the bucket by CloudFront.
      expect(after.routerInvocations.entry - before.routerInvocations.entry).toBe(1);
      expect(after.routerInvocations.chunks - before.routerInvocations.chunks).toBe(0);
      expect(after.functionRuns - before.functionRuns).toBe(2);
      // The one URL host pages embed still tells browsers to ask on every load.
      const entry = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.13`, {
        headers: { 'accept-encoding': 'br' },
      });
      expect(entry.headers.get('x-build-id')).toBe(builds.stable.buildId);
      expect(entry.headers.get('cache-control')).toBe(ENTRY_CACHE_CONTROL);
      await entry.arrayBuffer();
    },
  );

  it(
    'answers a returning viewer whose build has not changed ' + 'with 304; the ETag names one build in one encoding',
    async () => {
      const first = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.11`, {
        headers: { 'accept-encoding': 'br' },
      });
      await first.arrayBuffer();
      const etag = first.headers.get('etag')!;
      const again = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.11`, {
        headers: { 'accept-encoding': 'br', 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
      expect(again.headers.get('x-build-id')).toBe(builds.stable.buildId);
      expect(again.headers.get('cache-control')).toBe('no-cache');
      const otherEncoding = await fetch(`${local.url}/assets/index.js?viewer=192.0.2.11`, {
        headers: { 'accept-encoding': 'gzip', 'if-none-match': etag },
      });
      expect(otherEncoding.status).toBe(200);
      expect(otherEncoding.headers.get('etag')).not.toBe(etag);
      await otherEncoding.arrayBuffer();
    },
  );

  it(
    'passes the entry unrewritten when the state cannot ' + 'be read; the router assigns it and nothing is cached',
    async () => {
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
    },
  );

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
    expect(
      after.originRequests[names.bucket(config.primaryRegion)]! -
        (before.originRequests[names.bucket(config.primaryRegion)] ?? 0),
    ).toBe(1);
    expect(after.chunkHits - before.chunkHits).toBe(1);
  });

  it('fails over to the secondary bucket when the primary lost an object', async () => {
    const chunk = readManifest(builds.stable.dir).assets.find(
      (a) => a.key.endsWith('.js') && !a.key.endsWith('/index.js') && !/react/.test(a.key),
    )!;
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await local.s3
      .client(config.primaryRegion)
      .send(new DeleteObjectCommand({ Bucket: names.bucket(config.primaryRegion), Key: chunk.key }));
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
    // No API behind /api/* any more: the error reports' GET and HEAD, and nothing else there.
    expect(
      (
        await fetch(`${local.url}/api/metrics`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${local.url}/api/e?b=0123456789abcdef`, { method: 'POST', body: 'x' })).status).toBe(403);
    expect((await fetch(`${local.url}/assets/index.js`)).status).toBe(200);
  });

  it(
    'answers an error report at the edge with the published ' + 'error-report function: 204, no-store, no origin asked',
    async () => {
      const before = local.emulator.stats();
      const response = await fetch(`${local.url}/api/e?b=${builds.stable.buildId}&m=boom&viewer=192.0.2.20`, {
        headers: { origin: 'https://shop.example.org' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(await response.text()).toBe('');
      // HEAD, the other method the behaviour lets through, gets GET's answer from the function.
      const head = await fetch(`${local.url}/api/e?b=${builds.stable.buildId}`, { method: 'HEAD' });
      expect(head.status).toBe(204);
      expect(head.headers.get('cache-control')).toBe('no-store');
      const after = local.emulator.stats();
      expect(after.routerInvocations).toEqual(before.routerInvocations);
      expect(after.originRequests).toEqual(before.originRequests);
    },
  );

  it(
    "writes CloudFront's real-time log record of every entry load and error report to the stream, " +
      'and of nothing else',
    async () => {
      const { client, streamName } = local.signal.kinesis;
      // A second reader of the stream, from its tip once what earlier tests logged is there.
      await local.emulator.logsSettled();
      let iterator = (
        await client.send(
          new GetShardIteratorCommand({
            StreamName: streamName,
            ShardId: SIGNAL_SHARD_ID,
            ShardIteratorType: 'LATEST',
          }),
        )
      ).ShardIterator;
      const at = h.clock.now();
      const page = 'https://shop.example.org/product/42?viewer=198.51.100.1';
      await (
        await fetch(`${local.url}/assets/index.js?viewer=203.0.113.30&v=2`, { headers: { referer: page } })
      ).arrayBuffer();
      await (
        await fetch(`${local.url}/assets/index.js`, {
          headers: { 'x-local-client-ip': '2001:db8:1:2::5', 'if-none-match': '"nope"' },
        })
      ).arrayBuffer();
      await (
        await fetch(`${local.url}/api/e?b=${builds.stable.buildId}&m=TypeError%3A%20x%09is%20undefined`, {
          headers: { referer: page },
        })
      ).arrayBuffer();
      await (
        await fetch(`${local.url}/assets/index.js`, {
          method: 'POST',
          body: 'x',
          headers: { 'x-local-client-ip': '203.0.113.31' },
        })
      ).arrayBuffer();
      // Not logged: a build's entry by its own URL, a chunk, anything else.
      await (await fetch(`${local.url}/assets/${builds.stable.buildId}/index.js`)).arrayBuffer();
      await (await fetch(`${local.url}/${readManifest(builds.stable.dir).assets[0]!.key}`)).arrayBuffer();
      await local.emulator.logsSettled();
      const records: RealtimeLogRecord[] = [];
      await pollUntil(
        'four records on the stream',
        async () => {
          const answer = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
          iterator = answer.NextShardIterator;
          for (const record of answer.Records ?? [])
            records.push(parseRecord(Buffer.from(record.Data!).toString('utf8'))!);
          return records.length >= 4;
        },
        5000,
        50,
      );
      expect(records).toEqual([
        // The path as the viewer sent it; the query without the local client-IP seam; the address the emulator took.
        {
          at,
          clientIp: '203.0.113.30',
          method: 'GET',
          uri: '/assets/index.js',
          query: 'v=2',
          status: 200,
          referer: page,
        },
        {
          at,
          clientIp: '2001:db8:1:2::5',
          method: 'GET',
          uri: '/assets/index.js',
          query: '',
          status: 200,
          referer: null,
        },
        // The viewer of the page that sent it, as the Referer names it.
        {
          at,
          clientIp: '198.51.100.1',
          method: 'GET',
          uri: '/api/e',
          query: `b=${builds.stable.buildId}&m=TypeError%3A%20x%09is%20undefined`,
          status: 204,
          referer: page,
        },
        {
          at,
          clientIp: '203.0.113.31',
          method: 'POST',
          uri: '/assets/index.js',
          query: '',
          status: 403,
          referer: null,
        },
      ]);
    },
  );
});

describe('a release, locally', () => {
  it('shifts a weighted, sticky share of 200 viewers to the canary, and rolls them all back on stop', async () => {
    const control = await startControlServer(local);
    try {
      const releasedAt = h.clock.now();
      const released = (await callControl(control.address, 'POST', '/release', { buildDir: builds.canary.dir })) as {
        buildId: string;
      };
      expect(released.buildId).toBe(builds.canary.buildId);
      // Linear 10 % a minute, but nobody loads the entry: the judge has no evidence, so the first step holds.
      await h.walk(releasedAt + 2 * MINUTE);
      const status = local.controlPlane.tick();
      expect(status.release).toEqual({
        outcome: 'running',
        weight: 1000,
        hold: { reason: 'no evidence yet: no canary viewer counted', since: releasedAt + MINUTE },
      });
      expect(status.state).toBe(
        formatRolloutState({
          stable: builds.stable.buildId,
          canary: builds.canary.buildId,
          weight: 1000,
          salt: status.deployment!.id,
          ring: [],
        }),
      );

      const viewers = Array.from({ length: 200 }, (_, i) => `198.51.${i >> 6}.${(i * 4) % 256}`);
      const first = new Map<string, string>();
      for (const viewer of viewers) first.set(viewer, await entryBuild(viewer));
      const canaries = [...first.values()].filter((id) => id === builds.canary.buildId).length;
      // Binomial(200, 0.1): mean 20, sd 4.2; ±4.5 sd.
      expect(canaries).toBeGreaterThanOrEqual(2);
      expect(canaries).toBeLessThanOrEqual(39);
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
      await h.walk(h.clock.now() + 10 * MINUTE);
      await callControl(address, 'POST', '/release', { buildDir: builds.canary.dir });
      expect(local.controlPlane.tick().canary?.weight).toBe(1000);
      const referer = { referer: `${host}/?viewer=anything` };
      for (let i = 0; i < 20; i += 1) expect(await entryBuild(`198.18.0.${i}`, referer)).toBe(builds.canary.buildId);
      // Not a ring host: by weight (10 %), so most of these get stable.
      const others = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          entryBuild(`198.18.0.${i}`, { referer: 'https://elsewhere.example.org/' }),
        ),
      );
      expect(others.filter((id) => id === builds.stable.buildId).length).toBeGreaterThan(10);
      await callControl(address, 'POST', '/stop');
      for (let i = 0; i < 5; i += 1) expect(await entryBuild(`198.18.0.${i}`, referer)).toBe(builds.stable.buildId);
      expect(await callControl(address, 'POST', '/ring', { action: 'remove', origin: host })).toEqual({ ring: [] });
      // Each ring edit was announced to the signal's timeline before it was written, as `rollout ring` does.
      expect(local.controlPlane.timeline.read().at(-1)).toMatchObject({
        state: parseRolloutState(local.status().state),
        until: null,
      });
      expect(local.controlPlane.timeline.read().some((timed) => timed.state.ring.includes(host))).toBe(true);
    } finally {
      await control.close();
    }
  });
});

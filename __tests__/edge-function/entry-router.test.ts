/**
 * The entry router as it ships (the zip), against a real DNS server on loopback.
 */
import type { CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { chooseBuild } from '../../edge-function/entry-router/assignment';
import { formatRolloutRecord, parseRolloutRecord, type RolloutRecord } from '../../edge-function/shared/rollout-record';
import { cloudFrontResultProblems } from '../../scripts/lib/cloudfront-validation';
import { startDnsServer, type DnsServer } from '../../scripts/local/dns-server';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { ANOTHER_BUILD, BUCKET_DOMAINS, edgeEvent, edgeZipWith, loadEdgeHandler, names, OTHER_BUILD, PRIMARY_DOMAIN, removeEdgeZips, type EdgeHandler } from '../fixtures/edge';

const OWN = defaultBuild().buildId;
const EU_DOMAIN = names.bucketDomain('eu-west-1');
const DNS_TIMEOUT_MS = 200; // the default config's edge.dnsTimeoutMs, which the default build carries
const SLACK_MS = 400;

const rollout = (record: RolloutRecord) => formatRolloutRecord(record);
const isResponse = (result: unknown): result is CloudFrontResultResponse => typeof result === 'object' && result !== null && 'status' in result;

function expectValid(event: ReturnType<typeof edgeEvent>, result: unknown): void {
  expect(cloudFrontResultProblems(event, result, { uriPrefix: '/assets/', s3Domains: BUCKET_DOMAINS })).toEqual([]);
}

/** Which build a result serves: the inlined one (x-build-id) or the one whose index.js it fetches. */
function servedBuild(result: unknown): string {
  if (isResponse(result)) return result.headers?.['x-build-id']?.[0]?.value ?? `status ${result.status}`;
  return /^\/assets\/([0-9a-f]{16})\/index\.js/.exec((result as CloudFrontRequest).uri)?.[1] ?? 'unknown';
}

describe('entry router (bundled)', () => {
  let dns: DnsServer;
  const load = (zip?: string, awsRegion?: string): EdgeHandler => loadEdgeHandler('entry-router', { dnsServer: dns.address, zip, awsRegion });

  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
    removeEdgeZips();
  });
  beforeEach(() => {
    dns.clearQueries();
    dns.setTxt(names.bucketRecord, 'eu-west-1');
    dns.setFault(names.rolloutRecord, null);
    dns.setFault(names.bucketRecord, null);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('splits viewers between its inlined build and the stable build on the nearest bucket, as the assignment rule says', async () => {
    const record: RolloutRecord = { stable: OTHER_BUILD, canary: OWN, weight: 5000, salt: 'd-SPLIT' };
    dns.setTxt(names.rolloutRecord, rollout(record));
    const handler = load();
    const ips = Array.from({ length: 400 }, (_, i) => (i % 2 ? `198.51.${i >> 8}.${i & 255}` : `2001:db8:${i.toString(16)}::1`));
    const served: Record<string, number> = {};
    for (const clientIp of ips) {
      const event = edgeEvent({ clientIp, headers: { 'Accept-Encoding': 'gzip, br' } });
      const result = await handler(event);
      expectValid(event, result);
      const build = servedBuild(result);
      expect(build).toBe(chooseBuild(record, OWN, clientIp));
      served[build] = (served[build] ?? 0) + 1;
      if (build === OTHER_BUILD) {
        const request = result as CloudFrontRequest;
        expect(request.uri).toBe(`/assets/${OTHER_BUILD}/index.js.br`);
        expect(request.origin?.s3).toMatchObject({ domainName: EU_DOMAIN, region: 'eu-west-1', authMethod: 'origin-access-identity' });
        expect(request.headers.host[0].value).toBe(EU_DOMAIN);
      } else {
        expect((result as CloudFrontResultResponse).headers?.['content-encoding']?.[0].value).toBe('br');
      }
    }
    expect(served[OWN]).toBeGreaterThan(150);
    expect(served[OTHER_BUILD]).toBeGreaterThan(150);
    // One lookup of each record for the whole run: both are cached.
    expect(dns.queries(names.rolloutRecord)).toHaveLength(1);
    expect(dns.queries(names.bucketRecord)).toHaveLength(1);
  });

  it('serves the exact bytes of the built index.js, with the headers a no-cache entry needs', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OWN, canary: null, weight: 0, salt: null }));
    const handler = load();
    const indexJs = readFileSync(path.join(BUILD_DIR, defaultBuild().entry.key));
    const response = (await handler(edgeEvent({ headers: { 'Accept-Encoding': 'br' } }))) as CloudFrontResultResponse;
    expect(brotliDecompressSync(Buffer.from(response.body!, 'base64')).equals(indexJs)).toBe(true);
    expect(response.headers).toMatchObject({
      'content-type': [{ value: 'application/javascript; charset=utf-8' }],
      'cache-control': [{ value: 'no-store' }],
      vary: [{ value: 'Accept-Encoding' }],
      'x-build-id': [{ value: OWN }],
    });
    const head = (await handler(edgeEvent({ method: 'HEAD' }))) as CloudFrontResultResponse;
    expect(head.status).toBe('200');
    expect(head.body).toBeUndefined();
  });

  it('sends everybody to the stable build after a rollback (weight 0, no canary)', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }));
    const handler = load();
    for (const clientIp of ['1.1.1.1', '2.2.2.2', '2001:db8::5']) {
      const event = edgeEvent({ clientIp });
      const result = await handler(event);
      expectValid(event, result);
      expect((result as CloudFrontRequest).uri).toBe(`/assets/${OTHER_BUILD}/index.js`);
    }
  });

  it('refuses other methods and paths with a 4xx, never an error', async () => {
    const handler = load();
    for (const [event, status] of [
      [edgeEvent({ method: 'POST' }), '405'],
      [edgeEvent({ uri: '/assets/index.json' }), '404'],
      [{ Records: [{ cf: { request: { uri: 42 } } }] }, '400'],
    ] as const) {
      const result = await handler(event as never);
      expect((result as CloudFrontResultResponse).status).toBe(status);
      expectValid(event as never, result);
    }
  });

  it('keeps the origin of a failover attempt on another replica', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }));
    const handler = load();
    const secondary = names.bucketDomain('ap-southeast-2');
    const event = edgeEvent({ originDomain: secondary });
    const result = (await handler(event)) as CloudFrontRequest;
    expect(result.origin?.s3?.domainName).toBe(secondary);
    expect(result.uri).toBe(`/assets/${OTHER_BUILD}/index.js`);
    expect(dns.queries(names.bucketRecord)).toHaveLength(0);
  });

  describe('without a usable rollout record it serves its own build and shifts nobody', () => {
    it.each<[string, () => void]>([
      ['no record (NXDOMAIN)', () => dns.deleteRecord(names.rolloutRecord)],
      ['a malformed record', () => dns.setTxt(names.rolloutRecord, 'v=1 stable=nope')],
      ['two records', () => dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }), rollout({ stable: ANOTHER_BUILD, canary: null, weight: 0, salt: null }))],
      ['an oversized record (over TCP)', () => dns.setTxt(names.rolloutRecord, `${rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null })} ${'x'.repeat(2000)}`)],
      ['SERVFAIL', () => dns.setFault(names.rolloutRecord, { kind: 'servfail' })],
      ['a garbage answer', () => dns.setFault(names.rolloutRecord, { kind: 'garbage' })],
    ])('%s', async (_case, arrange) => {
      arrange();
      const handler = load();
      let queries = 0;
      for (const clientIp of ['1.1.1.1', '9.9.9.9', '2001:db8::1']) {
        const event = edgeEvent({ clientIp });
        const result = await handler(event);
        expectValid(event, result);
        expect(servedBuild(result)).toBe(OWN);
        // The failed cold lookup (c-ares may retry within it) is not repeated for every request.
        if (queries === 0) queries = dns.queries(names.rolloutRecord).length;
        expect(dns.queries(names.rolloutRecord)).toHaveLength(queries);
      }
    });
  });

  it('falls back to its own build within the DNS timeout when the rollout record never answers', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }));
    dns.setFault(names.rolloutRecord, { kind: 'drop' });
    const handler = load();
    const started = performance.now();
    const result = await handler(edgeEvent());
    const elapsed = performance.now() - started;
    expect(servedBuild(result)).toBe(OWN);
    expect(elapsed).toBeLessThan(DNS_TIMEOUT_MS + SLACK_MS);
    // Behaviour after the failure: no request waits for DNS again.
    const again = performance.now();
    await handler(edgeEvent());
    expect(performance.now() - again).toBeLessThan(50);
    // Once c-ares gives up (its retries run on in the background), the failure is logged once.
    for (let waited = 0; waited < 3000 && jest.mocked(console.warn).mock.calls.length === 0; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(console.warn).toHaveBeenCalledTimes(1);
    expect(console.warn).toHaveBeenCalledWith(`entry-router DNS failing: ${names.rolloutRecord}: ETIMEOUT`);
  });

  it('uses a slow answer in time, and a too-slow answer for the requests after it', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }));
    dns.setFault(names.rolloutRecord, { kind: 'delay', ms: 50 });
    expect(servedBuild(await load()(edgeEvent()))).toBe(OTHER_BUILD);

    dns.setFault(names.rolloutRecord, { kind: 'delay', ms: DNS_TIMEOUT_MS + 150 });
    const handler = load();
    const started = performance.now();
    expect(servedBuild(await handler(edgeEvent()))).toBe(OWN);
    expect(performance.now() - started).toBeLessThan(DNS_TIMEOUT_MS + SLACK_MS);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(servedBuild(await handler(edgeEvent()))).toBe(OTHER_BUILD);
  });

  it('starts one lookup for many concurrent cold requests', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: OWN, weight: 2500, salt: 'd-CONC' }));
    dns.setFault(names.rolloutRecord, { kind: 'delay', ms: 30 });
    const handler = load();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => handler(edgeEvent({ clientIp: `203.0.113.${i}` }))));
    expect(dns.queries(names.rolloutRecord)).toHaveLength(1);
    expect(new Set(results.map(servedBuild))).toEqual(new Set([OWN, OTHER_BUILD]));
  });

  describe('as the rollout record changes (a build with 100 ms refresh)', () => {
    let zip: string;
    beforeAll(async () => {
      zip = await edgeZipWith('entry-router', { rolloutRefreshMs: 100 });
    });

    /** Requests until the handler serves per `record` (a refresh runs in the background), at most ~1 s. */
    async function servesPer(handler: EdgeHandler, record: RolloutRecord, ips: readonly string[]): Promise<boolean> {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const builds = await Promise.all(ips.map(async (clientIp) => servedBuild(await handler(edgeEvent({ clientIp })))));
        if (builds.every((build, i) => build === chooseBuild(record, OWN, ips[i]))) return true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return false;
    }

    it('follows a rollout up and a rollback down, never moving a canary viewer back while the weight grows', async () => {
      const ips = Array.from({ length: 200 }, (_, i) => `100.64.${i >> 8}.${i & 255}`);
      const handler = load(zip);
      const onCanary = new Set<string>();
      for (const weight of [0, 1000, 2500, 5000, 10000]) {
        const record: RolloutRecord = { stable: OTHER_BUILD, canary: OWN, weight, salt: 'd-RAMP' };
        dns.setTxt(names.rolloutRecord, rollout(record));
        expect(await servesPer(handler, record, ips)).toBe(true);
        for (const ip of onCanary) expect(chooseBuild(record, OWN, ip)).toBe(OWN);
        ips.filter((ip) => chooseBuild(record, OWN, ip) === OWN).forEach((ip) => onCanary.add(ip));
      }
      expect(onCanary.size).toBe(ips.length);
      const rolledBack: RolloutRecord = { stable: OTHER_BUILD, canary: null, weight: 0, salt: null };
      dns.setTxt(names.rolloutRecord, rollout(rolledBack));
      expect(await servesPer(handler, rolledBack, ips)).toBe(true);
    });

    it('keeps the last good record when the record turns bad or disappears', async () => {
      const record: RolloutRecord = { stable: OTHER_BUILD, canary: ANOTHER_BUILD, weight: 5000, salt: 'd-KEEP' };
      dns.setTxt(names.rolloutRecord, rollout(record));
      const handler = load(zip);
      const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
      expect(await servesPer(handler, record, ips)).toBe(true);
      for (const arrange of [() => dns.setTxt(names.rolloutRecord, 'v=1 garbage'), () => dns.deleteRecord(names.rolloutRecord), () => dns.setFault(names.rolloutRecord, { kind: 'drop' })]) {
        arrange();
        for (let i = 0; i < 5; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 60));
          for (const clientIp of ips) expect(servedBuild(await handler(edgeEvent({ clientIp })))).toBe(chooseBuild(record, OWN, clientIp));
        }
      }
      expect(parseRolloutRecord('v=1 garbage')).toBeNull();
    });
  });

  it('uses the static table by its execution region when the bucket record cannot be read', async () => {
    dns.setTxt(names.rolloutRecord, rollout({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }));
    dns.deleteRecord(names.bucketRecord);
    const fromFrankfurt = (await load(undefined, 'eu-central-1')(edgeEvent())) as CloudFrontRequest;
    expect(fromFrankfurt.origin?.s3?.domainName).toBe(EU_DOMAIN);
    const fromNowhere = (await load()(edgeEvent())) as CloudFrontRequest;
    expect(fromNowhere.origin?.s3?.domainName).toBe(PRIMARY_DOMAIN);
  });
});

/**
 * The entry router as it ships (the zip), against real servers on loopback: DNS for the nearest
 * bucket, an S3 server holding another build's entry, and the KeyValueStore API for its fallback.
 * It runs only on the entry behaviour's cache misses: for `/assets/<buildId>/index.js` (the
 * viewer-assignment function's rewrite) and, when that function could not read the state,
 * `/assets/index.js`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { CloudFrontResultResponse } from 'aws-lambda';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { assignBuild } from '../../contracts/assignment';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { compress } from '../../publish/build';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { objectMetadata } from '../../contracts/object-metadata';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer, type KvsServer } from '../../loopback/kvs-server';
import { formatRevocation, revocationKey } from '../../contracts/revocation';
import { startS3Server, type S3Server } from '../../loopback/s3-server';
import { BUILD_DIR, defaultBuild, functionZip } from '../fixtures/build';
import type { RequestOptions } from '../fixtures/cloudfront';
import { pollUntil } from '../fixtures/poll';
import {
  BUCKET_DOMAINS,
  config,
  edgeEvent,
  edgeZipWith,
  loadEdgeHandler,
  names,
  OTHER_BUILD,
  removeEdgeScratch,
  runtimeSdkWithout,
  type EdgeHandler,
} from '../fixtures/edge';

const OWN = defaultBuild().buildId;
const ENTRY = readFileSync(path.join(BUILD_DIR, defaultBuild().entry.key));
/** Another build's index.js, as the upload would have stored it in the buckets. */
const OTHER_ENTRY = Buffer.from(`/* build ${OTHER_BUILD} */(()=>{console.log("other")})();\n`);
const md5 = (data: Buffer) => `"${createHash('md5').update(data).digest('hex')}"`;
const STORE_TIMEOUT_MS = config.edge.storeTimeoutMs;
/**
 * What a loaded 2-core machine may add to a bounded wait (a worker paused for a second is not
 * rare). The waits the bounds cut short take far longer than bound plus slack, so a router
 * without its bound still fails.
 */
const SLACK_MS = 1500;
/**
 * Where a test needs the DNS or store answer, a router that waits for it long enough: on a loaded
 * machine a lookup or a cold SigV4A read can pass the default bounds, and the router rightly falls
 * back then (those bounds are tested on their own, with the shipped zip).
 */
const PATIENT_STORE = { storeTimeoutMs: 5000 };
const PATIENT = { ...PATIENT_STORE, dnsTimeoutMs: 5000 };
const STATE_CACHE_MS = 100;

const isResponse = (result: unknown): result is CloudFrontResultResponse =>
  typeof result === 'object' && result !== null && 'status' in result;
const header = (result: unknown, name: string) => (isResponse(result) ? result.headers?.[name]?.[0]?.value : undefined);
const bodyOf = (result: CloudFrontResultResponse) =>
  Buffer.from(result.body ?? '', result.bodyEncoding === 'base64' ? 'base64' : 'utf8');

describe('entry router (bundled)', () => {
  let dns: DnsServer;
  let s3: S3Server;
  let kvs: KvsServer;
  const reads = () =>
    s3.log.filter((entry) => entry.method === 'GET' && entry.key?.startsWith(`assets/${OTHER_BUILD}/`));
  let patientZip: string;
  /** The router with patient DNS and store reads, unless a test names another zip (the shipped one: `functionZip`). */
  const load = (options: { zip?: string; awsRegion?: string; runtimeSdk?: string } = {}): EdgeHandler =>
    loadEdgeHandler('entry-router', {
      dnsServer: dns.address,
      s3Endpoint: s3.endpoint,
      kvsEndpoint: kvs.endpoint,
      zip: patientZip,
      ...options,
    });
  /** An origin-request event as the distribution sends it: with the store's ARN as an origin custom header. */
  const entryEvent = (options: RequestOptions = {}) =>
    edgeEvent({ originCustomHeaders: { [ROLLOUT_STORE_HEADER]: kvs.arn }, ...options });
  const setState = (state: RolloutState) => kvs.store.put(ROLLOUT_STATE_KEY, formatRolloutState(state));
  const expectValid = (event: unknown, result: unknown) =>
    expect(cloudFrontResultProblems(event, result, { uriPrefix: '/assets/', s3Domains: BUCKET_DOMAINS })).toEqual([]);

  beforeAll(async () => {
    patientZip = await edgeZipWith('entry-router', PATIENT);
    dns = await startDnsServer();
    s3 = await startS3Server({ buckets: config.regions.map((region) => names.bucket(region)) });
    kvs = await startKvsServer({ store: new LocalKeyValueStore() });
    // The other build is in every bucket but ap-southeast-2's (an upload that has not reached it yet).
    for (const region of ['us-east-1', 'eu-west-1']) {
      for (const [suffix, bytes] of [
        ['', OTHER_ENTRY],
        ['.gz', compress(OTHER_ENTRY, 'gzip')],
        ['.br', compress(OTHER_ENTRY, 'br')],
      ] as const) {
        const key = `assets/${OTHER_BUILD}/index.js${suffix}`;
        const metadata = objectMetadata(key);
        await s3.client(region).send(
          new PutObjectCommand({
            Bucket: names.bucket(region),
            Key: key,
            Body: bytes,
            ContentType: metadata.contentType,
            ContentEncoding: metadata.contentEncoding,
            CacheControl: metadata.cacheControl,
          }),
        );
      }
    }
  });
  afterAll(async () => {
    await Promise.all([dns.close(), s3.stop(), kvs.close()]);
    removeEdgeScratch();
  });
  beforeEach(() => {
    dns.setTxt(names.bucketRecord, 'eu-west-1');
    dns.setFault(names.bucketRecord, null);
    s3.setHook(null);
    kvs.store.apiFault = null;
    for (const build of [OWN, OTHER_BUILD]) kvs.store.delete(revocationKey(build));
    setState(steadyState(OWN));
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  describe('a rewritten request, /assets/<buildId>/index.js', () => {
    it(
      'answers its own build from the inlined bytes, cacheable for ' +
        'a year, with a strong ETag per encoding and no other call',
      async () => {
        const handler = load();
        const requestsBefore = kvs.requests.length;
        for (const [acceptEncoding, decode, encoding] of [
          ['br', brotliDecompressSync, 'br'],
          ['gzip', gunzipSync, 'gzip'],
          [undefined, (b: Buffer) => b, undefined],
        ] as const) {
          const event = entryEvent({
            uri: `/assets/${OWN}/index.js`,
            headers: acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {},
          });
          const result = (await handler(event)) as CloudFrontResultResponse;
          expectValid(event, result);
          const bytes = bodyOf(result);
          expect(decode(bytes).equals(ENTRY)).toBe(true);
          expect(result.headers).toMatchObject({
            'content-type': [{ value: 'application/javascript; charset=utf-8' }],
            'cache-control': [{ value: 'public, max-age=31536000, immutable' }],
            vary: [{ value: 'Accept-Encoding' }],
            etag: [{ value: md5(bytes) }],
            'x-build-id': [{ value: OWN }],
          });
          expect(header(result, 'content-encoding')).toBe(encoding);
        }
        const head = (await handler(
          entryEvent({ uri: `/assets/${OWN}/index.js`, method: 'HEAD' }),
        )) as CloudFrontResultResponse;
        expect(head.status).toBe('200');
        expect(head.body).toBeUndefined();
        // No store read (the viewer-assignment function gates a revoked build before the cache), no bucket, no DNS.
        expect(kvs.requests.length).toBe(requestsBefore);
        expect(dns.queries(names.bucketRecord)).toHaveLength(0);
      },
    );

    it(
      'answers another build with its bytes from the nearest ' +
        'bucket, the same ETag S3 gives them, once per container',
      async () => {
        const handler = load();
        const readsBefore = reads().length;
        const event = entryEvent({
          uri: `/assets/${OTHER_BUILD}/index.js`,
          headers: { 'Accept-Encoding': 'gzip, br' },
        });
        const result = (await handler(event)) as CloudFrontResultResponse;
        expectValid(event, result);
        const br = compress(OTHER_ENTRY, 'br');
        expect(bodyOf(result).equals(br)).toBe(true);
        expect(result.headers).toMatchObject({
          'x-build-id': [{ value: OTHER_BUILD }],
          etag: [{ value: md5(br) }],
          'content-encoding': [{ value: 'br' }],
          'cache-control': [{ value: 'public, max-age=31536000, immutable' }],
        });
        expect(
          reads()
            .slice(readsBefore)
            .map((entry) => entry.bucket),
        ).toEqual([names.bucket('eu-west-1')]);
        for (let i = 0; i < 5; i += 1) expect(header(await handler(event), 'x-build-id')).toBe(OTHER_BUILD);
        expect(reads().length).toBe(readsBefore + 1);
      },
    );

    it(
      'reads from the primary bucket when the nearest one ' + 'lacks the build, and from the next when one is slow',
      async () => {
        dns.setTxt(names.bucketRecord, 'ap-southeast-2');
        let handler = load();
        let readsBefore = reads().length;
        expect(header(await handler(entryEvent({ uri: `/assets/${OTHER_BUILD}/index.js` })), 'x-build-id')).toBe(
          OTHER_BUILD,
        );
        expect(
          reads()
            .slice(readsBefore)
            .map((entry) => [entry.bucket, entry.status]),
        ).toEqual([
          [names.bucket('ap-southeast-2'), 404],
          [names.bucket('us-east-1'), 200],
        ]);

        dns.setTxt(names.bucketRecord, 'eu-west-1');
        // A bound the healthy read after it keeps even on a loaded machine (a 150 ms one timed it out
        // once under a full run), far below the slow read's 10 s.
        handler = load({ zip: await edgeZipWith('entry-router', { ...PATIENT, bucketTimeoutMs: 400 }) });
        // Slow far past the bound and the slack; the timer is unref'd so a hung read keeps no worker alive.
        s3.setHook((request) =>
          request.bucket === names.bucket('eu-west-1')
            ? new Promise((resolve) => setTimeout(() => resolve(undefined), 10_000).unref())
            : undefined,
        );
        readsBefore = reads().length;
        const started = Date.now();
        expect(header(await handler(entryEvent({ uri: `/assets/${OTHER_BUILD}/index.js` })), 'x-build-id')).toBe(
          OTHER_BUILD,
        );
        expect(Date.now() - started).toBeLessThan(400 + SLACK_MS);
      },
    );

    it(
      'answers a made-up build 404 for a minute, never another build, ' +
        'after at most two reads, and asks again on the next miss',
      async () => {
        dns.setTxt(names.bucketRecord, 'ap-southeast-2');
        const handler = load();
        const missing = 'abcdefabcdefabcd';
        const event = entryEvent({ uri: `/assets/${missing}/index.js` });
        const before = s3.log.length;
        const result = (await handler(event)) as CloudFrontResultResponse;
        expectValid(event, result);
        expect(result.status).toBe('404');
        expect(header(result, 'cache-control')).toBe('public, max-age=60');
        expect(header(result, 'x-build-id')).toBeUndefined();
        // The nearest bucket, then the primary, which settles it: the failover region is not asked.
        expect(s3.log.slice(before).map((entry) => entry.bucket)).toEqual([
          names.bucket('ap-southeast-2'),
          names.bucket('us-east-1'),
        ]);
        await handler(event);
        expect(s3.log.length).toBe(before + 4);
      },
    );

    it(
      'answers 503 no-store, never another build, when no ' + 'bucket could answer, and tries again on the next miss',
      async () => {
        const handler = load();
        s3.setHook(() => ({ status: 500, code: 'InternalError' }));
        const event = entryEvent({
          uri: `/assets/${OTHER_BUILD}/index.js`,
          headers: { 'Accept-Encoding': 'identity' },
        });
        const result = (await handler(event)) as CloudFrontResultResponse;
        expectValid(event, result);
        expect(result.status).toBe('503');
        expect(header(result, 'cache-control')).toBe('no-store');
        s3.setHook(null);
        expect(header(await handler(event), 'x-build-id')).toBe(OTHER_BUILD);
      },
    );

    it(
      'does not need the rollout store: a cold router with the store ' +
        'down right after a rollback serves what the function chose',
      async () => {
        // The rollback: stable is the other build again; the router's own build is the rolled-back one.
        setState(steadyState(OTHER_BUILD));
        kvs.store.apiFault = { status: 500, type: 'InternalServerException' };
        const handler = load();
        for (const clientIp of ['192.0.2.1', '192.0.2.2', '2001:db8::7']) {
          expect(
            header(await handler(entryEvent({ clientIp, uri: `/assets/${OTHER_BUILD}/index.js` })), 'x-build-id'),
          ).toBe(OTHER_BUILD);
        }
      },
    );
  });

  describe('a revoked build (rollout revoke)', () => {
    const revoke = (buildId: string) =>
      kvs.store.put(revocationKey(buildId), formatRevocation({ at: Date.now(), reason: 'CVE-2026-0001' }));

    it('answers 410 no-store on the fallback path when the state it reads still assigns a revoked build', async () => {
      revoke(OTHER_BUILD);
      setState(steadyState(OTHER_BUILD));
      const handler = load();
      const before = reads().length;
      for (const method of ['GET', 'HEAD']) {
        const event = entryEvent({ uri: '/assets/index.js', method });
        const result = (await handler(event)) as CloudFrontResultResponse;
        expectValid(event, result);
        expect([result.status, header(result, 'cache-control'), header(result, 'x-build-id')]).toEqual([
          '410',
          'no-store',
          undefined,
        ]);
      }
      // Nothing of the revoked build was read.
      expect(reads().length).toBe(before);
      // Its own build, revoked, likewise: the inlined bytes are not a way round.
      revoke(OWN);
      setState(steadyState(OWN));
      expect(((await load()(entryEvent({ uri: '/assets/index.js' }))) as CloudFrontResultResponse).status).toBe('410');
    });

    it("gives a revoked canary's viewers the stable build on the fallback path, uncached", async () => {
      revoke(OWN);
      const state: RolloutState = { stable: OTHER_BUILD, canary: OWN, weight: 10000, salt: 'd-REVOKED', ring: [] };
      setState(state);
      const handler = load();
      const event = entryEvent({ uri: '/assets/index.js', clientIp: '192.0.2.44' });
      // At weight 10000 the state assigns everyone the canary; the router gives them the stable build instead.
      expect(assignBuild(state, '192.0.2.44', null, 0)).toBe(OWN);
      const result = (await handler(event)) as CloudFrontResultResponse;
      expectValid(event, result);
      expect([result.status, header(result, 'x-build-id'), header(result, 'cache-control')]).toEqual([
        '200',
        OTHER_BUILD,
        'no-store',
      ]);
    });

    it('keeps a revoked build refused when the store then fails', async () => {
      revoke(OTHER_BUILD);
      setState(steadyState(OTHER_BUILD));
      const handler = load();
      const fallback = entryEvent({ uri: '/assets/index.js' });
      expect(((await handler(fallback)) as CloudFrontResultResponse).status).toBe('410');
      kvs.store.apiFault = { status: 500, type: 'InternalServerException' };
      expect(((await handler(fallback)) as CloudFrontResultResponse).status).toBe('410');
    });
  });

  describe('the unrewritten request, /assets/index.js: the function could not read the state', () => {
    it(
      'reads the state through the KeyValueStore API ' + '(SigV4A), assigns by the same rule, and answers no-store',
      async () => {
        const state: RolloutState = { stable: OTHER_BUILD, canary: OWN, weight: 5000, salt: 'd-FALLBACK', ring: [] };
        setState(state);
        const handler = load();
        const before = kvs.requests.length;
        const served: Record<string, number> = {};
        for (let i = 0; i < 200; i += 1) {
          const clientIp = i % 4 === 0 ? `2001:db8:${i.toString(16)}::1` : `198.51.${i >> 8}.${i & 255}`;
          const event = entryEvent({ clientIp, headers: { 'Accept-Encoding': 'br' } });
          const result = await handler(event);
          expectValid(event, result);
          const build = header(result, 'x-build-id')!;
          expect(build).toBe(assignBuild(state, clientIp, null, 0));
          expect(header(result, 'cache-control')).toBe('no-store');
          served[build] = (served[build] ?? 0) + 1;
        }
        expect(served[OWN]).toBeGreaterThan(70);
        expect(served[OTHER_BUILD]).toBeGreaterThan(70);
        // One read of the state for all of them and one per build served, whether it is revoked (cached), signed the
        // way the API demands.
        const made = kvs.requests.slice(before);
        const get = (key: string) => ({
          method: 'GET',
          path: `/key-value-stores/${encodeURIComponent(kvs.arn)}/keys/${encodeURIComponent(key)}`,
          algorithm: 'AWS4-ECDSA-P256-SHA256',
          regionSet: '*',
        });
        expect(made.slice(0, 1)).toEqual([get(ROLLOUT_STATE_KEY)]);
        expect(made.slice(1).sort((a, b) => a.path.localeCompare(b.path))).toEqual(
          [get(revocationKey(OWN)), get(revocationKey(OTHER_BUILD))].sort((a, b) => a.path.localeCompare(b.path)),
        );
      },
    );

    it('serves its own build, uncached, when the state assigns a build the buckets do not have', async () => {
      setState(steadyState('abcdefabcdefabcd'));
      const handler = load();
      const event = entryEvent({ clientIp: '192.0.2.44' });
      const result = await handler(event);
      expectValid(event, result);
      expect(header(result, 'x-build-id')).toBe(OWN);
      expect(header(result, 'cache-control')).toBe('no-store');
    });

    it('carries its own SigV4A signer and store client: it works where the runtime SDK has neither', async () => {
      setState({ stable: OTHER_BUILD, canary: OWN, weight: 10000, salt: 'd-BUNDLED', ring: [] });
      const handler = load({
        runtimeSdk: runtimeSdkWithout(['@aws-sdk/client-cloudfront-keyvaluestore', '@aws-sdk/signature-v4a']),
      });
      expect(header(await handler(entryEvent({ clientIp: '192.0.2.9' })), 'x-build-id')).toBe(OWN);
      expect(kvs.requests[kvs.requests.length - 1]!.algorithm).toBe('AWS4-ECDSA-P256-SHA256');
    });

    it('gives ring hosts the canary, by the Referer CloudFront forwards', async () => {
      setState({ stable: OTHER_BUILD, canary: OWN, weight: 1, salt: 'd-RING', ring: ['https://demo.example.com'] });
      const handler = load();
      for (let i = 0; i < 20; i += 1) {
        expect(
          header(
            await handler(
              entryEvent({ clientIp: `203.0.113.${i}`, headers: { Referer: 'https://demo.example.com/page' } }),
            ),
            'x-build-id',
          ),
        ).toBe(OWN);
      }
    });

    it('gives a previewed viewer the preview build, whatever the weight, until its time', async () => {
      // The preview's build is the router's own; the rule gives everyone else the other one (weight 0).
      const state: RolloutState = {
        stable: OTHER_BUILD,
        canary: OWN,
        weight: 0,
        salt: 'd-PREVIEW',
        ring: [],
        previews: [
          { build: OWN, viewer: '203.0.113.0/24', until: 9_999_999_999 },
          { build: OWN, viewer: '198.51.100.0/24', until: 1_000_000_000 },
        ],
      };
      setState(state);
      const handler = load();
      for (const [clientIp, build] of [
        ['203.0.113.9', OWN],
        ['::ffff:203.0.113.200', OWN],
        ['203.0.114.9', OTHER_BUILD],
        // Its time is over: the rule's build.
        ['198.51.100.9', OTHER_BUILD],
      ] as const) {
        const event = entryEvent({ clientIp });
        const result = await handler(event);
        expectValid(event, result);
        expect([clientIp, header(result, 'x-build-id')]).toEqual([clientIp, build]);
        expect(assignBuild(state, clientIp, null, Date.now())).toBe(build);
        expect(header(result, 'cache-control')).toBe('no-store');
      }
      // With no rollout at all, too.
      setState({
        ...steadyState(OTHER_BUILD),
        previews: [{ build: OWN, viewer: '203.0.113.9/32', until: 9_999_999_999 }],
      });
      const fresh = load();
      expect(header(await fresh(entryEvent({ clientIp: '203.0.113.9' })), 'x-build-id')).toBe(OWN);
      expect(header(await fresh(entryEvent({ clientIp: '203.0.113.10' })), 'x-build-id')).toBe(OTHER_BUILD);
    });

    it('serves its own build, no-store, only when that read fails too (the documented double fault)', async () => {
      setState(steadyState(OTHER_BUILD));
      kvs.store.apiFault = { status: 503, type: 'ServiceUnavailableException' };
      // The shipped zip and its bound; loaded before the clock starts: the bound is on the request,
      // not on unpacking the zip.
      const handler = load({ zip: functionZip('entry-router') });
      const started = Date.now();
      const result = (await handler(entryEvent())) as CloudFrontResultResponse;
      expect(Date.now() - started).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
      expect(header(result, 'x-build-id')).toBe(OWN);
      expect(header(result, 'cache-control')).toBe('no-store');
    });

    it(
      'serves its own build without asking anyone when the ' + 'origin names no store, or something that is not one',
      async () => {
        const handler = load();
        const before = kvs.requests.length;
        for (const headers of [
          {},
          { [ROLLOUT_STORE_HEADER]: 'arn:aws:s3:::not-a-store' },
          { [ROLLOUT_STORE_HEADER]: '../../etc' },
        ] as Record<string, string>[]) {
          expect(header(await handler(edgeEvent({ originCustomHeaders: headers })), 'x-build-id')).toBe(OWN);
        }
        expect(kvs.requests.length).toBe(before);
      },
    );

    it(
      'follows a rollback within its state cache time, and ' + 'keeps the last good state when the store then fails',
      async () => {
        const handler = load({ zip: await edgeZipWith('entry-router', { ...PATIENT, stateCacheMs: STATE_CACHE_MS }) });
        const served = async () => header(await handler(entryEvent({ clientIp: '192.0.2.77' })), 'x-build-id');
        setState({ stable: OTHER_BUILD, canary: OWN, weight: 10000, salt: 'd-ROLL', ring: [] });
        expect(await served()).toBe(OWN);
        setState(steadyState(OTHER_BUILD));
        // Past the cache time a request refreshes the state in the background; past twice that, one
        // waits for the read (up to the store timeout). Either way the rollback is served by then.
        await pollUntil(
          'the rollback to be served',
          async () => (await served()) === OTHER_BUILD,
          2 * STATE_CACHE_MS + PATIENT_STORE.storeTimeoutMs,
          10,
        );
        kvs.store.apiFault = { status: 500, type: 'InternalServerException' };
        const faulted = performance.now();
        const before = kvs.requests.length;
        // Every answer while the store refuses is the last good state: after refused reads, and
        // past the age (twice the cache time) at which a request waits for a read.
        const answers = new Set<string | undefined>();
        await pollUntil(
          'two refused reads, past twice the cache time',
          async () => {
            answers.add(await served());
            return kvs.requests.length - before >= 2 && performance.now() - faulted > 2 * STATE_CACHE_MS;
          },
          5000,
          10,
        );
        expect([...answers]).toEqual([OTHER_BUILD]);
      },
    );
  });

  describe('refusals', () => {
    it.each<[string, RequestOptions | unknown, string]>([
      ['POST', { method: 'POST' }, '405'],
      ['another path', { uri: '/assets/index.js/../secret' }, '404'],
      ['a build path that is not a build', { uri: '/assets/0123456789ABCDEF/index.js' }, '404'],
      ['a chunk', { uri: `/assets/${OWN}/main.js` }, '404'],
    ])('answers %s with %s, uncached', async (_case, options, status) => {
      const event = entryEvent(options as RequestOptions);
      const result = (await load()(event)) as CloudFrontResultResponse;
      expectValid(event, result);
      expect(result.status).toBe(status);
      expect(header(result, 'cache-control')).toBe('no-store');
    });

    it('answers a malformed event with 400, never an exception', async () => {
      const handler = load();
      for (const event of [null, {}, { Records: [] }, { Records: [{ cf: { request: { uri: 42 } } }] }]) {
        expect(((await handler(event as never)) as CloudFrontResultResponse).status).toBe('400');
      }
    });
  });
});

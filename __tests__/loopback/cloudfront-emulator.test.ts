/**
 * The local CloudFront against CloudFront's documented behaviour: how it picks a behaviour (the
 * distribution's path patterns, first match wins, on the path as the viewer sent it), what its
 * viewer functions get, what it keeps and for how long (errors, HEAD with GET), byte ranges, and
 * the Accept-Encoding normalization. The HTTP tests run it with stand-in functions and a stand-in
 * bucket, so each sees exactly what CloudFront hands them.
 */
import { rawRequest } from '../fixtures/raw-request';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResultResponse } from 'aws-lambda';
import { parseConfig, resourceNames } from '../../config';
import { BUILD_ENTRY_PATTERN } from '../../contracts/distribution-paths';
import type { CloudFrontFunctionViewerEvent } from '../../edge-code/cloudfront-function';
import { behaviourOf, pathPatternMatches } from '../../contracts/distribution-rules';
import {
  byteRange,
  errorCacheSeconds,
  functionQuerystring,
  loggedQuery,
  normalizedAcceptEncoding,
  startCloudFrontEmulator,
  type CloudFrontEmulator,
  type ServedResponse,
} from '../../loopback/cloudfront-emulator';
import { pollUntil } from '../fixtures/poll';

const BUILD = '0123456789abcdef';

describe('CloudFront path patterns', () => {
  it('match `*` across slashes and `?` as one character, case-sensitively, whole path only', () => {
    expect(pathPatternMatches('/assets/*/index.js', `/assets/${BUILD}/index.js`)).toBe(true);
    expect(pathPatternMatches('/assets/*/index.js', '/assets/a/b/index.js')).toBe(true);
    expect(pathPatternMatches('/assets/*/index.js', '/assets/index.js')).toBe(false);
    expect(pathPatternMatches('/assets/*/index.js', `/assets/${BUILD}/index.js.br`)).toBe(false);
    expect(pathPatternMatches('/assets/*/index.js', `/ASSETS/${BUILD}/index.js`)).toBe(false);
    expect(pathPatternMatches('/assets/*/index.js', `/assets/${BUILD}/indexXjs`)).toBe(false);
    expect(pathPatternMatches('/a?c', '/abc')).toBe(true);
    expect(pathPatternMatches('/a?c', '/ac')).toBe(false);
  });

  it(
    "send the entry, a build's entry by its own URL, the " + 'error reports and everything else to their behaviours',
    () => {
      expect(behaviourOf('/assets/index.js')).toBe('entry');
      expect(pathPatternMatches(BUILD_ENTRY_PATTERN, `/assets/${BUILD}/index.js`)).toBe(true);
      expect(behaviourOf(`/assets/${BUILD}/index.js`)).toBe('build-entry');
      expect(behaviourOf(`/assets/${BUILD}/main.3f2a.js`)).toBe('chunks');
      expect(behaviourOf(`/assets/${BUILD}/index.js.map`)).toBe('chunks');
      expect(behaviourOf('/api/e')).toBe('error-report');
      expect(behaviourOf('/api/e/')).toBe('chunks');
      expect(behaviourOf('/api/metrics')).toBe('chunks');
      expect(behaviourOf('/apis')).toBe('chunks');
      expect(behaviourOf('/')).toBe('chunks');
    },
  );

  it(
    "log the query as the viewer sent it, less the local client-IP seam (it stands for CloudFront's " +
      'TCP peer address)',
    () => {
      expect(loggedQuery('/api/e?b=0123456789abcdef&m=a%20b+c&viewer=1.2.3.4')).toBe('b=0123456789abcdef&m=a%20b+c');
      expect(loggedQuery('/assets/index.js?viewer=2001%3Adb8%3A%3A1')).toBe('');
      expect(loggedQuery('/assets/index.js?vi%65wer=1.2.3.4&viewers=2&x')).toBe('viewers=2&x');
      expect(loggedQuery('/assets/index.js')).toBe('');
      expect(loggedQuery('/assets/index.js?')).toBe('');
    },
  );
});

describe('CloudFront rules, as functions', () => {
  it(
    'normalize Accept-Encoding to the codings accepted: q=0 refuses one even where `*` takes the rest, and `*` ' +
      'stands only for codings not named',
    () => {
      expect(normalizedAcceptEncoding('br;q=0, gzip;q=0, *;q=1')).toBeUndefined();
      expect(normalizedAcceptEncoding('gzip;q=0, *')).toBeUndefined();
      expect(normalizedAcceptEncoding('gzip;Q=0.000, br')).toBe('br');
      expect(normalizedAcceptEncoding('*')).toBe('gzip');
      expect(normalizedAcceptEncoding('br, *;q=0')).toBe('br');
      expect(normalizedAcceptEncoding('gzip;q=0.001')).toBe('gzip');
      expect(normalizedAcceptEncoding('gzip, deflate, br, zstd')).toBe('br,gzip');
      expect(normalizedAcceptEncoding('GZIP;q=0.5, BR;q=1.0')).toBe('br,gzip');
      expect(normalizedAcceptEncoding('identity, deflate')).toBeUndefined();
      expect(normalizedAcceptEncoding('gzip;q=2')).toBeUndefined();
      expect(normalizedAcceptEncoding(undefined)).toBeUndefined();
      // What the cache policy does not enable is never in the key.
      expect(normalizedAcceptEncoding('gzip, br', { gzip: true, brotli: false })).toBe('gzip');
      expect(normalizedAcceptEncoding('gzip, br', { gzip: false, brotli: false })).toBeUndefined();
    },
  );

  it(
    'keep an error for the longer of the error caching minimum TTL and its max-age: 404 and 5xx always, 400 and ' +
      '403 only with a max-age, 416 never',
    () => {
      expect(errorCacheSeconds(404, undefined, 10)).toBe(10);
      expect(errorCacheSeconds(404, 'public, max-age=60', 10)).toBe(60);
      expect(errorCacheSeconds(404, 'max-age=3', 10)).toBe(10);
      expect(errorCacheSeconds(503, 'no-store', 10)).toBe(10);
      expect(errorCacheSeconds(500, 's-maxage=20, max-age=5', 10)).toBe(20);
      expect(errorCacheSeconds(403, undefined, 10)).toBe(0);
      expect(errorCacheSeconds(403, 'no-store', 10)).toBe(0);
      expect(errorCacheSeconds(403, 'max-age=30', 10)).toBe(30);
      expect(errorCacheSeconds(400, 'max-age=1', 10)).toBe(10);
      expect(errorCacheSeconds(416, 'max-age=30', 10)).toBe(0);
      expect(errorCacheSeconds(410, 'max-age=30', 10)).toBe(0);
      expect(errorCacheSeconds(404, undefined, 0)).toBe(0);
    },
  );

  it(
    'take one byte range: a part, unsatisfiable past the end, the whole body for anything malformed, ' +
      'invalid or multiple',
    () => {
      expect(byteRange('bytes=2-4', 10)).toEqual({ kind: 'part', start: 2, end: 4 });
      expect(byteRange('bytes=7-', 10)).toEqual({ kind: 'part', start: 7, end: 9 });
      expect(byteRange('bytes=8-100', 10)).toEqual({ kind: 'part', start: 8, end: 9 });
      expect(byteRange('bytes=-3', 10)).toEqual({ kind: 'part', start: 7, end: 9 });
      expect(byteRange('bytes=-30', 10)).toEqual({ kind: 'part', start: 0, end: 9 });
      expect(byteRange('Bytes = 0-0', 10)).toEqual({ kind: 'part', start: 0, end: 0 });
      expect(byteRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
      expect(byteRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' });
      expect(byteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
      for (const ignored of [
        undefined,
        'bytes=5-2',
        'bytes=0-1,4-5',
        'bytes=-',
        'items=0-1',
        'bytes=a-b',
        'bytes=-1-2',
      ])
        expect(byteRange(ignored, 10)).toEqual({ kind: 'whole' });
    },
  );

  it(
    'give a CloudFront Function the query string as sent: every name once, repeated values in multiValue, ' +
      'percent-encoding kept',
    () => {
      expect(functionQuerystring('a=1&a=2&b=x%20y&c&&d=')).toEqual({
        a: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] },
        b: { value: 'x%20y' },
        c: { value: '' },
        d: { value: '' },
      });
      expect(functionQuerystring('')).toEqual({});
    },
  );
});

/** A stand-in for the S3 REST endpoint: what each request asked for, and an answer per path. */
interface Bucket {
  readonly url: string;
  readonly requests: { readonly method: string; readonly path: string; readonly headers: IncomingHttpHeaders }[];
  answer: (method: string, path: string) => { status: number; headers?: Record<string, string>; body?: string };
  close(): Promise<void>;
}

async function startBucket(): Promise<Bucket> {
  const requests: Bucket['requests'][number][] = [];
  const bucket: Bucket = {
    url: '',
    requests,
    answer: () => ({ status: 404 }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const { status, headers = {}, body = '' } = bucket.answer(req.method ?? '', req.url ?? '');
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return Object.assign(bucket, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

/** One request with its target exactly as given. */
function send(base: string, target: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  return rawRequest(base, { ...options, path: target });
}

describe('the local CloudFront, as CloudFront answers', () => {
  const config = parseConfig(
    {
      name: 'widget',
      domain: 'widget.example.com',
      hostedZone: { name: 'example.com' },
      primaryRegion: 'us-east-1',
      regions: ['us-east-1'],
    },
    'test config',
  );
  const bucketPath = (path: string) => `/${resourceNames(config).bucket('us-east-1')}${path}`;
  let bucket: Bucket;
  let emulator: CloudFrontEmulator;
  let clock = 1_800_000_000_000;
  const served: ServedResponse[] = [];
  const viewerEvents: { name: 'viewer-assignment' | 'error-report'; event: CloudFrontFunctionViewerEvent }[] = [];
  const routerRequests: { name: 'entry-router' | 'chunk-router'; request: CloudFrontRequest }[] = [];
  /** What the routers do: pass the request on to the bucket, or answer it. */
  let routerAnswer: (request: CloudFrontRequest) => CloudFrontRequest | CloudFrontResultResponse = (request) => request;
  const router = (name: 'entry-router' | 'chunk-router') => async (event: unknown) => {
    const { request } = (event as CloudFrontRequestEvent).Records[0]!.cf;
    routerRequests.push({ name, request: structuredClone(request) });
    return routerAnswer(request);
  };

  beforeAll(async () => {
    bucket = await startBucket();
    emulator = await startCloudFrontEmulator({
      config,
      s3Endpoint: bucket.url,
      rolloutStoreArn: 'arn:aws:cloudfront::123456789012:key-value-store/0e5e9ef3-2e7c-4b8f-9d1a-3b7c2a1d0f00',
      cacheClock: () => clock,
      handlers: () => ({
        viewerAssignment: async (event) => {
          viewerEvents.push({ name: 'viewer-assignment', event: structuredClone(event) });
          // As the published function: assigns the entry, passes anything else on as sent.
          return event.request.uri === '/assets/index.js'
            ? { ...event.request, uri: `/assets/${BUILD}/index.js` }
            : event.request;
        },
        errorReport: async (event) => {
          viewerEvents.push({ name: 'error-report', event: structuredClone(event) });
          return { statusCode: 204, headers: { 'cache-control': { value: 'no-store' } } };
        },
        entryRouter: router('entry-router'),
        chunkRouter: router('chunk-router'),
      }),
    });
    emulator.onResponse((response) => served.push(response));
  });
  afterAll(async () => {
    await emulator?.close();
    await bucket?.close();
  });
  beforeEach(() => {
    emulator.invalidate();
    served.length = 0;
    viewerEvents.length = 0;
    routerRequests.length = 0;
    bucket.requests.length = 0;
    routerAnswer = (request) => request;
    bucket.answer = () => ({ status: 404 });
  });
  const notFound = (request: CloudFrontRequest): CloudFrontResultResponse => ({
    status: '404',
    headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] },
    body: `no ${request.uri}\n`,
  });
  const behaviourServed = async (target: string) =>
    (await pollUntil(`the access log line of ${target}`, () => served.find((line) => line.url === target), 2000, 5))
      .behaviour;

  it(
    'picks the behaviour by the path as the viewer sent it and hands the routers that path: no dot segment ' +
      'resolved, nothing decoded, `\\` kept',
    async () => {
      routerAnswer = notFound;
      // A browser's URL parser makes each of these /assets/index.js, the entry, whose function would assign it.
      const asSent: [target: string, behaviour: string, router: string][] = [
        ['/assets/../assets/index.js', 'build-entry', 'entry-router'],
        ['/assets/%2e%2e/assets/index.js', 'build-entry', 'entry-router'],
        ['/assets/./index.js', 'build-entry', 'entry-router'],
        ['/assets\\index.js', 'chunks', 'chunk-router'],
        ['/api/e/../../assets/index.js', 'chunks', 'chunk-router'],
      ];
      for (const [target, behaviour, name] of asSent) {
        expect((await send(emulator.url, target)).status).toBe(404);
        expect(await behaviourServed(target)).toBe(behaviour);
        expect(routerRequests.at(-1)).toMatchObject({ name, request: { uri: target } });
      }
      // The build-entry behaviour's gate saw each of its three as sent (and passed it on unchanged); nothing else ran
      // a viewer function.
      expect(viewerEvents.map(({ name, event }) => [name, event.request.uri])).toEqual(
        asSent.filter(([, behaviour]) => behaviour === 'build-entry').map(([target]) => ['viewer-assignment', target]),
      );
      viewerEvents.length = 0;
      // The error reports' function sees its path as sent, too.
      await send(emulator.url, '/api/e?b=1');
      expect(viewerEvents.map(({ name, event }) => [name, event.request.uri])).toEqual([['error-report', '/api/e']]);
    },
  );

  it(
    'gives every viewer function the query string as the viewer sent it, repeated names in multiValue, without ' +
      'the local client-IP seam',
    async () => {
      await send(emulator.url, '/assets/index.js?a=1&a=2&b=x%20y&viewer=192.0.2.1');
      await send(emulator.url, `/api/e?b=${BUILD}&m=TypeError%3A%20x&m=again&viewer=192.0.2.1`);
      expect(viewerEvents.map(({ name, event }) => [name, event.request.querystring, event.viewer.ip])).toEqual([
        [
          'viewer-assignment',
          { a: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] }, b: { value: 'x%20y' } },
          '192.0.2.1',
        ],
        [
          'error-report',
          {
            b: { value: BUILD },
            m: { value: 'TypeError%3A%20x', multiValue: [{ value: 'TypeError%3A%20x' }, { value: 'again' }] },
          },
          '192.0.2.1',
        ],
      ]);
    },
  );

  it(
    'keeps an error from the origin for the error caching minimum TTL (10 s), a 403 only when the origin gave it ' +
      'a max-age, and no function failure at all',
    async () => {
      const path = `/assets/${BUILD}/gone.js`;
      const asked = () => bucket.requests.filter((r) => r.path === bucketPath(path)).length;
      const start = clock;
      bucket.answer = () => ({ status: 404, body: 'NoSuchKey' });
      expect((await send(emulator.url, path)).status).toBe(404);
      clock = start + 9_999;
      expect((await send(emulator.url, path)).status).toBe(404);
      expect(asked()).toBe(1);
      clock = start + 10_001;
      expect((await send(emulator.url, path)).status).toBe(404);
      expect(asked()).toBe(2);

      // S3's 403 carries no Cache-Control: asked again every time.
      const denied = `/assets/${BUILD}/denied.js`;
      bucket.answer = () => ({ status: 403, body: 'AccessDenied' });
      await send(emulator.url, denied);
      await send(emulator.url, denied);
      expect(bucket.requests.filter((r) => r.path === bucketPath(denied))).toHaveLength(2);
      // A generated 403 with a max-age is kept for it.
      const refused = `/assets/${BUILD}/refused.js`;
      routerAnswer = () => ({
        status: '403',
        headers: { 'cache-control': [{ key: 'Cache-Control', value: 'max-age=30' }] },
        body: 'no\n',
      });
      await send(emulator.url, refused);
      clock += 29_000;
      await send(emulator.url, refused);
      expect(routerRequests.filter((r) => r.request.uri === refused)).toHaveLength(1);
      clock += 2_000;
      await send(emulator.url, refused);
      expect(routerRequests.filter((r) => r.request.uri === refused)).toHaveLength(2);

      // A router's 503 with no-store is kept all the same; a router that throws is CloudFront's own error, never kept.
      routerAnswer = () => ({
        status: '503',
        headers: { 'cache-control': [{ key: 'Cache-Control', value: 'no-store' }] },
        body: 'later\n',
      });
      const unavailable = `/assets/${BUILD}/unavailable.js`;
      expect((await send(emulator.url, unavailable)).status).toBe(503);
      expect((await send(emulator.url, unavailable)).status).toBe(503);
      expect(routerRequests.filter((r) => r.request.uri === unavailable)).toHaveLength(1);
      routerAnswer = () => {
        throw new Error('boom');
      };
      const failing = `/assets/${BUILD}/failing.js`;
      expect((await send(emulator.url, failing)).status).toBe(503);
      expect((await send(emulator.url, failing)).status).toBe(503);
      expect(routerRequests.filter((r) => r.request.uri === failing)).toHaveLength(2);
    },
  );

  it(
    'answers a HEAD from the object a GET left in the cache, and a GET after a HEAD from the origin (a HEAD ' +
      'brings no body to serve)',
    async () => {
      const path = `/assets/${BUILD}/main.js`;
      bucket.answer = () => ({
        status: 200,
        headers: { 'content-type': 'application/javascript', etag: '"m1"' },
        body: 'console.log(1);\n',
      });
      const get = await send(emulator.url, path);
      expect(get).toMatchObject({ status: 200, body: 'console.log(1);\n' });
      const head = await send(emulator.url, path, { method: 'HEAD' });
      expect(head).toMatchObject({
        status: 200,
        body: '',
        headers: { 'x-cache': 'Hit from cloudfront', 'content-length': '16', etag: '"m1"' },
      });
      expect(bucket.requests.map((r) => r.method)).toEqual(['GET']);

      const other = `/assets/${BUILD}/other.js`;
      expect(await send(emulator.url, other, { method: 'HEAD' })).toMatchObject({
        status: 200,
        body: '',
        headers: { 'x-cache': 'Miss from cloudfront', 'content-length': '16' },
      });
      expect(await send(emulator.url, other, { method: 'HEAD' })).toMatchObject({
        headers: { 'x-cache': 'Hit from cloudfront', 'content-length': '16' },
      });
      expect(await send(emulator.url, other)).toMatchObject({
        status: 200,
        body: 'console.log(1);\n',
        headers: { 'x-cache': 'Miss from cloudfront' },
      });
      expect(await send(emulator.url, other)).toMatchObject({
        body: 'console.log(1);\n',
        headers: { 'x-cache': 'Hit from cloudfront' },
      });
      expect(bucket.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET ${bucketPath(path)}`,
        `HEAD ${bucketPath(other)}`,
        `GET ${bucketPath(other)}`,
      ]);
    },
  );

  it(
    'serves one byte range of a 200 as a 206 from the whole object, 416 for one past its end, and the whole ' +
      'object for a range it does not take',
    async () => {
      const path = `/assets/${BUILD}/data.json`;
      bucket.answer = () => ({
        status: 200,
        headers: { 'content-type': 'application/json', etag: '"d1"' },
        body: 'abcdefghij',
      });
      const range = (value: string, method = 'GET') => send(emulator.url, path, { method, headers: { range: value } });
      expect(await range('bytes=2-4')).toMatchObject({
        status: 206,
        body: 'cde',
        headers: {
          'content-range': 'bytes 2-4/10',
          'content-length': '3',
          etag: '"d1"',
          'x-cache': 'Miss from cloudfront',
        },
      });
      expect(await range('bytes=-3')).toMatchObject({
        status: 206,
        body: 'hij',
        headers: { 'content-range': 'bytes 7-9/10', 'x-cache': 'Hit from cloudfront' },
      });
      expect(await range('bytes=8-100')).toMatchObject({
        status: 206,
        body: 'ij',
        headers: { 'content-range': 'bytes 8-9/10' },
      });
      const past = await range('bytes=10-');
      expect(past).toMatchObject({ status: 416, body: '', headers: { 'content-range': 'bytes */10' } });
      expect(past.headers['content-type']).toBeUndefined();
      for (const whole of ['bytes=0-1,4-5', 'bytes=5-2', 'items=0-1'])
        expect(await range(whole)).toMatchObject({
          status: 200,
          body: 'abcdefghij',
          headers: { 'content-length': '10' },
        });
      expect(await range('bytes=2-4', 'HEAD')).toMatchObject({
        status: 200,
        body: '',
        headers: { 'content-length': '10' },
      });
      // The bucket was asked once, for the whole object.
      expect(bucket.requests).toHaveLength(1);
      expect(bucket.requests[0]!.headers.range).toBeUndefined();
    },
  );

  it(
    'sends the origin the normalized Accept-Encoding: identity when the viewer refuses both ' +
      'codings, even with `*`',
    async () => {
      bucket.answer = () => ({ status: 200, body: 'x' });
      const path = `/assets/${BUILD}/chunk.js`;
      const xCache = async (encoding: string) =>
        (await send(emulator.url, path, { headers: { 'accept-encoding': encoding } })).headers['x-cache'];
      expect(await xCache('br;q=0, gzip;q=0, *;q=1')).toBe('Miss from cloudfront');
      expect(await xCache('gzip, br')).toBe('Miss from cloudfront');
      // Both refusals are one cache key, the one of a viewer that accepts neither coding.
      expect(await xCache('gzip;q=0, *')).toBe('Hit from cloudfront');
      expect(await xCache('identity')).toBe('Hit from cloudfront');
      expect(routerRequests.map((r) => r.request.headers['accept-encoding']?.[0]?.value)).toEqual([
        'identity',
        'br,gzip',
      ]);
    },
  );

  it(
    'invalidates the paths it is given, as CloudFront takes them: an exact path, or a prefix ending in `*`, ' +
      'matched on the URI the cache keys on (the entry by its rewrite); with none, everything',
    async () => {
      const other = 'fedcba9876543210';
      bucket.answer = () => ({
        status: 200,
        headers: { 'cache-control': 'public, max-age=31536000, immutable' },
        body: 'x',
      });
      // The entry (the stand-in function rewrites it to BUILD's), a chunk of BUILD, two files of another build.
      const targets = [
        '/assets/index.js',
        `/assets/${BUILD}/main.js`,
        `/assets/${other}/main.js`,
        `/assets/${other}/a.css`,
      ];
      const xCaches = async () => {
        const seen: string[] = [];
        for (const target of targets) {
          const { headers } = await send(emulator.url, target, { headers: { 'accept-encoding': 'gzip' } });
          seen.push(headers['x-cache'] === 'Hit from cloudfront' ? 'hit' : 'miss');
        }
        return seen;
      };
      await xCaches();
      expect(await xCaches()).toEqual(['hit', 'hit', 'hit', 'hit']);
      // The build's folder: its entry as the function rewrote it, and its chunks; nothing of the other build.
      emulator.invalidate([`/assets/${BUILD}/*`]);
      expect(await xCaches()).toEqual(['miss', 'miss', 'hit', 'hit']);
      // An exact path takes that path only.
      emulator.invalidate([`/assets/${other}/main.js`, '/assets/nothing-here.js']);
      expect(await xCaches()).toEqual(['hit', 'hit', 'miss', 'hit']);
      // What CloudFront refuses is refused before anything is taken away.
      for (const refused of [`assets/${BUILD}/*`, '/assets/*/index.js', '/assets/**', `/assets/${BUILD}/*x`])
        expect(() => emulator.invalidate([`/assets/${other}/*`, refused])).toThrow(/must start with \/ and may hold/);
      expect(await xCaches()).toEqual(['hit', 'hit', 'hit', 'hit']);
      // No paths: the whole cache, as `/*`.
      emulator.invalidate();
      expect(await xCaches()).toEqual(['miss', 'miss', 'miss', 'miss']);
      emulator.invalidate(['/*']);
      expect(await xCaches()).toEqual(['miss', 'miss', 'miss', 'miss']);
    },
  );
});

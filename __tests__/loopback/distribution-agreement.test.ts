/**
 * The synthesized distribution and the local CloudFront agree, behaviour by behaviour. One side is
 * read from the delivery stack's Terraform JSON (the cache behaviours in their order and the
 * policies, functions and origins they name); the other is what the emulator does, seen from
 * outside: stand-in functions record which of them ran and what they were handed, a stand-in
 * bucket answers, and a manual clock measures how long a response is kept. For a path of every
 * pattern, and paths that fall to the default, what the JSON says CloudFront does is what the
 * emulator did. Both are made from contracts/distribution-rules.ts; this fails when either
 * renders it its own way (an order, a TTL, a header, a function association).
 */
import { rawRequest } from '../fixtures/raw-request';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFrontRequest, CloudFrontRequestEvent } from 'aws-lambda';
import { resourceNames } from '../../config';
import type { Block } from '../../stacks/policy/terraform-json';
import { pathPatternMatches } from '../../contracts/distribution-rules';
import {
  PATH_PATTERNS,
  startCloudFrontEmulator,
  type CloudFrontEmulator,
  type EdgeHandlers,
} from '../../loopback/cloudfront-emulator';
import { NO_FAULT } from '../../loopback/realtime-logs';
import { FIVE_REGIONS, only, synthesize, testConfig, type SynthesizedStack } from '../stacks/support';

const BUILD = '0123456789abcdef';
const ROLLOUT_STORE_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0e5e9ef3-2e7c-4b8f-9d1a-3b7c2a1d0f00';
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'];
/** Longest TTL a measurement looks for: past CloudFront's year. */
const LONGEST_SECONDS = 2 ** 26;

/** AWS's managed cache policies, as the developer guide documents them ("Use managed cache policies"). */
const MANAGED_CACHE_POLICIES: Readonly<Record<string, { ttl: Ttl; gzip: boolean; brotli: boolean }>> = {
  // CachingDisabled
  '4135ea2d-6df8-44a3-9df3-4b5a84be39ad': { ttl: { min: 0, default: 0, max: 0 }, gzip: false, brotli: false },
  // CachingOptimized
  '658327ea-f89d-4fab-a63d-7e88639e58f6': {
    ttl: { min: 1, default: 86_400, max: 31_536_000 },
    gzip: true,
    brotli: true,
  },
};

interface Ttl {
  readonly min: number;
  readonly default: number;
  readonly max: number;
}

/** A behaviour as the outside sees it: what runs, what is let through, kept, forwarded and added. */
interface BehaviourView {
  readonly viewerFunction: keyof EdgeHandlers | null;
  readonly originFunction: keyof EdgeHandlers | null;
  readonly allowedMethods: readonly string[];
  readonly cachedMethods: readonly string[];
  /** Seconds a 200 is kept: without Cache-Control, with a max-age past any TTL, with no-store. */
  readonly ttl: Ttl;
  /**
   * The Accept-Encoding the origin function is handed for a viewer's `gzip, br`; whether `gzip` and `br` are two cache
   * keys.
   */
  readonly acceptEncoding: { readonly forwarded: string | null; readonly perEncoding: boolean } | null;
  /** Which of the viewer's Referer, Cookie and X-Probe the origin function is handed, and what of its query. */
  readonly forwarded: { readonly headers: readonly string[]; readonly querystring: string } | null;
  /** The headers added to a 200 for a request with an Origin, when the bucket sent only Cache-Control. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly realtimeLogged: boolean;
}

const PROBE_HEADERS = ['referer', 'cookie', 'x-probe'];
const ORIGIN_CACHE_CONTROL = 'public, max-age=60';
const POLICY_HEADERS = [
  'strict-transport-security',
  'x-content-type-options',
  'referrer-policy',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'cache-control',
];

const { delivery, config } = synthesize(testConfig(FIVE_REGIONS));
const names = resourceNames(config);
const distribution = only(delivery, 'aws_cloudfront_distribution');
const ordered = distribution.ordered_cache_behavior as Block[];
const defaultBehaviour = distribution.default_cache_behavior as Block;

/** The resource a `${type.name.attribute}` reference names. */
function referenced(stack: SynthesizedStack, type: string, reference: unknown): Block {
  const match = new RegExp(`^\\$\\{${type}\\.([^.]+)\\.[a-z_]+\\}$`).exec(String(reference));
  const found = match?.[1] === undefined ? undefined : stack.json.resource?.[type]?.[match[1]];
  if (found === undefined) throw new Error(`${String(reference)} names no ${type}`);
  return found;
}

function items(config: unknown, behavior: string, key: string): readonly string[] | 'all' {
  const block = config as Block;
  if (block[behavior] === 'none') return [];
  if (block[behavior] === 'all') return 'all';
  return ((block[key] as Block | undefined)?.items as string[] | undefined) ?? [];
}

/** What the synthesized JSON says CloudFront does with a request this behaviour gets. */
function synthesizedView(behaviour: Block): BehaviourView {
  const viewerFunctions = (behaviour.function_association as Block[] | undefined) ?? [];
  const originFunctions = (behaviour.lambda_function_association as Block[] | undefined) ?? [];
  expect(viewerFunctions.every((f) => f.event_type === 'viewer-request')).toBe(true);
  expect(originFunctions.every((f) => f.event_type === 'origin-request')).toBe(true);
  const viewerFunction =
    viewerFunctions[0] && String(referenced(delivery, 'aws_cloudfront_function', viewerFunctions[0].function_arn).name);
  const originFunction =
    originFunctions[0] &&
    String(referenced(delivery, 'aws_lambda_function', originFunctions[0].lambda_arn).function_name);
  const handlerOf: Readonly<Record<string, keyof EdgeHandlers>> = {
    [names.viewerAssignment]: 'viewerAssignment',
    [names.errorReport]: 'errorReport',
    [names.entryRouter]: 'entryRouter',
    [names.chunkRouter]: 'chunkRouter',
  };

  const policyId = String(behaviour.cache_policy_id);
  const managed = MANAGED_CACHE_POLICIES[policyId];
  const cachePolicy = managed ? undefined : referenced(delivery, 'aws_cloudfront_cache_policy', policyId);
  const key = cachePolicy?.parameters_in_cache_key_and_forwarded_to_origin as Block | undefined;
  const ttl = managed?.ttl ?? {
    min: Number(cachePolicy!.min_ttl),
    default: Number(cachePolicy!.default_ttl),
    max: Number(cachePolicy!.max_ttl),
  };
  const gzip = managed?.gzip ?? key?.enable_accept_encoding_gzip === true;
  const brotli = managed?.brotli ?? key?.enable_accept_encoding_brotli === true;
  const originRequest =
    behaviour.origin_request_policy_id === undefined
      ? undefined
      : referenced(delivery, 'aws_cloudfront_origin_request_policy', behaviour.origin_request_policy_id);

  const forwardedHeaders = new Set<string>();
  const forwardedQuery = new Set<string>();
  let allQuery = false;
  for (const source of [key, originRequest]) {
    if (source === undefined) continue;
    const headers = items(source.headers_config, 'header_behavior', 'headers');
    const cookies = items(source.cookies_config, 'cookie_behavior', 'cookies');
    const query = items(source.query_strings_config, 'query_string_behavior', 'query_strings');
    for (const name of headers === 'all' ? PROBE_HEADERS : headers) forwardedHeaders.add(name.toLowerCase());
    if (cookies === 'all' || cookies.length > 0) forwardedHeaders.add('cookie');
    if (query === 'all') allQuery = true;
    else for (const name of query) forwardedQuery.add(name);
  }

  const responseHeaders: Record<string, string> = { 'cache-control': ORIGIN_CACHE_CONTROL };
  if (behaviour.response_headers_policy_id !== undefined) {
    const policy = referenced(delivery, 'aws_cloudfront_response_headers_policy', behaviour.response_headers_policy_id);
    const add = (name: string, value: string, override: unknown) => {
      if (override === true || responseHeaders[name] === undefined) responseHeaders[name] = value;
    };
    const security = (policy.security_headers_config ?? {}) as Block;
    const hsts = security.strict_transport_security as Block | undefined;
    if (hsts)
      add(
        'strict-transport-security',
        `max-age=${String(hsts.access_control_max_age_sec)}` +
          `${hsts.include_subdomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`,
        hsts.override,
      );
    const nosniff = security.content_type_options as Block | undefined;
    if (nosniff) add('x-content-type-options', 'nosniff', nosniff.override);
    const referrer = security.referrer_policy as Block | undefined;
    if (referrer) add('referrer-policy', String(referrer.referrer_policy), referrer.override);
    const cors = policy.cors_config as Block | undefined;
    if (cors) {
      const origins = ((cors.access_control_allow_origins as Block | undefined)?.items as string[] | undefined) ?? [];
      if (origins.includes('*')) add('access-control-allow-origin', '*', cors.origin_override);
      if (cors.access_control_allow_credentials === true)
        add('access-control-allow-credentials', 'true', cors.origin_override);
    }
    for (const header of ((policy.custom_headers_config as Block | undefined)?.items as Block[] | undefined) ?? [])
      add(String(header.header).toLowerCase(), String(header.value), header.override);
  }

  const hasOriginFunction = originFunction !== undefined;
  return {
    viewerFunction: viewerFunction === undefined ? null : (handlerOf[viewerFunction] ?? null),
    originFunction: originFunction === undefined ? null : (handlerOf[originFunction] ?? null),
    allowedMethods: [...(behaviour.allowed_methods as string[])].sort(),
    cachedMethods: ttl.default > 0 ? [...(behaviour.cached_methods as string[])].sort() : [],
    ttl,
    acceptEncoding: hasOriginFunction
      ? {
          forwarded: gzip && brotli ? 'br,gzip' : gzip ? 'gzip' : brotli ? 'br' : null,
          perEncoding: ttl.default > 0 && (gzip || brotli),
        }
      : null,
    forwarded: hasOriginFunction
      ? {
          headers: PROBE_HEADERS.filter((name) => forwardedHeaders.has(name)),
          querystring: allQuery
            ? 'a=1&b=2'
            : ['a=1', 'b=2'].filter((pair) => forwardedQuery.has(pair.slice(0, 1))).join('&'),
        }
      : null,
    responseHeaders,
    realtimeLogged: behaviour.realtime_log_config_arn !== undefined,
  };
}

/** A path of a pattern: each `*` a build id, each `?` one letter. */
function pathOf(pattern: string): string {
  return pattern.replace(/\*/g, BUILD).replace(/\?/g, 'x');
}

/**
 * The behaviour CloudFront gives a path, by the synthesized order: the first pattern that matches, else the default.
 */
function synthesizedBehaviourOf(path: string): Block {
  return ordered.find((b) => pathPatternMatches(String(b.path_pattern), path)) ?? defaultBehaviour;
}

/** One request with its target exactly as given. */
function send(base: string, target: string, method = 'GET', headers: Record<string, string> = {}) {
  return rawRequest(base, { method, path: target, headers });
}

describe('the synthesized distribution and the local CloudFront', () => {
  let bucketServer: Server;
  let emulator: CloudFrontEmulator;
  let clock = 1_800_000_000_000;
  /** How the buckets answer: the primary's and the failover region's status, and the Cache-Control of every answer. */
  let bucketAnswer: { primaryStatus: number; failoverStatus?: number; cacheControl: string | undefined } = {
    primaryStatus: 200,
    cacheControl: undefined,
  };
  const bucketRequests: { bucket: string; method: string }[] = [];
  const ran: { handler: keyof EdgeHandlers; request: CloudFrontRequest | null; uri: string }[] = [];
  const logged: string[] = [];
  const primaryBucket = names.bucket(config.primaryRegion);

  beforeAll(async () => {
    bucketServer = createServer((req, res) => {
      const bucket = (req.url ?? '').split('/')[1] ?? '';
      bucketRequests.push({ bucket, method: req.method ?? '' });
      const status = bucket === primaryBucket ? bucketAnswer.primaryStatus : (bucketAnswer.failoverStatus ?? 200);
      const body = status === 200 ? 'content' : 'error';
      res.writeHead(status, {
        'content-type': 'text/plain',
        'content-length': String(body.length),
        ...(bucketAnswer.cacheControl === undefined ? {} : { 'cache-control': bucketAnswer.cacheControl }),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve) => bucketServer.listen(0, '127.0.0.1', () => resolve()));
    const viewerFunction =
      (handler: 'viewerAssignment' | 'errorReport') =>
      async (event: Parameters<EdgeHandlers['viewerAssignment']>[0]) => {
        ran.push({ handler, request: null, uri: event.request.uri });
        return event.request;
      };
    const originFunction = (handler: 'entryRouter' | 'chunkRouter') => async (event: unknown) => {
      const { request: forwarded } = (event as CloudFrontRequestEvent).Records[0]!.cf;
      ran.push({ handler, request: structuredClone(forwarded), uri: forwarded.uri });
      return forwarded;
    };
    const handlers: EdgeHandlers = {
      viewerAssignment: viewerFunction('viewerAssignment'),
      errorReport: viewerFunction('errorReport'),
      entryRouter: originFunction('entryRouter'),
      chunkRouter: originFunction('chunkRouter'),
    };
    emulator = await startCloudFrontEmulator({
      config,
      s3Endpoint: `http://127.0.0.1:${(bucketServer.address() as AddressInfo).port}`,
      handlers: () => handlers,
      rolloutStoreArn: ROLLOUT_STORE_ARN,
      cacheClock: () => clock,
      realtimeLogs: {
        clock: { now: () => clock },
        delivery: {
          write: (record) => void logged.push(record),
          fault: NO_FAULT,
          stats: () => ({ written: logged.length, delivered: logged.length, dropped: 0, failed: 0, throttled: 0 }),
          settled: async () => undefined,
          releaseHeld: () => undefined,
          close: async () => undefined,
        },
      },
    });
  });
  afterAll(async () => {
    await emulator?.close();
    await new Promise<void>((resolve) => (bucketServer ? bucketServer.close(() => resolve()) : resolve()));
  });
  beforeEach(() => {
    emulator.invalidate();
    bucketAnswer = { primaryStatus: 200, cacheControl: undefined };
  });

  const fresh = () => {
    emulator.invalidate();
    ran.length = 0;
    bucketRequests.length = 0;
  };
  const hit = async (path: string, method = 'GET', headers: Record<string, string> = {}) =>
    (await send(emulator.url, path, method, headers)).headers['x-cache'] === 'Hit from cloudfront';

  /**
   * Seconds the emulator keeps this path's 200 when the bucket sends `cacheControl`: the first later instant it asks
   * the origin again.
   */
  async function keptSeconds(path: string, cacheControl: string | undefined): Promise<number> {
    bucketAnswer = { primaryStatus: 200, cacheControl };
    const start = clock;
    const keptUntil = async (seconds: number) => {
      fresh();
      clock = start;
      await send(emulator.url, path);
      clock = start + seconds * 1000;
      return hit(path);
    };
    let [low, high] = [0, LONGEST_SECONDS];
    if (!(await keptUntil(0))) return 0;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await keptUntil(middle)) low = middle;
      else high = middle;
    }
    clock = start;
    return high;
  }

  /** What the emulator does with requests for `path`, in the terms of BehaviourView. */
  async function emulatedView(path: string): Promise<BehaviourView> {
    fresh();
    logged.length = 0;
    await send(emulator.url, path, 'GET', {
      referer: 'https://shop.example.org/',
      cookie: 'session=1',
      'x-probe': '1',
      'accept-encoding': 'gzip, br',
    });
    const viewerFunction =
      ran.find((r) => r.handler === 'viewerAssignment' || r.handler === 'errorReport')?.handler ?? null;
    const origin = ran.find((r) => r.handler === 'entryRouter' || r.handler === 'chunkRouter');

    fresh();
    await send(emulator.url, `${path}?a=1&b=2`);
    const querystring = ran.find((r) => r.request !== null)?.request?.querystring ?? '';
    // Written once each request is answered: by now the first one's record is in, if it has one.
    const realtimeLogged = logged.length > 0;

    let perEncoding = false;
    if (origin) {
      fresh();
      const gzip = { 'accept-encoding': 'gzip' };
      await send(emulator.url, path, 'GET', gzip);
      perEncoding = (await hit(path, 'GET', gzip)) && !(await hit(path, 'GET', { 'accept-encoding': 'br' }));
    }

    const allowedMethods: string[] = [];
    for (const method of METHODS)
      if ((await send(emulator.url, path, method)).status !== 403) allowedMethods.push(method);
    const cachedMethods: string[] = [];
    for (const method of ['GET', 'HEAD']) {
      fresh();
      await send(emulator.url, path, method);
      if (await hit(path, method)) cachedMethods.push(method);
    }

    fresh();
    bucketAnswer = { primaryStatus: 200, cacheControl: ORIGIN_CACHE_CONTROL };
    const answered = await send(emulator.url, path, 'GET', { origin: 'https://shop.example.org' });
    const responseHeaders = Object.fromEntries(
      POLICY_HEADERS.flatMap((name) =>
        typeof answered.headers[name] === 'string' ? [[name, answered.headers[name]]] : [],
      ),
    );

    const ttl = {
      min: await keptSeconds(path, 'no-store'),
      default: await keptSeconds(path, undefined),
      max: await keptSeconds(path, `max-age=${LONGEST_SECONDS * 2}`),
    };
    const forwardedHeaders = PROBE_HEADERS.filter((name) => origin?.request?.headers[name] !== undefined);
    return {
      viewerFunction,
      originFunction: origin?.handler ?? null,
      allowedMethods: allowedMethods.sort(),
      cachedMethods: cachedMethods.sort(),
      ttl,
      acceptEncoding: origin
        ? { forwarded: origin.request?.headers['accept-encoding']?.[0]?.value ?? null, perEncoding }
        : null,
      forwarded: origin ? { headers: forwardedHeaders, querystring } : null,
      responseHeaders,
      realtimeLogged,
    };
  }

  it('try the same path patterns in the same order', () => {
    expect(PATH_PATTERNS).toEqual(ordered.map((b) => b.path_pattern));
  });

  const probes = [
    ...ordered.map((b) => pathOf(String(b.path_pattern))),
    `/assets/${BUILD}/main.3f2a.js`,
    '/assets/index.js.map',
    '/api/e/',
    '/',
  ];
  it.each(probes)(
    'agree on %s: its behaviour, functions, methods, TTLs, cache key, forwarded values, response headers and logs',
    async (path) => {
      expect(await emulatedView(path)).toEqual(synthesizedView(synthesizedBehaviourOf(path)));
    },
  );

  it('keep an error from the origin for the error caching minimum TTL of its status code', async () => {
    const responses = (distribution.custom_error_response as Block[] | undefined) ?? [];
    const minTtl = Number(responses.find((r) => r.error_code === 404)?.error_caching_min_ttl ?? 10);
    const path = `/assets/${BUILD}/gone.js`;
    bucketAnswer = { primaryStatus: 404, failoverStatus: 404, cacheControl: undefined };
    const start = clock;
    fresh();
    await send(emulator.url, path);
    clock = start + minTtl * 1000 - 1;
    expect(await hit(path)).toBe(minTtl > 0);
    clock = start + minTtl * 1000;
    expect(await hit(path)).toBe(false);
    clock = start;
  });

  it(
    'fail over from the primary bucket to the failover region on the origin group’s status codes, naming the ' +
      'origins as the distribution does',
    async () => {
      const origins = distribution.origin as Block[];
      const group = (distribution.origin_group as Block[])[0]!;
      const members = (group.member as Block[]).map((m) => origins.find((o) => o.origin_id === m.origin_id)!);
      expect(defaultBehaviour.target_origin_id).toBe(group.origin_id);
      const failoverCodes = (group.failover_criteria as Block).status_codes as number[];
      const failedOver: number[] = [];
      for (const status of [400, 403, 404, 405, 410, 416, 500, 501, 502, 503, 504]) {
        fresh();
        bucketAnswer = { primaryStatus: status, cacheControl: undefined };
        await send(emulator.url, `/assets/${BUILD}/chunk-${status}.js`);
        if (bucketRequests.length > 1) failedOver.push(status);
        const asked = ran.map((r) => r.request!.origin!.s3!);
        expect(asked.map((s3) => s3.domainName)).toEqual(
          members.slice(0, bucketRequests.length).map((o) => o.domain_name),
        );
        for (const s3 of asked)
          expect(Object.keys(s3.customHeaders).sort()).toEqual(
            (members[0]!.custom_header as Block[]).map((h) => String(h.name)).sort(),
          );
      }
      expect(failedOver).toEqual(failoverCodes);
    },
  );
});

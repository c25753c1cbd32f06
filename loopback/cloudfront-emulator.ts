/**
 * CloudFront on loopback: what the distribution does with a viewer's request, by the same table
 * the stack renders it from (contracts/distribution-rules.ts), and nothing of the routing itself.
 * The assignment and the routers are what the build wrote: the CloudFront Functions' published
 * code (in the cloudfront-js-2.0 harness, the viewer-assignment function reading the local
 * KeyValueStore) and the bundled Lambda@Edge handlers. This server only
 *
 *   - picks the behaviour (the first ordered one whose path pattern matches the path as the viewer
 *     sent it, else the default) and refuses the methods it does not allow (403),
 *   - runs the behaviour's viewer-request function (503 when it throws, as CloudFront answers a
 *     function error); a response it returns is all there is (the error reports' 204),
 *   - keys its cache on the URI the function left and what the cache policy puts in the key (the
 *     normalized Accept-Encoding), keeps a 200 as long as its Cache-Control allows within the
 *     policy's TTLs (`no-store` with min TTL 0 never: the entry router's fallback answers) and an
 *     error for the error caching minimum TTL, and answers a HEAD from a GET's object,
 *   - on a miss calls the behaviour's origin-request handler with CloudFront's event shape (the
 *     origins carry the rollout store's ARN as a custom header; what the policies forward, Referer
 *     on the entry), checks its result as CloudFront does (502 when invalid, 503 when it throws),
 *     and either answers with the generated response or fetches the request from its bucket,
 *   - fails over to the secondary bucket on the origin group's status codes, running the handler
 *     again for the failover origin,
 *   - answers a conditional request (If-None-Match) for a response it has with a 304, and a single
 *     byte range of a 200 with a 206,
 *   - adds the response headers policy's headers (security headers, CORS, `no-cache` on the entry),
 *   - writes CloudFront's real-time log record (contracts/realtime-log.ts `formatRecord`) of every
 *     request to a logged behaviour (the entry, `/api/e`), once it is answered, to the signal's
 *     stream (realtime-logs.ts: asynchronously, best effort, 100 % sampled): the time on the local
 *     clock, the client address, the method, the path and query as the viewer sent them, the
 *     status answered, the Referer. That stream is the release signal; nothing else feeds it.
 *
 * Not emulated: the viewer protocol policy (loopback is plain HTTP), compression at the edge (the
 * buckets hold every variant pre-compressed), custom error pages.
 *
 * Local only: the client IP the edge sees can be set with the `x-local-client-ip` header or the
 * `viewer` query parameter (removed before any function sees the request, and from the logged
 * query: it stands for the TCP peer address), on every behaviour. A request whose Referer is a
 * page loaded with `?viewer=` (the local host page sends full referrers) is that viewer's too, so
 * the widget's chunks and error reports come from the viewer that loaded it. So one browser can act
 * as many viewers.
 */
import { request as httpRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResultResponse,
} from 'aws-lambda';
import type { DeployConfig } from '../config';
import { resourceNames } from '../config';
import {
  DISTRIBUTION_RULES,
  type BehaviourName,
  type CachePolicy,
  type OriginFunctionName,
  type ResponseHeadersPolicy,
  type ViewerFunctionName,
  behaviourRuleOf,
  CLIENT_IP_HEADER,
} from '../contracts/distribution-rules';
import { ROLLOUT_STORE_HEADER } from '../contracts/edge-config';
import { formatRecord, type RealtimeLogField } from '../contracts/realtime-log';
import type { LambdaHandler } from '../edge-code/bundled-handler';
import type { CloudFrontFunctionHandler, CloudFrontFunctionViewerEvent } from '../edge-code/cloudfront-function';
import { cloudFrontResultProblems } from '../edge-code/cloudfront-validation';
import type { Clock } from './clock';
import { NO_FAULT, type LogDeliveryFault, type LogDeliveryStats, type RealtimeLogDelivery } from './realtime-logs';

// Where every local client (tests, `rollout check-live --local`) has always found it.
export { CLIENT_IP_HEADER };
export const CLIENT_IP_QUERY = 'viewer';

/** `build-entry`: `/assets/<buildId>/index.js` asked for by its own URL. */
export type Behaviour = BehaviourName;

export interface EdgeHandlers {
  /** The viewer-assignment CloudFront Function, as published, in its harness. */
  readonly viewerAssignment: CloudFrontFunctionHandler;
  /** The error-report CloudFront Function, as published, in the same harness. */
  readonly errorReport: CloudFrontFunctionHandler;
  readonly entryRouter: LambdaHandler;
  readonly chunkRouter: LambdaHandler;
}

const VIEWER_HANDLERS: Readonly<Record<ViewerFunctionName, 'viewerAssignment' | 'errorReport'>> = {
  'viewer-assignment': 'viewerAssignment',
  'error-report': 'errorReport',
};
const ORIGIN_HANDLERS: Readonly<Record<OriginFunctionName, 'entryRouter' | 'chunkRouter'>> = {
  'entry-router': 'entryRouter',
  'chunk-router': 'chunkRouter',
};

export interface EmulatorOptions {
  readonly config: DeployConfig;
  /** Path-style S3 endpoint serving every replica bucket (loopback/s3-server.ts). */
  readonly s3Endpoint: string;
  /** The handlers associated with the distribution now; read per request, so a deploy can swap them. */
  readonly handlers: () => EdgeHandlers;
  /**
   * Where the real-time log records of the entry and `/api/e` go, the clock that stamps them (the
   * local mode's), and the order of their fields (REALTIME_LOG_FIELDS unless given: in AWS, the
   * order CloudFront reports for the configuration). @default none: nothing is logged
   */
  readonly realtimeLogs?: {
    readonly delivery: RealtimeLogDelivery;
    readonly clock: Clock;
    readonly fields?: readonly RealtimeLogField[];
  };
  /** ARN of the rollout store, sent to the S3 origins as a custom header (as the distribution does). */
  readonly rolloutStoreArn: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Requests CloudFront would answer with an error of its own. @default nothing */
  readonly log?: (line: string) => void;
  /**
   * Called when an edge function fails (CloudFront's LambdaExecutionError, FunctionExecutionErrors). @default nothing
   */
  readonly onEdgeError?: () => void;
  /** Milliseconds since the epoch, by which cached objects expire. @default Date.now */
  readonly cacheClock?: () => number;
}

export interface ServedEntry {
  readonly buildId: string | null;
  readonly clientIp: string;
  readonly status: number;
  /** `hit`: from the cache; `miss`: the entry router answered; `error`: the function or router failed. */
  readonly via: 'hit' | 'miss' | 'error';
  /**
   * The URI the entry router was asked for: what the viewer-assignment function left
   * (`/assets/<buildId>/index.js`, or `/assets/index.js` when it fell back), or a build's entry
   * asked for by its own URL (then `assigned` is false).
   */
  readonly uri: string;
  /** Whether the viewer-assignment function ran: a load of `/assets/index.js`. */
  readonly assigned: boolean;
}

/** One line of the access log: what a viewer asked for and what it got. */
export interface ServedResponse {
  readonly clientIp: string;
  readonly method: string;
  /** The path and query as the viewer sent them (the local client-IP seam included). */
  readonly url: string;
  readonly behaviour: Behaviour;
  readonly status: number;
  /** The response's Set-Cookie header, if any (the distribution never sets one). */
  readonly setCookie?: string;
}

export interface EmulatorStats {
  /** Entry responses (200 and 304) per buildId. */
  readonly entryByBuild: Readonly<Record<string, number>>;
  readonly entryHits: number;
  readonly entryMisses: number;
  readonly chunkHits: number;
  readonly chunkMisses: number;
  /** Origin-request invocations per router. */
  readonly routerInvocations: Readonly<Record<'entry' | 'chunks', number>>;
  /** Viewer-assignment runs, and those that left the URI unrewritten (no readable state). */
  readonly functionRuns: number;
  readonly functionFallbacks: number;
  /** GETs and HEADs CloudFront sent to the buckets, per bucket. */
  readonly originRequests: Readonly<Record<string, number>>;
  readonly failovers: number;
  readonly handlerErrors: number;
  readonly invalidResults: number;
}

export interface CloudFrontEmulator {
  /** `http://127.0.0.1:<port>`: what `https://<distribution>` is in AWS. */
  readonly url: string;
  readonly port: number;
  stats(): EmulatorStats;
  /** Called for every entry served, after it is sent. */
  onEntry(listener: (entry: ServedEntry) => void): void;
  /** Called for every response once it is sent: CloudFront's standard access log, one line per request. */
  onResponse(listener: (response: ServedResponse) => void): void;
  /**
   * An invalidation: with no paths, of `/*` (the whole cache); else of each path, as CloudFront takes
   * them: an exact path, or one ending in `*` (the only place a `*` may be) for everything under that
   * prefix. A path is matched against the URI the cache keys on (the function's rewrite, for the
   * entry), whatever the encoding and query. Throws, naming it, on a path CloudFront would refuse.
   */
  invalidate(paths?: readonly string[]): void;
  /**
   * The fault hook on real-time log delivery: records written while it is set are delayed (real
   * ms) or dropped. Settable while it runs; `{ delayMs: 0, drop: false }` is CloudFront at its best.
   */
  logDelivery: LogDeliveryFault;
  /**
   * The fault hook on response headers: while set, every response of `behaviour` carries `headers` in place of its own
   * (null removes one), as a response headers policy or an origin that says something other than the rules would.
   * Settable while it runs; null is the distribution as its rules say.
   */
  headerFault: HeaderFault | null;
  /** What was logged and what became of it. */
  logStats(): LogDeliveryStats;
  /** Resolves once every record logged so far has reached the stream, or been dropped, or failed (held ones aside). */
  logsSettled(): Promise<void>;
  /** Delivers the records a `hold` fault kept back. */
  releaseHeldLogs(): void;
  close(): Promise<void>;
}

export interface HeaderFault {
  readonly behaviour: Behaviour;
  /** Lowercase names; null removes the header. */
  readonly headers: Readonly<Record<string, string | null>>;
}

interface CachedObject {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Null for the answer to a HEAD: it serves HEADs, and a GET must still go to the origin for the body. */
  readonly body: Buffer | null;
  readonly expires: number;
}

function cacheDirectives(cacheControl: string | undefined): string[] {
  return (cacheControl ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
}

/** s-maxage, else max-age, in seconds; undefined when the origin gave neither (or gave nonsense). */
function maxAgeSeconds(directives: readonly string[]): number | undefined {
  for (const name of ['s-maxage', 'max-age']) {
    const found = directives.find((d) => d.startsWith(`${name}=`));
    const seconds = found === undefined ? Number.NaN : Number(found.slice(name.length + 1));
    if (!Number.isNaN(seconds)) return seconds;
  }
  return undefined;
}

/**
 * How long CloudFront keeps a 200 under a policy (CloudFront developer guide, "Manage how long
 * content stays in the cache"): s-maxage, else max-age, else the default TTL, kept within
 * [min, max]; no-store, no-cache or private with min TTL 0 is not cached.
 */
export function cacheSeconds(cacheControl: string | undefined, ttl: CachePolicy['ttl']): number {
  const directives = cacheDirectives(cacheControl);
  if (directives.some((d) => d === 'no-store' || d === 'no-cache' || d === 'private')) return ttl.min;
  return Math.min(ttl.max, Math.max(ttl.min, maxAgeSeconds(directives) ?? ttl.default));
}

/** Errors from the origin CloudFront keeps whatever their Cache-Control says. */
const ALWAYS_CACHED_ERRORS: readonly number[] = [404, 405, 414, 500, 501, 502, 503, 504];
/** Errors it keeps only when the origin gave them a max-age or s-maxage. */
const ERRORS_CACHED_WITH_MAX_AGE: readonly number[] = [400, 403, 412, 415];

/**
 * How long CloudFront keeps an error the origin (or an origin-request function) answered
 * (developer guide, "How CloudFront processes and caches HTTP 4xx and 5xx status codes from your
 * origin", without custom error pages): the longer of the error caching minimum TTL and the
 * response's s-maxage or max-age, for the codes it caches at all; 416 and any other code not at
 * all.
 */
export function errorCacheSeconds(status: number, cacheControl: string | undefined, minTtlSeconds: number): number {
  const asked = maxAgeSeconds(cacheDirectives(cacheControl));
  if (ALWAYS_CACHED_ERRORS.includes(status)) return Math.max(minTtlSeconds, asked ?? 0);
  if (ERRORS_CACHED_WITH_MAX_AGE.includes(status) && asked !== undefined) return Math.max(minTtlSeconds, asked);
  return 0;
}

/** Whether an If-None-Match header names `etag` (weak comparison, as for GET). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (!ifNoneMatch || !etag) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

export type ByteRange =
  | { readonly kind: 'whole' }
  | { readonly kind: 'part'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/**
 * What CloudFront serves of a body of `size` bytes for a Range header (developer guide, "How
 * CloudFront processes partial requests for an object (range GETs)"; RFC 9110 §14): one byte range
 * it can satisfy is a part (206), one that starts past the end is unsatisfiable (416), and a
 * header that is malformed or invalid (a range ending before it starts) is ignored: the whole body
 * (200), as the guide says CloudFront answers ranges out of order, overlapping or invalid. Several
 * ranges get the whole body too, by choice: CloudFront answers ascending, disjoint ones as
 * multipart/byteranges, which nothing here asks for.
 */
export function byteRange(header: string | undefined, size: number): ByteRange {
  const whole = { kind: 'whole' } as const;
  if (header === undefined) return whole;
  const spec = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (spec === null) return whole;
  const [, first, last] = spec;
  if (first === '' && last === '') return whole;
  if (first === '') {
    const suffix = Number(last);
    return suffix === 0 || size === 0
      ? { kind: 'unsatisfiable' }
      : { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (end < start) return whole;
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: Math.min(end, size - 1) };
}

interface OriginAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Headers S3 sends that CloudFront passes on to the viewer. */
const ORIGIN_HEADERS = [
  'content-type',
  'content-encoding',
  'content-length',
  'cache-control',
  'etag',
  'last-modified',
  'x-amz-meta-sha256',
];
/** Headers of a cached response a 304 repeats. */
const NOT_MODIFIED_HEADERS = ['etag', 'cache-control', 'vary', 'x-build-id', 'last-modified'];
/** Headers describing a body, which a 416 does not carry. */
const REPRESENTATION_HEADERS = [
  'content-type',
  'content-encoding',
  'content-length',
  'etag',
  'last-modified',
  'x-amz-meta-sha256',
];
/**
 * Origin groups fail over only these (developer guide, "Optimize high availability with CloudFront origin failover").
 */
const FAILOVER_METHODS = ['GET', 'HEAD', 'OPTIONS'];

/** The path patterns in the order CloudFront tries them. */
export const PATH_PATTERNS: readonly string[] = DISTRIBUTION_RULES.ordered.map((rule) => rule.pathPattern);

type NormalizedEncoding = 'br,gzip' | 'br' | 'gzip';

/**
 * The cache policy's Accept-Encoding normalization (developer guide, "Cache compressed objects"):
 * `br,gzip`, `br` or `gzip` as the viewer accepts the codings the policy enables, nothing when
 * it accepts neither. The guide speaks only of the values the header names; this reads the header
 * as RFC 9110 §12.5.3 does: a coding with q=0 is refused, and `*` stands only for codings the
 * header does not name otherwise (for gzip, never brotli, which browsers name when they take it).
 */
export function normalizedAcceptEncoding(
  value: string | undefined,
  enabled: CachePolicy['key']['acceptEncoding'] = { gzip: true, brotli: true },
): NormalizedEncoding | undefined {
  if (!value) return undefined;
  const weights = new Map<string, number>();
  for (const part of value.split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => /^q\s*=/.test(p));
    const weight = q === undefined ? 1 : Number(q.replace(/^q\s*=\s*/, ''));
    if (coding === '' || Number.isNaN(weight) || weight < 0 || weight > 1) continue;
    weights.set(coding, Math.max(weight, weights.get(coding) ?? 0));
  }
  const accepted = (coding: string) => (weights.get(coding) ?? 0) > 0;
  const br = enabled.brotli && accepted('br');
  const gzip = enabled.gzip && (weights.has('gzip') ? accepted('gzip') : accepted('*'));
  if (br && gzip) return 'br,gzip';
  if (gzip) return 'gzip';
  return br ? 'br' : undefined;
}

/**
 * A response with the headers a response headers policy adds (developer guide, "Understand
 * response headers policies"): the security headers, the CORS headers when the request carried an
 * Origin, the custom ones; each replaces the origin's own only where the policy says so.
 */
export function withPolicyHeaders(
  headers: Readonly<Record<string, string>>,
  policy: ResponseHeadersPolicy | undefined,
  requestOrigin: string | undefined,
): Record<string, string> {
  const result: Record<string, string> = { ...headers };
  if (policy === undefined) return result;
  const add = (name: string, value: string, override: boolean) => {
    if (override || result[name] === undefined) result[name] = value;
  };
  const { strictTransportSecurity: hsts, contentTypeOptions, referrerPolicy } = policy.security;
  add(
    'strict-transport-security',
    `max-age=${hsts.maxAgeSeconds}${hsts.includeSubdomains ? '; includeSubDomains' : ''}`,
    hsts.override,
  );
  add('x-content-type-options', 'nosniff', contentTypeOptions.override);
  add('referrer-policy', referrerPolicy.value, referrerPolicy.override);
  const { cors } = policy;
  const allowOrigin = cors.allowOrigins.includes('*')
    ? '*'
    : cors.allowOrigins.find((origin) => origin === requestOrigin);
  if (requestOrigin !== undefined && allowOrigin !== undefined) {
    add('access-control-allow-origin', allowOrigin, cors.override);
    add('access-control-allow-methods', cors.allowMethods.join(','), cors.override);
    if (cors.allowCredentials) add('access-control-allow-credentials', 'true', cors.override);
  }
  for (const header of policy.custom) add(header.name.toLowerCase(), header.value, header.override);
  return result;
}

function bucketOfDomain(domain: string): string | null {
  return /^([a-z0-9][a-z0-9.-]*)\.s3\.[a-z0-9-]+\.amazonaws\.com$/.exec(domain)?.[1] ?? null;
}

function toCloudFrontHeaders(headers: Readonly<Record<string, string | undefined>>): CloudFrontHeaders {
  const result: CloudFrontHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) result[name] = [{ key: name, value }];
  return result;
}

function fromCloudFrontHeaders(headers: CloudFrontHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, values] of Object.entries(headers ?? {}))
    if (values.length > 0) result[name.toLowerCase()] = values.map((v) => v.value).join(', ');
  return result;
}

/**
 * The path and the query of a request target as the viewer sent them. CloudFront picks the
 * behaviour by, and hands its functions and origins, the URI as it was sent: it resolves no dot
 * segments (`..`, `%2e%2e`), decodes nothing and leaves `\` a `\` (a browser's URL parser would
 * do all three). Null for a target that is not a path (`*`, an absolute URL).
 */
function requestTarget(url: string): { readonly path: string; readonly query: string } | null {
  if (!url.startsWith('/')) return null;
  const at = url.indexOf('?');
  return at < 0 ? { path: url, query: '' } : { path: url.slice(0, at), query: url.slice(at + 1) };
}

/** `name=value` pairs of a query string, spelled as sent. */
function queryPairs(query: string): [name: string, value: string][] {
  return query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      return at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
    });
}

type FunctionValues = CloudFrontFunctionViewerEvent['request']['querystring'];

/**
 * A query string as CloudFront Functions get it (developer guide, "CloudFront Functions event
 * structure": one field per name, its first value in `value`, every value in `multiValue` when the
 * name is repeated). Names and values are spelled as the viewer sent them, percent-encoding and
 * all: the request object is "the actual request that CloudFront received from the viewer".
 */
export function functionQuerystring(query: string): FunctionValues {
  const values = new Map<string, string[]>();
  for (const [name, value] of queryPairs(query)) values.set(name, [...(values.get(name) ?? []), value]);
  const result: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  for (const [name, [first = '', ...more]] of values)
    result[name] =
      more.length > 0 ? { value: first, multiValue: [first, ...more].map((value) => ({ value })) } : { value: first };
  return result;
}

export async function startCloudFrontEmulator(options: EmulatorOptions): Promise<CloudFrontEmulator> {
  const names = resourceNames(options.config);
  const log = options.log ?? (() => undefined);
  const now = options.cacheClock ?? Date.now;
  const primaryDomain = names.bucketDomain(options.config.primaryRegion);
  const failoverDomain = options.config.failoverRegion ? names.bucketDomain(options.config.failoverRegion) : null;
  const s3Domains = options.config.regions.map((region) => names.bucketDomain(region));
  const cache = new Map<string, CachedObject>();
  const entryListeners: ((entry: ServedEntry) => void)[] = [];
  const responseListeners: ((response: ServedResponse) => void)[] = [];
  let headerFault: HeaderFault | null = null;
  /** `headers` as the header fault leaves them on a response of `behaviour`. */
  const faulted = (behaviour: Behaviour, headers: Record<string, string>): Record<string, string> => {
    if (headerFault === null || headerFault.behaviour !== behaviour) return headers;
    const result = { ...headers };
    for (const [name, value] of Object.entries(headerFault.headers)) {
      if (value === null) delete result[name];
      else result[name] = value;
    }
    return result;
  };
  const stats = {
    entryByBuild: {} as Record<string, number>,
    entryHits: 0,
    entryMisses: 0,
    chunkHits: 0,
    chunkMisses: 0,
    routerInvocations: { entry: 0, chunks: 0 },
    functionRuns: 0,
    functionFallbacks: 0,
    originRequests: {} as Record<string, number>,
    failovers: 0,
    handlerErrors: 0,
    invalidResults: 0,
  };
  const originHeaderValues: Readonly<Record<string, string>> = { [ROLLOUT_STORE_HEADER]: options.rolloutStoreArn };
  const originCustomHeaders = Object.fromEntries(
    DISTRIBUTION_RULES.origins.customHeaders.map((name) => [name, originHeaderValues[name]]),
  );

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      // A bug here, not in a handler: answer as CloudFront answers what it cannot serve.
      log(`emulator error: ${error.stack ?? error.message}`);
      if (!res.headersSent)
        send(
          res,
          502,
          { 'content-type': 'text/plain' },
          Buffer.from('502 Bad Gateway (local CloudFront)\n'),
          req.method === 'HEAD',
        );
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = requestTarget(req.url ?? '/');
    if (target === null) {
      req.resume();
      send(res, 400, { 'content-type': 'text/plain' }, Buffer.from('400 Bad Request\n'), method === 'HEAD');
      return;
    }
    const { path } = target;
    const rule = behaviourRuleOf(path);
    const behaviour = rule.name;
    const viewerOrigin = req.headers.origin;
    const clientIp = viewerIp(req, target.query);
    if (clientIp === null) {
      req.resume();
      send(
        res,
        400,
        { 'content-type': 'text/plain' },
        Buffer.from(`400 ${CLIENT_IP_HEADER} / ?${CLIENT_IP_QUERY}= must be an IP address\n`),
        method === 'HEAD',
      );
      return;
    }
    if (responseListeners.length > 0) {
      res.once('finish', () => {
        const setCookie = res.getHeader('set-cookie');
        const served: ServedResponse = {
          clientIp,
          method,
          url: req.url ?? '/',
          behaviour,
          status: res.statusCode,
          ...(setCookie === undefined ? {} : { setCookie: String(setCookie) }),
        };
        for (const listener of responseListeners) listener(served);
      });
    }
    const query = loggedQuery(req.url ?? '');
    if (rule.realtimeLogged) logWhenAnswered(req, res, path, query, clientIp);
    if (!(rule.allowedMethods as readonly string[]).includes(method)) {
      // Methods a behaviour does not allow: CloudFront's own 403.
      req.resume();
      send(
        res,
        403,
        withPolicyHeaders({ 'content-type': 'text/plain' }, rule.responseHeadersPolicy, viewerOrigin),
        Buffer.from(`403 ${method} is not allowed here\n`),
        false,
      );
      return;
    }
    const headOnly = method === 'HEAD';
    const routerKind =
      rule.functions.originRequest === undefined
        ? null
        : rule.functions.originRequest === 'entry-router'
          ? 'entry'
          : 'chunks';
    // The function assigns on the entry behaviour; on a build's own URL it only gates (revocations).
    const assigns = rule.functions.viewerRequest === 'viewer-assignment' && rule.name === 'entry';

    // viewer-request: the function may answer, or leave a (rewritten) URI.
    let uri = path;
    if (rule.functions.viewerRequest !== undefined) {
      const name = rule.functions.viewerRequest;
      if (name === 'viewer-assignment') stats.functionRuns += 1;
      let result: Awaited<ReturnType<CloudFrontFunctionHandler>>;
      try {
        result = await options
          .handlers()
          [VIEWER_HANDLERS[name]](viewerRequestEvent(method, path, query, clientIp, req.headers));
      } catch (error) {
        log(`${name} threw: ${(error as Error).message}`);
        options.onEdgeError?.();
        send(
          res,
          503,
          withPolicyHeaders({ 'content-type': 'text/plain' }, rule.responseHeadersPolicy, viewerOrigin),
          Buffer.from('503 The CloudFront function returned an error (FunctionExecutionError)\n'),
          headOnly,
        );
        if (routerKind === 'entry')
          served({ buildId: null, clientIp, status: 503, via: 'error', uri, assigned: assigns });
        return;
      }
      if ('statusCode' in result) {
        send(
          res,
          result.statusCode,
          withPolicyHeaders(fromFunctionHeaders(result.headers), rule.responseHeadersPolicy, viewerOrigin),
          Buffer.alloc(0),
          headOnly,
        );
        return;
      }
      uri = result.uri;
      if (assigns && uri === path) stats.functionFallbacks += 1;
    }

    const policy = rule.cachePolicy;
    const viewerEncoding =
      typeof req.headers['accept-encoding'] === 'string' ? req.headers['accept-encoding'] : undefined;
    const encoding = normalizedAcceptEncoding(viewerEncoding, policy.key.acceptEncoding);
    const pairs = queryPairs(query);
    const cookies = cookiePairs(req.headers.cookie);
    const keyed = {
      query: pairs.filter(([name]) => policy.key.queryStrings.includes(name)),
      headers: policy.key.headers.map((name) => req.headers[name.toLowerCase()] ?? null),
      cookies: cookies.filter(([name]) => policy.key.cookies.includes(name)),
    };
    const cacheKey = JSON.stringify([uri, encoding ?? null, keyed.query, keyed.headers, keyed.cookies]);
    const cachesMethod = (rule.cachedMethods as readonly string[]).includes(method);
    const cached = cachesMethod ? cache.get(cacheKey) : undefined;
    let answer: Answer;
    if (cached && cached.expires > now() && (cached.body !== null || headOnly)) {
      if (routerKind === 'entry') stats.entryHits += 1;
      else if (routerKind === 'chunks') stats.chunkHits += 1;
      answer = {
        kind: 'hit',
        status: cached.status,
        headers: { ...cached.headers },
        body: cached.body ?? Buffer.alloc(0),
      };
    } else {
      if (routerKind === 'entry') stats.entryMisses += 1;
      else if (routerKind === 'chunks') stats.chunkMisses += 1;
      const forwarded = rule.originRequestPolicy?.forwarded;
      const forwardedHeaders = [...policy.key.headers, ...(forwarded?.headers ?? [])];
      const forwardedQuery = [...policy.key.queryStrings, ...(forwarded?.queryStrings ?? [])];
      const originHeaders: Record<string, string | undefined> = {
        'user-agent': 'Amazon CloudFront',
        via: '2.0 local.cloudfront.net (CloudFront)',
      };
      for (const name of forwardedHeaders) {
        const value = req.headers[name.toLowerCase()];
        if (value !== undefined) originHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      const forwardedCookies = [...policy.key.cookies, ...(forwarded?.cookies ?? [])];
      const cookieHeader = cookies
        .filter(([name]) => forwardedCookies.includes(name))
        .map(([name, value]) => `${name}=${value}`)
        .join('; ');
      if (cookieHeader !== '') originHeaders.cookie = cookieHeader;
      // The normalized value is the only Accept-Encoding CloudFront forwards; a viewer that accepts
      // neither coding gets `identity` asked for (developer guide, "Cache compressed objects").
      if (policy.key.acceptEncoding.gzip || policy.key.acceptEncoding.brotli)
        originHeaders['accept-encoding'] = encoding ?? (viewerEncoding === undefined ? undefined : 'identity');
      const handler =
        rule.functions.originRequest === undefined
          ? undefined
          : options.handlers()[ORIGIN_HANDLERS[rule.functions.originRequest]];
      const request = {
        method,
        uri,
        querystring: pairs
          .filter(([name]) => forwardedQuery.includes(name))
          .map(([name, value]) => `${name}=${value}`)
          .join('&'),
        clientIp,
        headers: originHeaders,
      };
      if (routerKind !== null) stats.routerInvocations[routerKind] += 1;
      answer = await viaOrigin(handler, request, primaryDomain);
      if (
        answer.kind === 'origin' &&
        failoverDomain &&
        DISTRIBUTION_RULES.origins.failoverStatusCodes.includes(answer.status) &&
        FAILOVER_METHODS.includes(method)
      ) {
        stats.failovers += 1;
        if (routerKind !== null) stats.routerInvocations[routerKind] += 1;
        answer = await viaOrigin(handler, request, failoverDomain);
      }
      const ttl = cachesMethod && !answer.failed ? keptSeconds(answer, policy) : 0;
      if (ttl > 0)
        cache.set(cacheKey, {
          status: answer.status,
          headers: answer.headers,
          body: headOnly ? null : answer.body,
          expires: now() + ttl * 1000,
        });
    }

    const xCache =
      answer.kind === 'hit'
        ? 'Hit from cloudfront'
        : answer.kind === 'generated'
          ? 'LambdaGeneratedResponse from cloudfront'
          : 'Miss from cloudfront';
    let status = answer.status;
    if (status === 200 && etagMatches(req.headers['if-none-match'], answer.headers.etag)) {
      status = 304;
      const kept = Object.fromEntries(
        Object.entries(answer.headers).filter(([name]) => NOT_MODIFIED_HEADERS.includes(name)),
      );
      res.writeHead(
        304,
        faulted(behaviour, { ...withPolicyHeaders(kept, rule.responseHeadersPolicy, viewerOrigin), 'x-cache': xCache }),
      );
      res.end();
    } else {
      const headers = faulted(behaviour, {
        ...withPolicyHeaders(answer.headers, rule.responseHeadersPolicy, viewerOrigin),
        'x-cache': xCache,
      });
      const range =
        status === 200 && method === 'GET'
          ? byteRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, answer.body.length)
          : ({ kind: 'whole' } as const);
      if (range.kind === 'part') {
        status = 206;
        send(
          res,
          status,
          { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${answer.body.length}` },
          answer.body.subarray(range.start, range.end + 1),
          false,
        );
      } else if (range.kind === 'unsatisfiable') {
        status = 416;
        const unrepresented = Object.fromEntries(
          Object.entries(headers).filter(([name]) => !REPRESENTATION_HEADERS.includes(name)),
        );
        send(
          res,
          status,
          { ...unrepresented, 'content-range': `bytes */${answer.body.length}` },
          Buffer.alloc(0),
          false,
        );
      } else {
        send(res, status, headers, answer.body, headOnly);
      }
    }
    if (routerKind === 'entry') {
      const buildId = answer.headers['x-build-id'] ?? null;
      served({
        buildId,
        clientIp,
        status,
        via: answer.kind === 'hit' ? 'hit' : status >= 500 ? 'error' : 'miss',
        uri,
        assigned: assigns,
      });
    }
  }

  /** How long the cache keeps an answer: a 200 by the policy's TTLs, an error for the error caching minimum TTL. */
  function keptSeconds(answer: Answer, policy: CachePolicy): number {
    if (answer.status === 200) return cacheSeconds(answer.headers['cache-control'], policy.ttl);
    if (answer.status < 400) return 0;
    const { errorCaching } = DISTRIBUTION_RULES;
    return errorCacheSeconds(
      answer.status,
      answer.headers['cache-control'],
      errorCaching.byStatus[answer.status] ?? errorCaching.minTtlSeconds,
    );
  }

  function served(entry: ServedEntry): void {
    if (entry.buildId !== null && (entry.status === 200 || entry.status === 304))
      stats.entryByBuild[entry.buildId] = (stats.entryByBuild[entry.buildId] ?? 0) + 1;
    for (const listener of entryListeners) listener(entry);
  }

  /** `failed`: CloudFront's own answer to a function that threw or returned what it refuses, which it never caches. */
  type Answer = OriginAnswer & { kind: 'hit' | 'generated' | 'origin'; failed?: true };

  /**
   * One request to an origin, through its origin-request handler when the behaviour has one, and what CloudFront does
   * with the result.
   */
  async function viaOrigin(
    handler: LambdaHandler | undefined,
    viewer: {
      method: string;
      uri: string;
      querystring: string;
      clientIp: string;
      headers: Record<string, string | undefined>;
    },
    originDomain: string,
  ): Promise<Answer> {
    if (handler === undefined)
      return { ...(await fetchFromBucket(originDomain, viewer.uri, viewer.method)), kind: 'origin' };
    const request: CloudFrontRequest = {
      clientIp: viewer.clientIp,
      method: viewer.method,
      uri: viewer.uri,
      querystring: viewer.querystring,
      headers: toCloudFrontHeaders({ host: originDomain, ...viewer.headers }),
      origin: {
        s3: {
          authMethod: 'origin-access-identity',
          customHeaders: toCloudFrontHeaders(originCustomHeaders),
          domainName: originDomain,
          path: '',
          region: /\.s3\.([a-z0-9-]+)\./.exec(originDomain)?.[1] ?? '',
        },
      },
    };
    const event: CloudFrontRequestEvent = {
      Records: [
        {
          cf: {
            config: {
              distributionDomainName: 'local.cloudfront.net',
              distributionId: 'ELOCAL',
              eventType: 'origin-request',
              requestId: `local-${Date.now()}`,
            },
            request,
          },
        },
      ],
    };
    // The handler may change the event it was given; validate against what CloudFront sent.
    const sent = structuredClone(event);
    let result: unknown;
    try {
      result = await handler(event, {});
    } catch (error) {
      stats.handlerErrors += 1;
      options.onEdgeError?.();
      log(`origin-request handler threw: ${(error as Error).message}`);
      return {
        kind: 'generated',
        failed: true,
        status: 503,
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('503 The Lambda function returned an error (LambdaExecutionError)\n'),
      };
    }
    const problems = cloudFrontResultProblems(sent, result, { s3Domains });
    if (problems.length > 0) {
      stats.invalidResults += 1;
      options.onEdgeError?.();
      log(`origin-request result failed validation: ${problems.join('; ')}`);
      return {
        kind: 'generated',
        failed: true,
        status: 502,
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('502 The Lambda function result failed validation\n'),
      };
    }
    if ('status' in (result as object)) {
      const response = result as CloudFrontResultResponse;
      const body =
        response.body === undefined
          ? Buffer.alloc(0)
          : Buffer.from(response.body, response.bodyEncoding === 'base64' ? 'base64' : 'utf8');
      return {
        kind: 'generated',
        status: Number(response.status),
        headers: fromCloudFrontHeaders(response.headers),
        body,
      };
    }
    const forwarded = result as CloudFrontRequest;
    const domain = forwarded.origin?.s3?.domainName ?? originDomain;
    return { ...(await fetchFromBucket(domain, forwarded.uri, viewer.method)), kind: 'origin' };
  }

  /** A signed (OAI) read of the bucket behind an S3 REST domain, for the URI as it stands; S3's answer as it came. */
  function fetchFromBucket(domain: string, uri: string, method: string): Promise<OriginAnswer> {
    const bucket = bucketOfDomain(domain);
    if (bucket === null)
      return Promise.resolve({
        status: 502,
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from(`502 origin ${domain} is not an S3 bucket\n`),
      });
    stats.originRequests[bucket] = (stats.originRequests[bucket] ?? 0) + 1;
    const endpoint = new URL(options.s3Endpoint);
    const unreachable = (error: Error): OriginAnswer => ({
      status: 502,
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from(`502 origin unreachable: ${error.message}\n`),
    });
    return new Promise((resolve) => {
      // node:http, not fetch: the body must pass through still compressed, as S3 stored it, and the
      // path as it is (a URL would resolve its dot segments).
      const target = {
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: endpoint.port,
        path: `${endpoint.pathname.replace(/\/$/, '')}/${bucket}${uri}`,
        method,
        headers: {},
      };
      let outgoing: ReturnType<typeof httpRequest>;
      try {
        outgoing = httpRequest(target, (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => {
            const headers: Record<string, string> = {};
            for (const name of ORIGIN_HEADERS) {
              const value = incoming.headers[name];
              if (typeof value === 'string') headers[name] = value;
            }
            resolve({ status: incoming.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
          });
          incoming.on('error', () =>
            resolve({
              status: 502,
              headers: { 'content-type': 'text/plain' },
              body: Buffer.from('502 origin read failed\n'),
            }),
          );
        });
      } catch (error) {
        resolve(unreachable(error as Error));
        return;
      }
      outgoing.on('error', (error) => resolve(unreachable(error)));
      outgoing.end();
    });
  }

  /** CloudFront's real-time log record of this request, written once it is answered, never in the viewer's way. */
  function logWhenAnswered(
    req: IncomingMessage,
    res: ServerResponse,
    uri: string,
    query: string,
    clientIp: string,
  ): void {
    const realtime = options.realtimeLogs;
    if (!realtime) return;
    const method = req.method ?? 'GET';
    const referer = typeof req.headers.referer === 'string' ? req.headers.referer : null;
    res.once('finish', () => {
      try {
        realtime.delivery.write(
          formatRecord(
            { at: realtime.clock.now(), clientIp, method, uri, query, status: res.statusCode, referer },
            realtime.fields,
          ),
        );
      } catch (error) {
        log(`real-time log record not written: ${(error as Error).message}`);
      }
    });
  }

  function viewerIp(req: IncomingMessage, query: string): string | null {
    const chosen =
      new URLSearchParams(query).get(CLIENT_IP_QUERY) ??
      req.headers[CLIENT_IP_HEADER] ??
      refererViewer(req.headers.referer);
    if (chosen === undefined || chosen === null)
      return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const value = (Array.isArray(chosen) ? chosen[0] : chosen) ?? '';
    return isIP(value) ? value : null;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => structuredClone(stats),
    onEntry: (listener) => void entryListeners.push(listener),
    onResponse: (listener) => void responseListeners.push(listener),
    invalidate(paths) {
      if (paths === undefined) return cache.clear();
      const matchers = paths.map(invalidationMatcher);
      for (const key of [...cache.keys()]) {
        const [uri] = JSON.parse(key) as [string];
        if (matchers.some((matches) => matches(uri))) cache.delete(key);
      }
    },
    get headerFault() {
      return headerFault;
    },
    set headerFault(fault: HeaderFault | null) {
      headerFault = fault;
    },
    get logDelivery() {
      return options.realtimeLogs?.delivery.fault ?? NO_FAULT;
    },
    set logDelivery(fault: LogDeliveryFault) {
      if (options.realtimeLogs) options.realtimeLogs.delivery.fault = { ...NO_FAULT, ...fault };
    },
    logStats: () =>
      options.realtimeLogs?.delivery.stats() ?? { written: 0, delivered: 0, dropped: 0, failed: 0, throttled: 0 },
    logsSettled: () => options.realtimeLogs?.delivery.settled() ?? Promise.resolve(),
    releaseHeldLogs: () => options.realtimeLogs?.delivery.releaseHeld(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The `viewer` of the page a request came from, when its Referer names one. */
function refererViewer(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).searchParams.get(CLIENT_IP_QUERY) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The query string as the viewer sent it, without `?` and without the local client-IP seam (it stands for the TCP peer
 * address).
 */
export function loggedQuery(requestUrl: string): string {
  const at = requestUrl.indexOf('?');
  if (at < 0) return '';
  const name = (part: string) => {
    try {
      return decodeURIComponent((part.split('=')[0] ?? '').replace(/\+/g, ' '));
    } catch {
      return part;
    }
  };
  return requestUrl
    .slice(at + 1)
    .split('&')
    .filter((part) => part !== '' && name(part) !== CLIENT_IP_QUERY)
    .join('&');
}

/** `name=value` pairs of a Cookie header. */
function cookiePairs(header: string | undefined): [name: string, value: string][] {
  return (header ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      return at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
    });
}

/**
 * The viewer-request event CloudFront gives a CloudFront Function: the path and query as the
 * viewer sent them (`query` already without the local seam), every header but the seam, the
 * cookies apart from the headers.
 */
function viewerRequestEvent(
  method: string,
  path: string,
  query: string,
  clientIp: string,
  headers: IncomingMessage['headers'],
): CloudFrontFunctionViewerEvent {
  const functionHeaders: Record<string, { value: string }> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === CLIENT_IP_HEADER || name === 'cookie' || value === undefined) continue;
    functionHeaders[name] = { value: Array.isArray(value) ? value.join(', ') : value };
  }
  const cookies: Record<string, { value: string }> = {};
  for (const [name, value] of cookiePairs(headers.cookie)) cookies[name] ??= { value };
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'local.cloudfront.net',
      distributionId: 'ELOCAL',
      eventType: 'viewer-request',
      requestId: `local-${Date.now()}`,
    },
    viewer: { ip: clientIp },
    request: { method, uri: path, querystring: functionQuerystring(query), headers: functionHeaders, cookies },
  };
}

function fromFunctionHeaders(headers: Record<string, { value: string }> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, { value }]) => [name, value]));
}

function send(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  headOnly: boolean,
): void {
  // A HEAD answer keeps the length S3 gave (or the length of the GET's body it is answered from); its body is empty. A
  // 204 has no length at all.
  const out: Record<string, string> =
    status === 204
      ? { ...headers }
      : {
          ...headers,
          'content-length': headOnly && headers['content-length'] ? headers['content-length'] : String(body.length),
        };
  res.writeHead(status, out);
  res.end(headOnly ? undefined : body);
}

/** What one invalidation path takes away: an exact URI, or every URI under a prefix ending in `*`. */
function invalidationMatcher(path: string): (uri: string) => boolean {
  const star = path.indexOf('*');
  if (!path.startsWith('/') || (star !== -1 && star !== path.length - 1))
    throw new Error(
      `invalidation path ${JSON.stringify(path)}: must start with / and may hold one * only at its end ` +
        `(CloudFront's rule)`,
    );
  if (star === -1) return (uri) => uri === path;
  const prefix = path.slice(0, -1);
  return (uri) => uri.startsWith(prefix);
}

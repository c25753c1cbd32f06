/**
 * CloudFront on loopback: what the distribution in stacks/constructs/distribution.ts does with a
 * viewer's request, and nothing of the routing itself. The assignment and the routers are what
 * the build wrote: the viewer-assignment function's published code (in the cloudfront-js-2.0
 * harness, reading the local KeyValueStore) and the bundled Lambda@Edge handlers. This server
 * only
 *
 *   - picks the behaviour (`/assets/index.js`, a build's entry by its own URL, `/api/e`, default:
 *     first match of the distribution's path patterns) and refuses methods it does not allow,
 *   - runs the viewer-assignment function on the entry (viewer-request; 503 when it throws, as
 *     CloudFront answers a function error),
 *   - keys its cache on the (rewritten) URI and the normalized Accept-Encoding, as both cache
 *     policies do, and keeps a response as long as its Cache-Control allows within the policy's
 *     TTLs: `no-store` with min TTL 0 is never kept (the entry router's fallback answers),
 *   - on a miss calls the origin-request handler with CloudFront's event shape (the origins carry
 *     the rollout store's ARN as a custom header; the entry's origin request policy forwards
 *     Referer), checks its result as CloudFront does (502 when invalid, 503 when it throws), and
 *     either answers with the generated response or fetches the rewritten request from its bucket,
 *   - fails over to the secondary bucket on the origin group's status codes, running the handler
 *     again for the failover origin,
 *   - answers a conditional request (If-None-Match) for a response it has with a 304,
 *   - adds the response headers policies' headers (security headers, CORS, `no-cache` on the entry,
 *     and not on a build's entry asked for by its own URL: the router's immutable stands),
 *   - runs the error-report function's published code on `/api/e` (viewer-request, in the same
 *     harness), which answers at the edge: no origin is ever asked, nothing is cached,
 *   - writes CloudFront's real-time log record (contracts/realtime-log.ts `formatRecord`) of every
 *     request to the entry and to `/api/e`, once it is answered, to the signal's stream
 *     (realtime-logs.ts: asynchronously, best effort, 100 % sampled): the time on the local
 *     clock, the client address, the method, the path and query as the viewer sent them, the
 *     status answered, the Referer. That stream is the release signal; nothing else feeds it.
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
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResultResponse } from 'aws-lambda';
import type { DeployConfig } from '../config';
import { resourceNames } from '../config';
import { ROLLOUT_STORE_HEADER } from '../contracts/edge-config';
import { ERROR_REPORT_PATH } from '../contracts/error-report';
import { formatRecord, type RealtimeLogField } from '../contracts/realtime-log';
import { FAILOVER_STATUS_CODES, hostSiteCors, securityHeaders } from '../stacks/constructs/distribution';
import { BUILD_ENTRY_PATTERN, ENTRY_CACHE_CONTROL, ENTRY_PATH, IMMUTABLE_TTL_SECONDS } from '../contracts/distribution-paths';
import type { LambdaHandler } from '../edge-code/bundled-handler';
import type { CloudFrontFunctionHandler, CloudFrontFunctionViewerEvent } from '../edge-code/cloudfront-function';
import { cloudFrontResultProblems } from '../edge-code/cloudfront-validation';
import type { Clock } from '../local/control-plane';
import { NO_FAULT, type LogDeliveryFault, type LogDeliveryStats, type RealtimeLogDelivery } from './realtime-logs';

/** Local-only seam: the client IP CloudFront would have seen. */
export const CLIENT_IP_HEADER = 'x-local-client-ip';
export const CLIENT_IP_QUERY = 'viewer';

/** `build-entry`: `/assets/<buildId>/index.js` asked for by its own URL. */
export type Behaviour = 'entry' | 'build-entry' | 'chunks' | 'error-report';

/** The behaviours CloudFront's real-time log configuration is attached to: the release signal. */
const LOGGED_BEHAVIOURS: readonly Behaviour[] = ['entry', 'error-report'];

export interface EdgeHandlers {
  /** The viewer-assignment CloudFront Function, as published, in its harness. */
  readonly viewerAssignment: CloudFrontFunctionHandler;
  /** The error-report CloudFront Function, as published, in the same harness. */
  readonly errorReport: CloudFrontFunctionHandler;
  readonly entryRouter: LambdaHandler;
  readonly chunkRouter: LambdaHandler;
}

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
  readonly realtimeLogs?: { readonly delivery: RealtimeLogDelivery; readonly clock: Clock; readonly fields?: readonly RealtimeLogField[] };
  /** ARN of the rollout store, sent to the S3 origins as a custom header (as the distribution does). */
  readonly rolloutStoreArn: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Requests CloudFront would answer with an error of its own. @default nothing */
  readonly log?: (line: string) => void;
  /** Called when an edge function fails (CloudFront's LambdaExecutionError, FunctionExecutionErrors). @default nothing */
  readonly onEdgeError?: () => void;
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
  /** Empties the cache (an invalidation of `/*`). */
  invalidate(): void;
  /**
   * The fault hook on real-time log delivery: records written while it is set are delayed (real
   * ms) or dropped. Settable while it runs; `{ delayMs: 0, drop: false }` is CloudFront at its best.
   */
  logDelivery: LogDeliveryFault;
  /** What was logged and what became of it. */
  logStats(): LogDeliveryStats;
  /** Resolves once every record logged so far has reached the stream, or been dropped, or failed. */
  logsSettled(): Promise<void>;
  close(): Promise<void>;
}

interface CachedObject {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly expires: number;
}

/** A cache policy's TTLs, in seconds (stacks/constructs/distribution.ts). */
export interface CachePolicyTtls {
  readonly min: number;
  readonly default: number;
  readonly max: number;
}

/** The cache policies, by the router behind them: a build's entry by its own URL shares the entry's. */
export const CACHE_POLICIES: Readonly<Record<'entry' | 'chunks', CachePolicyTtls>> = {
  entry: { min: 0, default: IMMUTABLE_TTL_SECONDS, max: IMMUTABLE_TTL_SECONDS },
  chunks: { min: 0, default: IMMUTABLE_TTL_SECONDS, max: IMMUTABLE_TTL_SECONDS },
};

/**
 * How long CloudFront keeps a response under a policy (CloudFront developer guide, "Manage how
 * long content stays in the cache"): s-maxage, else max-age, else the default TTL, kept within
 * [min, max]; no-store, no-cache or private with min TTL 0 is not cached.
 */
export function cacheSeconds(cacheControl: string | undefined, policy: CachePolicyTtls): number {
  const directives = (cacheControl ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache' || d === 'private')) return policy.min;
  const seconds = (name: string) => {
    const found = directives.find((d) => d.startsWith(`${name}=`));
    return found === undefined ? undefined : Number(found.slice(name.length + 1));
  };
  const asked = seconds('s-maxage') ?? seconds('max-age');
  const ttl = asked === undefined || Number.isNaN(asked) ? policy.default : asked;
  return Math.min(policy.max, Math.max(policy.min, ttl));
}

/** Whether an If-None-Match header names `etag` (weak comparison, as for GET). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (!ifNoneMatch || !etag) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

interface OriginAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Headers S3 sends that CloudFront passes on to the viewer. */
const ORIGIN_HEADERS = ['content-type', 'content-encoding', 'content-length', 'cache-control', 'etag', 'last-modified', 'x-amz-meta-sha256'];
/** Headers of a cached response a 304 repeats. */
const NOT_MODIFIED_HEADERS = ['etag', 'cache-control', 'vary', 'x-build-id', 'last-modified'];

/** The distribution's ordered cache behaviours, by path pattern; anything else is the default (chunks). */
const ORDERED_BEHAVIOURS: readonly (readonly [pattern: string, behaviour: Behaviour])[] = [
  [ENTRY_PATH, 'entry'],
  [BUILD_ENTRY_PATTERN, 'build-entry'],
  [ERROR_REPORT_PATH, 'error-report'],
];

/**
 * Whether a CloudFront path pattern matches a path: case-sensitive, `*` any run of characters
 * (`/` included), `?` exactly one.
 */
export function pathPatternMatches(pattern: string, pathname: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(pathname);
}

/** The behaviour CloudFront picks: the first ordered one whose pattern matches, else the default. */
export function behaviourOf(pathname: string): Behaviour {
  return ORDERED_BEHAVIOURS.find(([pattern]) => pathPatternMatches(pattern, pathname))?.[1] ?? 'chunks';
}

/** The gzip/brotli normalization of the cache policies: `br,gzip`, `gzip`, or nothing. */
export function normalizedAcceptEncoding(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const accepted = value
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, ...params]) => !params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p)))
    .map(([coding]) => coding.trim().toLowerCase());
  const br = accepted.includes('br');
  const gzip = accepted.includes('gzip') || accepted.includes('*');
  if (br && gzip) return 'br,gzip';
  if (gzip) return 'gzip';
  return br ? 'br' : undefined;
}

/**
 * Headers the response headers policy of a behaviour adds (CORS only for requests with an Origin);
 * the error reports have no policy: the function's answer is all there is.
 */
export function policyHeaders(behaviour: Behaviour, requestOrigin: string | undefined): Record<string, string> {
  if (behaviour === 'error-report') return {};
  const security = securityHeaders();
  const headers: Record<string, string> = {};
  const hsts = security.strictTransportSecurity;
  if (hsts) headers['strict-transport-security'] = `max-age=${hsts.accessControlMaxAgeSec}${hsts.includeSubdomains ? '; includeSubDomains' : ''}`;
  if (security.contentTypeOptions) headers['x-content-type-options'] = 'nosniff';
  if (security.referrerPolicy) headers['referrer-policy'] = String(security.referrerPolicy.referrerPolicy);
  if (requestOrigin === undefined) return headers;
  const cors = hostSiteCors();
  headers['access-control-allow-origin'] = (cors.accessControlAllowOrigins.items ?? ['*']).join(',');
  headers['access-control-allow-methods'] = (cors.accessControlAllowMethods.items ?? []).join(',');
  if (cors.accessControlAllowCredentials) headers['access-control-allow-credentials'] = 'true';
  return headers;
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
  for (const [name, values] of Object.entries(headers ?? {})) if (values.length > 0) result[name.toLowerCase()] = values.map((v) => v.value).join(', ');
  return result;
}

export async function startCloudFrontEmulator(options: EmulatorOptions): Promise<CloudFrontEmulator> {
  const names = resourceNames(options.config);
  const log = options.log ?? (() => undefined);
  const primaryDomain = names.bucketDomain(options.config.primaryRegion);
  const failoverDomain = options.config.failoverRegion ? names.bucketDomain(options.config.failoverRegion) : null;
  const s3Domains = options.config.regions.map((region) => names.bucketDomain(region));
  const cache = new Map<string, CachedObject>();
  const entryListeners: ((entry: ServedEntry) => void)[] = [];
  const responseListeners: ((response: ServedResponse) => void)[] = [];
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
  const originCustomHeaders = { [ROLLOUT_STORE_HEADER]: options.rolloutStoreArn };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      // A bug here, not in a handler: answer as CloudFront answers what it cannot serve.
      log(`emulator error: ${error.stack ?? error.message}`);
      if (!res.headersSent) send(res, 502, { 'content-type': 'text/plain' }, Buffer.from('502 Bad Gateway (local CloudFront)\n'), req.method === 'HEAD');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    const behaviour = behaviourOf(url.pathname);
    const viewerOrigin = req.headers.origin;
    const clientIp = viewerIp(req, url);
    if (clientIp === null) {
      req.resume();
      send(res, 400, { 'content-type': 'text/plain' }, Buffer.from(`400 ${CLIENT_IP_HEADER} / ?${CLIENT_IP_QUERY}= must be an IP address\n`), method === 'HEAD');
      return;
    }
    if (responseListeners.length > 0) {
      res.once('finish', () => {
        const setCookie = res.getHeader('set-cookie');
        const served: ServedResponse = { clientIp, method, url: req.url ?? '/', behaviour, status: res.statusCode, ...(setCookie === undefined ? {} : { setCookie: String(setCookie) }) };
        for (const listener of responseListeners) listener(served);
      });
    }
    if (LOGGED_BEHAVIOURS.includes(behaviour)) logWhenAnswered(req, res, url.pathname, loggedQuery(req.url ?? ''), clientIp);
    url.searchParams.delete(CLIENT_IP_QUERY);
    if (method !== 'GET' && method !== 'HEAD') {
      // Methods a behaviour does not allow: CloudFront's own 403.
      req.resume();
      send(res, 403, { 'content-type': 'text/plain', ...policyHeaders(behaviour, viewerOrigin) }, Buffer.from(`403 ${method} is not allowed here\n`), false);
      return;
    }
    const encoding = normalizedAcceptEncoding(req.headers['accept-encoding']);
    const extra = policyHeaders(behaviour, viewerOrigin);
    if (behaviour === 'entry') extra['cache-control'] = ENTRY_CACHE_CONTROL;
    const referer = typeof req.headers.referer === 'string' ? req.headers.referer : undefined;
    const headOnly = method === 'HEAD';
    if (behaviour === 'error-report') {
      await serveErrorReport(res, method, url, clientIp, referer, headOnly);
      return;
    }

    // viewer-request: the viewer-assignment function picks the build and rewrites the URI.
    let uri = url.pathname;
    if (behaviour === 'entry') {
      stats.functionRuns += 1;
      let result: Awaited<ReturnType<CloudFrontFunctionHandler>>;
      try {
        result = await options.handlers().viewerAssignment(viewerRequestEvent(method, url, clientIp, { referer, 'accept-encoding': req.headers['accept-encoding'] }));
      } catch (error) {
        log(`viewer-assignment threw: ${(error as Error).message}`);
        options.onEdgeError?.();
        send(res, 503, { 'content-type': 'text/plain', ...extra }, Buffer.from('503 The CloudFront function returned an error (FunctionExecutionError)\n'), headOnly);
        served({ buildId: null, clientIp, status: 503, via: 'error', uri, assigned: true });
        return;
      }
      if ('statusCode' in result) {
        send(res, result.statusCode, { ...fromFunctionHeaders(result.headers), ...extra }, Buffer.alloc(0), headOnly);
        return;
      }
      uri = result.uri;
      if (uri === url.pathname) stats.functionFallbacks += 1;
    }

    // Both entry behaviours have the entry's cache policy and router; only the chunks have their own.
    const routerKind = behaviour === 'chunks' ? 'chunks' : 'entry';
    const cacheKey = `${uri}|${encoding ?? ''}`;
    const cached = cache.get(cacheKey);
    let answer: Answer;
    if (cached && cached.expires > Date.now()) {
      if (routerKind === 'entry') stats.entryHits += 1;
      else stats.chunkHits += 1;
      answer = { kind: 'hit', status: cached.status, headers: { ...cached.headers }, body: cached.body };
    } else {
      if (routerKind === 'entry') stats.entryMisses += 1;
      else stats.chunkMisses += 1;
      const originHeaders: Record<string, string | undefined> = { 'accept-encoding': encoding, 'user-agent': 'Amazon CloudFront', via: '2.0 local.cloudfront.net (CloudFront)' };
      // The entry's origin request policy forwards Referer (the router's fallback assigns ring hosts by it).
      if (behaviour === 'entry') originHeaders.referer = referer;
      const handler = routerKind === 'entry' ? options.handlers().entryRouter : options.handlers().chunkRouter;
      const viewer = { method, uri, querystring: routerKind === 'entry' ? '' : url.searchParams.toString(), clientIp, headers: originHeaders };
      stats.routerInvocations[routerKind] += 1;
      answer = await viaOrigin(handler, viewer, primaryDomain);
      if (answer.kind === 'origin' && failoverDomain && FAILOVER_STATUS_CODES.includes(answer.status)) {
        stats.failovers += 1;
        stats.routerInvocations[routerKind] += 1;
        answer = await viaOrigin(handler, { ...viewer, querystring: '' }, failoverDomain);
      }
      const ttl = answer.status === 200 ? cacheSeconds(answer.headers['cache-control'], CACHE_POLICIES[routerKind]) : 0;
      if (ttl > 0 && method === 'GET') cache.set(cacheKey, { status: answer.status, headers: answer.headers, body: answer.body, expires: Date.now() + ttl * 1000 });
    }

    const xCache = answer.kind === 'hit' ? 'Hit from cloudfront' : answer.kind === 'generated' ? 'LambdaGeneratedResponse from cloudfront' : 'Miss from cloudfront';
    let status = answer.status;
    if (status === 200 && etagMatches(req.headers['if-none-match'], answer.headers.etag)) {
      status = 304;
      const kept = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => NOT_MODIFIED_HEADERS.includes(name)));
      res.writeHead(304, { ...kept, ...extra, 'x-cache': xCache });
      res.end();
    } else {
      send(res, status, { ...answer.headers, ...extra, 'x-cache': xCache }, answer.body, headOnly);
    }
    if (routerKind === 'entry') {
      const buildId = answer.headers['x-build-id'] ?? null;
      served({ buildId, clientIp, status, via: answer.kind === 'hit' ? 'hit' : status >= 500 ? 'error' : 'miss', uri, assigned: behaviour === 'entry' });
    }
  }

  function served(entry: ServedEntry): void {
    if (entry.buildId !== null && (entry.status === 200 || entry.status === 304)) stats.entryByBuild[entry.buildId] = (stats.entryByBuild[entry.buildId] ?? 0) + 1;
    for (const listener of entryListeners) listener(entry);
  }

  type Answer = OriginAnswer & { kind: 'hit' | 'generated' | 'origin' };

  /** One origin-request invocation and what CloudFront does with its result. */
  async function viaOrigin(handler: LambdaHandler, viewer: { method: string; uri: string; querystring: string; clientIp: string; headers: Record<string, string | undefined> }, originDomain: string): Promise<Answer> {
    const request: CloudFrontRequest = {
      clientIp: viewer.clientIp,
      method: viewer.method,
      uri: viewer.uri,
      querystring: viewer.querystring,
      headers: toCloudFrontHeaders({ host: originDomain, ...viewer.headers }),
      origin: {
        s3: { authMethod: 'origin-access-identity', customHeaders: toCloudFrontHeaders(originCustomHeaders), domainName: originDomain, path: '', region: /\.s3\.([a-z0-9-]+)\./.exec(originDomain)![1] },
      },
    };
    const event: CloudFrontRequestEvent = {
      Records: [{ cf: { config: { distributionDomainName: 'local.cloudfront.net', distributionId: 'ELOCAL', eventType: 'origin-request', requestId: `local-${Date.now()}` }, request } }],
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
      return { kind: 'generated', status: 503, headers: { 'content-type': 'text/plain' }, body: Buffer.from('503 The Lambda function returned an error (LambdaExecutionError)\n') };
    }
    const problems = cloudFrontResultProblems(sent, result, { s3Domains });
    if (problems.length > 0) {
      stats.invalidResults += 1;
      options.onEdgeError?.();
      log(`origin-request result failed validation: ${problems.join('; ')}`);
      return { kind: 'generated', status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from('502 The Lambda function result failed validation\n') };
    }
    if ('status' in (result as object)) {
      const response = result as CloudFrontResultResponse;
      const body = response.body === undefined ? Buffer.alloc(0) : Buffer.from(response.body, response.bodyEncoding === 'base64' ? 'base64' : 'utf8');
      return { kind: 'generated', status: Number(response.status), headers: fromCloudFrontHeaders(response.headers), body };
    }
    const forwarded = result as CloudFrontRequest;
    const domain = forwarded.origin?.s3?.domainName ?? originDomain;
    return { ...(await fetchFromBucket(domain, forwarded.uri, viewer.method)), kind: 'origin' };
  }

  /** A signed (OAI) read of the bucket behind an S3 REST domain; S3's answer as it came. */
  function fetchFromBucket(domain: string, uri: string, method: string): Promise<OriginAnswer> {
    const bucket = bucketOfDomain(domain);
    if (bucket === null) return Promise.resolve({ status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`502 origin ${domain} is not an S3 bucket\n`) });
    stats.originRequests[bucket] = (stats.originRequests[bucket] ?? 0) + 1;
    const target = new URL(`${options.s3Endpoint}/${bucket}${uri}`);
    return new Promise((resolve) => {
      // node:http, not fetch: the body must pass through still compressed, as S3 stored it.
      const outgoing = httpRequest(target, { method, headers: {} }, (incoming) => {
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
        incoming.on('error', () => resolve({ status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from('502 origin read failed\n') }));
      });
      outgoing.on('error', (error) => resolve({ status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`502 origin unreachable: ${error.message}\n`) }));
      outgoing.end();
    });
  }

  /** `/api/e`: the error-report function answers at the edge; there is no origin to ask. */
  async function serveErrorReport(res: ServerResponse, method: string, url: URL, clientIp: string, referer: string | undefined, headOnly: boolean): Promise<void> {
    let result: Awaited<ReturnType<CloudFrontFunctionHandler>>;
    try {
      result = await options.handlers().errorReport(viewerRequestEvent(method, url, clientIp, { referer }));
    } catch (error) {
      log(`error-report threw: ${(error as Error).message}`);
      options.onEdgeError?.();
      send(res, 503, { 'content-type': 'text/plain' }, Buffer.from('503 The CloudFront function returned an error (FunctionExecutionError)\n'), headOnly);
      return;
    }
    if ('statusCode' in result) {
      send(res, result.statusCode, fromFunctionHeaders(result.headers), Buffer.alloc(0), headOnly);
      return;
    }
    // In AWS the request would go on to the behaviour's placeholder origin; the function never lets it.
    log('error-report passed the request on: nothing stands behind /api/e');
    send(res, 502, { 'content-type': 'text/plain' }, Buffer.from('502 the error-report function passed the request on; no origin answers /api/e\n'), headOnly);
  }

  /** CloudFront's real-time log record of this request, written once it is answered, never in the viewer's way. */
  function logWhenAnswered(req: IncomingMessage, res: ServerResponse, uri: string, query: string, clientIp: string): void {
    const realtime = options.realtimeLogs;
    if (!realtime) return;
    const method = req.method ?? 'GET';
    const referer = typeof req.headers.referer === 'string' ? req.headers.referer : null;
    res.once('finish', () => {
      try {
        realtime.delivery.write(formatRecord({ at: realtime.clock.now(), clientIp, method, uri, query, status: res.statusCode, referer }, realtime.fields));
      } catch (error) {
        log(`real-time log record not written: ${(error as Error).message}`);
      }
    });
  }

  function viewerIp(req: IncomingMessage, url: URL): string | null {
    const chosen = url.searchParams.get(CLIENT_IP_QUERY) ?? req.headers[CLIENT_IP_HEADER] ?? refererViewer(req.headers.referer);
    if (chosen === undefined || chosen === null) return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const value = Array.isArray(chosen) ? chosen[0] : chosen;
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
    invalidate: () => cache.clear(),
    get logDelivery() {
      return options.realtimeLogs?.delivery.fault ?? NO_FAULT;
    },
    set logDelivery(fault: LogDeliveryFault) {
      if (options.realtimeLogs) options.realtimeLogs.delivery.fault = { ...NO_FAULT, ...fault };
    },
    logStats: () => options.realtimeLogs?.delivery.stats() ?? { written: 0, delivered: 0, dropped: 0, failed: 0, throttled: 0 },
    logsSettled: () => options.realtimeLogs?.delivery.settled() ?? Promise.resolve(),
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

/** The query string as the viewer sent it, without `?` and without the local client-IP seam (it stands for the TCP peer address). */
export function loggedQuery(requestUrl: string): string {
  const at = requestUrl.indexOf('?');
  if (at < 0) return '';
  const name = (part: string) => {
    try {
      return decodeURIComponent(part.split('=')[0].replace(/\+/g, ' '));
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

/** The viewer-request event CloudFront gives a CloudFront Function (headers and query as the viewer sent them, without the local seam). */
function viewerRequestEvent(method: string, url: URL, clientIp: string, headers: Readonly<Record<string, string | string[] | undefined>>): CloudFrontFunctionViewerEvent {
  const functionHeaders: Record<string, { value: string }> = {};
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') functionHeaders[name] = { value };
  const querystring: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    querystring[name] = values.length > 1 ? { value: values[0], multiValue: values.map((value) => ({ value })) } : { value: values[0] };
  }
  return {
    version: '1.0',
    context: { distributionDomainName: 'local.cloudfront.net', distributionId: 'ELOCAL', eventType: 'viewer-request', requestId: `local-${Date.now()}` },
    viewer: { ip: clientIp },
    request: { method, uri: url.pathname, querystring, headers: functionHeaders, cookies: {} },
  };
}

function fromFunctionHeaders(headers: Record<string, { value: string }> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, { value }]) => [name, value]));
}

function send(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: Buffer, headOnly: boolean): void {
  // A HEAD answer keeps the length S3 gave; its body is empty. A 204 has no length at all.
  const out: Record<string, string> = status === 204 ? { ...headers } : { ...headers, 'content-length': headOnly && headers['content-length'] ? headers['content-length'] : String(body.length) };
  res.writeHead(status, out);
  res.end(headOnly ? undefined : body);
}

/**
 * The distribution's rules as data: which behaviour a path gets, what each behaviour lets through,
 * keeps and adds, which function runs where, and which origins stand behind them. One table, read
 * by both sides that must agree on it:
 *
 *   stacks/constructs/distribution.ts   renders it as the aws_cloudfront_distribution and its policies
 *   loopback/cloudfront-emulator.ts     answers viewers by it, locally
 *
 * (__tests__/loopback/distribution-agreement.test.ts checks the synthesized distribution against
 * what the emulator does, behaviour by behaviour.)
 *
 * Written in this project's words, not the provider's: no Terraform or CloudFront API names, no
 * resource ids. What only a deploy knows (the prefix of the policy names, the functions' ARNs, the
 * buckets' domains, the store's ARN) the construct adds when it renders the table.
 */
import type { CloudFrontFunctionName, FunctionName } from './build-manifest';
import { BUILD_ENTRY_PATTERN, ENTRY_CACHE_CONTROL, ENTRY_PATH, IMMUTABLE_TTL_SECONDS } from './distribution-paths';
import { ROLLOUT_STORE_HEADER } from './edge-config';
import { ERROR_REPORT_PATH } from './error-report';

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';

/** The behaviours, by what they serve. `build-entry`: `/assets/<buildId>/index.js` asked for by its own URL. */
export type BehaviourName = 'entry' | 'build-entry' | 'error-report' | 'chunks';

/** A CloudFront Function (cloudfront-js-2.0), by the name the build gives it. */
export type ViewerFunctionName = CloudFrontFunctionName;
/** A Lambda@Edge function, by the name the build gives it. */
export type OriginFunctionName = Extract<FunctionName, 'entry-router' | 'chunk-router'>;

/** Values of the viewer's request a policy takes, by name; an empty list takes none. */
export interface RequestValues {
  readonly headers: readonly string[];
  readonly cookies: readonly string[];
  readonly queryStrings: readonly string[];
}

export interface CachePolicy {
  /** The policy's name after the distribution's prefix, or AWS's name of a managed policy. */
  readonly name: string;
  readonly description: string;
  /** A managed policy is AWS's, named by this id and never created; its other fields say what AWS documents of it. */
  readonly managedId?: string;
  /** Seconds: the origin's max-age or s-maxage kept within [min, max]; `default` when it gives none. */
  readonly ttl: { readonly min: number; readonly default: number; readonly max: number };
  /** What the cache key holds besides the URI the viewer-request function leaves; all of it reaches the origin too. */
  readonly key: RequestValues & {
    /** Accept-Encoding normalized to the codings named here, and that normalization in the key. */
    readonly acceptEncoding: { readonly gzip: boolean; readonly brotli: boolean };
  };
}

/** What reaches the origin without being in the cache key. */
export interface OriginRequestPolicy {
  readonly name: string;
  readonly description: string;
  readonly forwarded: RequestValues;
}

export interface ResponseHeader {
  readonly name: string;
  readonly value: string;
  /** Replace the origin's header of that name; otherwise only add it where the origin sent none. */
  readonly override: boolean;
}

export interface ResponseHeadersPolicy {
  readonly name: string;
  readonly description: string;
  readonly security: {
    readonly strictTransportSecurity: {
      readonly maxAgeSeconds: number;
      readonly includeSubdomains: boolean;
      readonly override: boolean;
    };
    /** `X-Content-Type-Options: nosniff`. */
    readonly contentTypeOptions: { readonly override: boolean };
    readonly referrerPolicy: {
      readonly value: 'strict-origin-when-cross-origin' | 'no-referrer' | 'same-origin';
      readonly override: boolean;
    };
  };
  /** The CORS headers, added to responses to requests that carry an Origin. */
  readonly cors: {
    readonly allowOrigins: readonly string[];
    readonly allowMethods: readonly HttpMethod[];
    readonly allowHeaders: readonly string[];
    readonly allowCredentials: boolean;
    readonly maxAgeSeconds: number;
    /** Replace the origin's own CORS headers. */
    readonly override: boolean;
  };
  readonly custom: readonly ResponseHeader[];
}

export interface BehaviourRule {
  readonly name: BehaviourName;
  /** `redirect-to-https` sends a plain-HTTP viewer to HTTPS; `https-only` refuses it (403). */
  readonly viewerProtocol: 'redirect-to-https' | 'https-only';
  /** Anything else is CloudFront's own 403. */
  readonly allowedMethods: readonly HttpMethod[];
  readonly cachedMethods: readonly HttpMethod[];
  /** Whether CloudFront compresses what the origin sent uncompressed. */
  readonly compress: boolean;
  readonly cachePolicy: CachePolicy;
  readonly originRequestPolicy?: OriginRequestPolicy;
  readonly responseHeadersPolicy?: ResponseHeadersPolicy;
  readonly functions: {
    readonly viewerRequest?: ViewerFunctionName;
    readonly originRequest?: OriginFunctionName;
  };
  /** Whether CloudFront's real-time log records of its requests go to the release signal. */
  readonly realtimeLogged: boolean;
  /** The replica buckets: their origin group when there is a failover region, else the primary's bucket. */
  readonly origin: 'replicas';
}

export interface OrderedBehaviourRule extends BehaviourRule {
  /** CloudFront's path pattern: case-sensitive, `*` any run of characters (`/` included), `?` one. */
  readonly pathPattern: string;
}

export interface DistributionRules {
  /** First match wins, in this order; a path no pattern matches gets `default`. */
  readonly ordered: readonly OrderedBehaviourRule[];
  readonly default: BehaviourRule;
  /** The S3 origins: one bucket per region the distribution reads, the primary's first. */
  readonly origins: {
    /** A region's bucket is the origin `<idPrefix><region>`. */
    readonly idPrefix: string;
    /** The primary and the failover region's bucket, when there is one, as one origin. */
    readonly groupId: string;
    /** The primary's answers on which the group asks the failover region's bucket instead. */
    readonly failoverStatusCodes: readonly number[];
    /**
     * Read with the origin access identity, which, unlike OAC, still signs once Lambda@Edge has moved the request to
     * another region's bucket.
     */
    readonly access: 'origin-access-identity';
    /** Headers CloudFront adds to every request to the buckets, by name (their values are only known once deployed). */
    readonly customHeaders: readonly string[];
  };
  /**
   * How long CloudFront keeps an error from the origin (the error caching minimum TTL): its own
   * 10 s unless a custom error response sets another for that status code.
   */
  readonly errorCaching: { readonly minTtlSeconds: number; readonly byStatus: Readonly<Record<number, number>> };
}

const NOTHING: RequestValues = { headers: [], cookies: [], queryStrings: [] };

/**
 * Per build and encoding, as long as the origin allows: the router answers a build's entry with
 * a year, and its own fallback assignments (the unrewritten path) with no-store, which min TTL 0
 * honours, so those are never cached. Accept-Encoding reaches the router through the
 * normalization here (the only way CloudFront forwards it).
 */
const ENTRY_CACHE: CachePolicy = {
  name: 'entry',
  description: 'index.js per assigned build (the rewritten URI) and normalized Accept-Encoding',
  ttl: { min: 0, default: IMMUTABLE_TTL_SECONDS, max: IMMUTABLE_TTL_SECONDS },
  key: { ...NOTHING, acceptEncoding: { gzip: true, brotli: true } },
};

const CHUNK_CACHE: CachePolicy = {
  name: 'chunks',
  description: 'Immutable /assets/<buildId>/ files: a year, per encoding',
  ttl: { min: 0, default: IMMUTABLE_TTL_SECONDS, max: IMMUTABLE_TTL_SECONDS },
  key: { ...NOTHING, acceptEncoding: { gzip: true, brotli: true } },
};

/** AWS's id of its managed CachingDisabled cache policy (developer guide, "Use managed cache policies"). */
export const MANAGED_CACHE_POLICY_CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

/** AWS's managed CachingDisabled, as the guide documents it: every TTL 0, nothing in the key. */
const CACHING_DISABLED: CachePolicy = {
  name: 'Managed-CachingDisabled',
  description: 'AWS managed: nothing is cached',
  managedId: MANAGED_CACHE_POLICY_CACHING_DISABLED,
  ttl: { min: 0, default: 0, max: 0 },
  key: { ...NOTHING, acceptEncoding: { gzip: false, brotli: false } },
};

/** The router's fallback assigns ring hosts by the page's origin: Referer reaches it, outside the cache key. */
const ENTRY_ORIGIN_REQUEST: OriginRequestPolicy = {
  name: 'entry',
  description: 'Referer to the entry router (ring hosts), not in the cache key',
  forwarded: { ...NOTHING, headers: ['referer'] },
};

const SECURITY_HEADERS: ResponseHeadersPolicy['security'] = {
  strictTransportSecurity: { maxAgeSeconds: 63_072_000, includeSubdomains: true, override: true },
  contentTypeOptions: { override: true },
  referrerPolicy: { value: 'strict-origin-when-cross-origin', override: true },
};

/** Host sites are many and unknown: any origin may GET the scripts, without credentials. */
const HOST_SITE_CORS: ResponseHeadersPolicy['cors'] = {
  allowOrigins: ['*'],
  allowMethods: ['GET', 'HEAD'],
  allowHeaders: ['*'],
  allowCredentials: false,
  maxAgeSeconds: 86_400,
  override: true,
};

const ASSET_HEADERS: ResponseHeadersPolicy = {
  name: 'assets',
  description: 'Security headers; any host page may load the scripts (crossorigin=anonymous)',
  security: SECURITY_HEADERS,
  cors: HOST_SITE_CORS,
  custom: [],
};

/**
 * Browsers keep the entry but revalidate it on every load: the ETag (one per build and encoding)
 * makes that a 304 while the viewer's build stays the same.
 */
const ENTRY_HEADERS: ResponseHeadersPolicy = {
  name: 'entry',
  description: 'As assets, and Cache-Control: no-cache to browsers whatever the origin said',
  security: SECURITY_HEADERS,
  cors: HOST_SITE_CORS,
  custom: [{ name: 'Cache-Control', value: ENTRY_CACHE_CONTROL, override: true }],
};

/** Scripts load with plain GETs (no preflight), and origin groups fail over only reads. */
const READS: readonly HttpMethod[] = ['GET', 'HEAD'];

export const DISTRIBUTION_RULES: DistributionRules = {
  ordered: [
    // The viewer-assignment function picks each viewer's build from the rollout store (at the
    // edge location, no network) and rewrites the URI to /assets/<buildId>/index.js, which is
    // then all the cache key holds besides the normalized Accept-Encoding. Every healthy page view
    // makes this request: its real-time log is the viewer's presence. The router returns
    // gzip/brotli bodies itself; CloudFront must not compress again.
    {
      name: 'entry',
      pathPattern: ENTRY_PATH,
      viewerProtocol: 'redirect-to-https',
      allowedMethods: READS,
      cachedMethods: READS,
      compress: false,
      cachePolicy: ENTRY_CACHE,
      originRequestPolicy: ENTRY_ORIGIN_REQUEST,
      responseHeadersPolicy: ENTRY_HEADERS,
      functions: { viewerRequest: 'viewer-assignment', originRequest: 'entry-router' },
      realtimeLogged: true,
      origin: 'replicas',
    },
    // Without this behaviour a build's entry asked for by its own URL would be a chunk: read from
    // the bucket as stored, without X-Build-Id. The viewer-assignment function runs here only as a
    // gate: this URL names its build already, so it rewrites nothing, and answers 410 for a revoked
    // build before any cache is looked at (what a host that pinned it gets). Referer is not
    // forwarded: only the router's fallback assignment, on the unrewritten path, reads it. The
    // router says immutable, and no policy here turns that into no-cache.
    {
      name: 'build-entry',
      pathPattern: BUILD_ENTRY_PATTERN,
      viewerProtocol: 'redirect-to-https',
      allowedMethods: READS,
      cachedMethods: READS,
      compress: false,
      cachePolicy: ENTRY_CACHE,
      responseHeadersPolicy: ASSET_HEADERS,
      functions: { viewerRequest: 'viewer-assignment', originRequest: 'entry-router' },
      realtimeLogged: false,
      origin: 'replicas',
    },
    // The error-report function answers 204 (405 to anything but GET) at the viewer edge without
    // reading the request, so no origin is ever asked; the real-time log of the request is the
    // report. The origin is the assets' only because a behaviour must name one. HTTPS only, not a
    // redirect: a report over HTTP is refused (403), never logged twice. Nothing cached (every
    // report is its own request, and its own log record), nothing forwarded, no response headers
    // policy (the function sets Cache-Control itself).
    {
      name: 'error-report',
      pathPattern: ERROR_REPORT_PATH,
      viewerProtocol: 'https-only',
      allowedMethods: READS,
      cachedMethods: READS,
      compress: false,
      cachePolicy: CACHING_DISABLED,
      functions: { viewerRequest: 'error-report' },
      realtimeLogged: true,
      origin: 'replicas',
    },
  ],
  // The chunks: cached a year (their URLs carry the buildId); the chunk router picks the bucket.
  default: {
    name: 'chunks',
    viewerProtocol: 'redirect-to-https',
    allowedMethods: READS,
    cachedMethods: READS,
    compress: true,
    cachePolicy: CHUNK_CACHE,
    responseHeadersPolicy: ASSET_HEADERS,
    functions: { originRequest: 'chunk-router' },
    realtimeLogged: false,
    origin: 'replicas',
  },
  origins: {
    idPrefix: 'replica-',
    groupId: 'replicas',
    failoverStatusCodes: [403, 404, 500, 502, 503, 504],
    access: 'origin-access-identity',
    // How the routers learn the rollout store (Lambda@Edge has no environment).
    customHeaders: [ROLLOUT_STORE_HEADER],
  },
  errorCaching: { minTtlSeconds: 10, byStatus: {} },
};

/**
 * Local-only seam: the local distribution (loopback/cloudfront-emulator.ts) takes the address
 * CloudFront would have seen from this header; CloudFront itself forwards it to nobody and
 * assigns by the connection's address.
 */
export const CLIENT_IP_HEADER = 'x-local-client-ip';

/**
 * Whether a CloudFront path pattern matches a path: case-sensitive, `*` any run of characters
 * (`/` included), `?` exactly one.
 */
export function pathPatternMatches(pattern: string, pathname: string): boolean {
  let regExp = patternRegExps.get(pattern);
  if (regExp === undefined) {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regExp = new RegExp(`^${source}$`);
    patternRegExps.set(pattern, regExp);
  }
  return regExp.test(pathname);
}

/**
 * Each pattern's RegExp, made once: the emulator matches every request's path against the table's
 * patterns in order, and compiling them anew each time was 210 ms of a signal-attacks run's 45,000
 * requests. Patterns are the distribution's, never a viewer's, so the map stays as small as the table.
 */
const patternRegExps = new Map<string, RegExp>();

/**
 * The behaviour CloudFront picks for a path as the viewer sent it: the first ordered one whose pattern matches, else
 * the default.
 */
export function behaviourRuleOf(path: string, rules: DistributionRules = DISTRIBUTION_RULES): BehaviourRule {
  return rules.ordered.find((rule) => pathPatternMatches(rule.pathPattern, path)) ?? rules.default;
}

/** The name of the behaviour CloudFront picks for a path. */
export function behaviourOf(path: string): BehaviourName {
  return behaviourRuleOf(path).name;
}

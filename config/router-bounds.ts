/**
 * How long a Lambda@Edge router can run on one request, from the bounds it is built with, so the
 * loader refuses bounds that do not fit the routers' timeout (`edge.timeoutSeconds`). Past the
 * timeout Lambda stops the function and the viewer gets CloudFront's "function execution error"
 * instead of the router's own answer (a build from the next bucket, or its 503 `no-store`).
 *
 * The longest request of each router, as its code runs it (edge-function/):
 *
 *   entry router, `/assets/index.js` (the viewer-assignment function could not read the state):
 *     1. the state through the KeyValueStore API, waited for at most edge.storeTimeoutMs
 *        (RolloutStateReader's wait);
 *     2. when it assigns a build other than the router's own: the nearest bucket, a DNS lookup
 *        waited for at most edge.dnsTimeoutMs (NearestBucket's wait);
 *     3. the entry from the buckets in turn, the nearest, then the primary, then the failover
 *        region's, each at most once (BuildEntries.regionsToTry), each read at most
 *        edge.bucketTimeoutMs (s3ObjectReader: one attempt, aborted at the bound).
 *   entry router, `/assets/<buildId>/index.js`: steps 2 and 3 only.
 *   chunk router: step 2 only; CloudFront fetches the chunk after the function returned.
 *
 * plus COLD_START_ALLOWANCE_MS. __tests__/edge-function/router-bounds.test.ts runs the bundled
 * entry router with every bucket hanging and holds it to this count of reads and this time.
 *
 * CloudFront's origin response timeout (30 s by default; the distribution sets none) is for an
 * origin's answer after an origin-request function returned; it neither shortens nor lengthens the
 * function's own run, which only the function's timeout bounds: the entry router answers without
 * an origin, the chunk router's origin is asked after it returns.
 */
import { BUCKET_TIMEOUT_MS_MIN, EDGE_TIMEOUT_SECONDS_MAX } from './schema';

/**
 * What a cold start may add to a request beyond the bounds: Lambda starting Node and loading the
 * router's index.js, and the loads inside the request that no bound covers (the S3 client on the
 * first bucket read; the KeyValueStore client and its SigV4A signer, 480 KB, on the first fallback
 * read), all on the routers' 128 MB, about a fourteenth of a vCPU. AWS puts a Lambda cold start at
 * "under 100 ms to over 1 second" (AWS Compute Blog, "Operating Lambda: Performance optimization –
 * Part 1", 2021); docs/benchmark.md measures the entry router's require at about 14 ms on a whole
 * core, about 200 ms at 128 MB by the bench's own scaling (× 13.82). The top of AWS's range, 1 s,
 * is the conservative figure.
 */
export const COLD_START_ALLOWANCE_MS = 1000;

/** The settings the chains depend on, as the loader has them. */
export interface RouterBoundsSettings {
  /** Every bucket region. */
  readonly regions: readonly string[];
  readonly primaryRegion: string;
  /**
   * The failover origin's region as the routers get it (the loader's default when unset); null or undefined with one
   * region.
   */
  readonly failoverRegion: string | null | undefined;
  readonly dnsTimeoutMs: number;
  readonly storeTimeoutMs: number;
  readonly bucketTimeoutMs: number;
}

/** One bounded wait of a chain, `times` over. */
export interface ChainStep {
  /** What bounds it: the setting as the config file names it, or the allowance. */
  readonly bound: 'edge.storeTimeoutMs' | 'edge.dnsTimeoutMs' | 'edge.bucketTimeoutMs' | 'cold start';
  readonly ms: number;
  readonly times: number;
}

export interface RouterChain {
  readonly router: 'entry router' | 'chunk router';
  /** The request that runs it. */
  readonly request: string;
  readonly steps: readonly ChainStep[];
  /** Buckets read in turn (entry router), each bounded by edge.bucketTimeoutMs; 0 for the chunk router. */
  readonly bucketReads: number;
  /** Every step, cold start included. */
  readonly totalMs: number;
}

/**
 * How many buckets the entry router reads in turn, at most, for one entry: BuildEntries tries the
 * nearest bucket, the primary and the failover region's, each once, only those it has a bucket
 * for. The nearest is whichever configured region DNS or the static table names (or the primary),
 * so the worst is a nearest that is neither of the other two.
 */
export function entryBucketReads(
  settings: Pick<RouterBoundsSettings, 'regions' | 'primaryRegion' | 'failoverRegion'>,
): number {
  const nearestCandidates = [...settings.regions, settings.primaryRegion];
  return Math.max(
    ...nearestCandidates.map((nearest) => {
      const order = [nearest, settings.primaryRegion, settings.failoverRegion ?? null];
      return order.filter(
        (region, index) => region !== null && settings.regions.includes(region) && order.indexOf(region) === index,
      ).length;
    }),
  );
}

/** The longest request of each router: the entry router's fallback path, and the chunk router. */
export function routerChains(settings: RouterBoundsSettings): readonly RouterChain[] {
  const bucketReads = entryBucketReads(settings);
  const dns: ChainStep = { bound: 'edge.dnsTimeoutMs', ms: settings.dnsTimeoutMs, times: 1 };
  const cold: ChainStep = { bound: 'cold start', ms: COLD_START_ALLOWANCE_MS, times: 1 };
  return [
    chain(
      'entry router',
      '/assets/index.js when the viewer-assignment function could not read the state',
      bucketReads,
      [
        { bound: 'edge.storeTimeoutMs', ms: settings.storeTimeoutMs, times: 1 },
        dns,
        { bound: 'edge.bucketTimeoutMs', ms: settings.bucketTimeoutMs, times: bucketReads },
        cold,
      ],
    ),
    chain('chunk router', 'a chunk cache miss', 0, [dns, cold]),
  ];
}

function chain(router: RouterChain['router'], request: string, bucketReads: number, steps: ChainStep[]): RouterChain {
  return { router, request, steps, bucketReads, totalMs: steps.reduce((sum, step) => sum + step.ms * step.times, 0) };
}

/** The longest of routerChains: the one edge.timeoutSeconds must hold. */
export function longestRouterChain(settings: RouterBoundsSettings): RouterChain {
  return routerChains(settings).reduce((longest, next) => (next.totalMs > longest.totalMs ? next : longest));
}

/** `edge.storeTimeoutMs (500) + … + cold start (1000) = 4700 ms`. */
export function describeChain(chain: RouterChain): string {
  const terms = chain.steps.map((step) => {
    const term = `${step.bound} (${step.ms})`;
    return step.bound === 'edge.bucketTimeoutMs'
      ? `${term} × ${step.times} bucket read${step.times === 1 ? '' : 's'}`
      : term;
  });
  return `${terms.join(' + ')} = ${chain.totalMs} ms`;
}

/** Why the routers' bounds do not fit `timeoutSeconds`, with what to change; null when they do. */
export function routerTimeoutProblem(
  settings: RouterBoundsSettings & { readonly timeoutSeconds: number },
): string | null {
  const timeoutMs = settings.timeoutSeconds * 1000;
  const longest = longestRouterChain(settings);
  if (longest.totalMs <= timeoutMs) return null;
  const fixes: string[] = [];
  const bucketStep = longest.steps.find((step) => step.bound === 'edge.bucketTimeoutMs');
  if (bucketStep && bucketStep.times > 0) {
    const rest = longest.totalMs - bucketStep.ms * bucketStep.times;
    const most = Math.floor((timeoutMs - rest) / bucketStep.times);
    if (most >= BUCKET_TIMEOUT_MS_MIN) fixes.push(`lower edge.bucketTimeoutMs to at most ${most}`);
  }
  const least = Math.ceil(longest.totalMs / 1000);
  if (least <= EDGE_TIMEOUT_SECONDS_MAX) fixes.push(`raise edge.timeoutSeconds to at least ${least}`);
  const fix =
    fixes.length > 0
      ? fixes.join(' or ')
      : `lower ${longest.steps
          .filter((step) => step.bound !== 'cold start' && step.times > 0)
          .map((step) => step.bound)
          .join(', ')} until the sum fits ${EDGE_TIMEOUT_SECONDS_MAX} s, Lambda@Edge's longest origin-request timeout`;
  return (
    `the ${longest.router}'s longest request (${longest.request}) can take ${describeChain(longest)}, which ` +
    `does not fit edge.timeoutSeconds (${settings.timeoutSeconds} s): ` +
    `past it the viewer gets CloudFront's function execution error instead of the router's answer. ${capitalize(fix)}.`
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

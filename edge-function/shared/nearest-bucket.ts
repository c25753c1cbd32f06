/**
 * Which replica bucket a request should be fetched from. Both routers use it: the chunk router
 * for every cache miss, the entry router when a viewer's build is not its own.
 *
 * Fallback chain:
 *   1. `_bucket.<domain>` latency TXT: Route53 answers the region nearest to the resolver that
 *      asks (the edge's own region) among the healthy ones. Accepted only if it names a
 *      configured bucket; cached for bucketCacheMs, not forever, so a region the health check
 *      takes out stops getting traffic.
 *   2. the static table: Lambda@Edge execution region (`AWS_REGION`) → nearest configured bucket.
 *   3. the primary bucket.
 * CloudFront's origin failover (primary → secondary) still covers a bucket that fails before DNS
 * notices.
 */
import type { CloudFrontRequest } from 'aws-lambda';
import { s3OriginDomain, type S3Target } from './cloudfront';
import { singleTxtValue, type TxtLookup } from './dns';
import type { EdgeConfig } from '../../contracts/edge-config';
import { CachedReader } from './cached-reader';

export type BucketConfig = Pick<EdgeConfig, 'buckets' | 'regionFallback' | 'primaryRegion'>;

function has(table: Readonly<Record<string, string>>, key: string): boolean {
  return Object.hasOwn(table, key);
}

/** The region a latency-record answer names, if it is one of ours; null otherwise. */
export function bucketRegionFromTxt(
  records: readonly (readonly string[])[],
  buckets: BucketConfig['buckets'],
): string | null {
  const value = singleTxtValue(records)?.trim();
  return value !== undefined && has(buckets, value) ? value : null;
}

/** The bucket region to use, given the DNS answer (null if none) and the edge's execution region. */
export function chooseBucketRegion(
  answer: string | null,
  executionRegion: string | undefined,
  config: BucketConfig,
): string {
  if (answer !== null && has(config.buckets, answer)) return answer;
  if (executionRegion !== undefined && has(config.regionFallback, executionRegion)) {
    const nearest = config.regionFallback[executionRegion];
    if (nearest !== undefined && has(config.buckets, nearest)) return nearest;
  }
  return config.primaryRegion;
}

export function bucketTarget(region: string, config: Pick<EdgeConfig, 'buckets'>): S3Target {
  const domainName = config.buckets[region];
  if (domainName === undefined)
    throw new Error(`no bucket in ${region} (the buckets are in ${Object.keys(config.buckets).join(', ')})`);
  return { region, domainName };
}

/**
 * What a router may do with a request's origin. Only a request bound for the primary bucket is
 * moved to the nearest one. CloudFront runs the origin-request function again when an origin
 * group fails over, with the secondary origin in the event ("the Lambda function is triggered
 * again when CloudFront sends the same request to the secondary origin":
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html#concept_origin_groups.lambda);
 * moving that attempt back to the nearest bucket would defeat the failover, so a request for any
 * other configured bucket keeps its origin. An origin that is none of ours (or not an S3 origin
 * in CloudFront's shape) is not one this distribution sends here: it goes to the primary bucket.
 */
export type OriginRole = 'primary' | 'replica' | 'unknown';

export function originRole(
  request: CloudFrontRequest,
  config: Pick<EdgeConfig, 'buckets' | 'primaryRegion'>,
): OriginRole {
  const domain = s3OriginDomain(request);
  if (domain === null) return 'unknown';
  if (domain === config.buckets[config.primaryRegion]) return 'primary';
  for (const region in config.buckets)
    if (has(config.buckets, region) && config.buckets[region] === domain) return 'replica';
  return 'unknown';
}

/** The nearest bucket, resolved through the latency record and cached as described above. */
export class NearestBucket {
  private readonly record: CachedReader<string>;

  constructor(
    private readonly config: Pick<
      EdgeConfig,
      'bucketRecord' | 'buckets' | 'regionFallback' | 'primaryRegion' | 'bucketCacheMs' | 'dnsTimeoutMs'
    >,
    lookup: TxtLookup,
    private readonly executionRegion: string | undefined,
    options: { readonly now?: () => number; readonly onHealthChange?: (healthy: boolean, detail: string) => void } = {},
  ) {
    this.record = new CachedReader({
      name: config.bucketRecord,
      fetch: () => lookup(config.bucketRecord).then((records) => bucketRegionFromTxt(records, config.buckets)),
      freshMs: config.bucketCacheMs,
      staleMs: 2 * config.bucketCacheMs,
      keepLastGood: false,
      waitMs: config.dnsTimeoutMs,
      now: options.now,
      onHealthChange: options.onHealthChange,
    });
  }

  /** The target now; a promise only when a (bounded) lookup must be waited for. */
  read(): S3Target | Promise<S3Target> {
    const answer = this.record.read();
    return answer instanceof Promise ? answer.then((region) => this.target(region)) : this.target(answer);
  }

  /** Where a request goes when nothing may be looked up (e.g. after an internal failure). */
  primary(): S3Target {
    return bucketTarget(this.config.primaryRegion, this.config);
  }

  private target(answer: string | null): S3Target {
    return bucketTarget(chooseBucketRegion(answer, this.executionRegion, this.config), this.config);
  }
}

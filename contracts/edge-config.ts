/**
 * What the build bakes into every edge bundle. Lambda@Edge has no environment variables, so
 * whatever an edge function must know about the distribution is stamped in with esbuild `define`
 * (see edge-code/edge-config.ts, which derives it from the validated deploy config). What is
 * only known once deployed (the rollout store's ARN) reaches the routers as an origin custom
 * header instead (ROLLOUT_STORE_HEADER).
 */
export interface EdgeConfig {
  /** The build this bundle was made with; the entry router serves it without touching S3. */
  readonly buildId: string;
  /** `_bucket.<domain>` latency TXT: the nearest healthy bucket region. */
  readonly bucketRecord: string;
  readonly primaryRegion: string;
  /** Region of CloudFront's secondary (failover) origin, or null with a single region. */
  readonly failoverRegion: string | null;
  /** Bucket region → bucket REST domain (`<bucket>.s3.<region>.amazonaws.com`). */
  readonly buckets: Readonly<Record<string, string>>;
  /** Bucket region → bucket name. */
  readonly bucketNames: Readonly<Record<string, string>>;
  /** Lambda@Edge execution region → nearest configured bucket region (used when DNS cannot answer). */
  readonly regionFallback: Readonly<Record<string, string>>;
  readonly bucketCacheMs: number;
  readonly dnsTimeoutMs: number;
  /** How long the entry router trusts a rollout state it read through the KeyValueStore API. */
  readonly stateCacheMs: number;
  /** Longest a request waits for that read. */
  readonly storeTimeoutMs: number;
  /** Longest one read of an entry object from a bucket may take before the next bucket is tried. */
  readonly bucketTimeoutMs: number;
}

/**
 * The distribution adds this header, with the rollout store's ARN, to every request to its S3
 * origins; an origin-request function sees it in `origin.s3.customHeaders`. A viewer cannot set
 * or change it.
 */
export const ROLLOUT_STORE_HEADER = 'x-rollout-store';

/** index.js of the build, inlined so the entry router answers without an S3 request. */
export interface InlinedEntry {
  readonly buildId: string;
  /** Quoted MD5 of each representation's bytes: the strong validator S3 gives the same object. */
  readonly etags: { readonly identity: string; readonly gzip: string; readonly br: string };
  readonly identity: string;
  /** base64 of the gzip bytes. */
  readonly gzip: string;
  /** base64 of the brotli bytes. */
  readonly br: string;
}

declare global {
  const __EDGE_CONFIG__: EdgeConfig;
  const __INLINED_ENTRY__: InlinedEntry;
}

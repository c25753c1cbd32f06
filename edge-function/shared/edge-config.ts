/**
 * What the build bakes into every edge bundle. Lambda@Edge has no environment variables, so
 * whatever an edge function must know about the distribution is stamped in with esbuild `define`
 * (see scripts/lib/edge-config.ts, which derives it from the validated deploy config).
 */
export interface EdgeConfig {
  /** The build this bundle was made with; the entry router serves it without touching S3. */
  readonly buildId: string;
  /** `_rollout.<domain>` TXT: which builds, at what weight. */
  readonly rolloutRecord: string;
  /** `_bucket.<domain>` latency TXT: the nearest healthy bucket region. */
  readonly bucketRecord: string;
  readonly primaryRegion: string;
  /** Region of CloudFront's secondary (failover) origin, or null with a single region. */
  readonly failoverRegion: string | null;
  /** Bucket region → bucket REST domain (`<bucket>.s3.<region>.amazonaws.com`). */
  readonly buckets: Readonly<Record<string, string>>;
  /** Lambda@Edge execution region → nearest configured bucket region (used when DNS cannot answer). */
  readonly regionFallback: Readonly<Record<string, string>>;
  readonly rolloutRefreshMs: number;
  readonly bucketCacheMs: number;
  readonly dnsTimeoutMs: number;
}

/** index.js of the build, inlined so the entry router answers without an S3 request. */
export interface InlinedEntry {
  readonly buildId: string;
  /** Strong validator: the sha256 of the plain bytes. */
  readonly etag: string;
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

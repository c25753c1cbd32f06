/**
 * The chunk router's pure core: which object a cache miss under /assets/<buildId>/ fetches, and
 * from which bucket. No I/O; the handler (index.ts) supplies the nearest bucket.
 */
import type { CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import {
  errorResponse,
  hasWellFormedHeaders,
  headerValue,
  originRequestOf,
  s3OriginDomain,
  servedMethod,
  toS3Origin,
  withUri,
  type S3Target,
} from '../shared/cloudfront';
import { BUILD_FILE_PATH, NOT_FOUND_CACHE_CONTROL, UNCACHED } from '../../contracts/distribution-paths';
import { ENCODING_SUFFIX, isCompressible, preferredEncoding, type Encoding } from '../../contracts/encoding';
import type { OriginRole } from '../shared/nearest-bucket';

/** OPTIONS passes through for CORS preflights, which S3 answers from the bucket's CORS rules. */
const METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;

/**
 * A build's entry in its stored encodings: what the entry router reads from the buckets, never a
 * viewer. Served here they would be the entry under another URL, past the build-entry behaviour's
 * gate (a revoked build, contracts/revocation.ts) and without X-Build-Id.
 */
const ENTRY_VARIANT = /\/index\.js\.(?:br|gz)$/;

export function isChunkPath(uri: string): boolean {
  return BUILD_FILE_PATH.test(uri) && !uri.includes('..') && !ENTRY_VARIANT.test(uri);
}

export interface ChunkRequest {
  readonly request: CloudFrontRequest;
  /** The object key to fetch: the path, or its `.br`/`.gz` variant when the viewer accepts one. */
  readonly uri: string;
}

/**
 * The request if it is one the chunk router forwards, else the refusal: 400 for an event not in
 * CloudFront's shape (or headers CloudFront would not take back), 405 for unserved methods, 404
 * for any path that is not a build file.
 */
export function checkChunkRequest(event: unknown): ChunkRequest | CloudFrontResultResponse {
  const request = originRequestOf(event);
  if (request === null) return errorResponse('400', 'GET', UNCACHED);
  const method = servedMethod(request.method, METHODS);
  if (method === null) return errorResponse('405', request.method, UNCACHED, [['Allow', METHODS.join(', ')]]);
  if (!isChunkPath(request.uri)) return errorResponse('404', method, NOT_FOUND_CACHE_CONTROL);
  if (!hasWellFormedHeaders(request.headers)) return errorResponse('400', method, UNCACHED);
  // CloudFront normalizes Accept-Encoding into this behaviour's cache key, so each cached
  // variant is fetched by viewers that accept it.
  const encoding = method === 'OPTIONS' ? null : preferredEncoding(headerValue(request.headers, 'accept-encoding'));
  return { request, uri: chunkUri(request.uri, encoding) };
}

/** The pre-compressed sibling the build writes for text files; other files as they are. */
export function chunkUri(uri: string, encoding: Encoding | null): string {
  return encoding !== null && isCompressible(uri) ? uri + ENCODING_SUFFIX[encoding] : uri;
}

/**
 * The request to send: to `target` when it was bound for the primary bucket (or an origin not
 * ours), on its own origin when it is a failover attempt on another replica (see `originRole`).
 */
export function routeChunk(chunk: ChunkRequest, role: OriginRole, target: S3Target): CloudFrontRequest {
  const replica = role === 'replica' ? s3OriginDomain(chunk.request) : null;
  return replica !== null ? withUri(chunk.request, chunk.uri, replica) : toS3Origin(chunk.request, chunk.uri, target);
}

/**
 * The entry router's pure core: what to do with a request for /assets/index.js, given the rollout
 * record and where the nearest bucket is. No I/O; the handler (index.ts) supplies both.
 */
import type { CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import {
  errorResponse,
  generatedResponseBytes,
  hasWellFormedHeaders,
  headerValue,
  MAX_ORIGIN_GENERATED_RESPONSE_BYTES,
  originRequestOf,
  s3OriginDomain,
  servedMethod,
  toCloudFrontHeaders,
  toS3Origin,
  withUri,
  type S3Target,
} from '../shared/cloudfront';
import type { InlinedEntry } from '../shared/edge-config';
import { contentTypeFor, ENCODING_SUFFIX, preferredEncoding, type Encoding } from '../shared/encoding';
import type { OriginRole } from '../shared/nearest-bucket';

export const ENTRY_URI = '/assets/index.js';
const METHODS = ['GET', 'HEAD'] as const;
/** Neither browsers nor CloudFront may keep the entry: who gets which build changes during a rollout. */
export const ENTRY_CACHE_CONTROL = 'no-store';
/** Refusals are per request too: a cached 4xx on the entry path would hide the widget. */
const REFUSAL_CACHE_CONTROL = 'no-store';

export interface EntryRequest {
  readonly request: CloudFrontRequest;
  readonly method: 'GET' | 'HEAD';
  /** What the viewer accepts, brotli first; null for identity (also when Accept-Encoding is abused). */
  readonly encoding: Encoding | null;
}

/**
 * The request if it is one the entry router serves, otherwise the response refusing it: 400 for
 * an event not in CloudFront's shape, 405 for methods other than GET and HEAD, 404 for any other
 * path (the router is attached to /assets/index.js only).
 */
export function checkEntryRequest(event: unknown): EntryRequest | CloudFrontResultResponse {
  const request = originRequestOf(event);
  if (request === null) return errorResponse('400', 'GET', REFUSAL_CACHE_CONTROL);
  const method = servedMethod(request.method, METHODS);
  if (method === null) return errorResponse('405', request.method, REFUSAL_CACHE_CONTROL, [['Allow', METHODS.join(', ')]]);
  if (request.uri !== ENTRY_URI) return errorResponse('404', method, REFUSAL_CACHE_CONTROL);
  return { request, method: method as 'GET' | 'HEAD', encoding: preferredEncoding(headerValue(request.headers, 'accept-encoding')) };
}

/** One representation of the inlined index.js, ready to send. */
interface Representation {
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly bodyEncoding: 'text' | 'base64';
}

/** The router's own build, prepared once per module load. */
export interface PreparedEntry {
  readonly buildId: string;
  /** False when a representation would exceed CloudFront's generated-response limit: then the build is fetched from S3 like any other. */
  readonly inlinable: boolean;
  readonly representations: Readonly<Record<Encoding | 'identity', Representation>>;
}

export function prepareEntry(entry: InlinedEntry): PreparedEntry {
  const representation = (encoding: Encoding | null): Representation => {
    // A strong validator names one sequence of bytes, so each encoding gets its own.
    const etag = encoding === null ? entry.etag : `${entry.etag.slice(0, -1)}-${encoding === 'br' ? 'br' : 'gz'}"`;
    const headers: [string, string][] = [
      ['Content-Type', contentTypeFor(ENTRY_URI)],
      ['Cache-Control', ENTRY_CACHE_CONTROL],
      ['Vary', 'Accept-Encoding'],
      ['ETag', etag],
      ['X-Build-Id', entry.buildId],
    ];
    if (encoding !== null) headers.push(['Content-Encoding', encoding]);
    if (encoding === null) return { headers, body: entry.identity, bodyEncoding: 'text' };
    return { headers, body: encoding === 'br' ? entry.br : entry.gzip, bodyEncoding: 'base64' };
  };
  const representations = { identity: representation(null), br: representation('br'), gzip: representation('gzip') };
  const inlinable = Object.values(representations).every(
    (r) => generatedResponseBytes(toCloudFrontHeaders(r.headers), r.body, r.bodyEncoding) <= MAX_ORIGIN_GENERATED_RESPONSE_BYTES,
  );
  return { buildId: entry.buildId, inlinable, representations };
}

/** The generated response carrying the inlined index.js (no S3 request). */
export function inlinedEntryResponse(entry: PreparedEntry, method: 'GET' | 'HEAD', encoding: Encoding | null): CloudFrontResultResponse {
  const representation = entry.representations[encoding ?? 'identity'];
  const response: CloudFrontResultResponse = { status: '200', statusDescription: 'OK', headers: toCloudFrontHeaders(representation.headers) };
  if (method === 'GET') {
    response.body = representation.body;
    response.bodyEncoding = representation.bodyEncoding;
  }
  return response;
}

/** Object key of a build's index.js, in the variant the viewer accepts (the upload stores both with their Content-Encoding). */
export function entryUri(buildId: string, encoding: Encoding | null): string {
  return `/assets/${buildId}/index.js${encoding === null ? '' : ENCODING_SUFFIX[encoding]}`;
}

/**
 * The request rewritten to fetch `buildId`'s index.js from S3: on `target` when the request was
 * bound for the primary bucket (or for an origin that is not ours), on its own origin when it is
 * already a failover attempt on another replica. Null when the request's headers are not in a
 * shape CloudFront would take back; the caller refuses it then.
 */
export function rewriteToBuild(entry: EntryRequest, buildId: string, role: OriginRole, target: S3Target): CloudFrontRequest | null {
  if (!hasWellFormedHeaders(entry.request.headers)) return null;
  const uri = entryUri(buildId, entry.encoding);
  const replica = role === 'replica' ? s3OriginDomain(entry.request) : null;
  return replica !== null ? withUri(entry.request, uri, replica) : toS3Origin(entry.request, uri, target);
}

export function malformedHeadersResponse(method: string): CloudFrontResultResponse {
  return errorResponse('400', method, REFUSAL_CACHE_CONTROL);
}

export function unavailableResponse(method: string): CloudFrontResultResponse {
  return errorResponse('503', method, REFUSAL_CACHE_CONTROL);
}

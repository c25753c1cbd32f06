/**
 * The entry router's pure core: what a request for the entry is, and the response that answers
 * it. No I/O; the handler (index.ts) reads the state and the bucket objects.
 *
 * Two shapes reach the router, both on cache misses:
 *
 *   /assets/<buildId>/index.js   rewritten by the viewer-assignment function on the entry
 *                                behaviour, or asked for by its own URL (a behaviour of its own):
 *                                that build's entry, cacheable (CloudFront keeps it per build and
 *                                encoding for a year; on the entry behaviour the response headers
 *                                policy tells browsers `no-cache`). A build the primary bucket
 *                                lacks is 404 for a minute.
 *   /assets/index.js             the function could not read the rollout state: the router
 *                                assigns the viewer itself, and answers `no-store`, so CloudFront
 *                                never caches a response to that path
 *
 * Every entry response is generated here, whether its bytes were inlined in the bundle or read
 * from a bucket, so every one carries `X-Build-Id`, a strong ETag per encoding (the MD5 of its
 * bytes: what S3 gives the same object) and `Vary: Accept-Encoding`.
 */
import type { CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import { isBuildId } from '../../contracts/build-id';
import {
  errorResponse,
  generatedResponseBytes,
  headerValue,
  MAX_ORIGIN_GENERATED_RESPONSE_BYTES,
  originRequestOf,
  servedMethod,
  toCloudFrontHeaders,
} from '../shared/cloudfront';
import type { InlinedEntry } from '../../contracts/edge-config';
import { BUILD_ENTRY_PATH, ENTRY_PATH, IMMUTABLE_CACHE_CONTROL, UNCACHED } from '../../contracts/distribution-paths';
import { contentTypeFor, ENCODING_SUFFIX, preferredEncoding, type Encoding } from '../../contracts/encoding';

const METHODS = ['GET', 'HEAD'] as const;

export interface EntryRequest {
  readonly request: CloudFrontRequest;
  readonly method: 'GET' | 'HEAD';
  /** What the viewer accepts, brotli first; null for identity (also when Accept-Encoding is abused). */
  readonly encoding: Encoding | null;
  /** The build the viewer-assignment function chose; null when it could not (the unrewritten path). */
  readonly buildId: string | null;
}

/**
 * The request if it is one the entry router serves, otherwise the response refusing it: 400 for
 * an event not in CloudFront's shape, 405 for methods other than GET and HEAD, 404 for any other
 * path.
 */
export function checkEntryRequest(event: unknown): EntryRequest | CloudFrontResultResponse {
  const request = originRequestOf(event);
  if (request === null) return errorResponse('400', 'GET', UNCACHED);
  const method = servedMethod(request.method, METHODS);
  if (method === null) return errorResponse('405', request.method, UNCACHED, [['Allow', METHODS.join(', ')]]);
  let buildId: string | null = null;
  if (request.uri !== ENTRY_PATH) {
    const match = BUILD_ENTRY_PATH.exec(request.uri);
    if (match === null || !isBuildId(match[1])) return errorResponse('404', method, UNCACHED);
    buildId = match[1];
  }
  return {
    request,
    method: method as 'GET' | 'HEAD',
    encoding: preferredEncoding(headerValue(request.headers, 'accept-encoding')),
    buildId,
  };
}

/** One build's entry in one encoding, ready to send. */
export interface EntryBody {
  readonly buildId: string;
  readonly encoding: Encoding | null;
  /** The bytes, as CloudFront takes a generated body: UTF-8 text for identity, base64 otherwise. */
  readonly body: string;
  readonly bodyEncoding: 'text' | 'base64';
  /** Quoted MD5 of the bytes. */
  readonly etag: string;
}

export function entryBody(buildId: string, encoding: Encoding | null, bytes: Buffer, etag: string): EntryBody {
  return encoding === null
    ? { buildId, encoding, body: bytes.toString('utf8'), bodyEncoding: 'text', etag }
    : { buildId, encoding, body: bytes.toString('base64'), bodyEncoding: 'base64', etag };
}

/** The router's own build, from what the build inlined: one body per encoding. */
export interface PreparedEntry {
  readonly buildId: string;
  readonly bodies: Readonly<Record<Encoding | 'identity', EntryBody>>;
  /**
   * False when a body would exceed CloudFront's generated-response limit: then it is read from a bucket like any other.
   */
  readonly inlinable: boolean;
}

export function prepareEntry(entry: InlinedEntry): PreparedEntry {
  const bodies = {
    identity: {
      buildId: entry.buildId,
      encoding: null,
      body: entry.identity,
      bodyEncoding: 'text',
      etag: entry.etags.identity,
    },
    gzip: {
      buildId: entry.buildId,
      encoding: 'gzip',
      body: entry.gzip,
      bodyEncoding: 'base64',
      etag: entry.etags.gzip,
    },
    br: { buildId: entry.buildId, encoding: 'br', body: entry.br, bodyEncoding: 'base64', etag: entry.etags.br },
  } as const;
  const inlinable = Object.values(bodies).every((body) => fitsGeneratedResponse(body, IMMUTABLE_CACHE_CONTROL));
  return { buildId: entry.buildId, bodies, inlinable };
}

function entryHeaders(body: EntryBody, cacheControl: string) {
  const pairs: [string, string][] = [
    ['Content-Type', contentTypeFor(ENTRY_PATH)],
    ['Cache-Control', cacheControl],
    ['Vary', 'Accept-Encoding'],
    ['ETag', body.etag],
    ['X-Build-Id', body.buildId],
  ];
  if (body.encoding !== null) pairs.push(['Content-Encoding', body.encoding]);
  return toCloudFrontHeaders(pairs);
}

/** Whether CloudFront would take `body` back as a generated response. */
export function fitsGeneratedResponse(body: EntryBody, cacheControl: string): boolean {
  return (
    generatedResponseBytes(entryHeaders(body, cacheControl), body.body, body.bodyEncoding) <=
    MAX_ORIGIN_GENERATED_RESPONSE_BYTES
  );
}

/** The response carrying a build's entry; `cacheControl` is IMMUTABLE_CACHE_CONTROL or UNCACHED. */
export function entryResponse(body: EntryBody, method: 'GET' | 'HEAD', cacheControl: string): CloudFrontResultResponse {
  const response: CloudFrontResultResponse = {
    status: '200',
    statusDescription: 'OK',
    headers: entryHeaders(body, cacheControl),
  };
  if (method === 'GET') {
    response.body = body.body;
    response.bodyEncoding = body.bodyEncoding;
  }
  return response;
}

/**
 * Object key of a build's entry in the variant the viewer accepts (the upload stores each with its Content-Encoding).
 */
export function entryObjectKey(buildId: string, encoding: Encoding | null): string {
  return `assets/${buildId}/index.js${encoding === null ? '' : ENCODING_SUFFIX[encoding]}`;
}

/**
 * No bucket could give the build's entry (or it is over the generated-response limit): try again later, and nothing is
 * cached.
 */
export function unavailableResponse(method: string): CloudFrontResultResponse {
  return errorResponse('503', method, UNCACHED, [['Retry-After', '5']]);
}

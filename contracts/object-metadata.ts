/**
 * The one rule for the HTTP metadata of every object in a replica bucket, by key. The upload sends
 * it, the upload's idempotency check compares against it, and the local S3 server and local mode
 * serve by it, so an object looks the same wherever it comes from.
 *
 *   assets/<buildId>/<file>       Content-Type of <file>, immutable (the buildId is in the URL)
 *   assets/<buildId>/<file>.br    Content-Type of <file>, Content-Encoding br, immutable
 *   assets/<buildId>/<file>.gz    Content-Type of <file>, Content-Encoding gzip, immutable
 *   builds/<buildId>.json         JSON, no-cache (rewritten by every upload of that build)
 *   anything else                 its own Content-Type, no-cache (nothing outside a build is immutable)
 *
 * A `.br`/`.gz` key is a variant only when the file it compresses is one the build compresses
 * (`isCompressible`): `font.woff2.gz` would be a file of its own, not a variant.
 */
import { BUILD_ID_SOURCE } from './build-id';
import { IMMUTABLE_CACHE_CONTROL } from './distribution-paths';
import { contentTypeFor, ENCODING_SUFFIX, isCompressible, type Encoding } from './encoding';

/** URLs under assets/<buildId>/ never change content: cached for a year, never revalidated. */
export { IMMUTABLE_CACHE_CONTROL };
/** Everything else may be rewritten in place. */
export const REVALIDATE_CACHE_CONTROL = 'no-cache';

export interface ObjectMetadata {
  readonly contentType: string;
  /** Absent for identity (uncompressed) objects. */
  readonly contentEncoding?: Encoding;
  readonly cacheControl: string;
}

const BUILD_ASSET = new RegExp(`^assets/${BUILD_ID_SOURCE}/[^/]`);

export function objectMetadata(key: string): ObjectMetadata {
  const cacheControl = BUILD_ASSET.test(key) ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL;
  const variant = variantOf(key);
  if (variant)
    return { contentType: contentTypeFor(variant.original), contentEncoding: variant.encoding, cacheControl };
  return { contentType: contentTypeFor(key), cacheControl };
}

/** `<original>.br` → { original, encoding: 'br' } when `original` is a file the build compresses. */
export function variantOf(key: string): { readonly original: string; readonly encoding: Encoding } | null {
  for (const encoding of Object.keys(ENCODING_SUFFIX) as Encoding[]) {
    const suffix = ENCODING_SUFFIX[encoding];
    if (!key.endsWith(suffix)) continue;
    const original = key.slice(0, -suffix.length);
    if (original.length > 0 && !original.endsWith('/') && isCompressible(original)) return { original, encoding };
  }
  return null;
}

/** The metadata as HTTP response headers (lowercase names), for servers that serve objects from files. */
export function metadataHeaders(metadata: ObjectMetadata): Record<string, string> {
  return {
    'content-type': metadata.contentType,
    'cache-control': metadata.cacheControl,
    ...(metadata.contentEncoding ? { 'content-encoding': metadata.contentEncoding } : {}),
  };
}

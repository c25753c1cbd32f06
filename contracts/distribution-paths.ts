/**
 * The distribution's paths and what caches may do with them: the stacks' cache behaviours, the
 * routers, the upload's object metadata and the local emulator all read them from here.
 *
 *   /assets/index.js            the one URL host pages embed: assigned per load, never cached by
 *                               browsers for long
 *   /assets/<buildId>/index.js  one build's entry: immutable; answered by the entry router too, so
 *                               it carries X-Build-Id
 *   /assets/<buildId>/<file>    that build's chunks and files: immutable
 *   /api/e                      error reports (contracts/error-report.ts): answered 204 at the
 *                               edge, counted from the logs
 */
// Written without template literals: the viewer-assignment CloudFront Function bundles this file.
import { BUILD_ID_SOURCE } from './build-id';

export const ENTRY_PATH = '/assets/index.js';
/**
 * The cache behaviour of a build's entry requested by its own URL, `/assets/<buildId>/index.js`
 * (CloudFront's `*` matches any characters, `/` included): a behaviour of its own, matched before
 * the chunks' default one, so the entry router answers it rather than the bucket.
 */
export const BUILD_ENTRY_PATTERN = '/assets/*/index.js';

/** The entry's object path for a build: what the viewer-assignment function rewrites to. */
export function buildEntryPath(buildId: string): string {
  return '/assets/' + buildId + '/index.js';
}

/** `/assets/<buildId>/index.js`, the build captured. */
export const BUILD_ENTRY_PATH = /* @__PURE__ */ new RegExp('^/assets/(' + BUILD_ID_SOURCE + ')/index\\.js$');
/**
 * Any file of a build: `/assets/<buildId>/<file>`, one path segment of letters, digits, `.`, `_`,
 * `-`, not starting with a dot. Percent-encoding, further slashes and anything else that could
 * address a key outside the build never match.
 */
export const BUILD_FILE_PATH = /* @__PURE__ */ new RegExp(
  '^/assets/' + BUILD_ID_SOURCE + '/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$',
);

/** A year: the longest CloudFront honours, for anything under /assets/<buildId>/. */
export const IMMUTABLE_TTL_SECONDS = 31_536_000;
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=' + IMMUTABLE_TTL_SECONDS + ', immutable';
/** What browsers are told about /assets/index.js: keep it, but ask every load (each load is assigned anew). */
export const ENTRY_CACHE_CONTROL = 'no-cache';
/** A path that can never exist stays missing: CloudFront may keep the 404 a while (not forever). */
export const NOT_FOUND_CACHE_CONTROL = 'public, max-age=60';
/**
 * A revoked build's entry, answered at the edge before any cache: kept by browsers no longer than
 * a minute, as a 404 is (a key written by mistake can be deleted).
 */
export const GONE_CACHE_CONTROL = 'public, max-age=60';
/** Responses no cache may keep: refusals, and an entry assigned without the store. */
export const UNCACHED = 'no-store';

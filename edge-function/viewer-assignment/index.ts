/**
 * Viewer assignment: the CloudFront Function (cloudfront-js-2.0, viewer-request) on
 * `/assets/index.js`. It reads the rollout state from the distribution's KeyValueStore (a read
 * at the edge location itself, no network), assigns the viewer by the rule in
 * contracts/assignment.ts, and rewrites the URI to `/assets/<buildId>/index.js`: the entry is then
 * cached per build (and encoding), and no Lambda runs on a cache hit.
 *
 * When the state cannot be read (missing key, store error, a value the parser refuses), the
 * request goes on unrewritten and the entry router decides, reading the state through the
 * KeyValueStore API; it answers that path `no-store`, so nothing a fallback served is cached.
 * Each such load logs one line, `rollout-state-unreadable read|invalid` (STATE_UNREADABLE_LOG):
 * a Lambda@Edge invocation per load is what the fallback costs, and the alarm on those lines is
 * how anyone learns it is happening. The normal path logs nothing.
 * No build id is baked in here: one fixed at deploy goes stale at the first rollback.
 *
 * It also runs on the build-entry behaviour (`/assets/<buildId>/index.js` by its own URL, what a
 * host pins with Subresource Integrity), where it only gates: a revoked build (its key
 * `revoked/<buildId>`, contracts/revocation.ts) gets 410 at the edge, whatever any cache holds.
 *
 * The build bundles this file into build/functions/viewer-assignment.js, checks it against the
 * runtime's language subset and the 10 KB quota (edge-code/cloudfront-function.ts), and the
 * stack publishes that file as it is.
 */
import cf from 'cloudfront';
import { previewBuild, ruleBuild } from '../../contracts/assignment';
import { BUILD_ENTRY_PATH, buildEntryPath, ENTRY_PATH, GONE_CACHE_CONTROL } from '../../contracts/distribution-paths';
import { REVOCATION_KEY_PREFIX } from '../../contracts/revocation';
import {
  parseRolloutState,
  refererOrigin,
  ROLLOUT_STATE_KEY,
  STATE_UNREADABLE_LOG,
} from '../../contracts/rollout-state';

const store = cf.kvs();

export async function handler(
  event: CloudFrontFunctionEvent,
): Promise<CloudFrontFunctionRequest | CloudFrontFunctionResponse> {
  const request = event.request;
  // A build's entry by its own URL (the build-entry behaviour): only a gate. Gone (410) when the
  // build is revoked, before any cache is looked at; else on to the cache and the entry router. A
  // missing key is a build nobody revoked; a store that cannot be read lets the load through.
  // (Inline: cloudfront-js-2.0 has no async function but the handler.)
  if (request.uri !== ENTRY_PATH) {
    // Anything else the build-entry pattern matches (`/assets/../assets/index.js`) goes on as sent:
    // the router refuses what is not a build's entry.
    const asked = BUILD_ENTRY_PATH.exec(request.uri);
    if (asked === null) return request;
    let revoked = false;
    try {
      await store.get(REVOCATION_KEY_PREFIX + asked[1], { format: 'string' });
      revoked = true;
    } catch (e) {
      revoked = false;
    }
    if (!revoked) return request;
    return { statusCode: 410, statusDescription: 'Gone', headers: { 'cache-control': { value: GONE_CACHE_CONTROL } } };
  }
  let text = null;
  try {
    text = await store.get(ROLLOUT_STATE_KEY, { format: 'string' });
  } catch (e) {
    console.log(STATE_UNREADABLE_LOG + ' read');
    return request;
  }
  const state = parseRolloutState(text);
  if (state === null) {
    console.log(STATE_UNREADABLE_LOG + ' invalid');
    return request;
  }
  const ip = event.viewer.ip;
  const referer = request.headers.referer;
  const origin = refererOrigin(referer === undefined ? undefined : referer.value);
  // A preview of a revoked build is no preview: `rollout revoke` ends them, and this holds if it
  // could not. One more store read, for previewed viewers only; a read that fails lets it through,
  // as the gate above does.
  let build = previewBuild(state, ip, Date.now());
  if (build !== null) {
    let revoked = false;
    try {
      await store.get(REVOCATION_KEY_PREFIX + build, { format: 'string' });
      revoked = true;
    } catch (e) {
      revoked = false;
    }
    if (revoked) build = null;
  }
  request.uri = buildEntryPath(build !== null ? build : ruleBuild(state, ip, origin));
  return request;
}

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
 * The build bundles this file into build/functions/viewer-assignment.js, checks it against the
 * runtime's language subset and the 10 KB quota (edge-code/cloudfront-function.ts), and the
 * stack publishes that file as it is.
 */
import cf from 'cloudfront';
import { assignBuild } from '../../contracts/assignment';
import { buildEntryPath } from '../../contracts/distribution-paths';
import {
  parseRolloutState,
  refererOrigin,
  ROLLOUT_STATE_KEY,
  STATE_UNREADABLE_LOG,
} from '../../contracts/rollout-state';

const store = cf.kvs();

export async function handler(event: CloudFrontFunctionEvent): Promise<CloudFrontFunctionRequest> {
  const request = event.request;
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
  const referer = request.headers.referer;
  request.uri = buildEntryPath(
    assignBuild(state, event.viewer.ip, refererOrigin(referer === undefined ? undefined : referer.value)),
  );
  return request;
}

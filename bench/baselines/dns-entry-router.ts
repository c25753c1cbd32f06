/**
 * The entry router of this project's previous design, kept for the benchmark as a second baseline
 * (beside the reference design's handlers): Lambda@Edge on every entry load (the entry was not
 * cached), reading the rollout record `_rollout.<domain>` TXT through DNS (refreshed every
 * `rolloutRefreshMs`, stale-while-revalidate, last good kept), assigning by the same rule, and
 * answering its own build inline or rewriting the request to the nearest bucket for another one.
 * A viewer-request function put the client IP into the entry's cache key (one more invocation
 * per load, counted by the cost model, not run here).
 *
 * Behaviour as shipped before the viewer-edge design (git history: edge-function/entry-router at
 * the commit before it); it reuses today's shared pieces where they did the same job.
 */
import { ENTRY_PATH, UNCACHED } from '../../contracts/distribution-paths';
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import { assignBuild } from '../../contracts/assignment';
import type { RolloutState } from '../../contracts/rollout-state';
import { entryObjectKey, entryResponse, prepareEntry } from '../../edge-function/entry-router/route';
import { CachedReader } from '../../edge-function/shared/cached-reader';
import { errorResponse, headerValue, originRequestOf, toS3Origin } from '../../edge-function/shared/cloudfront';
import { resolverTxtLookup, singleTxtValue } from '../../edge-function/shared/dns';
import { preferredEncoding } from '../../contracts/encoding';
import { NearestBucket } from '../../edge-function/shared/nearest-bucket';
import { parseRolloutRecord } from './rollout-record';

/** What only this baseline needs, baked in beside the edge config. */
declare const __DNS_BASELINE__: { readonly rolloutRecord: string; readonly rolloutRefreshMs: number };

const config = __EDGE_CONFIG__;
const baseline = __DNS_BASELINE__;
const own = prepareEntry(__INLINED_ENTRY__);
const lookup = resolverTxtLookup(config.dnsTimeoutMs);
const nearest = new NearestBucket(config, lookup, process.env.AWS_REGION);

const rollout = new CachedReader<RolloutState>({
  name: baseline.rolloutRecord,
  fetch: () =>
    lookup(baseline.rolloutRecord).then((records) => {
      const value = singleTxtValue(records);
      return value === null || value.length > 255 ? null : parseRolloutRecord(value);
    }),
  freshMs: baseline.rolloutRefreshMs,
  staleMs: 2 * baseline.rolloutRefreshMs,
  keepLastGood: true,
  waitMs: config.dnsTimeoutMs,
});

export async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
  const request = originRequestOf(event);
  if (request === null || request.uri !== ENTRY_PATH) return errorResponse('404', 'GET', UNCACHED);
  const method = request.method === 'HEAD' ? 'HEAD' : 'GET';
  const encoding = preferredEncoding(headerValue(request.headers, 'accept-encoding'));
  const read = rollout.read();
  const record = read instanceof Promise ? await read : read;
  // No record: its own build, so an edge that cannot read DNS shifts nobody.
  const buildId = record === null ? own.buildId : assignBuild(record, request.clientIp, null, Date.now());
  if (buildId === own.buildId) return entryResponse(own.bodies[encoding ?? 'identity'], method, UNCACHED);
  const resolved = nearest.read();
  const target = resolved instanceof Promise ? await resolved : resolved;
  return toS3Origin(request, `/${entryObjectKey(buildId, encoding)}`, target);
}

/**
 * Entry router: Lambda@Edge on origin-request of /assets/index.js and of /assets/<buildId>/index.js
 * (a build's entry asked for by its own URL), so it runs only on those behaviours' cache misses.
 * On the first, the viewer-assignment CloudFront Function has already picked the viewer's build
 * and rewritten the URI to it; either way the router answers with that build's entry, its own
 * build from the inlined index.js, any other from the nearest replica bucket that has it, so every
 * entry carries X-Build-Id.
 *
 * When the function could not read the rollout state, the URI arrives unrewritten: the router
 * reads the state through the KeyValueStore API (cached, bounded), assigns the viewer by the same
 * rule, and answers `no-store`. Only when that read fails too does it serve its own build.
 *
 * Every version of this function serves every build still in the buckets, so a rollout and a
 * rollback are changes to the state, never a new Lambda version. A revoked build
 * (contracts/revocation.ts) is refused before it gets here: by its own URL the viewer-assignment
 * function answers 410 at the edge, and on `/assets/index.js` it assigns a revoked build only as a
 * canary or stable build, in the seconds before rollout sync takes it out of the state (a preview
 * of one it checks and drops); the fallback, which reads the state itself, refuses it too.
 */
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import { assignBuild } from '../../contracts/assignment';
import { refererOrigin } from '../../contracts/rollout-state';
import { s3ObjectReader } from '../shared/bucket-objects';
import { errorResponse, headerValue } from '../shared/cloudfront';
import { resolverTxtLookup } from '../shared/dns';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { NearestBucket } from '../shared/nearest-bucket';
import { RevocationReader, RolloutStateReader, sdkStoreGet } from '../shared/rollout-state-reader';
import { ABSENT, BuildEntries } from './build-entries';
import {
  checkEntryRequest,
  entryResponse,
  fitsGeneratedResponse,
  prepareEntry,
  unavailableResponse,
  type EntryRequest,
} from './route';
import { IMMUTABLE_CACHE_CONTROL, NOT_FOUND_CACHE_CONTROL, UNCACHED } from '../../contracts/distribution-paths';

const config = __EDGE_CONFIG__;
const own = prepareEntry(__INLINED_ENTRY__);
const logHealth = (what: string) => (healthy: boolean, detail: string) =>
  (healthy ? console.log : console.warn)(`entry-router ${what} ${healthy ? 'ok' : 'failing'}: ${detail}`);

// Lambda sets AWS_REGION to the region the replica runs in; read once, it never changes.
const nearest = new NearestBucket(config, resolverTxtLookup(config.dnsTimeoutMs), process.env.AWS_REGION, {
  onHealthChange: logHealth('DNS'),
});
const entries = new BuildEntries({
  bucketNames: config.bucketNames,
  primaryRegion: config.primaryRegion,
  failoverRegion: config.failoverRegion,
  nearest: () => nearest.read(),
  read: s3ObjectReader(config.bucketTimeoutMs),
  onBucketFailure: (region, key, error) =>
    console.warn(
      `entry-router: ${key} from ${region} failed: ${(error as Error)?.name ?? ''} ` +
        `${(error as Error)?.message ?? error}`,
    ),
});
const storeGet = sdkStoreGet(config.storeTimeoutMs);
const states = new RolloutStateReader(storeGet, {
  freshMs: config.stateCacheMs,
  waitMs: config.storeTimeoutMs,
  onHealthChange: logHealth('rollout store'),
});
const revocations = new RevocationReader(storeGet, {
  freshMs: config.stateCacheMs,
  waitMs: config.storeTimeoutMs,
  onHealthChange: logHealth('revocations'),
});

export async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
  let checked: EntryRequest | null = null;
  try {
    const result = checkEntryRequest(event);
    if (!('request' in result)) return result;
    checked = result;
    if (checked.buildId !== null) return await serve(checked, checked.buildId, IMMUTABLE_CACHE_CONTROL);
    const { assigned, stable } = await fallbackAssignment(checked);
    // The state may still name a build revoked a moment ago (rollout sync rewrites it within
    // seconds): a revoked canary's viewer gets the stable build; a revoked stable build, nothing
    // (410), as the viewer-assignment function answers for it by its own URL.
    const storeArn = headerValue(checked.request.origin?.s3?.customHeaders ?? {}, ROLLOUT_STORE_HEADER);
    for (const candidate of assigned === stable ? [assigned] : [assigned, stable]) {
      const read = revocations.read(storeArn, candidate);
      const revoked = read instanceof Promise ? await read : read;
      if (revoked === null) return await serve(checked, candidate, UNCACHED);
      console.log(`entry-router: build ${candidate} is revoked (${revoked.reason})`);
    }
    return errorResponse('410', checked.method, UNCACHED);
  } catch (error) {
    // Nothing above should throw. A cached path must never get another build's bytes, so it gets
    // an uncached 503; the unrewritten path, uncached anyway, still gets a working widget.
    console.error('entry-router: internal failure', error);
    if (checked === null || checked.buildId !== null || !own.inlinable)
      return unavailableResponse(checked?.method ?? 'GET');
    return entryResponse(own.bodies[checked.encoding ?? 'identity'], checked.method, UNCACHED);
  }
}

/**
 * The viewer's build when the viewer-assignment function could not pick it, and the stable build
 * it would fall back to.
 */
async function fallbackAssignment(checked: EntryRequest): Promise<{ assigned: string; stable: string }> {
  const storeArn = headerValue(checked.request.origin?.s3?.customHeaders ?? {}, ROLLOUT_STORE_HEADER);
  const read = states.read(storeArn);
  const state = read instanceof Promise ? await read : read;
  if (state === null) {
    console.warn(
      `entry-router: no rollout state (store ${storeArn ?? 'not named by the origin'}); serving its own ` +
        `build ${own.buildId}`,
    );
    return { assigned: own.buildId, stable: own.buildId };
  }
  return {
    assigned: assignBuild(
      state,
      checked.request.clientIp,
      refererOrigin(headerValue(checked.request.headers, 'referer')),
      Date.now(),
    ),
    stable: state.stable,
  };
}

async function serve(checked: EntryRequest, buildId: string, cacheControl: string): Promise<CloudFrontRequestResult> {
  if (buildId === own.buildId && own.inlinable)
    return entryResponse(own.bodies[checked.encoding ?? 'identity'], checked.method, cacheControl);
  const body = await entries.get(buildId, checked.encoding);
  if (body === ABSENT) {
    // A cached path (the function's rewrite, or a build's own URL) for a build that does not exist: the chunk router's
    // 404.
    if (cacheControl !== UNCACHED) return errorResponse('404', checked.method, NOT_FOUND_CACHE_CONTROL);
    // The fallback assigned a build the buckets lack: the router's own build still gives the viewer a widget.
    return own.inlinable
      ? entryResponse(own.bodies[checked.encoding ?? 'identity'], checked.method, UNCACHED)
      : unavailableResponse(checked.method);
  }
  if (body === null || !fitsGeneratedResponse(body, cacheControl)) return unavailableResponse(checked.method);
  return entryResponse(body, checked.method, cacheControl);
}

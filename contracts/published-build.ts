/**
 * Where a replica bucket says a build is there: `builds/<buildId>.json`, written last by the
 * upload once every object of the build is verified in that bucket (contracts/bucket-layout.ts
 * has the rest of the layout and the manifest's schema). The release function, the rollout CLI
 * and rollout sync check for it before they send viewers to a build.
 */
import { isBuildId } from './build-id';

export const BUILDS_PREFIX = 'builds/';

export function publishedBuildKey(buildId: string): string {
  if (!isBuildId(buildId)) throw new Error(`not a buildId: ${JSON.stringify(buildId)}`);
  return `${BUILDS_PREFIX}${buildId}.json`;
}

/**
 * Where a cleanup says it is deleting a build, one key per run: beside the manifest rather than
 * under assets/ (which CloudFront may read); an inventory of builds/ reads only <id>.json.
 */
export function cleanupMarkerPrefix(buildId: string): string {
  return publishedBuildKey(buildId).replace(/\.json$/, '.cleanup/');
}

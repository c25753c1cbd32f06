/**
 * Each entry-router version carries the buildId it inlines in its description: the stacks write
 * it, rollout sync and the rollout CLI read it to turn alias versions into builds.
 */
import { BUILD_ID_SOURCE, isBuildId } from './build-id';

const DESCRIBED_BUILD = new RegExp(`(?:^|\\s)buildId=(${BUILD_ID_SOURCE})(?:\\s|$)`);

export function versionDescription(buildId: string): string {
  if (!isBuildId(buildId)) throw new Error(`not a buildId: ${buildId}`);
  return `entry router for build buildId=${buildId}`;
}

export function buildIdFromDescription(description: string | undefined): string | null {
  const match = DESCRIBED_BUILD.exec(description ?? '');
  return match?.[1] ?? null;
}

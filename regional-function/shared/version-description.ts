/**
 * Each entry-router version carries the buildId it inlines in its description: the stacks write
 * it, rollout sync and the rollout CLI read it to turn alias versions into builds.
 */
import { isBuildId } from '../../contracts/build-id';

export function versionDescription(buildId: string): string {
  if (!isBuildId(buildId)) throw new Error(`not a buildId: ${buildId}`);
  return `entry router for build buildId=${buildId}`;
}

export function buildIdFromDescription(description: string | undefined): string | null {
  const match = /(?:^|\s)buildId=([0-9a-f]{16})(?:\s|$)/.exec(description ?? '');
  return match ? match[1] : null;
}

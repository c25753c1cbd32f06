/**
 * A buildId: the first 16 hex characters of the sha256 over everything webpack emitted
 * (scripts/build.ts). It names the folder `assets/<buildId>/` in every bucket and is the unit a
 * rollout moves viewers between.
 *
 * Runs in the viewer-assignment CloudFront Function too: written in the language subset of
 * cloudfront-js-2.0 (see scripts/lib/cloudfront-function.ts).
 */
export const BUILD_ID_PATTERN = /^[0-9a-f]{16}$/;

export function isBuildId(value: unknown): value is string {
  return typeof value === 'string' && BUILD_ID_PATTERN.test(value);
}

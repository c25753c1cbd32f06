/**
 * A buildId: the first 16 hex characters of the sha256 over everything webpack emitted
 * (publish/build.ts). It names the folder `assets/<buildId>/` in every bucket and is the unit a
 * rollout moves viewers between.
 *
 * Runs in the viewer-assignment CloudFront Function too: written in the language subset of
 * cloudfront-js-2.0 (see edge-code/cloudfront-function.ts).
 */
/** The pattern's source, for the patterns that embed a buildId (object keys, paths, descriptions). */
export const BUILD_ID_SOURCE = '[0-9a-f]{16}';
// Concatenated, not a template: this file is bundled into a CloudFront Function, published through
// Terraform, which would read `${` as an interpolation.
export const BUILD_ID_PATTERN = new RegExp('^' + BUILD_ID_SOURCE + '$');

export function isBuildId(value: unknown): value is string {
  return typeof value === 'string' && BUILD_ID_PATTERN.test(value);
}

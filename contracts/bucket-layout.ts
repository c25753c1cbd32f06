/**
 * What a replica bucket holds, and what makes a build count as present in it.
 *
 *   assets/<buildId>/...     the build's files and their .br/.gz variants (the only prefix
 *                            CloudFront's origin access identity may read)
 *   builds/<buildId>.json    the published-build manifest, written last by the upload once every
 *                            object under assets/<buildId>/ is verified in that bucket
 *
 * A build is present in a region when, and only when, its manifest is there: an upload that dies
 * half way leaves objects but no manifest, and cleanup deletes the manifest before the objects.
 */
import { z } from 'zod';
import { BUILD_ID_PATTERN, BUILD_ID_SOURCE } from './build-id';

export const ASSETS_PREFIX = 'assets/';
const PUBLISHED_BUILD_KEY = new RegExp(`^builds/(${BUILD_ID_SOURCE})\\.json$`);
const ASSET_KEY = new RegExp(`^assets/(${BUILD_ID_SOURCE})/.`);
export { BUILDS_PREFIX, cleanupMarkerPrefix, publishedBuildKey } from './published-build';

export function buildAssetsPrefix(buildId: string): string {
  assertBuildId(buildId);
  return `${ASSETS_PREFIX}${buildId}/`;
}

/** The buildId of `builds/<buildId>.json`, or null for any other key. */
export function buildIdOfManifestKey(key: string): string | null {
  const match = PUBLISHED_BUILD_KEY.exec(key);
  return match?.[1] ?? null;
}

/** The buildId of a key under `assets/<buildId>/`, or null for any other key. */
export function buildIdOfAssetKey(key: string): string | null {
  const match = ASSET_KEY.exec(key);
  return match?.[1] ?? null;
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const publishedBuildSchema = z.object({
  schema: z.literal(1),
  buildId: z.string().regex(BUILD_ID_PATTERN),
  /** When this manifest was written (ISO 8601); cleanup ranks builds and measures grace by it. */
  uploadedAt: z.iso.datetime(),
  /** Key of the build's index.js. */
  entry: z.string().min(1),
  /** Every object of the build in this bucket, sorted by key. */
  objects: z.array(z.object({ key: z.string().min(1), bytes: z.number().int().min(0), sha256: sha256Hex })).min(1),
});

export type PublishedBuild = z.infer<typeof publishedBuildSchema>;

export function formatPublishedBuild(build: PublishedBuild): string {
  return `${JSON.stringify(publishedBuildSchema.parse(build), null, 2)}\n`;
}

/** Parses a `builds/<id>.json` body; throws a one-line reason when it is not one this version writes. */
export function parsePublishedBuild(text: string, expectedBuildId?: string): PublishedBuild {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const result = publishedBuildSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `not a published-build manifest ` +
        `(${issue ? `${issue.path.join('.') || 'top level'}: ${issue.message}` : result.error.message})`,
    );
  }
  if (expectedBuildId !== undefined && result.data.buildId !== expectedBuildId) {
    throw new Error(`names build ${result.data.buildId}, not ${expectedBuildId}`);
  }
  const outside = result.data.objects.find(
    (object) => !object.key.startsWith(`${ASSETS_PREFIX}${result.data.buildId}/`),
  );
  if (outside) throw new Error(`lists ${outside.key}, outside ${ASSETS_PREFIX}${result.data.buildId}/`);
  return result.data;
}

function assertBuildId(buildId: string): void {
  if (!BUILD_ID_PATTERN.test(buildId)) throw new Error(`not a buildId: ${JSON.stringify(buildId)}`);
}

/**
 * `npm run upload`: every file of the build to every replica bucket, before `cdktf deploy` points
 * viewers at it.
 *
 * npm run upload -- [--build build] [--regions a,b] [--endpoint <url>] [--concurrency 8] [--dry-run] [--config <file>]
 *   (`--help` for each option, its default, and examples)
 *
 * Per region, in parallel, each with its own client (which retries what the SDK deems transient:
 * throttling, 5xx, dropped connections):
 *   list    assets/<buildId>/ once, to know what is already there
 *   objects up to `concurrency` at a time: an object already present with the same sha256 (and the
 *           metadata the rule gives its key) is skipped; anything else is PUT with its SHA-256
 *           checksum (S3 refuses bytes that do not match it), SSE-S3, and read back (size, sha256,
 *           MD5 ETag, checksum, headers); one that reads back wrong is written again
 *   verify  list assets/<buildId>/ again: every object there, at its size (any missing is put back)
 *   publish builds/<buildId>.json, last: from then on the build counts as present in that region
 *   settle  check the build is still whole under its manifest, once no cleanup is deleting it
 *
 * A region that fails stops there while the others finish; the command then exits non-zero naming
 * it. Running the upload again skips what is already there and finishes.
 *
 * Why `settle`: uploading an old build again (a deploy of an old commit, to roll back) can meet a
 * `cleanup --apply` that listed the same build as deletable. The upload skips the objects that are
 * there, and the cleanup may delete them, or the manifest, at any point in between. With plain S3
 * requests only (the loopback S3 server emulates no conditional writes or deletes) neither side
 * can make its steps atomic, so they hand over through S3 itself, which is strongly consistent:
 *   - a cleanup first writes a marker, builds/<buildId>.cleanup/<run> (scripts/cleanup.ts), then
 *     re-reads the manifest and keeps the build if it was rewritten; it removes the marker last;
 *   - the upload first writes the manifest, then looks for markers and waits while there are any;
 *     then it checks every object and the manifest again, putting back whatever is missing.
 * Each side writes before it reads what the other writes, so at least one sees the other: either
 * the cleanup sees the new manifest and keeps the build, or the upload sees the marker and checks
 * everything once that cleanup is done. Success needs a round that found no marker, every object
 * and the manifest; a cleanup that starts after it sees the new manifest. Checking the objects
 * after the manifest would not do on its own: a cleanup that has read the old manifest but not yet
 * deleted anything leaves nothing for the upload to see, and deletes right after it looked.
 * Rounds are bounded, and a marker that stays (a cleanup that died) fails the upload, naming it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { resourceNames, type DeployConfig } from '../config';
import { cleanupMarkerPrefix } from '../contracts/published-build';
import {
  buildAssetsPrefix,
  formatPublishedBuild,
  parsePublishedBuild,
  publishedBuildKey,
  type PublishedBuild,
} from '../contracts/bucket-layout';
import { mapLimit } from './concurrency';
import { readManifest, type BuildManifest } from '../contracts/build-manifest';
import { objectMetadata, type ObjectMetadata } from '../contracts/object-metadata';
import { requireCredentials } from '../rollout-control/credentials';
import {
  createS3Client,
  describeError,
  getObjectText,
  headObject,
  listObjects,
  type ListedObject,
  type RetryPolicy,
} from '../rollout-control/s3';

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Where one region's upload is: what the progress board shows. */
export interface LaneState {
  readonly done: number;
  readonly total: number;
  readonly bytes: number;
  /** A word on what the lane is doing: `uploading`, `manifest`, `failed`. */
  readonly note?: string;
}

export interface UploadOptions {
  readonly config: DeployConfig;
  /** @default <project>/build */
  readonly buildDir?: string;
  /** A list, or `a,b`. @default every region of the config */
  /** Checked against the config by the command. @default every region of the config */
  readonly regions?: readonly string[];
  /** An S3-compatible endpoint serving every region's bucket, path-style. @default AWS */
  readonly endpoint?: string;
  /** @default createS3Client for the region (and endpoint), with `retry`, logging each retry */
  readonly clientFor?: (region: string) => S3Client;
  /** Objects in flight per region. @default 8 */
  readonly concurrency?: number;
  /** Read-only: report what would be uploaded, write nothing. @default false */
  readonly dryRun?: boolean;
  /** How the S3 clients retry (the SDK's retry strategy). @default DEFAULT_RETRY: 5 attempts, the SDK's backoff */
  readonly retry?: RetryPolicy;
  /** The manifest's uploadedAt. @default the current time */
  readonly now?: () => Date;
  /** @default nothing */
  readonly onProgress?: (region: string, state: LaneState) => void;
  /** Retries and other notes worth a line. @default nothing */
  readonly log?: (line: string) => void;
  /**
   * How long to wait for a cleanup deleting this same build in a region to end, and how often to
   * look. A cleanup takes seconds per build; one still there after this has most likely died.
   * @default 2 minutes, every 2 s
   */
  readonly cleanupWait?: { readonly timeoutMs: number; readonly pollMs: number };
  /** Rounds of checking after the manifest before giving up on a build that keeps changing. @default 5 */
  readonly settleRounds?: number;
}

export interface RegionUpload {
  readonly region: string;
  readonly bucket: string;
  readonly ok: boolean;
  /** Objects written (or, in a dry run, that would be). */
  readonly uploaded: number;
  /** Objects already present with the same content. */
  readonly skipped: number;
  /** Objects put back after they went missing during the upload (a cleanup deleting this build). */
  readonly restored: number;
  /** Bytes of the objects written (the manifest not counted). */
  readonly bytes: number;
  readonly ms: number;
  /** 'written' on a failed region: written, but the build could not be confirmed whole under it. */
  readonly manifest: 'written' | 'would write' | 'not written';
  /** Dry run: the keys that would be written. */
  readonly pending: readonly string[];
  /** Why the region failed: the key (if any) and the error. */
  readonly error?: string;
}

export interface UploadResult {
  readonly buildId: string;
  /** The build's files and their .br/.gz variants; each region gets these and then the build's manifest. */
  readonly objects: number;
  readonly totalBytes: number;
  readonly regions: readonly RegionUpload[];
  readonly ok: boolean;
}

/** One object as it must end up in every bucket. */
export interface BuildObject {
  readonly key: string;
  readonly body: Buffer;
  /** Hex, as in the build manifest and the object's metadata. */
  readonly sha256: string;
  readonly md5: string;
  readonly metadata: ObjectMetadata;
}

export async function upload(options: UploadOptions): Promise<UploadResult> {
  const buildDir = path.resolve(options.buildDir ?? path.join(PROJECT_ROOT, 'build'));
  const manifest = readManifest(buildDir);
  return publishObjects({ ...options, buildId: manifest.buildId, objects: buildObjects(buildDir, manifest) });
}

/**
 * The upload of a build's objects, from wherever they came: the build folder (upload), or another
 * region's bucket (scripts/backfill.ts). Same steps, same manifest-last rule.
 */
export async function publishObjects(
  options: Omit<UploadOptions, 'buildDir'> & { readonly buildId: string; readonly objects: readonly BuildObject[] },
): Promise<UploadResult> {
  const { buildId, objects } = options;
  // The command checked the regions the user named (scripts/lib/cli.ts selectRegions); a caller naming another is a
  // bug.
  const regions = options.regions ?? options.config.regions;
  const unknown = regions.filter((region) => !options.config.regions.includes(region));
  if (unknown.length > 0) throw new Error(`not among the configured regions: ${unknown.join(', ')}`);
  const names = resourceNames(options.config);
  const clientFor =
    options.clientFor ??
    ((region: string) =>
      createS3Client({
        region,
        endpoint: options.endpoint,
        retry: options.retry,
        onRetry: (error, attempt, waited) =>
          options.log?.(`${region}: ${describeError(error)}; attempt ${attempt} after ${waited} ms`),
      }));
  const clients = regions.map((region) => ({ region, client: clientFor(region) }));
  // Every region would fail alike, each object on its own: say it once, before anything starts.
  const [first] = clients;
  if (first !== undefined) await requireCredentials(first.client);
  const results = await Promise.all(
    clients.map(({ region, client }) =>
      uploadRegion({ ...options, region, bucket: names.bucket(region), client, buildId, objects }),
    ),
  );
  return {
    buildId,
    objects: objects.length,
    totalBytes: objects.reduce((sum, object) => sum + object.body.length, 0),
    regions: results,
    ok: results.every((result) => result.ok),
  };
}

/** Every asset and variant of the build, read and checked against the build manifest. */
export function buildObjects(buildDir: string, manifest: BuildManifest): BuildObject[] {
  const files = manifest.assets.flatMap((asset) => [
    { key: asset.key, sha256: asset.sha256 },
    ...Object.values(asset.variants).map((v) => ({ key: v.key, sha256: v.sha256 })),
  ]);
  return files
    .map(({ key, sha256 }) => {
      const file = path.join(buildDir, key);
      const body = readFileSync(file);
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== sha256)
        throw new Error(
          `${file} does not match ${path.join(buildDir, 'manifest.json')} (sha256 ${actual}, expected ` +
            `${sha256}): run \`npm run build\` again.`,
        );
      return { key, body, sha256, md5: createHash('md5').update(body).digest('hex'), metadata: objectMetadata(key) };
    })
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

interface RegionContext extends UploadOptions {
  readonly region: string;
  readonly bucket: string;
  readonly client: S3Client;
  readonly buildId: string;
  readonly objects: readonly BuildObject[];
}

async function uploadRegion(context: RegionContext): Promise<RegionUpload> {
  const { region, bucket, client, buildId, objects } = context;
  const started = Date.now();
  // The build's objects, as the summary counts them; the manifest after them shows as a note.
  const total = objects.length;
  let done = 0;
  let uploaded = 0;
  let skipped = 0;
  let restored = 0;
  let bytes = 0;
  let manifestWritten = false;
  const pending: string[] = [];
  const progress = (note?: string) => context.onProgress?.(region, { done, total, bytes, note });
  const finish = (ok: boolean, manifestState: RegionUpload['manifest'], error?: string): RegionUpload => ({
    region,
    bucket,
    ok,
    uploaded,
    skipped,
    restored,
    bytes,
    ms: Date.now() - started,
    manifest: manifestState,
    pending,
    ...(error !== undefined ? { error } : {}),
  });

  progress(context.dryRun ? 'checking' : 'uploading');
  let stage = `listing ${buildAssetsPrefix(buildId)}`;
  try {
    const present = await listObjects(client, bucket, buildAssetsPrefix(buildId));
    const presentKeys = new Set(present.map((object) => object.key));
    await mapLimit(objects, context.concurrency ?? 8, async (object) => {
      const outcome = await ensureObject(
        client,
        bucket,
        object,
        presentKeys.has(object.key),
        context.dryRun ?? false,
      ).catch((error: unknown) => {
        throw new StageError(object.key, error);
      });
      if (outcome === 'skipped') skipped += 1;
      else {
        uploaded += 1;
        if (outcome === 'pending') pending.push(object.key);
        else bytes += object.body.length;
      }
      done += 1;
      progress();
    });
    if (context.dryRun) {
      done = total;
      progress('dry run');
      return finish(true, 'would write');
    }

    const prefix = buildAssetsPrefix(buildId);
    const manifestObject = publishedBuildObject(buildId, objects, (context.now ?? (() => new Date()))());
    const rounds = context.settleRounds ?? 5;
    const putManifest = async () => {
      stage = manifestObject.key;
      await ensureObject(client, bucket, manifestObject, false, false);
      manifestWritten = true;
    };
    const putBack = async () => {
      const count = await putBackMissing(context);
      if (count > 0)
        context.log?.(
          `${region}: put back ${count} object(s) of ${buildId} that went missing meanwhile (a cleanup ` +
            `deleting this build?)`,
        );
      restored += count;
      return count;
    };
    const waitForCleanups = async () => {
      try {
        await waitWhileCleanupsRun(context);
      } catch (error) {
        // A cleanup that died may have deleted objects under our manifest: leave them whole anyway.
        if (manifestWritten) await putBack().catch(() => 0);
        throw error;
      }
    };

    // Before the manifest too: a build being deleted should not look present, even for a moment.
    stage = `verifying ${prefix}`;
    await waitForCleanups();
    await putBack();
    progress('manifest');
    await putManifest();
    for (let round = 1; ; round += 1) {
      stage = `checking ${prefix} after the manifest`;
      await waitForCleanups();
      const putBackNow = await putBack();
      const stands = await manifestStands(client, bucket, manifestObject);
      if (putBackNow === 0 && stands) break;
      if (round >= rounds) {
        throw new StageError(
          stage,
          new Error(
            `build ${buildId} was still changing after ${rounds} rounds (objects or manifest removed while ` +
              `uploading); is a cleanup running? Run the upload again.`,
          ),
        );
      }
      if (!stands) await putManifest();
    }
    done = total;
    progress('done');
    return finish(true, 'written');
  } catch (error) {
    progress('failed');
    const failure = error instanceof StageError ? error : new StageError(stage, error);
    return finish(false, manifestWritten ? 'written' : 'not written', failure.message);
  }
}

/** Lists the build's objects and puts back each one missing or changed; returns how many it wrote. */
async function putBackMissing(context: RegionContext): Promise<number> {
  const { client, bucket, objects, buildId } = context;
  const listed = await listObjects(client, bucket, buildAssetsPrefix(buildId));
  const wrong = objectsNotStored(objects, listed);
  const outcomes = await mapLimit(wrong, context.concurrency ?? 8, (object) =>
    ensureObject(client, bucket, object, true, false).catch((error: unknown) => {
      throw new StageError(object.key, error);
    }),
  );
  return outcomes.filter((outcome) => outcome === 'uploaded').length;
}

/** Waits while any cleanup of this build has its marker in the bucket; throws once it waited too long. */
async function waitWhileCleanupsRun(context: RegionContext): Promise<void> {
  const { client, bucket, region, buildId } = context;
  const { timeoutMs, pollMs } = context.cleanupWait ?? { timeoutMs: 120_000, pollMs: 2_000 };
  const prefix = cleanupMarkerPrefix(buildId);
  const started = Date.now();
  for (let first = true; ; first = false) {
    const markers = await listObjects(client, bucket, prefix);
    if (markers.length === 0) return;
    const what = markers.map((marker) => `${marker.key}, written ${marker.lastModified.toISOString()}`).join('; ');
    if (first) context.log?.(`${region}: a cleanup is deleting build ${buildId} (${what}); waiting for it to end`);
    if (Date.now() - started >= timeoutMs) {
      throw new CleanupRunningError(
        `a cleanup of build ${buildId} is running in ${bucket}, or died: ${what}; waited ` +
          `${Math.round(timeoutMs / 1000)} s. If no cleanup is running, delete ` +
          `${markers.length === 1 ? 'that key' : 'those keys'} and run the upload again.`,
      );
    }
    await sleep(pollMs);
  }
}

class CleanupRunningError extends Error {
  override readonly name = 'CleanupRunning';
}

/**
 * Is a manifest of this build, listing exactly these objects, in the bucket? Another upload of the
 * same build may have written its own since (another uploadedAt): that one does as well as ours.
 */
async function manifestStands(client: S3Client, bucket: string, manifestObject: BuildObject): Promise<boolean> {
  const text = await getObjectText(client, bucket, manifestObject.key);
  if (text === null) return false;
  try {
    const stored = parsePublishedBuild(text);
    const ours = parsePublishedBuild(manifestObject.body.toString('utf8'));
    return stored.buildId === ours.buildId && JSON.stringify(stored.objects) === JSON.stringify(ours.objects);
  } catch {
    return false;
  }
}

/** What failed where: `assets/<id>/x.js: SlowDown: Please reduce your request rate`. */
class StageError extends Error {
  constructor(stage: string, cause: unknown) {
    super(`${stage}: ${describeError(cause)}`, { cause });
  }
}

/** Writes of one object whose read-back keeps differing before the upload gives up on it. */
const WRITES_PER_OBJECT = 3;

/**
 * Makes one object right in one bucket. `mayExist`: the listing saw the key, so read its metadata
 * first and skip it when it already matches. Each request is retried by the SDK; what it cannot
 * see is a PUT that succeeded but reads back wrong, so that one is written again here.
 */
async function ensureObject(
  client: S3Client,
  bucket: string,
  object: BuildObject,
  mayExist: boolean,
  dryRun: boolean,
): Promise<'skipped' | 'uploaded' | 'pending'> {
  if (mayExist) {
    const head = await headObject(client, bucket, object.key);
    if (head && mismatches(head, object).length === 0) return 'skipped';
  }
  if (dryRun) return 'pending';
  for (let write = 1; ; write += 1) {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: object.body,
        ContentLength: object.body.length,
        ContentType: object.metadata.contentType,
        ContentEncoding: object.metadata.contentEncoding,
        CacheControl: object.metadata.cacheControl,
        // S3 recomputes this over the bytes it receives and refuses the PUT (BadDigest) on a mismatch.
        ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64'),
        // SSE-S3: CloudFront's origin access identity cannot read SSE-KMS objects.
        ServerSideEncryption: 'AES256',
        Metadata: { sha256: object.sha256 },
      }),
    );
    const head = await headObject(client, bucket, object.key);
    const problems = head ? mismatches(head, object) : ['missing right after the PUT'];
    if (problems.length === 0) return 'uploaded';
    if (write >= WRITES_PER_OBJECT) throw new Error(`read back wrong after ${write} writes: ${problems.join(', ')}`);
  }
}

/** How a stored object differs from what it must be; empty when it matches. */
export function mismatches(head: HeadObjectCommandOutput, object: BuildObject): string[] {
  const problems: string[] = [];
  if (head.ContentLength !== object.body.length)
    problems.push(`size ${head.ContentLength} instead of ${object.body.length}`);
  if (head.Metadata?.sha256 !== object.sha256) problems.push(`sha256 metadata ${head.Metadata?.sha256 ?? 'missing'}`);
  // A single-part PUT without SSE-KMS has the MD5 of its bytes as ETag (S3 and s3rver alike).
  const etag = (head.ETag ?? '').replace(/"/g, '');
  if (/^[0-9a-f]{32}$/.test(etag) && etag !== object.md5) problems.push(`ETag ${etag} is not the MD5 of the file`);
  const checksum = Buffer.from(object.sha256, 'hex').toString('base64');
  if (head.ChecksumSHA256 !== undefined && !head.ChecksumSHA256.includes('-') && head.ChecksumSHA256 !== checksum)
    problems.push('SHA-256 checksum differs');
  if (head.ContentType !== object.metadata.contentType) problems.push(`Content-Type ${head.ContentType ?? 'missing'}`);
  if ((head.ContentEncoding || undefined) !== object.metadata.contentEncoding)
    problems.push(`Content-Encoding ${head.ContentEncoding || 'missing'}`);
  if (head.CacheControl !== object.metadata.cacheControl)
    problems.push(`Cache-Control ${head.CacheControl ?? 'missing'}`);
  if (head.ServerSideEncryption !== undefined && head.ServerSideEncryption !== 'AES256')
    problems.push(`encrypted with ${head.ServerSideEncryption}, not SSE-S3`);
  return problems;
}

/** The objects a listing shows missing, or at another size or MD5. */
function objectsNotStored(objects: readonly BuildObject[], listed: readonly ListedObject[]): BuildObject[] {
  const stored = new Map(listed.map((object) => [object.key, object]));
  return objects.filter((object) => {
    const found = stored.get(object.key);
    return (
      !found || found.size !== object.body.length || (/^[0-9a-f]{32}$/.test(found.etag) && found.etag !== object.md5)
    );
  });
}

export function publishedBuildObject(buildId: string, objects: readonly BuildObject[], uploadedAt: Date): BuildObject {
  const published: PublishedBuild = {
    schema: 1,
    buildId,
    uploadedAt: uploadedAt.toISOString(),
    entry: `${buildAssetsPrefix(buildId)}index.js`,
    objects: objects.map((object) => ({ key: object.key, bytes: object.body.length, sha256: object.sha256 })),
  };
  const body = Buffer.from(formatPublishedBuild(published));
  const key = publishedBuildKey(buildId);
  return {
    key,
    body,
    sha256: createHash('sha256').update(body).digest('hex'),
    md5: createHash('md5').update(body).digest('hex'),
    metadata: objectMetadata(key),
  };
}

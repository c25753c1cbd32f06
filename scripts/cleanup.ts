/**
 * `npm run cleanup -- [--apply] [--regions a,b] [--endpoint <url>] [--config <file>]`: deletes
 * builds nobody can be served any more, in every region (`--help` for options and examples).
 *
 * A build is deleted only when all of these hold:
 *   - it is neither the stable nor the canary build of the entry router's alias `live` (read
 *     first; if it cannot be read, nothing is deleted, since nothing can be proven retired);
 *   - it is not among the `retention.keepBuilds` newest other builds, by manifest upload time;
 *   - its newest upload (manifest or object, any region) is older than `retention.graceDays`;
 *   - every manifest of it could be read (an unreadable one says nothing about its age).
 * Objects under assets/<id>/ with no manifest anywhere (an upload that died) go by the same rules,
 * aged by their newest object and never younger than an hour (an upload may be running).
 *
 * In each region the manifest goes first, so the build stops counting as present before any of
 * its objects disappear; then its objects, in batches. Dry run by default: prints what would go and
 * why each kept build stays. `--apply` re-reads the alias and each manifest right before deleting.
 *
 * An upload of the same build may run meanwhile (a deploy of an old commit, to roll back). So each
 * build's deletion is bracketed by a marker, builds/<buildId>.cleanup/<run>, written before the
 * manifest is re-read and removed after the last delete: an upload waits while one is there, then
 * puts back what went missing (publish/upload.ts, "Why settle", has the whole argument). Hence
 * s3:PutObject on builds/*: without it the marker cannot be written and the build is kept.
 */
import { randomBytes } from 'node:crypto';
// The KeyValueStore API takes SigV4A only (the revoked builds' list); the signer registers itself when loaded.
import '@aws-sdk/signature-v4a';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { rolloutStoreClientConfig } from '../contracts/rollout-store';
import { listStoreItems } from '../rollout-control/revocations';
import { revocationsOf } from '../contracts/revocation';
import { parseRolloutState, ROLLOUT_STATE_KEY } from '../contracts/rollout-state';
import { rolloutStoreArnByName } from '../rollout-control/rollout-state-store';
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { resourceNames, type DeployConfig } from '../config';
import { readAliasBuilds, type AliasBuilds } from '../rollout-control/alias-state';
import {
  configOption,
  defineCommand,
  endpointOption,
  regionsOption,
  ReportedFailure,
  runCommand,
  selectRegions,
  jsonOption,
  withJsonErrors,
} from './lib/cli';
import { commandContext } from './lib/command-context';
import {
  ASSETS_PREFIX,
  BUILDS_PREFIX,
  buildAssetsPrefix,
  buildIdOfAssetKey,
  buildIdOfManifestKey,
  parsePublishedBuild,
  publishedBuildKey,
  cleanupMarkerPrefix,
} from '../contracts/bucket-layout';
import { mapLimit } from '../publish/concurrency';
import { credentialsProblem } from '../rollout-control/credentials';
import { formatBytes } from './lib/progress';
import {
  createS3Client,
  deleteObjects,
  describeError,
  getObjectText,
  headObject,
  listObjects,
  type RetryPolicy,
} from '../rollout-control/s3';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Objects without a manifest younger than this may belong to an upload still running. */
export const UPLOAD_IN_PROGRESS_MS = 60 * 60 * 1000;

export interface CleanupOptions {
  readonly config: DeployConfig;
  /** @default every region of the config */
  readonly regions?: readonly string[] | string;
  /** An S3-compatible endpoint serving every region's bucket, path-style. @default AWS */
  readonly endpoint?: string;
  /** @default createS3Client for the region (and endpoint), with `retry`, logging each retry */
  readonly clientFor?: (region: string) => S3Client;
  /** Reads the alias `live`. @default readAliasBuilds with a Lambda client in us-east-1 */
  readonly readLive?: () => Promise<AliasBuilds>;
  /**
   * What the rollout store says of builds: the revoked ones (`rollout revoke`), which go first,
   * whatever their age, and those its previews name (`rollout preview`), kept while a preview is
   * stored, expired or not (the next edit drops an expired one, and it may be added again).
   * @default one ListKeys pass over the rollout store, found by name, in us-east-1
   */
  readonly readStore?: () => Promise<StoreFacts>;
  /** Delete; otherwise only plan. @default false */
  readonly apply?: boolean;
  /** @default the current time */
  readonly now?: Date;
  /** How the S3 clients retry (the SDK's retry strategy). @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** @default nothing */
  readonly log?: (line: string) => void;
}

export type ManifestState = { readonly uploadedAt: Date } | { readonly error: string };

export interface RegionInventory {
  readonly region: string;
  readonly bucket: string;
  /** builds/<id>.json by buildId. */
  readonly manifests: ReadonlyMap<string, ManifestState>;
  /** What lies under assets/<id>/, by buildId. */
  readonly assets: ReadonlyMap<string, { readonly objects: number; readonly bytes: number; readonly newest: Date }>;
}

export interface CleanupPolicy {
  readonly keepBuilds: number;
  readonly graceDays: number;
  readonly now: Date;
  /** Builds revoked (`rollout revoke`): deleted first, whatever their age, unless live. @default none */
  readonly revoked?: ReadonlySet<string>;
  /** Builds a stored preview shows (`rollout preview`): kept, unless revoked. @default none */
  readonly previewed?: ReadonlySet<string>;
}

/** What the rollout store says of builds, for cleanup. */
export interface StoreFacts {
  readonly revoked: readonly string[];
  readonly previewed: readonly string[];
}

export interface BuildVerdict {
  readonly buildId: string;
  readonly action: 'keep' | 'delete';
  readonly reason: string;
  /** Newest readable manifest upload time, in any region. */
  readonly uploadedAt: Date | null;
  readonly regions: readonly {
    readonly region: string;
    readonly manifest: boolean;
    readonly objects: number;
    readonly bytes: number;
  }[];
}

export interface CleanupPlan {
  /** Newest first. */
  readonly verdicts: readonly BuildVerdict[];
  readonly warnings: readonly string[];
}

export interface RegionDeletion {
  readonly region: string;
  readonly bucket: string;
  readonly builds: number;
  readonly objects: number;
  readonly skipped: readonly string[];
  readonly error?: string;
}

export interface CleanupResult {
  readonly live: AliasBuilds;
  readonly plan: CleanupPlan;
  /** Empty in a dry run. */
  readonly deletions: readonly RegionDeletion[];
  readonly ok: boolean;
}

/** Pure: which builds go, which stay, and why. */
export function planCleanup(
  inventories: readonly RegionInventory[],
  live: AliasBuilds,
  policy: CleanupPolicy,
): CleanupPlan {
  const warnings: string[] = [];
  const ids = new Set(inventories.flatMap((inventory) => [...inventory.manifests.keys(), ...inventory.assets.keys()]));
  const facts = [...ids].map((buildId) => {
    const regions = inventories
      .filter((inventory) => inventory.manifests.has(buildId) || inventory.assets.has(buildId))
      .map((inventory) => ({
        region: inventory.region,
        manifest: inventory.manifests.has(buildId),
        objects: inventory.assets.get(buildId)?.objects ?? 0,
        bytes: inventory.assets.get(buildId)?.bytes ?? 0,
      }));
    const states = inventories.flatMap((inventory) => {
      const state = inventory.manifests.get(buildId);
      return state ? [{ region: inventory.region, state }] : [];
    });
    const unreadable = states.find((entry) => 'error' in entry.state);
    const uploads = states.flatMap((entry) => ('uploadedAt' in entry.state ? [entry.state.uploadedAt.getTime()] : []));
    const uploadedAt = uploads.length > 0 ? new Date(Math.max(...uploads)) : null;
    const newestObject = Math.max(
      0,
      ...inventories.map((inventory) => inventory.assets.get(buildId)?.newest.getTime() ?? 0),
    );
    return { buildId, regions, unreadable, uploadedAt, lastWrite: Math.max(uploadedAt?.getTime() ?? 0, newestObject) };
  });

  const liveIds = new Set([live.stable.buildId, ...(live.canary ? [live.canary.buildId] : [])]);
  const revoked = policy.revoked ?? new Set<string>();
  const ranked = facts
    .filter(
      (fact) =>
        fact.uploadedAt !== null && !fact.unreadable && !liveIds.has(fact.buildId) && !revoked.has(fact.buildId),
    )
    .sort((a, b) => b.uploadedAt!.getTime() - a.uploadedAt!.getTime() || (a.buildId < b.buildId ? -1 : 1));
  const rank = new Map(ranked.map((fact, index) => [fact.buildId, index + 1]));
  const graceMs = policy.graceDays * DAY_MS;
  const age = (time: number) => describeAge(policy.now.getTime() - time);

  const verdicts = facts.map((fact): BuildVerdict => {
    const keep = (reason: string): BuildVerdict => ({
      buildId: fact.buildId,
      action: 'keep',
      reason,
      uploadedAt: fact.uploadedAt,
      regions: fact.regions,
    });
    const remove = (reason: string): BuildVerdict => ({
      buildId: fact.buildId,
      action: 'delete',
      reason,
      uploadedAt: fact.uploadedAt,
      regions: fact.regions,
    });
    if (fact.buildId === live.stable.buildId)
      return keep(`stable (version ${live.stable.version} of the entry router)`);
    if (live.canary && fact.buildId === live.canary.buildId)
      return keep(`canary (version ${live.canary.version}, ${(live.canary.weight / 100).toFixed(2)}% of viewers)`);
    // Gone for good (every edge answers 410 for it): nothing to keep it for, whatever its age.
    if (revoked.has(fact.buildId)) return remove('revoked: never served again');
    // Its previewers load it on every host page until the preview ends.
    if (policy.previewed?.has(fact.buildId)) return keep('previewed (rollout preview)');
    if (fact.unreadable)
      return keep(
        `manifest in ${fact.unreadable.region} unreadable ` +
          `(${(fact.unreadable.state as { error: string }).error}); cannot tell its age`,
      );
    const position = rank.get(fact.buildId);
    if (position !== undefined && position <= policy.keepBuilds)
      return keep(`among the ${policy.keepBuilds} newest retired builds (#${position})`);
    const sinceWrite = policy.now.getTime() - fact.lastWrite;
    if (fact.uploadedAt === null) {
      const grace = Math.max(graceMs, UPLOAD_IN_PROGRESS_MS);
      if (sinceWrite < grace)
        return keep(
          `incomplete upload (no manifest), last written ${age(fact.lastWrite)} ago: within the grace period`,
        );
      return remove(`incomplete upload: no manifest in any region, last written ${age(fact.lastWrite)} ago`);
    }
    if (sinceWrite < graceMs)
      return keep(
        `retired, but last uploaded ${age(fact.lastWrite)} ago: within the ${policy.graceDays}-day grace period`,
      );
    return remove(
      `retired: not live, #${position} newest (keeping ${policy.keepBuilds}), last uploaded ${age(fact.lastWrite)} ago`,
    );
  });

  for (const id of liveIds) {
    const role = id === live.stable.buildId ? 'stable' : 'canary';
    for (const inventory of inventories) {
      if (!inventory.manifests.has(id)) {
        warnings.push(
          `${role} build ${id} has no manifest in ${inventory.region} (${inventory.bucket}): viewers sent ` +
            `there may get errors; run \`npm run upload\` for that build.`,
        );
      }
    }
  }
  const order = (verdict: BuildVerdict) =>
    Math.max(verdict.uploadedAt?.getTime() ?? 0, facts.find((f) => f.buildId === verdict.buildId)!.lastWrite);
  verdicts.sort((a, b) => order(b) - order(a) || (a.buildId < b.buildId ? -1 : 1));
  return { verdicts, warnings };
}

export async function cleanup(options: CleanupOptions): Promise<CleanupResult> {
  const names = resourceNames(options.config);
  const regions = selectRegions(options.config, options.regions);
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
  const readLive =
    options.readLive ??
    (() => readAliasBuilds(new LambdaClient({ region: 'us-east-1' }), names.entryRouter, names.liveAlias));

  const live = await readLiveOrRefuse(readLive, `${names.liveAlias} of ${names.entryRouter}`);
  const targets = regions.map((region) => ({ region, bucket: names.bucket(region), client: clientFor(region) }));
  const inventories = await Promise.all(
    targets.map(async (target) => {
      try {
        return await takeInventory(target.client, target.region, target.bucket);
      } catch (error) {
        throw new Error(
          `cannot list ${target.bucket} in ${target.region} (${describeError(error)}): refusing to delete ` +
            `anything without a full picture.`,
          { cause: error },
        );
      }
    }),
  );
  const readStore =
    options.readStore ??
    (async (): Promise<StoreFacts> => {
      const arn = await rolloutStoreArnByName(new CloudFrontClient({ region: 'us-east-1' }), names.rolloutStore);
      const items = await listStoreItems(new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()), arn);
      const state = parseRolloutState(items.find((item) => item.key === ROLLOUT_STATE_KEY)?.value);
      // A state that cannot be read names no preview it could be sure of: refuse rather than guess.
      if (state === null) throw new Error(`the rollout store ${names.rolloutStore} holds no valid rollout state`);
      return {
        revoked: revocationsOf(items).map((revocation) => revocation.buildId),
        previewed: (state.previews ?? []).map((preview) => preview.build),
      };
    });
  // Unknown revocations cost nothing but order: a revoked build is refused everywhere whether or not it is
  // deleted. Unknown previews could cost a previewer the build: then nothing is deleted.
  let store: StoreFacts | null = null;
  let storeUnknown: string | null = null;
  try {
    store = await readStore();
  } catch (error) {
    storeUnknown = describeError(error);
  }
  const revokedIds = new Set(store?.revoked ?? []);
  const planned = planCleanup(inventories, live, {
    keepBuilds: options.config.retention.keepBuilds,
    graceDays: options.config.retention.graceDays,
    now: options.now ?? new Date(),
    revoked: revokedIds,
    previewed: new Set(store?.previewed ?? []),
  });
  const plan =
    storeUnknown === null
      ? planned
      : {
          ...planned,
          warnings: [
            ...planned.warnings,
            `cannot read the rollout store (${storeUnknown}): which builds are revoked or previewed is unknown, ` +
              'so nothing is deleted',
          ],
        };
  if (options.apply && storeUnknown !== null)
    throw new Error(
      `cannot read the rollout store (${storeUnknown}): a build a preview shows could be deleted; refusing to ` +
        'delete anything.',
    );
  // Revoked builds first: an interrupted run has at least removed those.
  const doomed = plan.verdicts
    .filter((verdict) => verdict.action === 'delete')
    .sort((a, b) => Number(revokedIds.has(b.buildId)) - Number(revokedIds.has(a.buildId)));
  if (!options.apply || doomed.length === 0) return { live, plan, deletions: [], ok: true };

  // The alias may have moved while we listed (a deploy or a rollback): then the plan is stale.
  const again = await readLiveOrRefuse(readLive, `${names.liveAlias} of ${names.entryRouter}`);
  if (again.stable.buildId !== live.stable.buildId || again.canary?.buildId !== live.canary?.buildId) {
    throw new Error(
      `alias ${names.liveAlias} changed while planning (stable ${live.stable.buildId} → ` +
        `${again.stable.buildId}); nothing deleted, run the cleanup again.`,
    );
  }
  const run = `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
  const deletions = await Promise.all(
    targets.map(async ({ region, bucket, client }) => {
      const inventory = inventories.find((i) => i.region === region)!;
      const here = doomed.filter(
        (verdict) => inventory.manifests.has(verdict.buildId) || inventory.assets.has(verdict.buildId),
      );
      let builds = 0;
      let objects = 0;
      const skipped: string[] = [];
      for (const verdict of here) {
        try {
          const outcome = await deleteBuild({
            client,
            bucket,
            run,
            buildId: verdict.buildId,
            planned: inventory.manifests.get(verdict.buildId),
          });
          objects += outcome.objects;
          if (outcome.kept) {
            skipped.push(`${verdict.buildId} (${outcome.kept})`);
            continue;
          }
          builds += 1;
          options.log?.(`${region}: deleted ${verdict.buildId} (${outcome.objects} objects)`);
        } catch (error) {
          return { region, bucket, builds, objects, skipped, error: `${verdict.buildId}: ${describeError(error)}` };
        }
      }
      return { region, bucket, builds, objects, skipped };
    }),
  );
  return { live, plan, deletions, ok: deletions.every((deletion) => deletion.error === undefined) };
}

interface BuildDeletion {
  readonly client: S3Client;
  readonly bucket: string;
  /** This cleanup run's name, the last part of its markers. */
  readonly run: string;
  readonly buildId: string;
  /** The manifest as the inventory saw it; undefined when there was none. */
  readonly planned: ManifestState | undefined;
}

/**
 * Deletes one build in one bucket, between writing its marker and removing it. `kept` says why
 * the build (or what an upload put back meanwhile) stays; `objects` counts what was deleted anyway.
 */
async function deleteBuild({
  client,
  bucket,
  run,
  buildId,
  planned,
}: BuildDeletion): Promise<{ objects: number; kept?: string }> {
  const key = publishedBuildKey(buildId);
  const marker = `${cleanupMarkerPrefix(buildId)}${run}`;
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: marker,
        Body: `${JSON.stringify({
          buildId,
          startedAt: new Date().toISOString(),
          host: hostname(),
          pid: process.pid,
        })}\n`,
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
      }),
    );
  } catch (error) {
    throw new Error(
      `cannot write ${marker} (${describeError(error)}): deleted nothing of it, since an upload of the same ` +
        `build could not be told to wait; cleanup needs s3:PutObject on ${BUILDS_PREFIX}* as well.`,
      { cause: error },
    );
  }
  let outcome: { objects: number; kept?: string } | undefined;
  let failure: unknown;
  try {
    outcome = await deleteMarkedBuild({ client, bucket, buildId, planned, key });
  } catch (error) {
    failure = error;
  }
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: marker }));
  } catch (error) {
    // Until it goes, every upload of this build waits for it and then fails, naming it.
    const stuck = `cannot remove ${marker} (${describeError(error)}): delete it by hand`;
    throw new Error(failure === undefined ? stuck : `${describeError(failure)}; and ${stuck}`, {
      cause: failure ?? error,
    });
  }
  if (failure !== undefined) throw failure;
  return outcome!;
}

async function deleteMarkedBuild({
  client,
  bucket,
  buildId,
  planned,
  key,
}: Omit<BuildDeletion, 'run'> & { readonly key: string }): Promise<{ objects: number; kept?: string }> {
  // Read after the marker is written: an upload that wrote its manifest before then is seen here;
  // one that writes it later sees the marker and waits.
  const text = await getObjectText(client, bucket, key);
  if (
    text !== null &&
    (planned === undefined ||
      ('uploadedAt' in planned && parsePublishedBuild(text, buildId).uploadedAt !== planned.uploadedAt.toISOString()))
  ) {
    return { objects: 0, kept: 'uploaded again since the listing' };
  }
  if (text !== null) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  const keys = (await listObjects(client, bucket, buildAssetsPrefix(buildId))).map((o) => o.key);
  const objects = await deleteObjects(client, bucket, keys);
  // A manifest here now was written by an upload after ours was read, over objects just deleted.
  // Remove it again, so that none stands over missing objects even if that upload has died; a live
  // one is waiting for the marker, and puts back the objects and then the manifest once it is gone.
  if ((await headObject(client, bucket, key)) !== null) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return {
      objects,
      kept:
        'uploaded again while it was being deleted: that upload, if still running, puts it back once ' +
        'this cleanup is done',
    };
  }
  return { objects };
}

async function readLiveOrRefuse(readLive: () => Promise<AliasBuilds>, alias: string): Promise<AliasBuilds> {
  try {
    return await readLive();
  } catch (error) {
    const credentials = credentialsProblem(error);
    if (credentials) throw new Error(credentials, { cause: error });
    throw new Error(
      `cannot read alias ${alias} (${describeError(error)}): refusing to delete anything, since no build can ` +
        `be proven retired.`,
      { cause: error },
    );
  }
}

export async function takeInventory(client: S3Client, region: string, bucket: string): Promise<RegionInventory> {
  const [manifestObjects, assetObjects] = await Promise.all([
    listObjects(client, bucket, BUILDS_PREFIX),
    listObjects(client, bucket, ASSETS_PREFIX),
  ]);
  const assets = new Map<string, { objects: number; bytes: number; newest: Date }>();
  for (const object of assetObjects) {
    const buildId = buildIdOfAssetKey(object.key);
    if (!buildId) continue;
    const entry = assets.get(buildId) ?? { objects: 0, bytes: 0, newest: new Date(0) };
    // biome-ignore lint/complexity/useMathMinMax: these are Dates; Math.max would turn them into numbers
    assets.set(buildId, {
      objects: entry.objects + 1,
      bytes: entry.bytes + object.size,
      newest: object.lastModified > entry.newest ? object.lastModified : entry.newest,
    });
  }
  const manifestIds = manifestObjects.flatMap((object) => {
    const buildId = buildIdOfManifestKey(object.key);
    return buildId ? [buildId] : [];
  });
  const states = await mapLimit(manifestIds, 8, async (buildId): Promise<[string, ManifestState]> => {
    const key = publishedBuildKey(buildId);
    const text = await getObjectText(client, bucket, key);
    if (text === null) return [buildId, { error: 'vanished while listing' }];
    try {
      return [buildId, { uploadedAt: new Date(parsePublishedBuild(text, buildId).uploadedAt) }];
    } catch (error) {
      return [buildId, { error: (error as Error).message }];
    }
  });
  return { region, bucket, manifests: new Map(states), assets };
}

export function describeAge(ms: number): string {
  if (ms < 0) return 'in the future';
  if (ms < 2 * 60 * 60 * 1000) return `${Math.round(ms / 60000)} min`;
  if (ms < 2 * DAY_MS) return `${Math.round(ms / 3600000)} h`;
  return `${Math.floor(ms / DAY_MS)} days`;
}

export function formatPlan(result: CleanupResult, policy: { keepBuilds: number; graceDays: number }): string[] {
  const { live, plan } = result;
  const lines = [
    `alias live: stable ${live.stable.buildId} (version ${live.stable.version})${
      live.canary
        ? `, canary ${live.canary.buildId} (version ${live.canary.version}, ${(live.canary.weight / 100).toFixed(2)}%)`
        : ', no canary'
    }`,
    `policy: keep stable, canary and the ${policy.keepBuilds} newest other builds; delete the rest once older ` +
      `than ${policy.graceDays} days`,
  ];
  for (const verdict of plan.verdicts) {
    const date = verdict.uploadedAt
      ? verdict.uploadedAt.toISOString().slice(0, 16).replace('T', ' ')
      : 'no manifest     ';
    const where = verdict.regions
      .map((r) => `${r.region}${r.manifest ? '' : ' (no manifest)'}: ${r.objects} objects`)
      .join(', ');
    lines.push(
      `  ${verdict.action.padEnd(6)}  ${verdict.buildId}  ${date}  ` +
        `${verdict.reason}${verdict.action === 'delete' ? `  [${where}]` : ''}`,
    );
  }
  if (plan.verdicts.length === 0) lines.push('  no builds in the buckets');
  return lines;
}

interface CleanupFlags {
  readonly config?: string;
  readonly regions?: readonly string[];
  readonly endpoint?: string;
  readonly apply: boolean;
  readonly json: boolean;
}

/**
 * What `--json` prints: the plan by build (as the text lists it) and by region, what it deletes in all, and what
 * applying it did.
 */
function cleanupReport(
  result: CleanupResult,
  config: DeployConfig,
  regions: readonly string[],
  apply: boolean,
): Record<string, unknown> {
  const names = resourceNames(config);
  const doomed = result.plan.verdicts.filter((verdict) => verdict.action === 'delete');
  const sum = (pick: (region: BuildVerdict['regions'][number]) => number) =>
    doomed.reduce((n, verdict) => n + verdict.regions.reduce((m, region) => m + pick(region), 0), 0);
  return {
    ok: result.ok,
    apply,
    live: result.live,
    policy: { keepBuilds: config.retention.keepBuilds, graceDays: config.retention.graceDays },
    builds: result.plan.verdicts.map((verdict) => ({
      ...verdict,
      uploadedAt: verdict.uploadedAt?.toISOString() ?? null,
    })),
    delete: { builds: doomed.length, objects: sum((region) => region.objects), bytes: sum((region) => region.bytes) },
    regions: regions.map((region) => {
      const here = result.plan.verdicts.flatMap((verdict) => {
        const found = verdict.regions.find((entry) => entry.region === region);
        return found
          ? [
              {
                buildId: verdict.buildId,
                action: verdict.action,
                reason: verdict.reason,
                manifest: found.manifest,
                objects: found.objects,
                bytes: found.bytes,
              },
            ]
          : [];
      });
      const deletion = result.deletions.find((entry) => entry.region === region);
      return {
        region,
        bucket: names.bucket(region),
        keep: here.filter((build) => build.action === 'keep').map(({ action: _, ...build }) => build),
        delete: here.filter((build) => build.action === 'delete').map(({ action: _, ...build }) => build),
        deleted:
          deletion === undefined
            ? null
            : {
                builds: deletion.builds,
                objects: deletion.objects,
                kept: deletion.skipped,
                ...(deletion.error === undefined ? {} : { error: deletion.error }),
              },
      };
    }),
    warnings: result.plan.warnings,
  };
}

export interface CleanupCliDeps {
  /** The clock the plan ages builds by. @default the current time */
  readonly now?: () => Date;
}

export function cleanupCommand(deps: CleanupCliDeps = {}): Command {
  return defineCommand({
    name: 'npm run cleanup --',
    summary:
      'Delete builds nobody can be served any more (not stable, not canary, not among retention.keepBuilds ' +
      'newest, older than retention.graceDays), in every region. Dry run unless --apply.',
    examples: [
      'npm run cleanup                       # what would go, and why each kept build stays',
      'npm run cleanup -- --apply            # delete them',
      'npm run cleanup -- --regions eu-west-1 --apply',
      'npm run cleanup -- --json             # the plan as one JSON object',
    ],
  })
    .addOption(configOption())
    .addOption(regionsOption())
    .addOption(endpointOption())
    .addOption(new Option('--apply', 'delete what the plan says; without it, only print the plan').default(false))
    .addOption(
      jsonOption(
        '{ok, apply, live {stable, canary}, policy {keepBuilds, graceDays}, builds: [{buildId, action ' +
          '(keep|delete), reason, uploadedAt, regions}] newest first, delete {builds, objects, bytes} (what goes, ' +
          'or would), regions: [{region, bucket, keep: [{buildId, reason, …}], delete: [{buildId, reason, ' +
          'objects, bytes, …}], deleted (what --apply did there: {builds, objects, kept, error}; null in a dry ' +
          'run or with nothing to delete)}], warnings}',
      ),
    )
    .action(async (flags: CleanupFlags, command: Command) => {
      const context = commandContext(command, flags);
      const { out, err } = context;
      const { apply } = flags;
      const { config, regions, result } = await withJsonErrors(flags.json, out, async () => {
        const { config, regions } = context;
        return {
          config,
          regions,
          result: await cleanup({
            config,
            regions,
            endpoint: flags.endpoint,
            clientFor: context.s3,
            apply,
            now: deps.now?.(),
            log: err,
          }),
        };
      });
      if (flags.json) {
        context.printJson(cleanupReport(result, config, regions, apply));
        for (const warning of result.plan.warnings) err(`warning: ${warning}`);
        if (result.ok) return;
        err(failureLine(result));
        throw new ReportedFailure();
      }
      for (const line of formatPlan(result, config.retention)) out(line);
      for (const warning of result.plan.warnings) err(`warning: ${warning}`);
      const doomed = result.plan.verdicts.filter((v) => v.action === 'delete');
      const objects = doomed.reduce((n, v) => n + v.regions.reduce((m, r) => m + r.objects, 0), 0);
      const bytes = doomed.reduce((n, v) => n + v.regions.reduce((m, r) => m + r.bytes, 0), 0);
      if (!apply) {
        out(
          doomed.length === 0
            ? 'nothing to delete.'
            : `dry run: would delete ${doomed.length} build(s), ${objects} objects (${formatBytes(bytes)}); run ` +
                `with --apply to delete them.`,
        );
        return;
      }
      for (const deletion of result.deletions) {
        const skipped = deletion.skipped.length > 0 ? `, kept ${deletion.skipped.join(', ')}` : '';
        out(
          `${deletion.region}  ${deletion.bucket}  deleted ${deletion.builds} build(s), ${deletion.objects} ` +
            `objects${skipped}${deletion.error ? '  FAILED (why: below)' : ''}`,
        );
      }
      if (!result.ok) {
        err(failureLine(result));
        throw new ReportedFailure();
      }
      if (doomed.length === 0) out('nothing to delete.');
    });
}

function failureLine(result: CleanupResult): string {
  const failed = result.deletions.filter((d) => d.error);
  return (
    `cleanup failed in ${failed.map((d) => `${d.region} (${d.error})`).join('; ')}. A build whose manifest is ` +
    `gone but whose objects remain is removed by the next cleanup.`
  );
}

if (require.main === module) runCommand(cleanupCommand());

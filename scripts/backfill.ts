/**
 * `npm run backfill`: copies into every replica bucket the builds another region holds and it
 * lacks, so a region added to the config has the stable build and every build cleanup retains
 * (the ones a rollback may go back to) before viewers are sent there.
 *
 *   npm run backfill -- [--from <region>] [--regions a,b] [--endpoint <url>] [--dry-run] [--config <file>]
 *   (`--help` for each option, its default, and examples)
 *
 * The source is the primary region's bucket (or --from): its manifests (`builds/<id>.json`) are the
 * builds to have everywhere. Each missing build is read object by object from the source, checked
 * against the source's manifest (sha256), and published into the regions that lack it by the
 * upload's own code (publish/upload.ts: every object verified, the manifest last, keeping the
 * source manifest's upload time so cleanup ranks the copy as it ranks the original).
 *
 * Until a region holds the builds viewers are assigned, its latency record does not answer: rollout
 * sync reports what it lacks, and the region's health check keeps it out (stacks/constructs/bucket-health.ts).
 * The deploy workflow runs this after the upload, before the delivery stack. Running it again
 * copies nothing that is already there.
 */
import { createHash } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { resourceNames, type DeployConfig } from '../config';
import {
  BUILDS_PREFIX,
  buildIdOfManifestKey,
  parsePublishedBuild,
  publishedBuildKey,
  type PublishedBuild,
} from '../contracts/bucket-layout';
import {
  configOption,
  defineCommand,
  endpointOption,
  regionsOption,
  ReportedFailure,
  runCommand,
  selectRegions,
  UsageError,
  jsonOption,
  withJsonErrors,
} from './lib/cli';
import { commandContext } from './lib/command-context';
import { objectMetadata } from '../contracts/object-metadata';
import { requireCredentials } from '../rollout-control/credentials';
import {
  createS3Client,
  describeError,
  getObjectText,
  headObject,
  listObjects,
  type RetryPolicy,
} from '../rollout-control/s3';
import { publishObjects, type BuildObject } from '../publish/upload';

export interface BackfillOptions {
  readonly config: DeployConfig;
  /** Region whose bucket holds the builds to copy. @default the primary region */
  readonly from?: string;
  /** Regions to fill. @default every configured region but the source */
  readonly regions?: readonly string[] | string;
  readonly endpoint?: string;
  /** @default createS3Client for the region (and endpoint), with `retry`, logging each retry */
  readonly clientFor?: (region: string) => S3Client;
  /** How the S3 clients retry (the SDK's retry strategy). @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** Report what would be copied; write nothing. @default false */
  readonly dryRun?: boolean;
  readonly log?: (line: string) => void;
}

export interface BackfilledBuild {
  readonly buildId: string;
  /** Regions it was copied into (or, in a dry run, would be). */
  readonly regions: readonly string[];
  readonly ok: boolean;
  readonly error?: string;
}

export interface BackfillResult {
  readonly from: string;
  /** Builds the source holds. */
  readonly builds: number;
  readonly copied: readonly BackfilledBuild[];
  readonly ok: boolean;
}

export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { config } = options;
  const names = resourceNames(config);
  const from = options.from ?? config.primaryRegion;
  if (!config.regions.includes(from))
    throw new UsageError(`--from ${from} is not among the configured regions (${config.regions.join(', ')}).`);
  const targets = selectRegions(config, options.regions).filter((region) => region !== from);
  const log = options.log ?? (() => undefined);
  const clients = new Map<string, S3Client>();
  // One client per region: each keeps its own retry budget and connections.
  const clientFor = (region: string): S3Client => {
    let client = clients.get(region);
    if (client === undefined) {
      client =
        options.clientFor?.(region) ??
        createS3Client({
          region,
          endpoint: options.endpoint,
          retry: options.retry,
          onRetry: (error, attempt, waited) =>
            log(`${region}: ${describeError(error)}; attempt ${attempt} after ${waited} ms`),
        });
      clients.set(region, client);
    }
    return client;
  };
  const source = clientFor(from);
  const sourceBucket = names.bucket(from);
  await requireCredentials(source);

  const manifests = (await listObjects(source, sourceBucket, BUILDS_PREFIX))
    .map((object) => buildIdOfManifestKey(object.key))
    .filter((id): id is string => id !== null);
  const copied: BackfilledBuild[] = [];
  for (const buildId of manifests.sort()) {
    const lacking: string[] = [];
    for (const region of targets) {
      if ((await headObject(clientFor(region), names.bucket(region), publishedBuildKey(buildId))) === null)
        lacking.push(region);
    }
    if (lacking.length === 0) continue;
    log(`${buildId}: missing from ${lacking.join(', ')}${options.dryRun ? '' : `; copying from ${from}`}`);
    if (options.dryRun) {
      copied.push({ buildId, regions: lacking, ok: true });
      continue;
    }
    try {
      const text = await getObjectText(source, sourceBucket, publishedBuildKey(buildId));
      if (text === null) throw new Error(`its manifest vanished from ${sourceBucket} (a cleanup ran meanwhile?)`);
      const published = parsePublishedBuild(text, buildId);
      const objects = await readBuild(source, sourceBucket, published);
      const result = await publishObjects({
        config,
        regions: lacking,
        endpoint: options.endpoint,
        clientFor,
        buildId,
        objects,
        now: () => new Date(published.uploadedAt),
        log,
      });
      const failed = result.regions.filter((region) => !region.ok);
      copied.push({
        buildId,
        regions: lacking,
        ok: failed.length === 0,
        ...(failed.length > 0 ? { error: failed.map((r) => `${r.region}: ${r.error ?? 'failed'}`).join('; ') } : {}),
      });
    } catch (error) {
      copied.push({ buildId, regions: lacking, ok: false, error: (error as Error).message });
    }
  }
  return { from, builds: manifests.length, copied, ok: copied.every((build) => build.ok) };
}

/** Every object the manifest lists, from the source bucket, each checked against its sha256. */
async function readBuild(client: S3Client, bucket: string, published: PublishedBuild): Promise<BuildObject[]> {
  const objects: BuildObject[] = [];
  for (const listed of published.objects) {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: listed.key }));
    const body = Buffer.from(await response.Body!.transformToByteArray());
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== listed.sha256)
      throw new Error(
        `${bucket}/${listed.key} has sha256 ${sha256}, its manifest says ${listed.sha256}: not copying a damaged build`,
      );
    objects.push({
      key: listed.key,
      body,
      sha256,
      md5: createHash('md5').update(body).digest('hex'),
      metadata: objectMetadata(listed.key),
    });
  }
  return objects;
}

interface BackfillFlags {
  readonly config?: string;
  readonly from?: string;
  readonly regions?: readonly string[];
  readonly endpoint?: string;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/**
 * What `--json` prints: the BackfillResult, and per region filled what was copied into it (or would be) and what
 * failed.
 */
function backfillReport(result: BackfillResult, targets: readonly string[], dryRun: boolean): Record<string, unknown> {
  return {
    ...result,
    dryRun,
    regions: targets.map((region) => {
      const here = result.copied.filter((build) => build.regions.includes(region));
      return {
        region,
        copied: here.filter((build) => build.ok).map((build) => build.buildId),
        failed: here
          .filter((build) => !build.ok)
          .map((build) => ({ buildId: build.buildId, error: build.error ?? 'failed' })),
      };
    }),
  };
}

export function backfillCommand(): Command {
  return defineCommand({
    name: 'npm run backfill --',
    summary:
      "Copy into every replica bucket the builds the source region's bucket holds and it lacks (a region added " +
      'to the config), each verified, manifest last. Copies nothing already there.',
    examples: [
      'npm run backfill',
      'npm run backfill -- --dry-run                         # which builds each region lacks',
      'npm run backfill -- --from eu-west-1 --regions ap-southeast-2',
      'npm run backfill -- --json                            # the result as one JSON object',
    ],
  })
    .addOption(configOption())
    .addOption(
      new Option(
        '--from <region>',
        "the region whose bucket holds the builds to copy (default: the config's primaryRegion)",
      ),
    )
    .addOption(
      regionsOption(
        "comma-separated regions to fill, each one of the config's (default: every configured region but the source)",
      ),
    )
    .addOption(endpointOption())
    .addOption(new Option('--dry-run', 'list what each region lacks; copy nothing').default(false))
    .addOption(
      jsonOption(
        '{ok, dryRun, from, builds (how many the source holds), copied: [{buildId, regions, ok, error}] (each ' +
          'build copied, or that would be), regions: [{region, copied: [buildId], failed: [{buildId, error}]}] ' +
          '(each region filled)}',
      ),
    )
    .action(async (flags: BackfillFlags, command: Command) => {
      const context = commandContext(command, flags);
      const { out, err } = context;
      const { result, targets } = await withJsonErrors(flags.json, out, async () => {
        const { config } = context;
        const result = await backfill({
          config,
          from: flags.from,
          regions: flags.regions,
          endpoint: flags.endpoint,
          clientFor: context.s3,
          dryRun: flags.dryRun,
          log: err,
        });
        return { result, targets: context.regions.filter((region) => region !== result.from) };
      });
      if (flags.json) context.printJson(backfillReport(result, targets, flags.dryRun));
      else {
        for (const build of result.copied)
          out(
            `${build.ok ? 'ok  ' : 'FAIL'}  ${build.buildId} → ` +
              `${build.regions.join(', ')}${build.error ? `: ${build.error}` : ''}`,
          );
        out(
          `${result.builds} build${result.builds === 1 ? '' : 's'} in ${result.from}; ` +
            `${
              result.copied.length === 0
                ? 'every region holds them all'
                : `${result.copied.filter((b) => b.ok).length} of ${result.copied.length} ` +
                  `${flags.dryRun ? 'would be copied' : 'copied'}`
            }`,
        );
      }
      if (!result.ok) throw new ReportedFailure();
    });
}

if (require.main === module) runCommand(backfillCommand());

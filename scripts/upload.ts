/**
 * `npm run upload`: the command, its progress board and its report; the upload itself is publish/upload.ts.
 */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { readManifest } from '../contracts/build-manifest';
import { publishedBuildKey } from '../contracts/published-build';
import { upload, type RegionUpload, type UploadResult } from '../publish/upload';
import { CONFIGURE_CREDENTIALS } from '../rollout-control/credentials';
import {
  buildOption,
  configOption,
  defineCommand,
  endpointOption,
  regionsOption,
  ReportedFailure,
  runCommand,
  wholeNumber,
  jsonOption,
  withJsonErrors,
} from './lib/cli';
import { commandContext, type CommandContext } from './lib/command-context';
import { formatBytes, formatDuration, ProgressBoard } from './lib/progress';

/** What to do about a region's failure, when the error says. */
function advice(error: string): string {
  if (/NoSuchBucket/.test(error)) return ' (deploy the replicas stack first)';
  if (/InvalidAccessKeyId|ExpiredToken|SignatureDoesNotMatch|CredentialsProviderError/.test(error))
    return ` (${CONFIGURE_CREDENTIALS})`;
  if (/AccessDenied/.test(error))
    return " (the credentials may not write the bucket: `npm run names -- --iam` prints the deploy role's policy)";
  return '';
}

/** The failed regions, those that failed alike on one line, and whether the build counts as present there. */
export function failureReport(result: UploadResult): string[] {
  const failed = result.regions.filter((region) => !region.ok);
  if (failed.length === 0) return [];
  const regionsByError = new Map<string, string[]>();
  for (const region of failed)
    regionsByError.set(region.error ?? 'failed', [
      ...(regionsByError.get(region.error ?? 'failed') ?? []),
      region.region,
    ]);
  const unpublished = failed.every((region) => region.manifest === 'not written');
  return [
    `upload failed in ${failed.length} of ${result.regions.length} regions:`,
    ...[...regionsByError].map(([error, regions]) => `  ${regions.join(', ')}: ${error}${advice(error)}`),
    `${
      unpublished
        ? 'No manifest was written there, so the build does not count as present'
        : 'The build could not be confirmed whole there'
    }; run the upload again once fixed (it skips what is there).`,
  ];
}

function summaryLine(result: RegionUpload, width: number, dryRun: boolean): string {
  const head = `${result.region.padEnd(width)}  ${result.bucket}`;
  if (!result.ok) return `${head}  FAILED after ${formatDuration(result.ms)} (why: below)`;
  const verb = dryRun ? 'would upload' : 'uploaded';
  const manifest = dryRun ? 'manifest would be written last' : 'manifest written';
  const putBack = result.restored > 0 ? `, put back ${result.restored} that went missing meanwhile` : '';
  return (
    `${head}  ${verb} ${result.uploaded}${dryRun ? '' : ` (${formatBytes(result.bytes)})`}, skipped ` +
    `${result.skipped}${putBack}, ${manifest}, ${formatDuration(result.ms)}`
  );
}

interface UploadFlags {
  readonly build: string;
  readonly config?: string;
  readonly regions?: readonly string[];
  readonly endpoint?: string;
  readonly concurrency: number;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/**
 * What `--json` prints: the UploadResult, with the dry run flag, the manifest key and, for a failed region, what to do
 * about it.
 */
function uploadReport(result: UploadResult, dryRun: boolean): Record<string, unknown> {
  const { regions, ...rest } = result;
  return {
    ...rest,
    dryRun,
    manifestKey: publishedBuildKey(result.buildId),
    regions: regions.map((region) => {
      const what = region.error === undefined ? '' : advice(region.error);
      return what === '' ? region : { ...region, advice: what.replace(/^ \((.*)\)$/, '$1') };
    }),
  };
}

export function uploadCommand(): Command {
  return defineCommand({
    name: 'npm run upload --',
    summary:
      "Upload the build (build/) to every replica bucket: objects first, each verified, then the build's " +
      'manifest, which makes it count as present. Skips what is already there.',
    examples: [
      'npm run upload',
      'npm run upload -- --dry-run                      # what would be written, writing nothing',
      'npm run upload -- --regions eu-west-1 --concurrency 16',
      "npm run upload -- --endpoint http://127.0.0.1:4568   # the local emulator's S3",
      'npm run upload -- --json                         # the result as one JSON object',
    ],
  })
    .addOption(buildOption())
    .addOption(configOption())
    .addOption(regionsOption())
    .addOption(endpointOption())
    .addOption(
      new Option('--concurrency <n>', 'objects in flight per region, a whole number from 1 to 64')
        .argParser(wholeNumber(1, 64))
        .default(8),
    )
    .addOption(new Option('--dry-run', 'list what would be uploaded; write nothing').default(false))
    .addOption(
      jsonOption(
        '{ok, dryRun, buildId, objects, totalBytes, manifestKey, regions: [{region, bucket, ok, uploaded, ' +
          'skipped, restored (put back), bytes, ms, manifest, pending (keys a --dry-run would upload), error and ' +
          'advice when failed}]}; no progress is shown',
      ),
    )
    .action(async (flags: UploadFlags, command: Command) => {
      // Bars are for a person watching; under --json the retries and notes still go to stderr.
      let board: ProgressBoard | null = null;
      const log = (line: string) => (board ? board.log(line) : context.err(line));
      const context: CommandContext = commandContext(command, flags, { log });
      const { out, err } = context;
      const result = await withJsonErrors(flags.json, out, async () => {
        const { config, regions } = context;
        const buildDir = path.resolve(flags.build);
        const manifest = readManifest(buildDir);
        const where = flags.endpoint ? ` at ${flags.endpoint}` : '';
        err(
          `${flags.dryRun ? 'dry run: ' : ''}upload build ${manifest.buildId} to ${regions.length} ` +
            `region${regions.length === 1 ? '' : 's'}${where}`,
        );

        board = flags.json ? null : new ProgressBoard({ lanes: regions });
        try {
          return await upload({
            config,
            buildDir,
            regions,
            endpoint: flags.endpoint,
            clientFor: context.s3,
            concurrency: flags.concurrency,
            dryRun: flags.dryRun,
            onProgress: (region, state) => board?.update(region, state),
            log,
          });
        } finally {
          board?.finish();
        }
      });

      if (flags.json) context.printJson(uploadReport(result, flags.dryRun));
      else {
        const width = Math.max(...result.regions.map((region) => region.region.length));
        out(
          `build ${result.buildId}: ${result.objects} objects (files and their compressed variants, ` +
            `${formatBytes(result.totalBytes)}), then its manifest ${publishedBuildKey(result.buildId)}`,
        );
        for (const region of result.regions) {
          out(summaryLine(region, width, flags.dryRun));
          if (flags.dryRun) for (const key of region.pending) out(`  would upload ${key}`);
        }
      }
      const report = failureReport(result);
      if (report.length === 0) return;
      for (const line of report) err(line);
      throw new ReportedFailure();
    });
}

if (require.main === module) runCommand(uploadCommand());

/**
 * `npm run build`: the command; the build itself is publish/build.ts.
 */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import type { BuildManifest } from '../contracts/build-manifest';
import { CLOUDFRONT_FUNCTION_MAX_BYTES } from '../edge-code/cloudfront-function';
import { build, type BuildOptions, type BuildResult } from '../publish/build';
import { configOption, defineCommand, runCommand, jsonOption, withJsonErrors } from './lib/cli';
import { commandContext } from './lib/command-context';

export interface BuildCliDeps {
  /** @default publish/build.ts build */
  readonly build?: (options: BuildOptions) => Promise<BuildResult>;
}

/** What `--json` prints: the build, as the text summary says it, from its manifest. */
function buildReport(result: Pick<BuildResult, 'outDir' | 'manifest'>): Record<string, unknown> {
  const { manifest } = result;
  const chunks = chunkAssets(manifest);
  return {
    ok: true,
    buildId: manifest.buildId,
    outDir: result.outDir,
    manifest: path.join(result.outDir, 'manifest.json'),
    entry: manifest.entry,
    chunks: {
      count: manifest.chunkCount,
      bytes: chunks.reduce((sum, c) => sum + c.bytes, 0),
      brotliBytes: chunks.reduce((sum, c) => sum + (c.variants.br?.bytes ?? c.bytes), 0),
    },
    functions: Object.fromEntries(
      Object.entries(manifest.functions).map(([name, fn]) => [
        name,
        { kind: fn.kind, zip: fn.zip, bytes: fn.bytes, sha256: fn.sha256 },
      ]),
    ),
    cloudFrontFunctions: Object.fromEntries(
      Object.entries(manifest.cloudFrontFunctions).map(([name, fn]) => [
        name,
        { file: fn.file, bytes: fn.bytes, sha256: fn.sha256, limitBytes: CLOUDFRONT_FUNCTION_MAX_BYTES },
      ]),
    ),
  };
}

function chunkAssets(manifest: BuildManifest): BuildManifest['assets'] {
  return manifest.assets.filter((asset) => asset.key.endsWith('.js') && asset.key !== manifest.entry.key);
}

export function buildCommand(deps: BuildCliDeps = {}): Command {
  return defineCommand({
    name: 'npm run build --',
    summary:
      'Build the widget (webpack) and every function bundle (esbuild) into one folder, manifest last. The same ' +
      'sources give the same buildId.',
    examples: [
      'npm run build',
      'npm run build -- --out /tmp/build',
      'DEPLOY_CONFIG=staging.config.json npm run build   # edge bundles get that config baked in',
      'npm run build -- --json                           # the build as one JSON object',
    ],
  })
    .addOption(configOption())
    .addOption(new Option('--out <dir>', 'where to write the build (default: build/)'))
    .addOption(
      jsonOption(
        '{ok, buildId, outDir, manifest (its path), entry {key, bytes, gzipBytes, brotliBytes, sha256}, chunks ' +
          '{count, bytes, brotliBytes}, functions {<name>: {kind, zip, bytes, sha256}}, cloudFrontFunctions ' +
          '{<name>: {file, bytes, sha256, limitBytes}}}',
      ),
    )
    .action(
      async (flags: { readonly config?: string; readonly out?: string; readonly json: boolean }, command: Command) => {
        const context = commandContext(command, flags);
        const { out } = context;
        const result = await withJsonErrors(flags.json, out, () =>
          (deps.build ?? build)({
            config: context.config,
            outDir: flags.out,
            log: flags.json ? undefined : out,
          }),
        );
        if (flags.json) {
          context.printJson(buildReport(result));
          return;
        }
        out(`output       ${path.relative(process.cwd(), result.outDir) || '.'}/`);
      },
    );
}

if (require.main === module) runCommand(buildCommand());

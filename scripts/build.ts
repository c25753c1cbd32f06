/**
 * `npm run build`: the command; the build itself is publish/build.ts.
 */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config';
import { build } from '../publish/build';
import { configOption, defineCommand, runCommand } from './lib/cli';

export function buildCommand(): Command {
  return defineCommand({
    name: 'npm run build --',
    summary: 'Build the widget (webpack) and every function bundle (esbuild) into one folder, manifest last. The same sources give the same buildId.',
    examples: ['npm run build', 'npm run build -- --out /tmp/build', 'DEPLOY_CONFIG=staging.config.json npm run build   # edge bundles get that config baked in'],
  })
    .addOption(configOption())
    .addOption(new Option('--out <dir>', 'where to write the build (default: build/)'))
    .action(async (flags: { readonly config?: string; readonly out?: string }) => {
      const config = loadConfig(flags.config);
      const result = await build({ config, outDir: flags.out, log: (line) => console.log(line) });
      console.log(`output       ${path.relative(process.cwd(), result.outDir) || '.'}/`);
    });
}

if (require.main === module) runCommand(buildCommand());

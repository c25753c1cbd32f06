/**
 * `npm run config-docs`: writes the files generated from the config schema (config/schema.ts),
 * the JSON Schema editors check deploy.config.json against and the configuration reference.
 * `--check` writes nothing and fails while a committed one differs, naming it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { CONFIG_DOCS_COMMAND, generatedConfigFiles } from '../config/reference';
import { defineCommand, ReportedFailure, runCommand } from './lib/cli';
import { commandContext } from './lib/command-context';

const PROJECT_ROOT = path.resolve(__dirname, '..');

interface ConfigDocsFlags {
  readonly check: boolean;
}

export interface ConfigDocsIo {
  /** The repository the files are written into or compared with. */
  readonly root: string;
  /** @default stdout */
  readonly log?: (line: string) => void;
  /** @default stderr */
  readonly error?: (line: string) => void;
}

export function configDocsCommand(io: ConfigDocsIo = { root: PROJECT_ROOT }): Command {
  return defineCommand({
    name: CONFIG_DOCS_COMMAND,
    summary:
      'Write the JSON Schema of deploy.config.json and docs/configuration.md from the config schema ' +
      '(config/schema.ts).',
    examples: [
      `${CONFIG_DOCS_COMMAND}`,
      `${CONFIG_DOCS_COMMAND} -- --check    # fail if a committed file is out of date (CI, tests)`,
    ],
  })
    .addOption(
      new Option(
        '--check',
        'write nothing; exit 1 naming each file that differs from what the schema generates',
      ).default(false),
    )
    .action((flags: ConfigDocsFlags, command: Command) => {
      const { out, err } = commandContext(command, {}, { out: io.log, err: io.error });
      const files = generatedConfigFiles();
      if (flags.check) {
        const stale = files
          .filter((file) => readIfPresent(path.join(io.root, file.path)) !== file.content)
          .map((file) => file.path);
        if (stale.length === 0) return out(`${files.map((file) => file.path).join(' and ')} match config/schema.ts.`);
        err(
          `Out of date with config/schema.ts: ${stale.join(', ')}. Run ${CONFIG_DOCS_COMMAND} and commit the result.`,
        );
        throw new ReportedFailure();
      }
      for (const file of files) {
        const target = path.join(io.root, file.path);
        const changed = readIfPresent(target) !== file.content;
        if (changed) {
          mkdirSync(path.dirname(target), { recursive: true });
          writeFileSync(target, file.content);
        }
        out(`${changed ? 'wrote    ' : 'unchanged'} ${file.path}`);
      }
    });
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

if (require.main === module) runCommand(configDocsCommand());

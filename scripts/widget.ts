/**
 * `npm run widget -- <command>`: every command of the project under one root, so one `--help`
 * lists them all. Each npm script (`npm run rollout`, `npm run build`, …) stays as a shortcut
 * to the same command, run by its own file.
 *
 * The benchmark (`npm run bench`) is not among them: it is a development tool, as `npm test` is,
 * and it measures these commands, so it sits above them.
 *
 * A command's module is loaded only when it runs (or when the root's help lists them): the build
 * loads webpack and esbuild, the rollout commands the AWS SDK, `start` the whole local mode, and
 * none of that should slow down another command.
 */
import type { Command } from 'commander';
import { defineCommand, exitCodeFor, invoke, UsageError, type CommandIo } from './lib/cli';

export interface CommandEntry {
  /** The subcommand's name under the root: `npm run widget -- <name>`. */
  readonly name: string;
  /** The npm script that runs the same command on its own (package.json). */
  readonly shortcut: string;
  /** The file that defines it, from the project root: the shortcut runs this file. */
  readonly file: string;
  readonly load: () => Promise<Command>;
}

/**
 * Every command, in the order `--help` lists them: the release path first, then the local mode, then the checks and
 * tools.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'build',
    shortcut: 'build',
    file: 'scripts/build.ts',
    load: async () => (await import('./build')).buildCommand(),
  },
  {
    name: 'upload',
    shortcut: 'upload',
    file: 'scripts/upload.ts',
    load: async () => (await import('./upload')).uploadCommand(),
  },
  {
    name: 'rollout',
    shortcut: 'rollout',
    file: 'scripts/rollout.ts',
    load: async () => (await import('./rollout')).rolloutMainCommand(),
  },
  {
    name: 'cleanup',
    shortcut: 'cleanup',
    file: 'scripts/cleanup.ts',
    load: async () => (await import('./cleanup')).cleanupCommand(),
  },
  {
    name: 'backfill',
    shortcut: 'backfill',
    file: 'scripts/backfill.ts',
    load: async () => (await import('./backfill')).backfillCommand(),
  },
  {
    name: 'start',
    shortcut: 'start',
    file: 'scripts/start.ts',
    load: async () => (await import('./start')).startCommand(),
  },
  {
    name: 'local-release',
    shortcut: 'local:release',
    file: 'scripts/local-release.ts',
    load: async () => (await import('./local-release')).localReleaseCommand(),
  },
  {
    name: 'verify-edge',
    shortcut: 'verify-edge',
    file: 'scripts/verify-edge.ts',
    load: async () => (await import('./verify-edge')).verifyEdgeCommand(),
  },
  {
    name: 'names',
    shortcut: 'names',
    file: 'scripts/names.ts',
    load: async () => (await import('./names')).namesCommand(),
  },
  { name: 'csp', shortcut: 'csp', file: 'scripts/csp.ts', load: async () => (await import('./csp')).cspCommand() },
  {
    name: 'drift',
    shortcut: 'drift',
    file: 'scripts/drift.ts',
    load: async () => (await import('./drift')).driftCommand(),
  },
  {
    name: 'check-backend',
    shortcut: 'check-backend',
    file: 'scripts/check-deploy-backend.ts',
    load: async () => (await import('./check-deploy-backend')).checkBackendCommand(),
  },
  {
    name: 'plan-comment',
    shortcut: 'plan-comment',
    file: 'scripts/plan-comment.ts',
    load: async () => (await import('./plan-comment')).planCommentCommand(),
  },
  {
    name: 'config-docs',
    shortcut: 'config-docs',
    file: 'scripts/config-docs.ts',
    load: async () => (await import('./config-docs')).configDocsCommand(),
  },
  {
    name: 's3-server',
    shortcut: 's3-server',
    file: 'scripts/s3-server.ts',
    load: async () => (await import('./s3-server')).s3ServerCommand(),
  },
  {
    name: 'dns-server',
    shortcut: 'dns-server',
    file: 'scripts/dns-server.ts',
    load: async () => (await import('./dns-server')).dnsServerCommand(),
  },
];

/**
 * The root: `npm run widget -- <command> [options]` runs that command (loading only it); with no
 * command, or `--help`, it lists every command with its summary.
 */
export async function widgetCommand(argv: readonly string[]): Promise<Command> {
  const asked = argv.find((arg) => !arg.startsWith('-'));
  const entry = COMMANDS.find((command) => command.name === asked);
  const root = defineCommand({
    name: 'npm run widget --',
    summary:
      'Build, publish and release the widget; run it locally; check what is deployed. Every command answers --help.',
    examples: ['npm run widget -- --help', 'npm run widget -- rollout status --json', 'npm run widget -- build --help'],
  });
  if (asked !== undefined && entry === undefined)
    throw new UsageError(
      `no command "${asked}"; the commands are: ${COMMANDS.map((command) => command.name).join(', ')}.`,
    );
  // Only the command asked for is loaded; the root's help loads them all, for their summaries.
  const loaded = entry ? [entry] : COMMANDS;
  for (const command of loaded) {
    const subcommand = await command.load();
    root.addCommand(subcommand.name(command.name));
  }
  return root;
}

/** Runs the root on `argv` (without node and script): the exit code. */
export async function runWidget(argv: readonly string[], io?: CommandIo): Promise<number> {
  let root: Command;
  try {
    root = await widgetCommand(argv);
  } catch (error) {
    return exitCodeFor(error, io ?? { error: (text) => process.stderr.write(text) });
  }
  return invoke(root, argv, io);
}

if (require.main === module) {
  void runWidget(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

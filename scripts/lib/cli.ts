/**
 * The one command-line layer every command stands on (commander underneath).
 *
 * - `--help` on every command and subcommand: usage, options with their defaults, and examples.
 * - Options are parsed into their types here, once: a number is a whole number or says why not, a
 *   duration carries its unit (`90s`, `10m`), a region list is checked against the config.
 * - Exit codes: 0 done, 1 failed (the command ran and something was wrong), 2 usage (the command
 *   line itself was wrong; nothing ran). Errors print as one message, never a stack trace for a
 *   user mistake.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { DeployConfig } from '../../config';

export const EXIT_DONE = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A command line that cannot be acted on: exit 2, with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command that ran and found something wrong, and has said so itself: exit 1, nothing more printed. */
export class ReportedFailure extends Error {
  override readonly name = 'ReportedFailure';
  constructor(readonly exitCode: number = EXIT_FAILED) {
    super('failed (reported above)');
  }
}

export interface CommandSpec {
  /** How it is run, e.g. `npm run upload --` (shown in usage and examples). */
  readonly name: string;
  readonly summary: string;
  /** Full lines, each a command someone would type, optionally with `  # what it does`. */
  readonly examples?: readonly string[];
}

/** A command with the shared behaviour: typed errors, exit codes, examples under --help. */
export function defineCommand(spec: CommandSpec): Command {
  const command = new Command(spec.name).description(spec.summary);
  return configure(command, spec.examples);
}

/** A subcommand of `parent` (e.g. `rollout start`), with the same behaviour as a command. */
export function defineSubcommand(parent: Command, name: string, spec: Omit<CommandSpec, 'name'>): Command {
  return configure(parent.command(name).description(spec.summary), spec.examples);
}

function configure(command: Command, examples: readonly string[] | undefined): Command {
  command.exitOverride().allowExcessArguments(false).showHelpAfterError('(run with --help for usage and examples)');
  if (examples !== undefined && examples.length > 0) command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`);
  return command;
}

/**
 * Parses `argv` (without node and script) and runs the action. Returns the exit code rather than
 * exiting, so tests run commands in process; `runCommand` is the one place that exits.
 */
export async function invoke(command: Command, argv: readonly string[], io: { readonly error: (text: string) => void } = { error: (text) => process.stderr.write(text) }): Promise<number> {
  try {
    await command.parseAsync([...argv], { from: 'user' });
    return EXIT_DONE;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

export function exitCodeFor(error: unknown, io: { readonly error: (text: string) => void }): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; to a user they are the command working.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return EXIT_DONE;
    return EXIT_USAGE; // commander has printed the message and the pointer to --help
  }
  if (error instanceof ReportedFailure) return error.exitCode;
  if (error instanceof UsageError) {
    io.error(`error: ${error.message}\n(run with --help for usage and examples)\n`);
    return EXIT_USAGE;
  }
  io.error(`${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_FAILED;
}

/** The entry point of a script: runs the command on process.argv and exits with its code. */
export function runCommand(command: Command): void {
  void invoke(command, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

// ---- option parsers: each turns the text into its type or throws what the user should type ----

/** A whole number within [min, max]. */
export function wholeNumber(min = 0, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidArgumentError(`expected a whole number${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}, got ${JSON.stringify(text)}.`);
    return value;
  };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `90s`, `10m`, `1.5h` → milliseconds. A bare number is refused: say the unit. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) throw new InvalidArgumentError(`expected a duration with its unit (500ms, 90s, 10m, 1h), got ${JSON.stringify(text)}.`);
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2]];
  if (!Number.isFinite(ms) || ms > 7 * 24 * 3_600_000) throw new InvalidArgumentError(`${JSON.stringify(text)} is longer than a week.`);
  return Math.round(ms);
}

/** Milliseconds → the shortest exact duration text (`90s`, `10m`); for defaults shown in --help. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) if (ms >= DURATION_UNITS_MS[unit] && ms % DURATION_UNITS_MS[unit] === 0) return `${ms / DURATION_UNITS_MS[unit]}${unit}`;
  return `${ms}ms`;
}

/** A comma-separated list, trimmed, without empties or repeats. */
export function commaList(text: string): readonly string[] {
  const list = [...new Set(text.split(',').map((item) => item.trim()).filter(Boolean))];
  if (list.length === 0) throw new InvalidArgumentError('expected a comma-separated list, got nothing.');
  return list;
}

/** An option whose value is one of `choices`, with the choices in --help and in the error. */
export function choiceOption(flags: string, description: string, choices: readonly string[]): Option {
  return new Option(flags, description).choices(choices);
}

/** The regions to work on: all configured ones, or the listed subset, each checked against the config. */
export function selectRegions(config: Pick<DeployConfig, 'regions'>, requested: readonly string[] | string | undefined): readonly string[] {
  if (requested === undefined) return config.regions;
  const list = typeof requested === 'string' ? requested.split(',').map((region) => region.trim()).filter(Boolean) : requested;
  if (list.length === 0) throw new UsageError(`--regions is empty; name some of the configured regions: ${config.regions.join(', ')}.`);
  const unknown = list.filter((region) => !config.regions.includes(region));
  if (unknown.length > 0) throw new UsageError(`${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not among the configured regions (${config.regions.join(', ')}).`);
  return [...new Set(list)];
}

/** @deprecated the pre-commander entry point; every command moves to defineCommand + runCommand. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.exitCode = exitCodeFor(error, { error: (text) => process.stderr.write(text) });
  });
}

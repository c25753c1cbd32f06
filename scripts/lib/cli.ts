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
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { DeployConfig } from '../../config';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

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

export interface SubcommandSpec extends Omit<CommandSpec, 'name'> {
  /** Runs when the parent is given no subcommand (`rollout ring` lists the ring). @default false */
  readonly isDefault?: boolean;
}

/** A command with the shared behaviour: typed errors, exit codes, examples under --help. */
export function defineCommand(spec: CommandSpec): Command {
  const command = new Command(spec.name).description(spec.summary);
  return configure(command, spec.examples);
}

/** A subcommand of `parent` (e.g. `rollout start`), with the same behaviour as a command. */
export function defineSubcommand(parent: Command, name: string, spec: SubcommandSpec): Command {
  return configure(
    parent.command(name, { isDefault: spec.isDefault ?? false }).description(spec.summary),
    spec.examples,
  );
}

function configure(command: Command, examples: readonly string[] | undefined): Command {
  command.exitOverride().allowExcessArguments(false).showHelpAfterError('(run with --help for usage and examples)');
  const shown =
    examples !== undefined && examples.length > 0
      ? `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`
      : '';
  command.addHelpText('after', `${shown}\nExit codes: 0 done, 1 failed, 2 usage error.\n`);
  return command;
}

/** Where a command's own messages (help, usage errors) go. @default process.stdout and process.stderr */
export interface CommandIo {
  readonly out: (text: string) => void;
  readonly error: (text: string) => void;
}

const PROCESS_IO: CommandIo = {
  out: (text) => process.stdout.write(text),
  error: (text) => process.stderr.write(text),
};

/**
 * Parses `argv` (without node and script) and runs the action. Returns the exit code rather than
 * exiting, so tests run commands in process; `runCommand` is the one place that exits. Build a
 * fresh command per call: commander keeps the parsed option values on it.
 */
export async function invoke(command: Command, argv: readonly string[], io: CommandIo = PROCESS_IO): Promise<number> {
  routeOutput(command, io);
  try {
    await command.parseAsync([...argv], { from: 'user' });
    return EXIT_DONE;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

/** Subcommands copy their parent's output settings when created, so each one is told. */
function routeOutput(command: Command, io: CommandIo): void {
  command.configureOutput({ writeOut: io.out, writeErr: io.error, outputError: (text, write) => write(text) });
  for (const subcommand of command.commands) routeOutput(subcommand, io);
}

export function exitCodeFor(error: unknown, io: Pick<CommandIo, 'error'>): number {
  if (error instanceof CommanderError) {
    // --help is an "error" to commander; to a user it is the command working. Help shown because
    // no subcommand was named (exit code 1 to commander) is a command line to correct.
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.help' ||
      error.code === 'commander.version'
    )
      return error.exitCode === 0 ? EXIT_DONE : EXIT_USAGE;
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

/** The entry point of a script: runs the command on process.argv and sets the exit code. */
export function runCommand(command: Command): void {
  void invoke(command, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/**
 * The AWS SDK warns that its releases after early January 2027 need Node 22. The functions run on
 * nodejs22.x in AWS; on a developer's Node 20 the warning is noise in tools that only talk to
 * loopback servers or time code (npm start, the benchmark). The SDK's own switch silences that one
 * warning and nothing else; a switch already set by the user is kept.
 */
export function quietSdkNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

// ---- --json: one object on stdout, and nothing else there ----

/** `--json`, saying what the one object holds. */
export function jsonOption(shape: string): Option {
  return new Option(
    '--json',
    `print one JSON object on stdout and nothing else there: ${shape}; an error before any result: {"error": message}`,
  ).default(false);
}

/** What the command prints, a line at a time, through the output the command line layer routed (invoke's io). */
export function outputOf(command: Command): {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
} {
  const { writeOut, writeErr } = command.configureOutput();
  return {
    out: (line) => (writeOut ?? ((text: string) => process.stdout.write(text)))(`${line}\n`),
    err: (line) => (writeErr ?? ((text: string) => process.stderr.write(text)))(`${line}\n`),
  };
}

/**
 * Under --json, an error before any result is also printed as {"error": message}; it still ends the command as it would
 * without --json.
 */
export async function withJsonErrors<T>(
  json: boolean,
  out: (line: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (json && !(error instanceof ReportedFailure))
      out(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }, null, 2));
    throw error;
  }
}

// ---- option parsers: each turns the text into its type or throws what the user should type ----

/**
 * A whole number within [min, max], in plain digits: `1e1`, `0x8`, ` 8` or `8 objects` are refused, not read as some
 * number.
 */
export function wholeNumber(min = 0, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(
        `expected a whole ` +
          `number${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}, got ` +
          `${JSON.stringify(text)}.`,
      );
    return value;
  };
}

const DURATION_UNITS_MS: Readonly<Record<'ms' | 's' | 'm' | 'h' | 'd', number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 24 * 3_600_000,
};

/** `500ms`, `90s`, `10m`, `1.5h`, `2d` → milliseconds. A bare number is refused: say the unit. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (match === null)
    throw new InvalidArgumentError(
      `expected a duration with its unit (500ms, 90s, 10m, 1h, 1d), got ${JSON.stringify(text)}.`,
    );
  const [, amount, unit] = match as unknown as [string, string, keyof typeof DURATION_UNITS_MS];
  const ms = Number(amount) * DURATION_UNITS_MS[unit];
  if (!Number.isFinite(ms) || ms > 7 * 24 * 3_600_000)
    throw new InvalidArgumentError(`${JSON.stringify(text)} is longer than a week.`);
  return Math.round(ms);
}

/** A duration (as parseDuration) within [min, max] milliseconds, e.g. a poll interval that is neither 0 nor a day. */
export function durationWithin(minMs: number, maxMs: number): (text: string) => number {
  return (text) => {
    const ms = parseDuration(text);
    if (ms < minMs || ms > maxMs)
      throw new InvalidArgumentError(
        `expected a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)}, got ${JSON.stringify(text)}.`,
      );
    return ms;
  };
}

/** Milliseconds → the shortest exact duration text (`90s`, `10m`); for defaults shown in --help. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const)
    if (ms >= DURATION_UNITS_MS[unit] && ms % DURATION_UNITS_MS[unit] === 0)
      return `${ms / DURATION_UNITS_MS[unit]}${unit}`;
  return `${ms}ms`;
}

/** A comma-separated list, trimmed, without empties or repeats. */
export function commaList(text: string): readonly string[] {
  const list = [
    ...new Set(
      text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
  if (list.length === 0) throw new InvalidArgumentError('expected a comma-separated list, got nothing.');
  return list;
}

/** An option whose value is one of `choices`, with the choices in --help and in the error. */
export function choiceOption(flags: string, description: string, choices: readonly string[]): Option {
  return new Option(flags, description).choices(choices);
}

// ---- options most commands share, said the same way everywhere ----

/** `--config <file>`: left undefined when not given, so loadConfig applies DEPLOY_CONFIG. */
export function configOption(): Option {
  return new Option('--config <file>', 'the deploy config (default: $DEPLOY_CONFIG, else deploy.config.json)');
}

/** `--build <dir>`: the folder `npm run build` writes; an absolute path, wherever the command runs from. */
export function buildOption(description = 'the build to use, as `npm run build` writes it'): Option {
  return new Option('--build <dir>', description).default(path.join(PROJECT_ROOT, 'build'), 'build/');
}

/** `--regions a,b`: a subset of the configured regions, checked by selectRegions once the config is read. */
export function regionsOption(
  description = "comma-separated regions to work on, each one of the config's (default: every configured region)",
): Option {
  return new Option('--regions <list>', description).argParser(commaList);
}

/** `--endpoint <url>`: an S3-compatible server in place of AWS (the local emulator, tests). */
export function endpointOption(): Option {
  return new Option(
    '--endpoint <url>',
    "an S3-compatible endpoint serving every region's bucket, path-style, e.g. http://127.0.0.1:4568 (default: AWS)",
  );
}

/** The regions to work on: all configured ones, or the listed subset, each checked against the config. */
export function selectRegions(
  config: Pick<DeployConfig, 'regions'>,
  requested: readonly string[] | string | undefined,
): readonly string[] {
  if (requested === undefined) return config.regions;
  const list =
    typeof requested === 'string'
      ? requested
          .split(',')
          .map((region) => region.trim())
          .filter(Boolean)
      : requested;
  if (list.length === 0)
    throw new UsageError(`--regions is empty; name some of the configured regions: ${config.regions.join(', ')}.`);
  const unknown = list.filter((region) => !config.regions.includes(region));
  if (unknown.length > 0)
    throw new UsageError(
      `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not among the configured regions ` +
        `(${config.regions.join(', ')}).`,
    );
  return [...new Set(list)];
}

/**
 * The one command-line layer (scripts/lib/cli.ts): its parsers and exit codes, then every command
 * package.json runs from scripts/ or bench/, in this process: `--help` answers with usage and
 * examples (exit 0), an option it does not know is a usage error (exit 2).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type Command, CommanderError, Option } from 'commander';
import {
  choiceOption,
  commaList,
  defineCommand,
  defineSubcommand,
  durationWithin,
  EXIT_DONE,
  EXIT_FAILED,
  EXIT_USAGE,
  exitCodeFor,
  formatDuration,
  invoke,
  parseDuration,
  ReportedFailure,
  selectRegions,
  UsageError,
  wholeNumber,
} from '../../scripts/lib/cli';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs `command` on `argv` in process; what it wrote through the CLI layer, by stream. */
async function run(command: Command, argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await invoke(command, argv, { out: (text) => (out += text), error: (text) => (err += text) });
  return { code, out, err };
}

describe('option parsers', () => {
  it('wholeNumber takes plain digits within its bounds, and says what it expected otherwise', () => {
    const concurrency = wholeNumber(1, 64);
    expect(['1', '8', '64', '08'].map(concurrency)).toEqual([1, 8, 64, 8]);
    for (const text of ['0', '65', '1e1', '0x8', ' 8', '8 ', '8 objects', '1.5', '-1', '', 'NaN', 'Infinity']) {
      expect(() => concurrency(text)).toThrow(`expected a whole number from 1 to 64, got ${JSON.stringify(text)}.`);
    }
    expect(wholeNumber(1)('7')).toBe(7);
    expect(() => wholeNumber(1)('99999999999999999999')).toThrow(
      'expected a whole number of at least 1, got "99999999999999999999".',
    );
    expect(wholeNumber(-5, 5)('-5')).toBe(-5);
  });

  it('parseDuration wants the unit, and refuses a bare number instead of guessing one', () => {
    expect(['500ms', '90s', '10m', '1.5h', '0s', '1d', '7d'].map(parseDuration)).toEqual([
      500, 90_000, 600_000, 5_400_000, 0, 86_400_000, 604_800_000,
    ]);
    for (const text of ['10', '10min', 'm', '-5s', '1w', '1D', '1e3s', ''])
      expect(() => parseDuration(text)).toThrow(
        `expected a duration with its unit (500ms, 90s, 10m, 1h, 1d), got ${JSON.stringify(text)}.`,
      );
    expect(() => parseDuration('169h')).toThrow('"169h" is longer than a week.');
    expect(() => parseDuration('7.5d')).toThrow('"7.5d" is longer than a week.');
  });

  it('durationWithin keeps a duration within bounds, naming them as durations', () => {
    const interval = durationWithin(1000, 3_600_000);
    expect(interval('20s')).toBe(20_000);
    expect(interval('1h')).toBe(3_600_000);
    expect(() => interval('500ms')).toThrow('expected a duration from 1s to 1h, got "500ms".');
    expect(() => interval('61m')).toThrow('expected a duration from 1s to 1h, got "61m".');
    expect(() => interval('20')).toThrow(/with its unit/);
  });

  it('formatDuration writes the shortest exact text, which parseDuration reads back', () => {
    expect([90_000, 600_000, 3_600_000, 1500, 0].map(formatDuration)).toEqual(['90s', '10m', '1h', '1500ms', '0ms']);
    for (const ms of [1, 999, 1000, 61_000, 5_400_000, 7 * 24 * 3_600_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('commaList trims, drops empties and repeats, and refuses an empty list', () => {
    expect(commaList(' eu-west-1, us-east-1,,eu-west-1 ')).toEqual(['eu-west-1', 'us-east-1']);
    expect(() => commaList(' , ')).toThrow('expected a comma-separated list, got nothing.');
  });

  it('selectRegions answers every configured region, or the subset named, and refuses others as usage errors', () => {
    const config = { regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] };
    expect(selectRegions(config, undefined)).toEqual(config.regions);
    expect(selectRegions(config, ['eu-west-1', 'eu-west-1'])).toEqual(['eu-west-1']);
    expect(selectRegions(config, 'ap-southeast-2, us-east-1')).toEqual(['ap-southeast-2', 'us-east-1']);
    expect(() => selectRegions(config, ['eu-central-1'])).toThrow(
      new UsageError('eu-central-1 is not among the configured regions (us-east-1, eu-west-1, ap-southeast-2).'),
    );
    expect(() => selectRegions(config, ' ')).toThrow(UsageError);
  });
});

describe('exit codes', () => {
  const errors: string[] = [];
  const io = { error: (text: string) => errors.push(text) };
  beforeEach(() => errors.splice(0));

  it('maps commander outcomes: --help is done (0), help for a missing subcommand and bad input are usage (2)', () => {
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), io)).toBe(EXIT_DONE);
    expect(exitCodeFor(new CommanderError(0, 'commander.help', '(outputHelp)'), io)).toBe(EXIT_DONE);
    expect(exitCodeFor(new CommanderError(1, 'commander.help', '(outputHelp)'), io)).toBe(EXIT_USAGE);
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"), io)).toBe(
      EXIT_USAGE,
    );
    expect(exitCodeFor(new CommanderError(1, 'commander.invalidArgument', 'error: …'), io)).toBe(EXIT_USAGE);
    // Commander printed those itself.
    expect(errors).toEqual([]);
  });

  it(
    'prints a UsageError with the pointer to --help (2), a failure as one line (1), and nothing ' +
      'for a reported one',
    () => {
      expect(exitCodeFor(new UsageError('--regions is empty'), io)).toBe(EXIT_USAGE);
      expect(exitCodeFor(new Error('cannot list the bucket'), io)).toBe(EXIT_FAILED);
      expect(exitCodeFor('a string thrown', io)).toBe(EXIT_FAILED);
      expect(exitCodeFor(new ReportedFailure(), io)).toBe(EXIT_FAILED);
      expect(exitCodeFor(new ReportedFailure(3), io)).toBe(3);
      expect(errors).toEqual([
        'error: --regions is empty\n(run with --help for usage and examples)\n',
        'cannot list the bucket\n',
        'a string thrown\n',
      ]);
    },
  );
});

describe('invoke', () => {
  /** A command with a subcommand, as the scripts build theirs. */
  function sample(action: (flags: { count: number; wait: number; mode: string }) => void = () => undefined): Command {
    const program = defineCommand({
      name: 'npm run sample --',
      summary: 'A sample.',
      examples: ['npm run sample -- --count 3'],
    })
      .addOption(new Option('--count <n>', 'how many').argParser(wholeNumber(1, 9)).default(1))
      .addOption(new Option('--wait <duration>', 'how long').argParser(parseDuration).default(90_000, '90s'))
      .addOption(choiceOption('--mode <mode>', 'which way', ['fast', 'slow']).default('fast'))
      .action(function (this: Command) {
        action(this.opts());
      });
    defineSubcommand(program, 'child', { summary: 'A child.', examples: ['npm run sample -- child'] }).action(() => {
      throw new UsageError('the child needs a parent');
    });
    return program;
  }

  it('parses typed options, with their defaults, and returns 0', async () => {
    const seen: unknown[] = [];
    expect(
      await run(
        sample((flags) => seen.push(flags)),
        ['--count', '3', '--wait', '10m'],
      ),
    ).toEqual({ code: 0, out: '', err: '' });
    expect(
      await run(
        sample((flags) => seen.push(flags)),
        [],
      ),
    ).toMatchObject({ code: 0 });
    expect(seen).toEqual([
      { count: 3, wait: 600_000, mode: 'fast' },
      { count: 1, wait: 90_000, mode: 'fast' },
    ]);
  });

  it(
    'shows usage, each option with its default, examples and exit codes under --help, through the ' +
      'given output only',
    async () => {
      const stdout = jest.spyOn(process.stdout, 'write');
      const stderr = jest.spyOn(process.stderr, 'write');
      try {
        const help = await run(sample(), ['--help']);
        expect(help.code).toBe(0);
        expect(help.out).toContain('Usage: npm run sample -- [options] [command]');
        expect(help.out).toMatch(/--count <n> +how many \(default: 1\)/);
        expect(help.out).toMatch(/--wait <duration> +how long \(default: 90s\)/);
        expect(help.out).toMatch(/--mode <mode> +which way \(choices: "fast", "slow", default: "fast"\)/);
        expect(help.out).toContain('Examples:\n  $ npm run sample -- --count 3\n');
        expect(help.out).toContain('Exit codes: 0 done, 1 failed, 2 usage error.');
        const child = await run(sample(), ['child', '--help']);
        expect(child.out).toContain('Usage: npm run sample -- child [options]');
        expect(child.out).toContain('Examples:\n  $ npm run sample -- child\n');
        expect(stdout).not.toHaveBeenCalled();
        expect(stderr).not.toHaveBeenCalled();
      } finally {
        stdout.mockRestore();
        stderr.mockRestore();
      }
    },
  );

  it('answers 2 for what cannot be acted on, saying why and pointing at --help', async () => {
    for (const [argv, message] of [
      [
        ['--count', '0'],
        `error: option '--count <n>' argument '0' is invalid. expected a whole number from 1 to 9, got "0".`,
      ],
      [
        ['--wait', '10'],
        `error: option '--wait <duration>' argument '10' is invalid. expected a duration with its unit (500ms, ` +
          `90s, 10m, 1h, 1d), got "10".`,
      ],
      [
        ['--mode', 'medium'],
        `error: option '--mode <mode>' argument 'medium' is invalid. Allowed choices are fast, slow.`,
      ],
      [['--colour'], "error: unknown option '--colour'"],
      [['extra'], 'error: too many arguments. Expected 0 arguments but got 1.'],
      [['child'], 'error: the child needs a parent'],
    ] as const) {
      const result = await run(sample(), argv);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.err).toContain(message);
      expect(result.err).toContain('(run with --help for usage and examples)');
    }
  });

  it('answers 1 for a failure, printed once, and the code a ReportedFailure carries', async () => {
    expect(
      await run(
        sample(() => {
          throw new Error('the bucket is gone');
        }),
        [],
      ),
    ).toEqual({ code: 1, out: '', err: 'the bucket is gone\n' });
    expect(
      await run(
        sample(() => {
          throw new ReportedFailure();
        }),
        [],
      ),
    ).toEqual({ code: 1, out: '', err: '' });
  });
});

/** `npm run <name>` entries that run a file under scripts/ or bench/ (tsc, jest, cdktf and local/ belong elsewhere). */
function commandScripts(): { readonly script: string; readonly file: string }[] {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return Object.entries(scripts).flatMap(([script, line]) => {
    const match = /^(?:exec )?(?:tsx|node --import tsx) ((?:scripts|bench)\/\S+\.ts)(?:\s|$)/.exec(line);
    // The root of the command tree runs the others (__tests__/scripts/widget.test.ts).
    return match && script !== 'widget' ? [{ script, file: match[1]! }] : [];
  });
}

/** The command factory a script exports: its one exported `…Command` function. */
async function commandOf(file: string): Promise<() => Command> {
  const exported = (await import(path.join(ROOT, file))) as Record<string, unknown>;
  const factories = Object.entries(exported).filter(
    ([name, value]) => name.endsWith('Command') && typeof value === 'function',
  );
  expect([file, factories.map(([name]) => name)]).toEqual([file, [expect.any(String)]]);
  return factories[0]![1] as () => Command;
}

describe('every command package.json runs', () => {
  const commands = commandScripts();

  it('finds the commands (so the cases below are not vacuous)', () => {
    expect(commands.map((command) => command.script)).toEqual(
      expect.arrayContaining([
        'build',
        'rollout',
        'bench',
        'upload',
        'cleanup',
        'names',
        'drift',
        'plan-comment',
        'check-backend',
        'verify-edge',
        'backfill',
      ]),
    );
    expect(commands.find((command) => command.script === 'await-rollout')).toBeUndefined();
  });

  it.each(commandScripts().map((command) => [command.script, command.file]))(
    'npm run %s (%s): --help shows usage and examples (exit 0); an unknown option is a usage error (exit 2)',
    async (script, file) => {
      const create = await commandOf(file);
      const help = await run(create(), ['--help']);
      // npm runs `start` without `run`.
      const invoked = script === 'start' ? 'npm start' : `npm run ${script}`;
      expect(help.code).toBe(0);
      expect(help.out).toContain(`Usage: ${invoked}`);
      expect(help.out).toMatch(new RegExp(`\nExamples:\n {2}\\$ .*${invoked}\\b`));
      expect(help.err).toBe('');

      const bad = await run(create(), ['--no-such-option']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("error: unknown option '--no-such-option'");
      expect(bad.err).toContain('(run with --help for usage and examples)');
    },
    60_000,
  );
});

describe('the standalone loopback servers', () => {
  it.each([
    ['s3-server', 'scripts/s3-server.ts'],
    ['dns-server', 'scripts/dns-server.ts'],
  ])('npm run %s: a bad option value is a usage error (exit 2)', async (script, file) => {
    const create = await commandOf(file);
    expect((await run(create(), ['--help'])).out).toContain(`Usage: npm run ${script}`);
    for (const argv of [['--no-such-option'], ['--port', '65536'], ['--port', '80 ']]) {
      const bad = await run(create(), argv);
      expect([argv, bad.code]).toEqual([argv, 2]);
      expect(bad.err).toContain('(run with --help for usage and examples)');
    }
  });

  it('refuses a --txt record without a name', async () => {
    const bad = await run((await commandOf('scripts/dns-server.ts'))(), ['--txt', '=value']);
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('write a record as name=value, got "=value".') });
  });
});

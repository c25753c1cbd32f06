/**
 * The context every command's action builds once (scripts/lib/command-context.ts): the config read lazily and once,
 * the loader's errors as the command's, one S3 client per region honouring --endpoint, and --json's printJson.
 */
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type Command, Option } from 'commander';
import type { DeployConfig } from '../../config';
import type { S3ClientOptions } from '../../rollout-control/s3';
import {
  configOption,
  defineCommand,
  endpointOption,
  EXIT_DONE,
  EXIT_FAILED,
  EXIT_USAGE,
  invoke,
  jsonOption,
  regionsOption,
  wholeNumber,
} from '../../scripts/lib/cli';
import { commandContext, type CommandContext, type CommandContextOptions } from '../../scripts/lib/command-context';

const CONFIG = { regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'] } as unknown as DeployConfig;

/** A command with the shared options whose action builds the context and hands it to `work`. */
function probe(options: CommandContextOptions, work: (context: CommandContext) => void | Promise<void>): Command {
  return defineCommand({ name: 'probe', summary: 'a command that only builds its context' })
    .addOption(configOption())
    .addOption(regionsOption())
    .addOption(endpointOption())
    .addOption(new Option('--count <n>', 'a whole number').argParser(wholeNumber(1)))
    .addOption(jsonOption('{anything}'))
    .action(async (flags, command: Command) => work(commandContext(command, flags, options)));
}

async function run(command: Command, argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await invoke(command, argv, { out: (text) => (out += text), error: (text) => (err += text) });
  return { code, out, err };
}

describe('commandContext', () => {
  it('reads the config once, on first use, from --config', async () => {
    const loadConfig = jest.fn((_file: string | undefined) => CONFIG);
    const seen: unknown[] = [];
    const { code } = await run(
      probe({ loadConfig }, (context) => {
        expect(loadConfig).not.toHaveBeenCalled();
        seen.push(context.config, context.config, context.regions, context.json, context.endpoint);
      }),
      ['--config', 'staging.config.json', '--regions', 'us-east-1,eu-west-1'],
    );
    expect(code).toBe(EXIT_DONE);
    expect(loadConfig).toHaveBeenCalledTimes(1);
    expect(loadConfig.mock.calls[0]![0]).toBe('staging.config.json');
    expect(seen).toEqual([CONFIG, CONFIG, ['us-east-1', 'eu-west-1'], false, undefined]);
  });

  it('passes no --config as undefined, so the loader applies $DEPLOY_CONFIG from the env it is given', async () => {
    const loadConfig = jest.fn((_file: string | undefined, _env: unknown) => CONFIG);
    const env = { DEPLOY_CONFIG: 'elsewhere.json' };
    await run(
      probe({ loadConfig, env }, (context) => void context.regions),
      [],
    );
    expect(loadConfig).toHaveBeenCalledWith(undefined, env);
  });

  it('never reads the config when the flags are refused (exit 2)', async () => {
    const loadConfig = jest.fn(() => CONFIG);
    const work = jest.fn((context: CommandContext) => void context.config);
    const { code, err } = await run(probe({ loadConfig }, work), ['--count', 'many']);
    expect(code).toBe(EXIT_USAGE);
    expect(err).toContain('expected a whole number');
    expect(work).not.toHaveBeenCalled();
    expect(loadConfig).not.toHaveBeenCalled();
  });

  it("surfaces the loader's own error with exit 1", async () => {
    const missing = path.join(__dirname, 'no-such-dir', 'deploy.config.json');
    const { code, out, err } = await run(
      probe({}, (context) => void context.config),
      ['--config', missing],
    );
    expect(code).toBe(EXIT_FAILED);
    expect(out).toBe('');
    expect(err).toContain('cannot be read (ENOENT)');
  });

  it('refuses --regions outside the config as a usage error', async () => {
    const { code, err } = await run(
      probe({ loadConfig: () => CONFIG }, (context) => void context.regions),
      ['--regions', 'sa-east-1'],
    );
    expect(code).toBe(EXIT_USAGE);
    expect(err).toContain('sa-east-1 is not among the configured regions');
  });

  it(
    'makes one S3 client per region, lazily, with ' + '--endpoint and the retry policy, retries told to the log',
    async () => {
      const made: S3ClientOptions[] = [];
      const createS3Client = (options: S3ClientOptions) => {
        made.push(options);
        return { region: options.region } as unknown as S3Client;
      };
      const logged: string[] = [];
      let clients: S3Client[] = [];
      await run(
        probe({ createS3Client, retry: { attempts: 2, delayMs: 0 }, log: (line) => logged.push(line) }, (context) => {
          expect(made).toEqual([]);
          clients = [context.s3('eu-west-1'), context.s3('us-east-1'), context.s3('eu-west-1')];
        }),
        ['--endpoint', 'http://127.0.0.1:4568'],
      );
      expect(made.map((options) => [options.region, options.endpoint, options.retry])).toEqual([
        ['eu-west-1', 'http://127.0.0.1:4568', { attempts: 2, delayMs: 0 }],
        ['us-east-1', 'http://127.0.0.1:4568', { attempts: 2, delayMs: 0 }],
      ]);
      expect(clients[0]).toBe(clients[2]);
      expect(clients[0]).not.toBe(clients[1]);
      made[1]!.onRetry!(Object.assign(new Error('slow down'), { name: 'SlowDown' }), 2, 40);
      expect(logged).toEqual([expect.stringMatching(/^us-east-1: .*SlowDown.*; attempt 2 after 40 ms$/)]);
    },
  );

  it('builds real clients addressed path-style at --endpoint, and at AWS without it', async () => {
    const endpoints: unknown[] = [];
    const check = async (argv: readonly string[]) =>
      run(
        probe({}, async (context) => {
          const client = context.s3('eu-west-1');
          endpoints.push(
            client.config.forcePathStyle,
            client.config.endpoint === undefined ? undefined : (await client.config.endpoint()).hostname,
          );
        }),
        argv,
      );
    await check(['--endpoint', 'http://127.0.0.1:4568']);
    await check([]);
    expect(endpoints).toEqual([true, '127.0.0.1', false, undefined]);
  });

  it('printJson prints the value as 2-space JSON on stdout; out and err are lines on their streams', async () => {
    const { code, out, err } = await run(
      probe({}, (context) => {
        expect(context.json).toBe(true);
        context.printJson({ ok: true, regions: ['eu-west-1'] });
        context.err('a note');
      }),
      ['--json'],
    );
    expect(code).toBe(EXIT_DONE);
    expect(out).toBe('{\n  "ok": true,\n  "regions": [\n    "eu-west-1"\n  ]\n}\n');
    expect(JSON.parse(out)).toEqual({ ok: true, regions: ['eu-west-1'] });
    expect(err).toBe('a note\n');
  });

  it("sends out and err to the caller's own printers when given", async () => {
    const lines: string[] = [];
    const { out } = await run(
      probe({ out: (line) => lines.push(line) }, (context) => context.printJson([1])),
      [],
    );
    expect(out).toBe('');
    expect(lines).toEqual(['[\n  1\n]']);
  });
});

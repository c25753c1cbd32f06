/**
 * What a command's action stands on, built once per run from its parsed flags and the command itself: the config
 * (read lazily, once), the regions it works on, --json, where its lines go, and one S3 client per region.
 *
 * Nothing is read or made until asked for: a command that fails on its flags never reads the config, and one that
 * never talks to S3 never makes a client.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { loadConfig, type DeployConfig } from '../../config';
import { createS3Client, describeError, type RetryPolicy, type S3ClientOptions } from '../../rollout-control/s3';
import { outputOf, selectRegions } from './cli';

type Env = Readonly<Record<string, string | undefined>>;

/** The flags the context reads, as the shared options (cli.ts) parse them; a command without one leaves it out. */
export interface ContextFlags {
  /** `--config`: left undefined when not given, so the loader applies $DEPLOY_CONFIG. */
  readonly config?: string;
  /** `--regions`. @default every configured region */
  readonly regions?: readonly string[] | string;
  /** `--endpoint`: an S3-compatible server in place of AWS. */
  readonly endpoint?: string;
  /** @default false */
  readonly json?: boolean;
}

export interface CommandContextOptions {
  /** Reads the config; its errors (ConfigError) are the command's. @default loadConfig */
  readonly loadConfig?: (file: string | undefined, env: Env) => DeployConfig;
  /** Where $DEPLOY_CONFIG is read from. @default process.env */
  readonly env?: Env;
  /** Makes a region's S3 client. @default createS3Client */
  readonly createS3Client?: (options: S3ClientOptions) => S3Client;
  /** How the S3 clients retry. @default DEFAULT_RETRY (rollout-control/s3.ts) */
  readonly retry?: RetryPolicy;
  /**
   * Where the command's lines go, for a command whose caller passes its own (a test seam). @default outputOf(command)
   */
  readonly out?: ((line: string) => void) | undefined;
  /** @default outputOf(command) */
  readonly err?: ((line: string) => void) | undefined;
  /** Where each S3 retry is told, as `<region>: <error>; attempt N after M ms`. @default err */
  readonly log?: (line: string) => void;
}

export interface CommandContext {
  /** The config from `--config` (else $DEPLOY_CONFIG, else deploy.config.json), read on first use and only then. */
  readonly config: DeployConfig;
  /** `--regions` checked against the config (selectRegions); every configured region when not given. */
  readonly regions: readonly string[];
  readonly json: boolean;
  /** `--endpoint`, when given. */
  readonly endpoint: string | undefined;
  /** A line on stdout, through the output invoke routed. */
  readonly out: (line: string) => void;
  /** A line on stderr, through the output invoke routed. */
  readonly err: (line: string) => void;
  /** `value` as 2-space JSON on stdout. */
  readonly printJson: (value: unknown) => void;
  /** The region's S3 client, made on first use and kept: each region has its own retry budget and connections. */
  readonly s3: (region: string) => S3Client;
}

/** The context of one run of `command`, from the flags commander parsed for it. Build it once, in the action. */
export function commandContext(
  command: Command,
  flags: ContextFlags,
  options: CommandContextOptions = {},
): CommandContext {
  const routed = outputOf(command);
  const out = options.out ?? routed.out;
  const err = options.err ?? routed.err;
  const env = options.env ?? process.env;
  const load = options.loadConfig ?? loadConfig;
  const makeS3 = options.createS3Client ?? createS3Client;
  const log = options.log ?? err;
  let config: DeployConfig | undefined;
  let regions: readonly string[] | undefined;
  const clients = new Map<string, S3Client>();
  const context: CommandContext = {
    get config() {
      config ??= load(flags.config, env);
      return config;
    },
    get regions() {
      regions ??= selectRegions(context.config, flags.regions);
      return regions;
    },
    json: flags.json ?? false,
    endpoint: flags.endpoint,
    out,
    err,
    printJson: (value) => out(JSON.stringify(value, null, 2)),
    s3: (region) => {
      let client = clients.get(region);
      if (client === undefined) {
        client = makeS3({
          region,
          ...(flags.endpoint === undefined ? {} : { endpoint: flags.endpoint }),
          ...(options.retry === undefined ? {} : { retry: options.retry }),
          onRetry: (error, attempt, waited) =>
            log(`${region}: ${describeError(error)}; attempt ${attempt} after ${waited} ms`),
        });
        clients.set(region, client);
      }
      return client;
    },
  };
  return context;
}

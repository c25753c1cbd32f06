/**
 * `npm run verify-edge -- [--build build] [--config deploy.config.json] [--cloudfront | --cloudfront-only]`: the check
 * a deploy runs before publishing router code to every viewer (scripts/lib/edge-check.ts). Exits 1
 * when any check fails, naming it; with --cloudfront it also needs AWS credentials (us-east-1)
 * that may describe, update and test the check function and read the rollout store, and fails a
 * TestFunction case whose ComputeUtilization is over edge.maxComputeUtilization. `--help` for
 * each option and examples.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import * as path from 'node:path';
import { format } from 'node:util';
import { Option, type Command } from 'commander';
import type { DeployConfig } from '../config';
import { rolloutStoreClientConfig } from '../contracts/rollout-store';
import {
  buildOption,
  configOption,
  defineCommand,
  ReportedFailure,
  runCommand,
  jsonOption,
  withJsonErrors,
} from './lib/cli';
import { commandContext } from './lib/command-context';
import {
  cloudFrontFunctionCheck,
  functionCodeOf,
  localEdgeChecks,
  type CheckResult,
  type CloudFrontCheckClients,
} from './lib/edge-check';

export interface VerifyEdgeOptions {
  readonly config: DeployConfig;
  readonly buildDir: string;
  /** Also test the function in CloudFront's runtime. */
  readonly cloudfront?: CloudFrontCheckClients;
  /** Skip the local checks (a workflow that ran them before it had credentials). @default false */
  readonly skipLocal?: boolean;
  readonly out: (line: string) => void;
}

interface EdgeReport {
  /** Why CloudFront's TestFunction was skipped, or null when it ran (or was not asked for). */
  readonly skipped: string | null;
  readonly results: readonly CheckResult[];
}

/** Runs the checks: the local ones unless skipped, then CloudFront's when asked for. */
async function runEdgeChecks(options: Omit<VerifyEdgeOptions, 'out'>): Promise<EdgeReport> {
  const results: CheckResult[] = options.skipLocal ? [] : await localEdgeChecks(options.config, options.buildDir);
  let skipped: string | null = null;
  if (options.cloudfront) {
    const remote = await cloudFrontFunctionCheck(options.config, functionCodeOf(options.buildDir), options.cloudfront);
    skipped = remote.skipped;
    results.push(...remote.results);
  }
  return { skipped, results };
}

/** Runs the checks, prints one line each; true when all passed. */
export async function verifyEdge(options: VerifyEdgeOptions): Promise<boolean> {
  return printReport(await runEdgeChecks(options), options.out);
}

function printReport({ skipped, results }: EdgeReport, out: (line: string) => void): boolean {
  if (skipped) out(`skipped CloudFront's TestFunction: ${skipped}`);
  for (const result of results) {
    const detail =
      result.problem === null ? (result.note === undefined ? '' : ` (${result.note})`) : `: ${result.problem}`;
    out(`${result.problem === null ? 'ok  ' : 'FAIL'}  ${result.name}${detail}`);
  }
  const failed = results.filter((result) => result.problem !== null).length;
  out(
    failed === 0
      ? `all ${results.length} edge checks passed`
      : `${failed} of ${results.length} edge checks failed: do not deploy this router code`,
  );
  return failed === 0;
}

/** What `--json` prints: every check with pass or fail and its detail, and the count. */
function jsonReport({ skipped, results }: EdgeReport): Record<string, unknown> {
  const failed = results.filter((result) => result.problem !== null).length;
  return {
    ok: failed === 0,
    passed: results.length - failed,
    failed,
    cloudFrontSkipped: skipped,
    checks: results.map((result) => ({
      name: result.name,
      ok: result.problem === null,
      problem: result.problem,
      ...(result.note === undefined ? {} : { note: result.note }),
    })),
  };
}

interface VerifyEdgeFlags {
  readonly build: string;
  readonly config?: string;
  readonly cloudfront: boolean;
  readonly cloudfrontOnly: boolean;
  readonly json: boolean;
}

export function verifyEdgeCommand(): Command {
  return defineCommand({
    name: 'npm run verify-edge --',
    summary:
      "Check the build's edge code before it reaches viewers: the routers and the viewer-assignment function " +
      "on the local request path, and optionally in CloudFront's own runtime (TestFunction). Exits 1 naming " +
      'each check that fails.',
    examples: [
      'npm run verify-edge                       # local checks, no credentials needed',
      "npm run verify-edge -- --cloudfront       # and in CloudFront's runtime (AWS credentials, us-east-1)",
      'npm run verify-edge -- --cloudfront-only  # CloudFront only, once the local checks ran',
      'npm run verify-edge -- --json             # every check, passed or failed, as one JSON object',
    ],
  })
    .addOption(buildOption('the build whose edge code to check'))
    .addOption(configOption())
    .addOption(
      new Option(
        '--cloudfront',
        "also test the viewer-assignment function in CloudFront's runtime (TestFunction on its check twin)",
      ).default(false),
    )
    .addOption(
      new Option('--cloudfront-only', 'only the CloudFront test, skipping the local checks')
        .default(false)
        .conflicts('cloudfront'),
    )
    .addOption(
      jsonOption(
        "{ok, passed, failed (how many checks), cloudFrontSkipped (why CloudFront's TestFunction did not run, " +
          'else null), checks: [{name, ok, problem (why it failed, else null), note (what a passing ' +
          'check measured)}]}',
      ),
    )
    .action(async (flags: VerifyEdgeFlags, command: Command) => {
      const context = commandContext(command, flags);
      const { out, err } = context;
      const report = await withJsonErrors(flags.json, out, () => {
        const { config } = context;
        const remote = flags.cloudfront || flags.cloudfrontOnly;
        const clients = remote
          ? {
              cloudfront: new CloudFrontClient({ region: 'us-east-1' }),
              kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()),
            }
          : undefined;
        const checks = () =>
          runEdgeChecks({
            config,
            buildDir: path.resolve(flags.build),
            cloudfront: clients,
            skipLocal: flags.cloudfrontOnly,
          });
        return flags.json ? consoleToStderr(err, checks) : checks();
      });
      if (flags.json) context.printJson(jsonReport(report));
      const passed = flags.json ? report.results.every((result) => result.problem === null) : printReport(report, out);
      if (!passed) throw new ReportedFailure();
    });
}

/**
 * The routers under test run in this process and log with console.log (a health check that
 * recovers, say): under --json that goes to stderr for the while, so stdout holds the JSON only.
 */
async function consoleToStderr<T>(err: (line: string) => void, work: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toStderr = (...args: unknown[]) => err(format(...args));
  Object.assign(console, { log: toStderr, info: toStderr, debug: toStderr });
  try {
    return await work();
  } finally {
    Object.assign(console, saved);
  }
}

if (require.main === module) runCommand(verifyEdgeCommand());

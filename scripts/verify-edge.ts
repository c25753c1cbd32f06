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
import { Option, type Command } from 'commander';
import { loadConfig, type DeployConfig } from '../config';
import { rolloutStoreClientConfig } from '../contracts/rollout-store';
import { buildOption, configOption, defineCommand, ReportedFailure, runCommand } from './lib/cli';
import { cloudFrontFunctionCheck, functionCodeOf, localEdgeChecks, type CheckResult, type CloudFrontCheckClients } from './lib/edge-check';

export interface VerifyEdgeOptions {
  readonly config: DeployConfig;
  readonly buildDir: string;
  /** Also test the function in CloudFront's runtime. */
  readonly cloudfront?: CloudFrontCheckClients;
  /** Skip the local checks (a workflow that ran them before it had credentials). @default false */
  readonly skipLocal?: boolean;
  readonly out: (line: string) => void;
}

/** Runs the checks, prints one line each; true when all passed. */
export async function verifyEdge(options: VerifyEdgeOptions): Promise<boolean> {
  const results: CheckResult[] = options.skipLocal ? [] : await localEdgeChecks(options.config, options.buildDir);
  if (options.cloudfront) {
    const remote = await cloudFrontFunctionCheck(options.config, functionCodeOf(options.buildDir), options.cloudfront);
    if (remote.skipped) options.out(`skipped CloudFront's TestFunction: ${remote.skipped}`);
    results.push(...remote.results);
  }
  for (const result of results) {
    const detail = result.problem === null ? (result.note === undefined ? '' : ` (${result.note})`) : `: ${result.problem}`;
    options.out(`${result.problem === null ? 'ok  ' : 'FAIL'}  ${result.name}${detail}`);
  }
  const failed = results.filter((result) => result.problem !== null).length;
  options.out(failed === 0 ? `all ${results.length} edge checks passed` : `${failed} of ${results.length} edge checks failed: do not deploy this router code`);
  return failed === 0;
}

interface VerifyEdgeFlags {
  readonly build: string;
  readonly config?: string;
  readonly cloudfront: boolean;
  readonly cloudfrontOnly: boolean;
}

export function verifyEdgeCommand(): Command {
  return defineCommand({
    name: 'npm run verify-edge --',
    summary:
      "Check the build's edge code before it reaches viewers: the routers and the viewer-assignment function on the local request path, and optionally in CloudFront's own runtime (TestFunction). Exits 1 naming each check that fails.",
    examples: [
      'npm run verify-edge                       # local checks, no credentials needed',
      "npm run verify-edge -- --cloudfront       # and in CloudFront's runtime (AWS credentials, us-east-1)",
      'npm run verify-edge -- --cloudfront-only  # CloudFront only, once the local checks ran',
    ],
  })
    .addOption(buildOption('the build whose edge code to check'))
    .addOption(configOption())
    .addOption(new Option('--cloudfront', "also test the viewer-assignment function in CloudFront's runtime (TestFunction on its check twin)").default(false))
    .addOption(new Option('--cloudfront-only', 'only the CloudFront test, skipping the local checks').default(false).conflicts('cloudfront'))
    .action(async (flags: VerifyEdgeFlags) => {
      const config = loadConfig(flags.config);
      const remote = flags.cloudfront || flags.cloudfrontOnly;
      const clients = remote ? { cloudfront: new CloudFrontClient({ region: 'us-east-1' }), kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()) } : undefined;
      const passed = await verifyEdge({ config, buildDir: path.resolve(flags.build), cloudfront: clients, skipLocal: flags.cloudfrontOnly, out: (line) => console.log(line) });
      if (!passed) throw new ReportedFailure();
    });
}

if (require.main === module) runCommand(verifyEdgeCommand());

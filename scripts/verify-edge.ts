/**
 * `npm run verify-edge -- [--build build] [--config deploy.config.json] [--cloudfront | --cloudfront-only]`: the check
 * a deploy runs before publishing router code to every viewer (scripts/lib/edge-check.ts). Exits 1
 * when any check fails, naming it; with --cloudfront it also needs AWS credentials (us-east-1)
 * that may describe, update and test the check function and read the rollout store.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type DeployConfig } from '../config';
import { rolloutStoreClientConfig } from '../contracts/rollout-store';
import { PROJECT_ROOT } from './build';
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
  for (const result of results) options.out(`${result.problem === null ? 'ok  ' : 'FAIL'}  ${result.name}${result.problem === null ? '' : `: ${result.problem}`}`);
  const failed = results.filter((result) => result.problem !== null).length;
  options.out(failed === 0 ? `all ${results.length} edge checks passed` : `${failed} of ${results.length} edge checks failed: do not deploy this router code`);
  return failed === 0;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { build: { type: 'string' }, config: { type: 'string' }, cloudfront: { type: 'boolean', default: false }, 'cloudfront-only': { type: 'boolean', default: false } } });
  const config = loadConfig(values.config);
  const remote = values.cloudfront || values['cloudfront-only'];
  const clients = remote ? { cloudfront: new CloudFrontClient({ region: 'us-east-1' }), kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()) } : undefined;
  const buildDir = path.resolve(values.build ?? path.join(PROJECT_ROOT, 'build'));
  verifyEdge({ config, buildDir, cloudfront: clients, skipLocal: values['cloudfront-only'], out: (line) => console.log(line) }).then(
    (passed) => process.exit(passed ? 0 : 1),
    (error: Error) => {
      console.error(`verify-edge: ${error.message}`);
      process.exit(1);
    },
  );
}

/**
 * `npm run names`: every name derived from the config (stacks, functions, buckets, records), so a
 * person writing an IAM policy or a workflow step never derives one by hand.
 *
 *   npm run names                      a table
 *   npm run names -- --json            one JSON object
 *   npm run names -- --github-output   key=value lines appended to $GITHUB_OUTPUT (for workflow steps)
 *   npm run names -- --iam             the CI roles' IAM policies, from the synthesized stacks
 *                                      (--json: one object {deployRole, planRole}; --account <id>
 *                                      instead of the <account> placeholder; --build <dir>: the
 *                                      build the stacks are synthesized from, default build/)
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, resourceNames, type DeployConfig } from '../config';
import { readSynthOutput, type SynthStack } from '../stacks/policy/terraform-json';
import { ACCOUNT_PLACEHOLDER, ciRolePolicies, MANAGED_POLICY_SIZE_LIMIT, splitPolicy, type PolicyDocument } from './lib/ci-iam';
import { runMain } from './lib/cli';

const PROJECT_ROOT = path.resolve(__dirname, '..');

export function namesOf(config: DeployConfig): Record<string, string> {
  const names = resourceNames(config);
  return {
    name: config.name,
    replicas_stack: names.replicaStack,
    delivery_stack: names.deliveryStack,
    entry_router: names.entryRouter,
    chunk_router: names.chunkRouter,
    rollout_sync: names.rolloutSync,
    release: names.release,
    metrics_api: names.metricsApi,
    codedeploy_application: names.codeDeployApplication,
    deployment_group: names.deploymentGroup,
    live_alias: names.liveAlias,
    rollout_store: names.rolloutStore,
    viewer_assignment: names.viewerAssignment,
    bucket_record: names.bucketRecord,
    signal_table: names.signalTable,
    dashboard: names.dashboard,
    client_error_alarm: names.clientErrorAlarm,
    edge_error_alarm: names.edgeErrorAlarm,
    web_acl: names.webAcl,
    buckets: config.regions.map((region) => names.bucket(region)).join(','),
    ...Object.fromEntries(config.regions.map((region) => [`bucket_${region.replace(/-/g, '_')}`, names.bucket(region)])),
  };
}

/**
 * Both stacks as `cdktf synth` writes them, for the build in `buildDir`. cdktf and the stacks load
 * only here: the plain name listing runs in every workflow and stays quick.
 */
export async function synthesizeStacks(config: DeployConfig, buildDir: string): Promise<SynthStack[]> {
  const [{ App }, { createStacks }, { readManifest }] = await Promise.all([import('cdktf'), import('../stacks/app'), import('../contracts/build-manifest')]);
  const manifest = readManifest(buildDir);
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'names-iam-'));
  try {
    const app = new App({ outdir });
    createStacks(app, { config, manifest, buildDir });
    app.synth();
    return readSynthOutput(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const ROLES = [
  { key: 'deployRole', title: 'Deploy role (AWS_DEPLOY_ROLE_ARN): cdktf deploy of both stacks, npm run upload, await-rollout, cleanup' },
  { key: 'planRole', title: 'Plan role (AWS_PLAN_ROLE_ARN): terraform plan of both stacks, read-only, and their state' },
] as const;

function printPolicies(policies: Record<(typeof ROLES)[number]['key'], PolicyDocument>, account: string, out: (line: string) => void): void {
  if (account === ACCOUNT_PLACEHOLDER) out(`# ${ACCOUNT_PLACEHOLDER} stands for your AWS account id: replace it, or pass --account <id>.`);
  for (const { key, title } of ROLES) {
    const parts = splitPolicy(policies[key]);
    out(`# ${title}`);
    if (parts.length > 1) out(`# ${parts.length} customer managed policies (IAM allows ${MANAGED_POLICY_SIZE_LIMIT} characters each): attach them all.`);
    parts.forEach((part, index) => {
      if (parts.length > 1) out(`# ${key} part ${index + 1} of ${parts.length}`);
      out(JSON.stringify(part, null, 2));
    });
    out('');
  }
}

export interface NamesCliDeps {
  readonly out: (line: string) => void;
  /** @default synthesizeStacks */
  readonly synthesize?: (config: DeployConfig, buildDir: string) => Promise<SynthStack[]>;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export async function namesCli(argv: readonly string[], deps: NamesCliDeps = { out: (line) => console.log(line) }): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      'github-output': { type: 'boolean', default: false },
      iam: { type: 'boolean', default: false },
      account: { type: 'string' },
      build: { type: 'string' },
    },
  });
  const env = deps.env ?? process.env;
  const config = loadConfig(values.config, env);
  if (values.iam) {
    if (values['github-output']) throw new Error('--iam prints policy documents; it does not combine with --github-output.');
    if (values.account !== undefined && !/^\d{12}$/.test(values.account)) throw new Error(`--account must be a 12-digit AWS account id; got "${values.account}".`);
    const buildDir = path.resolve(values.build ?? env.BUILD_DIR ?? path.join(PROJECT_ROOT, 'build'));
    const stacks = await (deps.synthesize ?? synthesizeStacks)(config, buildDir);
    const account = values.account ?? ACCOUNT_PLACEHOLDER;
    const policies = ciRolePolicies(stacks, config, { account });
    if (values.json) deps.out(JSON.stringify(policies, null, 2));
    else printPolicies(policies, account, deps.out);
    return;
  }
  if (values.account !== undefined || values.build !== undefined) throw new Error('--account and --build apply to --iam only.');
  const names = namesOf(config);
  if (values['github-output']) {
    const file = env.GITHUB_OUTPUT;
    if (!file) throw new Error('--github-output needs GITHUB_OUTPUT (set by GitHub Actions in every step).');
    appendFileSync(file, Object.entries(names).map(([key, value]) => `${key}=${value}\n`).join(''));
    return;
  }
  if (values.json) {
    deps.out(JSON.stringify(names, null, 2));
    return;
  }
  const width = Math.max(...Object.keys(names).map((key) => key.length));
  for (const [key, value] of Object.entries(names)) deps.out(`${key.padEnd(width)}  ${value}`);
}

if (require.main === module) runMain(() => namesCli(process.argv.slice(2)));

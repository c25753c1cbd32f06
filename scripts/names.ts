/**
 * `npm run names`: every name derived from the config (stacks, functions, buckets, records), so a
 * person writing an IAM policy or a workflow step never derives one by hand.
 *
 *   npm run names                      a table
 *   npm run names -- --json            one JSON object
 *   npm run names -- --github-output   key=value lines appended to $GITHUB_OUTPUT (for workflow steps)
 *   npm run names -- --iam             the CI roles' IAM policies and the permissions boundary of the
 *                                      stacks' roles, from the synthesized stacks
 *                                      (--json: one object {deployRole, planRole, liveCheckRole,
 *                                      liveCheckRoleTrust, permissionsBoundary}; --account <id>
 *                                      instead of the <account> placeholder; --build <dir>: the
 *                                      build the stacks are synthesized from, default build/)
 *
 * `--help` lists every option with its default, and examples.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resourceNames, type DeployConfig } from '../config';
import { readSynthOutput, type SynthStack } from '../stacks/policy/terraform-json';
import {
  ACCOUNT_PLACEHOLDER,
  ciRolePolicies,
  LIVE_CHECK_WORKFLOW,
  MANAGED_POLICY_SIZE_LIMIT,
  policySize,
  REPOSITORY_PLACEHOLDER,
  splitPolicy,
  type CiRolePolicies,
} from './lib/ci-iam';
import { configOption, defineCommand, runCommand, UsageError } from './lib/cli';
import { commandContext } from './lib/command-context';

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
    assignment_fallback_alarm: names.assignmentFallbackAlarm,
    notification_topic: names.notificationTopic,
    // Whether the widget is served at `domain` (else only CloudFront's own domain, known after the deploy).
    custom_domain: String(config.customDomain),
    buckets: config.regions.map((region) => names.bucket(region)).join(','),
    ...Object.fromEntries(
      config.regions.map((region) => [`bucket_${region.replace(/-/g, '_')}`, names.bucket(region)]),
    ),
  };
}

/**
 * Both stacks as `cdktf synth` writes them, for the build in `buildDir`. cdktf and the stacks load
 * only here: the plain name listing runs in every workflow and stays quick.
 */
export async function synthesizeStacks(config: DeployConfig, buildDir: string): Promise<SynthStack[]> {
  const [{ App }, { createStacks }, { readManifest }] = await Promise.all([
    import('cdktf'),
    import('../stacks/app'),
    import('../contracts/build-manifest'),
  ]);
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
  {
    key: 'deployRole',
    title:
      'Deploy role (AWS_DEPLOY_ROLE_ARN): cdktf deploy of both stacks, npm run upload, backfill, verify-edge, ' +
      'rollout wait, rollout check-live, cleanup',
  },
  {
    key: 'planRole',
    title: 'Plan role (AWS_PLAN_ROLE_ARN): terraform plan of both stacks, read-only, and their state',
  },
  {
    key: 'liveCheckRole',
    title:
      "Live-check role (AWS_LIVE_CHECK_ROLE_ARN): npm run rollout -- check-live in drift.yml's nightly run, " +
      'reads only',
  },
] as const;

function printPolicies(
  policies: CiRolePolicies,
  config: DeployConfig,
  account: string,
  out: (line: string) => void,
): void {
  if (account === ACCOUNT_PLACEHOLDER)
    out(`# ${ACCOUNT_PLACEHOLDER} stands for your AWS account id: replace it, or pass --account <id>.`);
  for (const { key, title } of ROLES) {
    const parts = splitPolicy(policies[key]);
    out(`# ${title}`);
    if (parts.length > 1)
      out(
        `# ${parts.length} customer managed policies (IAM allows ${MANAGED_POLICY_SIZE_LIMIT} characters ` +
          `each): attach them all.`,
      );
    parts.forEach((part, index) => {
      if (parts.length > 1) out(`# ${key} part ${index + 1} of ${parts.length}`);
      out(JSON.stringify(part, null, 2));
    });
    out('');
    if (key === 'liveCheckRole') {
      out(
        `# Live-check role's trust policy: only ${LIVE_CHECK_WORKFLOW}'s runs on main may assume it ` +
          `(replace ${REPOSITORY_PLACEHOLDER} with the repository, as GitHub spells it).`,
      );
      out(JSON.stringify(policies.liveCheckRoleTrust, null, 2));
      out('');
    }
  }
  // A role has one boundary: it must fit one managed policy.
  const boundary = resourceNames(config).permissionsBoundary;
  if (policySize(policies.permissionsBoundary) > MANAGED_POLICY_SIZE_LIMIT) {
    throw new Error(
      `the permissions boundary is ${policySize(policies.permissionsBoundary)} characters, more than one ` +
        `managed policy holds (${MANAGED_POLICY_SIZE_LIMIT}): the stacks' roles grant too much to ` +
        `bound in one policy`,
    );
  }
  out(
    `# Permissions boundary: the customer managed policy ${boundary}, made before the first deploy and never ` +
      `by the stacks. Every role the stacks create carries it; the deploy role may write roles only with it.`,
  );
  out(JSON.stringify(policies.permissionsBoundary, null, 2));
}

export interface NamesCliDeps {
  /** @default stdout */
  readonly out?: (line: string) => void;
  /** @default synthesizeStacks */
  readonly synthesize?: (config: DeployConfig, buildDir: string) => Promise<SynthStack[]>;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

interface NamesFlags {
  readonly config?: string;
  readonly json: boolean;
  readonly githubOutput: boolean;
  readonly iam: boolean;
  readonly account?: string;
  readonly build?: string;
}

function accountId(text: string): string {
  if (!/^\d{12}$/.test(text))
    throw new InvalidArgumentError(`expected a 12-digit AWS account id, got ${JSON.stringify(text)}.`);
  return text;
}

export function namesCommand(deps: NamesCliDeps = {}): Command {
  return defineCommand({
    name: 'npm run names --',
    summary:
      "Print every name derived from the config (stacks, functions, buckets, records), or the CI roles' IAM " +
      'policies from the synthesized stacks.',
    examples: [
      'npm run names                                   # a table',
      'npm run names -- --github-output                # key=value lines into $GITHUB_OUTPUT (workflow steps)',
      "npm run names -- --iam --account 123456789012   # the deploy, plan and live-check roles' policies, and " +
        'the permissions boundary',
      'npm run names -- --iam --json > ci-roles.json',
    ],
  })
    .addOption(configOption())
    .addOption(
      new Option(
        '--json',
        'one JSON object instead of a table (with --iam: {deployRole, planRole, liveCheckRole, ' +
          'liveCheckRoleTrust, permissionsBoundary})',
      ).default(false),
    )
    .addOption(
      new Option('--github-output', 'append key=value lines to the file $GITHUB_OUTPUT names')
        .default(false)
        .conflicts('iam'),
    )
    .addOption(
      new Option(
        '--iam',
        "the CI roles' IAM policies and the stack roles' permissions boundary, from the stacks " +
          'synthesized for the build',
      ).default(false),
    )
    .addOption(
      new Option(
        '--account <id>',
        'with --iam: the 12-digit AWS account id to put in the ARNs (default: the <account> placeholder)',
      ).argParser(accountId),
    )
    .addOption(
      new Option(
        '--build <dir>',
        'with --iam: the build the stacks are synthesized from (default: $BUILD_DIR, else build/)',
      ),
    )
    .action(async (flags: NamesFlags, command: Command) => {
      const env = deps.env ?? process.env;
      const context = commandContext(command, flags, { env, out: deps.out });
      const { out } = context;
      if (!flags.iam && (flags.account !== undefined || flags.build !== undefined))
        throw new UsageError('--account and --build apply to --iam only.');
      const { config } = context;
      if (flags.iam) {
        const buildDir = path.resolve(flags.build ?? env.BUILD_DIR ?? path.join(PROJECT_ROOT, 'build'));
        const stacks = await (deps.synthesize ?? synthesizeStacks)(config, buildDir);
        const account = flags.account ?? ACCOUNT_PLACEHOLDER;
        const policies = ciRolePolicies(stacks, config, { account });
        if (flags.json) context.printJson(policies);
        else printPolicies(policies, config, account, out);
        return;
      }
      const names = namesOf(config);
      if (flags.githubOutput) {
        const file = env.GITHUB_OUTPUT;
        if (!file) throw new UsageError('--github-output needs GITHUB_OUTPUT (set by GitHub Actions in every step).');
        appendFileSync(
          file,
          Object.entries(names)
            .map(([key, value]) => `${key}=${value}\n`)
            .join(''),
        );
        return;
      }
      if (flags.json) {
        context.printJson(names);
        return;
      }
      const width = Math.max(...Object.keys(names).map((key) => key.length));
      for (const [key, value] of Object.entries(names)) out(`${key.padEnd(width)}  ${value}`);
    });
}

if (require.main === module) runCommand(namesCommand());

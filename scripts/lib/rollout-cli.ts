/**
 * `npm run rollout -- <command>`: the command layer. Clients, config, output and the clock are
 * injected (scripts/rollout.ts passes the real ones, tests pass mocked SDK clients); what to show
 * and what to choose is in rollout-view.ts; starting a deployment is the release function's own
 * code path (rollout-control/release.ts); waiting for a deploy's rollout is in
 * rollout-wait.ts.
 *
 * Exit codes: 0 done, 1 failed (AWS, credentials, missing resources, nothing to act on, a rollout
 * rolled back), 2 usage. `--help` on every command and subcommand, with examples.
 */
import { Option, type Command } from 'commander';
import { DescribeAlarmsCommand, GetMetricStatisticsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { StopDeploymentCommand, type CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, ListVersionsByFunctionCommand, UpdateAliasCommand, type FunctionConfiguration, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeKeyValueStoreCommand, type CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ConfigError, resourceNames, rolloutSteps, type DeployConfig, type ResourceNames } from '../../config';
import { configOption, defineCommand, defineSubcommand, durationWithin, formatDuration, invoke, ReportedFailure, UsageError, wholeNumber, type SubcommandSpec } from './cli';
import { credentialsProblem } from '../../rollout-control/credentials';
import { awaitRollout, defaultTimeoutMs, NotDeployedError, readBaseline, saveBaseline, type DeploymentStatus } from './rollout-wait';
import { release, type ReleaseResult, type ReleaseTarget } from '../../rollout-control/release';
import { MANUAL_SYNC_EVENT } from '../../rollout-control/sync-plan';
import { aliasStateFrom, findBuildIdOfVersion, getAlias } from '../../rollout-control/alias-state';
import { errorMessage, errorName } from '../../rollout-control/aws-errors';
import { findActiveDeploymentId, findCurrentOrLastDeployment, getDeploymentSummary, withGroupErrors, type DeploymentGroupRef, type DeploymentSummary } from '../../rollout-control/deployments';
import { ALL_AT_ONCE_CONFIG } from '../../contracts/deployment-config';
import { readRolloutState, StaleStoreError, writeRolloutState } from '../../rollout-control/rollout-state-store';
import { announceState, readJudgment } from '../../rollout-control/signal-table';
import { DIMENSION_ROLE, METRIC_ERRORING_VIEWERS, METRIC_VIEWERS, statePropagationMs } from '../../contracts/release-signal';
import { judgeRule } from '../../contracts/canary-judge';
import { formatRolloutState, withoutRingOrigin, withRingOrigin, ringBudget, type RolloutState } from '../../contracts/rollout-state';
import { dashboardUrl } from '../../contracts/release-dashboard';
import { buildIdFromDescription } from '../../contracts/version-description';
import {
  deploymentView,
  evidenceWarnings,
  formatStatus,
  judgmentView,
  newestVersion,
  percent,
  previousReleaseVersion,
  stateMatchesAlias,
  type AlarmView,
  type AliasView,
  type JudgmentView,
  type StateView,
  type RolloutStatus,
  type VersionView,
} from './rollout-view';

/** Everything here lives in us-east-1: the entry router (Lambda@Edge), its alias and CodeDeploy. */
export const ROLLOUT_REGION = 'us-east-1';

export interface RolloutClients {
  readonly lambda: LambdaClient;
  readonly codedeploy: CodeDeployClient;
  /** CloudFront's control plane: finds the rollout store's ARN by its name. */
  readonly cloudfront: CloudFrontClient;
  /** The rollout store's data plane (SigV4A). */
  readonly kvs: CloudFrontKeyValueStoreClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sts: STSClient;
  /** An S3 client for a replica bucket's region: start and rollback check the build is in every bucket. */
  readonly s3For: (region: string) => S3Client;
  /** The release-signal table: a ring edit is announced to the signal consumer's timeline before it is written. */
  readonly dynamodb: DynamoDBClient;
}

export interface RolloutCliDeps {
  readonly loadConfig: (file?: string) => DeployConfig;
  readonly createClients: () => RolloutClients;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock `wait` measures its timeout and settle time by. @default Date.now */
  readonly now?: () => number;
}

export const RING_ACTIONS = ['list', 'add', 'remove'] as const;
type RolloutCommand = 'status' | 'start' | 'stop' | 'rollback' | 'promote' | 'ring';

/** A failure whose message is the whole story: printed as is, exit 1. */
export class RolloutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutError';
  }
}

interface Invocation {
  readonly config?: string;
  readonly json: boolean;
  /** `start` and `rollback`: the entry-router version to release. */
  readonly version?: string;
  /** `promote` only: even while the client-error alarm fires. */
  readonly force?: boolean;
  /** `ring` only. */
  readonly ring?: { readonly action: (typeof RING_ACTIONS)[number]; readonly origin?: string };
}

interface CommandResult {
  readonly json: unknown;
  readonly lines: readonly string[];
  /** @default 0 */
  readonly exitCode?: number;
}

interface Context {
  readonly names: ResourceNames;
  readonly config: DeployConfig;
  readonly clients: RolloutClients;
  readonly account: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** The clock the judge's progress is read at. */
  readonly now: () => number;
  readonly target: ReleaseTarget;
  readonly group: DeploymentGroupRef;
}

/** `npm run rollout -- <command>`, with `deps` for config, AWS, output and the clock. Build one per run. */
export function rolloutCommand(deps: RolloutCliDeps): Command {
  const program = defineCommand({
    name: 'npm run rollout --',
    summary: "Watch, start, stop, roll back or promote a release of the entry router, edit the ring, or wait for a deploy's rollout to end. Everything lives in us-east-1.",
    examples: ['npm run rollout -- status', 'npm run rollout -- start --version 8', 'npm run rollout -- rollback', 'npm run rollout -- wait --baseline "$RUNNER_TEMP/rollout-baseline" --timeout 40m'],
  });
  const leaf = (parent: Command, name: string, spec: SubcommandSpec) =>
    defineSubcommand(parent, name, spec).addOption(configOption()).addOption(new Option('--json', 'print the result as JSON on stdout (an error too: {"error": …})').default(false));
  const versionOption = (what: string) =>
    new Option('--version <n>', `the published entry-router version to ${what}, a whole number (default: ${what === 'release' ? 'the newest' : 'the one before the current build'})`).argParser(wholeNumber(1));
  const act = (command: RolloutCommand, invocation: (flags: RolloutFlags, args: readonly string[]) => Invocation) =>
    async function (this: Command, ...args: unknown[]) {
      const flags = this.opts<RolloutFlags>();
      await execute(
        deps,
        command,
        invocation(
          flags,
          args.filter((arg): arg is string => typeof arg === 'string'),
        ),
      );
    };
  const common = (flags: RolloutFlags): Invocation => ({ config: flags.config, json: flags.json });

  leaf(program, 'status', {
    summary: 'Alias weights, the rollout state at the edges, the current or last deployment, and the alarms. Exits 1 when it lists problems.',
    examples: ['npm run rollout -- status', 'npm run rollout -- status --json | jq .deployment'],
  }).action(act('status', common));
  leaf(program, 'start', {
    summary: 'Deploy the newest published entry-router version (or --version N) with the configured rollout; refused when its build is missing from any bucket.',
    examples: ['npm run rollout -- start', 'npm run rollout -- start --version 8'],
  })
    .addOption(versionOption('release'))
    .action(act('start', (flags) => ({ ...common(flags), version: flags.version?.toString() })));
  leaf(program, 'stop', {
    summary: 'Stop the running deployment and roll it back to the version it started from.',
    examples: ['npm run rollout -- stop'],
  }).action(act('stop', common));
  leaf(program, 'rollback', {
    summary: 'Stop the running deployment and roll it back; with none running, deploy the previous build (or --version N) all at once, with alarms off for that deployment.',
    examples: ['npm run rollout -- rollback', 'npm run rollout -- rollback --version 6'],
  })
    .addOption(versionOption('roll back to'))
    .action(act('rollback', (flags) => ({ ...common(flags), version: flags.version?.toString() })));
  leaf(program, 'promote', {
    summary: 'Finish the running deployment now: stop it without rollback and move the alias fully to its target (no alarm rolls it back afterwards). Refused while the client-error alarm is in ALARM, unless --force.',
    examples: ['npm run rollout -- promote', 'npm run rollout -- promote --force   # even while the alarm fires'],
  })
    .addOption(new Option('--force', 'promote even while the client-error alarm is in ALARM').default(false))
    .action(act('promote', (flags) => ({ ...common(flags), force: flags.force })));

  const ring = defineSubcommand(program, 'ring', {
    summary: 'The ring: host page origins that get the canary whatever the weight. Without a subcommand, lists it.',
    examples: ['npm run rollout -- ring', 'npm run rollout -- ring add https://demo.example.com', 'npm run rollout -- ring remove https://demo.example.com'],
  });
  const list = act('ring', (flags) => ({ ...common(flags), ring: { action: 'list' } }));
  leaf(ring, 'list', { summary: 'List the origins in the ring, and the bytes they take of its budget.', examples: ['npm run rollout -- ring list --json'], isDefault: true })
    // As the default, `list` receives whatever follows `ring` that names no subcommand: `ring drop x`.
    .allowExcessArguments(true)
    .action(async function (this: Command, ...args: unknown[]) {
      if (this.args.length > 0) throw new UsageError(`${JSON.stringify(this.args.join(' '))} is not a ring command; use list, add <origin> or remove <origin>.`);
      await list.apply(this, args);
    });
  for (const action of ['add', 'remove'] as const) {
    leaf(ring, `${action} <origin>`, {
      summary: action === 'add' ? "Add a host page's origin (scheme, host and port, e.g. https://demo.example.com) to the ring." : 'Remove an origin from the ring.',
      examples: [`npm run rollout -- ring ${action} https://demo.example.com`],
    }).action(act('ring', (flags, [origin]) => ({ ...common(flags), ring: { action, origin } })));
  }

  leaf(program, 'wait', {
    summary:
      "The deploy job's last step: with --save-baseline (before `cdktf deploy`) note the newest deployment; with --baseline (after it) wait until a newer one ends. Exits 1 when it rolled back, or did not end in time; passes when the deploy started none (the status shows the baseline for the settle time).",
    examples: ['npm run rollout -- wait --save-baseline "$RUNNER_TEMP/rollout-baseline"', 'npm run rollout -- wait --baseline "$RUNNER_TEMP/rollout-baseline"', 'npm run rollout -- wait --baseline baseline.json --timeout 1h --interval 30s'],
  })
    .addOption(new Option('--save-baseline <file>', 'note the newest deployment (or that there is none) in <file>, then exit').conflicts('baseline'))
    .addOption(new Option('--baseline <file>', 'wait for a deployment newer than the one <file> names (default: wait for the newest deployment to end, whichever deploy started it)'))
    .addOption(new Option('--timeout <duration>', "give up after this long, e.g. 40m (default: the configured rollout's length + the alarm window + 15m)").argParser(durationWithin(60_000, 24 * 3_600_000)))
    .addOption(new Option('--interval <duration>', 'between two status reads (and two tries at --save-baseline)').argParser(durationWithin(1000, 3_600_000)).default(20_000, '20s'))
    .addOption(new Option('--settle <duration>', 'how long the baseline may stay newest before concluding this deploy started no deployment').argParser(durationWithin(1000, 3_600_000)).default(120_000, '2m'))
    .action(async (flags: WaitFlags) => {
      try {
        await waitCommand(deps, flags);
      } catch (error) {
        if (error instanceof ReportedFailure) throw error;
        deps.err(error instanceof ConfigError ? error.message : `rollout wait: ${errorMessage(error)}`);
        throw new ReportedFailure();
      }
    });
  return program;
}

interface RolloutFlags {
  readonly config?: string;
  readonly json: boolean;
  readonly version?: number;
  readonly force?: boolean;
}

interface WaitFlags {
  readonly config?: string;
  readonly json: boolean;
  readonly saveBaseline?: string;
  readonly baseline?: string;
  readonly timeout?: number;
  readonly interval: number;
  readonly settle: number;
}

/** Runs the command line; returns the exit code (0 done, 1 failed, 2 usage). */
export function runRolloutCli(argv: readonly string[], deps: RolloutCliDeps): Promise<number> {
  const line = (write: (line: string) => void) => (text: string) => write(text.replace(/\n$/, ''));
  return invoke(rolloutCommand(deps), argv, { out: line(deps.out), error: line(deps.err) });
}

/** Config, clients and the caller's account: what every command needs before it asks AWS anything else. */
async function createContext(deps: RolloutCliDeps, configFile: string | undefined): Promise<Context> {
  const config = deps.loadConfig(configFile);
  const clients = deps.createClients();
  const account = await callerAccount(clients.sts);
  const names = resourceNames(config);
  return {
    names,
    config,
    clients,
    account,
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    now: deps.now ?? Date.now,
    target: {
      functionName: names.entryRouter,
      aliasName: names.liveAlias,
      application: names.codeDeployApplication,
      deploymentGroup: names.deploymentGroup,
      buckets: Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)])),
    },
    group: { application: names.codeDeployApplication, deploymentGroup: names.deploymentGroup },
  };
}

/** Prints the result (or the error, as JSON too with --json); a failure has been reported when it throws. */
async function execute(deps: RolloutCliDeps, command: RolloutCommand, invocation: Invocation): Promise<void> {
  let code: number;
  try {
    const context = await createContext(deps, invocation.config);
    const result = await COMMAND_HANDLERS[command](context, invocation);
    if (invocation.json) deps.out(JSON.stringify(result.json, null, 2));
    else for (const line of result.lines) deps.out(line);
    code = result.exitCode ?? 0;
  } catch (error) {
    deps.err(error instanceof ConfigError ? error.message : `rollout ${command}: ${errorMessage(error)}`);
    if (invocation.json) deps.out(JSON.stringify({ error: errorMessage(error) }, null, 2));
    code = 1;
  }
  if (code !== 0) throw new ReportedFailure(code);
}

/** `rollout wait`: the status is read in this process, as `rollout status` reads it. */
async function waitCommand(deps: RolloutCliDeps, flags: WaitFlags): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let context: Context | undefined;
  const readStatus = async (): Promise<DeploymentStatus> => {
    context ??= await createContext(deps, flags.config);
    let result: CommandResult;
    try {
      result = await statusCommand(context);
    } catch (error) {
      // The alias or the function missing: nothing is deployed, so no deployment either.
      if (/ not found: deploy the stacks first/.test(errorMessage(error))) throw new NotDeployedError(errorMessage(error));
      throw error;
    }
    const status = result.json as RolloutStatus;
    // Problems beside a readable deployment (say, the rollout state not yet written after the first
    // deploy) leave the wait to go on; without a deployment they may mean it could not be read, which
    // must not pass for "this deploy started none".
    if ((result.exitCode ?? 0) !== 0 && status.deployment === null) throw new Error(`the rollout status lists problems and no deployment: ${status.problems.join('; ')}`);
    return status;
  };

  if (flags.saveBaseline !== undefined) {
    const baseline = await saveBaseline({ file: flags.saveBaseline, readStatus, retryMs: flags.interval, sleep, log: deps.err });
    deps.out(baseline.deployment !== null ? `baseline deployment: ${baseline.deployment} (${baseline.status})` : `baseline: no deployment (${baseline.why}); any deployment counts`);
    return;
  }
  const baseline = flags.baseline === undefined ? null : readBaseline(flags.baseline);
  const timeoutMs = flags.timeout ?? defaultTimeoutMs(deps.loadConfig(flags.config));
  const what =
    baseline === null
      ? 'the newest deployment to end (no --baseline: whichever deploy started it)'
      : baseline.deployment !== null
        ? `a deployment newer than ${baseline.deployment} to end`
        : `the first deployment to end (baseline: ${baseline.why})`;
  deps.out(`waiting up to ${formatDuration(timeoutMs)} for ${what}`);
  const outcome = await awaitRollout({
    readStatus,
    baseline: baseline?.deployment ?? null,
    timeoutMs,
    intervalMs: flags.interval,
    settleMs: flags.settle,
    sleep,
    now: deps.now,
    log: (line) => deps.out(`${new Date().toISOString()}  ${line}`),
  });
  deps.out(outcome.detail);
  if (outcome.state === 'rolled-back') {
    if (process.env.GITHUB_ACTIONS) deps.out(`::error title=Rollout rolled back::${outcome.detail}`);
    throw new ReportedFailure();
  }
}

const COMMAND_HANDLERS: Record<RolloutCommand, (context: Context, invocation: Invocation) => Promise<CommandResult>> = {
  status: statusCommand,
  start: startCommand,
  stop: stopCommand,
  rollback: rollbackCommand,
  promote: promoteCommand,
  ring: ringCommand,
};

/** STS GetCallerIdentity first, so missing or expired credentials are named as such. */
async function callerAccount(sts: STSClient): Promise<string> {
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Account ?? 'unknown';
  } catch (error) {
    const credentials = credentialsProblem(error);
    if (credentials) throw new RolloutError(credentials);
    throw new RolloutError(`cannot check the AWS credentials with STS in ${ROLLOUT_REGION} (${errorName(error) || 'error'}: ${errorMessage(error)})`);
  }
}

/** Every published version with its build, from the descriptions ListVersionsByFunction returns. */
async function listVersions(context: Context): Promise<VersionView[]> {
  const versions: FunctionConfiguration[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await context.clients.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: context.names.entryRouter, Marker: marker, MaxItems: 50 }));
      versions.push(...(page.Versions ?? []));
      marker = page.NextMarker;
    } while (marker);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') throw new RolloutError(`function ${context.names.entryRouter} not found: deploy the stacks first`);
    throw error;
  }
  return versions.filter((v) => v.Version && v.Version !== '$LATEST').map((v) => ({ version: v.Version!, buildId: buildIdFromDescription(v.Description) }));
}

async function readAliasView(context: Context): Promise<AliasView> {
  const { lambda } = context.clients;
  const { entryRouter, liveAlias } = context.names;
  const state = aliasStateFrom(await getAlias(lambda, entryRouter, liveAlias));
  const buildOf = (version: string) => findBuildIdOfVersion(lambda, entryRouter, version).catch(() => null);
  return {
    functionName: entryRouter,
    name: liveAlias,
    stable: { version: state.stableVersion, buildId: await buildOf(state.stableVersion) },
    canary: state.canaryVersion ? { version: state.canaryVersion, buildId: await buildOf(state.canaryVersion), weight: state.canaryWeight } : null,
  };
}

/** The rollout store's ARN, found by the name every deploy gives it. */
async function rolloutStoreArn(context: Context): Promise<string> {
  const name = context.names.rolloutStore;
  try {
    const described = await context.clients.cloudfront.send(new DescribeKeyValueStoreCommand({ Name: name }));
    const arn = described.KeyValueStore?.ARN;
    if (!arn) throw new RolloutError(`CloudFront described key value store ${name} without an ARN`);
    return arn;
  } catch (error) {
    if (errorName(error) === 'EntityNotFound') throw new RolloutError(`no CloudFront key value store named ${name} in account ${context.account}: deploy the stacks first`);
    throw error;
  }
}

async function statusCommand(context: Context): Promise<CommandResult> {
  const problems: string[] = [];
  const alias = await readAliasView(context);
  for (const v of [alias.stable, ...(alias.canary ? [alias.canary] : [])]) {
    if (v.buildId === null) problems.push(`version ${v.version} of ${alias.functionName} names no buildId in its description`);
  }

  let state: StateView = { store: context.names.rolloutStore, arn: null, text: null, parsed: null, matchesAlias: false };
  try {
    const arn = await rolloutStoreArn(context);
    const { stored } = await readRolloutState(context.clients.kvs, arn);
    state = { ...state, arn, text: stored?.text ?? null, parsed: stored?.state ?? null, matchesAlias: stateMatchesAlias(alias, stored?.state ?? null) };
    if (!stored) problems.push(`the rollout state is missing from ${state.store}: the edges fall back to the entry router; deploy the stacks to recreate the key, and rollout sync fills it within a minute`);
    else if (!stored.state) problems.push(`the value in ${state.store} is not a valid rollout state: the edges fall back to the entry router; rollout sync rewrites it within a minute`);
  } catch (error) {
    problems.push(`cannot read the rollout state from ${state.store}: ${errorMessage(error)}`);
  }

  let deployment = null;
  let deploymentSummary: DeploymentSummary | null = null;
  try {
    const summary = await findCurrentOrLastDeployment(context.clients.codedeploy, context.group);
    deploymentSummary = summary;
    deployment = summary ? deploymentView(summary, alias) : null;
  } catch (error) {
    problems.push(`cannot read deployments: ${errorMessage(error)}`);
  }

  // The two that hold and roll back a release (client errors, a signal that cannot see), and the edge functions' errors.
  const alarmNames = [context.names.clientErrorAlarm, context.names.signalUnjudgedAlarm, context.names.edgeErrorAlarm];
  let alarms: AlarmView[] = alarmNames.map((name) => ({ name, state: null, reason: null, updated: null }));
  try {
    const described = await context.clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
    const found = [...(described.MetricAlarms ?? []), ...(described.CompositeAlarms ?? [])];
    alarms = alarmNames.map((name) => {
      const alarm = found.find((a) => a.AlarmName === name);
      if (!alarm) problems.push(`alarm ${name} does not exist: deploy the stacks first`);
      return { name, state: alarm?.StateValue ?? null, reason: alarm?.StateReason ?? null, updated: alarm?.StateUpdatedTimestamp?.toISOString() ?? null };
    });
  } catch (error) {
    problems.push(`cannot read alarms: ${errorMessage(error)}`);
  }

  let judgment: JudgmentView | null = null;
  if (deploymentSummary) {
    try {
      const record = await readJudgment(context.clients.dynamodb, context.names.signalTable, deploymentSummary.id);
      judgment = judgmentView(deploymentSummary, record, rolloutSteps(context.config.rollout), context.config.alarms.holdMinutes * 60_000, context.now());
    } catch (error) {
      problems.push(`cannot read the judgment of ${deploymentSummary.id}: ${errorMessage(error)}`);
    }
  }

  const status: RolloutStatus = { account: context.account, alias, state, deployment, alarms, judgment, dashboard: dashboardUrl(context.names.dashboard), problems };
  return { json: status, lines: formatStatus(status), exitCode: problems.length > 0 ? 1 : 0 };
}

function releaseLines(result: ReleaseResult, verb: string): string[] {
  if (result.action === 'unchanged') return [`Nothing to ${verb}: ${result.reason}.`];
  return [
    `Started deployment ${result.deploymentId}: version ${result.fromVersion} → ${result.toVersion} (build ${result.buildId})${result.deploymentConfigName ? ` with ${result.deploymentConfigName}` : ''}.`,
    `  ${result.reason}`,
    'Follow it with `npm run rollout -- status`; stop it with `npm run rollout -- stop`.',
  ];
}

async function startCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const versions = await listVersions(context);
  const chosen = invocation.version ? versions.find((v) => v.version === invocation.version) : newestVersion(versions);
  if (!chosen) {
    throw new RolloutError(
      invocation.version
        ? `${context.names.entryRouter} has no version ${invocation.version} (published: ${versions.map((v) => v.version).join(', ') || 'none'})`
        : `${context.names.entryRouter} has no published version: deploy the stacks first`,
    );
  }
  if (!chosen.buildId) throw new RolloutError(`${context.names.entryRouter} version ${chosen.version} names no buildId in its description; only versions published by the stacks can be released`);
  const result = await release({ version: chosen.version, buildId: chosen.buildId }, context.target, context.clients);
  const warnings = result.action === 'unchanged' ? [] : await startWarnings(context);
  return { json: { ...result, warnings }, lines: [...releaseLines(result, 'start'), ...warnings.map((warning) => `Warning: ${warning}`)] };
}

/**
 * Whether the configured steps can be judged in time, from the last day's entry traffic as the
 * signal consumer counted it (its Viewers and ErroringViewers metrics, an hour at a time). A
 * warning, never a refusal: the judge holds what it cannot judge either way.
 */
async function startWarnings(context: Context): Promise<string[]> {
  const end = new Date(Math.floor(context.now() / 3_600_000) * 3_600_000);
  const start = new Date(end.getTime() - 24 * 3_600_000);
  const hourly = async (metricName: string, role: string) => {
    const answer = await context.clients.cloudwatch.send(
      new GetMetricStatisticsCommand({ Namespace: context.config.metrics.namespace, MetricName: metricName, Dimensions: [{ Name: DIMENSION_ROLE, Value: role }], StartTime: start, EndTime: end, Period: 3600, Statistics: ['Sum'] }),
    );
    const byHour = new Map((answer.Datapoints ?? []).map((point) => [point.Timestamp?.getTime(), point.Sum ?? 0]));
    return Array.from({ length: 24 }, (_, hour) => byHour.get(start.getTime() + hour * 3_600_000) ?? 0);
  };
  try {
    const [stable, canary, ring, erring] = await Promise.all([hourly(METRIC_VIEWERS, 'stable'), hourly(METRIC_VIEWERS, 'canary'), hourly(METRIC_VIEWERS, 'ring'), hourly(METRIC_ERRORING_VIEWERS, 'stable')]);
    const stableViewers = stable.reduce((sum, v) => sum + v, 0);
    const traffic = { hourlyViewers: stable.map((v, hour) => v + (canary[hour] ?? 0) + (ring[hour] ?? 0)), stableShare: stableViewers > 0 ? erring.reduce((sum, v) => sum + v, 0) / stableViewers : null };
    const { alarms } = context.config;
    return evidenceWarnings(rolloutSteps(context.config.rollout), traffic, {
      rule: judgeRule(alarms),
      holdMinutes: alarms.holdMinutes,
      periodSeconds: alarms.periodSeconds,
      latenessSeconds: context.config.metrics.latenessSeconds,
      propagationMs: statePropagationMs(context.config.edge),
    });
  } catch (error) {
    return [`could not read the last day's traffic to check the steps can be judged in time: ${errorMessage(error)}`];
  }
}

async function activeDeployment(context: Context): Promise<DeploymentSummary | null> {
  const id = await findActiveDeploymentId(context.clients.codedeploy, context.group);
  return id ? getDeploymentSummary(context.clients.codedeploy, id) : null;
}

async function nothingRunning(context: Context, what: string, hint: string): Promise<RolloutError> {
  const last = await findCurrentOrLastDeployment(context.clients.codedeploy, context.group);
  return new RolloutError(`no deployment is in progress${last ? ` (the last one, ${last.id}, ${last.status})` : ''}; nothing to ${what}. ${hint}`);
}

async function stopWithRollback(context: Context, deployment: DeploymentSummary): Promise<CommandResult> {
  const stopped = await withGroupErrors(context.group, () => context.clients.codedeploy.send(new StopDeploymentCommand({ deploymentId: deployment.id, autoRollbackEnabled: true })));
  const back = deployment.fromVersion ? `version ${deployment.fromVersion}` : 'the version it started from';
  return {
    json: { action: 'stopped', deploymentId: deployment.id, rollback: true, fromVersion: deployment.fromVersion, toVersion: deployment.toVersion, status: stopped.status ?? null, message: stopped.statusMessage ?? null },
    lines: [
      `Stopping deployment ${deployment.id}${deployment.fromVersion && deployment.toVersion ? ` (version ${deployment.fromVersion} → ${deployment.toVersion})` : ''} with rollback: ${stopped.statusMessage ?? stopped.status ?? 'requested'}.`,
      `CodeDeploy moves alias ${context.names.liveAlias} back to ${back}; rollout sync writes weight 0 to the rollout store at once (state change) or within a minute, and every edge follows within seconds of that write.`,
    ],
  };
}

async function stopCommand(context: Context): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (!deployment) throw await nothingRunning(context, 'stop', 'To go back to the previous build, run `npm run rollout -- rollback`.');
  return stopWithRollback(context, deployment);
}

async function rollbackCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (deployment) {
    if (invocation.version) throw new RolloutError(`deployment ${deployment.id} is in progress; \`rollback\` stops it and rolls it back by itself, without --version`);
    return stopWithRollback(context, deployment);
  }
  const alias = await readAliasView(context);
  const versions = await listVersions(context);
  const target = invocation.version ? versions.find((v) => v.version === invocation.version) : previousReleaseVersion(versions, alias.stable);
  if (!target) {
    throw new RolloutError(
      invocation.version
        ? `${context.names.entryRouter} has no version ${invocation.version}`
        : `no version below ${alias.stable.version} serves another build than ${alias.stable.buildId ?? 'the current one'}: nothing to roll back to (name one with --version N)`,
    );
  }
  if (!target.buildId) throw new RolloutError(`${context.names.entryRouter} version ${target.version} names no buildId in its description; pick another with --version N`);
  const result = await release({ version: target.version, buildId: target.buildId }, context.target, context.clients, {
    deploymentConfigName: ALL_AT_ONCE_CONFIG,
    // The alarm that fired for the bad build must not stop (and undo) the way back.
    disableAlarms: true,
    description: `rollback to build ${target.buildId}: version ${alias.stable.version} → ${target.version} (rollout CLI)`,
  });
  return { json: result, lines: releaseLines(result, 'roll back') };
}

const PROMOTE_POLL_MS = 3000;
const PROMOTE_TIMEOUT_MS = 120_000;

/**
 * CodeDeploy cannot skip a Lambda canary's wait (ContinueDeployment is for EC2/ECS blue/green
 * wait times). So: stop the deployment without rollback, wait until it has stopped (so CodeDeploy
 * no longer writes the alias), then move the alias fully to the target version ourselves, guarded
 * by the alias's RevisionId.
 */
async function promoteCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (!deployment) throw await nothingRunning(context, 'promote', 'Start one with `npm run rollout -- start`.');
  // Promoting is the one way past the alarms: not by accident while one says the canary is failing,
  // or that the signal cannot see it.
  const watched = [
    { name: context.names.clientErrorAlarm, what: 'client-error alarm' },
    { name: context.names.signalUnjudgedAlarm, what: 'unjudged alarm (the release signal cannot see the canary)' },
  ];
  const described = (await context.clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: watched.map((w) => w.name), AlarmTypes: ['MetricAlarm'] }))).MetricAlarms ?? [];
  const firing = watched.flatMap((w) => {
    const alarm = described.find((a) => a.AlarmName === w.name);
    return alarm?.StateValue === 'ALARM' ? [`its ${w.what} ${w.name} is in ALARM (${alarm.StateReason ?? 'no reason given'})`] : [];
  });
  if (firing.length > 0 && !invocation.force) {
    throw new RolloutError(`not promoting deployment ${deployment.id}: ${firing.join('; ')}, so CodeDeploy is about to roll it back. If you are sure the canary is fine, run \`npm run rollout -- promote --force\`.`);
  }
  const { lambda, codedeploy } = context.clients;
  const { entryRouter, liveAlias } = context.names;
  const targetVersion = deployment.toVersion ?? aliasStateFrom(await getAlias(lambda, entryRouter, liveAlias)).canaryVersion;
  if (!targetVersion) throw new RolloutError(`cannot tell which version deployment ${deployment.id} moves to (its AppSpec names none and the alias has no second version)`);

  await withGroupErrors(context.group, () => codedeploy.send(new StopDeploymentCommand({ deploymentId: deployment.id, autoRollbackEnabled: false })));
  let final = await getDeploymentSummary(codedeploy, deployment.id);
  for (let waited = 0; final.active; waited += PROMOTE_POLL_MS) {
    if (waited >= PROMOTE_TIMEOUT_MS) {
      throw new RolloutError(`deployment ${deployment.id} is still ${final.status} ${PROMOTE_TIMEOUT_MS / 1000} s after the stop request; run \`npm run rollout -- promote\` again once it has stopped`);
    }
    await context.sleep(PROMOTE_POLL_MS);
    final = await getDeploymentSummary(codedeploy, deployment.id);
  }
  if (final.status === 'Failed') {
    throw new RolloutError(`deployment ${deployment.id} failed before it could be promoted (${final.error ?? 'no reason given'}); CodeDeploy rolls it back. See \`npm run rollout -- status\`.`);
  }

  const alias = await getAlias(lambda, entryRouter, liveAlias);
  const state = aliasStateFrom(alias);
  const buildId = await findBuildIdOfVersion(lambda, entryRouter, targetVersion).catch(() => null);
  let moved = false;
  if (state.stableVersion !== targetVersion || state.canaryVersion !== null) {
    if (final.status === 'Succeeded') throw new RolloutError(`deployment ${deployment.id} succeeded, but alias ${liveAlias} is on version ${state.stableVersion}; see \`npm run rollout -- status\``);
    try {
      await lambda.send(new UpdateAliasCommand({ FunctionName: entryRouter, Name: liveAlias, FunctionVersion: targetVersion, RoutingConfig: { AdditionalVersionWeights: {} }, RevisionId: alias.RevisionId }));
    } catch (error) {
      if (errorName(error) === 'PreconditionFailedException') throw new RolloutError(`alias ${liveAlias} changed while promoting; check \`npm run rollout -- status\` and run promote again if still needed`);
      throw error;
    }
    moved = true;
  }

  // Ask rollout sync to publish the change now rather than at its next minute; it does either way.
  const syncRequested = await requestSync(context);
  return {
    json: { action: 'promoted', deploymentId: deployment.id, deploymentStatus: final.status, version: targetVersion, buildId, aliasMoved: moved, syncRequested },
    lines: [
      `Promoted deployment ${deployment.id}: alias ${liveAlias} sends ${percent(10000)} of viewers to version ${targetVersion}${buildId ? ` (build ${buildId})` : ''}.`,
      `The deployment is ${final.status} in CodeDeploy, so no alarm rolls this release back any more; if it misbehaves, run \`npm run rollout -- rollback\`.`,
      syncRequested ? 'Rollout sync was asked to update the rollout state now.' : `Could not invoke ${context.names.rolloutSync}; it updates the rollout state within a minute anyway.`,
    ],
  };
}

/** Invokes rollout sync asynchronously with the CLI's event; false when it could not be invoked. */
async function requestSync(context: Context): Promise<boolean> {
  try {
    await context.clients.lambda.send(new InvokeCommand({ FunctionName: context.names.rolloutSync, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(MANUAL_SYNC_EVENT)) }));
    return true;
  } catch {
    return false;
  }
}

/** Attempts of a ring edit whose conditional write finds the store changed (rollout sync wrote meanwhile). */
const RING_EDIT_ATTEMPTS = 5;

/**
 * `ring list|add|remove`: edits the ring in the rollout state with the same conditional write as
 * rollout sync (If-Match the store's ETag), so an edit never undoes a state rollout sync wrote in
 * between, and rollout sync never drops an edit (it carries the ring over).
 */
async function ringCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const { action, origin } = invocation.ring!;
  const arn = await rolloutStoreArn(context);
  for (let attempt = 1; ; attempt += 1) {
    const { etag, stored } = await readRolloutState(context.clients.kvs, arn);
    if (!stored?.state) {
      throw new RolloutError(`the rollout store ${context.names.rolloutStore} holds no valid rollout state ${stored ? '(its value does not parse)' : '(no key)'}; rollout sync writes one within a minute of a deploy, then edit the ring`);
    }
    const current = stored.state;
    const budget = ringBudget(current.ring);
    if (action === 'list') {
      return {
        json: { ring: current.ring, bytes: budget.used, limitBytes: budget.limit },
        lines:
          current.ring.length === 0
            ? ['The ring is empty: every viewer is assigned by weight.']
            : [`Ring (${current.ring.length} origins, ${budget.used} of ${budget.limit} bytes), canary whatever the weight:`, ...current.ring.map((o) => `  ${o}`)],
      };
    }
    let next: RolloutState;
    try {
      next = action === 'add' ? withRingOrigin(current, origin!) : withoutRingOrigin(current, origin!);
    } catch (error) {
      throw new RolloutError(errorMessage(error));
    }
    const changed = next.ring.length !== current.ring.length;
    if (changed) {
      try {
        await writeRolloutState(context.clients.kvs, arn, formatRolloutState(next), etag, (text) =>
          announceState(context.clients.dynamodb, context.names.signalTable, text, Date.now(), { propagationMs: statePropagationMs(context.config.edge) }),
        );
      } catch (error) {
        if (error instanceof StaleStoreError && attempt < RING_EDIT_ATTEMPTS) continue;
        throw error;
      }
    }
    // Rollout sync carries the ring over from the store; have it look now rather than within a minute.
    const syncRequested = changed ? await requestSync(context) : false;
    const subject = action === 'add' ? (next.ring.find((o) => !current.ring.includes(o)) ?? origin!) : origin!;
    const verb = action === 'add' ? (changed ? 'Added' : 'Already in the ring:') : changed ? 'Removed' : 'Not in the ring:';
    const canary = next.canary ? `it gets the canary (build ${next.canary}) on its next load` : 'it gets the canary of the next rollout from its start';
    return {
      json: { action, origin: subject, changed, ring: next.ring, syncRequested },
      lines: [`${verb} ${subject}.${action === 'add' ? ` A page on that origin loading the widget: ${canary}.` : ''}`, `The ring has ${next.ring.length} origin${next.ring.length === 1 ? '' : 's'}.`],
    };
  }
}

/**
 * `npm run rollout -- <command>`: the command layer. Clients, config, output and the clock are
 * injected (scripts/rollout.ts passes the real ones, tests pass mocked SDK clients); what to show
 * and what to choose is in rollout-view.ts; starting a deployment is the release function's own
 * code path (regional-function/release/release.ts).
 *
 * Exit codes: 0 done, 1 failed (AWS, credentials, missing resources, nothing to act on), 2 usage.
 */
import { parseArgs } from 'node:util';
import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { StopDeploymentCommand, type CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, ListVersionsByFunctionCommand, UpdateAliasCommand, type FunctionConfiguration, type LambdaClient } from '@aws-sdk/client-lambda';
import { ListHostedZonesByNameCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ConfigError, resourceNames, type DeployConfig, type ResourceNames } from '../../config';
import { release, type ReleaseResult, type ReleaseTarget } from '../../regional-function/release/release';
import { MANUAL_SYNC_EVENT } from '../../regional-function/rollout-sync/core';
import { aliasStateFrom, findBuildIdOfVersion, getAlias } from '../../regional-function/shared/alias-state';
import { errorMessage, errorName } from '../../regional-function/shared/aws-errors';
import {
  ALL_AT_ONCE_CONFIG,
  findActiveDeploymentId,
  findCurrentOrLastDeployment,
  getDeploymentSummary,
  withGroupErrors,
  type DeploymentGroupRef,
  type DeploymentSummary,
} from '../../regional-function/shared/deployments';
import { readStoredRolloutRecord } from '../../regional-function/shared/rollout-record-store';
import { buildIdFromDescription } from '../../regional-function/shared/version-description';
import {
  deploymentView,
  formatStatus,
  newestVersion,
  percent,
  previousReleaseVersion,
  recordMatchesAlias,
  type AlarmView,
  type AliasView,
  type RecordView,
  type RolloutStatus,
  type VersionView,
} from './rollout-view';

/** Everything here lives in us-east-1: the entry router (Lambda@Edge), its alias and CodeDeploy. */
export const ROLLOUT_REGION = 'us-east-1';

export interface RolloutClients {
  readonly lambda: LambdaClient;
  readonly codedeploy: CodeDeployClient;
  readonly route53: Route53Client;
  readonly cloudwatch: CloudWatchClient;
  readonly sts: STSClient;
}

export interface RolloutCliDeps {
  readonly loadConfig: (file?: string) => DeployConfig;
  readonly createClients: () => RolloutClients;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const COMMANDS = ['status', 'start', 'stop', 'rollback', 'promote'] as const;
export type RolloutCommand = (typeof COMMANDS)[number];

export const USAGE = `Usage: npm run rollout -- <command> [options]

Commands:
  status     alias weights, rollout record, current or last deployment, alarms
  start      deploy the newest published entry-router version (or --version N)
  stop       stop the running deployment and roll it back
  rollback   stop the running deployment and roll it back; with none running, deploy the
             previous build (or --version N) all at once, with alarms off for that deployment
  promote    finish the running deployment now: stop it without rollback and move the alias
             fully to its target version (no alarm rolls it back afterwards)

Options:
  --config <file>   deploy config (default: DEPLOY_CONFIG, else deploy.config.json)
  --version <N>     entry-router version for start and rollback
  --json            print the result as JSON on stdout
  -h, --help        show this help

Exit codes: 0 done, 1 failed, 2 usage error.`;

const CONFIGURE_CREDENTIALS =
  'Configure credentials for the account the stacks were deployed to: `aws configure` (access keys), or `aws sso login --profile <name>` then `export AWS_PROFILE=<name>`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';

/** A failure whose message is the whole story: printed as is, exit 1. */
export class RolloutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutError';
  }
}

class UsageError extends Error {}

interface Invocation {
  readonly command: RolloutCommand | 'help';
  readonly config?: string;
  readonly version?: string;
  readonly json: boolean;
}

function parseInvocation(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string' }, version: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help', json: false };
  if (positionals.length === 0) throw new UsageError('no command given');
  if (positionals.length > 1) throw new UsageError(`one command at a time; got ${positionals.join(' ')}`);
  const command = positionals[0];
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}"; use one of ${COMMANDS.join(', ')}`);
  if (values.version !== undefined) {
    if (command !== 'start' && command !== 'rollback') throw new UsageError(`--version applies to start and rollback, not ${command}`);
    if (!/^[1-9]\d*$/.test(values.version)) throw new UsageError(`--version must be a published version number such as 7; got "${values.version}"`);
  }
  return { command: command as RolloutCommand, config: values.config, version: values.version, json: values.json ?? false };
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
  readonly target: ReleaseTarget;
  readonly group: DeploymentGroupRef;
}

export async function runRolloutCli(argv: readonly string[], deps: RolloutCliDeps): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    deps.err(`rollout: ${errorMessage(error)}`);
    deps.err('');
    deps.err(USAGE);
    return 2;
  }
  if (invocation.command === 'help') {
    deps.out(USAGE);
    return 0;
  }
  const { command, json } = invocation;
  try {
    const config = deps.loadConfig(invocation.config);
    const clients = deps.createClients();
    const account = await callerAccount(clients.sts);
    const names = resourceNames(config);
    const context: Context = {
      names,
      config,
      clients,
      account,
      sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      target: { functionName: names.entryRouter, aliasName: names.liveAlias, application: names.codeDeployApplication, deploymentGroup: names.deploymentGroup },
      group: { application: names.codeDeployApplication, deploymentGroup: names.deploymentGroup },
    };
    const result = await COMMAND_HANDLERS[command](context, invocation);
    if (json) deps.out(JSON.stringify(result.json, null, 2));
    else result.lines.forEach((line) => deps.out(line));
    return result.exitCode ?? 0;
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : `rollout ${command}: ${errorMessage(error)}`;
    deps.err(message);
    if (json) deps.out(JSON.stringify({ error: errorMessage(error) }, null, 2));
    return 1;
  }
}

const COMMAND_HANDLERS: Record<RolloutCommand, (context: Context, invocation: Invocation) => Promise<CommandResult>> = {
  status: statusCommand,
  start: startCommand,
  stop: stopCommand,
  rollback: rollbackCommand,
  promote: promoteCommand,
};

/** STS GetCallerIdentity first, so missing or expired credentials are named as such. */
async function callerAccount(sts: STSClient): Promise<string> {
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Account ?? 'unknown';
  } catch (error) {
    const name = errorName(error);
    const message = errorMessage(error);
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
      throw new RolloutError(`no AWS credentials found (${message}). ${CONFIGURE_CREDENTIALS}`);
    }
    if (/expired/i.test(name) || /expired/i.test(message)) throw new RolloutError(`the AWS credentials have expired (${message}). Refresh them (e.g. \`aws sso login\`). ${CONFIGURE_CREDENTIALS}`);
    if (['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'AccessDenied'].includes(name)) {
      throw new RolloutError(`AWS rejected the credentials (${name}: ${message}). ${CONFIGURE_CREDENTIALS}`);
    }
    throw new RolloutError(`cannot check the AWS credentials with STS in ${ROLLOUT_REGION} (${name || 'error'}: ${message})`);
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

async function hostedZoneId(context: Context): Promise<string> {
  if (context.config.hostedZone.id) return context.config.hostedZone.id;
  const zoneName = context.config.hostedZone.name;
  const listed = await context.clients.route53.send(new ListHostedZonesByNameCommand({ DNSName: zoneName, MaxItems: 10 }));
  const zones = (listed.HostedZones ?? []).filter((zone) => zone.Name === `${zoneName}.` && !zone.Config?.PrivateZone);
  if (zones.length === 0) throw new RolloutError(`no public Route53 hosted zone named ${zoneName} in account ${context.account}: check hostedZone.name, or set hostedZone.id in the config`);
  if (zones.length > 1) throw new RolloutError(`${zones.length} public hosted zones are named ${zoneName} (${zones.map((z) => z.Id).join(', ')}): set hostedZone.id in the config`);
  return zones[0].Id!.replace(/^\/hostedzone\//, '');
}

async function statusCommand(context: Context): Promise<CommandResult> {
  const problems: string[] = [];
  const alias = await readAliasView(context);
  for (const v of [alias.stable, ...(alias.canary ? [alias.canary] : [])]) {
    if (v.buildId === null) problems.push(`version ${v.version} of ${alias.functionName} names no buildId in its description`);
  }

  let record: RecordView = { name: context.names.rolloutRecord, zoneId: null, ttl: null, text: null, parsed: null, matchesAlias: false };
  try {
    const zoneId = await hostedZoneId(context);
    const stored = await readStoredRolloutRecord(context.clients.route53, zoneId, context.names.rolloutRecord);
    record = { ...record, zoneId, ttl: stored?.ttl ?? null, text: stored?.text ?? null, parsed: stored?.record ?? null, matchesAlias: recordMatchesAlias(alias, stored?.record ?? null) };
    if (!stored) problems.push(`rollout record ${record.name} does not exist: deploy the stacks, then rollout sync writes it within a minute`);
    else if (!stored.record) problems.push(`rollout record ${record.name} is not a valid rollout record; the edges ignore it and serve the stable build they last knew`);
  } catch (error) {
    problems.push(`cannot read rollout record ${record.name}: ${errorMessage(error)}`);
  }

  let deployment = null;
  try {
    const summary = await findCurrentOrLastDeployment(context.clients.codedeploy, context.group);
    deployment = summary ? deploymentView(summary, alias) : null;
  } catch (error) {
    problems.push(`cannot read deployments: ${errorMessage(error)}`);
  }

  const alarmNames = [context.names.clientErrorAlarm, context.names.edgeErrorAlarm];
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

  const status: RolloutStatus = { account: context.account, alias, record, deployment, alarms, problems };
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
  return { json: result, lines: releaseLines(result, 'start') };
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
      `CodeDeploy moves alias ${context.names.liveAlias} back to ${back}; rollout sync writes weight=0 at once (state change) or within a minute, and every edge serves the stable build within about a minute more.`,
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
async function promoteCommand(context: Context): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (!deployment) throw await nothingRunning(context, 'promote', 'Start one with `npm run rollout -- start`.');
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
  let syncRequested = true;
  try {
    await lambda.send(new InvokeCommand({ FunctionName: context.names.rolloutSync, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(MANUAL_SYNC_EVENT)) }));
  } catch {
    syncRequested = false;
  }
  return {
    json: { action: 'promoted', deploymentId: deployment.id, deploymentStatus: final.status, version: targetVersion, buildId, aliasMoved: moved, syncRequested },
    lines: [
      `Promoted deployment ${deployment.id}: alias ${liveAlias} sends ${percent(10000)} of viewers to version ${targetVersion}${buildId ? ` (build ${buildId})` : ''}.`,
      `The deployment is ${final.status} in CodeDeploy, so no alarm rolls this release back any more; if it misbehaves, run \`npm run rollout -- rollback\`.`,
      syncRequested ? 'Rollout sync was asked to update the rollout record now.' : `Could not invoke ${context.names.rolloutSync}; it updates the rollout record within a minute anyway.`,
    ],
  };
}

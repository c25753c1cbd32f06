/**
 * What every rollout command stands on: the injected clients and config, the context built from them
 * once per command run, and the reads several handlers share. The commands themselves are one file
 * each beside this one; index.ts wires them into the command tree and prints what they return.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import {
  InvokeCommand,
  ListVersionsByFunctionCommand,
  type FunctionConfiguration,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { RevokeRequest } from './revoke';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { resourceNames, type DeployConfig, type ResourceNames } from '../../config';
import { credentialsProblem } from '../../rollout-control/credentials';
import {
  readRolloutState,
  rolloutStoreArnByName,
  StaleStoreError,
  writeRolloutState,
  type StoreRead,
} from '../../rollout-control/rollout-state-store';
import { announceState } from '../../rollout-control/signal-table';
import { statePropagationMs } from '../../contracts/release-signal';
import { formatRolloutState, type RolloutState } from '../../contracts/rollout-state';
import type { ReleaseResult, ReleaseTarget } from '../../rollout-control/release';
import { MANUAL_SYNC_EVENT } from '../../rollout-control/sync-plan';
import { aliasStateFrom, findBuildIdOfVersion, getAlias } from '../../rollout-control/alias-state';
import { errorMessage, errorName } from '../../rollout-control/aws-errors';
import {
  findActiveDeploymentId,
  findCurrentOrLastDeployment,
  getDeploymentSummary,
  type DeploymentGroupRef,
  type DeploymentSummary,
} from '../../rollout-control/deployments';
import { buildIdFromDescription } from '../../contracts/version-description';
import type { AliasView, VersionView } from '../lib/rollout-view';
import type { RingAction } from './ring';
import type { PreviewRequest } from './preview';

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
  /** The release notifications topic (`revoke` publishes). @default a client in us-east-1, made when first needed */
  readonly sns?: SNSClient;
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

/** A failure whose message is the whole story: printed as is, exit 1. */
export class RolloutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutError';
  }
}

export interface Invocation {
  readonly config?: string;
  readonly json: boolean;
  /** `start` and `rollback`: the entry-router version to release. */
  readonly version?: string;
  /** `promote` only: even while the client-error alarm fires. */
  readonly force?: boolean;
  /** `ring` only. */
  readonly ring?: { readonly action: RingAction; readonly origin?: string };
  /** `revoke` only. */
  readonly revoke?: RevokeRequest;
  /** `preview` only. */
  readonly preview?: PreviewRequest;
}

export interface CommandResult {
  readonly json: unknown;
  readonly lines: readonly string[];
  /** @default 0 */
  readonly exitCode?: number;
}

export interface Context {
  readonly names: ResourceNames;
  readonly config: DeployConfig;
  readonly clients: RolloutClients;
  readonly account: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** The clock the judge's progress is read at. */
  readonly now: () => number;
  /**
   * The release target but the store, which `releaseTarget` adds (one CloudFront call, made only by
   * commands that release).
   */
  readonly target: Omit<ReleaseTarget, 'storeArn'>;
  readonly group: DeploymentGroupRef;
}

/** What each command is: run once per invocation, on the context; index.ts prints what it returns. */
export type CommandHandler = (context: Context, invocation: Invocation) => Promise<CommandResult>;

/** Config, clients and the caller's account: what every command needs before it asks AWS anything else. */
export async function createContext(deps: RolloutCliDeps, configFile: string | undefined): Promise<Context> {
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

/** STS GetCallerIdentity first, so missing or expired credentials are named as such. */
async function callerAccount(sts: STSClient): Promise<string> {
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Account ?? 'unknown';
  } catch (error) {
    const credentials = credentialsProblem(error);
    if (credentials) throw new RolloutError(credentials);
    throw new RolloutError(
      `cannot check the AWS credentials with STS in ${ROLLOUT_REGION} (${errorName(error) || 'error'}: ` +
        `${errorMessage(error)})`,
    );
  }
}

/** Where a release goes, with the store a revoked build is looked up in. */
export async function releaseTarget(context: Context): Promise<ReleaseTarget> {
  return { ...context.target, storeArn: await rolloutStoreArn(context) };
}

/** Every published version with its build, from the descriptions ListVersionsByFunction returns. */
export async function listVersions(context: Context): Promise<VersionView[]> {
  const versions: FunctionConfiguration[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await context.clients.lambda.send(
        new ListVersionsByFunctionCommand({ FunctionName: context.names.entryRouter, Marker: marker, MaxItems: 50 }),
      );
      versions.push(...(page.Versions ?? []));
      marker = page.NextMarker;
    } while (marker);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException')
      throw new RolloutError(`function ${context.names.entryRouter} not found: deploy the stacks first`);
    throw error;
  }
  return versions
    .filter((v) => v.Version && v.Version !== '$LATEST')
    .map((v) => ({ version: v.Version!, buildId: buildIdFromDescription(v.Description) }));
}

export async function readAliasView(context: Context): Promise<AliasView> {
  const { lambda } = context.clients;
  const { entryRouter, liveAlias } = context.names;
  const state = aliasStateFrom(await getAlias(lambda, entryRouter, liveAlias));
  const buildOf = (version: string) => findBuildIdOfVersion(lambda, entryRouter, version).catch(() => null);
  return {
    functionName: entryRouter,
    name: liveAlias,
    stable: { version: state.stableVersion, buildId: await buildOf(state.stableVersion) },
    canary: state.canaryVersion
      ? { version: state.canaryVersion, buildId: await buildOf(state.canaryVersion), weight: state.canaryWeight }
      : null,
  };
}

/** The rollout store's ARN, found by the name every deploy gives it. */
export async function rolloutStoreArn(context: Context): Promise<string> {
  const name = context.names.rolloutStore;
  try {
    return await rolloutStoreArnByName(context.clients.cloudfront, name);
  } catch (error) {
    if (errorName((error as Error).cause ?? error) === 'EntityNotFound')
      throw new RolloutError(
        `no CloudFront key value store named ${name} in account ${context.account}: deploy the stacks first`,
      );
    throw error;
  }
}

export function releaseLines(result: ReleaseResult, verb: string): string[] {
  if (result.action === 'unchanged') return [`Nothing to ${verb}: ${result.reason}.`];
  return [
    `Started deployment ${result.deploymentId}: version ${result.fromVersion} → ${result.toVersion} (build ` +
      `${result.buildId})${result.deploymentConfigName ? ` with ${result.deploymentConfigName}` : ''}.`,
    `  ${result.reason}`,
    'Follow it with `npm run rollout -- status`; stop it with `npm run rollout -- stop`.',
  ];
}

export async function activeDeployment(context: Context): Promise<DeploymentSummary | null> {
  const id = await findActiveDeploymentId(context.clients.codedeploy, context.group);
  return id ? getDeploymentSummary(context.clients.codedeploy, id) : null;
}

export async function nothingRunning(context: Context, what: string, hint: string): Promise<RolloutError> {
  const last = await findCurrentOrLastDeployment(context.clients.codedeploy, context.group);
  return new RolloutError(
    `no deployment is in progress${last ? ` (the last one, ${last.id}, ${last.status})` : ''}; nothing to ` +
      `${what}. ${hint}`,
  );
}

/** Invokes rollout sync asynchronously with the CLI's event; false when it could not be invoked. */
export async function requestSync(context: Context): Promise<boolean> {
  try {
    await context.clients.lambda.send(
      new InvokeCommand({
        FunctionName: context.names.rolloutSync,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(MANUAL_SYNC_EVENT)),
      }),
    );
    return true;
  } catch {
    return false;
  }
}

/** Attempts of a state edit whose conditional write finds the store changed (rollout sync wrote meanwhile). */
const STATE_EDIT_ATTEMPTS = 5;

/** What an edit decided from one read of the store: the state to write (null: write nothing) and what to report. */
export interface StateEdit<T> {
  readonly next: RolloutState | null;
  readonly result: T;
}

/**
 * Edits the rollout state with the same conditional write as rollout sync (If-Match the store's
 * ETag, read before the value), so an edit never undoes a state rollout sync wrote in between, and
 * rollout sync, which carries the ring and the previews over, never drops an edit. The new state is
 * announced to the signal consumer's timeline before it is written. `decide` sees each read (again
 * after a lost race, so everything it checks is checked against the state written) and throws to
 * refuse; nothing is written then.
 */
export async function editRolloutState<T>(
  context: Context,
  storeArn: string,
  decide: (read: StoreRead) => Promise<StateEdit<T>>,
): Promise<{ readonly result: T; readonly written: boolean }> {
  for (let attempt = 1; ; attempt += 1) {
    const read = await readRolloutState(context.clients.kvs, storeArn);
    const { next, result } = await decide(read);
    if (next === null) return { result, written: false };
    try {
      await writeRolloutState(context.clients.kvs, storeArn, formatRolloutState(next), read.etag, (text) =>
        announceState(context.clients.dynamodb, context.names.signalTable, text, context.now(), {
          propagationMs: statePropagationMs(context.config.edge),
        }),
      );
      return { result, written: true };
    } catch (error) {
      if (error instanceof StaleStoreError && attempt < STATE_EDIT_ATTEMPTS) continue;
      throw error;
    }
  }
}

/** The state a read found, or the refusal an edit gets: the store holds no key, or a value that does not parse. */
export function editableState(context: Context, read: StoreRead, then: string): RolloutState {
  if (read.stored?.state) return read.stored.state;
  throw new RolloutError(
    `the rollout store ${context.names.rolloutStore} holds no valid rollout state ` +
      `${read.stored ? '(its value does not parse)' : '(no key)'}; rollout sync writes one within a minute of a ` +
      `deploy, then ${then}`,
  );
}

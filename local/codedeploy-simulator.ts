/**
 * CodeDeploy and the `live` alias, simulated: the part of AWS that decides "which builds, at what
 * weight". Versions are published with a buildId (as `cdktf deploy` does), a deployment shifts the
 * alias by the configured steps (config/rollout.ts, the same steps CodeDeploy is configured with),
 * and a stop or an alarm rolls the alias back. What the edges see is not decided here: the control
 * plane hands `aliasBuilds` and `deploymentSummary` to rollout sync's own core, as AWS would.
 *
 * Pure: every function takes the state and a time (ms on the local mode's clock) and returns the
 * next state, so tests and the benchmark drive it with a simulated clock.
 */
import type { RolloutStep } from '../config/rollout';
import type { AliasBuilds } from '../rollout-control/alias-state';
import { isActiveStatus, type DeploymentSummary } from '../rollout-control/deployments';

export interface SimulatedDeployment {
  /** `d-LOCAL0001`: the shape rollout sync's event schema accepts. */
  readonly id: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly status: 'InProgress' | 'Succeeded' | 'Stopped' | 'Failed';
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly steps: readonly RolloutStep[];
  /** Why it ended, when it did not succeed. */
  readonly error: string | null;
}

export interface CodeDeployState {
  /** Published versions → buildId ("1", "2", ... as Lambda numbers them). */
  readonly versions: Readonly<Record<string, string>>;
  readonly stableVersion: string;
  readonly canaryVersion: string | null;
  /** Basis points. */
  readonly canaryWeight: number;
  readonly deployment: SimulatedDeployment | null;
  readonly deploymentsStarted: number;
}

/** The first deploy: version 1 of the entry router, all viewers on it, no deployment. */
export function initialState(buildId: string): CodeDeployState {
  return {
    versions: { '1': buildId },
    stableVersion: '1',
    canaryVersion: null,
    canaryWeight: 0,
    deployment: null,
    deploymentsStarted: 0,
  };
}

/** `cdktf deploy` of a new build: a new numbered version; the alias does not move by itself. */
export function publishVersion(state: CodeDeployState, buildId: string): { state: CodeDeployState; version: string } {
  const version = String(Math.max(...Object.keys(state.versions).map(Number)) + 1);
  return { state: { ...state, versions: { ...state.versions, [version]: buildId } }, version };
}

/** The release function's CreateDeployment: refused while one runs, as CodeDeploy refuses it. */
export function startDeployment(
  state: CodeDeployState,
  toVersion: string,
  steps: readonly RolloutStep[],
  now: number,
): CodeDeployState {
  if (!(toVersion in state.versions))
    throw new Error(`version ${toVersion} was never published (published: ${Object.keys(state.versions).join(', ')})`);
  if (state.deployment && isActiveStatus(state.deployment.status))
    throw new Error(`deployment ${state.deployment.id} is in progress; stop it first`);
  if (toVersion === state.stableVersion) throw new Error(`the alias already points at version ${toVersion}`);
  const number = state.deploymentsStarted + 1;
  const deployment: SimulatedDeployment = {
    id: `d-LOCAL${String(number).padStart(4, '0')}`,
    fromVersion: state.stableVersion,
    toVersion,
    status: 'InProgress',
    startedAt: now,
    endedAt: null,
    steps,
    error: null,
  };
  return advance({ ...state, deployment, deploymentsStarted: number, canaryVersion: toVersion, canaryWeight: 0 }, now);
}

/** Moves the alias to where the running deployment's steps say it is at `now`. */
export function advance(state: CodeDeployState, now: number): CodeDeployState {
  const deployment = state.deployment;
  if (deployment?.status !== 'InProgress') return state;
  const minutes = (now - deployment.startedAt) / 60_000;
  const reached = deployment.steps.filter((step) => step.atMinute <= minutes);
  const weight = reached.at(-1)?.weight ?? 0;
  if (weight >= 10_000) {
    return {
      ...state,
      stableVersion: deployment.toVersion,
      canaryVersion: null,
      canaryWeight: 0,
      deployment: { ...deployment, status: 'Succeeded', endedAt: now },
    };
  }
  return { ...state, canaryVersion: deployment.toVersion, canaryWeight: weight };
}

/** Stop with rollback (`rollout stop`, or the alarm: `Failed`): the alias goes back to where it started. */
export function rollBack(
  state: CodeDeployState,
  now: number,
  reason: string,
  status: 'Stopped' | 'Failed',
): CodeDeployState {
  const deployment = state.deployment;
  if (deployment?.status !== 'InProgress') return state;
  return {
    ...state,
    stableVersion: deployment.fromVersion,
    canaryVersion: null,
    canaryWeight: 0,
    deployment: { ...deployment, status, endedAt: now, error: reason },
  };
}

/** The alias as rollout sync reads it (readAliasBuilds). */
export function aliasBuilds(state: CodeDeployState): AliasBuilds {
  const stable = { version: state.stableVersion, buildId: buildOf(state, state.stableVersion) };
  const canary = state.canaryVersion
    ? { version: state.canaryVersion, buildId: buildOf(state, state.canaryVersion), weight: state.canaryWeight }
    : null;
  return { stable, canary };
}

function buildOf(state: CodeDeployState, version: string): string {
  const buildId = state.versions[version];
  if (buildId === undefined)
    throw new Error(
      `the alias names version ${version}, which was never published (published: ` +
        `${Object.keys(state.versions).join(', ')})`,
    );
  return buildId;
}

/** The deployment as rollout sync reads it (getDeploymentSummary). */
export function deploymentSummary(state: CodeDeployState): DeploymentSummary | null {
  const d = state.deployment;
  if (!d) return null;
  return {
    id: d.id,
    status: d.status,
    active: isActiveStatus(d.status),
    config: 'local',
    creator: 'user',
    description: null,
    createTime: new Date(d.startedAt),
    completeTime: d.endedAt === null ? null : new Date(d.endedAt),
    fromVersion: d.fromVersion,
    toVersion: d.toVersion,
    error: d.error,
    rollbackOf: null,
    rolledBackBy: null,
  };
}

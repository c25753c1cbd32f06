/**
 * The rollout CLI's pure part: the status model (also its `--json` shape), how it reads to a
 * person, and the choices the commands make from data (newest version, previous build, progress).
 */
import type { RolloutState } from '../../contracts/rollout-state';
import { effectiveCanary, rolloutStateFor } from '../../regional-function/rollout-sync/core';
import type { DeploymentSummary } from '../../regional-function/shared/deployments';

export interface VersionView {
  readonly version: string;
  /** Null when the version's description names no build. */
  readonly buildId: string | null;
}

export interface AliasView {
  readonly functionName: string;
  readonly name: string;
  readonly stable: VersionView;
  /** weight: basis points of viewers on the canary. */
  readonly canary: (VersionView & { readonly weight: number }) | null;
}

export interface StateView {
  /** Name of the CloudFront key value store. */
  readonly store: string;
  /** Null when the store could not be found. */
  readonly arn: string | null;
  /** The stored value; null when there is none. */
  readonly text: string | null;
  /** Parsed as the edges parse it; null when missing or malformed. */
  readonly parsed: RolloutState | null;
  /** Says what the alias says (builds and weight; the salt is rollout sync's choice). */
  readonly matchesAlias: boolean;
}

export interface DeploymentView {
  readonly id: string;
  readonly status: string;
  readonly active: boolean;
  readonly config: string | null;
  readonly creator: string | null;
  readonly description: string | null;
  /** ISO 8601. */
  readonly started: string | null;
  readonly completed: string | null;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  /** Basis points of viewers on toVersion while the deployment runs; null when unknown or ended. */
  readonly progress: number | null;
  readonly error: string | null;
  readonly rollbackOf: string | null;
  readonly rolledBackBy: string | null;
}

export interface AlarmView {
  readonly name: string;
  /** OK, ALARM, INSUFFICIENT_DATA; null when the alarm does not exist. */
  readonly state: string | null;
  readonly reason: string | null;
  readonly updated: string | null;
}

/** What `rollout status --json` prints. */
export interface RolloutStatus {
  readonly account: string;
  readonly alias: AliasView;
  readonly state: StateView;
  /** The running deployment, else the last one; null when the group never deployed. */
  readonly deployment: DeploymentView | null;
  readonly alarms: readonly AlarmView[];
  /** What could not be read or looks wrong; the command exits 1 when there is any. */
  readonly problems: readonly string[];
  /** The release dashboard in the CloudWatch console. */
  readonly dashboard: string;
}

function numeric(version: string): number {
  return /^\d+$/.test(version) ? Number(version) : -1;
}

/** The highest published version; null when only $LATEST exists. */
export function newestVersion<T extends VersionView>(versions: readonly T[]): T | null {
  return versions.filter((v) => numeric(v.version) > 0).reduce<T | null>((best, v) => (best === null || numeric(v.version) > numeric(best.version) ? v : best), null);
}

/**
 * Where `rollback` goes without --version: the highest version below `current` whose build is
 * known and differs from the current build (versions republished with the same build are skipped).
 */
export function previousReleaseVersion(versions: readonly VersionView[], current: VersionView): VersionView | null {
  const below = versions.filter((v) => numeric(v.version) > 0 && numeric(v.version) < numeric(current.version) && v.buildId !== null && v.buildId !== current.buildId);
  return newestVersion(below);
}

/** Whether the state says what rollout sync would write for this alias (salt and ring aside). */
export function stateMatchesAlias(alias: AliasView, parsed: RolloutState | null): boolean {
  if (!parsed || alias.stable.buildId === null || (alias.canary && alias.canary.buildId === null)) return false;
  const builds = {
    stable: { version: alias.stable.version, buildId: alias.stable.buildId },
    canary: alias.canary ? { version: alias.canary.version, buildId: alias.canary.buildId!, weight: alias.canary.weight } : null,
  };
  const expected = rolloutStateFor(builds, effectiveCanary(builds) ? 'any' : null, parsed.ring);
  return parsed.stable === expected.stable && parsed.canary === expected.canary && parsed.weight === expected.weight;
}

export function deploymentView(deployment: DeploymentSummary, alias: AliasView): DeploymentView {
  return {
    id: deployment.id,
    status: deployment.status,
    active: deployment.active,
    config: deployment.config,
    creator: deployment.creator,
    description: deployment.description,
    started: deployment.createTime?.toISOString() ?? null,
    completed: deployment.completeTime?.toISOString() ?? null,
    fromVersion: deployment.fromVersion,
    toVersion: deployment.toVersion,
    progress: deployment.active ? progressOf(deployment, alias) : null,
    error: deployment.error,
    rollbackOf: deployment.rollbackOf,
    rolledBackBy: deployment.rolledBackBy,
  };
}

/** The alias is the deployment's progress: the weight it gives the target version. */
function progressOf(deployment: DeploymentSummary, alias: AliasView): number | null {
  if (!deployment.toVersion) return null;
  if (alias.canary?.version === deployment.toVersion) return alias.canary.weight;
  if (alias.stable.version === deployment.toVersion) return 10000;
  if (alias.stable.version === deployment.fromVersion && !alias.canary) return 0;
  return null;
}

export function percent(basisPoints: number): string {
  return `${(basisPoints / 100).toFixed(basisPoints % 100 === 0 ? 0 : 2)}%`;
}

function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).trimEnd());
}

/** The human view of `rollout status`. */
export function formatStatus(status: RolloutStatus): string[] {
  const { alias, state, deployment } = status;
  const build = (v: VersionView) => v.buildId ?? '(no buildId)';
  const lines = [`Entry router ${alias.functionName}, alias ${alias.name} (account ${status.account})`];
  const canaryWeight = alias.canary?.weight ?? 0;
  lines.push(
    ...table([
      ['stable', `version ${alias.stable.version}`, `build ${build(alias.stable)}`, percent(10000 - canaryWeight)],
      ...(alias.canary ? [['canary', `version ${alias.canary.version}`, `build ${build(alias.canary)}`, percent(alias.canary.weight)]] : []),
    ]),
  );

  lines.push('', `Rollout state (CloudFront key value store ${state.store})`);
  if (state.text === null) lines.push('  (none)');
  else {
    lines.push(`  ${state.text}`);
    lines.push(state.parsed === null ? '  not a valid rollout state: the edges fall back to the entry router' : state.matchesAlias ? '  matches the alias' : '  differs from the alias: rollout sync has not caught up (it runs every minute)');
    if (state.parsed && state.parsed.ring.length > 0) lines.push(`  ring: ${state.parsed.ring.join(', ')} (canary whatever the weight)`);
  }

  lines.push('', 'Deployment');
  if (!deployment) lines.push('  (none yet)');
  else {
    lines.push(
      ...table([
        ['id', `${deployment.id}  ${deployment.status}${deployment.active ? ' (running)' : ''}`],
        ...(deployment.fromVersion && deployment.toVersion ? [['versions', `${deployment.fromVersion} → ${deployment.toVersion}`]] : []),
        ...(deployment.config ? [['config', deployment.config]] : []),
        ...(deployment.started ? [['started', deployment.started]] : []),
        ...(deployment.completed ? [['completed', deployment.completed]] : []),
        ...(deployment.progress !== null ? [['progress', `${percent(deployment.progress)} of viewers on version ${deployment.toVersion}`]] : []),
        ...(deployment.creator && deployment.creator !== 'user' ? [['creator', deployment.creator]] : []),
        ...(deployment.rollbackOf ? [['rolls back', deployment.rollbackOf]] : []),
        ...(deployment.rolledBackBy ? [['rolled back by', deployment.rolledBackBy]] : []),
        ...(deployment.error ? [['error', deployment.error]] : []),
      ]),
    );
  }

  lines.push('', 'Alarms');
  lines.push(...table(status.alarms.map((alarm) => [alarm.name, alarm.state ?? 'MISSING', ...(alarm.reason ? [alarm.reason] : [])])));

  lines.push('', `Dashboard  ${status.dashboard}`);
  if (status.problems.length > 0) lines.push('', 'Problems', ...status.problems.map((problem) => `  - ${problem}`));
  return lines;
}

/**
 * The rollout CLI's pure part: the status model (also its `--json` shape), how it reads to a
 * person, and the choices the commands make from data (newest version, previous build, progress).
 */
import type { NotificationLogEntry } from '../../contracts/release-notification';
import type { Revocation } from '../../contracts/revocation';
import type { Preview, RolloutState } from '../../contracts/rollout-state';
import { effectiveCanary, rolloutStateFor } from '../../rollout-control/sync-plan';
import type { DeploymentSummary } from '../../rollout-control/deployments';
import { viewersToJudge, type JudgeRule } from '../../contracts/canary-judge';
import {
  releaseProgress,
  type JudgmentRecord,
  type ReleaseOutcome,
  type ReleaseStep,
} from '../../contracts/release-progress';

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

/** The judge's view of the running (or last) release: what the evidence shows, and what it allows. */
export interface JudgmentView {
  readonly deploymentId: string;
  /**
   * running, complete, failed (the judge found the canary failing), not-enough-evidence (a step held past its hold).
   */
  readonly outcome: ReleaseOutcome;
  /** The weight the judge allows now (basis points). */
  readonly weight: number;
  /** ISO 8601, while a step waits past its configured time for its evidence. */
  readonly heldSince: string | null;
  /** When a hold that lasts ends the release as "not enough evidence" (ISO 8601). */
  readonly holdEndsAt: string | null;
  /** The judge's words at its last look (or why there is no look yet). */
  readonly reason: string;
  /** The last look's shares and their ranges (0..1), viewers summed; null before the first look. */
  readonly canary: {
    readonly share: number;
    readonly lower: number;
    readonly upper: number;
    readonly viewers: number;
  } | null;
  readonly stable: {
    readonly share: number;
    readonly lower: number;
    readonly upper: number;
    readonly viewers: number;
  } | null;
  /** ISO 8601 of the last look. */
  readonly lookedAt: string | null;
  /** Weight → when it was judged healthy (ISO 8601). */
  readonly healthyAt: Readonly<Record<string, string>>;
}

/**
 * The judge's view of a deployment from its record (null when the consumer has not looked yet):
 * the progress at `now` while it runs, at its end once it ended.
 */
export function judgmentView(
  deployment: DeploymentSummary,
  record: JudgmentRecord | null,
  steps: readonly ReleaseStep[],
  holdMs: number,
  now: number,
): JudgmentView | null {
  if (!deployment.createTime) return null;
  const at = deployment.active ? now : (deployment.completeTime?.getTime() ?? now);
  const progress = releaseProgress(
    steps,
    {
      startedAt: deployment.createTime.getTime(),
      healthyAt: record?.healthyAt ?? {},
      failedAt: record?.failedAt ?? null,
    },
    holdMs,
    at,
  );
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const outcome: ReleaseOutcome =
    deployment.active || progress.outcome !== 'running'
      ? progress.outcome
      : deployment.status === 'Succeeded'
        ? 'complete'
        : 'running';
  return {
    deploymentId: deployment.id,
    outcome,
    weight: progress.weight,
    heldSince: iso(progress.heldSince),
    holdEndsAt: progress.heldSince === null ? null : iso(progress.heldSince + holdMs),
    reason:
      record?.failure ??
      record?.last?.reason ??
      'no look yet: the signal consumer has counted no viewer of this release',
    canary: record?.last?.canary ?? null,
    stable: record?.last?.stable ?? null,
    lookedAt: iso(record?.last?.at ?? null),
    healthyAt: Object.fromEntries(
      Object.entries(record?.healthyAt ?? {}).map(([weight, ms]) => [weight, new Date(ms).toISOString()]),
    ),
  };
}

const OUTCOME_WORDS: Record<ReleaseOutcome, string> = {
  running: 'running',
  complete: 'complete: every viewer has the new build',
  failed: 'failed: the judge found the canary failing, rolled back',
  'not-enough-evidence': 'not enough evidence: a step waited past its hold, rolled back',
};

function shareLine(role: string, range: NonNullable<JudgmentView['canary']>): string[] {
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  return [
    role,
    `${pct(range.share)} of ${range.viewers.toLocaleString('en')} viewers erred`,
    `plausibly ${pct(range.lower)} to ${pct(range.upper)}`,
  ];
}

/** What `rollout status --json` prints. */
export interface RolloutStatus {
  readonly account: string;
  readonly alias: AliasView;
  readonly state: StateView;
  /** The running deployment, else the last one; null when the group never deployed. */
  readonly deployment: DeploymentView | null;
  readonly alarms: readonly AlarmView[];
  /**
   * The judge's view of the deployment above; null with no deployment, or none the judge has a record of or could be
   * asked about.
   */
  readonly judgment: JudgmentView | null;
  /** What could not be read or looks wrong; the command exits 1 when there is any. */
  readonly problems: readonly string[];
  /** The release dashboard in the CloudWatch console. */
  readonly dashboard: string;
  /** Revoked builds (`rollout revoke`), oldest first. */
  readonly revocations: readonly Revocation[];
  /**
   * The previews in force when the state was read (`rollout preview`), in stored order; expired ones
   * still stored are only in `state.parsed`.
   */
  readonly previews: readonly PreviewView[];
  /** The last release messages published to the topic (rollout sync's and revoke's), oldest first. */
  readonly notifications: readonly NotificationLogEntry[];
}

/** A preview as the CLI shows it (`rollout preview list`, `status`). */
export interface PreviewView {
  readonly build: string;
  /** The viewer prefix, normalized (contracts/viewer-address.ts). */
  readonly viewer: string;
  /** When it ends, ISO 8601. */
  readonly until: string;
  /** Whole seconds left at the time of reading; 0 once it has ended. */
  readonly secondsLeft: number;
}

export function previewViews(previews: readonly Preview[], now: number): PreviewView[] {
  return previews.map((preview) => ({
    build: preview.build,
    viewer: preview.viewer,
    until: new Date(preview.until * 1000).toISOString(),
    secondsLeft: Math.max(0, Math.floor((preview.until * 1000 - now) / 1000)),
  }));
}

/** Seconds as the two largest units a person reads at a glance: `6d 23h`, `59m 30s`, `40s`. */
export function roughDuration(seconds: number): string {
  const units = [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const;
  const whole = Math.max(0, Math.floor(seconds));
  const first = units.findIndex(([, size]) => whole >= size);
  if (first < 0) return '0s';
  const [unit, size] = units[first]!;
  const next = units[first + 1];
  const rest = next === undefined ? 0 : Math.floor((whole % size) / next[1]);
  return `${Math.floor(whole / size)}${unit}${rest > 0 && next !== undefined ? ` ${rest}${next[0]}` : ''}`;
}

function numeric(version: string): number {
  return /^\d+$/.test(version) ? Number(version) : -1;
}

/** The highest published version; null when only $LATEST exists. */
export function newestVersion<T extends VersionView>(versions: readonly T[]): T | null {
  return versions
    .filter((v) => numeric(v.version) > 0)
    .reduce<T | null>((best, v) => (best === null || numeric(v.version) > numeric(best.version) ? v : best), null);
}

/**
 * Where `rollback` goes without --version: the highest version below `current` whose build is
 * known and differs from the current build (versions republished with the same build are skipped).
 */
export function previousReleaseVersion(versions: readonly VersionView[], current: VersionView): VersionView | null {
  const below = versions.filter(
    (v) =>
      numeric(v.version) > 0 &&
      numeric(v.version) < numeric(current.version) &&
      v.buildId !== null &&
      v.buildId !== current.buildId,
  );
  return newestVersion(below);
}

/** Whether the state says what rollout sync would write for this alias (salt and ring aside). */
export function stateMatchesAlias(alias: AliasView, parsed: RolloutState | null): boolean {
  if (!parsed || alias.stable.buildId === null || (alias.canary && alias.canary.buildId === null)) return false;
  const builds = {
    stable: { version: alias.stable.version, buildId: alias.stable.buildId },
    canary: alias.canary
      ? { version: alias.canary.version, buildId: alias.canary.buildId!, weight: alias.canary.weight }
      : null,
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

/** Rows as aligned columns, the last one unpadded. */
export function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) =>
    (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).trimEnd(),
  );
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
      ...(alias.canary
        ? [['canary', `version ${alias.canary.version}`, `build ${build(alias.canary)}`, percent(alias.canary.weight)]]
        : []),
    ]),
  );

  lines.push('', `Rollout state (CloudFront key value store ${state.store})`);
  if (state.text === null) lines.push('  (none)');
  else {
    lines.push(`  ${state.text}`);
    lines.push(
      state.parsed === null
        ? '  not a valid rollout state: the edges fall back to the entry router'
        : state.matchesAlias
          ? '  matches the alias'
          : status.judgment?.outcome === 'running'
            ? "  the weight is the judge's (the alias holds the first step while the release runs)"
            : '  differs from the alias: rollout sync has not caught up (it runs every minute)',
    );
    if (state.parsed && state.parsed.ring.length > 0)
      lines.push(`  ring: ${state.parsed.ring.join(', ')} (canary whatever the weight)`);
    for (const preview of status.previews)
      lines.push(
        `  preview: ${preview.viewer} gets build ${preview.build} until ${preview.until} ` +
          `(${roughDuration(preview.secondsLeft)} left; counted apart, never judged)`,
      );
  }

  lines.push('', 'Deployment');
  if (!deployment) lines.push('  (none yet)');
  else {
    lines.push(
      ...table([
        ['id', `${deployment.id}  ${deployment.status}${deployment.active ? ' (running)' : ''}`],
        ...(deployment.fromVersion && deployment.toVersion
          ? [['versions', `${deployment.fromVersion} → ${deployment.toVersion}`]]
          : []),
        ...(deployment.config ? [['config', deployment.config]] : []),
        ...(deployment.started ? [['started', deployment.started]] : []),
        ...(deployment.completed ? [['completed', deployment.completed]] : []),
        ...(deployment.progress !== null
          ? [['progress', `${percent(deployment.progress)} of viewers on version ${deployment.toVersion}`]]
          : []),
        ...(deployment.creator && deployment.creator !== 'user' ? [['creator', deployment.creator]] : []),
        ...(deployment.rollbackOf ? [['rolls back', deployment.rollbackOf]] : []),
        ...(deployment.rolledBackBy ? [['rolled back by', deployment.rolledBackBy]] : []),
        ...(deployment.error ? [['error', deployment.error]] : []),
      ]),
    );
  }

  const judged = status.judgment;
  if (judged) {
    lines.push('', `Judge (deployment ${judged.deploymentId})`);
    lines.push(
      ...table([
        ['outcome', OUTCOME_WORDS[judged.outcome]],
        ...(judged.outcome === 'running'
          ? [['weight', `${percent(judged.weight)} allowed by the evidence so far`]]
          : []),
        ...(judged.heldSince
          ? [['held', `since ${judged.heldSince}; ends as "not enough evidence" at ${judged.holdEndsAt}`]]
          : []),
        ['verdict', judged.reason],
        ...(judged.canary ? [shareLine('canary', judged.canary)] : []),
        ...(judged.stable ? [shareLine('stable', judged.stable)] : []),
        ...Object.entries(judged.healthyAt).map(([weight, at]) => [
          'healthy',
          `at ${percent(Number(weight))} since ${at}`,
        ]),
      ]),
    );
  }

  lines.push('', 'Alarms');
  lines.push(
    ...table(
      status.alarms.map((alarm) => [alarm.name, alarm.state ?? 'MISSING', ...(alarm.reason ? [alarm.reason] : [])]),
    ),
  );

  lines.push('', `Dashboard  ${status.dashboard}`);
  if (status.revocations.length > 0) {
    lines.push('', 'Revoked builds (410 everywhere; never stable, canary or a rollback target again)');
    for (const revocation of status.revocations) {
      const at = revocation.at === null ? 'at an unknown time' : new Date(revocation.at).toISOString();
      lines.push(`  ${revocation.buildId}  ${at}  ${revocation.reason}`);
    }
  }
  if (status.notifications.length > 0) {
    lines.push('', 'Last notifications (newest last)');
    for (const notice of status.notifications)
      lines.push(
        `  ${new Date(notice.at).toISOString()}  ${notice.subject}` +
          `${notice.failure === null ? '' : `  (not delivered: ${notice.failure})`}`,
      );
  }
  if (status.problems.length > 0) lines.push('', 'Problems', ...status.problems.map((problem) => `  - ${problem}`));
  return lines;
}

/**
 * What `rollout start` knows of the last day's entry traffic: distinct viewers per hour (all roles), and the stable
 * build's erring share.
 */
export interface DayOfTraffic {
  /** Viewers counted in each of the last 24 hours, oldest first; an hour with no datapoint is 0. */
  readonly hourlyViewers: readonly number[];
  /** Erring stable viewers over stable viewers, the day through; null with no stable viewer. */
  readonly stableShare: number | null;
}

/** What the judge needs of the config to say whether a step can be judged in time. */
export interface EvidenceSettings {
  readonly rule: JudgeRule;
  readonly holdMinutes: number;
  readonly periodSeconds: number;
  readonly latenessSeconds: number;
  /**
   * How long after a step is written its own viewers start to count (contracts/release-signal.ts statePropagationMs).
   */
  readonly propagationMs: number;
}

/**
 * Whether the configured steps can be judged in time at the last day's quietest hour: each step
 * needs its own canary viewers, counted once the step has reached every edge and their period has
 * closed, before its interval ends; past it by alarms.holdMinutes the release ends for want of
 * evidence. Warnings in words, with what to change; none when the traffic suffices.
 */
export function evidenceWarnings(
  steps: readonly ReleaseStep[],
  traffic: DayOfTraffic,
  settings: EvidenceSettings,
): string[] {
  const judged = steps.filter((step) => step.weight < 10000);
  const [firstJudged] = judged;
  if (firstJudged === undefined) return [];
  const hours = traffic.hourlyViewers;
  const total = hours.reduce((sum, viewers) => sum + viewers, 0);
  if (total === 0) {
    return [
      `The release signal counted no entry viewer in the last day: no step can be judged healthy, so the first ` +
        `(${percent(firstJudged.weight)}) holds, and after alarms.holdMinutes (${settings.holdMinutes}) the ` +
        `release is rolled back for want of evidence. Check the signal (npm run rollout -- status, the release ` +
        `dashboard) before starting.`,
    ];
  }
  const quietestPerMinute = Math.min(...hours) / 60;
  const share = traffic.stableShare ?? 0.01;
  const baseline = Math.round(quietestPerMinute * (settings.periodSeconds / 60) * 10);
  const overheadMinutes = (settings.propagationMs / 1000 + settings.periodSeconds + settings.latenessSeconds) / 60;
  // The judged steps are the first ones (weights only grow), so steps[index + 1] follows judged[index].
  const stepMinutes = (step: ReleaseStep, index: number) => {
    const next = steps[index + 1];
    if (next === undefined)
      throw new Error(`the last step must give everyone the new build; it gives ${percent(step.weight)}`);
    const canaryPerMinute = (quietestPerMinute * step.weight) / 10000;
    // The first step needs the evidence to rule the excess out; later ones build on it and need their own minViewers.
    const needed = index === 0 ? viewersToJudge(settings.rule, share, baseline) : settings.rule.minViewers;
    const minutes =
      needed === null || canaryPerMinute === 0 ? Number.POSITIVE_INFINITY : needed / canaryPerMinute + overheadMinutes;
    return { step, canaryPerMinute, needed, minutes, intervalMinutes: next.atMinute - step.atMinute };
  };
  const at =
    `at the last day's quietest hour (${Math.round(quietestPerMinute * 60).toLocaleString('en')} viewers, stable ` +
    `ones erring at ${round1(share * 100)} %)`;
  const warnings: string[] = [];
  const first = stepMinutes(firstJudged, 0);
  const later = judged.slice(1).map((step, index) => stepMinutes(step, index + 1));
  const slowest = later.reduce<ReturnType<typeof stepMinutes> | null>(
    (worst, s) => (worst === null || s.minutes - s.intervalMinutes > worst.minutes - worst.intervalMinutes ? s : worst),
    null,
  );
  for (const [label, s] of [
    ['the first step', first],
    ['the slowest later step', slowest],
  ] as const) {
    if (s === null || s.minutes <= s.intervalMinutes) continue;
    const what =
      `${at}, ${label} (${percent(s.step.weight)}) gets ${round1(s.canaryPerMinute)} canary viewers a minute and ` +
      `needs about ${s.needed === null ? 'more than 100,000' : s.needed.toLocaleString('en')}, counted from ` +
      `${Math.round(overheadMinutes * 10) / 10} min after it is written`;
    if (s.minutes > s.intervalMinutes + settings.holdMinutes) {
      const hold = Number.isFinite(s.minutes) ? Math.ceil(s.minutes - s.intervalMinutes) : null;
      warnings.push(
        `${what}: more than its ${s.intervalMinutes} min and alarms.holdMinutes (${settings.holdMinutes}) ` +
          `together, so a release started then is rolled back for want of evidence. ` +
          `${
            hold === null
              ? 'Start when viewers are many'
              : `Raise alarms.holdMinutes to ${hold} or more (a quiet widget), or start when viewers are many`
          }.`,
      );
    } else {
      warnings.push(
        `${what}: about ${Math.ceil(s.minutes)} min against its ${s.intervalMinutes}, so the steps hold until ` +
          `judged (within alarms.holdMinutes, ${settings.holdMinutes}); the release takes longer than configured.`,
      );
    }
  }
  return warnings;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

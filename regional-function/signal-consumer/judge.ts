/**
 * The signal consumer's judge, pure part: what each look adds to a release's evidence, and what
 * the judge (contracts/canary-judge.ts) decides on it. A function of (the stored record, the
 * periods the batch closed, the open periods' counts so far, the timeline, the rule, the clock).
 *
 * A release is the timeline's current state while it names a canary; its salt (the deployment's
 * id) names its record. Each closed, judged period that served only this release (or the stable
 * build alone, before it) adds its counts once, and its canary viewers every state agreed on at
 * one weight count for that weight, which is what a step needs to be judged healthy.
 *
 *   failing   is decided on everything seen so far: the closed periods, the open ones' counts
 *             (a canary failing now is rolled back without waiting for its period to close), the
 *             canary as the newest state assigns it (core.ts CanaryEvidence: no waiting for a new
 *             state to reach every edge either; it can only understate the canary's share), and
 *             the stable build's baseline. It is latched: once failing, always failing.
 *   healthy   is decided on closed periods only, and only while the last of them was judged: a
 *             step is never judged healthy on what the judge could not see whole. Recorded once per
 *             weight, with its time (contracts/release-progress.ts paces the steps by it).
 */
import { judgeCanary, type Evidence, type JudgeRule, type RoleEvidence } from '../../contracts/canary-judge';
import { newJudgmentRecord, type JudgmentRecord } from '../../contracts/release-progress';
import type { RolloutState } from '../../contracts/rollout-state';
import type { CanaryEvidence, ClosedPeriod, RoleCounts } from './core';
import type { TimedState } from '../../contracts/release-signal';

export interface PeriodCounts extends CanaryEvidence {
  readonly start: number;
  readonly counts: Readonly<Record<'canary' | 'stable', RoleCounts>>;
}

export interface LookInput {
  /** The stored record of the current release, if any (the caller reads it by salt). */
  readonly record: JudgmentRecord | null;
  readonly timeline: readonly TimedState[];
  /** Periods the batch closed, judged or not. */
  readonly closed: readonly ClosedPeriod[];
  /** Open periods' counts so far. */
  readonly open: readonly PeriodCounts[];
  /** The stable build's counts just before the release, for a record started now. */
  readonly baseline: RoleEvidence;
  readonly rule: JudgeRule;
  readonly periodMs: number;
  readonly now: number;
}

export interface LookResult {
  /** The release's record after this look; null when no release runs. */
  readonly record: JudgmentRecord | null;
  /** The record changed in what it keeps (counts, decisions): write it. */
  readonly changed: boolean;
  /** The judge found the canary failing at this look. */
  readonly failedNow: boolean;
  /** The weight this look judged healthy, if it did. */
  readonly healthyWeight: number | null;
}

const ZERO: RoleEvidence = { viewers: 0, erroring: 0 };
const add = (a: RoleEvidence, b: RoleEvidence): RoleEvidence => ({
  viewers: a.viewers + b.viewers,
  erroring: a.erroring + b.erroring,
});

/** The release running now: the timeline's current state, when it names a canary. */
export function currentRelease(
  timeline: readonly TimedState[],
): (RolloutState & { readonly salt: string; readonly canary: string; readonly from: number }) | null {
  const current = timeline.find((timed) => timed.until === null);
  if (!current || current.state.canary === null || current.state.salt === null) return null;
  return { ...current.state, canary: current.state.canary, salt: current.state.salt, from: current.from };
}

/** The states the edges may have served during [start, end). */
function statesDuring(timeline: readonly TimedState[], start: number, end: number): RolloutState[] {
  return timeline
    .filter((timed) => timed.from < end && (timed.until === null || timed.until > start))
    .map((timed) => timed.state);
}

/** The period served only this release's states, or the stable build alone: its counts are this release's evidence. */
function servedRelease(
  states: readonly RolloutState[],
  release: { readonly salt: string; readonly stable: string; readonly canary: string },
): boolean {
  return (
    states.length > 0 &&
    states.every(
      (state) =>
        state.stable === release.stable &&
        (state.canary === null || (state.canary === release.canary && state.salt === release.salt)),
    )
  );
}

export function look(input: LookInput): LookResult {
  const release = currentRelease(input.timeline);
  if (release === null) return { record: null, changed: false, failedNow: false, healthyWeight: null };
  const stored = input.record !== null && input.record.salt === release.salt ? input.record : null;
  let record = stored ?? newJudgmentRecord(release, input.baseline);
  let changed = stored === null;

  let closed = record.closed;
  const atWeight: Record<string, number> = { ...record.atWeight };
  let { lastPeriod, lastPeriodJudged } = record;
  for (const period of [...input.closed].sort((a, b) => a.start - b.start)) {
    if (lastPeriod !== null && period.start <= lastPeriod) continue;
    const states = statesDuring(input.timeline, period.start, period.start + input.periodMs);
    if (!servedRelease(states, release)) continue;
    lastPeriod = period.start;
    lastPeriodJudged = period.unjudged === null;
    changed = true;
    if (period.unjudged !== null) continue;
    closed = {
      canary: add(closed.canary, period.counts.canary),
      stable: add(closed.stable, period.counts.stable),
      newestCanary: add(closed.newestCanary, period.newestCanary),
    };
    for (const [weight, viewers] of Object.entries(period.canaryAtWeight))
      if (states.some((state) => String(state.weight) === weight && state.salt === release.salt))
        atWeight[weight] = (atWeight[weight] ?? 0) + viewers;
  }

  let open = { newestCanary: ZERO, stable: ZERO };
  for (const period of input.open) {
    if (lastPeriod !== null && period.start <= lastPeriod) continue;
    if (!servedRelease(statesDuring(input.timeline, period.start, period.start + input.periodMs), release)) continue;
    open = {
      newestCanary: add(open.newestCanary, period.newestCanary),
      stable: add(open.stable, period.counts.stable),
    };
  }

  // The canary as the newest state has it (never fewer viewers than agreed): sooner, and if anything diluted.
  const seen: Evidence = {
    canary: add(closed.newestCanary, open.newestCanary),
    stable: add(add(closed.stable, open.stable), record.baseline),
  };
  const now = judgeCanary(seen, input.rule);
  let { failedAt, failure } = record;
  const failedNow = failedAt === null && now.verdict === 'failing';
  if (failedNow) {
    failedAt = input.now;
    failure = now.reason;
    changed = true;
  }

  let healthyWeight: number | null = null;
  const healthyAt = { ...record.healthyAt };
  const weightKey = String(release.weight);
  const whole = judgeCanary({ canary: closed.canary, stable: add(closed.stable, record.baseline) }, input.rule);
  if (
    failedAt === null &&
    lastPeriodJudged &&
    whole.verdict === 'healthy' &&
    (atWeight[weightKey] ?? 0) >= input.rule.minViewers &&
    healthyAt[weightKey] === undefined
  ) {
    healthyAt[weightKey] = input.now;
    healthyWeight = release.weight;
    changed = true;
  }

  const atThisWeight = atWeight[weightKey] ?? 0;
  const reason =
    failure ??
    (healthyAt[weightKey] !== undefined
      ? whole.reason
      : !lastPeriodJudged && lastPeriod !== null
        ? 'holding: the last period was not seen whole (late or lost records, a full stream, a consumer restart)'
        : whole.verdict === 'healthy' && atThisWeight < input.rule.minViewers
          ? `holding: ${atThisWeight} of the ${input.rule.minViewers} canary viewers a step needs counted at ` +
            `${release.weight / 100} %`
          : whole.verdict === 'healthy'
            ? whole.reason
            : now.reason);
  const verdict = failedAt !== null ? 'failing' : healthyAt[weightKey] !== undefined ? 'healthy' : 'unknown';
  const last = {
    at: input.now,
    verdict,
    reason,
    canary: { ...now.canary, viewers: seen.canary.viewers },
    stable: { ...now.stable, viewers: seen.stable.viewers },
    excess: now.excess,
  } as const;
  record = { ...record, closed, atWeight, lastPeriod, lastPeriodJudged, healthyAt, failedAt, failure, last };
  return { record, changed, failedNow, healthyWeight };
}

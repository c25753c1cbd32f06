/**
 * How far a release may have gone: the configured steps, paced by the clock and gated by the
 * judge. Pure: rollout sync applies it to the rollout store, `rollout status` shows it, the local
 * mode and the benchmark's simulation run it.
 *
 * Step k (weight w_k) begins when the one before it ended. It ends, and step k+1 begins, at the
 * later of:
 *   - its configured time: `atMinute` of step k+1 minus that of step k after it began, so a
 *     release whose evidence keeps up takes exactly the configured steps;
 *   - the moment the judge found the canary healthy with at least minViewers counted at w_k
 *     (`healthyAt[w_k]`).
 * So the weight never rises past the last step the evidence judged healthy. A step past its
 * configured time without that judgment is held; held longer than `holdMs`, the release ends as
 * "not enough evidence" and is rolled back, which is told apart from "failed" (the judge found the
 * canary failing). The last step (everyone) needs no judgment after it: reaching it completes the
 * release.
 */
/** One configured step (config/rollout.ts `rolloutSteps`): minutes after the start, weight in basis points. */
export interface ReleaseStep {
  readonly atMinute: number;
  readonly weight: number;
}

export interface ReleaseRecord {
  /** When the deployment started (ms). */
  readonly startedAt: number;
  /** Weight (basis points) → when the judge first found the canary healthy at it (ms). */
  readonly healthyAt: Readonly<Record<string, number>>;
  /** When the judge found the canary failing (ms), if it did. */
  readonly failedAt: number | null;
}

export type ReleaseOutcome = 'running' | 'complete' | 'failed' | 'not-enough-evidence';

export interface ReleaseProgress {
  readonly outcome: ReleaseOutcome;
  /** The weight viewers may get now; 0 once the release failed or ran out of evidence. */
  readonly weight: number;
  /** Index of the step in force (the last one reached). */
  readonly step: number;
  /** When that step began. */
  readonly stepSince: number;
  /** Set while the step is past its configured time without a healthy judgment: since when. */
  readonly heldSince: number | null;
  /** When the release ended (completed, failed or ran out of evidence); null while it runs. */
  readonly endedAt: number | null;
  /** When the next step is due by the clock (null on the last one). */
  readonly nextDueAt: number | null;
}

export function releaseProgress(
  steps: readonly ReleaseStep[],
  record: ReleaseRecord,
  holdMs: number,
  now: number,
): ReleaseProgress {
  let step = 0;
  let current = steps[0];
  if (current === undefined) throw new Error('a release needs at least one step');
  let since = record.startedAt;
  const failed = record.failedAt !== null && record.failedAt <= now ? record.failedAt : null;
  for (;;) {
    // Reaching everyone completes the release; a failure found later still rolls it back while CodeDeploy holds it
    // open.
    if (current.weight >= 10000) {
      if (failed !== null)
        return {
          outcome: 'failed',
          weight: 0,
          step,
          stepSince: since,
          heldSince: null,
          endedAt: failed,
          nextDueAt: null,
        };
      return {
        outcome: 'complete',
        weight: 10000,
        step,
        stepSince: since,
        heldSince: null,
        endedAt: since,
        nextDueAt: null,
      };
    }
    const next = steps[step + 1];
    if (next === undefined)
      throw new Error(`the last step must give everyone the new build; it gives ${current.weight / 100} %`);
    const due = since + (next.atMinute - current.atMinute) * 60_000;
    const healthy = record.healthyAt[String(current.weight)];
    const advancesAt = healthy !== undefined && healthy >= since ? Math.max(due, healthy) : null;
    const giveUpAt = due + holdMs;
    // What ends this step first: a failure, the advance, or the hold running out.
    const endings = [failed, advancesAt, giveUpAt].filter((at): at is number => at !== null && at <= now);
    const first = endings.length > 0 ? Math.min(...endings) : null;
    if (first === null) {
      return {
        outcome: 'running',
        weight: current.weight,
        step,
        stepSince: since,
        heldSince: now >= due ? due : null,
        endedAt: null,
        nextDueAt: due,
      };
    }
    if (first === failed)
      return {
        outcome: 'failed',
        weight: 0,
        step,
        stepSince: since,
        heldSince: null,
        endedAt: failed,
        nextDueAt: null,
      };
    if (first === advancesAt) {
      step += 1;
      current = next;
      since = advancesAt;
      continue;
    }
    return {
      outcome: 'not-enough-evidence',
      weight: 0,
      step,
      stepSince: since,
      heldSince: due,
      endedAt: giveUpAt,
      nextDueAt: null,
    };
  }
}

/** The longest a release can run before it completes or runs out of evidence: every step waiting its whole hold. */
export function longestReleaseMs(steps: readonly ReleaseStep[], holdMs: number): number {
  const last = steps.at(-1);
  if (last === undefined) throw new Error('a release needs at least one step');
  const judged = steps.filter((step) => step.weight < 10000).length;
  return last.atMinute * 60_000 + judged * holdMs;
}

/**
 * What the signal consumer keeps of a release's judgment, in the release-signal table under
 * `release#<salt>` (the salt is the deployment's id): the evidence it has summed, what it decided
 * and when, and its last look, for rollout sync, `rollout status` and the dashboard.
 */
export interface JudgmentRecord {
  readonly salt: string;
  readonly stable: string;
  readonly canary: string;
  /** The stable build's counts in the periods just before the release (the same build, the same audience). */
  readonly baseline: { readonly viewers: number; readonly erroring: number };
  /**
   * Summed over the release's closed, judged periods: the agreed counts of both roles, and the
   * canary as the newest state assigns it (regional-function/signal-consumer/core.ts CanaryEvidence),
   * which only the rollback side reads.
   */
  readonly closed: {
    readonly canary: { readonly viewers: number; readonly erroring: number };
    readonly stable: { readonly viewers: number; readonly erroring: number };
    readonly newestCanary: { readonly viewers: number; readonly erroring: number };
  };
  /** Weight → canary viewers counted in closed periods served wholly at it. */
  readonly atWeight: Readonly<Record<string, number>>;
  /** The start of the last closed period summed (a period is summed once). */
  readonly lastPeriod: number | null;
  /** Whether that period was judged: a step is never judged healthy while the judge cannot see. */
  readonly lastPeriodJudged: boolean;
  readonly healthyAt: Readonly<Record<string, number>>;
  readonly failedAt: number | null;
  /** The judge's words when it found the canary failing. */
  readonly failure: string | null;
  /** The last look: its time, verdict and words, and the two shares' ranges (0..1) and the excess bounds (points). */
  readonly last: {
    readonly at: number;
    readonly verdict: 'failing' | 'healthy' | 'unknown';
    readonly reason: string;
    readonly canary: {
      readonly share: number;
      readonly lower: number;
      readonly upper: number;
      readonly viewers: number;
    };
    readonly stable: {
      readonly share: number;
      readonly lower: number;
      readonly upper: number;
      readonly viewers: number;
    };
    readonly excess: { readonly lower: number; readonly upper: number };
  } | null;
}

const NONE = { viewers: 0, erroring: 0 } as const;

/**
 * A release's record before the judge has summed any period of it: the stable build's baseline, and nothing decided.
 */
export function newJudgmentRecord(
  release: { readonly salt: string; readonly stable: string; readonly canary: string },
  baseline: { readonly viewers: number; readonly erroring: number } = NONE,
): JudgmentRecord {
  return {
    salt: release.salt,
    stable: release.stable,
    canary: release.canary,
    baseline,
    closed: { canary: NONE, stable: NONE, newestCanary: NONE },
    atWeight: {},
    lastPeriod: null,
    lastPeriodJudged: false,
    healthyAt: {},
    failedAt: null,
    failure: null,
    last: null,
  };
}

/** The table item's key for a release. */
export function judgmentKey(salt: string): string {
  return `release#${salt}`;
}

/** A stored record, or null when the text is not one (written by another version, or by hand). */
export function parseJudgmentRecord(text: string | undefined): JudgmentRecord | null {
  if (text === undefined) return null;
  try {
    const value = JSON.parse(text) as JudgmentRecord;
    const counts = (c: unknown) =>
      typeof c === 'object' &&
      c !== null &&
      Number.isFinite((c as { viewers: number }).viewers) &&
      Number.isFinite((c as { erroring: number }).erroring);
    if (typeof value?.salt !== 'string' || typeof value.canary !== 'string' || typeof value.stable !== 'string')
      return null;
    if (
      !counts(value.baseline) ||
      !counts(value.closed?.canary) ||
      !counts(value.closed?.stable) ||
      !counts(value.closed?.newestCanary)
    )
      return null;
    if (
      typeof value.healthyAt !== 'object' ||
      value.healthyAt === null ||
      typeof value.atWeight !== 'object' ||
      value.atWeight === null
    )
      return null;
    if (value.failedAt !== null && typeof value.failedAt !== 'number') return null;
    return value;
  } catch {
    return null;
  }
}

/**
 * What the signal consumer sends rollout sync when the judge decides (a canary failing, a step healthy): act now, not
 * at the next minute.
 */
export const VERDICT_SYNC_EVENT = { source: 'signal-consumer', 'detail-type': 'Verdict' } as const;

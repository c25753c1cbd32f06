/**
 * The signal consumer, I/O part: one container's memory of the periods it is counting, the
 * checkpoint that tells it whether it read the records just before these, the timeline of rollout
 * states, and what it emits for each period that closes. The Lambda handler (index.ts) gives it
 * DynamoDB and Powertools; the local mode gives it its own store and clock; both run this.
 *
 * Per closed period it emits, as metrics of contracts/release-signal.ts:
 *   Viewers and ErroringViewers, dimension Role (canary, stable),
 *   and Viewers of the ring (Role=ring)                              when the period is judged;
 *   UnjudgedPeriods = 1                                               when it is not;
 * and UnjudgedPeriods = 1 when records of a period it closed arrive (at their arrival). Every
 * closed period's counts are in the log line of the batch that closed it.
 * Messages are logged once per erroring voice and period, with their role and build, never an
 * address: addresses live only in the stream (24 hours).
 */
import type { JudgeRule, RoleEvidence } from '../../contracts/canary-judge';
import type { JudgmentRecord, ReleaseStep } from '../../contracts/release-progress';
import {
  consume,
  initialState,
  openPeriodCounts,
  type BatchResult,
  type ClosedPeriod,
  type ConsumerOptions,
  type ConsumerState,
  type StreamRecord,
} from './core';
import type { TimedState } from '../../contracts/release-signal';
import { currentRelease, look } from './judge';

/**
 * Closed periods of the stable build kept for the baseline of a release that starts: ten minutes at the default period.
 */
export const BASELINE_PERIODS = 10;

export interface SignalConsumerDependencies {
  /** The states the edges may have served (the table's timeline). */
  readonly timeline: () => Promise<readonly TimedState[]>;
  /**
   * Moves the checkpoint from this container's last sequence number to the batch's last; true when it was still at
   * `from`.
   */
  readonly advanceCheckpoint: (from: string | null, to: string) => Promise<boolean>;
  /** Emits what a batch closed and found late. */
  readonly emit: (closed: readonly ClosedPeriod[], late: number, at: number) => void;
  readonly log: (message: string, details: Record<string, unknown>) => void;
  readonly now: () => number;
  /** The release-signal table's judgment records (rollout-control/signal-table.ts). */
  readonly judgments: {
    read(salt: string): Promise<JudgmentRecord | null>;
    write(record: JudgmentRecord): Promise<void>;
  };
  /** Emits the verdict of one look (1 once failing), while a release runs. */
  readonly emitVerdict: (failing: boolean, at: number) => void;
  /**
   * Asks rollout sync to run now: the judge decided something it acts on. Must not throw (sync runs every minute
   * anyway).
   */
  readonly requestSync: (why: string) => Promise<void>;
}

export interface JudgeOptions {
  readonly rule: JudgeRule;
  /**
   * The configured steps (config/rollout.ts rolloutSteps): when a step judged healthy is due, rollout sync is asked to
   * move on.
   */
  readonly steps: readonly ReleaseStep[];
}

export interface BatchSummary {
  readonly records: number;
  readonly resumed: boolean;
  readonly closed: readonly Pick<ClosedPeriod, 'start' | 'unjudged' | 'counts'>[];
  readonly late: number;
  readonly skipped: BatchResult['skipped'];
  /** The judge's look at the release running, if one is. */
  readonly verdict: { readonly salt: string; readonly verdict: string; readonly reason: string } | null;
}

export type SignalConsumer = (records: readonly StreamRecord[]) => Promise<BatchSummary>;

/**
 * What the log line of a kept error message says: no address, and not under `message`, which Powertools' logger keeps
 * for its own.
 */
export function errorReportedDetails(
  periodStart: number,
  kept: ClosedPeriod['messages'][number],
): Record<string, unknown> {
  return {
    period: new Date(periodStart).toISOString(),
    role: kept.role,
    buildId: kept.build,
    errorMessage: kept.message,
  };
}

export function createSignalConsumer(
  options: ConsumerOptions & JudgeOptions,
  deps: SignalConsumerDependencies,
): SignalConsumer {
  let state: ConsumerState = initialState();
  let lastSequence: string | null = null;
  let record: JudgmentRecord | null = null;
  /** The stable build's counts in the last closed periods, for the baseline of a release that starts. */
  let recentStable: { readonly start: number; readonly stable: string; readonly counts: RoleEvidence }[] = [];
  /** Steps (salt and weight) whose due time this container has told rollout sync of. */
  const dueTold = new Set<string>();
  return async (records) => {
    const lastRecord = records.at(-1);
    if (lastRecord === undefined) return { records: 0, resumed: true, closed: [], late: 0, skipped: {}, verdict: null };
    try {
      const resumed = await deps.advanceCheckpoint(lastSequence, lastRecord.sequenceNumber);
      const timeline = await deps.timeline();
      const result = consume(state, records, timeline, options, resumed);
      state = result.state;
      lastSequence = lastRecord.sequenceNumber;
      deps.emit(result.closed, result.late, deps.now());
      for (const period of result.closed) {
        for (const kept of period.messages) deps.log('error reported', errorReportedDetails(period.start, kept));
      }
      const verdict = await judge(timeline, result.closed, resumed);
      return {
        records: records.length,
        resumed,
        closed: result.closed.map((p) => ({ start: p.start, unjudged: p.unjudged, counts: p.counts })),
        late: result.late,
        skipped: result.skipped,
        verdict,
      };
    } catch (error) {
      // What this batch added may be half in the tallies: start afresh, so a retry of the same
      // batch cannot count twice. The periods it touched are unjudged.
      state = initialState();
      lastSequence = null;
      // The record in memory may hold what was never written: the table's is the one to go on from.
      record = null;
      throw error;
    }
  };

  /**
   * One look of the judge at the release running (judge.ts); its record is kept in memory and written when it changes.
   */
  async function judge(
    timeline: readonly TimedState[],
    closed: readonly ClosedPeriod[],
    resumed: boolean,
  ): Promise<BatchSummary['verdict']> {
    const periodMs = options.periodSeconds * 1000;
    const release = currentRelease(timeline);
    // Another container may have judged meanwhile (this one lost its place): its record is the newer one.
    if (release !== null && (record?.salt !== release.salt || !resumed))
      record = await deps.judgments.read(release.salt);
    const baseline =
      release === null
        ? { viewers: 0, erroring: 0 }
        : recentStable
            .filter((p) => p.stable === release.stable && p.start + periodMs <= release.from)
            .reduce(
              (sum, p) => ({ viewers: sum.viewers + p.counts.viewers, erroring: sum.erroring + p.counts.erroring }),
              { viewers: 0, erroring: 0 },
            );
    for (const period of closed) {
      const stable = timeline.find(
        (timed) => timed.from <= period.start && (timed.until === null || timed.until > period.start),
      )?.state.stable;
      if (period.unjudged === null && stable !== undefined)
        recentStable = [...recentStable, { start: period.start, stable, counts: period.counts.stable }].slice(
          -BASELINE_PERIODS,
        );
    }
    const open = openPeriodCounts(state);
    const now = deps.now();
    const looked = look({ record, timeline, closed, open, baseline, rule: options.rule, periodMs, now });
    if (looked.record === null) return null;
    // Kept in memory only once written: a write that fails leaves the decision to the retry.
    if (looked.changed) await deps.judgments.write(looked.record);
    record = looked.record;
    deps.emitVerdict(looked.record.failedAt !== null, now);
    if (looked.failedNow) {
      deps.log('canary failing', {
        salt: looked.record.salt,
        canary: looked.record.canary,
        reason: looked.record.failure,
      });
      await deps.requestSync(`the judge found canary ${looked.record.canary} failing`);
    } else if (looked.healthyWeight !== null) {
      deps.log('step judged healthy', {
        salt: looked.record.salt,
        canary: looked.record.canary,
        weight: looked.healthyWeight,
      });
      await deps.requestSync(
        `the judge found canary ${looked.record.canary} healthy at ${looked.healthyWeight / 100} %`,
      );
    } else if (
      release !== null &&
      looked.record.failedAt === null &&
      looked.record.healthyAt[String(release.weight)] !== undefined
    ) {
      // Judged healthy before its time: rollout sync runs every minute, so it is told the moment the step is due.
      const due = stepDueAt(options.steps, release.weight, release.from);
      const told = `${release.salt} ${release.weight}`;
      if (due !== null && now >= due && !dueTold.has(told)) {
        dueTold.add(told);
        await deps.requestSync(`the step after ${release.weight / 100} % is due`);
      }
    }
    const last = looked.record.last;
    return last === null ? null : { salt: looked.record.salt, verdict: last.verdict, reason: last.reason };
  }
}

/**
 * When the step after the one at `weight`, in force since `since`, is due by the clock; null when none follows or the
 * weight is none of the steps.
 */
export function stepDueAt(steps: readonly ReleaseStep[], weight: number, since: number): number | null {
  const index = steps.findIndex((step) => step.weight === weight);
  const current = steps[index];
  const next = steps[index + 1];
  return current === undefined || next === undefined ? null : since + (next.atMinute - current.atMinute) * 60_000;
}

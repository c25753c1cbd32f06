/**
 * The signal consumer, I/O part: one container's memory of the periods it is counting, the
 * checkpoint that tells it whether it read the records just before these, the timeline of rollout
 * states, and what it emits for each period that closes. The Lambda handler (index.ts) gives it
 * DynamoDB and Powertools; the local mode gives it its own store and clock; both run this.
 *
 * Per closed period it emits, as metrics of contracts/release-signal.ts:
 *   Viewers and ErroringViewers, dimension Role (canary, stable, ring)   when the period is judged;
 *   UnjudgedPeriods = 1                                                   when it is not;
 *   LateRecords                                                           records of closed periods.
 * Messages are logged once per erroring voice and period, with their role and build, never an
 * address: addresses live only in the stream (24 hours).
 */
import { consume, initialState, type BatchResult, type ClosedPeriod, type ConsumerOptions, type ConsumerState, type StreamRecord, type TimedState } from './core';

export interface SignalConsumerDependencies {
  /** The states the edges may have served (the table's timeline). */
  readonly timeline: () => Promise<readonly TimedState[]>;
  /** Moves the checkpoint from this container's last sequence number to the batch's last; true when it was still at `from`. */
  readonly advanceCheckpoint: (from: string | null, to: string) => Promise<boolean>;
  /** Emits what a batch closed and found late. */
  readonly emit: (closed: readonly ClosedPeriod[], late: number, at: number) => void;
  readonly log: (message: string, details: Record<string, unknown>) => void;
  readonly now: () => number;
}

export interface BatchSummary {
  readonly records: number;
  readonly resumed: boolean;
  readonly closed: readonly { readonly start: number; readonly unjudged: string | null }[];
  readonly late: number;
  readonly skipped: BatchResult['skipped'];
}

export type SignalConsumer = (records: readonly StreamRecord[]) => Promise<BatchSummary>;

export function createSignalConsumer(options: ConsumerOptions, deps: SignalConsumerDependencies): SignalConsumer {
  let state: ConsumerState = initialState();
  let lastSequence: string | null = null;
  return async (records) => {
    if (records.length === 0) return { records: 0, resumed: true, closed: [], late: 0, skipped: {} };
    try {
      const resumed = await deps.advanceCheckpoint(lastSequence, records[records.length - 1].sequenceNumber);
      const result = consume(state, records, await deps.timeline(), options, resumed);
      state = result.state;
      lastSequence = records[records.length - 1].sequenceNumber;
      deps.emit(result.closed, result.late, deps.now());
      for (const period of result.closed) {
        for (const kept of period.messages) deps.log('error reported', { period: new Date(period.start).toISOString(), role: kept.role, buildId: kept.build, errorMessage: kept.message });
      }
      return { records: records.length, resumed, closed: result.closed.map((p) => ({ start: p.start, unjudged: p.unjudged })), late: result.late, skipped: result.skipped };
    } catch (error) {
      // What this batch added may be half in the tallies: start afresh, so a retry of the same
      // batch cannot count twice. The periods it touched are unjudged.
      state = initialState();
      lastSequence = null;
      throw error;
    }
  };
}

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
  readonly closed: readonly Pick<ClosedPeriod, 'start' | 'unjudged' | 'counts'>[];
  readonly late: number;
  readonly skipped: BatchResult['skipped'];
}

export type SignalConsumer = (records: readonly StreamRecord[]) => Promise<BatchSummary>;

/** What the log line of a kept error message says: no address, and not under `message`, which Powertools' logger keeps for its own. */
export function errorReportedDetails(periodStart: number, kept: ClosedPeriod['messages'][number]): Record<string, unknown> {
  return { period: new Date(periodStart).toISOString(), role: kept.role, buildId: kept.build, errorMessage: kept.message };
}

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
        for (const kept of period.messages) deps.log('error reported', errorReportedDetails(period.start, kept));
      }
      return { records: records.length, resumed, closed: result.closed.map((p) => ({ start: p.start, unjudged: p.unjudged, counts: p.counts })), late: result.late, skipped: result.skipped };
    } catch (error) {
      // What this batch added may be half in the tallies: start afresh, so a retry of the same
      // batch cannot count twice. The periods it touched are unjudged.
      state = initialState();
      lastSequence = null;
      throw error;
    }
  };
}

/**
 * The signal consumer's event source mapping, locally: what Lambda's Kinesis poller does for the
 * signal-consumer function in AWS. It reads the stream's one shard in order with the SDK
 * (GetShardIterator LATEST when it starts, then GetRecords every `pollMs` of real time, reading on
 * until it is caught up), hands each batch to the same `createSignalConsumer` the Lambda runs
 * (regional-function/signal-consumer/consumer.ts), and publishes what AWS's services would:
 *
 *   the consumer's EMF documents (batchDocuments)                        → the local metric store
 *   AWS/Kinesis GetRecords.IteratorAgeMilliseconds {StreamName}, Maximum  after every poll: how far
 *       behind the newest record the reader is, ms on the local clock (0 when it is caught up)
 *   AWS/Lambda Errors {FunctionName}                                     for a batch the consumer threw on
 *
 * A batch the consumer throws on is handed to it again on the next poll, as the event source
 * mapping retries a failed batch; the consumer starts that one afresh (unjudged periods).
 *
 * Time: records carry Kinesis's ApproximateArrivalTimestamp, real time; the consumer closes
 * periods by arrival on the local clock, which runs `timeScale` times faster (or is set by a test),
 * so each arrival is mapped onto it (`Clock.at`). The checkpoint is in memory: a runner that keeps
 * running resumes; a new one is a new consumer, as a new Lambda container is.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetRecordsCommandOutput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { RealtimeLogField } from '../contracts/realtime-log';
import { KINESIS_ITERATOR_AGE, periodStart } from '../contracts/release-signal';
import { createSignalConsumer, type SignalConsumer } from '../regional-function/signal-consumer/consumer';
import type { ClosedPeriod, StreamRecord } from '../regional-function/signal-consumer/core';
import type { TimedState } from '../contracts/release-signal';
import { batchDocuments, functionMetrics, verdictDocument } from '../regional-function/shared/observability';
import type { JudgeRule } from '../contracts/canary-judge';
import type { JudgmentRecord, ReleaseStep } from '../contracts/release-progress';
import type { Clock } from '../loopback/clock';
import { SIGNAL_SHARD_ID } from '../loopback/kinesis-server';
import type { LocalMetricStore } from './metric-store';

/** Records one GetRecords call returns at most (Kinesis's own limit). */
const GET_RECORDS_LIMIT = 10_000;
/** GetRecords calls one poll makes at most before it leaves the rest to the next one. */
const CALLS_PER_POLL = 5;
/** Closed periods kept for `closedPeriod` (and the dashboard). */
const KEPT_PERIODS = 60;

export interface SignalRunnerOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  /** The Lambda's name: the dimension of its Errors metric. */
  readonly functionName: string;
  /** The config's metrics namespace: where the consumer's EMF documents go. */
  readonly namespace: string;
  /** config.alarms.periodSeconds. */
  readonly periodSeconds: number;
  /** config.metrics.latenessSeconds × 1000, on the local clock. */
  readonly latenessMs: number;
  /**
   * The order the local CloudFront writes the fields in (GetRealtimeLogConfig's `Fields` in AWS). @default
   * REALTIME_LOG_FIELDS
   */
  readonly fields?: readonly RealtimeLogField[];
  readonly clock: Clock;
  /** The rollout states the edges may have served (the local timeline). */
  readonly timeline: () => readonly TimedState[];
  readonly store: LocalMetricStore;
  readonly log?: (line: string) => void;
  /** The judge's rule (the config's alarms). */
  readonly rule: JudgeRule;
  /** The configured steps (config/rollout.ts rolloutSteps). */
  readonly steps: readonly ReleaseStep[];
  /** The release-signal table's judgment records, by salt (the control plane's). */
  readonly judgments: Map<string, JudgmentRecord>;
  /** What the consumer's request for a rollout sync does (the control plane's tick). @default nothing */
  readonly requestSync?: () => void;
  /** Real ms between polls. @default 200 */
  readonly pollMs?: number;
}

export interface SignalRunner {
  /**
   * Resolves after the next poll that starts from now has ended (read, consumed, iterator age
   * recorded). Asking starts that poll at once rather than after the rest of `pollMs`: a test that
   * moves the clock and waits for the reader would otherwise idle a poll interval every step.
   */
  nextPoll(): Promise<void>;
  /**
   * Periods before this start (ms, local clock) have closed: the newest arrival consumed, less the
   * lateness, as the consumer closes them; null before the first record.
   */
  closedBefore(): number | null;
  /**
   * What the consumer emitted for the period starting at `start`, or null when it closed none there (no record fell in
   * it), or has not closed it yet.
   */
  closedPeriod(start: number): ClosedPeriod | null;
  /** Records consumed, late records, batches the consumer threw on, polls made. */
  stats(): { readonly records: number; readonly late: number; readonly errors: number; readonly polls: number };
  stop(): Promise<void>;
}

export async function startSignalRunner(options: SignalRunnerOptions): Promise<SignalRunner> {
  const { client, streamName, clock } = options;
  const log = options.log ?? (() => undefined);
  const pollMs = options.pollMs ?? 200;
  // The simulated clock runs ahead of real time: Powertools would warn of every such timestamp.
  const quiet = () => undefined;
  const metrics = functionMetrics(options.namespace, 'signal-consumer', {
    debug: quiet,
    info: quiet,
    warn: quiet,
    error: quiet,
  });
  const closed = new Map<number, ClosedPeriod>();
  const stats = { records: 0, late: 0, errors: 0, polls: 0 };
  let newestArrival: number | null = null;
  let checkpoint: string | null = null;

  const consumer: SignalConsumer = createSignalConsumer(
    {
      periodSeconds: options.periodSeconds,
      latenessMs: options.latenessMs,
      fields: options.fields,
      rule: options.rule,
      steps: options.steps,
    },
    {
      timeline: async () => options.timeline(),
      // In memory, as the table's item is in AWS: true when nobody else read since this consumer did.
      advanceCheckpoint: async (from, to) => {
        const resumed = from !== null && checkpoint === from;
        checkpoint = to;
        return resumed;
      },
      emit: (periods, late, at) => {
        for (const document of batchDocuments(metrics, periods, late, at)) options.store.ingest(document);
        for (const period of periods) closed.set(period.start, period);
        for (const start of [...closed.keys()].sort((a, b) => a - b).slice(0, Math.max(0, closed.size - KEPT_PERIODS)))
          closed.delete(start);
      },
      log: (message, details) => log(`signal consumer: ${message} ${JSON.stringify(details)}`),
      now: () => clock.now(),
      judgments: {
        read: async (salt) => options.judgments.get(salt) ?? null,
        write: async (record) => {
          options.judgments.set(record.salt, record);
        },
      },
      emitVerdict: (failing, at) => options.store.ingest(verdictDocument(metrics, failing, at)),
      requestSync: async () => options.requestSync?.(),
    },
  );

  /** The local clock's time at a real instant. */
  const localAt = (real: number) => (clock.at ? clock.at(real) : clock.now() - (Date.now() - real));

  const started = await client.send(
    new GetShardIteratorCommand({ StreamName: streamName, ShardId: SIGNAL_SHARD_ID, ShardIteratorType: 'LATEST' }),
  );
  let iterator = started.ShardIterator;
  /** A batch the consumer threw on: handed to it again first. */
  let retry: StreamRecord[] = [];

  async function poll(): Promise<void> {
    if (iterator === undefined) return;
    const read: StreamRecord[] = [];
    let caughtUp = false;
    try {
      for (let call = 0; call < CALLS_PER_POLL && !caughtUp; call += 1) {
        const answer: GetRecordsCommandOutput = await client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }),
        );
        iterator = answer.NextShardIterator ?? iterator;
        const records = answer.Records ?? [];
        for (const record of records) {
          read.push({
            data: Buffer.from(record.Data ?? new Uint8Array()).toString('utf8'),
            arrivedAt: Math.round(localAt(record.ApproximateArrivalTimestamp?.getTime() ?? Date.now())),
            sequenceNumber: record.SequenceNumber ?? '',
          });
        }
        caughtUp = records.length < GET_RECORDS_LIMIT && (answer.MillisBehindLatest ?? 0) === 0;
      }
    } catch (error) {
      // Nothing read, nothing reported: CloudWatch gets no iterator age while the stream cannot be read.
      log(`signal runner: reading ${streamName} failed: ${(error as Error).message}`);
      return;
    }
    const batch = [...retry, ...read];
    retry = [];
    if (batch.length > 0) {
      try {
        const summary = await consumer(batch);
        stats.records += summary.records;
        stats.late += summary.late;
        for (const record of batch) newestArrival = Math.max(newestArrival ?? record.arrivedAt, record.arrivedAt);
      } catch (error) {
        stats.errors += 1;
        retry = batch;
        options.store.add({
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          dimensions: { FunctionName: options.functionName },
          value: 1,
          at: clock.now(),
        });
        log(`signal consumer failed (the batch is retried): ${(error as Error).message}`);
      }
    }
    // How far behind the newest record the reader is: 0 once it has read everything there is;
    // else the age of the oldest record still unread, which arrived just after the last one read.
    const unread = caughtUp ? null : (read.at(-1)?.arrivedAt ?? null);
    const age = unread === null ? 0 : Math.max(0, clock.now() - unread);
    options.store.add({
      namespace: 'AWS/Kinesis',
      metricName: KINESIS_ITERATOR_AGE,
      dimensions: { StreamName: streamName },
      value: age,
      at: clock.now(),
    });
  }

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let waiters: (() => void)[] = [];
  const loop = () => {
    timer = null;
    const pending = waiters;
    waiters = [];
    running = poll()
      .catch((error: Error) => log(`signal runner: ${error.stack ?? error.message}`))
      .finally(() => {
        stats.polls += 1;
        running = null;
        for (const resolve of pending) resolve();
        if (!stopped) timer = setTimeout(loop, waiters.length > 0 ? 0 : pollMs);
      });
  };
  loop();

  return {
    nextPoll: () =>
      stopped
        ? Promise.reject(new Error('the signal runner has stopped'))
        : new Promise<void>((resolve) => {
            waiters.push(resolve);
            // Idle between polls: poll now. Mid-poll: the one that started before this call does not
            // count, and the next follows it at once (above).
            if (timer !== null) {
              clearTimeout(timer);
              loop();
            }
          }),
    closedBefore: () =>
      newestArrival === null ? null : periodStart(newestArrival - options.latenessMs, options.periodSeconds),
    closedPeriod: (start) => closed.get(start) ?? null,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      for (const resolve of waiters.splice(0)) resolve();
    },
  };
}

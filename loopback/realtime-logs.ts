/**
 * CloudFront's real-time log delivery, locally: the record of each request the emulator logs
 * (contracts/realtime-log.ts `formatRecord`) goes to the loopback Kinesis stream, after the
 * viewer's response and apart from it. As in AWS, delivery is best effort: nothing a viewer waits
 * for depends on it, and a record the stream refuses is logged and dropped, never retried.
 *
 * Records leave in the order they were written, in batches (PutRecords, at most 500 a call, one
 * call at a time, the first record of each batch waiting BATCH_WINDOW_MS for others, unless someone
 * waits for delivery to settle), as CloudFront batches its writes: one PutRecord call per request
 * would keep a loaded local distribution that many calls behind. Sampling is 100 %: every request
 * is logged.
 *
 * The fault hook (`fault`, the emulator's `logDelivery`) delays, drops or throttles what is written
 * while it is set (or holds it until `releaseHeld`), so tests can make a period's records arrive
 * after its lateness, not at all, or
 * be refused by a shard a flood has filled (the loopback stream takes any rate; Kinesis refuses past 1,000
 * records a second). A record the stream refuses for throughput, either way, is reported through
 * `onThrottled`, as Kinesis counts it in WriteProvisionedThroughputExceeded.
 */
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/** What delivery does to a record written while it is set. */
export interface LogDeliveryFault {
  /** Real milliseconds a record waits before it joins the queue (CloudFront delivers "within seconds"). */
  readonly delayMs: number;
  /** The record is never delivered (CloudFront's best effort, at its worst). */
  readonly drop: boolean;
  /** The shard is full: the stream refuses the record (ProvisionedThroughputExceededException). @default false */
  readonly throttle?: boolean;
  /**
   * The record waits, however long, until `releaseHeld()`: delivery as late as a test needs, at a
   * moment it chooses, with no real time spent waiting. @default false
   */
  readonly hold?: boolean;
}

export const NO_FAULT: LogDeliveryFault = { delayMs: 0, drop: false };

export interface LogDeliveryStats {
  /** Records written by the emulator. */
  readonly written: number;
  /** Accepted by the stream. */
  readonly delivered: number;
  /** Dropped by the fault hook. */
  readonly dropped: number;
  /** Refused by the stream, or lost with a call that failed: logged and dropped. */
  readonly failed: number;
  /** Of those, refused because the shard was full. */
  readonly throttled: number;
}

export interface RealtimeLogDelivery {
  /** Queues one record's data (a formatted line); returns at once. */
  write(data: string): void;
  fault: LogDeliveryFault;
  stats(): LogDeliveryStats;
  /**
   * Resolves once every record written so far has been delivered, dropped or failed (delayed ones
   * included; held ones are not, until released).
   */
  settled(): Promise<void>;
  /** Queues the held records, in the order they were written. */
  releaseHeld(): void;
  /** Sends what is queued, forgets what is still delayed, and stops. */
  close(): Promise<void>;
}

/** Kinesis: records one PutRecords call takes. */
const MAX_BATCH = 500;
/**
 * Real ms the first record of a batch waits for the records of requests still being answered.
 * Without it, a release test's thousands of loads left in calls of a few records each, and the
 * SDK's cost per call (0.6 ms of CPU, against 7 µs a record) was most of what delivery cost. Every
 * batch waits, not only the first after a pause: when only the first did, viewers sending one
 * request after another (the attack tests' 5 at a time) kept the stream busy with calls of 9
 * records (3,900 calls for 45,000 records in signal-attacks.test.ts; 350 now, and some 4 s less
 * CPU). A wait for delivery to settle ends the window, so tests lose no time to it; `npm start`
 * (6 simulated seconds a real one) gets each record at most 0.12 s later on its clock.
 */
const BATCH_WINDOW_MS = 20;

export interface RealtimeLogDeliveryOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly log: (line: string) => void;
  /** Records the stream refused for throughput, as they are refused: Kinesis's WriteProvisionedThroughputExceeded. */
  readonly onThrottled?: (records: number) => void;
}

const THROTTLED = 'ProvisionedThroughputExceededException';

export function createRealtimeLogDelivery(options: RealtimeLogDeliveryOptions): RealtimeLogDelivery {
  const stats = { written: 0, delivered: 0, dropped: 0, failed: 0, throttled: 0 };
  const throttled = (records: number) => {
    stats.throttled += records;
    options.onThrottled?.(records);
  };
  const queue: string[] = [];
  const delayed = new Set<NodeJS.Timeout>();
  let held: string[] = [];
  let sending: Promise<void> | null = null;
  let closed = false;
  let waiters: (() => void)[] = [];
  let sent = 0;
  /** Ends the batch window under way at once: set while one is. */
  let endWindow: (() => void) | null = null;

  const idle = () => queue.length === 0 && delayed.size === 0 && sending === null;
  const wake = () => {
    if (!idle()) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };

  function enqueue(data: string): void {
    if (closed) {
      stats.failed += 1;
      return;
    }
    queue.push(data);
    if (sending === null) sending = drain();
    else if (queue.length >= MAX_BATCH) endWindow?.();
  }

  /** Whether the next batch leaves now: it is full, or someone waits for what was written. */
  const urgent = () => closed || waiters.length > 0 || queue.length >= MAX_BATCH;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      if (!urgent())
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, BATCH_WINDOW_MS);
          endWindow = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      endWindow = null;
      const batch = queue.splice(0, MAX_BATCH);
      try {
        // Any partition key: the stream has one shard.
        const records = batch.map((data, i) => ({ Data: Buffer.from(data, 'utf8'), PartitionKey: `cf-${sent + i}` }));
        sent += batch.length;
        const answer = await options.client.send(
          new PutRecordsCommand({ StreamName: options.streamName, Records: records }),
        );
        const refused = answer.FailedRecordCount ?? 0;
        stats.delivered += batch.length - refused;
        stats.failed += refused;
        const full = (answer.Records ?? []).filter((record) => record.ErrorCode === THROTTLED).length;
        if (full > 0) throttled(full);
        if (refused > 0)
          options.log(
            `real-time logs: the stream refused ${refused} of ${batch.length} records (dropped, as ` +
              `CloudFront's delivery is best effort)`,
          );
      } catch (error) {
        stats.failed += batch.length;
        options.log(
          `real-time logs: ${batch.length} records not delivered (dropped, as CloudFront's delivery is best ` +
            `effort): ${(error as Error).message}`,
        );
      }
    }
    sending = null;
    wake();
  }

  const delivery: RealtimeLogDelivery = {
    fault: NO_FAULT,
    write(data) {
      stats.written += 1;
      const fault = delivery.fault;
      if (fault.drop) {
        stats.dropped += 1;
        return;
      }
      if (fault.throttle) {
        stats.failed += 1;
        throttled(1);
        return;
      }
      if (fault.hold) {
        held.push(data);
        return;
      }
      if (fault.delayMs > 0) {
        const timer = setTimeout(() => {
          delayed.delete(timer);
          enqueue(data);
          wake();
        }, fault.delayMs);
        delayed.add(timer);
        return;
      }
      enqueue(data);
    },
    stats: () => ({ ...stats }),
    settled: () => {
      if (idle()) return Promise.resolve();
      const settled = new Promise<void>((resolve) => waiters.push(resolve));
      // Nothing more is worth waiting for: the records written so far are what is waited for.
      endWindow?.();
      return settled;
    },
    releaseHeld() {
      const released = held;
      held = [];
      for (const data of released) enqueue(data);
    },
    async close() {
      closed = true;
      endWindow?.();
      for (const timer of delayed) clearTimeout(timer);
      stats.failed += delayed.size + held.length;
      delayed.clear();
      held = [];
      await sending;
      wake();
    },
  };
  return delivery;
}

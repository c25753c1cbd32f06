/**
 * The local event source mapping (local/signal-runner.ts) against a loopback Kinesis stream
 * (loopback/kinesis-server.ts): it hands the signal consumer's own code what the stream carries, with each record's
 * arrival placed on the local clock, and publishes what Kinesis and Lambda would (the iterator age
 * after every poll, an Errors datapoint for a batch the consumer threw on).
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { formatRecord, REALTIME_LOG_FIELDS, type RealtimeLogField } from '../../contracts/realtime-log';
import {
  DIMENSION_ROLE,
  DIMENSION_SIGNAL,
  KINESIS_ITERATOR_AGE,
  METRIC_UNJUDGED_PERIODS,
  METRIC_VIEWERS,
  SIGNAL_ENTRY,
} from '../../contracts/release-signal';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { manualClock, type ManualClock } from '../../local/control-plane';
import { startKinesisServer, type KinesisServer } from '../../loopback/kinesis-server';
import { LocalMetricStore } from '../../local/metric-store';
import { startSignalRunner, type SignalRunner } from '../../local/signal-runner';
import { LocalTimeline } from '../../local/signal-timeline';
import { pollUntil } from '../fixtures/poll';

const STREAM = 'edge-widget-signal';
const NS = 'EdgeWidget';
const T = 1_800_000_000_000;
const PERIOD = 60_000;
const LATENESS = 20_000;
const STABLE = 'aaaaaaaaaaaaaaaa';

let kinesis: KinesisServer;
let clock: ManualClock;
let store: LocalMetricStore;
let timeline: LocalTimeline;
const runners: SignalRunner[] = [];

beforeEach(async () => {
  kinesis = await startKinesisServer({ streamName: STREAM });
  clock = manualClock(T);
  store = new LocalMetricStore();
  timeline = new LocalTimeline();
  timeline.announce(formatRolloutState(steadyState(STABLE)), 0, { propagationMs: 41_000, seenOnly: true });
});
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await kinesis?.close();
});

function runner(
  options: {
    timeline?: () => ReturnType<LocalTimeline['read']>;
    log?: (line: string) => void;
    fields?: readonly RealtimeLogField[];
  } = {},
): Promise<SignalRunner> {
  return startSignalRunner({
    client: kinesis.client,
    streamName: STREAM,
    functionName: 'edge-widget-signal-consumer',
    namespace: NS,
    periodSeconds: PERIOD / 1000,
    latenessMs: LATENESS,
    clock,
    timeline: options.timeline ?? (() => timeline.read()),
    store,
    log: options.log,
    fields: options.fields,
    rule: { excessErrorPercent: 5, toleratedExcessPercent: 2, falseRollbackRate: 0.001, minViewers: 50 },
    judgments: new Map(),
    steps: [
      { atMinute: 0, weight: 1000 },
      { atMinute: 5, weight: 10000 },
    ],
    pollMs: 20,
  }).then((started) => {
    runners.push(started);
    return started;
  });
}

/** Entry loads from these addresses, logged at `at` on the local clock (fields in `order`), put on the stream now. */
async function loads(
  at: number,
  ips: readonly string[],
  order: readonly RealtimeLogField[] = REALTIME_LOG_FIELDS,
): Promise<void> {
  const records = ips.map((ip) => ({
    Data: Buffer.from(
      formatRecord(
        { at, clientIp: ip, method: 'GET', uri: '/assets/index.js', query: '', status: 200, referer: null },
        order,
      ),
    ),
    PartitionKey: ip,
  }));
  await kinesis.client.send(new PutRecordsCommand({ StreamName: STREAM, Records: records }));
}

/** Sets the clock and waits for a poll there. */
async function at(reader: SignalRunner, t: number): Promise<void> {
  clock.set(t);
  await reader.nextPoll();
}

describe('the local signal runner', () => {
  it(
    'counts what the stream carries with the consumer, closes a period once a record arrives past its end plus ' +
      'the lateness, and reports the iterator age every poll',
    async () => {
      const reader = await runner();
      await at(reader, T + 5000);
      await loads(T + 5000, ['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.3']);
      await reader.nextPoll();
      expect(reader.stats().records).toBe(4);
      // Arrived at T + 5 s on the local clock: the period is still open.
      expect(reader.closedBefore()).toBe(T - PERIOD);
      await at(reader, T + PERIOD + LATENESS - 1);
      await loads(T + PERIOD + LATENESS - 1, ['10.0.0.9']);
      await reader.nextPoll();
      expect(reader.closedPeriod(T)).toBeNull();
      await at(reader, T + PERIOD + LATENESS);
      await loads(T + PERIOD + LATENESS, ['10.0.0.9']);
      await pollUntil('the period to close', () => reader.closedPeriod(T), 3000, 10);
      // The consumer started on these records: the first period it sees is not whole.
      expect(reader.closedPeriod(T)).toMatchObject({
        start: T,
        unjudged: 'the consumer started after the period began',
      });
      expect(store.sum(NS, METRIC_UNJUDGED_PERIODS, { [DIMENSION_SIGNAL]: SIGNAL_ENTRY }, T, T + PERIOD)).toBe(1);
      const ages = store.select('AWS/Kinesis', KINESIS_ITERATOR_AGE, { StreamName: STREAM }, T, T + 2 * PERIOD);
      expect(ages.length).toBeGreaterThanOrEqual(4);
      expect(ages.every((age) => age === 0)).toBe(true);

      // The next period, seen whole: three distinct viewers however often they loaded.
      await loads(T + PERIOD + LATENESS + 1000, ['10.0.1.1', '10.0.1.2', '10.0.1.1', '10.0.1.3']);
      await at(reader, T + 2 * PERIOD + LATENESS);
      await loads(T + 2 * PERIOD + LATENESS, ['10.0.2.1']);
      await pollUntil('the second period to close', () => reader.closedPeriod(T + PERIOD), 3000, 10);
      expect(reader.closedPeriod(T + PERIOD)).toMatchObject({
        unjudged: null,
        counts: { stable: { viewers: 4, erroring: 0 } },
      });
      expect(store.sum(NS, METRIC_VIEWERS, { [DIMENSION_ROLE]: 'stable' }, T + PERIOD, T + 2 * PERIOD)).toBe(4);
    },
  );

  it(
    'hands a batch the consumer threw on to it again, ' + 'and reports the failure as the Lambda would (Errors)',
    async () => {
      let failures = 1;
      const logged: string[] = [];
      const reader = await runner({
        log: (line) => logged.push(line),
        timeline: () => {
          if (failures-- > 0) throw new Error('the table did not answer');
          return timeline.read();
        },
      });
      await at(reader, T + 5000);
      await loads(T + 5000, ['10.0.0.1', '10.0.0.2']);
      await pollUntil('the retried batch to be counted', () => reader.stats().records === 2, 3000, 10);
      expect(reader.stats().errors).toBe(1);
      expect(store.sum('AWS/Lambda', 'Errors', { FunctionName: 'edge-widget-signal-consumer' }, T, T + PERIOD)).toBe(1);
      expect(
        logged.some((line) =>
          line.startsWith('signal consumer failed (the batch is retried): the table did not answer'),
        ),
      ).toBe(true);
    },
  );

  it('is a new consumer when it restarts: the period it did not see from its start is unjudged', async () => {
    const first = await runner();
    await at(first, T + PERIOD + 1000);
    await loads(T + PERIOD + 1000, ['10.0.0.1']);
    await first.nextPoll();
    await first.stop();
    const second = await runner();
    await at(second, T + PERIOD + 2000);
    await loads(T + PERIOD + 2000, ['10.0.0.2']);
    await at(second, T + 2 * PERIOD + LATENESS);
    await loads(T + 2 * PERIOD + LATENESS, ['10.0.0.3']);
    await pollUntil('the period to close', () => second.closedPeriod(T + PERIOD), 3000, 10);
    expect(second.closedPeriod(T + PERIOD)).toMatchObject({
      unjudged: 'the consumer started after the period began',
      counts: { stable: { viewers: 0 } },
    });
  });

  it(
    'reads the fields in the order it is given (the order CloudFront reports it writes them in), and counts ' +
      'nothing written in another',
    async () => {
      const order = [...REALTIME_LOG_FIELDS].reverse();
      const reader = await runner({ fields: order });
      await at(reader, T + 1000);
      await loads(T + 1000, ['10.0.0.1']);
      await at(reader, T + PERIOD + 1000);
      await loads(T + PERIOD + 1000, ['10.0.1.1', '10.0.1.2'], order);
      await loads(T + PERIOD + 1000, ['10.0.1.3']);
      await at(reader, T + 2 * PERIOD + LATENESS);
      await loads(T + 2 * PERIOD + LATENESS, ['10.0.2.1'], order);
      await pollUntil('the period to close', () => reader.closedPeriod(T + PERIOD), 3000, 10);
      expect(reader.closedPeriod(T + PERIOD)).toMatchObject({ unjudged: null, counts: { stable: { viewers: 2 } } });
    },
  );
});

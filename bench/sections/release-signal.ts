/**
 * The release signal's cost a month, at four volumes, against the design it replaces (the metrics
 * API: one beacon per entry load through an HTTP API, a Lambda and a DynamoDB ledger), and what
 * the signal consumer's core takes per record.
 *
 * The signal now: CloudFront real-time logs of every entry load and error report (sampled as
 * contracts/signal-capacity.ts sizes it) → one provisioned Kinesis shard → one consumer Lambda
 * (batches of up to 1,000 records, a 5 s batching window, one invocation at a time) → EMF lines;
 * an error report is answered by a CloudFront Function. Measured here: the consumer core's time
 * per record on a synthetic stream (real code), the bytes of the lines the consumer writes, the
 * size of the timeline item it reads. Priced: everything else, from prices.ts.
 */
import { formatRecord, type RealtimeLogRecord } from '../../contracts/realtime-log';
import { assignBuild } from '../../contracts/assignment';
import { ERROR_REPORT_PATH, MAX_MESSAGE_LENGTH } from '../../contracts/error-report';
import {
  METRIC_CANARY_FAILING,
  METRIC_UNJUDGED_PERIODS,
  periodStart,
  ROLES,
  releaseAlarmQueries,
  unjudgedAlarmQueries,
  type ReleaseAlarmRule,
} from '../../contracts/release-signal';
import { formatRolloutState, type RolloutState } from '../../contracts/rollout-state';
import { RECORD_BYTES_MAX, signalCapacity } from '../../contracts/signal-capacity';
import {
  consume,
  initialState,
  type ConsumerOptions,
  type ConsumerState,
  type StreamRecord,
  ROLES_COUNTED,
} from '../../regional-function/signal-consumer/core';
import type { TimedState } from '../../contracts/release-signal';
import { errorReportedDetails, type BatchSummary } from '../../regional-function/signal-consumer/consumer';
import { TIMELINE_CACHE_MS } from '../../regional-function/signal-consumer/index';
import { functionLogger, functionMetrics, periodDocuments } from '../../regional-function/shared/observability';
import { TIMELINE_LENGTH } from '../../rollout-control/signal-table';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import { seededRandom } from '../events';
import { distribution, median, round } from '../measure';
import { BEACONS, MB_PER_VCPU, PRICES, priceOf, SIGNAL } from '../prices';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';

/** The volumes the cost is shown at, entry loads a day. */
export const SIGNAL_VOLUMES: readonly { readonly loadsPerDay: number; readonly label: string }[] = [
  { loadsPerDay: 100_000, label: '100 thousand' },
  { loadsPerDay: 1_000_000, label: '1 million' },
  { loadsPerDay: 10_000_000, label: '10 million' },
  { loadsPerDay: 100_000_000, label: '100 million' },
];

/**
 * What the signal is built to cost: a month at a million loads a day, and per million loads at a hundred million a day.
 */
export const SIGNAL_TARGETS = {
  monthAtOneMillion: { loadsPerDay: 1_000_000, usd: 15 },
  perMillionAtHundredMillion: { loadsPerDay: 100_000_000, usd: 0.03 },
} as const;

/** The measured inputs of the signal's cost, and the sizing it is run with. */
export interface SignalCostInputs {
  readonly loadsPerDay: number;
  /** config metrics.peakToAverage. */
  readonly peakToAverage: number;
  /** config alarms.periodSeconds: a closed period writes its EMF lines once. */
  readonly periodSeconds: number;
  /** The consumer core's CPU time per record on this machine (one core), ms. */
  readonly coreMsPerRecord: number;
  /** The consumer's `batch` log line, once per invocation. */
  readonly batchLineBytes: number;
  /** What the consumer logs per erroring viewer and period. */
  readonly errorLineBytes: number;
  /** The EMF lines of one judged period, all roles. */
  readonly periodEmfBytes: number;
  /** Read request units of one (eventually consistent) GetItem of the timeline. */
  readonly timelineReadUnits: number;
  /** Metrics standard-resolution alarms read (the unjudged alarm's). */
  readonly alarmMetrics: number;
  /** Metrics high-resolution alarms read (the client-error alarm's: the judge's verdict). */
  readonly highResolutionAlarmMetrics: number;
  /** Custom metrics the signal publishes. */
  readonly customMetrics: number;
  /** The event source mapping's batching window (config metrics.batchWindowSeconds), seconds. */
  readonly batchWindowSeconds: number;
}

export interface SignalParts {
  readonly realtimeLogs: number;
  readonly kinesisShards: number;
  readonly kinesisPuts: number;
  readonly lambda: number;
  readonly cloudFrontFunctions: number;
  readonly dynamodb: number;
  readonly metrics: number;
  readonly alarms: number;
  readonly logs: number;
}

export interface SignalMonth {
  readonly samplingPercent: number;
  readonly shards: number;
  readonly loads: number;
  /** Error reports the function answers (all of them: sampling is the logs'). */
  readonly errorReports: number;
  /** Log lines CloudFront publishes to the stream: loads and error reports, sampled. */
  readonly records: number;
  readonly invocations: number;
  readonly timelineReads: number;
  readonly billedMsPerInvocation: number;
  /** Error lines the consumer writes: at most one per sampled error report (each a viewer of its own). */
  readonly errorLines: number;
  readonly parts: SignalParts;
  readonly total: number;
  readonly perMillionLoads: number;
}

const SECONDS_PER_MONTH = SIGNAL.daysPerMonth * 86_400;

/**
 * The signal's cost for a month (SIGNAL.daysPerMonth days) at one volume, fixed costs included.
 * Traffic is taken at its daily average for the batching: an invocation per 5 s window that holds
 * a record (Poisson), or one per 1,000 records once windows fill.
 */
export function signalMonth(inputs: SignalCostInputs): SignalMonth {
  const capacity = signalCapacity({ expectedLoadsPerDay: inputs.loadsPerDay, peakToAverage: inputs.peakToAverage });
  const loads = inputs.loadsPerDay * SIGNAL.daysPerMonth;
  const errorReports = loads * SIGNAL.errorReportShare;
  const sampled = capacity.samplingPercent / 100;
  const records = (loads + errorReports) * sampled;
  // A window of 0 calls as records come: taken as one a second, Lambda's poller's own pace.
  const windowSeconds = Math.max(1, inputs.batchWindowSeconds);
  const windows = SECONDS_PER_MONTH / windowSeconds;
  const perWindow = (records / SECONDS_PER_MONTH) * windowSeconds;
  const invocations = Math.max(windows * (1 - Math.exp(-perWindow)), records / SIGNAL.batchSize);
  // The timeline is read when the container's copy is older than TIMELINE_CACHE_MS.
  const timelineReads = Math.min(
    invocations,
    (SIGNAL.consumerContainers * SECONDS_PER_MONTH * 1000) / TIMELINE_CACHE_MS,
  );
  const cpuScale = MB_PER_VCPU / SIGNAL.consumerMemoryMb;
  const msPerInvocation =
    SIGNAL.dynamoWaitMs * (1 + timelineReads / invocations) +
    (records / invocations) * inputs.coreMsPerRecord * cpuScale;
  const billedMsPerInvocation = Math.max(1, Math.ceil(msPerInvocation));
  const errorLines = errorReports * sampled;
  const periods = SECONDS_PER_MONTH / inputs.periodSeconds;
  // While a release runs (taken as always: an upper bound) each batch prints the verdict's EMF line,
  // and each closed period rewrites the release's judgment record (one PutItem).
  const logBytes =
    invocations * (SIGNAL.lambdaLogBytesPerInvocation + inputs.batchLineBytes + SIGNAL.verdictLineBytes) +
    periods * inputs.periodEmfBytes +
    errorLines * inputs.errorLineBytes;
  const parts: SignalParts = {
    realtimeLogs: priceOf(PRICES.realtimeLogLine, records),
    kinesisShards: priceOf(PRICES.kinesisShardHour, capacity.shards * SIGNAL.daysPerMonth * 24),
    // A record is one PUT payload unit: it is far under 25 KB (RECORD_BYTES_MAX).
    kinesisPuts: priceOf(PRICES.kinesisPutPayloadUnit, records),
    lambda:
      priceOf(PRICES.lambdaRequest, invocations) +
      priceOf(PRICES.lambdaGbSecond, (invocations * billedMsPerInvocation * (SIGNAL.consumerMemoryMb / 1024)) / 1000),
    cloudFrontFunctions: priceOf(PRICES.cloudFrontFunction, errorReports),
    // The checkpoint: one PutItem of an item under 1 KB per batch; the timeline: one GetItem per read.
    dynamodb:
      priceOf(PRICES.dynamoWrite, invocations + periods * SIGNAL.judgmentWriteUnits) +
      priceOf(PRICES.dynamoRead, timelineReads * inputs.timelineReadUnits),
    metrics: priceOf(PRICES.customMetricMonth, inputs.customMetrics),
    alarms:
      priceOf(PRICES.alarmMetricMonth, inputs.alarmMetrics) +
      priceOf(PRICES.highResolutionAlarmMetricMonth, inputs.highResolutionAlarmMetrics),
    logs: priceOf(PRICES.logsIngestionGb, logBytes / 1e9),
  };
  const total = Object.values(parts).reduce((sum, usd) => sum + usd, 0);
  return {
    samplingPercent: capacity.samplingPercent,
    shards: capacity.shards,
    loads,
    errorReports,
    records,
    invocations,
    timelineReads,
    billedMsPerInvocation,
    errorLines,
    parts,
    total,
    perMillionLoads: total / (loads / 1e6),
  };
}

export interface PreviousSignalParts {
  readonly apiGateway: number;
  readonly lambda: number;
  readonly dynamodb: number;
  readonly metrics: number;
  readonly alarms: number;
  readonly logs: number;
}

export interface PreviousSignalMonth {
  /** Its cost per million beacons, variable part only. */
  readonly perMillionBeacons: number;
  readonly parts: PreviousSignalParts;
  readonly total: number;
  readonly perMillionLoads: number;
}

/**
 * The metrics API's cost for a month at one volume, one beacon per load: per beacon an HTTP API
 * request, a Lambda invocation (BEACONS.billedMsPerBeacon at BEACONS.memoryMb), a ledger
 * UpdateItem, Lambda's own lines and an EMF line (every beacon a first sighting); fixed, its
 * custom metrics (Viewers and ErroringViewers per role), the client-error alarm's metrics and the
 * state copy's reads.
 */
export function previousSignalMonth(
  loadsPerDay: number,
  fixed: { readonly customMetrics: number; readonly alarmMetrics: number },
): PreviousSignalMonth {
  const beacons = loadsPerDay * SIGNAL.daysPerMonth;
  const perBeacon = {
    apiGateway: priceOf(PRICES.httpApiRequest, 1),
    lambda:
      priceOf(PRICES.lambdaRequest, 1) +
      priceOf(PRICES.lambdaGbSecond, (BEACONS.billedMsPerBeacon / 1000) * (BEACONS.memoryMb / 1024)),
    dynamodb: priceOf(PRICES.dynamoWrite, 1),
    logs: priceOf(
      PRICES.logsIngestionGb,
      (BEACONS.lambdaLogBytesPerInvocation + BEACONS.firstSightingShare * BEACONS.emfLineBytes) / 1e9,
    ),
  };
  const stateReads = BEACONS.warmContainers * (SECONDS_PER_MONTH / BEACONS.stateCacheSeconds);
  const parts: PreviousSignalParts = {
    apiGateway: beacons * perBeacon.apiGateway,
    lambda: beacons * perBeacon.lambda,
    // Eventually consistent reads of an item under 4 KB: half a unit each.
    dynamodb: beacons * perBeacon.dynamodb + priceOf(PRICES.dynamoRead, stateReads / 2),
    metrics: priceOf(PRICES.customMetricMonth, fixed.customMetrics),
    alarms: priceOf(PRICES.alarmMetricMonth, fixed.alarmMetrics),
    logs: beacons * perBeacon.logs,
  };
  const total = Object.values(parts).reduce((sum, usd) => sum + usd, 0);
  return {
    perMillionBeacons: 1e6 * Object.values(perBeacon).reduce((sum, usd) => sum + usd, 0),
    parts,
    total,
    perMillionLoads: total / (beacons / 1e6),
  };
}

/** Whether each target is met, from the two volumes it names. */
export function signalTargets(months: readonly { readonly loadsPerDay: number; readonly month: SignalMonth }[]): {
  readonly monthAtOneMillion: boolean;
  readonly perMillionAtHundredMillion: boolean;
} {
  const at = (loadsPerDay: number) => {
    const found = months.find((m) => m.loadsPerDay === loadsPerDay);
    if (!found) throw new Error(`release-signal: no cost at ${loadsPerDay} loads a day`);
    return found.month;
  };
  return {
    monthAtOneMillion: at(SIGNAL_TARGETS.monthAtOneMillion.loadsPerDay).total <= SIGNAL_TARGETS.monthAtOneMillion.usd,
    perMillionAtHundredMillion:
      at(SIGNAL_TARGETS.perMillionAtHundredMillion.loadsPerDay).perMillionLoads <=
      SIGNAL_TARGETS.perMillionAtHundredMillion.usd,
  };
}

// ---------------------------------------------------------------------------------------------
// The consumer core on a synthetic stream

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const RING_HOST = 'https://demo.example.com';
/** A period boundary. */
const T0 = 1_800_000_000_000;
/** Records a second the synthetic stream carries: one full shard. */
const STREAM_RATE = 1000;

/**
 * `batches` batches of SIGNAL.batchSize records, a full shard's second each: entry loads (200 or
 * 304) and error reports (SIGNAL.errorReportShare of them, naming the build the rule gives the
 * viewer) from `viewers` addresses, three in four IPv4 and the rest IPv6 in /48s of several /64s,
 * one page in twenty on a ring host.
 */
function syntheticStream(state: RolloutState, viewers: number, batches: number): StreamRecord[][] {
  const next = seededRandom(42);
  const addresses = Array.from({ length: viewers }, (_, i) =>
    i % 4 === 3
      ? `2001:db8:${(i >> 4).toString(16)}:${(i & 15).toString(16)}::${(i % 97).toString(16)}`
      : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  );
  const message = 'TypeError: Cannot read properties of undefined (reading "price")';
  const out: StreamRecord[][] = [];
  let sequence = 0;
  for (let b = 0; b < batches; b += 1) {
    const batch: StreamRecord[] = [];
    for (let r = 0; r < SIGNAL.batchSize; r += 1) {
      const at = T0 + Math.floor((sequence * 1000) / STREAM_RATE);
      const ip = addresses[Math.floor(next() * addresses.length)]!;
      const ring = next() < 0.05;
      const referer = ring ? `${RING_HOST}/` : 'https://shop.example.com/products/42';
      const error = next() < SIGNAL.errorReportShare;
      const record: RealtimeLogRecord = error
        ? {
            at,
            clientIp: ip,
            method: 'GET',
            uri: ERROR_REPORT_PATH,
            query: `b=${assignBuild(state, ip, ring ? RING_HOST : null, at)}&m=${encodeURIComponent(message)}`,
            status: 204,
            referer,
          }
        : {
            at,
            clientIp: ip,
            method: 'GET',
            uri: '/assets/index.js',
            query: '',
            status: next() < 0.3 ? 304 : 200,
            referer,
          };
      sequence += 1;
      batch.push({
        data: formatRecord(record),
        arrivedAt: at + 2000,
        sequenceNumber: String(sequence).padStart(56, '0'),
      });
    }
    out.push(batch);
  }
  return out;
}

/** Wall time of `consume` per batch, ms, the stream read in order from a fresh consumer. */
function timeStream(
  stream: readonly (readonly StreamRecord[])[],
  timeline: readonly TimedState[],
  options: ConsumerOptions,
): {
  readonly batchMs: number[];
  readonly closed: number;
  readonly skipped: Record<string, number>;
  readonly lastSkipped: Readonly<Record<string, number>>;
} {
  let state: ConsumerState = initialState();
  const batchMs: number[] = [];
  let closed = 0;
  const skipped: Record<string, number> = {};
  let lastSkipped: Readonly<Record<string, number>> = {};
  stream.forEach((batch, index) => {
    const start = process.hrtime.bigint();
    const result = consume(state, batch, timeline, options, index > 0);
    batchMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    state = result.state;
    closed += result.closed.length;
    lastSkipped = result.skipped;
    for (const [reason, count] of Object.entries(result.skipped)) skipped[reason] = (skipped[reason] ?? 0) + count;
  });
  return { batchMs, closed, skipped, lastSkipped };
}

/**
 * What `print` writes to stdout and stderr (Powertools' Logger writes there; a warning goes to stderr), as Lambda would
 * send it to CloudWatch Logs.
 */
function printed(print: () => void): string {
  let text = '';
  const count = (chunk: unknown) => {
    text += typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
    return true;
  };
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  const methods = ['log', 'info', 'warn', 'error'] as const;
  const consoles = methods.map((method) => console[method]);
  // Lambda sets the trace header for every invocation; Powertools adds its id to each line.
  const trace = process.env._X_AMZN_TRACE_ID;
  process.env._X_AMZN_TRACE_ID = 'Root=1-6757e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0';
  for (const stream of streams) stream.write = count as typeof stream.write;
  // With POWERTOOLS_DEV set, Powertools prints through the global console instead.
  for (const method of methods) console[method] = (...args: unknown[]) => void count(`${args.map(String).join(' ')}\n`);
  try {
    print();
  } finally {
    streams.forEach((stream, i) => {
      stream.write = writes[i]!;
    });
    methods.forEach((method, i) => {
      console[method] = consoles[i]!;
    });
    if (trace === undefined) delete process.env._X_AMZN_TRACE_ID;
    else process.env._X_AMZN_TRACE_ID = trace;
  }
  if (text === '')
    throw new Error('release-signal: the consumer logger printed nothing to measure (a log level above INFO?)');
  return text;
}

const usd2 = (value: number) => round(value, 2);
const usd4 = (value: number) => round(value, 4);

export const releaseSignal: BenchSection = {
  id: 'release-signal',
  title:
    'Release signal: cost a month and per million loads (USD), against the metrics API it replaces, and the ' +
    'consumer core per record',
  async run(context: BenchContext): Promise<SectionResult> {
    const { config, quick } = context;
    const options: ConsumerOptions = {
      periodSeconds: config.alarms.periodSeconds,
      latenessMs: config.metrics.latenessSeconds * 1000,
    };

    // The consumer core: a full shard's stream, a rollout at 25 % with a ring host.
    const state: RolloutState = { stable: STABLE, canary: CANARY, weight: 2500, salt: 'd-BENCH', ring: [RING_HOST] };
    const before: RolloutState = { ...state, weight: 1000 };
    const batches = quick ? 8 : 150;
    const viewers = 30_000;
    context.log(
      `release-signal: the consumer core, ${batches} batches of ${SIGNAL.batchSize.toLocaleString('en')} records`,
    );
    const stream = syntheticStream(state, viewers, batches);
    const steadyTimeline: TimedState[] = [{ state, from: 0, until: null }];
    // During a change both states may be served: every record judged under each.
    const changeTimeline: TimedState[] = [
      { state: before, from: 0, until: Number.MAX_SAFE_INTEGER },
      { state, from: 0, until: null },
    ];
    timeStream(stream.slice(0, quick ? 2 : 30), steadyTimeline, options); // warm-up
    const steady = timeStream(stream, steadyTimeline, options);
    const change = timeStream(stream, changeTimeline, options);
    // The first batch of a fresh consumer starts its tallies: the figures are of the batches after it.
    const steadyBatch = distribution(steady.batchMs.slice(1));
    const changeBatch = distribution(change.batchMs.slice(1));
    const coreMsPerRecord = steadyBatch.median / SIGNAL.batchSize;
    const recordsPerSecond = 1000 / coreMsPerRecord;
    const cpuScale = MB_PER_VCPU / SIGNAL.consumerMemoryMb;

    // What the consumer writes: the lines as Powertools prints them, the EMF of a closed period.
    const logger = functionLogger('signal-consumer');
    const batchLine = (closed: BatchSummary['closed']) =>
      Buffer.byteLength(
        printed(() =>
          logger.info('batch', {
            records: SIGNAL.batchSize,
            resumed: true,
            closed,
            late: 0,
            skipped: steady.lastSkipped,
          }),
        ),
      );
    const batchLineBytes = batchLine([]);
    // As consumer.ts logs a kept message (the longest the consumer keeps).
    const kept = 'x'.repeat(MAX_MESSAGE_LENGTH);
    const errorLines = printed(() =>
      logger.info(
        'error reported',
        errorReportedDetails(periodStart(Date.now(), options.periodSeconds), {
          role: 'canary',
          build: CANARY,
          message: kept,
        }),
      ),
    );
    const errorLineBytes = Buffer.byteLength(errorLines);
    const messageDropped = !errorLines.includes(kept);
    const metrics = functionMetrics(config.metrics.namespace, 'signal-consumer');
    const closedPeriod = {
      start: periodStart(Date.now(), options.periodSeconds),
      unjudged: null,
      counts: {
        canary: { viewers: 15_000, erroring: 150 },
        stable: { viewers: 45_000, erroring: 450 },
        ring: { viewers: 3_000, erroring: 30 },
        preview: { viewers: 3, erroring: 0 },
      },
    };
    // A closed period's EMF lines, and its counts in the batch line of the batch that closed it.
    const periodEmfBytes =
      periodDocuments(metrics, closedPeriod).reduce<number>(
        (sum, document) => sum + Buffer.byteLength(`${JSON.stringify(document)}\n`),
        0,
      ) +
      batchLine([closedPeriod]) -
      batchLineBytes;
    // The timeline item at its longest, of rollout states like this one: DynamoDB sizes an item by its names and
    // values.
    const entries = Array.from({ length: TIMELINE_LENGTH }, (_, i) => ({
      text: formatRolloutState({ ...state, weight: 1000 * ((i % 10) + 1) }),
      from: T0 + i * 60_000,
      until: i === TIMELINE_LENGTH - 1 ? null : T0 + (i + 1) * 60_000 + 40_000,
    }));
    const timelineItemBytes =
      'pk'.length +
      STATE_TIMELINE_KEY.length +
      'timeline'.length +
      Buffer.byteLength(JSON.stringify(entries)) +
      'version'.length +
      21;
    const timelineReadUnits = 0.5 * Math.ceil(timelineItemBytes / 4096);

    // The metrics: Viewers and ErroringViewers per judged role, Viewers of each role counted but never judged (ring,
    // preview), UnjudgedPeriods, and the judge's CanaryFailing.
    const customMetrics =
      2 * ROLES.length +
      (ROLES_COUNTED.length - ROLES.length) +
      [METRIC_UNJUDGED_PERIODS, METRIC_CANARY_FAILING].length;
    const rule: ReleaseAlarmRule = config.alarms;
    // The per-period alarm the previous design and the first release signal ran; the judge's alarm reads one metric.
    const clientErrorAlarmMetrics = releaseAlarmQueries(rule).metrics.length;
    const verdictAlarmMetrics = 1;
    const unjudgedAlarmMetrics = unjudgedAlarmQueries(
      { latenessSeconds: config.metrics.latenessSeconds },
      { consumerFunction: 'signal-consumer', stream: 'signal' },
    ).metrics.length;
    const inputs = (loadsPerDay: number): SignalCostInputs => ({
      loadsPerDay,
      peakToAverage: config.metrics.peakToAverage,
      periodSeconds: options.periodSeconds,
      coreMsPerRecord,
      batchLineBytes,
      errorLineBytes,
      periodEmfBytes,
      timelineReadUnits,
      alarmMetrics: unjudgedAlarmMetrics,
      highResolutionAlarmMetrics: verdictAlarmMetrics,
      customMetrics,
      batchWindowSeconds: config.metrics.batchWindowSeconds,
    });
    // The metrics API published Viewers and ErroringViewers per role (canary, stable, ring): 6; its alarm was the
    // client-error alarm.
    const previousFixed = { customMetrics: 6, alarmMetrics: clientErrorAlarmMetrics };
    const months = SIGNAL_VOLUMES.map((volume) => ({
      ...volume,
      month: signalMonth(inputs(volume.loadsPerDay)),
      previous: previousSignalMonth(volume.loadsPerDay, previousFixed),
    }));
    const met = signalTargets(months);
    const one = months.find((m) => m.loadsPerDay === SIGNAL_TARGETS.monthAtOneMillion.loadsPerDay)!;
    const hundred = months.find((m) => m.loadsPerDay === SIGNAL_TARGETS.perMillionAtHundredMillion.loadsPerDay)!;

    const volumeFigures = months.flatMap(({ label, loadsPerDay, month, previous }): Figure[] => [
      { name: `${label} loads a day: sampling rate`, value: month.samplingPercent, unit: '%' },
      { name: `${label} loads a day: Kinesis shards`, value: month.shards, unit: 'count' },
      {
        name: `${label} loads a day: records a month (sampled loads and error reports)`,
        value: Math.round(month.records),
        unit: 'count',
      },
      {
        name: `${label} loads a day: consumer invocations a month`,
        value: Math.round(month.invocations),
        unit: 'count',
      },
      {
        name: `${label} loads a day: cost a month`,
        value: usd2(month.total),
        unit: 'USD',
        previous: usd2(previous.total),
        ...(loadsPerDay === SIGNAL_TARGETS.monthAtOneMillion.loadsPerDay
          ? { target: SIGNAL_TARGETS.monthAtOneMillion.usd }
          : {}),
      },
      {
        name: `${label} loads a day: cost per million loads`,
        value: usd4(month.perMillionLoads),
        unit: 'USD',
        previous: usd4(previous.perMillionLoads),
        ...(loadsPerDay === SIGNAL_TARGETS.perMillionAtHundredMillion.loadsPerDay
          ? { target: SIGNAL_TARGETS.perMillionAtHundredMillion.usd }
          : {}),
      },
    ]);
    const parts: [string, number, number][] = [
      ['CloudFront real-time logs', one.month.parts.realtimeLogs, 0],
      ['Kinesis shard-hours', one.month.parts.kinesisShards, 0],
      ['Kinesis PUT payload units', one.month.parts.kinesisPuts, 0],
      ['HTTP API requests', 0, one.previous.parts.apiGateway],
      [
        `Lambda (consumer at ${SIGNAL.consumerMemoryMb} MB; metrics API at ${BEACONS.memoryMb} MB)`,
        one.month.parts.lambda,
        one.previous.parts.lambda,
      ],
      ['CloudFront Functions (error reports)', one.month.parts.cloudFrontFunctions, 0],
      [
        'DynamoDB (checkpoint and timeline; ledger and state copy)',
        one.month.parts.dynamodb,
        one.previous.parts.dynamodb,
      ],
      ['CloudWatch custom metrics', one.month.parts.metrics, one.previous.parts.metrics],
      ['CloudWatch alarms (metrics read)', one.month.parts.alarms, one.previous.parts.alarms],
      ['CloudWatch Logs ingestion', one.month.parts.logs, one.previous.parts.logs],
    ];
    // The other side of the batching window's trade: fewer calls, a few seconds more for every rollback.
    const slowerWindows = [5, 10];
    const figures: Figure[] = [
      ...volumeFigures,
      ...slowerWindows.map(
        (seconds): Figure => ({
          name: `1 million loads a day with metrics.batchWindowSeconds ${seconds}: cost a month`,
          value: usd2(
            signalMonth({ ...inputs(SIGNAL_TARGETS.monthAtOneMillion.loadsPerDay), batchWindowSeconds: seconds }).total,
          ),
          unit: 'USD',
          target: SIGNAL_TARGETS.monthAtOneMillion.usd,
        }),
      ),
      ...parts.map(
        ([name, value, previous]): Figure => ({
          name: `1 million loads a day, a month: ${name}`,
          value: usd2(value),
          unit: 'USD',
          previous: usd2(previous),
        }),
      ),
      { name: 'consumer core, a batch of 1,000 records: median', value: round(steadyBatch.median, 3), unit: 'ms' },
      { name: 'consumer core, a batch of 1,000 records: p99', value: round(steadyBatch.p99, 3), unit: 'ms' },
      {
        name: 'consumer core, a batch of 1,000 records during a state change (two states): median',
        value: round(changeBatch.median, 3),
        unit: 'ms',
      },
      { name: 'consumer core, per record: median', value: round(coreMsPerRecord * 1000, 3), unit: 'µs' },
      { name: 'consumer core, records a second on one core', value: Math.round(recordsPerSecond), unit: 'count' },
      {
        name: `consumer core, records a second at ${SIGNAL.consumerMemoryMb} MB (CPU share scaled)`,
        value: Math.round(recordsPerSecond / cpuScale),
        unit: 'count',
      },
      { name: 'consumer batch log line', value: batchLineBytes, unit: 'B' },
      { name: 'consumer error line (per erroring viewer and period)', value: errorLineBytes, unit: 'B' },
      {
        name: 'lines of a closed period (EMF of the three roles, its counts in the batch line)',
        value: periodEmfBytes,
        unit: 'B',
      },
      { name: `timeline item (${TIMELINE_LENGTH} states)`, value: timelineItemBytes, unit: 'B' },
    ];
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const fixedMonth = one.month.parts.kinesisShards + one.month.parts.metrics + one.month.parts.alarms;
    const labels: Record<keyof SignalParts, string> = {
      realtimeLogs: 'real-time logs',
      kinesisShards: 'the shard',
      kinesisPuts: 'PUT payload units',
      lambda: 'Lambda',
      cloudFrontFunctions: 'CloudFront Functions',
      dynamodb: 'DynamoDB',
      metrics: 'metrics',
      alarms: 'alarms',
      logs: 'Logs',
    };
    const list = (breakdown: SignalParts) =>
      (Object.keys(labels) as (keyof SignalParts)[]).map((key) => `${labels[key]} $${usd2(breakdown[key])}`).join(', ');
    return {
      figures,
      notes: [
        `Targets: at most $${SIGNAL_TARGETS.monthAtOneMillion.usd} a month at 1 million loads a day: ` +
          `${verdict(met.monthAtOneMillion)} ($${usd2(one.month.total)}, of it $${usd2(fixedMonth)} fixed: the ` +
          `shard, the metrics, the alarms); at most $${SIGNAL_TARGETS.perMillionAtHundredMillion.usd} per million ` +
          `loads at 100 million a day: ${verdict(met.perMillionAtHundredMillion)} ` +
          `($${usd4(hundred.month.perMillionLoads)}).`,
        `Prices (bench/prices.ts, each with its source): real-time logs $${PRICES.realtimeLogLine.usd} per ` +
          `million lines, Kinesis $${PRICES.kinesisShardHour.usd} per shard-hour and ` +
          `$${PRICES.kinesisPutPayloadUnit.usd} per million PUT payload units, Lambda ` +
          `$${PRICES.lambdaRequest.usd} per million requests and $${PRICES.lambdaGbSecond.usd} per GB-second, ` +
          `CloudFront Functions $${PRICES.cloudFrontFunction.usd} per million, DynamoDB ` +
          `$${PRICES.dynamoWrite.usd} per million write units and $${PRICES.dynamoRead.usd} per million read ` +
          `units, $${PRICES.customMetricMonth.usd} per metric-month, $${PRICES.alarmMetricMonth.usd} per alarm ` +
          `metric a month, Logs $${PRICES.logsIngestionGb.usd} per GB; a month is ${SIGNAL.daysPerMonth} days.`,
        `This design: CloudFront logs every entry load and error report (error reports assumed ` +
          `${SIGNAL.errorReportShare * 100} % of loads) at the sampling rate signalCapacity ` +
          `(contracts/signal-capacity.ts) picks for config metrics.peakToAverage ${config.metrics.peakToAverage}: ` +
          `the peak within ${signalCapacity({ expectedLoadsPerDay: 1, peakToAverage: 1 }).budgetRecordsPerSecond} ` +
          `records a second of one shard, always one shard. Each record is one PUT payload unit (at most ` +
          `${RECORD_BYTES_MAX} B, under 25 KB).`,
        `  Consumer: batches of up to ${SIGNAL.batchSize.toLocaleString('en')} records, a ` +
          `${config.metrics.batchWindowSeconds} s window (metrics.batchWindowSeconds), one invocation at a time: ` +
          `traffic taken at its daily average, an invocation per window holding a record, or one per ` +
          `${SIGNAL.batchSize.toLocaleString('en')} records once windows fill (busier hours fill more, so ` +
          `invocations are a little low between the two). Each invocation writes the checkpoint (one PutItem) and ` +
          `reads the timeline when its copy is ${TIMELINE_CACHE_MS / 1000} s old (one GetItem, ` +
          `${timelineReadUnits} read ${timelineReadUnits === 1 ? 'unit' : 'units'}: ${timelineItemBytes} B at its ` +
          `longest), each assumed ${SIGNAL.dynamoWaitMs} ms, plus the core's time per record measured here, ` +
          `scaled by ${MB_PER_VCPU} / ${SIGNAL.consumerMemoryMb}; billed at ${SIGNAL.consumerMemoryMb} MB (at ` +
          `1 million loads a day ${one.month.billedMsPerInvocation} ms an invocation, at 100 million ` +
          `${hundred.month.billedMsPerInvocation} ms).`,
        `  Logs: per invocation Lambda's own lines (${SIGNAL.lambdaLogBytesPerInvocation} B, assumed) and the ` +
          `batch line (${batchLineBytes} B); per period the EMF lines (${periodEmfBytes} B); per sampled error ` +
          `report an error line (${errorLineBytes} B: the upper bound, every report a viewer of its own in its ` +
          `period${
            messageDropped
              ? '; as printed today that is two lines: Powertools reserves the key `message`, which consumer.ts ' +
                'logs the error under, so it drops it and prints a warning line: the message itself is not in the log'
              : ''
          }). ` +
          `Fixed: ${customMetrics} custom metrics (Viewers and ErroringViewers of canary and stable viewers, ` +
          `Viewers of the ring, whose errors are in the log only; UnjudgedPeriods and CanaryFailing, billed only ` +
          `in hours they are published, so $${usd2(priceOf(PRICES.customMetricMonth, 2))} of it is an upper ` +
          `bound), the metrics alarms read (the client-error alarm, on the judge's verdict at high resolution, ` +
          `${verdictAlarmMetrics}; the unjudged alarm ${unjudgedAlarmMetrics}), the shard. While a release runs ` +
          `(taken as always), the verdict's EMF line per batch (${SIGNAL.verdictLineBytes} B, assumed) and the ` +
          `judgment record's PutItem per closed period (${SIGNAL.judgmentWriteUnits} write units, assumed).`,
        `  At 100 million loads a day, a month: ${list(hundred.month.parts)}.`,
        `Previous design (the metrics API, kept as a model in prices.ts BEACONS): one beacon per entry load at ` +
          `$${usd4(one.previous.perMillionBeacons)} per million (an HTTP API request, a Lambda invocation of ` +
          `${BEACONS.billedMsPerBeacon} ms at ${BEACONS.memoryMb} MB, a ledger UpdateItem, ` +
          `${BEACONS.lambdaLogBytesPerInvocation} B of Lambda's lines and a ${BEACONS.emfLineBytes} B EMF line), ` +
          `plus ${previousFixed.customMetrics} custom metrics, the client-error alarm's ` +
          `${clientErrorAlarmMetrics} metrics, and the state copy read every ${BEACONS.stateCacheSeconds} s by ` +
          `${BEACONS.warmContainers} containers. HTTP API requests priced flat (above 300 million a month ` +
          `they cost less).`,
        "  Left out of both: CloudFront's own request charge (the previous design paid it on every beacon, " +
          'this one on error reports only), RolloutWeight and the other metrics and alarms both have alike.',
        `Core time: consume (regional-function/signal-consumer/core.ts) on ${batches} batches of ` +
          `${SIGNAL.batchSize.toLocaleString('en')} synthetic records (${STREAM_RATE.toLocaleString('en')} a ` +
          `second, a full shard; ${viewers.toLocaleString('en')} viewers, a quarter IPv6; rollout at 25 % with a ` +
          `ring host; ${SIGNAL.errorReportShare * 100} % error reports), read in order from a fresh consumer ` +
          `after a warm-up; ${steady.closed} periods closed; the first batch left out. During a change every ` +
          `record is judged under two states. One shard takes at most ${STREAM_RATE.toLocaleString('en')} records ` +
          `a second: at ${SIGNAL.consumerMemoryMb} MB the core takes ` +
          `${round((STREAM_RATE / (recordsPerSecond / cpuScale)) * 100, 1)} % of a second for them.`,
      ],
      data: {
        inputs: inputs(SIGNAL_TARGETS.monthAtOneMillion.loadsPerDay),
        months: months.map(({ loadsPerDay, month, previous }) => ({ loadsPerDay, month, previous })),
        targets: { ...SIGNAL_TARGETS, met },
        core: {
          steady: steadyBatch,
          change: changeBatch,
          skipped: steady.skipped,
          batchMsMedianAll: median(steady.batchMs),
        },
        logs: { batchLineBytes, errorLineBytes, messageDropped, periodEmfBytes, timelineItemBytes },
      },
    };
  },
};

/**
 * The benchmark's arithmetic, on fixed inputs: the cost model and the rollback-reach chain.
 */
import { PREVIOUS_DESIGN } from '../../bench/baseline';
import { PRICES } from '../../bench/prices';
import { billedMs, costPerMillion } from '../../bench/sections/cost';
import {
  previousSignalMonth,
  SIGNAL_TARGETS,
  SIGNAL_VOLUMES,
  signalMonth,
  signalTargets,
  type SignalCostInputs,
  type SignalMonth,
} from '../../bench/sections/release-signal';
import {
  previousReachComponents,
  rateSeconds,
  reachComponents,
  totalReach,
  type EdgeReachMeasurement,
} from '../../bench/sections/rollback-reach';
import { signalCapacity } from '../../contracts/signal-capacity';

describe('cost model', () => {
  const reference = {
    lambdaPerLoad: 1,
    warmBilledMs: 1,
    coldBilledMs: 11,
    coldFraction: 0,
    memoryMb: 128,
    s3GetsPerLoad: 1,
    standardQueriesPerLoad: 0,
    latencyQueriesPerLoad: 0.001,
    cloudFrontFunctionsPerLoad: 0,
    kvsReadsPerLoad: 0,
    kvsApiCallsPerLoad: 0,
  };

  it('prices a million loads: requests, 1 ms at 128 MB, one GET each, the queries', () => {
    const cost = costPerMillion(reference);
    expect(cost.edgeRequests).toBeCloseTo(0.6, 10);
    // 1e6 × 1 ms × 0.125 GB = 125 GB-s
    expect(cost.edgeDuration).toBeCloseTo(125 * PRICES.edgeGbSecond.usd, 12);
    expect(cost.s3).toBeCloseTo(0.4, 10);
    expect(cost.route53).toBeCloseTo(1000 * 0.6e-6, 12);
    expect(cost.cloudFrontFunctions).toBe(0);
    expect(cost.total).toBeCloseTo(0.6 + 125 * 0.00005001 + 0.4 + 0.0006, 10);
  });

  it('weights the cold invocations by the cold-start fraction', () => {
    const warm = costPerMillion(reference).edgeDuration;
    const some = costPerMillion({ ...reference, coldFraction: 0.01 }).edgeDuration;
    // 1 % of loads bill 11 ms instead of 1 ms: 10 % more duration.
    expect(some / warm).toBeCloseTo(1.1, 10);
  });

  it('prices the viewer-edge design: a function and a store read per load, Lambda and S3 per miss only', () => {
    const cost = costPerMillion({
      ...reference,
      lambdaPerLoad: 0.002,
      coldFraction: 1,
      coldBilledMs: 30,
      s3GetsPerLoad: 0.001,
      latencyQueriesPerLoad: 0,
      cloudFrontFunctionsPerLoad: 1,
      kvsReadsPerLoad: 1,
    });
    expect(cost.cloudFrontFunctions).toBeCloseTo(0.1, 10);
    expect(cost.keyValueStore).toBeCloseTo(0.03, 10);
    expect(cost.edgeRequests).toBeCloseTo(0.002 * 0.6, 10);
    // 2,000 invocations × 30 ms × 0.125 GB
    expect(cost.edgeDuration).toBeCloseTo(2000 * 0.03 * 0.125 * PRICES.edgeGbSecond.usd, 12);
    expect(cost.s3).toBeCloseTo(0.0004, 10);
    expect(cost.total).toBeLessThan(0.15);
    // A thousand API calls are a dollar.
    expect(costPerMillion({ ...reference, kvsApiCallsPerLoad: 0.001 }).keyValueStore).toBeCloseTo(1, 10);
  });

  it('bills whole milliseconds, rounded up, at least one', () => {
    expect([0, 0.002, 1, 1.2, 29.01].map(billedMs)).toEqual([1, 1, 1, 2, 30]);
  });
});

describe('release signal cost model', () => {
  // Measured inputs, fixed here: 2 µs of core time per record, the lines' bytes, a timeline read of one unit.
  const INPUTS: SignalCostInputs = {
    loadsPerDay: 1_000_000,
    peakToAverage: 3,
    periodSeconds: 60,
    coreMsPerRecord: 0.002,
    batchLineBytes: 250,
    errorLineBytes: 400,
    periodEmfBytes: 750,
    timelineReadUnits: 1,
    alarmMetrics: 8,
    highResolutionAlarmMetrics: 1,
    customMetrics: 8,
    batchWindowSeconds: 1,
  };

  it('uses the prices this hand calculation uses', () => {
    expect(
      [
        PRICES.realtimeLogLine,
        PRICES.kinesisShardHour,
        PRICES.kinesisPutPayloadUnit,
        PRICES.lambdaRequest,
        PRICES.lambdaGbSecond,
        PRICES.cloudFrontFunction,
      ].map((p) => p.usd / p.per),
    ).toEqual([0.01 / 1e6, 0.015, 0.014 / 1e6, 0.2 / 1e6, 0.0000166667, 0.1 / 1e6]);
    expect(
      [
        PRICES.dynamoWrite,
        PRICES.dynamoRead,
        PRICES.customMetricMonth,
        PRICES.alarmMetricMonth,
        PRICES.logsIngestionGb,
      ].map((p) => p.usd / p.per),
    ).toEqual([0.625 / 1e6, 0.125 / 1e6, 0.3, 0.1, 0.5]);
  });

  it('prices a month at 1 million loads a day as worked out by hand', () => {
    const month = signalMonth(INPUTS);
    // 1,000,000 loads a day × 30 days, 1 % of them also an error report; the peak (34.7 a second) fits: no sampling.
    const loads = 30_000_000;
    const errorReports = 300_000;
    const records = 30_300_000;
    // A 1 s window holds 11.69 records on average (30,300,000 / 2,592,000 s), so almost every window
    // has one: an invocation per window that holds a record (Poisson), 2,592,000 × (1 − e^−11.69).
    const windows = 2_592_000;
    const invocations = windows * (1 - Math.exp(-records / windows));
    expect(invocations).toBeCloseTo(2_591_978.3, 0);
    // The timeline copy is 5 s old every fifth second.
    const timelineReads = 518_400;
    // Checkpoint at every invocation and timeline at every fifth, 10 ms each (12 ms), + 11.69 records × 2 µs ×
    // (1769 / 128) = 0.32 ms: 13 ms billed.
    const billed = 13;
    expect(month).toMatchObject({
      samplingPercent: 100,
      shards: 1,
      loads,
      errorReports,
      records,
      timelineReads,
      billedMsPerInvocation: billed,
    });
    expect(month.invocations).toBeCloseTo(invocations, 3);
    const periods = 43_200;
    const parts = {
      realtimeLogs: 30.3 * 0.01,
      kinesisShards: 30 * 24 * 0.015,
      kinesisPuts: 30.3 * 0.014,
      lambda: (invocations / 1e6) * 0.2 + invocations * 0.013 * 0.125 * 0.0000166667,
      cloudFrontFunctions: 0.3 * 0.1,
      // The checkpoint per invocation, the judgment record (2 write units) per period; the timeline's reads.
      dynamodb: ((invocations + periods * 2) / 1e6) * 0.625 + 0.5184 * 1 * 0.125,
      metrics: 8 * 0.3,
      // 8 standard-resolution alarm metrics and the verdict's one at high resolution.
      alarms: 8 * 0.1 + 1 * 0.3,
      // Per invocation 350 B of Lambda's lines, the 250 B batch line and the 300 B verdict line; 43,200 periods × 750
      // B; 300,000 error lines × 400 B.
      logs: ((invocations * 900 + periods * 750 + 300_000 * 400) / 1e9) * 0.5,
    };
    for (const [name, usd] of Object.entries(parts))
      expect([name, month.parts[name as keyof typeof parts]]).toEqual([name, expect.closeTo(usd, 10)]);
    const total = Object.values(parts).reduce((sum, usd) => sum + usd, 0);
    expect(total).toBeCloseTo(18.63, 1);
    expect(month.total).toBeCloseTo(total, 6);
    expect(month.perMillionLoads).toBeCloseTo(total / 30, 6);
  });

  it('fills batches at 100 million loads a day: an invocation per 1,000 sampled records', () => {
    const month = signalMonth({ ...INPUTS, loadsPerDay: 100_000_000 });
    expect(month.samplingPercent).toBe(23);
    // 3,030,000,000 loads and reports × 23 %.
    expect(month.records).toBeCloseTo(696_900_000, 0);
    // 696,900 batches of 1,000 would do, but a 1 s window closes sooner: one an invocation a second, about 2.59
    // million.
    expect(month.invocations).toBeCloseTo(2_592_000, -2);
    // Every 5 s, not every invocation.
    expect(month.timelineReads).toBe(518_400);
    expect(month.invocations).toBeGreaterThan(696_900);
    expect(month.parts.kinesisShards).toBeCloseTo(10.8, 10);
    expect(month.parts.cloudFrontFunctions).toBeCloseTo(30_000_000 * 0.1e-6, 10);
  });

  it(
    'samples and sizes each volume as signalCapacity does: one shard, and less than every load only at ' +
      '100 million a day',
    () => {
      expect(SIGNAL_VOLUMES.map((v) => v.loadsPerDay)).toEqual([100_000, 1_000_000, 10_000_000, 100_000_000]);
      for (const peakToAverage of [3, 10]) {
        for (const { loadsPerDay } of SIGNAL_VOLUMES) {
          const month = signalMonth({ ...INPUTS, loadsPerDay, peakToAverage });
          const capacity = signalCapacity({ expectedLoadsPerDay: loadsPerDay, peakToAverage });
          expect([loadsPerDay, month.samplingPercent, month.shards]).toEqual([
            loadsPerDay,
            capacity.samplingPercent,
            capacity.shards,
          ]);
        }
      }
      expect(SIGNAL_VOLUMES.map(({ loadsPerDay }) => signalMonth({ ...INPUTS, loadsPerDay }).samplingPercent)).toEqual([
        100, 100, 100, 23,
      ]);
      expect(signalMonth({ ...INPUTS, loadsPerDay: 10_000_000, peakToAverage: 10 }).samplingPercent).toBe(69);
    },
  );

  it('calls the consumer less, and costs less, with a longer batching window', () => {
    const slow = signalMonth({ ...INPUTS, batchWindowSeconds: 5 });
    // A 5 s window holds 58.4 records: one invocation per window, 2,592,000 s / 5 s.
    expect(slow.invocations).toBeCloseTo(518_400 * (1 - Math.exp(-58.45)), 0);
    expect(slow.total).toBeLessThan(signalMonth(INPUTS).total - 2.5);
    // A window of 0 calls as records come; Lambda's poller reads about once a second.
    expect(signalMonth({ ...INPUTS, batchWindowSeconds: 0 }).invocations).toBeCloseTo(
      signalMonth(INPUTS).invocations,
      6,
    );
  });

  it('has fewer invocations than windows when windows are often empty', () => {
    // 1,000 loads a day: 0.012 records per 1 s window.
    const month = signalMonth({ ...INPUTS, loadsPerDay: 1000 });
    expect(month.invocations).toBeCloseTo(2_592_000 * (1 - Math.exp(-(30_300 / 2_592_000))), 6);
    expect(month.invocations).toBeLessThan(30_300);
  });

  it(
    'prices the metrics API it replaces at $2.18 per million beacons, one a load, with its metrics, ' +
      'alarm and state copy',
    () => {
      const previous = previousSignalMonth(1_000_000, { customMetrics: 6, alarmMetrics: 4 });
      // HTTP API $1 + Lambda $0.2 + 10 ms at 256 MB + an UpdateItem $0.625 + 625 B of logs.
      const perBeacon = 1 + 0.2 + 1e6 * 0.01 * 0.25 * 0.0000166667 + 0.625 + 625e6 * 1e-9 * 0.5;
      expect(previous.perMillionBeacons).toBeCloseTo(perBeacon, 10);
      expect(previous.perMillionBeacons).toBeCloseTo(2.1792, 4);
      // Five containers reading the copy every 10 s, half a unit each.
      const stateReads = ((5 * 2_592_000) / 10 / 2) * 0.125e-6;
      expect(previous.total).toBeCloseTo(30 * perBeacon + 6 * 0.3 + 4 * 0.1 + stateReads, 8);
      expect(previous.perMillionLoads).toBeCloseTo(previous.total / 30, 10);
    },
  );

  it('checks the targets: at most $15 a month at 1 million loads a day, $0.03 per million loads at 100 million', () => {
    expect(SIGNAL_TARGETS).toEqual({
      monthAtOneMillion: { loadsPerDay: 1_000_000, usd: 15 },
      perMillionAtHundredMillion: { loadsPerDay: 100_000_000, usd: 0.03 },
    });
    const at = (loadsPerDay: number, total: number, perMillionLoads: number) => ({
      loadsPerDay,
      month: { total, perMillionLoads } as SignalMonth,
    });
    expect(signalTargets([at(1_000_000, 15, 0.5), at(100_000_000, 90, 0.03)])).toEqual({
      monthAtOneMillion: true,
      perMillionAtHundredMillion: true,
    });
    expect(signalTargets([at(1_000_000, 15.01, 0.5), at(100_000_000, 90.3, 0.0301)])).toEqual({
      monthAtOneMillion: false,
      perMillionAtHundredMillion: false,
    });
    expect(() => signalTargets([at(1_000_000, 15, 0.5)])).toThrow(/no cost at 100000000 loads a day/);
    // The model at these inputs: over by half a dollar at a million a day ($14 of it fixed), well under at a hundred
    // million.
    const months = SIGNAL_VOLUMES.map(({ loadsPerDay }) => ({
      loadsPerDay,
      month: signalMonth({ ...INPUTS, loadsPerDay }),
    }));
    expect(signalTargets(months)).toEqual({ monthAtOneMillion: false, perMillionAtHundredMillion: true });
  });
});

describe('rollback reach', () => {
  const edge: EdgeReachMeasurement = {
    trials: [
      { perContainerS: [10, 50], maxS: 50 },
      { perContainerS: [20, 70], maxS: 70 },
      { perContainerS: [5, 60], maxS: 60 },
    ],
    meanIntervalS: [1, 45],
    resolvers: 1,
    containers: 2,
    loads: 100,
    edgeLookups: 10,
    authoritativeLookups: 5,
  };

  it('reads the rollout-sync schedule', () => {
    expect(rateSeconds('rate(1 minute)')).toBe(60);
    expect(rateSeconds('rate(5 minutes)')).toBe(300);
    expect(() => rateSeconds('cron(0 * * * ? *)')).toThrow(/not a rate expression/);
  });

  it("ends the previous design's chain with its measured edge part, bounded by TTL + 2 x refresh", () => {
    const components = previousReachComponents(edge);
    const last = components[components.length - 1]!;
    expect(last.basis).toBe('measured');
    expect(last.typicalS).toBe(60);
    expect(last.worstS).toBe(PREVIOUS_DESIGN.rolloutRecordTtlS + 2 * PREVIOUS_DESIGN.rolloutRefreshS);
    expect(components.find((c) => c.name === 'rollout sync runs')?.worstS).toBe(60);
    const total = totalReach(components);
    expect(total.worstS).toBe(components.reduce((sum, c) => sum + c.worstS, 0));
    expect(total.typicalS).toBeLessThan(total.worstS);
  });

  it(
    "sums this design's chain from the alarm without " + 'CodeDeploy in it, within 45 s typically and 90 s at worst',
    () => {
      const components = reachComponents(0);
      expect(components.map((c) => c.name).join(' ')).not.toMatch(/CodeDeploy/);
      expect(components[components.length - 1]).toMatchObject({ basis: 'measured', typicalS: 0, worstS: 0 });
      const total = totalReach(components);
      expect(total.typicalS).toBeLessThanOrEqual(45);
      expect(total.worstS).toBeLessThanOrEqual(90);
    },
  );
});

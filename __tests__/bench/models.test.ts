/**
 * The benchmark's arithmetic, on fixed inputs: the cost model and the rollback-reach chain.
 */
import { PREVIOUS_DESIGN } from '../../bench/baseline';
import { PRICES } from '../../bench/prices';
import { billedMs, costPerMillion } from '../../bench/sections/cost';
import { previousReachComponents, rateSeconds, reachComponents, totalReach, type EdgeReachMeasurement } from '../../bench/sections/rollback-reach';

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
    const cost = costPerMillion({ ...reference, lambdaPerLoad: 0.002, coldFraction: 1, coldBilledMs: 30, s3GetsPerLoad: 0.001, latencyQueriesPerLoad: 0, cloudFrontFunctionsPerLoad: 1, kvsReadsPerLoad: 1 });
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
    const last = components[components.length - 1];
    expect(last.basis).toBe('measured');
    expect(last.typicalS).toBe(60);
    expect(last.worstS).toBe(PREVIOUS_DESIGN.rolloutRecordTtlS + 2 * PREVIOUS_DESIGN.rolloutRefreshS);
    expect(components.find((c) => c.name === 'rollout sync runs')?.worstS).toBe(60);
    const total = totalReach(components);
    expect(total.worstS).toBe(components.reduce((sum, c) => sum + c.worstS, 0));
    expect(total.typicalS).toBeLessThan(total.worstS);
  });

  it("sums this design's chain from the alarm without CodeDeploy in it, within 45 s typically and 90 s at worst", () => {
    const components = reachComponents(0);
    expect(components.map((c) => c.name).join(' ')).not.toMatch(/CodeDeploy/);
    expect(components[components.length - 1]).toMatchObject({ basis: 'measured', typicalS: 0, worstS: 0 });
    const total = totalReach(components);
    expect(total.typicalS).toBeLessThanOrEqual(45);
    expect(total.worstS).toBeLessThanOrEqual(90);
  });
});

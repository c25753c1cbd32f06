/**
 * The benchmark's arithmetic, on fixed inputs: the cost model and the rollback-reach chain.
 */
import { loadConfig } from '../../config';
import { PRICES } from '../../scripts/bench/prices';
import { billedMs, costPerMillion } from '../../scripts/bench/sections/cost';
import { rateSeconds, reachComponents, totalReach, type EdgeReachMeasurement } from '../../scripts/bench/sections/rollback-reach';

describe('cost model', () => {
  const reference = {
    warmBilledMs: 1,
    coldBilledMs: 11,
    coldFraction: 0,
    memoryMb: 128,
    s3GetsPerLoad: 1,
    standardQueriesPerLoad: 0,
    latencyQueriesPerLoad: 0.001,
    cloudFrontFunctionsPerLoad: 0,
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

  it('ends the chain with the measured edge part, bounded by TTL + 2 x refresh from the config', () => {
    const config = loadConfig();
    const components = reachComponents(config, edge);
    const last = components[components.length - 1];
    expect(last.basis).toBe('measured');
    expect(last.typicalS).toBe(60);
    expect(last.worstS).toBe(config.dns.rolloutRecordTtl + 2 * config.edge.rolloutRefreshSeconds);
    expect(components.find((c) => c.name === 'rollout sync runs')?.worstS).toBe(60);
    const total = totalReach(components);
    expect(total.worstS).toBe(components.reduce((sum, c) => sum + c.worstS, 0));
    expect(total.typicalS).toBeLessThan(total.worstS);
  });
});

import * as fc from 'fast-check';
import { evaluateMetricMath, evaluateQueries, metricMathIds, parseMetricMath } from '../../contracts/metric-math';
import { periodStart, releaseAlarmQueries, type ReleaseAlarmRule } from '../../contracts/release-signal';
import { propertyRuns } from '../fixtures/property';

const RULE: ReleaseAlarmRule = {
  excessErrorPercent: 5,
  minViewers: 50,
  periodSeconds: 60,
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
};

/** The alarm's result for one period, through the expressions the stack ships. */
function excess(
  rule: ReleaseAlarmRule,
  inputs: { canary?: [number, number] | null; stable?: [number, number] | null },
): number | null {
  const queries = releaseAlarmQueries(rule);
  const values = evaluateQueries(queries.expressions, {
    canary_viewers_raw: inputs.canary?.[0] ?? null,
    canary_erroring_raw: inputs.canary?.[1] ?? null,
    stable_viewers_raw: inputs.stable?.[0] ?? null,
    stable_erroring_raw: inputs.stable?.[1] ?? null,
  });
  const result = values[queries.resultId];
  if (result === undefined) throw new Error(`the queries gave no ${queries.resultId}`);
  return result;
}

describe('periods', () => {
  it('aligns periods to the epoch, as CloudWatch does', () => {
    expect(periodStart(1_800_000_059_999, 60)).toBe(1_800_000_000_000);
    expect(periodStart(1_800_000_060_000, 60)).toBe(1_800_000_060_000);
    expect(periodStart(120_000, 60)).toBe(120_000);
    expect(periodStart(179_999, 60)).toBe(120_000);
  });
});

describe('the client-error alarm rule, as the metric math CloudWatch runs', () => {
  it('judges the canary against the stable build in percentage points', () => {
    expect(excess(RULE, { canary: [100, 12], stable: [900, 45] })).toBeCloseTo(12 - 5);
    expect(excess(RULE, { canary: [100, 5], stable: [900, 45] })).toBeCloseTo(0);
    // A canary better than stable gives a negative excess: never breaching.
    expect(excess(RULE, { canary: [100, 1], stable: [900, 90] })).toBeCloseTo(1 - 10);
  });

  it('does not judge a canary with fewer than minViewers viewers, and ignores a stable build below it', () => {
    expect(excess(RULE, { canary: [49, 49], stable: [900, 0] })).toBe(0);
    expect(excess(RULE, { canary: [50, 10], stable: [10, 10] })).toBeCloseTo(20);
  });

  it('treats missing data as zero (no viewers in a period is not an outage of the rule)', () => {
    expect(excess(RULE, {})).toBe(0);
    expect(excess(RULE, { canary: [60, 30] })).toBeCloseTo(50);
    expect(excess(RULE, { canary: [60, null as unknown as number] })).toBe(0);
  });

  it(
    'stays within what a CloudWatch alarm takes: at most 10 metrics and 10 expressions, each under ' +
      '1024 characters, ids in order',
    () => {
      const queries = releaseAlarmQueries(RULE);
      expect(queries.metrics.length).toBeLessThanOrEqual(10);
      expect(queries.expressions.length).toBeLessThanOrEqual(10);
      const defined = new Set(queries.metrics.map((q) => q.id));
      for (const q of queries.expressions) {
        expect(q.expression.length).toBeLessThan(1024);
        for (const id of metricMathIds(parseMetricMath(q.expression))) expect(defined.has(id)).toBe(true);
        expect(q.id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
        defined.add(q.id);
      }
      expect(queries.expressions.at(-1)?.id).toBe(queries.resultId);
    },
  );

  it('agrees with the rule written out in TypeScript for any counts', () => {
    const counts = fc
      .tuple(fc.nat(2000), fc.nat(2000))
      .map(([viewers, erroring]) => [viewers, Math.min(viewers, erroring)] as [number, number]);
    fc.assert(
      fc.property(counts, counts, fc.integer({ min: 1, max: 200 }), ([cv, ce], [sv, se], minViewers) => {
        const rule = { ...RULE, minViewers };
        const stableRate = sv >= minViewers ? (100 * se) / sv : 0;
        const expected = cv >= minViewers ? (100 * ce) / cv - stableRate : 0;
        expect(excess(rule, { canary: [cv, ce], stable: [sv, se] })).toBeCloseTo(expected, 9);
      }),
      { numRuns: propertyRuns(2000) },
    );
  });
});

describe('metric math, the subset the alarm uses', () => {
  const at = (expression: string, values: Record<string, number | null> = {}) =>
    evaluateMetricMath(parseMetricMath(expression), (id) => values[id] ?? null);

  it(
    'computes arithmetic, comparisons, IF and FILL per datapoint, with missing data and division by ' +
      'zero as no value',
    () => {
      expect(at('1 + 2 * 3 - -4 / 2')).toBe(9);
      expect(at('(1 + 2) * 3')).toBe(9);
      expect(at('a >= 2', { a: 2 })).toBe(1);
      expect(at('a != 2', { a: 2 })).toBe(0);
      expect(at('a + 1')).toBeNull();
      expect(at('FILL(a, 7) + 1')).toBe(8);
      expect(at('1 / 0')).toBeNull();
      expect(at('IF(a > 0, 10 / a, 0)', { a: 0 })).toBe(0);
      expect(at('IF(a, 1, 2)')).toBeNull();
    },
  );

  it('refuses what it does not support, so the local mode cannot judge by a different rule', () => {
    expect(() => parseMetricMath('SUM(METRICS())')).toThrow('function SUM is not supported here (only IF, FILL)');
    expect(() => parseMetricMath('a AND b')).toThrow('unexpected "AND"');
    expect(() => parseMetricMath('a % 2')).toThrow('unsupported text');
    expect(() => parseMetricMath('IF(a, 1)')).toThrow('IF takes 3 arguments, got 2');
    expect(() => evaluateQueries([{ id: 'x', expression: 'y + 1' }], {})).toThrow(
      'x reads y, which no query before it defines',
    );
  });
});

import * as fc from 'fast-check';
import {
  ADVANCE_RISK,
  judgeCanary,
  logGamma,
  shareRange,
  type Evidence,
  type JudgeRule,
} from '../../contracts/canary-judge';
import { seededRandom } from '../../bench/events';
import { propertyRuns } from '../fixtures/property';

const RULE: JudgeRule = { excessErrorPercent: 5, toleratedExcessPercent: 2, falseRollbackRate: 0.001, minViewers: 50 };

const evidence = (canary: [number, number], stable: [number, number]): Evidence => ({
  canary: { viewers: canary[0], erroring: canary[1] },
  stable: { viewers: stable[0], erroring: stable[1] },
});

describe('logGamma', () => {
  it('matches factorials and Γ(1/2)', () => {
    for (let n = 1; n <= 20; n += 1) {
      let factorial = 1;
      for (let k = 2; k < n; k += 1) factorial *= k;
      expect(logGamma(n)).toBeCloseTo(Math.log(factorial), 9);
    }
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 9);
  });
});

describe('shareRange: the confidence sequence of one share', () => {
  it('holds the observed share and narrows as viewers accrue in the same proportion', () => {
    let previous = shareRange({ viewers: 0, erroring: 0 }, 0.0005);
    expect(previous).toEqual({ share: 0, lower: 0, upper: 1 });
    for (const n of [20, 100, 1000, 10000, 100000]) {
      const range = shareRange({ viewers: n, erroring: n / 10 }, 0.0005);
      expect(range.lower).toBeLessThan(0.1);
      expect(range.upper).toBeGreaterThan(0.1);
      expect(range.upper - range.lower).toBeLessThan(previous.upper - previous.lower);
      previous = range;
    }
    expect(previous.upper - previous.lower).toBeLessThan(0.01);
  });

  it(
    'covers the true share at every look in all but about ' +
      'α of sequences (α = 0.05, 400 sequences of ' +
      '2,000 looks)',
    () => {
      for (const share of [0.01, 0.2]) {
        const draw = seededRandom(share * 1000);
        let missed = 0;
        for (let sequence = 0; sequence < 400; sequence += 1) {
          let erroring = 0;
          for (let n = 1; n <= 2000; n += 1) {
            if (draw() < share) erroring += 1;
            // Looking at every viewer would take long; looking every 25 and at the first few is enough to see a leak.
            if (n > 30 && n % 25 !== 0) continue;
            const range = shareRange({ viewers: n, erroring }, 0.05);
            if (share < range.lower || share > range.upper) {
              missed += 1;
              break;
            }
          }
        }
        expect(missed / 400).toBeLessThanOrEqual(0.05);
      }
    },
  );
});

describe('judgeCanary', () => {
  it('rolls back a canary failing 30 % against 1 % within a few dozen viewers, and not on fewer', () => {
    expect(judgeCanary(evidence([10, 3], [6000, 60]), RULE).verdict).toBe('unknown');
    const judged = judgeCanary(evidence([40, 12], [6000, 60]), RULE);
    expect(judged.verdict).toBe('failing');
    expect(judged.reason).toMatch(
      /^failing: the canary errs at least [\d.]+ points more than stable \(canary 30 % of 40, stable 1 % of 6000\)/,
    );
    expect(judged.excess.lower).toBeGreaterThan(RULE.toleratedExcessPercent);
  });

  it('needs minViewers before a step can be healthy, and says so', () => {
    const few = judgeCanary(evidence([49, 0], [100000, 1000]), RULE);
    expect(few.verdict).toBe('unknown');
    expect(few.reason).toBe('not enough viewers yet: 49 of the 50 canary viewers a step needs');
    expect(judgeCanary(evidence([400, 4], [100000, 1000]), RULE).verdict).toBe('healthy');
  });

  it('holds a canary a little worse than stable until the evidence decides', () => {
    const judged = judgeCanary(evidence([300, 12], [3000, 30]), RULE);
    expect(judged.verdict).toBe('unknown');
    expect(judged.reason).toMatch(/^not yet known: the canary may err up to [\d.]+ points more than stable/);
    expect(judged.excess.upper).toBeGreaterThan(RULE.excessErrorPercent);
  });

  it('does not roll back on an excess within the tolerance, however much evidence', () => {
    // 1.5 points more than stable, a million viewers: surely worse, but by less than tolerated.
    expect(judgeCanary(evidence([1_000_000, 25_000], [9_000_000, 90_000]), RULE).verdict).toBe('healthy');
  });
});

describe('judgeCanary: properties', () => {
  it(
    'a symmetric release is rolled back no more often than the configured rate (α = 0.05, a look ' +
      'every 100 viewers)',
    () => {
      const rule: JudgeRule = { ...RULE, falseRollbackRate: 0.05, toleratedExcessPercent: 0 };
      fc.assert(
        fc.property(
          fc.double({ min: 0, max: 0.3, noNaN: true }),
          fc.integer({ min: 1, max: 19 }),
          fc.integer({ min: 1, max: 2 ** 30 }),
          (share, canaryPercent, seed) => {
            const draw = seededRandom(seed);
            const releases = 120;
            let rolledBack = 0;
            for (let release = 0; release < releases; release += 1) {
              const counts = { canary: { viewers: 0, erroring: 0 }, stable: { viewers: 0, erroring: 0 } };
              for (let look = 0; look < 40; look += 1) {
                for (let viewer = 0; viewer < 100; viewer += 1) {
                  const role = draw() * 100 < canaryPercent ? counts.canary : counts.stable;
                  role.viewers += 1;
                  if (draw() < share) role.erroring += 1;
                }
                if (judgeCanary(counts, rule).verdict === 'failing') {
                  rolledBack += 1;
                  break;
                }
              }
            }
            // Binomial slack: three standard deviations over the bound.
            return rolledBack / releases <= 0.05 + 3 * Math.sqrt((0.05 * 0.95) / releases);
          },
        ),
        { numRuns: Math.min(propertyRuns(40), 12) },
      );
    },
  );

  it('a large excess always rolls back', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0.15, max: 0.5, noNaN: true }),
        fc.integer({ min: 2000, max: 100_000 }),
        fc.integer({ min: 4, max: 20 }),
        (stableShare, gap, canaryViewers, ratio) => {
          const canaryShare = Math.min(1, stableShare + gap);
          const stableViewers = canaryViewers * ratio;
          const judged = judgeCanary(
            evidence(
              [canaryViewers, Math.round(canaryViewers * canaryShare)],
              [stableViewers, Math.round(stableViewers * stableShare)],
            ),
            RULE,
          );
          return judged.verdict === 'failing';
        },
      ),
      { numRuns: propertyRuns(10000) },
    );
  });

  it('more evidence in the same proportions never turns a failing verdict into a passing one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 2, max: 50 }),
        (nc, xc, ns, xs, scale) => {
          const before = judgeCanary(evidence([nc, Math.min(xc, nc)], [ns, Math.min(xs, ns)]), RULE);
          if (before.verdict !== 'failing') return true;
          const after = judgeCanary(
            evidence([nc * scale, Math.min(xc, nc) * scale], [ns * scale, Math.min(xs, ns) * scale]),
            RULE,
          );
          return after.verdict === 'failing';
        },
      ),
      { numRuns: propertyRuns(20000) },
    );
  });

  it('the advance side never calls healthy what the rollback side calls failing', () => {
    expect(ADVANCE_RISK).toBeGreaterThan(RULE.falseRollbackRate);
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 50000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (nc, pc, ns, ps) => {
          const judged = judgeCanary(evidence([nc, Math.round(nc * pc)], [ns, Math.round(ns * ps)]), RULE);
          return judged.verdict !== 'healthy' || judged.excess.lower <= RULE.toleratedExcessPercent;
        },
      ),
      { numRuns: propertyRuns(10000) },
    );
  });
});

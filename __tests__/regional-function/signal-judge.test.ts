/**
 * The signal consumer's judge (regional-function/signal-consumer/judge.ts): what each look adds to
 * a release's record, and what it decides, on periods as the core closes them.
 */
import type { JudgeRule } from '../../contracts/canary-judge';
import { steadyState, type RolloutState } from '../../contracts/rollout-state';
import type { ClosedPeriod } from '../../regional-function/signal-consumer/core';
import type { TimedState } from '../../contracts/release-signal';
import { look, type LookInput } from '../../regional-function/signal-consumer/judge';

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const PERIOD = 60_000;
const T0 = 1_800_000_000_000;
const RULE: JudgeRule = { excessErrorPercent: 5, toleratedExcessPercent: 2, falseRollbackRate: 0.001, minViewers: 50 };
const release = (weight: number, salt = 'd-JUDGE0001'): RolloutState => ({
  stable: STABLE,
  canary: CANARY,
  weight,
  salt,
  ring: [],
});
/** Steady on the stable build until the release began at T0 (and reached every edge 40 s later). */
const timeline = (state: RolloutState = release(1000)): TimedState[] => [
  { state: steadyState(STABLE), from: 0, until: T0 + 40_000 },
  { state, from: T0, until: null },
];

function period(
  start: number,
  canary: [number, number],
  stable: [number, number],
  options: { unjudged?: string; atWeight?: Record<string, number> } = {},
): ClosedPeriod {
  const counts = {
    canary: { viewers: canary[0], erroring: canary[1] },
    stable: { viewers: stable[0], erroring: stable[1] },
    ring: { viewers: 0, erroring: 0 },
    preview: { viewers: 0, erroring: 0 },
  };
  return {
    start,
    unjudged: options.unjudged ?? null,
    counts,
    newestCanary: counts.canary,
    canaryAtWeight: options.atWeight ?? { 1000: canary[0] },
    messages: [],
  };
}

const input = (overrides: Partial<LookInput>): LookInput => ({
  record: null,
  timeline: timeline(),
  closed: [],
  open: [],
  baseline: { viewers: 6000, erroring: 60 },
  rule: RULE,
  periodMs: PERIOD,
  now: T0 + 5 * PERIOD,
  ...overrides,
});

describe('the judge of a release', () => {
  it('judges nothing while no release runs', () => {
    expect(look(input({ timeline: [{ state: steadyState(STABLE), from: 0, until: null }] }))).toEqual({
      record: null,
      changed: false,
      failedNow: false,
      healthyWeight: null,
    });
  });

  it(
    "starts a release's record with the stable build's " + 'baseline, and sums each closed, judged period of it once',
    () => {
      const first = look(input({ closed: [period(T0 + PERIOD, [40, 0], [360, 4])] }));
      expect(first.changed).toBe(true);
      expect(first.record).toMatchObject({
        salt: 'd-JUDGE0001',
        baseline: { viewers: 6000, erroring: 60 },
        closed: { canary: { viewers: 40, erroring: 0 }, stable: { viewers: 360, erroring: 4 } },
        atWeight: { 1000: 40 },
        lastPeriod: T0 + PERIOD,
      });
      // The same period again (a redelivered batch, a second look): nothing added.
      const again = look(
        input({
          record: first.record,
          closed: [period(T0 + PERIOD, [40, 0], [360, 4])],
          baseline: { viewers: 0, erroring: 0 },
        }),
      );
      expect(again.record?.closed.canary.viewers).toBe(40);
      expect(again.record?.baseline.viewers).toBe(6000);
      // A period another release (another salt) may have served too is none of this one's.
      const other = look(
        input({
          record: first.record,
          timeline: [
            ...timeline(release(1000, 'd-OTHER0001')).slice(0, 1),
            { state: release(1000, 'd-OTHER0001'), from: T0, until: T0 + 2 * PERIOD + 40_000 },
            { state: release(1000), from: T0 + 2 * PERIOD, until: null },
          ],
          closed: [period(T0 + 2 * PERIOD, [40, 0], [360, 4])],
        }),
      );
      expect(other.record?.closed.canary.viewers).toBe(40);
    },
  );

  it('finds a failing canary on the open period’s counts, at once, and keeps it failing', () => {
    const failing = look(
      input({
        open: [
          {
            start: T0,
            counts: { canary: { viewers: 30, erroring: 10 }, stable: { viewers: 270, erroring: 3 } },
            newestCanary: { viewers: 30, erroring: 10 },
            canaryAtWeight: {},
          },
        ],
      }),
    );
    expect(failing).toMatchObject({
      failedNow: true,
      changed: true,
      record: { failedAt: T0 + 5 * PERIOD, failure: expect.stringMatching(/^failing: the canary errs at least/) },
    });
    expect(failing.record?.last).toMatchObject({
      verdict: 'failing',
      canary: { viewers: 30 },
      stable: { viewers: 6270 },
    });
    // Later looks, whatever they see, keep the verdict and do not announce it again.
    const later = look(
      input({ record: failing.record, closed: [period(T0 + PERIOD, [400, 0], [3600, 36])], now: T0 + 9 * PERIOD }),
    );
    expect(later).toMatchObject({ failedNow: false, record: { failedAt: T0 + 5 * PERIOD } });
  });

  it(
    'judges a step healthy once, with its time, when the ' + 'evidence allows and its weight has minViewers of its own',
    () => {
      const few = look(input({ closed: [period(T0 + PERIOD, [300, 3], [2700, 27], { atWeight: { 1000: 40 } })] }));
      expect(few.healthyWeight).toBeNull();
      expect(few.record?.last?.reason).toBe('holding: 40 of the 50 canary viewers a step needs counted at 10 %');
      const enough = look(
        input({
          record: few.record,
          closed: [period(T0 + 2 * PERIOD, [100, 1], [900, 9], { atWeight: { 1000: 100 } })],
          now: T0 + 6 * PERIOD,
        }),
      );
      expect(enough).toMatchObject({ healthyWeight: 1000, record: { healthyAt: { 1000: T0 + 6 * PERIOD } } });
      expect(enough.record?.last?.verdict).toBe('healthy');
      const again = look(
        input({ record: enough.record, closed: [period(T0 + 3 * PERIOD, [100, 1], [900, 9])], now: T0 + 7 * PERIOD }),
      );
      expect(again).toMatchObject({ healthyWeight: null, record: { healthyAt: { 1000: T0 + 6 * PERIOD } } });
    },
  );

  it('never judges a step healthy while the last period it closed was not seen whole', () => {
    const blind = look(
      input({
        closed: [
          period(T0 + PERIOD, [400, 4], [3600, 36]),
          period(T0 + 2 * PERIOD, [0, 0], [0, 0], {
            unjudged: 'the consumer lost its place in the stream',
            atWeight: {},
          }),
        ],
      }),
    );
    expect(blind.healthyWeight).toBeNull();
    expect(blind.record).toMatchObject({ lastPeriodJudged: false, healthyAt: {} });
    expect(blind.record?.last?.reason).toMatch(/^holding: the last period was not seen whole/);
  });
});

import { longestReleaseMs, releaseProgress, type ReleaseRecord } from '../../contracts/release-progress';

const MIN = 60_000;
/** Linear 25 % every 5 minutes. */
const STEPS = [
  { atMinute: 0, weight: 2500 },
  { atMinute: 5, weight: 5000 },
  { atMinute: 10, weight: 7500 },
  { atMinute: 15, weight: 10000 },
];
const HOLD = 30 * MIN;
const record = (healthyAt: Record<string, number>, failedAt: number | null = null): ReleaseRecord => ({
  startedAt: 0,
  healthyAt,
  failedAt,
});

describe('releaseProgress', () => {
  it('takes exactly the configured steps when every step is judged healthy before its time', () => {
    const judged = record({ 2500: 2 * MIN, 5000: 6 * MIN, 7500: 11 * MIN });
    expect(releaseProgress(STEPS, judged, HOLD, 4 * MIN)).toMatchObject({
      outcome: 'running',
      weight: 2500,
      heldSince: null,
      nextDueAt: 5 * MIN,
    });
    expect(releaseProgress(STEPS, judged, HOLD, 5 * MIN)).toMatchObject({
      outcome: 'running',
      weight: 5000,
      stepSince: 5 * MIN,
    });
    expect(releaseProgress(STEPS, judged, HOLD, 15 * MIN)).toMatchObject({
      outcome: 'complete',
      weight: 10000,
      endedAt: 15 * MIN,
    });
  });

  it('never rises past the last step judged healthy, and says since when it holds', () => {
    const judged = record({ 2500: 2 * MIN });
    const held = releaseProgress(STEPS, judged, HOLD, 12 * MIN);
    expect(held).toMatchObject({ outcome: 'running', weight: 5000, step: 1, stepSince: 5 * MIN, heldSince: 10 * MIN });
  });

  it('steps on as soon as a held step is judged, then keeps the configured pace from there', () => {
    const judged = record({ 2500: 8 * MIN, 5000: 9 * MIN });
    expect(releaseProgress(STEPS, judged, HOLD, 8 * MIN)).toMatchObject({
      weight: 5000,
      stepSince: 8 * MIN,
      heldSince: null,
    });
    // Judged healthy at 9 minutes, but the step's 5 minutes run from 8: due at 13.
    expect(releaseProgress(STEPS, judged, HOLD, 12.9 * MIN)).toMatchObject({ weight: 5000 });
    expect(releaseProgress(STEPS, judged, HOLD, 13 * MIN)).toMatchObject({ weight: 7500, stepSince: 13 * MIN });
  });

  it('ignores a judgment made before the step began (it judged another weight)', () => {
    expect(
      releaseProgress(STEPS, { startedAt: 10 * MIN, healthyAt: { 2500: 5 * MIN }, failedAt: null }, HOLD, 16 * MIN),
    ).toMatchObject({ weight: 2500, heldSince: 15 * MIN });
  });

  it('ends as not enough evidence, weight 0, once a step holds past the hold time', () => {
    expect(releaseProgress(STEPS, record({}), HOLD, 5 * MIN + HOLD - 1)).toMatchObject({
      outcome: 'running',
      weight: 2500,
      heldSince: 5 * MIN,
    });
    expect(releaseProgress(STEPS, record({}), HOLD, 5 * MIN + HOLD)).toMatchObject({
      outcome: 'not-enough-evidence',
      weight: 0,
      endedAt: 5 * MIN + HOLD,
    });
  });

  it(
    'ends as failed, apart from not enough evidence, at the moment the judge found it failing, even after it ' +
      'reached everyone',
    () => {
      const failed = releaseProgress(STEPS, record({ 2500: MIN }, 7 * MIN), HOLD, 8 * MIN);
      expect(failed).toMatchObject({ outcome: 'failed', weight: 0, step: 1, endedAt: 7 * MIN });
      // A failure found after everyone has the canary still rolls it back, while CodeDeploy holds the release open.
      const judged = record({ 2500: MIN, 5000: 6 * MIN, 7500: 11 * MIN });
      expect(releaseProgress(STEPS, judged, HOLD, 21 * MIN).outcome).toBe('complete');
      expect(releaseProgress(STEPS, { ...judged, failedAt: 20 * MIN }, HOLD, 21 * MIN)).toMatchObject({
        outcome: 'failed',
        weight: 0,
        endedAt: 20 * MIN,
      });
    },
  );

  it('completes at once for an all-at-once release, and refuses steps that never reach everyone', () => {
    expect(releaseProgress([{ atMinute: 0, weight: 10000 }], record({}), HOLD, 0)).toMatchObject({
      outcome: 'complete',
      weight: 10000,
    });
    expect(() => releaseProgress([{ atMinute: 0, weight: 1000 }], record({}), HOLD, MIN)).toThrow(
      'the last step must give everyone the new build; it gives 10 %',
    );
  });

  it('bounds the longest release by every judged step waiting its whole hold', () => {
    expect(longestReleaseMs(STEPS, HOLD)).toBe(15 * MIN + 3 * HOLD);
    expect(longestReleaseMs([{ atMinute: 0, weight: 10000 }], HOLD)).toBe(0);
  });
});

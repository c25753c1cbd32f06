/**
 * The canary's judge: the one place the rule lives that turns counts of viewers into a verdict.
 * It is a pure function of (the evidence so far, the rule): the signal consumer calls it on every
 * batch, rollout sync reads what it decided, the local mode and the benchmark's simulation run the
 * same code, and docs/release-signal.md says it in words.
 *
 * Evidence is, per role, the distinct viewers of each period summed over the release (plus, for the
 * stable build, the periods just before the canary appeared: the same build, the same audience),
 * and how many of them reported an error. From it, each role's error share gets a range that holds
 * at every look, however often the judge looks: a confidence sequence (Robbins's beta-binomial
 * mixture; Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform, nonparametric, nonasymptotic
 * confidence sequences", 2021). A share q is outside the range once the mixture's likelihood ratio
 * against q passes 1/α; by Ville's inequality the true share leaves its range with probability at
 * most α over the whole release, however many looks.
 *
 *   failing  ⇔ canary's lowest plausible share − stable's highest > toleratedExcessPercent
 *   healthy  ⇔ at least minViewers canary viewers, and
 *              canary's highest plausible share − stable's lowest ≤ excessErrorPercent
 *   else       not yet known: the weight holds.
 *
 * Why this and not an SPRT: an SPRT needs one alternative and the stable build's share as a known
 * number, and its normal approximations fail exactly where releases live (a handful of errors out
 * of tens of viewers). The mixture is exact for yes/no outcomes, needs no alternative, and its
 * ranges are what the dashboard draws. Why two lines: between "surely worse by more than the
 * tolerance" and "surely not worse by the excess" there is room for a canary that is a little worse,
 * which holds until more evidence decides it, or the hold times out.
 *
 * The rollback ranges use `falseRollbackRate` (half for each role, so a healthy canary is rolled
 * back with probability at most that over its release). The advance ranges use ADVANCE_RISK: a
 * canary wrongly judged healthy only reaches the next step, where the rollback rule keeps watching
 * it with more viewers. Each side uses the mixture suited to its question (a flat one for large
 * excesses, one weighted towards small shares for ruling an excess out); both are valid at any prior.
 */

export interface RoleEvidence {
  /** Distinct viewers, summed over periods. */
  readonly viewers: number;
  /** Of them, the ones that reported an error in that period. */
  readonly erroring: number;
}

export interface Evidence {
  readonly canary: RoleEvidence;
  readonly stable: RoleEvidence;
}

export interface JudgeRule {
  /** Points above the stable build's share the evidence must rule out before a step advances. */
  readonly excessErrorPercent: number;
  /** Points above the stable build's share the evidence must show before the canary is rolled back. */
  readonly toleratedExcessPercent: number;
  /** At most this share of healthy releases is rolled back, over the whole release. */
  readonly falseRollbackRate: number;
  /** Canary viewers a step needs before it can be judged healthy. */
  readonly minViewers: number;
}

/** The rule's fields out of the config's `alarms` (what the consumer's environment carries). */
export function judgeRule(alarms: JudgeRule): JudgeRule {
  return {
    excessErrorPercent: alarms.excessErrorPercent,
    toleratedExcessPercent: alarms.toleratedExcessPercent,
    falseRollbackRate: alarms.falseRollbackRate,
    minViewers: alarms.minViewers,
  };
}

/**
 * The chance of judging a step healthy whose canary is in truth worse by the excess: it only reaches the next step,
 * still watched.
 */
export const ADVANCE_RISK = 0.05;
/** The mixtures: flat for the rollback side, towards small shares (mean 1/31) for the advance side. */
const ROLLBACK_PRIOR = { a: 1, b: 1 } as const;
const ADVANCE_PRIOR = { a: 1, b: 30 } as const;

export type Verdict = 'failing' | 'healthy' | 'unknown';

export interface ShareRange {
  /** Observed share, 0..1 (0 with no viewers). */
  readonly share: number;
  readonly lower: number;
  readonly upper: number;
}

export interface CanaryJudgment {
  readonly verdict: Verdict;
  /** The ranges the rollback rule compares (at falseRollbackRate). */
  readonly canary: ShareRange;
  readonly stable: ShareRange;
  /**
   * The canary's excess, in points, as the two rules see it: at least `lower` (rollback ranges), at most `upper`
   * (advance ranges).
   */
  readonly excess: { readonly lower: number; readonly upper: number };
  /** In words, for `rollout status` and the logs. */
  readonly reason: string;
}

// Module-scope copies: the judge runs on every batch, and in some sandboxes (Jest's) each global lookup costs.
const { abs, log, log1p, min, sin, PI } = Math;

/** ln Γ(x) for x > 0 (Lanczos, g = 7): enough for counts up to billions. */
export function logGamma(x: number): number {
  if (x < 0.5) return log(PI / abs(sin(PI * x))) - logGamma(1 - x);
  const c = LANCZOS;
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < c.length; i += 1) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * log(2 * PI) + (z + 0.5) * log(t) - t + log(sum);
}
const LANCZOS: readonly [number, ...number[]] = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

const BISECTIONS = 40;

/** The range of shares the evidence has not ruled out at level `alpha` (the confidence sequence at this look). */
export function shareRange(
  evidence: RoleEvidence,
  alpha: number,
  prior: { readonly a: number; readonly b: number } = ROLLBACK_PRIOR,
): ShareRange {
  const n = evidence.viewers;
  const x = min(evidence.erroring, n);
  if (!(n > 0)) return { share: 0, lower: 0, upper: 1 };
  const share = x / n;
  // ln of the mixture's likelihood ratio against q is mixture − fit(q): q is outside the range
  // once it reaches ln(1/α).
  const bound = log(1 / alpha) - (logBeta(prior.a + x, prior.b + n - x) - logBeta(prior.a, prior.b));
  const outside = (q: number) => -((x > 0 ? x * log(q) : 0) + (n - x > 0 ? (n - x) * log1p(-q) : 0)) >= bound;
  let lower = 0;
  if (x > 0 && outside(Number.MIN_VALUE)) {
    let [lo, hi] = [Number.MIN_VALUE, share];
    for (let i = 0; i < BISECTIONS; i += 1) {
      const mid = (lo + hi) / 2;
      if (outside(mid)) lo = mid;
      else hi = mid;
    }
    lower = lo;
  }
  let upper = 1;
  if (x < n && outside(1 - 1e-12)) {
    let [lo, hi] = [share, 1 - 1e-12];
    for (let i = 0; i < BISECTIONS; i += 1) {
      const mid = (lo + hi) / 2;
      if (outside(mid)) hi = mid;
      else lo = mid;
    }
    upper = hi;
  }
  return { share, lower, upper };
}

const points = (share: number) => Math.round(share * 1000) / 10;

/** The verdict on the evidence so far. */
export function judgeCanary(evidence: Evidence, rule: JudgeRule): CanaryJudgment {
  const half = rule.falseRollbackRate / 2;
  const canary = shareRange(evidence.canary, half, ROLLBACK_PRIOR);
  const stable = shareRange(evidence.stable, half, ROLLBACK_PRIOR);
  const canaryAdvance = shareRange(evidence.canary, ADVANCE_RISK / 2, ADVANCE_PRIOR);
  const stableAdvance = shareRange(evidence.stable, ADVANCE_RISK / 2, ADVANCE_PRIOR);
  const excess = {
    lower: (canary.lower - stable.upper) * 100,
    upper: (canaryAdvance.upper - stableAdvance.lower) * 100,
  };
  const shares =
    `canary ${points(canary.share)} % of ${evidence.canary.viewers}, stable ${points(stable.share)} % of ` +
    `${evidence.stable.viewers}`;
  if (excess.lower > rule.toleratedExcessPercent) {
    return {
      verdict: 'failing',
      canary,
      stable,
      excess,
      reason:
        `failing: the canary errs at least ${points(excess.lower / 100)} points more than stable (${shares}), ` +
        `beyond the ${rule.toleratedExcessPercent} tolerated`,
    };
  }
  if (evidence.canary.viewers < rule.minViewers) {
    return {
      verdict: 'unknown',
      canary,
      stable,
      excess,
      reason:
        `not enough viewers yet: ${evidence.canary.viewers} ` + `of the ${rule.minViewers} canary viewers a step needs`,
    };
  }
  if (excess.upper <= rule.excessErrorPercent) {
    return {
      verdict: 'healthy',
      canary,
      stable,
      excess,
      reason: `healthy: the canary errs at most ${points(excess.upper / 100)} points more than stable (${shares})`,
    };
  }
  return {
    verdict: 'unknown',
    canary,
    stable,
    excess,
    reason:
      `not yet known: the canary may err up to ${points(excess.upper / 100)} points more than stable ` +
      `(${shares}), more than the ${rule.excessErrorPercent} allowed`,
  };
}

/**
 * About the fewest canary viewers erring at `share` with which the judge rules out the excess,
 * against `stableViewers` erring alike (within 10 %: counts grow by a tenth at a time); null past
 * 100,000. What `rollout start` warns from and the benchmark states.
 */
export function viewersToJudge(rule: JudgeRule, share: number, stableViewers: number): number | null {
  const stable = { viewers: stableViewers, erroring: Math.round(stableViewers * share) };
  let viewers = Math.max(1, rule.minViewers);
  for (; viewers <= 100_000; viewers = Math.ceil(viewers * 1.1)) {
    if (judgeCanary({ canary: { viewers, erroring: Math.round(viewers * share) }, stable }, rule).verdict === 'healthy')
      return viewers;
  }
  return null;
}

/**
 * Releases simulated on the real rules: the configured rollout steps (config/rollout.ts), the
 * assignment (contracts/assignment.ts; honest viewers' buckets through a shortcut that the test file
 * checks gives viewerBucket's), the counting rule (contracts/release-signal.ts
 * judgeUnderEach: one voice per IPv4 address or IPv6 /48, in the role every state the edges may
 * serve gives it), the judge (contracts/canary-judge.ts) and the pacing that turns its verdicts
 * into a weight (contracts/release-progress.ts). Each release has its own salt, as its deployment id gives it, so
 * attackers with fixed addresses land in a fresh cohort every release.
 *
 * The clock moves in seconds from the start of the period the release begins in (periods are
 * aligned to the epoch, so the release starts at a random point of one). Every load of a second
 * happens at its start; its record reaches the consumer LOG_DELAY_SECONDS later. The consumer
 * judges every LOOK_SECONDS:
 *   failing side  all records arrived so far (closed periods and the open ones' counts so far),
 *                 the canary as the newest state has it (every viewer it gives the canary, from
 *                 the write on); a failing verdict is latched as the release's failedAt;
 *   healthy side  closed periods only (a period closes metrics.latenessSeconds after its end),
 *                 viewers every candidate state agrees on; a healthy verdict counts for the weight
 *                 in force once alarms.minViewers canary viewers were counted at that weight with
 *                 every candidate state agreeing on it.
 * The stable role's evidence also holds BASELINE_PERIODS periods of the stable build before the
 * release. The weight is releaseProgress's, written at every look (the consumer runs rollout sync
 * at once) and every run of sync's schedule. Viewers get a written weight at once (the time a
 * rollback takes to reach the edges is left to the caller, who adds it after the verdict), but the
 * consumer, as the real one does, takes the state before each write as one the edges may still
 * serve for statePropagationMs: on the healthy side a record of that window counts only when both
 * states give its viewer the same role (judgeUnderEach), and for a weight only when both states
 * have that weight. So a step's own viewers are counted only that long after it is written.
 *
 * Honest viewers: each load is a new viewer with an address of its own, arriving as a Poisson
 * process at loadsPerDay / 86,400 a second. Each errs with the stable build's share whatever its
 * build (host pages break too), and a canary viewer with the defect's share more. Attackers hold
 * fixed addresses (IPv4) or /48s whose /64s they probe; each period every attacker loads the entry
 * once, at a random second of it, learns its build, and then:
 *   fail   reports an error naming its build when that is the canary (an error naming a build it
 *          was not given counts for nothing), to roll back a healthy canary;
 *   mask   reports an error naming the stable build when it was given that one, and loads the
 *          canary without errors when given it, to hide a failing canary.
 * They do the same in the baseline periods, where every viewer has the stable build.
 */
import { viewerBucket, viewerKey } from '../contracts/assignment';
import { judgeCanary, type Evidence, type JudgeRule } from '../contracts/canary-judge';
import { releaseProgress } from '../contracts/release-progress';
import { statePropagationMs } from '../contracts/release-signal';
import { WEIGHT_SCALE } from '../contracts/rollout-state';
import { rolloutSteps } from '../config/rollout';
import { seededRandom } from './events';
import type { RolloutConfig } from '../config/schema';

/** How often the consumer judges the evidence (simulated seconds). */
export const LOOK_SECONDS = 10;
/** Seconds from a load to its record reaching the consumer (CloudFront delivers real-time logs within seconds). */
export const LOG_DELAY_SECONDS = 2;
/**
 * Seconds between runs of rollout sync's schedule (stacks/constructs/rollout-sync.ts SYNC_SCHEDULE; the section checks
 * they agree).
 */
export const SYNC_SECONDS = 60;
/** Periods of the stable build before the release the stable role's evidence includes. */
export const BASELINE_PERIODS = 10;

export interface AttackerGroup {
  readonly kind: 'ipv4' | 'ipv6-48';
  readonly count: number;
  readonly goal: 'fail' | 'mask';
  /** /64s each /48 probes and reports from every period (ipv6-48 only). @default 16 */
  readonly probes?: number;
}

export interface ReleaseScenario {
  /** Entry loads a day, each by a new viewer. */
  readonly loadsPerDay: number;
  /** Share of every build's viewers who see an error whatever the build. @default 0.01 */
  readonly stableErrorShare?: number;
  /** Further share of the canary's viewers its defect fails. @default 0 (healthy) */
  readonly canaryDefectShare?: number;
  readonly attackers?: AttackerGroup;
}

/** What the simulation reads of the deploy config (a loaded config is one). */
export interface JudgedReleaseSettings {
  readonly rollout: RolloutConfig;
  readonly alarms: JudgeRule & { readonly periodSeconds: number; readonly holdMinutes: number };
  readonly metrics: { readonly latenessSeconds: number };
  readonly edge: { readonly stateCacheSeconds: number };
  /**
   * How long the state before a write stays one the edges may serve, for the consumer. @default
   * statePropagationMs(edge)
   */
  readonly statePropagationMs?: number;
}

export type JudgedOutcome = 'complete' | 'failed' | 'not-enough-evidence';

export interface JudgedRelease {
  readonly outcome: JudgedOutcome;
  /**
   * When the weight was written back to 0, ms after the release started: the look that found the canary failing, or the
   * first look or sync run after the hold ran out. Null when it completed.
   */
  readonly verdictAtMs: number | null;
  /** When the weight was written as everyone's, ms after the start; null when rolled back. */
  readonly completedAtMs: number | null;
  /**
   * The first load the canary's defect failed (not one its viewer would have seen an error on anyway), ms after the
   * start.
   */
  readonly firstFailingLoadAtMs: number | null;
  /** The highest weight written (basis points). */
  readonly highestWeight: number;
  /** Voices the attackers had during the release, by role: what their addresses were worth. */
  readonly attackerVoices: { readonly canary: number; readonly stable: number };
}

// Module-scope copies: in Jest's vm context every lookup of a global such as Math costs more than
// the rest of a simulated viewer, and a release has tens of thousands of them. An import is read
// through a getter there (Jest's CommonJS), which costs as much.
const { floor, imul, log, min } = Math;
/** Buckets a viewer may fall in: WEIGHT_SCALE. */
const BUCKETS = WEIGHT_SCALE;

/**
 * Honest viewers' addresses, by their index in a release: the same in every release (its salt
 * gives them other buckets), so built once, which takes longer than hashing one.
 */
const honestAddresses: string[] = [];

export function honestAddress(index: number): string {
  for (let next = honestAddresses.length; next <= index; next += 1)
    honestAddresses.push(`${10 + (next >>> 24)}.${(next >>> 16) & 255}.${(next >>> 8) & 255}.${next & 255}`);
  return honestAddresses[index]!;
}

// viewerBucket(salt, address) for every honest viewer was the largest part of a release's work
// (3 s of the test file's 10 s of CPU, some 20 million hashes). murmur3 (contracts/assignment.ts)
// takes `salt + " " + address` 4 bytes at a time, and a block's mix before it meets the state
// depends on its bytes alone: when `salt + " "` fills whole blocks (the simulation's salts do: 12
// characters), the state after it is one per release, and each address's mixed blocks one per
// address for every release. What is left per viewer is combining them: 0.6 s for the same
// hashes. The test file checks these buckets against viewerBucket's.

/** murmur3's mix of the bytes of `text` from `from` to `to` (a block, or the tail), before the state. */
function mixedBlock(text: string, from: number, to: number): number {
  let k = 0;
  for (let i = to - 1; i >= from; i -= 1) k = (k << 8) | (text.codePointAt(i)! & 0xff);
  k = imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return imul(k, 0x1b873593);
}

/** murmur3's state after a mixed block. */
function absorbed(h: number, k: number): number {
  const x = h ^ k;
  return (imul((x << 13) | (x >>> 19), 5) + 0xe6546b64) | 0;
}

/** Per honest address: its 3 mixed blocks (15 characters at most), its mixed tail (0 if none), its length. */
const HONEST_WORDS = 5;
let honestWords = new Int32Array(0);
let honestWordsFor = 0;

function addHonestWords(count: number): void {
  if (count <= honestWordsFor) return;
  const grown = new Int32Array(Math.max(count, 2 * honestWordsFor) * HONEST_WORDS);
  grown.set(honestWords);
  for (let index = honestWordsFor; index < grown.length / HONEST_WORDS; index += 1) {
    const address = honestAddress(index);
    const at = index * HONEST_WORDS;
    const blocks = address.length >>> 2;
    if (blocks > 3) throw new Error(`honest address ${address} is longer than the 15 characters an IPv4 one has`);
    for (let block = 0; block < blocks; block += 1) grown[at + block] = mixedBlock(address, 4 * block, 4 * block + 4);
    grown[at + 3] = mixedBlock(address, 4 * blocks, address.length);
    grown[at + 4] = address.length;
  }
  honestWords = grown;
  honestWordsFor = grown.length / HONEST_WORDS;
}

/** murmur3's state after `salt + " "`, or null when that does not fill whole blocks (then hash each key). */
function saltState(salt: string): number | null {
  const prefix = `${salt} `;
  if (prefix.length % 4 !== 0) return null;
  let state = 0;
  for (let at = 0; at < prefix.length; at += 4) state = absorbed(state, mixedBlock(prefix, at, at + 4));
  return state;
}

/** viewerBucket(salt, honestAddress(index)), from saltState(salt) (not null) and the salt's length. */
function honestBucketFrom(state: number, saltLength: number, index: number): number {
  if (index >= honestWordsFor) addHonestWords(index + 1);
  const words = honestWords;
  const at = index * HONEST_WORDS;
  const length = words[at + 4]!;
  let h = state;
  for (let block = 0; block < length >>> 2; block += 1) h = absorbed(h, words[at + block]!);
  h ^= words[at + 3]!;
  h ^= saltLength + 1 + length;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

/**
 * The bucket of honest viewer `index` under `salt`, as the simulation has it:
 * viewerBucket(salt, honestAddress(index)).
 */
export function honestBucket(salt: string, index: number): number {
  const state = saltState(salt);
  return state === null ? viewerBucket(salt, honestAddress(index)) : honestBucketFrom(state, salt.length, index);
}

/** The addresses one attacker sends from in a period: its address, or /64s of its /48. */
export function attackerAddresses(group: AttackerGroup, index: number): string[] {
  if (group.kind === 'ipv4') return [`203.0.${113 + (index >> 8)}.${index & 255}`];
  const site = `2001:db8:${(0x100 + index).toString(16)}`;
  return Array.from(
    { length: group.probes ?? 16 },
    (_, sub) => `${site}:${sub.toString(16)}::${(sub * 7 + 1).toString(16)}`,
  );
}

/**
 * Whether the judge could find this evidence failing: only when the observed shares differ by more
 * than the tolerance, since each role's range holds its observed share (no mixture of likelihoods
 * beats the likelihood at its maximum), so the excess it rules in is at most the observed one.
 * The same verdicts as judging every look, for a fraction of the time: a healthy release is
 * looked at hundreds of times.
 */
export function mayFail(evidence: Evidence, rule: JudgeRule): boolean {
  const share = (role: { readonly viewers: number; readonly erroring: number }) =>
    role.viewers > 0 ? role.erroring / role.viewers : 0;
  return (share(evidence.canary) - share(evidence.stable)) * 100 > rule.toleratedExcessPercent;
}

/**
 * Counts of distinct viewers and, of them, erroring ones: the canary and the stable build as every
 * candidate state agrees (what the healthy side reads), and the canary as the newest state has it
 * (what the failing side reads: regional-function/signal-consumer/core.ts CanaryEvidence).
 */
interface Tally {
  canaryViewers: number;
  canaryErroring: number;
  stableViewers: number;
  stableErroring: number;
  newestCanaryViewers: number;
  newestCanaryErroring: number;
}

const emptyTally = (): Tally => ({
  canaryViewers: 0,
  canaryErroring: 0,
  stableViewers: 0,
  stableErroring: 0,
  newestCanaryViewers: 0,
  newestCanaryErroring: 0,
});

function addTally(into: Tally, from: Tally): void {
  into.canaryViewers += from.canaryViewers;
  into.canaryErroring += from.canaryErroring;
  into.stableViewers += from.stableViewers;
  into.stableErroring += from.stableErroring;
  into.newestCanaryViewers += from.newestCanaryViewers;
  into.newestCanaryErroring += from.newestCanaryErroring;
}

function clearTally(tally: Tally): void {
  tally.canaryViewers =
    tally.canaryErroring =
    tally.stableViewers =
    tally.stableErroring =
    tally.newestCanaryViewers =
    tally.newestCanaryErroring =
      0;
}

interface Period extends Tally {
  /** Canary viewers every candidate state gave the canary at the same weight, by that weight. */
  readonly atWeight: Map<number, number>;
}

/** A voice an attacker has under the states the edges may serve: what the consumer counts it as. */
export type AttackerVoice = 'agreed canary' | 'newest canary' | 'stable';

/** Viewer keys by address: attackers send from the same addresses in every release. */
const keysByAddress = new Map<string, string | null>();

/**
 * The distinct voices of `addresses` (viewerKey: an IPv4 address, an IPv6 /48) and each one's
 * bucket under `salt`: with the weights of the states the edges may serve, all judge() and
 * judgeUnderEach() read of an address that no ring page or preview holds.
 */
export function voiceBuckets(addresses: readonly string[], salt: string): number[] {
  const voices = new Set<string>();
  for (const ip of addresses) {
    let key = keysByAddress.get(ip);
    if (key === undefined) {
      key = viewerKey(ip);
      keysByAddress.set(ip, key);
    }
    if (key !== null) voices.add(key);
  }
  return [...voices].map((voice) => viewerBucket(salt, voice));
}

/**
 * What the consumer counts voices of these buckets as while the edges may serve states of weights
 * `lowest` to `highest`, `newest` the one written last (judgeUnderEach and judge, by the bucket):
 * on the healthy side canary where every state gives it the canary (below the lowest weight),
 * stable where every one gives it stable (at or above the highest); on the failing side, canary
 * wherever the newest state gives it the canary.
 */
export function voicesUnder(
  buckets: readonly number[],
  weights: { readonly newest: number; readonly lowest: number; readonly highest: number },
): AttackerVoice[] {
  const agreed: AttackerVoice[] = [];
  const newest: AttackerVoice[] = [];
  for (const bucket of buckets) {
    if (bucket < weights.lowest) agreed.push('agreed canary');
    else if (bucket >= weights.highest) agreed.push('stable');
    if (bucket < weights.newest) newest.push('newest canary');
  }
  return agreed.concat(newest);
}

/** A release's salt, as its deployment id would give it: `d-SIM` and the seed. */
export function releaseSalt(seed: number): string {
  return `d-SIM${String(seed).padStart(6, '0')}`;
}

/**
 * One release, seeded: the same settings, scenario and seed give the same release. The salt is releaseSalt(seed).
 */
export function simulateJudgedRelease(
  settings: JudgedReleaseSettings,
  scenario: ReleaseScenario,
  seed: number,
): JudgedRelease {
  const random = seededRandom(seed ^ 0x5eed);
  const salt = releaseSalt(seed);
  const steps = rolloutSteps(settings.rollout);
  const rule = settings.alarms;
  const periodSeconds = rule.periodSeconds;
  const holdMs = rule.holdMinutes * 60_000;
  const lateness = settings.metrics.latenessSeconds;
  const propagationSeconds = (settings.statePropagationMs ?? statePropagationMs(settings.edge)) / 1000;
  const background = scenario.stableErrorShare ?? 0.01;
  const canaryErrorShare = min(1, background + (scenario.canaryDefectShare ?? 0));
  const perSecond = scenario.loadsPerDay / 86_400;
  const group = scenario.attackers;
  const attackers = group ? Array.from({ length: group.count }, (_, index) => attackerAddresses(group, index)) : [];
  const attackerErrs = (role: 'canary' | 'stable') =>
    (group?.goal === 'fail' && role === 'canary') || (group?.goal === 'mask' && role === 'stable');

  // The stable build before the release: every honest viewer and attacker on it.
  const baseline = {
    viewers: attackers.length * BASELINE_PERIODS,
    erroring: group?.goal === 'mask' ? attackers.length * BASELINE_PERIODS : 0,
  };
  if (perSecond > 0) {
    for (
      let at = -log(1 - random()) / perSecond;
      at < BASELINE_PERIODS * periodSeconds;
      at += -log(1 - random()) / perSecond
    ) {
      baseline.viewers += 1;
      if (random() < background) baseline.erroring += 1;
    }
  }

  // Phases: where in its period the release starts, and when the consumer and sync's schedule next run.
  const start = -floor(random() * periodSeconds);
  const lookPhase = floor(random() * LOOK_SECONDS);
  const syncPhase = floor(random() * SYNC_SECONDS);

  const periods: Period[] = [];
  // Loads of the last LOG_DELAY_SECONDS + 1 seconds, by second: their records have not all arrived.
  const inFlight = Array.from({ length: LOG_DELAY_SECONDS + 1 }, emptyTally);
  const arrived = emptyTally();
  const closed = emptyTally();
  const closedCanaryAtWeight = new Map<number, number>();
  let nextToClose = 0;
  const healthyAt: Record<string, number> = {};
  let failedAt: number | null = null;
  let weight = 0;
  // The weights written before the current one that the edges may still serve, each until when.
  let earlier: { readonly weight: number; readonly until: number }[] = [];
  let highestWeight = 0;
  let firstFailingLoadAtMs: number | null = null;
  const attackerVoices = { canary: 0, stable: 0 };
  const attackerSeconds = new Int32Array(attackers.length);
  // An attacker's roles depend only on the states the edges may serve (its buckets are the release's): judged once per
  // set of them.
  const attackerVoicesUnder = new Map<string, AttackerVoice[][]>();
  // Per attacker, the bucket of each of its voices under this release's salt: all its roles follow from them.
  const attackerBuckets = attackers.map((addresses) => voiceBuckets(addresses, salt));
  const saltHashed = saltState(salt);
  // A judgment is a pure function of its evidence: judged again only once that has changed.
  let arrivedJudged = -1;
  let closedJudged = -1;
  let nextArrival = perSecond > 0 ? start - log(1 - random()) / perSecond : Number.POSITIVE_INFINITY;
  let viewer = 0;

  for (let t = start; ; t += 1) {
    const elapsed = t - start;
    if (elapsed >= LOG_DELAY_SECONDS) {
      const landed = inFlight[(elapsed - LOG_DELAY_SECONDS) % inFlight.length]!;
      addTally(arrived, landed);
      clearTally(landed);
    }
    while (nextToClose < periods.length && start + (nextToClose + 1) * periodSeconds + lateness <= t) {
      const period = periods[nextToClose]!;
      addTally(closed, period);
      for (const [at, viewers] of period.atWeight)
        closedCanaryAtWeight.set(at, (closedCanaryAtWeight.get(at) ?? 0) + viewers);
      nextToClose += 1;
    }

    const look = t >= 0 && (t - lookPhase) % LOOK_SECONDS === 0;
    if (look && failedAt === null && arrived.newestCanaryViewers + arrived.stableViewers !== arrivedJudged) {
      arrivedJudged = arrived.newestCanaryViewers + arrived.stableViewers;
      const evidence = {
        canary: { viewers: arrived.newestCanaryViewers, erroring: arrived.newestCanaryErroring },
        stable: {
          viewers: arrived.stableViewers + baseline.viewers,
          erroring: arrived.stableErroring + baseline.erroring,
        },
      };
      if (mayFail(evidence, rule) && judgeCanary(evidence, rule).verdict === 'failing') failedAt = t * 1000;
    }
    if (
      look &&
      failedAt === null &&
      weight > 0 &&
      healthyAt[weight] === undefined &&
      (closedCanaryAtWeight.get(weight) ?? 0) >= rule.minViewers &&
      closed.canaryViewers + closed.stableViewers !== closedJudged
    ) {
      closedJudged = closed.canaryViewers + closed.stableViewers;
      const evidence = {
        canary: { viewers: closed.canaryViewers, erroring: closed.canaryErroring },
        stable: {
          viewers: closed.stableViewers + baseline.viewers,
          erroring: closed.stableErroring + baseline.erroring,
        },
      };
      if (judgeCanary(evidence, rule).verdict === 'healthy') healthyAt[weight] = t * 1000;
    }
    if (t === 0 || look || (t > 0 && (t - syncPhase) % SYNC_SECONDS === 0)) {
      const progress = releaseProgress(steps, { startedAt: 0, healthyAt, failedAt }, holdMs, t * 1000);
      if (progress.outcome !== 'running') {
        const completed = progress.outcome === 'complete';
        return {
          outcome: progress.outcome,
          verdictAtMs: completed ? null : t * 1000,
          completedAtMs: completed ? t * 1000 : null,
          firstFailingLoadAtMs,
          highestWeight: completed ? WEIGHT_SCALE : highestWeight,
          attackerVoices,
        };
      }
      if (progress.weight !== weight) {
        earlier.push({ weight, until: t + propagationSeconds });
        weight = progress.weight;
        // A new weight counts for a healthy judgment on its own evidence.
        closedJudged = -1;
      }
      if (weight > highestWeight) highestWeight = weight;
    }

    if (earlier.length > 0) earlier = earlier.filter((candidate) => candidate.until > t);
    // A viewer is counted only in the role every candidate state gives it: below the lowest weight, canary; at or above
    // the highest, stable.
    let lowest = weight;
    let highest = weight;
    for (const candidate of earlier) {
      if (candidate.weight < lowest) lowest = candidate.weight;
      if (candidate.weight > highest) highest = candidate.weight;
    }
    const index = floor(elapsed / periodSeconds);
    if (index === periods.length) {
      periods.push({ ...emptyTally(), atWeight: new Map() });
      for (let a = 0; a < attackers.length; a += 1) attackerSeconds[a] = t + floor(random() * periodSeconds);
    }
    // t advances a second at a time, so index is at most the one period just pushed.
    const period = periods[index]!;
    const agreedWeight = lowest === highest;
    const now = inFlight[elapsed % inFlight.length]!;
    const bucketed = highest > 0 && lowest < BUCKETS;

    for (; nextArrival < t + 1; nextArrival += -log(1 - random()) / perSecond) {
      // An IPv4 address is its own key: the bucket is what judge() reads, without parsing it again.
      const bucket = bucketed
        ? saltHashed === null
          ? viewerBucket(salt, honestAddress(viewer))
          : honestBucketFrom(saltHashed, salt.length, viewer)
        : highest > 0
          ? 0
          : BUCKETS;
      viewer += 1;
      const draw = random();
      if (bucket < weight) {
        if (draw >= background && draw < canaryErrorShare && firstFailingLoadAtMs === null)
          firstFailingLoadAtMs = t * 1000;
        now.newestCanaryViewers += 1;
        period.newestCanaryViewers += 1;
        if (draw < canaryErrorShare) {
          now.newestCanaryErroring += 1;
          period.newestCanaryErroring += 1;
        }
        if (bucket >= lowest) continue;
        now.canaryViewers += 1;
        period.canaryViewers += 1;
        if (agreedWeight) period.atWeight.set(weight, (period.atWeight.get(weight) ?? 0) + 1);
        if (draw < canaryErrorShare) {
          now.canaryErroring += 1;
          period.canaryErroring += 1;
        }
      } else {
        if (bucket < highest) continue;
        now.stableViewers += 1;
        period.stableViewers += 1;
        if (draw < background) {
          now.stableErroring += 1;
          period.stableErroring += 1;
        }
      }
    }

    // Looked up only in a second some attacker loads: one in a period each.
    let voicesOf: AttackerVoice[][] | undefined;
    for (let a = 0; a < attackers.length; a += 1) {
      if (attackerSeconds[a] !== t) continue;
      if (voicesOf === undefined) {
        const candidates = `${weight} ${lowest} ${highest}`;
        voicesOf = attackerVoicesUnder.get(candidates);
        if (voicesOf === undefined) {
          const weightsNow = { newest: weight, lowest, highest };
          voicesOf = attackerBuckets.map((buckets) => voicesUnder(buckets, weightsNow));
          attackerVoicesUnder.set(candidates, voicesOf);
        }
      }
      // One entry per attacker (voicesOf is attackers mapped).
      for (const voice of voicesOf[a]!) {
        if (voice === 'newest canary') {
          now.newestCanaryViewers += 1;
          period.newestCanaryViewers += 1;
          if (attackerErrs('canary')) {
            now.newestCanaryErroring += 1;
            period.newestCanaryErroring += 1;
          }
          continue;
        }
        const role = voice === 'agreed canary' ? 'canary' : voice;
        if (t >= 0) attackerVoices[role] += 1;
        const errs = attackerErrs(role);
        if (role === 'canary') {
          now.canaryViewers += 1;
          period.canaryViewers += 1;
          if (agreedWeight) period.atWeight.set(weight, (period.atWeight.get(weight) ?? 0) + 1);
          if (errs) {
            now.canaryErroring += 1;
            period.canaryErroring += 1;
          }
        } else {
          now.stableViewers += 1;
          period.stableViewers += 1;
          if (errs) {
            now.stableErroring += 1;
            period.stableErroring += 1;
          }
        }
      }
    }
  }
}

export interface ReleaseSummary {
  readonly releases: number;
  readonly outcomes: Readonly<Record<JudgedOutcome, number>>;
  /** Of the releases rolled back after a failing load: seconds from it to the weight written back to 0, ascending. */
  readonly failingLoadToRollbackS: readonly number[];
  /** Of the releases rolled back with no failing load before (too few viewers for the defect to show). */
  readonly rolledBackBeforeAnyFailingLoad: number;
  /** Of the completed releases: seconds from the start to everyone's weight written, ascending. */
  readonly completionS: readonly number[];
  readonly highestWeight: number;
  readonly attackerVoices: { readonly canary: number; readonly stable: number };
}

export function summarizeReleases(releases: readonly JudgedRelease[]): ReleaseSummary {
  const outcomes: Record<JudgedOutcome, number> = { complete: 0, failed: 0, 'not-enough-evidence': 0 };
  const failingLoadToRollbackS: number[] = [];
  const completionS: number[] = [];
  let rolledBackBeforeAnyFailingLoad = 0;
  let highestWeight = 0;
  const attackerVoices = { canary: 0, stable: 0 };
  for (const release of releases) {
    outcomes[release.outcome] += 1;
    if (release.verdictAtMs !== null) {
      if (release.firstFailingLoadAtMs === null) rolledBackBeforeAnyFailingLoad += 1;
      else failingLoadToRollbackS.push((release.verdictAtMs - release.firstFailingLoadAtMs) / 1000);
    }
    if (release.completedAtMs !== null) completionS.push(release.completedAtMs / 1000);
    highestWeight = Math.max(highestWeight, release.highestWeight);
    attackerVoices.canary += release.attackerVoices.canary;
    attackerVoices.stable += release.attackerVoices.stable;
  }
  const ascending = (a: number, b: number) => a - b;
  return {
    releases: releases.length,
    outcomes,
    failingLoadToRollbackS: failingLoadToRollbackS.sort(ascending),
    rolledBackBeforeAnyFailingLoad,
    completionS: completionS.sort(ascending),
    highestWeight,
    attackerVoices,
  };
}

/**
 * The judge at work: how soon a failing canary is off every viewer, how often a healthy one is
 * rolled back, and how long a healthy one takes to reach everyone, at three volumes, with the
 * default rollout (the schema's: 10 % for 5 minutes, then everyone) and the deploy config's alarms;
 * then the deploy config's own rollout (one-minute steps), and a quiet widget's longer hold. Every release is simulated
 * on the real rules (bench/release-simulation.ts: the
 * configured steps, the assignment, the counting rule, contracts/canary-judge.ts and
 * contracts/release-progress.ts), each with its own salt and seed; what happens after the weight is
 * written (the store reaching the edges) is the chain rollback-reach states, added on top.
 */
import { parseConfig } from '../../config';
import { rolloutSteps } from '../../config/rollout';
import { viewersToJudge } from '../../contracts/canary-judge';
import { statePropagationMs } from '../../contracts/release-signal';
import { SYNC_SCHEDULE } from '../../stacks/constructs/rollout-sync';
import { seededRandom } from '../events';
import { median, round } from '../measure';
import {
  BASELINE_PERIODS,
  LOG_DELAY_SECONDS,
  LOOK_SECONDS,
  SYNC_SECONDS,
  simulateJudgedRelease,
  summarizeReleases,
  type ReleaseScenario,
  type ReleaseSummary,
} from '../release-simulation';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { rateSeconds, reachComponents, totalReach, type ReachComponent } from './rollback-reach';

interface Volume {
  readonly loadsPerDay: number;
  readonly label: string;
}

const VOLUMES: readonly [Volume, ...Volume[]] = [
  { loadsPerDay: 100_000, label: '100 thousand' },
  { loadsPerDay: 1_000_000, label: '1 million' },
  { loadsPerDay: 10_000_000, label: '10 million' },
];
/** Shares of the canary's viewers its defect fails, beyond the stable build's. */
const DEFECT_SHARES = [0.3, 0.1, 0.05] as const;
const STABLE_ERROR_SHARE = 0.01;
/** Healthy releases draw the stable build's error share uniformly below this, one per release (the canary the same). */
const HEALTHY_STABLE_SHARE_MAX = 0.05;

const TARGETS = {
  rollback: { loadsPerDay: 1_000_000, defectShare: 0.3, typicalS: 30, worstS: 60 },
  healthyRollbacksPerRelease: 1 / 1000,
} as const;

/**
 * From the verdict to every edge serving the stable build: the links after the simulation's own
 * (which already waits LOG_DELAY_SECONDS for every record and judges at the consumer's looks).
 */
function verdictChain(batchWindowSeconds: number): ReachComponent[] {
  const reach = reachComponents(0);
  const link = (prefix: string) => {
    const found = reach.find((component) => component.name.startsWith(prefix));
    if (found === undefined) throw new Error(`release-judge: rollback-reach has no link "${prefix}…"`);
    return found;
  };
  return [
    {
      name: 'log delivery to the stream, beyond the simulated delay',
      typicalS: 0,
      worstS: LOOK_SECONDS,
      basis: 'assumed',
      detail:
        `typical 2 s, worst 10 s (CloudFront says real-time logs arrive within seconds, ` +
        `https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/real-time-logs.html); the simulation ` +
        `already waits ${LOG_DELAY_SECONDS} s for every record, and records 10 s late put the verdict at most one ` +
        `look (${LOOK_SECONDS} s) later`,
    },
    {
      name: 'consumer batch',
      typicalS: batchWindowSeconds,
      worstS: batchWindowSeconds,
      basis: 'config',
      detail: `the event source mapping's batching window (metrics.batchWindowSeconds, ${batchWindowSeconds} s)`,
    },
    { ...link('rollout sync reads'), name: 'rollout sync invoked by the consumer, writing weight 0 to the store' },
    link('KeyValueStore carries'),
  ];
}

type Settings = BenchContext['config'] & { readonly statePropagationMs?: number };

/** The rollout a config gets when it says nothing: the schema's defaults. */
function defaultRollout(): BenchContext['config']['rollout'] {
  return parseConfig(
    {
      domain: 'widget.example.com',
      hostedZone: { name: 'example.com' },
      primaryRegion: 'us-east-1',
      regions: ['us-east-1'],
    },
    'the schema defaults',
    {},
  ).rollout;
}

/** How long a quiet widget lets a step wait for its evidence, in the section's quiet line (alarms.holdMinutes). */
const QUIET_HOLD_MINUTES = 360;

function simulate(settings: Settings, releases: number, scenarioOf: (seed: number) => ReleaseScenario): ReleaseSummary {
  return summarizeReleases(
    Array.from({ length: releases }, (_, seed) => simulateJudgedRelease(settings, scenarioOf(seed), seed)),
  );
}

/**
 * From the first failing load to every viewer on stable: the simulated time and the chain, typical on the median, worst
 * on the longest.
 */
function offEveryViewer(
  summary: ReleaseSummary,
  chain: { readonly typicalS: number; readonly worstS: number },
): { readonly typicalS: number; readonly worstS: number } {
  const times = summary.failingLoadToRollbackS;
  if (times.length === 0) return { typicalS: 0, worstS: 0 };
  return {
    typicalS: round(median(times) + chain.typicalS, 1),
    worstS: round(times[times.length - 1]! + chain.worstS, 1),
  };
}

const percent = (share: number) => `${round(share * 100, 1)} %`;
const seconds = (values: readonly number[], pick: (values: readonly number[]) => number) =>
  values.length === 0 ? 0 : round(pick(values), 1);
// Only through `seconds`, which takes no pick of an empty list.
const worst = (values: readonly number[]) => values[values.length - 1]!;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

export const releaseJudge: BenchSection = {
  id: 'release-judge',
  title: 'Release judge: failing canaries off every viewer, healthy ones through, simulated on the real rules',
  async run(context: BenchContext): Promise<SectionResult> {
    const configured = context.config;
    const config: Settings = { ...configured, rollout: defaultRollout() };
    if (rateSeconds(SYNC_SCHEDULE) !== SYNC_SECONDS)
      throw new Error(`release-judge: rollout sync runs ${SYNC_SCHEDULE}, the simulation every ${SYNC_SECONDS} s`);
    const failingReleases = context.quick ? 10 : 200;
    const healthyReleases = context.quick ? 20 : 1000;
    const steps = rolloutSteps(config.rollout);
    const [firstStep, secondStep] = steps;
    const lastStep = steps.at(-1);
    if (firstStep === undefined || lastStep === undefined)
      throw new Error('release-judge: the default rollout has no steps');
    const configuredS = lastStep.atMinute * 60;
    const chain = verdictChain(config.metrics.batchWindowSeconds);
    const chainTotal = totalReach(chain);
    // verdictChain ends with the store carrying the weight to the edges.
    const storeLink = chain[chain.length - 1]!;
    const healthyShare = (seed: number) => seededRandom(1_000_003 * (seed + 1))() * HEALTHY_STABLE_SHARE_MAX;
    const failingScenario = (loadsPerDay: number, defectShare: number) => () => ({
      loadsPerDay,
      stableErrorShare: STABLE_ERROR_SHARE,
      canaryDefectShare: defectShare,
    });

    const figures: Figure[] = [];
    const failing: {
      name: string;
      loadsPerDay: number;
      defectShare: number;
      summary: ReleaseSummary;
      off: ReturnType<typeof offEveryViewer>;
    }[] = [];
    const healthy: { name: string; label: string; summary: ReleaseSummary; slowerS: number[] }[] = [];
    for (const { loadsPerDay, label } of VOLUMES) {
      const started = Date.now();
      for (const defectShare of DEFECT_SHARES) {
        const summary = simulate(config, failingReleases, failingScenario(loadsPerDay, defectShare));
        const off = offEveryViewer(summary, chainTotal);
        const name = `${label} loads a day, canary failing ${percent(defectShare)} more`;
        const targeted = loadsPerDay === TARGETS.rollback.loadsPerDay && defectShare === TARGETS.rollback.defectShare;
        figures.push(
          {
            name: `${name}: first failing load to every viewer on stable, median`,
            value: off.typicalS,
            unit: 's',
            ...(targeted ? { target: TARGETS.rollback.typicalS } : {}),
          },
          {
            name: `${name}: first failing load to every viewer on stable, worst`,
            value: off.worstS,
            unit: 's',
            ...(targeted ? { target: TARGETS.rollback.worstS } : {}),
          },
          { name: `${name}: rolled back as failed`, value: summary.outcomes.failed, unit: 'count' },
          {
            name: `${name}: rolled back for want of evidence`,
            value: summary.outcomes['not-enough-evidence'],
            unit: 'count',
          },
          { name: `${name}: not rolled back`, value: summary.outcomes.complete, unit: 'count' },
        );
        failing.push({ name, loadsPerDay, defectShare, summary, off });
      }
      const summary = simulate(config, healthyReleases, (seed) => ({
        loadsPerDay,
        stableErrorShare: healthyShare(seed),
      }));
      const slowerS = summary.completionS.filter((s) => s > configuredS).map((s) => s - configuredS);
      const name = `${label} loads a day, healthy`;
      figures.push(
        {
          name: `${name}: rolled back`,
          value: summary.releases - summary.outcomes.complete,
          unit: 'count',
          target: round(summary.releases * TARGETS.healthyRollbacksPerRelease, 3),
        },
        { name: `${name}: rolled back as failed`, value: summary.outcomes.failed, unit: 'count' },
        {
          name: `${name}: rolled back for want of evidence`,
          value: summary.outcomes['not-enough-evidence'],
          unit: 'count',
        },
        {
          name: `${name}: start to everyone on the canary, median`,
          value: seconds(summary.completionS, median),
          unit: 's',
        },
        {
          name: `${name}: start to everyone on the canary, worst`,
          value: seconds(summary.completionS, worst),
          unit: 's',
          target: configuredS,
        },
        { name: `${name}: slower than the configured steps`, value: slowerS.length, unit: 'count', target: 0 },
        { name: `${name}: slower by, median`, value: seconds(slowerS, median), unit: 's' },
      );
      healthy.push({ name, label, summary, slowerS });
      context.log(`release-judge: ${label} loads a day, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }

    // The deploy config's own steps at the targeted volume, and a quiet widget that says so (a long hold) at the
    // lowest.
    const { loadsPerDay: targetedVolume, defectShare: targetedDefect } = TARGETS.rollback;
    const targetedLabel = VOLUMES.find((v) => v.loadsPerDay === targetedVolume)!.label;
    const ownSteps = rolloutSteps(configured.rollout);
    const ownLastStep = ownSteps.at(-1);
    if (ownLastStep === undefined) throw new Error("release-judge: the deploy config's rollout has no steps");
    const ownConfiguredS = ownLastStep.atMinute * 60;
    const own = simulate(configured, Math.min(healthyReleases, 200), (seed) => ({
      loadsPerDay: targetedVolume,
      stableErrorShare: healthyShare(seed),
    }));
    const quietest = VOLUMES[0];
    const quietSettings: Settings = { ...config, alarms: { ...config.alarms, holdMinutes: QUIET_HOLD_MINUTES } };
    const quiet = simulate(quietSettings, healthyReleases, (seed) => ({
      loadsPerDay: quietest.loadsPerDay,
      stableErrorShare: healthyShare(seed),
    }));
    const ownName =
      `${targetedLabel} loads a day, healthy, the deploy config's ${configured.rollout.strategy} ` +
      `${configured.rollout.percent} % every ${configured.rollout.intervalMinutes} min (${ownConfiguredS} s ` +
      `configured)`;
    const quietName =
      `${quietest.label} loads a day, healthy, ` + `alarms.holdMinutes ${QUIET_HOLD_MINUTES} (a quiet widget)`;
    figures.push(
      { name: `${ownName}: start to everyone, median`, value: seconds(own.completionS, median), unit: 's' },
      { name: `${ownName}: start to everyone, worst`, value: seconds(own.completionS, worst), unit: 's' },
      {
        name: `${quietName}: rolled back`,
        value: quiet.releases - quiet.outcomes.complete,
        unit: 'count',
        target: round(quiet.releases * TARGETS.healthyRollbacksPerRelease, 3),
      },
      { name: `${quietName}: start to everyone, median`, value: seconds(quiet.completionS, median), unit: 's' },
      { name: `${quietName}: start to everyone, worst`, value: seconds(quiet.completionS, worst), unit: 's' },
    );
    const propagationS = statePropagationMs(config.edge) / 1000;

    const targeted = failing.find((f) => f.loadsPerDay === targetedVolume && f.defectShare === targetedDefect)!;
    const targetedAllRolledBack = targeted.summary.outcomes.complete === 0;
    const healthyRolledBack = (h: (typeof healthy)[number]) => h.summary.releases - h.summary.outcomes.complete;
    const healthyOk = healthy.every(
      (h) => healthyRolledBack(h) <= h.summary.releases * TARGETS.healthyRollbacksPerRelease,
    );
    const { periodSeconds, excessErrorPercent, holdMinutes } = config.alarms;
    const { latenessSeconds } = config.metrics;
    const stepS = secondStep === undefined ? 0 : (secondStep.atMinute - firstStep.atMinute) * 60;
    const rolledBack = (s: ReleaseSummary) =>
      `rolled back ${s.outcomes.failed} as failed, ${s.outcomes['not-enough-evidence']} for want of evidence`;
    const missed = (s: ReleaseSummary) =>
      [
        s.outcomes.complete > 0 ? `, ${s.outcomes.complete} NOT rolled back (they reached everyone)` : '',
        s.rolledBackBeforeAnyFailingLoad > 0
          ? `; ${s.rolledBackBeforeAnyFailingLoad} before any failing load, left out of the times`
          : '',
      ].join('');
    const lowShare = STABLE_ERROR_SHARE;
    const highShare = HEALTHY_STABLE_SHARE_MAX;
    const firstStepPerMinute = (loadsPerDay: number) => round((loadsPerDay / 1440) * (firstStep.weight / 10000), 1);
    const quietBaseline = Math.round((quietest.loadsPerDay / 86_400) * BASELINE_PERIODS * periodSeconds);
    return {
      figures,
      notes: [
        `Targets: at ${targetedLabel} loads a day a canary failing ${percent(targetedDefect)} more off every ` +
          `viewer within ${TARGETS.rollback.typicalS} s typically: ` +
          `${verdict(targeted.off.typicalS <= TARGETS.rollback.typicalS && targetedAllRolledBack)} ` +
          `(${targeted.off.typicalS} s), within ${TARGETS.rollback.worstS} s at worst: ` +
          `${verdict(targeted.off.worstS <= TARGETS.rollback.worstS && targetedAllRolledBack)} ` +
          `(${targeted.off.worstS} s); at most 1 healthy release in 1,000 rolled back: ${verdict(healthyOk)} ` +
          `(${healthy.map((h) => `${healthyRolledBack(h)} of ${h.summary.releases} at ${h.label}`).join(', ')}); ` +
          `a healthy release no slower than the configured steps (${configuredS} s): ` +
          `${verdict(healthy.every((h) => h.slowerS.length === 0))} ` +
          `(${healthy
            .map((h) => `${h.slowerS.length} of ${h.summary.completionS.length} completed slower at ${h.label}`)
            .join(', ')}).`,
        `Counting: a failing verdict reads the canary as the newest state assigns it, from the moment a state ` +
          `is written (an error names the build that ran; a viewer a stale edge still gave the stable build only ` +
          `dilutes the canary's share), so nothing waits for the store to reach every edge. A healthy verdict ` +
          `reads only viewers every state the edges may serve agrees on, role and weight: for statePropagationMs ` +
          `(${propagationS} s: the store's assumed worst doubled and edge.stateCacheSeconds) after each write a ` +
          `step's own viewers are not counted, and then only in closed periods.`,
        `Failing canaries: ${failingReleases} releases per line, the stable build's error share ` +
          `${percent(STABLE_ERROR_SHARE)}, the canary's that plus the defect's. Median = the median simulated ` +
          `time from the first load the defect failed to the weight written back to 0, plus the chain's typical ` +
          `${chainTotal.typicalS} s; worst = the longest simulated time plus the chain's worst ` +
          `${chainTotal.worstS} s. A release held past its step's time by alarms.holdMinutes (${holdMinutes}) is ` +
          `rolled back for want of evidence, and counted from the same first failing load.`,
        ...failing.map((f) => `  - ${f.name}: ${rolledBack(f.summary)}${missed(f.summary)}.`),
        'From the weight written to every edge, typical / worst (after the simulation):',
        ...chain.map((c) => `  - ${c.name}: ${c.typicalS} / ${c.worstS} s (${c.basis}: ${c.detail}).`),
        "  Then every viewer's next load gets the stable build (rollback-reach measures it: the function reads " +
          'the store on every load).',
        `Healthy canaries: ${healthyReleases} releases per volume, each with the stable build's error share ` +
          `drawn uniformly below ${percent(HEALTHY_STABLE_SHARE_MAX)} and the canary erring alike; times are from ` +
          `the start to the look or sync run that writes everyone's weight (the store then takes its ` +
          `${storeLink.typicalS} / ${storeLink.worstS} s), of the releases that completed.`,
        ...healthy.map(
          (h) =>
            `  - ${h.name}: ${rolledBack(h.summary)}, ${h.summary.outcomes.complete} completed, ` +
            `${h.slowerS.length} of them slower than the configured ${configuredS} s.`,
        ),
        `  The default steps (${percent(firstStep.weight / 10000)} for ${stepS / 60} min) leave room for that; ` +
          `the deploy config's one-minute steps do not: a step's own viewers count only ${propagationS} s after ` +
          `it is written, in periods that close ${latenessSeconds} s after their end, so at ${targetedLabel} ` +
          `loads a day its ${ownConfiguredS} s took ${seconds(own.completionS, median)} s (median) and ` +
          `${seconds(own.completionS, worst)} s (worst) of ${own.releases} healthy releases ` +
          `(${own.outcomes.complete} completed). Steps shorter than a few minutes are paced by the judge, not the ` +
          `clock; \`rollout start\` says so.`,
        `  A quiet widget: with alarms.holdMinutes ${QUIET_HOLD_MINUTES} at ${quietest.label} loads a day, ` +
          `${quiet.releases - quiet.outcomes.complete} of ${quiet.releases} healthy releases rolled back ` +
          `(${quiet.outcomes['not-enough-evidence']} for want of evidence), reaching everyone in ` +
          `${seconds(quiet.completionS, median)} s (median) and ${seconds(quiet.completionS, worst)} s (worst): ` +
          `slower, never unjudged.`,
        `  And where viewers are few, longer: the judge rules out ${excessErrorPercent} points with about ` +
          `${viewersToJudge(config.alarms, lowShare, quietBaseline) ?? 'more than 100,000'} canary viewers erring ` +
          `at ${percent(lowShare)}, ` +
          `${viewersToJudge(config.alarms, highShare, quietBaseline) ?? 'more than 100,000'} at ` +
          `${percent(highShare)} (against the ${quietBaseline} stable viewers of the ${BASELINE_PERIODS} periods ` +
          `before a release at ${quietest.label} a day, erring alike), and a first step of ` +
          `${percent(firstStep.weight / 10000)} gets ` +
          `${VOLUMES.map((v) => `${firstStepPerMinute(v.loadsPerDay)} a minute at ${v.label}`).join(', ')}; past ` +
          `its time by alarms.holdMinutes (${holdMinutes}) a step ends the release for want of evidence.`,
        `The model: ${config.rollout.strategy} rollout of ${config.rollout.percent} % every ` +
          `${config.rollout.intervalMinutes} min (${steps.length} steps, ${configuredS} s configured); clock in ` +
          `1 s steps, honest loads a Poisson process each by a new IPv4 viewer assigned by viewerBucket, records ` +
          `arriving ${LOG_DELAY_SECONDS} s after their load; the consumer judges every ${LOOK_SECONDS} s ` +
          `(failing: every record arrived, open periods included; healthy: closed periods only), the stable ` +
          `role's evidence including the ${BASELINE_PERIODS} periods before the release; rollout sync applies ` +
          `releaseProgress at every look and every ${SYNC_SECONDS} s (${SYNC_SCHEDULE}); viewers get a written ` +
          `weight at once, the consumer counts as above; the release starts at a random point of a ` +
          `${periodSeconds} s period, the looks and sync's schedule at random phases. Each release has its own ` +
          `seed and salt (d-SIM and the seed). The judge runs at every look where it could find the canary ` +
          `failing (the observed shares differ by more than the tolerance), which gives the same verdicts as ` +
          `running it at every look.`,
      ],
      data: {
        releases: { failing: failingReleases, healthy: healthyReleases },
        configuredS,
        propagationS,
        chain,
        chainTotal,
        failing: failing.map(({ name, loadsPerDay, defectShare, summary, off }) => ({
          name,
          loadsPerDay,
          defectShare,
          off,
          outcomes: summary.outcomes,
          failingLoadToRollbackS: {
            median: seconds(summary.failingLoadToRollbackS, median),
            worst: seconds(summary.failingLoadToRollbackS, worst),
          },
        })),
        healthy: healthy.map(({ name, summary }) => ({
          name,
          outcomes: summary.outcomes,
          completionS: { median: seconds(summary.completionS, median), worst: seconds(summary.completionS, worst) },
        })),
        deployConfigRollout: {
          outcomes: own.outcomes,
          configuredS: ownConfiguredS,
          completionS: { median: seconds(own.completionS, median), worst: seconds(own.completionS, worst) },
        },
        quiet: {
          holdMinutes: QUIET_HOLD_MINUTES,
          outcomes: quiet.outcomes,
          completionS: { median: seconds(quiet.completionS, median), worst: seconds(quiet.completionS, worst) },
        },
        targets: TARGETS,
      },
    };
  },
};

/**
 * Releases simulated on the real rules: the configured rollout steps (config/rollout.ts), the
 * assignment (contracts/assignment.ts), the counting rule (contracts/release-signal.ts judge: one
 * voice per IPv4 address or IPv6 /48, in the role the rule gives it) and the client-error alarm's
 * own metric math (releaseAlarmQueries, evaluated as CloudWatch would, datapointsToAlarm of the
 * last evaluationPeriods). Each deployment has its own salt, as CodeDeploy's deployment id gives
 * it, so attackers with fixed addresses land in a fresh cohort every release: what a scenario
 * yields is the share of deployments the alarm rolls back.
 *
 * Honest viewers are new addresses every period (a period's distinct viewers), some share of each
 * build's viewers seeing an error whatever the build (host pages break too), and the canary failing
 * for `canaryFailShare` more. Attackers hold fixed addresses (IPv4) or /48s whose /64s they probe;
 * each period every attacker loads the entry, learns its build, and then:
 *   fail   reports an error naming its build when that is the canary (an error naming a build it
 *          was not given counts for nothing), to roll back a healthy canary;
 *   mask   reports an error naming the stable build when it was given that one, and loads the
 *          canary without errors when given it, to hide a failing canary.
 * Periods are counted as the consumer counts them once the state has reached every edge.
 */
import { evaluateQueries } from '../contracts/metric-math';
import { viewerBucket } from '../contracts/assignment';
import { judge, releaseAlarmQueries, type ReleaseAlarmRule } from '../contracts/release-signal';
import type { RolloutState } from '../contracts/rollout-state';
import { rolloutSteps } from '../config/rollout';
import type { RolloutConfig } from '../config/schema';

export interface AttackerGroup {
  readonly kind: 'ipv4' | 'ipv6-48';
  readonly count: number;
  readonly goal: 'fail' | 'mask';
  /** /64s each /48 probes and reports from every period (ipv6-48 only). @default 16 */
  readonly probes?: number;
}

export interface ReleaseScenario {
  /** Distinct honest viewers a period. */
  readonly honestPerPeriod: number;
  /** Share of every build's viewers who see an error whatever the build. @default 0.02 */
  readonly backgroundErrorShare?: number;
  /** Further share of the canary's viewers its defect fails. @default 0 (healthy) */
  readonly canaryFailShare?: number;
  readonly attackers?: AttackerGroup;
}

export interface ReleaseOutcome {
  readonly deployments: number;
  /** Deployments the client-error alarm rolled back. */
  readonly rolledBack: number;
  /** Voices the attackers had, summed over periods, by role: what their addresses are worth. */
  readonly attackerVoices: { readonly canary: number; readonly stable: number };
}

const STABLE = '0000000000000a11';
const CANARY = '0000000000000b22';

/** Weight (basis points) of each period of the deployment, until it reaches every viewer. */
export function periodWeights(rollout: RolloutConfig, periodSeconds: number): number[] {
  const perMinute = 60 / periodSeconds;
  const steps = rolloutSteps(rollout);
  const weights: number[] = [];
  for (let i = 0; i < steps.length - 1; i += 1) {
    const periods = Math.max(1, Math.round((steps[i + 1].atMinute - steps[i].atMinute) * perMinute));
    for (let p = 0; p < periods; p += 1) weights.push(steps[i].weight);
  }
  return weights;
}

/** The addresses one attacker sends from in a period: its address, or /64s of its /48. */
function attackerAddresses(group: AttackerGroup, index: number): string[] {
  if (group.kind === 'ipv4') return [`203.0.${113 + (index >> 8)}.${index & 255}`];
  const site = `2001:db8:${(0x100 + index).toString(16)}`;
  return Array.from({ length: group.probes ?? 16 }, (_, sub) => `${site}:${sub.toString(16)}::${(sub * 7 + 1).toString(16)}`);
}

export function simulateReleases(settings: { readonly rollout: RolloutConfig; readonly alarms: ReleaseAlarmRule }, scenario: ReleaseScenario, deployments: number): ReleaseOutcome {
  const queries = releaseAlarmQueries(settings.alarms);
  const weights = periodWeights(settings.rollout, settings.alarms.periodSeconds);
  const background = scenario.backgroundErrorShare ?? 0.02;
  const defect = scenario.canaryFailShare ?? 0;
  // Every 1/share-th viewer of a role errs: the same shares in every run, so runs differ only by salt.
  const errs = (nth: number, share: number) => share > 0 && Math.floor((nth + 1) * share) > Math.floor(nth * share);
  let rolledBack = 0;
  const attackerVoices = { canary: 0, stable: 0 };
  for (let d = 0; d < deployments; d += 1) {
    const salt = `d-SIM${String(d).padStart(6, '0')}`;
    const breaching: boolean[] = [];
    for (let p = 0; p < weights.length; p += 1) {
      const state: RolloutState = { stable: STABLE, canary: CANARY, weight: weights[p], salt, ring: [] };
      const counts = { canary: { viewers: 0, erroring: 0 }, stable: { viewers: 0, erroring: 0 } };
      for (let i = 0; i < scenario.honestPerPeriod; i += 1) {
        // An IPv4 address is its own key: the bucket is what judge() reads, without parsing it again.
        const key = `10.${p & 255}.${i >> 8}.${i & 255}`;
        const role = viewerBucket(salt, key) < state.weight ? 'canary' : 'stable';
        const nth = counts[role].viewers;
        counts[role].viewers += 1;
        if (errs(nth, background) || (role === 'canary' && errs(nth, defect))) counts[role].erroring += 1;
      }
      const group = scenario.attackers;
      for (let a = 0; group && a < group.count; a += 1) {
        // Every address of the attacker is judged; the consumer counts each voice once.
        const voices = new Map<string, 'canary' | 'stable'>();
        for (const ip of attackerAddresses(group, a)) {
          const judgment = judge(state, ip, null);
          if (judgment && judgment.role !== 'ring') voices.set(judgment.voice, judgment.role);
        }
        for (const role of voices.values()) {
          counts[role].viewers += 1;
          attackerVoices[role] += 1;
          if ((group.goal === 'fail' && role === 'canary') || (group.goal === 'mask' && role === 'stable')) counts[role].erroring += 1;
        }
      }
      const values = evaluateQueries(queries.expressions, {
        canary_viewers_raw: counts.canary.viewers,
        canary_erroring_raw: counts.canary.erroring,
        stable_viewers_raw: counts.stable.viewers,
        stable_erroring_raw: counts.stable.erroring,
      });
      breaching.push((values[queries.resultId] ?? 0) > queries.threshold);
      if (breaching.slice(-settings.alarms.evaluationPeriods).filter(Boolean).length >= settings.alarms.datapointsToAlarm) {
        rolledBack += 1;
        break;
      }
    }
  }
  return { deployments, rolledBack, attackerVoices };
}

/**
 * The rollout strategy: the steps viewers are moved by (rollout sync applies them as the judge
 * allows, contracts/release-progress.ts), and the CodeDeploy deployment that holds the release
 * open meanwhile. One source for the stacks, rollout sync, the local simulator and the benchmark.
 *
 * Why CodeDeploy does not step the weight itself: it steps by the clock, and nothing can make it
 * wait for evidence between steps (its hooks run only before and after the whole shift). So the
 * deployment moves the alias to the first step's weight and holds it there for as long as the
 * release may take (`releaseWindowMinutes`); rollout sync moves viewers through the configured
 * steps, each once the judge found the one before healthy, and ends the deployment itself when
 * viewers all have the new build. CodeDeploy watches the verdict's alarm all along and rolls the
 * alias back when it fires.
 */
import { longestReleaseMs } from '../contracts/release-progress';
import type { RolloutConfig } from './schema';

/**
 * The longest CodeDeploy lets a canary deployment wait before its final shift (TimeBasedCanary's interval, minutes).
 */
export const MAX_CODEDEPLOY_INTERVAL_MINUTES = 2880;

export interface RolloutStep {
  /** Minutes after the deployment starts. */
  readonly atMinute: number;
  /** Share of viewers on the new build, in basis points (10000 = everyone). */
  readonly weight: number;
}

/**
 * The deployment config CodeDeploy runs: predefined all-at-once, else a canary at the first step held for the release's
 * window.
 */
export function predefinedDeploymentConfig(rollout: RolloutConfig): string | undefined {
  return rollout.strategy === 'all-at-once' ? 'CodeDeployDefault.LambdaAllAtOnce' : undefined;
}

/**
 * Past the longest a release may take, how long CodeDeploy still holds the alias: a release that
 * runs out of evidence must be rolled back by rollout sync (every minute, or sooner) well before
 * CodeDeploy's own clock would shift everyone to the canary.
 */
export const RELEASE_WINDOW_MARGIN_MINUTES = 10;

/**
 * Minutes CodeDeploy holds the alias at the first step: the configured steps with every judged
 * step waiting its whole hold, rounded up, and the margin. The judge takes viewers to the new
 * build sooner when the evidence keeps up.
 */
export function releaseWindowMinutes(rollout: RolloutConfig, holdMinutes: number): number {
  return (
    Math.max(1, Math.ceil(longestReleaseMs(rolloutSteps(rollout), holdMinutes * 60_000) / 60_000)) +
    RELEASE_WINDOW_MARGIN_MINUTES
  );
}

/** The custom config's traffic routing: the first step's percent, held for the window. */
export function deploymentTrafficRouting(
  rollout: RolloutConfig,
  holdMinutes: number,
): { readonly percentage: number; readonly interval: number } {
  const [first] = rolloutSteps(rollout);
  if (first === undefined) throw new Error('a rollout has at least one step');
  return { percentage: first.weight / 100, interval: releaseWindowMinutes(rollout, holdMinutes) };
}

/** Name of the custom config the stacks create (every strategy but all-at-once). */
export function customDeploymentConfigName(name: string, rollout: RolloutConfig, holdMinutes: number): string {
  const { percentage, interval } = deploymentTrafficRouting(rollout, holdMinutes);
  return `${name}-Judged${percentage}Percent${interval}Minutes`;
}

/** Weights over time, starting at 0 when the deployment begins and ending at 10000. */
export function rolloutSteps(rollout: RolloutConfig): RolloutStep[] {
  const step = rollout.percent * 100;
  switch (rollout.strategy) {
    case 'all-at-once':
      return [{ atMinute: 0, weight: 10000 }];
    case 'canary':
      return [
        { atMinute: 0, weight: step },
        { atMinute: rollout.intervalMinutes, weight: 10000 },
      ];
    case 'linear': {
      const steps: RolloutStep[] = [];
      for (let i = 1; i * step < 10000; i += 1)
        steps.push({ atMinute: (i - 1) * rollout.intervalMinutes, weight: i * step });
      steps.push({ atMinute: steps.length * rollout.intervalMinutes, weight: 10000 });
      return steps;
    }
  }
}

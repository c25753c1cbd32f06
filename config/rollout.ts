/**
 * The rollout strategy as CodeDeploy sees it and as the local simulator replays it: one source for
 * both, so a rollout watched locally follows the same steps a real deployment takes.
 */
import type { RolloutConfig } from './schema';

export interface RolloutStep {
  /** Minutes after the deployment starts. */
  readonly atMinute: number;
  /** Share of viewers on the new build, in basis points (10000 = everyone). */
  readonly weight: number;
}

/** Predefined CodeDeploy Lambda configurations; anything else gets a custom config. */
const PREDEFINED: Record<string, string> = {
  'canary:10:5': 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
  'canary:10:10': 'CodeDeployDefault.LambdaCanary10Percent10Minutes',
  'canary:10:15': 'CodeDeployDefault.LambdaCanary10Percent15Minutes',
  'canary:10:30': 'CodeDeployDefault.LambdaCanary10Percent30Minutes',
  'linear:10:1': 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
  'linear:10:2': 'CodeDeployDefault.LambdaLinear10PercentEvery2Minutes',
  'linear:10:3': 'CodeDeployDefault.LambdaLinear10PercentEvery3Minutes',
  'linear:10:10': 'CodeDeployDefault.LambdaLinear10PercentEvery10Minutes',
};

/** The predefined CodeDeploy config for this strategy, or undefined when a custom one is needed. */
export function predefinedDeploymentConfig(rollout: RolloutConfig): string | undefined {
  if (rollout.strategy === 'all-at-once') return 'CodeDeployDefault.LambdaAllAtOnce';
  return PREDEFINED[`${rollout.strategy}:${rollout.percent}:${rollout.intervalMinutes}`];
}

/** Name of the custom config the stacks create when no predefined one matches. */
export function customDeploymentConfigName(name: string, rollout: RolloutConfig): string {
  const kind = rollout.strategy === 'canary' ? 'Canary' : 'Linear';
  return `${name}-${kind}${rollout.percent}Percent${rollout.intervalMinutes}Minutes`;
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
      for (let i = 1; i * step < 10000; i += 1) steps.push({ atMinute: (i - 1) * rollout.intervalMinutes, weight: i * step });
      steps.push({ atMinute: steps.length * rollout.intervalMinutes, weight: 10000 });
      return steps;
    }
  }
}

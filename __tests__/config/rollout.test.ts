import { predefinedDeploymentConfig, rolloutSteps } from '../../config';

describe('rollout steps', () => {
  it('maps strategies to CodeDeploy configs and to the weight steps the local simulator replays', () => {
    expect(predefinedDeploymentConfig({ strategy: 'canary', percent: 10, intervalMinutes: 5 })).toBe('CodeDeployDefault.LambdaCanary10Percent5Minutes');
    expect(predefinedDeploymentConfig({ strategy: 'canary', percent: 25, intervalMinutes: 5 })).toBeUndefined();
    expect(rolloutSteps({ strategy: 'canary', percent: 25, intervalMinutes: 5 })).toEqual([
      { atMinute: 0, weight: 2500 },
      { atMinute: 5, weight: 10000 },
    ]);
    const linear = rolloutSteps({ strategy: 'linear', percent: 25, intervalMinutes: 2 });
    expect(linear).toEqual([
      { atMinute: 0, weight: 2500 },
      { atMinute: 2, weight: 5000 },
      { atMinute: 4, weight: 7500 },
      { atMinute: 6, weight: 10000 },
    ]);
  });
});

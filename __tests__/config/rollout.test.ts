import {
  customDeploymentConfigName,
  deploymentTrafficRouting,
  MAX_CODEDEPLOY_INTERVAL_MINUTES,
  parseConfig,
  predefinedDeploymentConfig,
  RELEASE_WINDOW_MARGIN_MINUTES,
  releaseWindowMinutes,
  rolloutSteps,
} from '../../config';

describe('rollout steps', () => {
  it('maps strategies to the weight steps the judge paces (rollout sync, the local simulator, the benchmark)', () => {
    expect(rolloutSteps({ strategy: 'canary', percent: 25, intervalMinutes: 5 })).toEqual([
      { atMinute: 0, weight: 2500 },
      { atMinute: 5, weight: 10000 },
    ]);
    expect(rolloutSteps({ strategy: 'linear', percent: 25, intervalMinutes: 2 })).toEqual([
      { atMinute: 0, weight: 2500 },
      { atMinute: 2, weight: 5000 },
      { atMinute: 4, weight: 7500 },
      { atMinute: 6, weight: 10000 },
    ]);
    expect(rolloutSteps({ strategy: 'all-at-once', percent: 10, intervalMinutes: 5 })).toEqual([
      { atMinute: 0, weight: 10000 },
    ]);
  });

  it(
    'has CodeDeploy hold the first step for the longest the judge may take (every step waiting its whole hold), ' +
      'and a margin for rollout sync to roll back first',
    () => {
      const canary = { strategy: 'canary', percent: 10, intervalMinutes: 5 } as const;
      expect(RELEASE_WINDOW_MARGIN_MINUTES).toBeGreaterThanOrEqual(5);
      expect(predefinedDeploymentConfig(canary)).toBeUndefined();
      expect(releaseWindowMinutes(canary, 30)).toBe(35 + RELEASE_WINDOW_MARGIN_MINUTES);
      expect(deploymentTrafficRouting(canary, 30)).toEqual({
        percentage: 10,
        interval: 35 + RELEASE_WINDOW_MARGIN_MINUTES,
      });
      expect(customDeploymentConfigName('edge-widget', canary, 30)).toBe(
        `edge-widget-Judged10Percent${35 + RELEASE_WINDOW_MARGIN_MINUTES}Minutes`,
      );
      const linear = { strategy: 'linear', percent: 25, intervalMinutes: 2 } as const;
      expect(deploymentTrafficRouting(linear, 10)).toEqual({
        percentage: 25,
        interval: 6 + 3 * 10 + RELEASE_WINDOW_MARGIN_MINUTES,
      });
      expect(predefinedDeploymentConfig({ strategy: 'all-at-once', percent: 10, intervalMinutes: 5 })).toBe(
        'CodeDeployDefault.LambdaAllAtOnce',
      );
    },
  );

  it('refuses a hold that would keep a release open past what CodeDeploy allows, naming the numbers', () => {
    const base = {
      domain: 'widget.example.com',
      hostedZone: { name: 'example.com' },
      primaryRegion: 'us-east-1',
      regions: ['us-east-1'],
    };
    expect(() =>
      parseConfig(
        { ...base, rollout: { strategy: 'linear', percent: 5, intervalMinutes: 10 }, alarms: { holdMinutes: 150 } },
        'test',
        {},
      ),
    ).toThrow(
      `alarms.holdMinutes: is 150, so a release could run ${190 + 19 * 150} minutes (the steps, and every step ` +
        `waiting its whole hold), past the ${MAX_CODEDEPLOY_INTERVAL_MINUTES - RELEASE_WINDOW_MARGIN_MINUTES} ` +
        `CodeDeploy allows one deployment to wait (${MAX_CODEDEPLOY_INTERVAL_MINUTES} minutes, less a ` +
        `${RELEASE_WINDOW_MARGIN_MINUTES}-minute margin for rollout sync to roll it back first); lower it or ` +
        `use fewer steps.`,
    );
    expect(() =>
      parseConfig({ ...base, alarms: { toleratedExcessPercent: 5, excessErrorPercent: 5 } }, 'test', {}),
    ).toThrow('alarms.toleratedExcessPercent: is 5 but excessErrorPercent is 5;');
  });
});

import { deploymentSummaryFrom } from '../../regional-function/shared/deployments';
import { deploymentView, formatStatus, newestVersion, percent, previousReleaseVersion, stateMatchesAlias, type AliasView, type RolloutStatus } from '../../scripts/lib/rollout-view';
import { BUILD_A, BUILD_B, BUILD_C, lambdaDeployment } from '../regional-function/aws-fixtures';

const alias = (canary: AliasView['canary'] = null, stable = { version: '7', buildId: BUILD_A as string | null }): AliasView => ({ functionName: 'fn', name: 'live', stable, canary });

describe('version choices', () => {
  const versions = [
    { version: '10', buildId: BUILD_C },
    { version: '9', buildId: BUILD_B },
    { version: '2', buildId: null },
    { version: '8', buildId: BUILD_B },
    { version: '3', buildId: BUILD_A },
  ];

  it('takes the numerically newest version (10 after 9)', () => {
    expect(newestVersion(versions)).toEqual({ version: '10', buildId: BUILD_C });
    expect(newestVersion([{ version: '$LATEST', buildId: null }])).toBeNull();
  });

  it('rolls back to the newest older version with another known build', () => {
    expect(previousReleaseVersion(versions, { version: '10', buildId: BUILD_C })).toEqual({ version: '9', buildId: BUILD_B });
    // 8 serves the same build as 9: going there changes nothing for viewers.
    expect(previousReleaseVersion(versions, { version: '9', buildId: BUILD_B })).toEqual({ version: '3', buildId: BUILD_A });
    // Version 2 names no build, so it cannot be chosen.
    expect(previousReleaseVersion(versions, { version: '3', buildId: BUILD_A })).toBeNull();
  });
});

describe('state against alias', () => {
  it('matches on builds and weight, whatever the salt', () => {
    const shifting = alias({ version: '8', buildId: BUILD_B, weight: 1000 });
    expect(stateMatchesAlias(shifting, { stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'anything', ring: [] })).toBe(true);
    expect(stateMatchesAlias(shifting, { stable: BUILD_A, canary: BUILD_B, weight: 900, salt: 'anything', ring: [] })).toBe(false);
    expect(stateMatchesAlias(alias(), { stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] })).toBe(true);
    expect(stateMatchesAlias(alias(), null)).toBe(false);
    // Same build on both versions: the record rightly has no canary.
    expect(stateMatchesAlias(alias({ version: '8', buildId: BUILD_A, weight: 5000 }), { stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] })).toBe(true);
    expect(stateMatchesAlias(alias(null, { version: '7', buildId: null }), { stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] })).toBe(false);
  });
});

describe('deployment progress', () => {
  const running = deploymentSummaryFrom('d-1', lambdaDeployment({ from: '7', to: '8' }).deploymentInfo);

  it('is the weight the alias gives the target version while the deployment runs', () => {
    expect(deploymentView(running, alias({ version: '8', buildId: BUILD_B, weight: 2000 })).progress).toBe(2000);
    expect(deploymentView(running, alias()).progress).toBe(0);
    expect(deploymentView(running, alias(null, { version: '8', buildId: BUILD_B })).progress).toBe(10000);
    expect(deploymentView(deploymentSummaryFrom('d-1', lambdaDeployment({ from: '7', to: '8', status: 'Succeeded' }).deploymentInfo), alias()).progress).toBeNull();
  });
});

describe('status text', () => {
  it('writes percentages without noise', () => {
    expect([percent(10000), percent(1000), percent(1234), percent(5)]).toEqual(['100%', '10%', '12.34%', '0.05%']);
  });

  it('shows a rolled-back deployment with its error and an invalid record', () => {
    const summary = deploymentSummaryFrom(
      'd-FAILED001',
      lambdaDeployment({ from: '7', to: '8', status: 'Stopped', error: 'alarm edge-widget-client-error-rate went into ALARM', completeTime: new Date('2026-11-26T10:05:00Z') }).deploymentInfo,
    );
    const status: RolloutStatus = {
      account: '1',
      alias: alias(),
      state: { store: 'edge-widget-rollout', arn: 'arn:aws:cloudfront::1:key-value-store/x', text: 'garbage', parsed: null, matchesAlias: false },
      deployment: { ...deploymentView(summary, alias()), rolledBackBy: 'd-RB0000001' },
      alarms: [{ name: 'client', state: 'ALARM', reason: 'Threshold Crossed', updated: null }],
      dashboard: 'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/edge-widget-releases',
      problems: ['the value in edge-widget-rollout is not a valid rollout state'],
    };
    const text = formatStatus(status).join('\n');
    expect(text).toContain('\nDashboard  https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/edge-widget-releases\n');
    expect(text).toContain('  garbage\n  not a valid rollout state: the edges fall back to the entry router');
    expect(text).toContain('  id              d-FAILED001  Stopped\n');
    expect(text).toContain('  completed       2026-11-26T10:05:00.000Z\n');
    expect(text).toContain('  rolled back by  d-RB0000001\n');
    expect(text).toContain('  error           alarm edge-widget-client-error-rate went into ALARM');
    expect(text).toContain('Alarms\n  client  ALARM  Threshold Crossed');
    expect(text).toMatch(/Problems\n {2}- the value in edge-widget-rollout is not a valid rollout state$/);
    expect(text).not.toContain('progress');
  });
});

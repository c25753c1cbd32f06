import { deploymentSummaryFrom } from '../../rollout-control/deployments';
import { viewersToJudge } from '../../contracts/canary-judge';
import {
  deploymentView,
  evidenceWarnings,
  formatStatus,
  judgmentView,
  newestVersion,
  percent,
  previewViews,
  previousReleaseVersion,
  roughDuration,
  stateMatchesAlias,
  type AliasView,
  type RolloutStatus,
} from '../../scripts/lib/rollout-view';
import { BUILD_A, BUILD_B, BUILD_C, lambdaDeployment } from '../regional-function/aws-fixtures';

const alias = (
  canary: AliasView['canary'] = null,
  stable = { version: '7', buildId: BUILD_A as string | null },
): AliasView => ({ functionName: 'fn', name: 'live', stable, canary });

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
    expect(previousReleaseVersion(versions, { version: '10', buildId: BUILD_C })).toEqual({
      version: '9',
      buildId: BUILD_B,
    });
    // 8 serves the same build as 9: going there changes nothing for viewers.
    expect(previousReleaseVersion(versions, { version: '9', buildId: BUILD_B })).toEqual({
      version: '3',
      buildId: BUILD_A,
    });
    // Version 2 names no build, so it cannot be chosen.
    expect(previousReleaseVersion(versions, { version: '3', buildId: BUILD_A })).toBeNull();
  });
});

describe('state against alias', () => {
  it('matches on builds and weight, whatever the salt', () => {
    const shifting = alias({ version: '8', buildId: BUILD_B, weight: 1000 });
    expect(
      stateMatchesAlias(shifting, { stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'anything', ring: [] }),
    ).toBe(true);
    expect(
      stateMatchesAlias(shifting, { stable: BUILD_A, canary: BUILD_B, weight: 900, salt: 'anything', ring: [] }),
    ).toBe(false);
    expect(stateMatchesAlias(alias(), { stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] })).toBe(true);
    expect(stateMatchesAlias(alias(), null)).toBe(false);
    // Same build on both versions: the record rightly has no canary.
    expect(
      stateMatchesAlias(alias({ version: '8', buildId: BUILD_A, weight: 5000 }), {
        stable: BUILD_A,
        canary: null,
        weight: 0,
        salt: null,
        ring: [],
      }),
    ).toBe(true);
    expect(
      stateMatchesAlias(alias(null, { version: '7', buildId: null }), {
        stable: BUILD_A,
        canary: null,
        weight: 0,
        salt: null,
        ring: [],
      }),
    ).toBe(false);
  });
});

describe('deployment progress', () => {
  const running = deploymentSummaryFrom('d-1', lambdaDeployment({ from: '7', to: '8' }).deploymentInfo);

  it('is the weight the alias gives the target version while the deployment runs', () => {
    expect(deploymentView(running, alias({ version: '8', buildId: BUILD_B, weight: 2000 })).progress).toBe(2000);
    expect(deploymentView(running, alias()).progress).toBe(0);
    expect(deploymentView(running, alias(null, { version: '8', buildId: BUILD_B })).progress).toBe(10000);
    expect(
      deploymentView(
        deploymentSummaryFrom('d-1', lambdaDeployment({ from: '7', to: '8', status: 'Succeeded' }).deploymentInfo),
        alias(),
      ).progress,
    ).toBeNull();
  });
});

describe('status text', () => {
  it('writes percentages without noise', () => {
    expect([percent(10000), percent(1000), percent(1234), percent(5)]).toEqual(['100%', '10%', '12.34%', '0.05%']);
  });

  it(
    "shows the judge's view: the shares with their ranges, " + 'the weight it allows, and since when and why it holds',
    () => {
      const started = new Date('2026-11-26T10:00:00Z');
      const summary = {
        ...deploymentSummaryFrom(
          'd-HELD00001',
          lambdaDeployment({ from: '7', to: '8', status: 'InProgress' }).deploymentInfo,
        ),
        createTime: started,
      };
      const steps = [
        { atMinute: 0, weight: 1000 },
        { atMinute: 5, weight: 10000 },
      ];
      const record = {
        salt: 'd-HELD00001',
        stable: 'a'.repeat(16),
        canary: 'b'.repeat(16),
        baseline: { viewers: 5000, erroring: 50 },
        closed: {
          canary: { viewers: 30, erroring: 3 },
          stable: { viewers: 270, erroring: 3 },
          newestCanary: { viewers: 30, erroring: 3 },
        },
        atWeight: { 1000: 30 },
        lastPeriod: started.getTime() + 6 * 60_000,
        lastPeriodJudged: true,
        healthyAt: {},
        failedAt: null,
        failure: null,
        last: {
          at: started.getTime() + 7 * 60_000,
          verdict: 'unknown',
          reason: 'holding: 30 of the 50 canary viewers a step needs counted at 10 %',
          canary: { share: 0.1, lower: 0.01, upper: 0.4, viewers: 30 },
          stable: { share: 0.011, lower: 0.007, upper: 0.016, viewers: 5270 },
          excess: { lower: -1, upper: 30 },
        },
      } as const;
      const view = judgmentView(summary, record, steps, 30 * 60_000, started.getTime() + 8 * 60_000)!;
      expect(view).toMatchObject({
        outcome: 'running',
        weight: 1000,
        heldSince: '2026-11-26T10:05:00.000Z',
        holdEndsAt: '2026-11-26T10:35:00.000Z',
      });
      const text = formatStatus({
        account: '1',
        alias: alias(),
        state: { store: 'edge-widget-rollout', arn: null, text: null, parsed: null, matchesAlias: false },
        deployment: deploymentView(summary, alias()),
        alarms: [],
        judgment: view,
        dashboard: 'https://example.com',
        revocations: [],
        previews: [],
        notifications: [],
        problems: [],
      }).join('\n');
      expect(text).toContain('Judge (deployment d-HELD00001)');
      expect(text).toContain(
        'held     since 2026-11-26T10:05:00.000Z; ends as "not enough evidence" at 2026-11-26T10:35:00.000Z',
      );
      expect(text).toContain('verdict  holding: 30 of the 50 canary viewers a step needs counted at 10 %');
      expect(text).toMatch(/canary +10\.0 % of 30 viewers erred +plausibly 1\.0 % to 40\.0 %/);
      // Past the hold, the same record ends the release as not enough evidence, apart from failed.
      expect(judgmentView(summary, record, steps, 30 * 60_000, started.getTime() + 36 * 60_000)).toMatchObject({
        outcome: 'not-enough-evidence',
        weight: 0,
      });
      expect(
        judgmentView(
          summary,
          { ...record, failedAt: started.getTime() + 2 * 60_000, failure: 'failing: the canary errs' },
          steps,
          30 * 60_000,
          started.getTime() + 3 * 60_000,
        ),
      ).toMatchObject({
        outcome: 'failed',
        reason: 'failing: the canary errs',
      });
    },
  );

  it('shows a rolled-back deployment with its error and an invalid record', () => {
    const summary = deploymentSummaryFrom(
      'd-FAILED001',
      lambdaDeployment({
        from: '7',
        to: '8',
        status: 'Stopped',
        error: 'alarm edge-widget-client-error-rate went into ALARM',
        completeTime: new Date('2026-11-26T10:05:00Z'),
      }).deploymentInfo,
    );
    const status: RolloutStatus = {
      account: '1',
      alias: alias(),
      state: {
        store: 'edge-widget-rollout',
        arn: 'arn:aws:cloudfront::1:key-value-store/x',
        text: 'garbage',
        parsed: null,
        matchesAlias: false,
      },
      deployment: { ...deploymentView(summary, alias()), rolledBackBy: 'd-RB0000001' },
      alarms: [{ name: 'client', state: 'ALARM', reason: 'Threshold Crossed', updated: null }],
      judgment: null,
      dashboard:
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/edge-widget-releases',
      revocations: [
        { buildId: 'cccccccccccccccc', at: Date.UTC(2026, 11, 6), reason: 'CVE-2026-0001' },
        { buildId: 'dddddddddddddddd', at: null, reason: '(the stored record is not readable)' },
      ],
      previews: [],
      notifications: [
        { at: Date.UTC(2026, 11, 6, 9), subject: '[edge-widget] Release started: build b at 10 %', failure: null },
        { at: Date.UTC(2026, 11, 6, 10), subject: '[edge-widget] Build c revoked', failure: 'not authorized' },
      ],
      problems: ['the value in edge-widget-rollout is not a valid rollout state'],
    };
    const text = formatStatus(status).join('\n');
    expect(text).toContain(
      '\nDashboard  ' +
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/edge-widget-releases\n',
    );
    expect(text).toContain('  garbage\n  not a valid rollout state: the edges fall back to the entry router');
    expect(text).toContain('  id              d-FAILED001  Stopped\n');
    expect(text).toContain('  completed       2026-11-26T10:05:00.000Z\n');
    expect(text).toContain('  rolled back by  d-RB0000001\n');
    expect(text).toContain('  error           alarm edge-widget-client-error-rate went into ALARM');
    expect(text).toContain('Alarms\n  client  ALARM  Threshold Crossed');
    // The last messages the topic was given, and which of them it refused.
    expect(text).toContain(
      'Last notifications (newest last)\n' +
        '  2026-12-06T09:00:00.000Z  [edge-widget] Release started: build b at 10 %\n' +
        '  2026-12-06T10:00:00.000Z  [edge-widget] Build c revoked  (not delivered: not authorized)\n',
    );
    expect(text).toContain(
      '\nRevoked builds (410 everywhere; never stable, canary or a rollback target again)\n' +
        '  cccccccccccccccc  2026-12-06T00:00:00.000Z  CVE-2026-0001\n' +
        '  dddddddddddddddd  at an unknown time  (the stored record is not readable)\n',
    );
    expect(text).toMatch(/Problems\n {2}- the value in edge-widget-rollout is not a valid rollout state$/);
    expect(text).not.toContain('progress');
  });
});

describe('whether the steps can be judged in time (rollout start)', () => {
  const rule = { excessErrorPercent: 5, toleratedExcessPercent: 2, falseRollbackRate: 0.001, minViewers: 50 };
  const settings = { rule, holdMinutes: 30, periodSeconds: 60, latenessSeconds: 20, propagationMs: 100_000 };
  const canary = [
    { atMinute: 0, weight: 1000 },
    { atMinute: 5, weight: 10000 },
  ];
  const linear = [0, 1, 2, 3].map((i) => ({ atMinute: i, weight: i === 3 ? 10000 : (i + 1) * 2500 }));
  const day = (perHour: number, quietest = perHour) => ({
    hourlyViewers: [quietest, ...Array.from({ length: 23 }, () => perHour)],
    stableShare: 0.01,
  });

  it('needs more canary viewers to rule an excess out the more the stable build errs', () => {
    const low = viewersToJudge(rule, 0.01, 7000)!;
    const high = viewersToJudge(rule, 0.05, 7000)!;
    expect(low).toBeGreaterThanOrEqual(rule.minViewers);
    expect(high).toBeGreaterThan(low);
    expect(viewersToJudge({ ...rule, excessErrorPercent: 0.01 }, 0.5, 10)).toBeNull();
  });

  it('says nothing when even the quietest hour judges every step in its time', () => {
    expect(evidenceWarnings(canary, day(60_000), settings)).toEqual([]);
    expect(evidenceWarnings([{ atMinute: 0, weight: 10000 }], day(0), settings)).toEqual([]);
  });

  it(
    'warns that steps will hold when the quietest hour is ' + 'too quiet, or the steps too short to be judged at all',
    () => {
      const quiet = evidenceWarnings(canary, day(60_000, 6_000), settings);
      expect(quiet).toHaveLength(1);
      expect(quiet[0]).toMatch(
        new RegExp(
          "^at the last day's quietest hour \\(6,000 viewers, stable ones erring at 1 %\\), the first step " +
            '\\(10%\\) gets 10 canary viewers a minute and needs about \\d+, counted from 3 min after it is ' +
            'written: about \\d+ min against its 5, so the steps hold until judged',
        ),
      );
      // One-minute steps: the evidence of a step is counted from 3 minutes after it is written, however busy.
      expect(evidenceWarnings(linear, day(600_000), settings).join('\n')).toMatch(
        /the slowest later step \(\d+%\) .* against its 1, so the steps hold/,
      );
    },
  );

  it(
    'warns that a release will end for want of evidence, naming the hold that would do, and when nobody was ' +
      'counted at all',
    () => {
      const [warning] = evidenceWarnings(canary, day(6_000, 600), settings);
      const hold = Number(/Raise alarms\.holdMinutes to (\d+) or more/.exec(warning!)?.[1]);
      expect(warning).toMatch(
        new RegExp(
          'more than its 5 min and alarms\\.holdMinutes \\(30\\) together, so a release started then is rolled ' +
            'back for want of evidence',
        ),
      );
      expect(hold).toBeGreaterThan(30);
      // With that hold, the same day only holds.
      expect(evidenceWarnings(canary, day(6_000, 600), { ...settings, holdMinutes: hold })[0]).toMatch(
        /so the steps hold until judged/,
      );
      expect(
        evidenceWarnings(canary, { hourlyViewers: Array.from({ length: 24 }, () => 0), stableShare: null }, settings),
      ).toEqual([
        'The release signal counted no entry viewer in the last day: no step can be judged healthy, so the first ' +
          '(10%) holds, and after alarms.holdMinutes (30) the release is rolled back for want of evidence. Check ' +
          'the signal (npm run rollout -- status, the release dashboard) before starting.',
      ]);
    },
  );
});

describe('previews', () => {
  it('says how long is left in the two largest units, never negative', () => {
    expect(
      [0, -5, 0.9, 40, 60, 90, 3570, 3600, 86_399, 86_400, 2 * 86_400 + 3600 + 59, 7 * 86_400].map(roughDuration),
    ).toEqual(['0s', '0s', '0s', '40s', '1m', '1m 30s', '59m 30s', '1h', '23h 59m', '1d', '2d 1h', '7d']);
  });

  it('views a preview with its end as ISO time and whole seconds left, 0 once ended', () => {
    const now = Date.parse('2026-11-26T10:00:30.500Z');
    const until = Date.parse('2026-11-26T11:00:30Z') / 1000;
    expect(
      previewViews(
        [
          { build: BUILD_A, viewer: '203.0.113.0/24', until },
          { build: BUILD_B, viewer: '2001:db8:7::/48', until: until - 7200 },
        ],
        now,
      ),
    ).toEqual([
      { build: BUILD_A, viewer: '203.0.113.0/24', until: '2026-11-26T11:00:30.000Z', secondsLeft: 3599 },
      { build: BUILD_B, viewer: '2001:db8:7::/48', until: '2026-11-26T09:00:30.000Z', secondsLeft: 0 },
    ]);
  });

  it('lists the previews in force in the status under the rollout state, and none without a state', () => {
    const text = (parsed: boolean) =>
      formatStatus({
        account: '1',
        alias: alias(),
        state: {
          store: 'edge-widget-rollout',
          arn: null,
          text: parsed ? '{…}' : null,
          parsed: parsed ? { stable: BUILD_A, canary: null, weight: 0, salt: null, ring: [] } : null,
          matchesAlias: true,
        },
        deployment: null,
        alarms: [],
        judgment: null,
        dashboard: 'https://example.com',
        revocations: [],
        notifications: [],
        previews: [{ build: BUILD_C, viewer: '203.0.113.0/24', until: '2026-11-26T11:00:30.000Z', secondsLeft: 5400 }],
        problems: [],
      }).join('\n');
    expect(text(true)).toContain(
      '  {…}\n  matches the alias\n' +
        `  preview: 203.0.113.0/24 gets build ${BUILD_C} until 2026-11-26T11:00:30.000Z (1h 30m left; counted ` +
        'apart, never judged)\n',
    );
    expect(text(false)).not.toContain('preview:');
  });
});

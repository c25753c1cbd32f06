import {
  MAX_SUBJECT_LENGTH,
  notificationKind,
  releaseFacts,
  releaseNotification,
  snsSubject,
} from '../../contracts/release-notification';
import type { RolloutState } from '../../contracts/rollout-state';

const STABLE = 'aaaaaaaaaaaaaaaa';
const CANARY = 'bbbbbbbbbbbbbbbb';
const context = { distribution: 'edge-widget', dashboard: 'https://dash.example/releases', at: Date.UTC(2026, 11, 6) };
const steady: RolloutState = { stable: STABLE, canary: null, weight: 0, salt: null, ring: [] };
const rolling = (weight: number): RolloutState => ({ stable: STABLE, canary: CANARY, weight, salt: 'd-X', ring: [] });

describe('release notifications', () => {
  it('names each CodeDeploy state and alarm state it reports, and none it does not', () => {
    const deployment = (state: 'START' | 'SUCCESS' | 'FAILURE' | 'STOP' | 'READY', rollback = false) =>
      notificationKind({ kind: 'deployment', state, deploymentId: 'd-1', rollback });
    expect(['START', 'SUCCESS', 'FAILURE', 'STOP', 'READY'].map((s) => deployment(s as 'START'))).toEqual([
      'release-started',
      'release-complete',
      'release-failed',
      'release-stopped',
      null,
    ]);
    expect([deployment('START', true), deployment('SUCCESS', true)]).toEqual(['rollback-started', 'rollback-complete']);
    const alarm = (state: string) => notificationKind({ kind: 'alarm', alarm: 'a', state, reason: null });
    expect([alarm('ALARM'), alarm('OK'), alarm('INSUFFICIENT_DATA')]).toEqual(['alarm', 'alarm-cleared', null]);
  });

  it(
    'says what happened to which build at what weight in the subject ' +
      'and the first line, links the dashboard, then the same as JSON',
    () => {
      const message = releaseNotification(
        { kind: 'deployment', state: 'FAILURE', deploymentId: 'd-1', rollback: false },
        { stable: STABLE, canary: CANARY, weight: 2500, reason: 'alarm' },
        context,
      )!;
      const [first, second, blank, ...json] = message.message.split('\n');
      expect(first).toBe(`Release failed: build ${CANARY} at 25 % rolled back to ${STABLE}: alarm`);
      expect(message.subject).toBe(`[edge-widget] ${first}`);
      expect(second).toBe('Dashboard: https://dash.example/releases');
      expect(blank).toBe('');
      expect(JSON.parse(json.join('\n'))).toEqual({
        v: 1,
        kind: 'release-failed',
        distribution: 'edge-widget',
        at: '2026-12-06T00:00:00.000Z',
        stable: STABLE,
        canary: CANARY,
        weightPercent: 25,
        reason: 'alarm',
        deploymentId: 'd-1',
        alarm: null,
        alarmState: null,
        buildId: CANARY,
        dashboard: 'https://dash.example/releases',
      });
      expect(
        releaseNotification(
          { kind: 'deployment', state: 'READY', deploymentId: 'd-1', rollback: false },
          { stable: STABLE, canary: CANARY, weight: 2500, reason: null },
          context,
        ),
      ).toBeNull();
    },
  );

  it('keeps a subject within what SNS takes: one line of printable ASCII, at most 100 characters', () => {
    expect(snsSubject('a\nb\tc')).toBe('a b c');
    expect(snsSubject('weight → 10 %')).toBe('weight ? 10 %');
    const long = snsSubject('x'.repeat(300));
    expect(long).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(long.endsWith('...')).toBe(true);
    // A reason with a line break cannot start a second line of the body either.
    const message = releaseNotification(
      { kind: 'alarm', alarm: 'errors', state: 'ALARM', reason: 'line one\nline two' },
      { stable: STABLE, canary: null, weight: 0, reason: null },
      context,
    )!;
    expect(message.message.split('\n')[0]).toBe(`Alarm errors: build none at 0 %: line one line two`);
  });

  it("gives a rolled-back canary the weight the last state naming it gave it, not the current state's 0", () => {
    const timeline = [
      { state: steady, from: 0, until: 10 },
      { state: rolling(1000), from: 10, until: 20 },
      { state: rolling(3000), from: 20, until: 30 },
      { state: steady, from: 30, until: null },
    ];
    expect(releaseFacts(steady, timeline, CANARY, 'why')).toEqual({
      stable: STABLE,
      canary: CANARY,
      weight: 3000,
      reason: 'why',
    });
    expect(releaseFacts(rolling(500), timeline, null, null)).toMatchObject({ canary: CANARY, weight: 500 });
    expect(releaseFacts(steady, timeline, null, null)).toEqual({
      stable: STABLE,
      canary: null,
      weight: 0,
      reason: null,
    });
  });
});

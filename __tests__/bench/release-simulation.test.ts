/**
 * What a few attackers can do to a release, over many deployments: the simulation runs the real
 * assignment, counting rule and alarm math (bench/release-simulation.ts), so these are the odds an
 * attacker who holds some addresses faces, each deployment drawing a fresh cohort. The end-to-end
 * tests (local/signal-attacks.test.ts) play one such deployment over HTTP.
 */
import { loadConfig } from '../../config';
import { viewerBucket } from '../../contracts/assignment';
import { judge } from '../../contracts/release-signal';
import { periodWeights, simulateReleases } from '../../bench/release-simulation';

const config = loadConfig();
// Hundreds of honest viewers a period, as the issue's own measurements had: 800.
const HONEST = 800;

it("steps through the configured rollout, a period at a time, until the last step's weight", () => {
  expect(periodWeights({ strategy: 'linear', percent: 10, intervalMinutes: 1 }, 60)).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  expect(periodWeights({ strategy: 'canary', percent: 10, intervalMinutes: 5 }, 60)).toEqual([1000, 1000, 1000, 1000, 1000]);
  expect(periodWeights({ strategy: 'linear', percent: 25, intervalMinutes: 2 }, 120)).toEqual([2500, 5000, 7500]);
});

it("counts an honest IPv4 viewer by its bucket, as judge() does (the simulation's shortcut for speed)", () => {
  for (let i = 0; i < 2000; i += 1) {
    const ip = `10.${i % 7}.${i >> 8}.${i & 255}`;
    const state = { stable: '0000000000000a11', canary: '0000000000000b22', weight: 1000 + (i % 9) * 1000, salt: `d-SIM${i % 13}`, ring: [] };
    expect(judge(state, ip, null)?.role).toBe(viewerBucket(state.salt, ip) < state.weight ? 'canary' : 'stable');
  }
});

describe(`against ${HONEST} honest viewers a period, 2 % of every build's erring`, () => {
  it('rolls back every canary that fails 30 % of its viewers, and no healthy one, with nobody attacking', () => {
    expect(simulateReleases(config, { honestPerPeriod: HONEST }, 500).rolledBack).toBe(0);
    expect(simulateReleases(config, { honestPerPeriod: HONEST, canaryFailShare: 0.3 }, 200).rolledBack).toBe(200);
  });

  it.each([
    ['10 IPv4 addresses', { kind: 'ipv4', count: 10, goal: 'fail' }, 500],
    ['10 IPv6 /48s, each reporting from 16 of its /64s', { kind: 'ipv6-48', count: 10, goal: 'fail' }, 200],
  ] as const)('%s reporting errors wherever they get the canary roll back a healthy canary in under 1 %% of deployments', (_label, attackers, deployments) => {
    const outcome = simulateReleases(config, { honestPerPeriod: HONEST, attackers }, deployments);
    expect(outcome.rolledBack / deployments).toBeLessThan(0.01);
    // Each attacker is one voice a period, in the role the rule gave it (9 periods of the linear rollout).
    expect(outcome.attackerVoices.canary + outcome.attackerVoices.stable).toBe(deployments * attackers.count * 9);
    // And the rule, not the attacker, chose the role: about the rollout's average share lands on the canary.
    expect(outcome.attackerVoices.canary / (outcome.attackerVoices.canary + outcome.attackerVoices.stable)).toBeGreaterThan(0.4);
    expect(outcome.attackerVoices.canary / (outcome.attackerVoices.canary + outcome.attackerVoices.stable)).toBeLessThan(0.6);
  });

  it.each([
    ['50 IPv4 addresses', { kind: 'ipv4', count: 50, goal: 'mask' }, 300],
    ['50 IPv6 /48s, each reporting from 16 of its /64s', { kind: 'ipv6-48', count: 50, goal: 'mask' }, 60],
  ] as const)('%s reporting errors on the stable build and loading the canary clean never keep a canary failing 30 %% from rolling back', (_label, attackers, deployments) => {
    expect(simulateReleases(config, { honestPerPeriod: HONEST, canaryFailShare: 0.3, attackers }, deployments).rolledBack).toBe(deployments);
  });
});

it('the same 10 attackers are not harmless against only 300 honest viewers a period: the alarm needs evidence, not a point margin (the sequential judge is the next issue)', () => {
  // Recorded so the docs' figure is a measured one: a point-difference rule fails a healthy canary
  // when a few voices fall on it by chance.
  const outcome = simulateReleases(config, { honestPerPeriod: 300, attackers: { kind: 'ipv4', count: 10, goal: 'fail' } }, 500);
  expect(outcome.rolledBack / 500).toBeGreaterThan(0.05);
  expect(outcome.rolledBack / 500).toBeLessThan(0.25);
});

/**
 * Revocation reach: seconds from `rollout revoke` returning to no new load anywhere getting the
 * revoked build's entry, for each way a load can reach it, as a sum of the chain's components (as
 * rollback reach states its chain, whose links these share).
 *
 *   by its own URL       the command has written `revoked/<id>` before it returns; the store
 *                        carries it to every edge; the viewer-assignment function, which gates the
 *                        build-entry behaviour before any cache, reads it on every load (measured)
 *   a canary, on the entry   the command stopped its deployment and asked rollout sync to run; sync
 *                        writes a state without it; the store carries it; the next load
 *   the stable build     the command started an all-at-once deployment to `--to`; CodeDeploy moves
 *                        the alias; its state change runs rollout sync, which writes the state
 *
 * The target is 2 minutes (issue 21) for the worst case of each chain.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildEntryPath } from '../../contracts/distribution-paths';
import { formatRevocation, revocationKey } from '../../contracts/revocation';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import { loadCloudFrontFunction } from '../../edge-code/cloudfront-function';
import { viewerRequestEvent } from '../events';
import { round } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { OTHER_BUILD } from './edge-routers';
import {
  measureNextLoad,
  nextLoad,
  STORE_PROPAGATION,
  SYNC_WRITES,
  syncOnEvent,
  totalReach,
  type ReachComponent,
} from './rollback-reach';

const TARGET_S = 120;

/**
 * Loads of a build's own URL the published function let through after the store said the build is revoked: 0 by
 * design. Before the revocation every one passes (the check that the measurement can see a pass).
 */
async function measureGate(code: string, buildId: string, loads: number): Promise<{ before: number; after: number }> {
  const keys = new Map([[ROLLOUT_STATE_KEY, formatRolloutState(steadyState(OTHER_BUILD))]]);
  const gate = loadCloudFrontFunction(code, {
    get: async (key) => {
      const value = keys.get(key);
      if (value === undefined) throw new Error(`key ${key} not found`);
      return value;
    },
  });
  const passed = async () => {
    let count = 0;
    for (let i = 0; i < loads; i += 1) {
      const event = viewerRequestEvent(`198.51.100.${i % 250}`);
      event.request.uri = buildEntryPath(buildId);
      if ('uri' in (await gate(event))) count += 1;
    }
    return count;
  };
  const before = await passed();
  keys.set(revocationKey(buildId), formatRevocation({ at: 0, reason: 'bench' }));
  return { before, after: await passed() };
}

const WRITE_KEY: ReachComponent = {
  name: 'the command writes revoked/<id> before it returns',
  typicalS: 0,
  worstS: 0,
  basis: 'measured',
  detail: 'the PutKey is done when the command returns: the chain starts there',
};

export function revocationChains(
  gateStale: number,
  entryStale: number,
): Record<'ownUrl' | 'canary' | 'stable', ReachComponent[]> {
  const gate = nextLoad(
    "every load of the build's own URL gets 410",
    gateStale,
    'loads of the build URL passed after the store said revoked (the function runs before any cache)',
  );
  const entry = nextLoad(
    'every load of /assets/index.js gets another build',
    entryStale,
    "of the next loads of the build's viewers were still assigned it (measured as rollback reach measures it)",
  );
  return {
    ownUrl: [WRITE_KEY, STORE_PROPAGATION, gate],
    canary: [
      {
        name: 'the invoked rollout sync starts',
        typicalS: 1,
        worstS: 5,
        basis: 'assumed',
        detail:
          'the command stops the deployment and invokes rollout sync asynchronously before it returns; a warm ' +
          'start is well under a second, a cold one a few seconds (assumed)',
      },
      { ...SYNC_WRITES, name: 'rollout sync holds the revoked canary and writes weight 0' },
      STORE_PROPAGATION,
      entry,
    ],
    stable: [
      {
        name: 'CodeDeploy shifts the alias to --to, all at once',
        typicalS: 15,
        worstS: 60,
        basis: 'assumed',
        detail:
          'CodeDeployDefault.LambdaAllAtOnce shifts all traffic in one step; AWS publishes no figure for how ' +
          'soon after CreateDeployment it does: typical 15 s and worst 60 s are assumed',
      },
      syncOnEvent("the deployment's state change"),
      SYNC_WRITES,
      STORE_PROPAGATION,
      entry,
    ],
  };
}

export const revocationReach: BenchSection = {
  id: 'revocation-reach',
  title: 'Revocation reach: rollout revoke to no new load anywhere getting the revoked entry',
  async run(context: BenchContext): Promise<SectionResult> {
    const { manifest, buildDir } = context;
    const code = readFileSync(path.join(buildDir, manifest.cloudFrontFunctions['viewer-assignment'].file), 'utf8');
    const loads = context.quick ? 200 : 2000;
    const measured = await measureGate(code, manifest.buildId, loads);
    if (measured.before !== loads)
      throw new Error(`revocation reach: only ${measured.before} of ${loads} loads passed before the revocation`);
    const entryStale = await measureNextLoad(code, manifest.buildId, context.quick ? 200 : 2000);
    const chains = revocationChains(measured.after, entryStale);
    const totals = Object.fromEntries(Object.entries(chains).map(([name, chain]) => [name, totalReach(chain)]));
    const label = {
      ownUrl: "the build's own URL",
      canary: 'a canary, on /assets/index.js',
      stable: 'the stable build, on /assets/index.js (with --to)',
    };
    const figures: Figure[] = [
      ...Object.entries(totals).map(([name, total]) => ({
        name: `${label[name as keyof typeof label]}, worst case`,
        value: round(total.worstS, 1),
        unit: 's' as const,
        target: TARGET_S,
      })),
      {
        name: 'loads of a revoked build URL let through after the change',
        value: measured.after,
        unit: 'count',
        target: 0,
      },
    ];
    return {
      figures,
      notes: Object.entries(chains).flatMap(([name, chain]) => [
        `${label[name as keyof typeof label]}: typical ${totals[name]!.typicalS} s, ` +
          `worst ${totals[name]!.worstS} s; the chain, typical / worst:`,
        ...chain.map((c) => `  - ${c.name}: ${c.typicalS} / ${c.worstS} s (${c.basis}: ${c.detail}).`),
      ]),
      data: { chains, totals, measured },
    };
  },
};

/**
 * Weight accuracy and stickiness: 100,000 simulated viewers whose entry load the published
 * viewer-assignment function assigns during a rollout, at several weights. Accuracy: the canary's
 * observed share against the weight. Stickiness: a viewer keeps the canary as the weight grows,
 * gets the same build from another edge (another instance of the function), keeps it when its
 * IPv6 privacy address rotates; a new deployment (new salt) draws a fresh cohort.
 *
 * And what the ring and the previews cost a load: the function's time per load with the
 * one-origin ring the edge-routers section measures it with and no previews; with a full ring (as
 * many origins as the store's value quota lets `rollout ring add` take) for viewers on none of
 * them, who are compared with every origin; and with full previews (as many as `rollout preview`
 * takes, each a prefix the function parses slowest) for viewers inside none of them, each compared
 * with every prefix to its last group. The full states are those verify-edge sends CloudFront's
 * TestFunction.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { previewBuild } from '../../contracts/assignment';
import { formatRolloutState, type RolloutState } from '../../contracts/rollout-state';
import { ENTRY_PATH } from '../../contracts/distribution-paths';
import {
  loadCloudFrontFunction,
  type CloudFrontFunctionHandler,
  type CloudFrontFunctionViewerEvent,
} from '../../edge-code/cloudfront-function';
import { FULL_PREVIEWS_VIEWER, FULL_RING_VIEWER, fullPreviewsState, fullRingState } from '../../scripts/lib/edge-check';
import { assignedBuild, randomViewerIp, rotateInterfaceId, seededRandom, viewerRequestEvent } from '../events';
import { distribution, round, timeCalls, type Distribution } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { OTHER_BUILD } from './edge-routers';

/** Basis points, growing as a rollout does. */
const WEIGHTS = [100, 500, 1000, 2500, 5000, 9000] as const;
const SALT = 'd-BENCHSTICKY';
const NEW_SALT = 'd-BENCHNEXT';
const STICKY_WEIGHT = 5000;
/** Warm calls per load time, as the edge-routers section times the function. */
const TIMING = {
  full: { rounds: 5, callsPerRound: 100_000, warmupCalls: 50_000 },
  quick: { rounds: 1, callsPerRound: 2_000, warmupCalls: 1_000 },
} as const;
/**
 * Warm calls for the full previews, a fifth as many: each load takes several times a full ring's,
 * and 100,000 samples still place the p99.
 */
const PREVIEWS_TIMING = {
  full: { rounds: 5, callsPerRound: 20_000, warmupCalls: 10_000 },
  quick: TIMING.quick,
} as const;
/** The edge-routers section's targets for the function's time per load: median, p99 (µs). */
const LOAD_TARGETS_US = [50, 200] as const;
/** Viewer addresses the load times cycle over. */
const TIMED_VIEWERS = 4096;

/** Time per call of `call` after warming it up: all samples' distribution, ns. */
async function warmDistribution(
  call: (i: number) => unknown,
  reps: { readonly rounds: number; readonly callsPerRound: number; readonly warmupCalls: number },
): Promise<Distribution> {
  await timeCalls(call, reps.warmupCalls);
  const all = new Float64Array(reps.rounds * reps.callsPerRound);
  for (let index = 0; index < reps.rounds; index += 1)
    all.set(await timeCalls(call, reps.callsPerRound), index * reps.callsPerRound);
  return distribution(all);
}

/** The function changes the request it is given (the URI): every call gets its own, as CloudFront gives it. */
function freshEvent(event: CloudFrontFunctionViewerEvent): CloudFrontFunctionViewerEvent {
  return { ...event, request: { ...event.request, uri: ENTRY_PATH } };
}

export const assignment: BenchSection = {
  id: 'assignment',
  title: 'Weight accuracy and stickiness',
  async run(context: BenchContext): Promise<SectionResult> {
    const viewers = context.quick ? 5_000 : 100_000;
    const own = context.manifest.buildId;
    const code = readFileSync(
      path.join(context.buildDir, context.manifest.cloudFrontFunctions['viewer-assignment'].file),
      'utf8',
    );
    const random = seededRandom(42);
    const ips = Array.from({ length: viewers }, () => randomViewerIp(random));
    /** A fresh instance of the function (another edge location) reading `state` (its value formatted once). */
    const edge = (state: RolloutState): CloudFrontFunctionHandler => {
      const value = formatRolloutState(state);
      return loadCloudFrontFunction(code, { get: async () => value });
    };
    const rollout = (weight: number, salt = SALT): RolloutState => ({
      stable: OTHER_BUILD,
      canary: own,
      weight,
      salt,
      ring: [],
    });
    /** For each address: on the canary? */
    const canaryOf = async (handler: CloudFrontFunctionHandler, addresses: readonly string[]): Promise<Uint8Array> => {
      const onCanary = new Uint8Array(addresses.length);
      for (const [i, address] of addresses.entries()) {
        const buildId = assignedBuild(await handler(viewerRequestEvent(address)));
        if (buildId === own) onCanary[i] = 1;
        else if (buildId !== OTHER_BUILD)
          throw new Error(`assignment: viewer ${address} got neither build (${buildId})`);
      }
      return onCanary;
    };
    const count = (flags: Uint8Array) => flags.reduce((sum, flag) => sum + flag, 0);
    {
      const shares: { weight: number; share: number; deviation: number; threeSigma: number }[] = [];
      const cohorts: Uint8Array[] = [];
      for (const weight of WEIGHTS) {
        context.log(`assignment: ${viewers.toLocaleString('en')} viewers at w = ${weight / 100} %`);
        const onCanary = await canaryOf(edge(rollout(weight)), ips);
        cohorts.push(onCanary);
        const share = count(onCanary) / viewers;
        const w = weight / 10000;
        shares.push({
          weight,
          share,
          deviation: Math.abs(share - w),
          threeSigma: 3 * Math.sqrt((w * (1 - w)) / viewers),
        });
      }

      // Monotone: every viewer on the canary at one weight is still there at the next.
      let kept = 0;
      let onEarlier = 0;
      for (let step = 1; step < cohorts.length; step += 1) {
        // Each cohort holds one flag per viewer.
        const earlier = cohorts[step - 1]!;
        const later = cohorts[step]!;
        for (let i = 0; i < viewers; i += 1) {
          if (earlier[i]) {
            onEarlier += 1;
            kept += later[i]!;
          }
        }
      }

      context.log(
        'assignment: the same viewers from another edge, after an IPv6 address rotation, and under a new deployment',
      );
      const sticky = cohorts[WEIGHTS.indexOf(STICKY_WEIGHT)];
      if (sticky === undefined) throw new Error(`assignment: STICKY_WEIGHT (${STICKY_WEIGHT}) is not among WEIGHTS`);
      // Every cohort below is of the same viewers (or some of them, by index), in the same order.
      const otherEdge = await canaryOf(edge(rollout(STICKY_WEIGHT)), ips);
      const sameOnOtherEdge = otherEdge.reduce((same, flag, i) => same + (flag === sticky[i] ? 1 : 0), 0);

      const v6 = ips.map((ip, i) => [ip, i] as const).filter(([ip]) => ip.includes(':'));
      const rotated = await canaryOf(
        edge(rollout(STICKY_WEIGHT)),
        v6.map(([ip]) => rotateInterfaceId(ip, random)),
      );
      const sameAfterRotation = rotated.reduce((same, flag, j) => same + (flag === sticky[v6[j]![1]] ? 1 : 0), 0);

      const nextDeployment = await canaryOf(edge(rollout(STICKY_WEIGHT, NEW_SALT)), ips);
      const oldCohort = count(sticky);
      const drawnAgain = nextDeployment.reduce((both, flag, i) => both + (flag & sticky[i]!), 0);

      context.log(
        'assignment: the time per load with a one-origin ring, with a full ring (viewers on none of its ' +
          'origins), with full previews (viewers inside none of them)',
      );
      const reps = context.quick ? TIMING.quick : TIMING.full;
      const previewsReps = context.quick ? PREVIEWS_TIMING.quick : PREVIEWS_TIMING.full;
      const timedIps = ips.slice(0, TIMED_VIEWERS);
      const oneOrigin = edge({ ...rollout(2500), ring: ['https://demo.example.com'] });
      const oneOriginEvents = timedIps.map((ip, i) =>
        viewerRequestEvent(ip, {
          referer: i % 8 === 0 ? 'https://demo.example.com/page' : 'https://shop.example.com/',
        }),
      );
      const full = fullRingState();
      const fullRing = edge({ ...full, stable: OTHER_BUILD, canary: own });
      const noneEvents = timedIps.map((ip) => viewerRequestEvent(ip, { referer: FULL_RING_VIEWER.referer }));
      const oneOriginNs = await warmDistribution(
        (i) => oneOrigin(freshEvent(oneOriginEvents[i % oneOriginEvents.length]!)),
        reps,
      );
      const fullRingNs = await warmDistribution((i) => fullRing(freshEvent(noneEvents[i % noneEvents.length]!)), reps);
      const previews = fullPreviewsState();
      const previewCount = previews.previews?.length ?? 0;
      const fullPreviews = edge({ ...previews, stable: OTHER_BUILD, canary: own });
      // FULL_PREVIEWS_VIEWER's neighbours: alike to every prefix up to its last group, inside none.
      const sharedGroups = FULL_PREVIEWS_VIEWER.ip.slice(0, FULL_PREVIEWS_VIEWER.ip.lastIndexOf(':') + 1);
      const outsideEvents = timedIps.map((_, i) =>
        viewerRequestEvent(`${sharedGroups}${(0x1000 + i).toString(16)}`, { referer: FULL_PREVIEWS_VIEWER.referer }),
      );
      const now = Date.now();
      for (const event of outsideEvents)
        if (previewBuild(previews, event.viewer.ip, now) !== null)
          throw new Error(`assignment: ${event.viewer.ip} is inside a full preview; the timed viewers must not be`);
      const fullPreviewsNs = await warmDistribution(
        (i) => fullPreviews(freshEvent(outsideEvents[i % outsideEvents.length]!)),
        previewsReps,
      );
      const us = (ns: number) => round(ns / 1000, 3);
      const oneOriginName = 'viewer assignment per load, one-origin ring, no previews';
      const fullRingName = `viewer assignment per load, full ring (${full.ring.length} origins), viewer on none`;
      const fullPreviewsName = `viewer assignment per load, full previews (${previewCount} IPv6 /128s), viewer in none`;

      const pct = (fraction: number, digits = 3) => round(fraction * 100, digits);
      const largest = shares.reduce((worst, entry) => (entry.deviation > worst.deviation ? entry : worst));
      const figures: Figure[] = [
        ...shares.map(
          (entry): Figure => ({
            name: `canary share at w = ${entry.weight / 100} %`,
            value: pct(entry.share),
            unit: '%',
          }),
        ),
        {
          name: 'largest deviation from w (percentage points)',
          value: pct(largest.deviation),
          unit: '%',
          // Sampling noise alone: three standard deviations of a binomial share at that weight.
          target: pct(largest.threeSigma),
        },
        { name: 'canary viewers still on the canary at the next weight', value: pct(kept / onEarlier, 4), unit: '%' },
        { name: 'viewers given the same build by another edge', value: pct(sameOnOtherEdge / viewers, 4), unit: '%' },
        {
          name: 'IPv6 viewers keeping their build after a privacy-address rotation',
          value: pct(sameAfterRotation / v6.length, 4),
          unit: '%',
        },
        {
          name: `new deployment at ${STICKY_WEIGHT / 100} %: share of the previous cohort drawn again`,
          value: pct(drawnAgain / oldCohort),
          unit: '%',
        },
        ...(['median', 'p99'] as const).flatMap((statistic, index): Figure[] =>
          (
            [
              [oneOriginName, oneOriginNs],
              [fullRingName, fullRingNs],
              [fullPreviewsName, fullPreviewsNs],
            ] as const
          ).map(([name, ns]) => ({
            name: `${name}: ${statistic}`,
            value: us(ns[statistic]),
            unit: 'µs',
            target: LOAD_TARGETS_US[index],
          })),
        ),
      ];
      return {
        figures,
        notes: [
          `${viewers.toLocaleString('en')} seeded random viewers (3 in 4 IPv4, 1 in 4 IPv6), each load through ` +
            `the published viewer-assignment function (cloudfront-js-2.0 harness), one fresh instance per weight, ` +
            `all reading the rollout state of one deployment as its weight grows.`,
          `  Target of the deviation: 3 binomial standard deviations at that weight (w = ${largest.weight / 100} %).`,
          `  Stickiness over ${onEarlier.toLocaleString('en')} canary assignments across ${WEIGHTS.length - 1} ` +
            `weight steps; another edge: a second instance of the same code; rotation: ` +
            `${v6.length.toLocaleString('en')} IPv6 viewers, same /64, new interface id.`,
          `  A new deployment (new salt) should draw an independent cohort: about w of the previous one ` +
            `(${STICKY_WEIGHT / 100} %), not all of it.`,
          'The previous design assigned by the same rule in its entry router: the same figures. Reference: its ' +
            'rollout shifts a Lambda alias CloudFront never calls, so no viewer reaches the canary at any weight; ' +
            'there is nothing to compare.',
          `Time per load: the published function in the cloudfront-js-2.0 harness during a rollout at 25 %, ` +
            `${reps.rounds} x ${reps.callsPerRound.toLocaleString('en')} single awaited calls after ` +
            `${reps.warmupCalls.toLocaleString('en')} warm-up calls, over ${timedIps.length.toLocaleString('en')} ` +
            `viewers (timer and await overhead included, as in the edge functions' table).`,
          `  One-origin ring: the ring the edge functions' table measures the function with, no previews, 1 ` +
            `viewer in 8 on the ring host. Full ring: ${full.ring.length} origins, ` +
            `${formatRolloutState(full).length} bytes of ` +
            `state, as many as \`rollout ring add\` takes before the store's 1 KB value quota refuses one (the ` +
            `state verify-edge sends CloudFront's TestFunction), every viewer on ` +
            `${new URL(FULL_RING_VIEWER.referer).origin}, in none of them, so compared with every origin. ` +
            `verify-edge holds CloudFront's own figure for that load (ComputeUtilization) to ` +
            `edge.maxComputeUtilization.`,
          `  Full previews: ${previewCount} previews, ${formatRolloutState(previews).length} bytes of state, as ` +
            `many as \`rollout preview\` takes before the budget they share with the ring refuses one, each an ` +
            `IPv6 /128 written in all eight groups (the slowest prefix to parse per load, more so than the more ` +
            `numerous shortest /48s), all in force, no ring (the state verify-edge sends CloudFront's ` +
            `TestFunction); ${previewsReps.rounds} x ${previewsReps.callsPerRound.toLocaleString('en')} calls ` +
            `after ${previewsReps.warmupCalls.toLocaleString('en')}, every viewer ${sharedGroups}<x>, alike to ` +
            `each prefix up to its last group and ` +
            `inside none, so compared with every one. The function parses each prefix when it checks the state ` +
            `and again when it matches the viewer. verify-edge holds that load to edge.maxComputeUtilization too.`,
        ],
        data: {
          viewers,
          shares,
          kept,
          onEarlier,
          sameOnOtherEdge,
          ipv6Viewers: v6.length,
          sameAfterRotation,
          oldCohort,
          drawnAgain,
          loadNs: { oneOriginRing: oneOriginNs, fullRing: fullRingNs, fullPreviews: fullPreviewsNs },
          fullRingOrigins: full.ring.length,
          fullPreviews: previewCount,
        },
      };
    }
  },
};

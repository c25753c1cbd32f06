/**
 * Cost per million entry loads, for this design, the previous one and the reference, from this
 * run's measurements (edge-routers: durations; origin-requests: invocations, S3 GETs, Route53
 * queries per load; this section's own entry loads through the local CloudFront: the function's
 * runs and KeyValueStore reads per load, with no previews and with full previews) and AWS's
 * prices (prices.ts, each with its source).
 * Only what differs between the designs per load or could: CloudFront's own request and transfer
 * charges are the same for all three and left out. The release signal is not a per-load cost here:
 * its cost a month, at several volumes, is the release-signal section's.
 */
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import type { RolloutState } from '../../contracts/rollout-state';
import { FULL_PREVIEWS_VIEWER, fullPreviewsState } from '../../scripts/lib/edge-check';
import { countEntryLoads, type EntryLoadCounts, type EntryViewer } from '../entry-loads';
import { randomViewerIp, seededRandom } from '../events';
import { FLEET, MB_PER_VCPU, PRICES, PRICES_READ, priceOf, TRAFFIC } from '../prices';
import { median, round } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { OTHER_BUILD, type EdgeRoutersData } from './edge-routers';
import type { OriginRequestsData, Scenario, TrafficLevel } from './origin-requests';
import { VERIFY_INTERVAL_MS } from '../../rollout-control/rollout-sync';

const LOADS = 1_000_000;
/** Entry loads per state through the local CloudFront, counting the function's runs and store reads. */
const ENTRY_LOADS = { full: 2_000, quick: 200 } as const;
/** One viewer in this many is inside a preview's prefix (when the state has previews). */
const PREVIEWED_ONE_IN = 16;

/**
 * The states the entry loads are counted in: a rollout at 10 % (origin-requests' rollout10), with no previews
 * and with full previews.
 */
export function previewStates(own: string): { readonly none: RolloutState; readonly previews: RolloutState } {
  const none: RolloutState = { stable: OTHER_BUILD, canary: own, weight: 1000, salt: 'd-BENCH10', ring: [] };
  // verify-edge's full previews (the most the shared budget takes, the slowest to parse), showing the canary.
  const previews = (fullPreviewsState().previews ?? []).map((preview) => ({ ...preview, build: own }));
  return { none, previews: { ...none, previews } };
}

/**
 * Seeded random viewers, one in PREVIEWED_ONE_IN at an address inside one of the full previews'
 * prefixes (the same addresses in both states: without previews they are viewers like any other).
 */
export function entryLoadViewers(count: number, state: RolloutState): EntryViewer[] {
  const random = seededRandom(11);
  const prefixes = (state.previews ?? []).map((preview) => preview.viewer.slice(0, preview.viewer.indexOf('/')));
  return Array.from({ length: count }, (_, i): EntryViewer => {
    const ip =
      i % PREVIEWED_ONE_IN === 0 && prefixes.length > 0
        ? prefixes[(i / PREVIEWED_ONE_IN) % prefixes.length]!
        : randomViewerIp(random);
    return { ip, referer: FULL_PREVIEWS_VIEWER.referer };
  });
}

/** Per-load inputs of one design in one situation. */
export interface CostInputs {
  /** Lambda@Edge invocations per load (1 when it runs on every load; the miss rate otherwise). */
  readonly lambdaPerLoad: number;
  /** Lambda@Edge duration billed for a warm invocation, ms (whole ms, at least 1). */
  readonly warmBilledMs: number;
  /** Billed for a cold one: init and the first request, ms. */
  readonly coldBilledMs: number;
  /** Share of invocations that start a container. */
  readonly coldFraction: number;
  readonly memoryMb: number;
  readonly s3GetsPerLoad: number;
  readonly standardQueriesPerLoad: number;
  readonly latencyQueriesPerLoad: number;
  /** CloudFront Functions invocations per load. */
  readonly cloudFrontFunctionsPerLoad: number;
  /** KeyValueStore reads by the function per load. */
  readonly kvsReadsPerLoad: number;
  /** KeyValueStore API calls per load (the entry router's fallback). */
  readonly kvsApiCallsPerLoad: number;
}

export interface CostBreakdown {
  readonly edgeRequests: number;
  readonly edgeDuration: number;
  readonly s3: number;
  readonly route53: number;
  readonly cloudFrontFunctions: number;
  readonly keyValueStore: number;
  readonly total: number;
}

/** USD per million entry loads. */
export function costPerMillion(inputs: CostInputs): CostBreakdown {
  const gb = inputs.memoryMb / 1024;
  const billedMs = (1 - inputs.coldFraction) * inputs.warmBilledMs + inputs.coldFraction * inputs.coldBilledMs;
  const invocations = LOADS * inputs.lambdaPerLoad;
  const parts = {
    edgeRequests: priceOf(PRICES.edgeRequest, invocations),
    edgeDuration: priceOf(PRICES.edgeGbSecond, (invocations * billedMs * gb) / 1000),
    s3: priceOf(PRICES.s3Get, LOADS * inputs.s3GetsPerLoad),
    route53:
      priceOf(PRICES.route53Standard, LOADS * inputs.standardQueriesPerLoad) +
      priceOf(PRICES.route53Latency, LOADS * inputs.latencyQueriesPerLoad),
    cloudFrontFunctions: priceOf(PRICES.cloudFrontFunction, LOADS * inputs.cloudFrontFunctionsPerLoad),
    keyValueStore:
      priceOf(PRICES.kvsFunctionRead, LOADS * inputs.kvsReadsPerLoad) +
      priceOf(PRICES.kvsApiCall, LOADS * inputs.kvsApiCallsPerLoad),
  };
  return { ...parts, total: Object.values(parts).reduce((sum, usd) => sum + usd, 0) };
}

/** Lambda bills duration in whole milliseconds, rounded up, at least 1. */
export function billedMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

/** The most this design may cost per million loads in any state (the figure it is built to). */
export const COST_TARGET_USD = 0.15;

const usd = (value: number) => Number(value.toPrecision(4));
type Design = 'current' | 'previous' | 'reference';

export const cost: BenchSection = {
  id: 'cost',
  title: 'Cost per million entry loads (USD)',
  requires: ['edge-routers', 'origin-requests'],
  async run(context: BenchContext): Promise<SectionResult> {
    const edge = context.results['edge-routers']?.data as unknown as EdgeRoutersData | undefined;
    const origin = context.results['origin-requests']?.data as unknown as OriginRequestsData | undefined;
    if (!edge || !origin) throw new Error('cost: needs the edge-routers and origin-requests results of this run');
    const memoryMb = context.config.edge.memoryMb;
    const cpuScale = MB_PER_VCPU / memoryMb;
    const floorMs = median(edge.coldMs.empty);
    const warmMs = (key: keyof EdgeRoutersData['warmNs']) => (edge.warmNs[key].perCall.median / 1e6) * cpuScale;
    // Init: the bundle's own share of a cold require (Node's floor is the runtime's, not the
    // bundle's), scaled to the configured memory's CPU share, plus the first request.
    const coldMs = (bundle: 'entry' | 'previous' | 'reference') =>
      billedMs(Math.max(0, median(edge.coldMs[bundle]) - floorMs) * cpuScale + median(edge.firstRequestMs[bundle]));
    const coldFraction = (level: TrafficLevel) =>
      1 / (TRAFFIC[level].loadsPerSecond * TRAFFIC[level].containerLifetimeMinutes * 60);

    // What one load runs and reads at the edge, counted, with no previews and with full previews.
    const states = previewStates(context.manifest.buildId);
    const viewerCount = context.quick ? ENTRY_LOADS.quick : ENTRY_LOADS.full;
    context.log(
      `cost: ${viewerCount.toLocaleString('en')} entry loads through the local CloudFront, with no previews and ` +
        `with full previews (${states.previews.previews?.length ?? 0})`,
    );
    const entryLoads: Record<'none' | 'previews', EntryLoadCounts> = await countEntryLoads(
      {
        config: context.config,
        manifest: context.manifest,
        buildDir: context.buildDir,
        scratch: mkdtempSync(path.join(context.scratch, 'cost-')),
      },
      states,
      entryLoadViewers(viewerCount, states.previews),
    );

    const previousWarm: Record<Scenario, keyof EdgeRoutersData['warmNs']> = {
      steady: 'previousOwn',
      rollout10: 'previousRollout',
      rollout50: 'previousRollout',
      afterRollback: 'previousOther',
    };
    const inputs = (scenario: Scenario, level: TrafficLevel, design: Design): CostInputs => {
      const dns =
        design === 'current'
          ? { rollout: 0, bucket: 0 }
          : origin.dnsPerLoad[level][scenario === 'steady' ? 'steady' : 'rollout'][design];
      if (design === 'current') {
        const fleet = origin.fleet[scenario];
        return {
          lambdaPerLoad: fleet.lambdaInvocations,
          // A miss is a cold container more often than not: bill every miss as cold.
          warmBilledMs: coldMs('entry'),
          coldBilledMs: coldMs('entry'),
          coldFraction: 1,
          memoryMb,
          s3GetsPerLoad: fleet.s3Gets,
          standardQueriesPerLoad: 0,
          latencyQueriesPerLoad: 0,
          // Counted (with no previews): what the distribution runs per entry load, and what it reads.
          cloudFrontFunctionsPerLoad: entryLoads.none.functionRuns,
          kvsReadsPerLoad: entryLoads.none.storeReads,
          kvsApiCallsPerLoad: 0,
        };
      }
      return {
        lambdaPerLoad: 1,
        warmBilledMs: billedMs(warmMs(design === 'previous' ? previousWarm[scenario] : 'reference')),
        coldBilledMs: coldMs(design),
        coldFraction: coldFraction(level),
        memoryMb,
        s3GetsPerLoad: design === 'previous' ? origin.previous[scenario].s3Gets : origin.reference[scenario].s3Gets,
        standardQueriesPerLoad: dns.rollout,
        latencyQueriesPerLoad: dns.bucket,
        // The previous design's viewer-key function ran on every load; the reference had none.
        cloudFrontFunctionsPerLoad: design === 'previous' ? 1 : 0,
        kvsReadsPerLoad: 0,
        kvsApiCallsPerLoad: 0,
      };
    };
    const all = (scenario: Scenario, level: TrafficLevel) => ({
      current: costPerMillion(inputs(scenario, level, 'current')),
      previous: costPerMillion(inputs(scenario, level, 'previous')),
      reference: costPerMillion(inputs(scenario, level, 'reference')),
    });
    // The fallback: every load through the entry router, which reads the state once per cache time.
    const fallbackInputs = (level: TrafficLevel): CostInputs => ({
      ...inputs('steady', level, 'current'),
      lambdaPerLoad: 1,
      warmBilledMs: billedMs(warmMs('fallback')),
      coldFraction: coldFraction(level),
      kvsApiCallsPerLoad: origin.fallback[level].kvsApiCalls,
    });

    const totals: [string, Scenario, TrafficLevel][] = [
      ['total, steady state', 'steady', 'busy'],
      ['total, rollout at w = 10 %', 'rollout10', 'busy'],
      ['total, rollout at w = 50 %', 'rollout50', 'busy'],
      ['total, after a rollback', 'afterRollback', 'busy'],
      ['total, steady state, quiet edge', 'steady', 'quiet'],
    ];
    const steady = all('steady', 'busy');
    const parts: [string, keyof CostBreakdown][] = [
      ['Lambda@Edge requests', 'edgeRequests'],
      ['Lambda@Edge duration (warm + init)', 'edgeDuration'],
      ['S3 GETs', 's3'],
      ['Route53 queries', 'route53'],
      ['CloudFront Functions', 'cloudFrontFunctions'],
      ['KeyValueStore reads', 'keyValueStore'],
    ];
    const fallbackBusy = costPerMillion(fallbackInputs('busy'));
    // Full previews during the rollout at 10 %: the same builds (they show the canary), so the same
    // misses; what the function runs and reads per load, counted with them in force.
    const previewsInputs: CostInputs = {
      ...inputs('rollout10', 'busy', 'current'),
      cloudFrontFunctionsPerLoad: entryLoads.previews.functionRuns,
      kvsReadsPerLoad: entryLoads.previews.storeReads,
    };
    const previewsBusy = costPerMillion(previewsInputs);
    // Each further build previews show is entry objects of its own: by the fleet model (an upper bound
    // for a build only previewers load), about this much more per million loads.
    const perObjectPerLoad = (FLEET.regionalEdgeCaches * FLEET.refetchesPerDay) / FLEET.loadsPerDay;
    const perFurtherBuild =
      costPerMillion({
        ...previewsInputs,
        lambdaPerLoad: previewsInputs.lambdaPerLoad + FLEET.encodings * perObjectPerLoad,
        s3GetsPerLoad: previewsInputs.s3GetsPerLoad + FLEET.encodings * perObjectPerLoad,
      }).total - previewsBusy.total;
    const previewCount = states.previews.previews?.length ?? 0;
    // Rollout sync outside a rollout: a store check (one DescribeKeyValueStore: the ETag has not
    // moved) every ten minutes per warm container, two containers assumed; a rollout adds a few
    // calls per weight step. Per month.
    const syncCallsPerMonth = 2 * ((30 * 24 * 3600_000) / VERIFY_INTERVAL_MS);
    const figures: Figure[] = [
      ...totals.map(([name, scenario, level]): Figure => {
        const result = all(scenario, level);
        return {
          name,
          value: usd(result.current.total),
          unit: 'USD',
          previous: usd(result.previous.total),
          reference: usd(result.reference.total),
          target: COST_TARGET_USD,
        };
      }),
      {
        name: 'total, rollout at w = 10 %, full previews',
        value: usd(previewsBusy.total),
        unit: 'USD',
        target: COST_TARGET_USD,
      },
      {
        name: 'KeyValueStore reads per entry load, no previews, counted',
        value: round(entryLoads.none.storeReads, 6),
        unit: 'count',
      },
      {
        name: 'KeyValueStore reads per entry load, full previews, counted',
        value: round(entryLoads.previews.storeReads, 6),
        unit: 'count',
      },
      {
        name: 'CloudFront Function runs per entry load, no previews, counted',
        value: round(entryLoads.none.functionRuns, 6),
        unit: 'count',
      },
      {
        name: 'CloudFront Function runs per entry load, full previews, counted',
        value: round(entryLoads.previews.functionRuns, 6),
        unit: 'count',
      },
      ...parts.map(
        ([name, key]): Figure => ({
          name: `steady: ${name}`,
          value: usd(steady.current[key]),
          unit: 'USD',
          previous: usd(steady.previous[key]),
          reference: usd(steady.reference[key]),
        }),
      ),
      { name: 'fallback (state unreadable at the edge), busy edge', value: usd(fallbackBusy.total), unit: 'USD' },
      { name: 'rollout sync: KeyValueStore API calls per month, steady', value: syncCallsPerMonth, unit: 'count' },
      {
        name: 'rollout sync: KeyValueStore API cost per month, steady',
        value: usd(priceOf(PRICES.kvsApiCall, syncCallsPerMonth)),
        unit: 'USD',
      },
    ];
    const current = inputs('steady', 'busy', 'current');
    const previousBusy = inputs('steady', 'busy', 'previous');
    const referenceBusy = inputs('steady', 'busy', 'reference');
    const price = (p: (typeof PRICES)[keyof typeof PRICES]) =>
      `$${p.usd} per ` +
      `${p.per === 1 ? '' : `${p.per.toLocaleString('en')} `}${p.per > 1 ? `${p.unit.replace(/y$/, 'ie')}s` : p.unit}`;
    return {
      figures,
      notes: [
        `Prices read ${PRICES_READ} (bench/prices.ts, each with its source and how it was checked): ` +
          `Lambda@Edge ${price(PRICES.edgeRequest)} and ${price(PRICES.edgeGbSecond)} (1 ms units, init ` +
          `included), S3 GET ${price(PRICES.s3Get)},`,
        `  Route53 ${price(PRICES.route53Standard)} (standard) and ${price(PRICES.route53Latency)} (latency), ` +
          `CloudFront Functions ${price(PRICES.cloudFrontFunction)}, KeyValueStore ` +
          `${price(PRICES.kvsFunctionRead)} by functions and ${price(PRICES.kvsApiCall)} through its API.`,
        '  CloudFront requests and transfer: the same for every design, left out. So is the release signal ' +
          '(real-time logs, Kinesis, its consumer): mostly a fixed monthly cost, priced in its own section.',
        `This design: per load ${round(current.cloudFrontFunctionsPerLoad, 6)} function invocation and ` +
          `${round(current.kvsReadsPerLoad, 6)} KeyValueStore read (counted, below); Lambda@Edge and S3 only on ` +
          `the entry behaviour's misses, ${round(current.lambdaPerLoad, 6)} invocations per load in steady state ` +
          `by the fleet model (origin-requests; prices.ts FLEET: ${FLEET.loadsPerDay.toLocaleString('en')} loads ` +
          `a day, ${FLEET.regionalEdgeCaches} regional edge caches, each object fetched again ` +
          `${FLEET.refetchesPerDay} times a day), each billed as a cold start (${current.coldBilledMs} ms).`,
        `  Counted: ${viewerCount.toLocaleString('en')} entry loads over HTTP through the local CloudFront (the ` +
          `distribution's rules; the published function and the bundled routers behind it), in a rollout at 10 % ` +
          `with no previews, then with full previews: ${previewCount} IPv6 /128s, as many as \`rollout preview\` ` +
          `takes (the state verify-edge sends CloudFront's TestFunction), showing the canary, all in force, 1 ` +
          `viewer in ${PREVIEWED_ONE_IN} inside one (${entryLoads.previews.previewed} loads previewed).`,
        `  Function runs: the emulator's count of viewer-assignment runs; store reads: every get the published ` +
          `code made through cf.kvs(), whatever the key. Previews live in the one rollout value; a previewed ` +
          `load alone reads once more, its build's revocation (a preview of a revoked build is none), so ` +
          `previews cost a read per previewed load only: $${usd(previewsBusy.total)} per million loads with ` +
          `full previews and 1 load in ${PREVIEWED_ONE_IN} previewed (far more than people checking a build) against ` +
          `$${usd(all('rollout10', 'busy').current.total)} without (the function's extra work is not billed: ` +
          `CloudFront Functions are priced per invocation). A preview of a build no viewer is otherwise on adds ` +
          `its entry objects: about $${usd(perFurtherBuild)} per million loads per such build by the fleet ` +
          `model, an upper bound (only previewers load it).`,
        `  Fallback (a deleted or refused state): every load runs the entry router, as in the previous design, ` +
          `and reads the state through the API once per ${context.config.edge.stateCacheSeconds} s per container: ` +
          `$${usd(fallbackBusy.total)} per million loads on a busy edge, until the state is repaired.`,
        `  Rollout sync calls the KeyValueStore API only when the state changes, and checks it with one call ` +
          `every ${VERIFY_INTERVAL_MS / 60_000} minutes per warm container (repairing a state deleted or broken ` +
          `by hand): about ${syncCallsPerMonth.toLocaleString('en')} calls a month when nothing changes (assumed ` +
          `two containers), $${usd(priceOf(PRICES.kvsApiCall, syncCallsPerMonth))} a month, whatever the traffic.`,
        `Previous design and reference: Lambda@Edge on every load, at ${memoryMb} MB; CPU time measured here ` +
          `scaled by ${MB_PER_VCPU} / ${memoryMb} = ${round(cpuScale, 2)} (one vCPU at ${MB_PER_VCPU} MB), ` +
          `rounded up to whole ms: warm ${previousBusy.warmBilledMs} ms,`,
        `  cold ${previousBusy.coldBilledMs} ms (reference ${referenceBusy.coldBilledMs} ms): the bundle's require ` +
          `beyond Node's floor, scaled, plus the first request's record lookup. ` +
          `Assumed traffic (prices.ts TRAFFIC): ${Object.values(TRAFFIC)
            .map((t) => `${t.label}, containers living ${t.containerLifetimeMinutes} min`)
            .join('; ')}.`,
        '  Their Route53 queries are those leaving the containers (origin-requests), an upper bound; the ' +
          'previous design added the viewer-key CloudFront Function on every load, the reference had none.',
      ],
      data: {
        prices: PRICES,
        pricesRead: PRICES_READ,
        traffic: TRAFFIC,
        fleet: FLEET,
        cpuScale,
        inputs: Object.fromEntries(
          totals.map(([name, scenario, level]) => [
            name,
            {
              current: inputs(scenario, level, 'current'),
              previous: inputs(scenario, level, 'previous'),
              reference: inputs(scenario, level, 'reference'),
            },
          ]),
        ),
        breakdown: Object.fromEntries(totals.map(([name, scenario, level]) => [name, all(scenario, level)])),
        fallback: { inputs: fallbackInputs('busy'), breakdown: fallbackBusy },
        entryLoads,
        previews: { count: previewCount, inputs: previewsInputs, breakdown: previewsBusy, perFurtherBuild },
      },
    };
  },
};

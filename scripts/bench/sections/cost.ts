/**
 * Cost per million entry loads, for this project and for the reference design, from this run's
 * measurements (edge-routers: durations; origin-requests: S3 GETs and Route53 queries per load)
 * and AWS's published prices (prices.ts). Only what differs between the two designs per load or
 * could: CloudFront's own request and transfer charges are the same for both and left out.
 */
import { PRICES, PRICES_READ, MB_PER_VCPU, TRAFFIC, priceOf } from '../prices';
import { median, round } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import type { EdgeRoutersData } from './edge-routers';
import type { OriginRequestsData, Scenario, TrafficLevel } from './origin-requests';

const LOADS = 1_000_000;

/** Per-load inputs of one design in one situation. */
export interface CostInputs {
  /** Lambda@Edge duration billed for a warm invocation, ms (whole ms, at least 1). */
  readonly warmBilledMs: number;
  /** Billed for a cold one: init and the first request, ms. */
  readonly coldBilledMs: number;
  readonly coldFraction: number;
  readonly memoryMb: number;
  readonly s3GetsPerLoad: number;
  readonly standardQueriesPerLoad: number;
  readonly latencyQueriesPerLoad: number;
  /** CloudFront Functions invocations per load (this project's viewer-key function). */
  readonly cloudFrontFunctionsPerLoad: number;
}

export interface CostBreakdown {
  readonly edgeRequests: number;
  readonly edgeDuration: number;
  readonly s3: number;
  readonly route53: number;
  readonly cloudFrontFunctions: number;
  readonly total: number;
}

/** USD per million entry loads. */
export function costPerMillion(inputs: CostInputs): CostBreakdown {
  const gb = inputs.memoryMb / 1024;
  const billedMs = (1 - inputs.coldFraction) * inputs.warmBilledMs + inputs.coldFraction * inputs.coldBilledMs;
  const parts = {
    edgeRequests: priceOf(PRICES.edgeRequest, LOADS),
    edgeDuration: priceOf(PRICES.edgeGbSecond, (LOADS * billedMs * gb) / 1000),
    s3: priceOf(PRICES.s3Get, LOADS * inputs.s3GetsPerLoad),
    route53: priceOf(PRICES.route53Standard, LOADS * inputs.standardQueriesPerLoad) + priceOf(PRICES.route53Latency, LOADS * inputs.latencyQueriesPerLoad),
    cloudFrontFunctions: priceOf(PRICES.cloudFrontFunction, LOADS * inputs.cloudFrontFunctionsPerLoad),
  };
  return { ...parts, total: Object.values(parts).reduce((sum, usd) => sum + usd, 0) };
}

/** Lambda bills duration in whole milliseconds, rounded up, at least 1. */
export function billedMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

const usd = (value: number) => Number(value.toPrecision(4));

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
    // bundle's), scaled to the configured memory's CPU share, plus the first request (which waits
    // for the record lookup).
    const coldMs = (bundle: 'entry' | 'reference') => billedMs(Math.max(0, median(edge.coldMs[bundle]) - floorMs) * cpuScale + median(edge.firstRequestMs[bundle]));

    const scenarioWarm: Record<Scenario, keyof EdgeRoutersData['warmNs']> = { steady: 'ownBuild', rollout10: 'rollout', rollout50: 'rollout', afterRollback: 'otherBuild' };
    const inputs = (scenario: Scenario, level: TrafficLevel, design: 'project' | 'reference'): CostInputs => {
      const traffic = TRAFFIC[level];
      const dns = origin.dnsPerLoad[level][scenario === 'steady' ? 'steady' : 'rollout'][design];
      return {
        warmBilledMs: billedMs(warmMs(design === 'project' ? scenarioWarm[scenario] : 'reference')),
        coldBilledMs: coldMs(design === 'project' ? 'entry' : 'reference'),
        coldFraction: 1 / (traffic.loadsPerSecond * traffic.containerLifetimeMinutes * 60),
        memoryMb,
        s3GetsPerLoad: origin.s3PerLoad[scenario][design],
        standardQueriesPerLoad: dns.rollout,
        latencyQueriesPerLoad: dns.bucket,
        cloudFrontFunctionsPerLoad: design === 'project' ? 1 : 0,
      };
    };
    const both = (scenario: Scenario, level: TrafficLevel) => ({ project: costPerMillion(inputs(scenario, level, 'project')), reference: costPerMillion(inputs(scenario, level, 'reference')) });

    const totals: [string, Scenario, TrafficLevel][] = [
      ['total, steady state, busy edge', 'steady', 'busy'],
      ['total, rollout at w = 10 %, busy edge', 'rollout10', 'busy'],
      ['total, rollout at w = 50 %, busy edge', 'rollout50', 'busy'],
      ['total, after a rollback, busy edge', 'afterRollback', 'busy'],
      ['total, steady state, quiet edge', 'steady', 'quiet'],
    ];
    const steady = both('steady', 'busy');
    const parts: [string, keyof CostBreakdown][] = [
      ['Lambda@Edge requests', 'edgeRequests'],
      ['Lambda@Edge duration (warm + init)', 'edgeDuration'],
      ['S3 GETs', 's3'],
      ['Route53 queries', 'route53'],
      ['CloudFront Functions (viewer key)', 'cloudFrontFunctions'],
    ];
    const figures: Figure[] = [
      ...totals.map(([name, scenario, level]): Figure => {
        const result = both(scenario, level);
        return { name, value: usd(result.project.total), unit: 'USD', reference: usd(result.reference.total) };
      }),
      ...parts.map(([name, key]): Figure => ({ name: `steady, busy: ${name}`, value: usd(steady.project[key]), unit: 'USD', reference: usd(steady.reference[key]) })),
    ];
    const busy = inputs('steady', 'busy', 'project');
    const referenceBusy = inputs('steady', 'busy', 'reference');
    const price = (p: (typeof PRICES)[keyof typeof PRICES]) => `$${p.usd} per ${p.per === 1 ? '' : `${p.per.toLocaleString('en')} `}${p.per > 1 ? p.unit.replace(/y$/, 'ie') + 's' : p.unit}`;
    return {
      figures,
      notes: [
        `Prices read ${PRICES_READ} (scripts/bench/prices.ts, each with its source): Lambda@Edge ${price(PRICES.edgeRequest)} and ${price(PRICES.edgeGbSecond)} (1 ms units, init included), S3 GET ${price(PRICES.s3Get)},`,
        `  Route53 ${price(PRICES.route53Standard)} (standard) and ${price(PRICES.route53Latency)} (latency), CloudFront Functions ${price(PRICES.cloudFrontFunction)}. CloudFront requests and transfer: the same for both designs, left out.`,
        `Lambda@Edge at ${memoryMb} MB: CPU time measured here is scaled by ${MB_PER_VCPU} / ${memoryMb} = ${round(cpuScale, 2)} (one vCPU at ${MB_PER_VCPU} MB), then rounded up to whole ms:`,
        `  warm ${busy.warmBilledMs} ms for both designs (the handlers take microseconds; the 1 ms minimum decides), cold ${busy.coldBilledMs} ms (reference ${referenceBusy.coldBilledMs} ms): the bundle's require beyond Node's floor, scaled, plus the first request's record lookup.`,
        `Assumed traffic (prices.ts TRAFFIC): ${Object.values(TRAFFIC).map((t) => `${t.label}, containers living ${t.containerLifetimeMinutes} min`).join('; ')};`,
        `  so cold starts are ${round(busy.coldFraction * 100, 3)} % of loads on a busy edge and ${round(inputs('steady', 'quiet', 'project').coldFraction * 100, 3)} % on a quiet one, and each container's periodic record lookups are spread over its loads.`,
        '  Route53 queries are those leaving the containers (origin-requests), an upper bound: the edge region\'s resolver answers repeats from its cache within the TTL.',
        '  Queries per load during a rollout were counted at w = 50 % and are used for 10 % and after a rollback too: at these rates some load goes to S3 within every _bucket cache interval either way.',
        'S3 GETs per load from origin-requests: the reference fetches every load from S3; this project only loads of a build other than the router\'s own (1 - w during a rollout, all of them after a rollback until the next release).',
        'This project adds a CloudFront Function on the entry behaviour (the client IP in the cache key), one invocation per load; the reference has none.',
      ],
      data: {
        prices: PRICES,
        pricesRead: PRICES_READ,
        traffic: TRAFFIC,
        cpuScale,
        inputs: Object.fromEntries(totals.map(([name, scenario, level]) => [name, { project: inputs(scenario, level, 'project'), reference: inputs(scenario, level, 'reference') }])),
        breakdown: Object.fromEntries(totals.map(([name, scenario, level]) => [name, both(scenario, level)])),
      },
    };
  },
};

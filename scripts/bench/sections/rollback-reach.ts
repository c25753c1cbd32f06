/**
 * Rollback reach: seconds from the rollback alarm to every edge serving the stable build, as a sum
 * of the chain's components (alarm → CodeDeploy rolls the alias back → rollout sync runs → Route53
 * serves the new record → resolvers' caches expire → every entry router refreshes).
 *
 * The edge end of the chain is measured: the shipped entry router, in many simulated containers
 * behind simulated caching resolvers (one loopback DNS server each), driven on a simulated clock
 * (edge-loader.ts) through a record change. The rest comes from the configuration (alarm periods,
 * record TTL, refresh interval, the rollout-sync schedule) and from AWS's documentation or stated
 * assumptions where AWS publishes no figure.
 *
 * `EdgeReachSimulation` is the seam for the local mode: its simulated clock and CodeDeploy can
 * replace `simulateEdgeReach` (and the assumed components) without changing the report.
 */
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { resourceNames, type DeployConfig } from '../../../config';
import { chooseBuild } from '../../../edge-function/entry-router/assignment';
import { formatRolloutRecord, type RolloutRecord } from '../../../edge-function/shared/rollout-record';
import { SYNC_SCHEDULE } from '../../../stacks/constructs/rollout-sync';
import { startDnsServer, type DnsServer } from '../../local/dns-server';
import { loadEdgeHandler, settle, SimulatedClock, verifyClock, type EdgeHandler } from '../edge-loader';
import { entryOutcome, exponential, originRequestEvent, randomViewerIp, seededRandom } from '../events';
import { median, plural, round } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { OTHER_BUILD } from './edge-routers';

export interface ReachComponent {
  readonly name: string;
  readonly typicalS: number;
  readonly worstS: number;
  /** Where the figures come from. */
  readonly basis: 'config' | 'measured' | 'documented' | 'assumed';
  readonly detail: string;
}

export interface EdgeReachOptions {
  readonly zip: string;
  /** The router's own build: the canary being rolled back. */
  readonly ownBuild: string;
  readonly stableBuild: string;
  readonly rolloutRecord: string;
  readonly bucketRecord: string;
  readonly bucketRegion: string;
  readonly originDomain: string;
  readonly ttlS: number;
  readonly refreshS: number;
  readonly resolvers: number;
  readonly containersPerResolver: number;
  /** Mean seconds between loads, assigned to containers in turn: busy and idle edges. */
  readonly meanIntervalsS: readonly number[];
  readonly trials: number;
  readonly seed: number;
  readonly tmpRoot: string;
  readonly log: (line: string) => void;
}

export interface EdgeReachMeasurement {
  /** Per trial, per container: seconds after the change of its last load answered with the old canary (0: none). */
  readonly trials: readonly { readonly perContainerS: readonly number[]; readonly maxS: number }[];
  readonly resolvers: number;
  readonly containers: number;
  /** Each container's mean seconds between loads, in perContainerS order. */
  readonly meanIntervalS: readonly number[];
  readonly loads: number;
  /** Lookups that left the containers, and those that reached "Route53" (a resolver's cache refill). */
  readonly edgeLookups: number;
  readonly authoritativeLookups: number;
}

export type EdgeReachSimulation = (options: EdgeReachOptions) => Promise<EdgeReachMeasurement>;

/** Simulated time step: loads within one step happen at its start. */
const STEP_MS = 100;

/**
 * Many containers of the shipped entry router, a few per simulated resolver, each with its own
 * Poisson traffic, on one simulated clock. The rollout record changes (at Route53) at t = 0 from a
 * canary at 50 % to the stable build alone; a resolver answers from its cache until the TTL
 * runs out, then asks again on the next query. Every load is made by a viewer the old record put
 * on the canary, so a load answered with the router's own build is a stale answer.
 */
export const simulateEdgeReach: EdgeReachSimulation = async (options) => {
  const random = seededRandom(options.seed);
  const bad: RolloutRecord = { stable: options.stableBuild, canary: options.ownBuild, weight: 5000, salt: 'd-BADRELEASE' };
  const oldText = formatRolloutRecord(bad);
  const newText = formatRolloutRecord({ stable: options.stableBuild, canary: null, weight: 0, salt: null });
  const authoritative = (ms: number) => (ms < 0 ? oldText : newText);
  const canaryViewers: string[] = [];
  while (canaryViewers.length < 256) {
    const ip = randomViewerIp(random);
    if (chooseBuild(bad, options.ownBuild, ip) === options.ownBuild) canaryViewers.push(ip);
  }
  const event = (i: number) => originRequestEvent({ clientIp: canaryViewers[i % canaryViewers.length], uri: '/assets/index.js', originDomain: options.originDomain }, `r${i}`);
  const ttlMs = options.ttlS * 1000;
  const refreshMs = options.refreshS * 1000;
  // Containers start within the first minute, then run long enough for their records and the
  // resolvers' caches to be at random phases when the record changes.
  const startMs = -(3 * refreshMs + ttlMs + 60_000);
  const endMs = ttlMs + 2 * refreshMs + 10_000;

  const servers: DnsServer[] = [];
  for (let r = 0; r < options.resolvers; r += 1) servers.push(await startDnsServer({ records: { [options.bucketRecord]: options.bucketRegion } }));
  const queries = (server: DnsServer) => server.queries(options.rolloutRecord).length;
  const anyQueries = () => servers.reduce((sum, server) => sum + server.queries().length, 0);
  try {
    // The simulation is only meaningful if the router ages its records on the simulated clock.
    const probe = new SimulatedClock(0);
    servers[0].setTxt(options.rolloutRecord, oldText);
    await verifyClock(loadEdgeHandler(options.zip, { dnsServer: servers[0].address, tmpRoot: options.tmpRoot, clock: probe }), event(0), probe, refreshMs, () => queries(servers[0]));

    const trials: { perContainerS: number[]; maxS: number }[] = [];
    let loads = 0;
    let edgeLookups = 0;
    let authoritativeLookups = 0;
    for (let trial = 0; trial < options.trials; trial += 1) {
      const clock = new SimulatedClock(startMs);
      const resolvers = servers.map((server) => ({ server, cached: oldText, expiresAt: -Infinity, refill: null as string | null, seen: 0 }));
      for (const resolver of resolvers) resolver.server.clearQueries();
      let lookupsSeen = 0;
      const containers: { handler: EdgeHandler; resolver: (typeof resolvers)[number]; meanMs: number; nextMs: number; lastStaleMs: number }[] = [];
      for (let r = 0; r < options.resolvers; r += 1) {
        for (let c = 0; c < options.containersPerResolver; c += 1) {
          containers.push({
            handler: loadEdgeHandler(options.zip, { dnsServer: servers[r].address, tmpRoot: options.tmpRoot, clock }),
            resolver: resolvers[r],
            meanMs: options.meanIntervalsS[containers.length % options.meanIntervalsS.length] * 1000,
            nextMs: startMs + random() * 60_000,
            lastStaleMs: 0,
          });
        }
      }
      for (let now = startMs; now <= endMs; now += STEP_MS) {
        clock.set(now);
        for (const resolver of resolvers) {
          // An expired cache answers the next query with what Route53 serves now, and keeps it.
          resolver.refill = now >= resolver.expiresAt ? authoritative(now) : null;
          resolver.server.setTxt(options.rolloutRecord, resolver.refill ?? resolver.cached);
        }
        for (const container of containers) {
          while (container.nextMs <= now) {
            const outcome = entryOutcome(await container.handler(event(loads)));
            loads += 1;
            if (outcome.kind === 'inlined' && outcome.buildId === options.ownBuild) {
              if (now >= 0) container.lastStaleMs = now;
            } else if (!(outcome.kind === 's3' && outcome.buildId === options.stableBuild)) {
              throw new Error(`rollback reach: unexpected answer ${JSON.stringify(outcome)}`);
            }
            container.nextMs += Math.max(1, exponential(random, container.meanMs));
          }
        }
        const asked = anyQueries();
        if (asked !== lookupsSeen) {
          lookupsSeen = asked;
          // Lookups started by this step's loads (either record) finish before simulated time moves on.
          await settle();
          for (const resolver of resolvers) {
            const asked = queries(resolver.server);
            if (asked !== resolver.seen) {
              edgeLookups += asked - resolver.seen;
              resolver.seen = asked;
              if (resolver.refill !== null) {
                resolver.cached = resolver.refill;
                resolver.expiresAt = now + ttlMs;
                authoritativeLookups += 1;
              }
            }
          }
        }
      }
      const perContainerS = containers.map((container) => container.lastStaleMs / 1000);
      trials.push({ perContainerS, maxS: Math.max(...perContainerS) });
      options.log(`rollback-reach: trial ${trial + 1}/${options.trials}: last stale answer ${Math.max(...perContainerS).toFixed(1)} s after the record changed`);
    }
    const meanIntervalS = Array.from({ length: options.resolvers * options.containersPerResolver }, (_, i) => options.meanIntervalsS[i % options.meanIntervalsS.length]);
    return { trials, meanIntervalS, resolvers: options.resolvers, containers: options.resolvers * options.containersPerResolver, loads, edgeLookups, authoritativeLookups };
  } finally {
    // Nothing may still be asking a server that goes away (it would log resolver failures).
    await settle(20);
    await Promise.all(servers.map((server) => server.close()));
  }
};

/** Seconds between runs of a `rate(N minute[s])` / `rate(N second[s])` schedule expression. */
export function rateSeconds(expression: string): number {
  const match = /^rate\((\d+) (second|minute|hour)s?\)$/.exec(expression);
  if (!match) throw new Error(`not a rate expression: ${expression}`);
  return Number(match[1]) * { second: 1, minute: 60, hour: 3600 }[match[2] as 'second' | 'minute' | 'hour'];
}

/**
 * The chain from the alarm to every edge serving the stable build, in order. `edge` is the
 * measured end of it.
 */
export function reachComponents(config: DeployConfig, edge: EdgeReachMeasurement): ReachComponent[] {
  const ttlS = config.dns.rolloutRecordTtl;
  const refreshS = config.edge.rolloutRefreshSeconds;
  const scheduleS = rateSeconds(SYNC_SCHEDULE);
  return [
    {
      name: 'CodeDeploy sees the alarm, stops the deployment and moves alias live back',
      typicalS: 30,
      worstS: 60,
      basis: 'assumed',
      detail: 'AWS documents no interval for CodeDeploy\'s alarm checks; assumed at most a minute, half of it typically',
    },
    {
      name: 'rollout sync runs',
      typicalS: 1,
      worstS: scheduleS,
      basis: 'config',
      detail: `at once on the deployment's state-change event (EventBridge, about a second: assumed); at worst the next run of its ${SYNC_SCHEDULE} schedule (stacks/constructs/rollout-sync.ts)`,
    },
    {
      name: 'rollout sync reads the alias and UPSERTs the record',
      typicalS: 1,
      worstS: 5,
      basis: 'assumed',
      detail: 'five to seven AWS API calls in us-east-1, a cold start at worst',
    },
    {
      name: 'Route53 serves the new record from every authoritative server',
      typicalS: 30,
      worstS: 60,
      basis: 'documented',
      detail: '"Changes generally propagate to all Route 53 name servers within 60 seconds" (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-editing.html); typical assumed half of it',
    },
    {
      name: 'resolver caches expire and every entry router refreshes',
      typicalS: round(median(edge.trials.map((trial) => trial.maxS)), 1),
      worstS: ttlS + 2 * refreshS,
      basis: 'measured',
      detail: `typical: simulated, the last stale answer of any of ${edge.containers} containers (median of ${plural(edge.trials.length, 'trial')}); worst: TTL ${ttlS} s + 2 x refresh ${refreshS} s, the bound for an edge idle between one and two refresh intervals (a busy edge: TTL + refresh, ${ttlS + refreshS} s)`,
    },
  ];
}

export function totalReach(components: readonly ReachComponent[]): { readonly typicalS: number; readonly worstS: number } {
  return {
    typicalS: round(components.reduce((sum, c) => sum + c.typicalS, 0), 1),
    worstS: round(components.reduce((sum, c) => sum + c.worstS, 0), 1),
  };
}

export const rollbackReach: BenchSection = {
  id: 'rollback-reach',
  title: 'Rollback reach: alarm to every edge serving the stable build',
  async run(context: BenchContext, simulate: EdgeReachSimulation = simulateEdgeReach): Promise<SectionResult> {
    const { config } = context;
    const names = resourceNames(config);
    const ttlS = config.dns.rolloutRecordTtl;
    const refreshS = config.edge.rolloutRefreshSeconds;
    const edge = await simulate({
      zip: path.join(context.buildDir, context.manifest.functions['entry-router'].zip),
      ownBuild: context.manifest.buildId,
      stableBuild: OTHER_BUILD,
      rolloutRecord: names.rolloutRecord,
      bucketRecord: names.bucketRecord,
      bucketRegion: config.primaryRegion,
      originDomain: names.bucketDomain(config.primaryRegion),
      ttlS,
      refreshS,
      // About one simulated resolver per CloudFront regional edge cache.
      resolvers: context.quick ? 3 : 13,
      containersPerResolver: context.quick ? 3 : 5,
      meanIntervalsS: [0.2, 1, 5, 20, 45],
      trials: context.quick ? 1 : 12,
      seed: 2026,
      tmpRoot: mkdtempSync(path.join(context.scratch, 'rollback-reach-')),
      log: context.log,
    });
    const components = reachComponents(config, edge);
    const total = totalReach(components);
    const alarms = config.alarms;
    const detection = { typicalS: alarms.datapointsToAlarm * alarms.periodSeconds, worstS: alarms.evaluationPeriods * alarms.periodSeconds };
    const edgeComponent = components[components.length - 1];
    const allContainers = edge.trials.flatMap((trial) => trial.perContainerS);
    const figures: Figure[] = [
      { name: 'alarm to every edge serving stable, typical', value: total.typicalS, unit: 's' },
      { name: 'alarm to every edge serving stable, worst case', value: total.worstS, unit: 's' },
      { name: 'first failing period to every edge serving stable, worst case', value: round(detection.worstS + total.worstS, 1), unit: 's' },
      { name: 'edge part, simulated: median edge', value: round(median(allContainers), 1), unit: 's' },
      { name: 'edge part, simulated: every edge (median of trials)', value: edgeComponent.typicalS, unit: 's' },
      { name: 'edge part, simulated: every edge (worst trial)', value: round(Math.max(...edge.trials.map((trial) => trial.maxS)), 1), unit: 's', target: edgeComponent.worstS },
      {
        name: 'edge part, simulated: busy edges (a load every second or less), worst trial',
        value: round(Math.max(...edge.trials.flatMap((trial) => trial.perContainerS.filter((_, i) => edge.meanIntervalS[i] <= 1))), 1),
        unit: 's',
        target: ttlS + refreshS,
      },
      { name: 'rollout record TTL', value: ttlS, unit: 's' },
      { name: 'entry router refresh interval', value: refreshS, unit: 's' },
    ];
    return {
      figures,
      notes: [
        `With _rollout TTL ${ttlS} s (config dns.rolloutRecordTtl) and refresh ${refreshS} s (config edge.rolloutRefreshSeconds): typical ${total.typicalS} s, worst ${total.worstS} s from the alarm. The chain, typical / worst:`,
        ...components.map((c) => `  - ${c.name}: ${c.typicalS} / ${c.worstS} s (${c.basis}: ${c.detail}).`),
        `Before it: the alarm needs ${alarms.datapointsToAlarm} of ${alarms.evaluationPeriods} periods of ${alarms.periodSeconds} s breaching (config alarms), ${detection.typicalS} s at least, ${detection.worstS} s for errors that come and go.`,
        `Simulation: ${edge.containers} containers of the shipped entry router behind ${edge.resolvers} caching resolvers (loopback DNS servers), Poisson loads with means of 0.2 to 45 s per container, ${edge.loads.toLocaleString('en')} loads in all, simulated clock in ${STEP_MS} ms steps;`,
        `  ${edge.edgeLookups.toLocaleString('en')} lookups left the containers, ${edge.authoritativeLookups.toLocaleString('en')} reached Route53. A lookup takes no simulated time and is never frozen with its container (Lambda may thaw it only at the next load, adding one load's gap).`,
        '  This section will move to the local mode\'s simulated clock and CodeDeploy (EdgeReachSimulation) once that is on this branch.',
      ],
      data: { components, total, detection, edge },
    };
  },
};

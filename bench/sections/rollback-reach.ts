/**
 * Rollback reach: seconds from the rollback alarm to every viewer's next load getting the stable
 * build, as a sum of the chain's components.
 *
 * This design: the alarm's state change runs rollout sync (EventBridge), which holds the canary
 * (weight 0) in the rollout store at once, without waiting for CodeDeploy; KeyValueStore carries
 * the write to every edge location; the viewer-assignment function reads it on the next load. The
 * last link is measured here (the published function, a store change, the next load); the others
 * come from AWS's documentation or stated assumptions, since AWS publishes no figure for them.
 *
 * The previous design, kept as the baseline: the same alarm reached viewers through CodeDeploy
 * (rolling the alias back), rollout sync, Route53 and the routers' DNS refresh; its edge end is
 * simulated as before, with its entry router in many containers behind caching resolvers on a
 * simulated clock (edge-loader.ts).
 */
import { ENTRY_PATH } from '../../contracts/distribution-paths';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resourceNames } from '../../config';
import { assignBuild } from '../../contracts/assignment';
import { formatRolloutState, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { SYNC_SCHEDULE } from '../../stacks/constructs/rollout-sync';
import { loadCloudFrontFunction } from '../../edge-code/cloudfront-function';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { formatRolloutRecord } from '../baselines/rollout-record';
import { PREVIOUS_DESIGN, previousRolloutRecord, writeBaselineZip } from '../baseline';
import { loadEdgeHandler, settle, SimulatedClock, verifyClock, type EdgeHandler } from '../edge-loader';
import {
  assignedBuild,
  entryOutcome,
  exponential,
  originRequestEvent,
  randomViewerIp,
  seededRandom,
  viewerRequestEvent,
} from '../events';
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
 * Many containers of the previous design's entry router, a few per simulated resolver, each with its own
 * Poisson traffic, on one simulated clock. The rollout record changes (at Route53) at t = 0 from a
 * canary at 50 % to the stable build alone; a resolver answers from its cache until the TTL
 * runs out, then asks again on the next query. Every load is made by a viewer the old record put
 * on the canary, so a load answered with the router's own build is a stale answer.
 */
export const simulateEdgeReach: EdgeReachSimulation = async (options) => {
  const random = seededRandom(options.seed);
  const bad: RolloutState = {
    stable: options.stableBuild,
    canary: options.ownBuild,
    weight: 5000,
    salt: 'd-BADRELEASE',
    ring: [],
  };
  const oldText = formatRolloutRecord(bad);
  const newText = formatRolloutRecord(steadyState(options.stableBuild));
  const authoritative = (ms: number) => (ms < 0 ? oldText : newText);
  const canaryViewers: string[] = [];
  while (canaryViewers.length < 256) {
    const ip = randomViewerIp(random);
    if (assignBuild(bad, ip, null, 0) === options.ownBuild) canaryViewers.push(ip);
  }
  const event = (i: number) =>
    originRequestEvent(
      { clientIp: canaryViewers[i % canaryViewers.length]!, uri: ENTRY_PATH, originDomain: options.originDomain },
      `r${i}`,
    );
  const ttlMs = options.ttlS * 1000;
  const refreshMs = options.refreshS * 1000;
  // Containers start within the first minute, then run long enough for their records and the
  // resolvers' caches to be at random phases when the record changes.
  const startMs = -(3 * refreshMs + ttlMs + 60_000);
  const endMs = ttlMs + 2 * refreshMs + 10_000;

  const servers: DnsServer[] = [];
  for (let r = 0; r < options.resolvers; r += 1)
    servers.push(await startDnsServer({ records: { [options.bucketRecord]: options.bucketRegion } }));
  const queries = (server: DnsServer) => server.queries(options.rolloutRecord).length;
  const anyQueries = () => servers.reduce((sum, server) => sum + server.queries().length, 0);
  try {
    // The simulation is only meaningful if the router ages its records on the simulated clock.
    const probe = new SimulatedClock(0);
    const [first] = servers;
    if (first === undefined) throw new Error('rollback-reach: no resolvers to probe the clock with');
    first.setTxt(options.rolloutRecord, oldText);
    await verifyClock(
      loadEdgeHandler(options.zip, { dnsServer: first.address, tmpRoot: options.tmpRoot, clock: probe }),
      event(0),
      probe,
      refreshMs,
      () => queries(first),
    );

    const trials: { perContainerS: number[]; maxS: number }[] = [];
    let loads = 0;
    let edgeLookups = 0;
    let authoritativeLookups = 0;
    for (let trial = 0; trial < options.trials; trial += 1) {
      const clock = new SimulatedClock(startMs);
      const resolvers = servers.map((server) => ({
        server,
        cached: oldText,
        expiresAt: -Infinity,
        refill: null as string | null,
        seen: 0,
      }));
      for (const resolver of resolvers) resolver.server.clearQueries();
      let lookupsSeen = 0;
      const containers: {
        handler: EdgeHandler;
        resolver: (typeof resolvers)[number];
        meanMs: number;
        nextMs: number;
        lastStaleMs: number;
      }[] = [];
      for (const resolver of resolvers) {
        for (let c = 0; c < options.containersPerResolver; c += 1) {
          containers.push({
            handler: loadEdgeHandler(options.zip, {
              dnsServer: resolver.server.address,
              tmpRoot: options.tmpRoot,
              clock,
            }),
            resolver,
            meanMs: options.meanIntervalsS[containers.length % options.meanIntervalsS.length]! * 1000,
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
            if (outcome.kind === 'generated' && outcome.buildId === options.ownBuild) {
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
      options.log(
        `rollback-reach: trial ${trial + 1}/${options.trials}: last stale answer ` +
          `${Math.max(...perContainerS).toFixed(1)} s after the record changed`,
      );
    }
    const meanIntervalS = Array.from(
      { length: options.resolvers * options.containersPerResolver },
      (_, i) => options.meanIntervalsS[i % options.meanIntervalsS.length]!,
    );
    return {
      trials,
      meanIntervalS,
      resolvers: options.resolvers,
      containers: options.resolvers * options.containersPerResolver,
      loads,
      edgeLookups,
      authoritativeLookups,
    };
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
 * The previous design's chain from the alarm to every edge serving the stable build, in order.
 * `edge` is its measured end.
 */
export function previousReachComponents(edge: EdgeReachMeasurement): ReachComponent[] {
  const ttlS = PREVIOUS_DESIGN.rolloutRecordTtlS;
  const refreshS = PREVIOUS_DESIGN.rolloutRefreshS;
  const scheduleS = rateSeconds(SYNC_SCHEDULE);
  return [
    {
      name: 'CodeDeploy sees the alarm, stops the deployment and moves alias live back',
      typicalS: 30,
      worstS: 60,
      basis: 'assumed',
      detail: CODEDEPLOY_DETAIL,
    },
    {
      name: 'rollout sync runs',
      typicalS: 1,
      worstS: scheduleS,
      basis: 'config',
      detail:
        `at once on the deployment's state-change event (EventBridge, about a second: assumed); at worst the ` +
        `next run of its ${SYNC_SCHEDULE} schedule`,
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
      detail:
        '"Changes generally propagate to all Route 53 name servers within 60 seconds" ' +
        '(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-editing.html); typical ' +
        'assumed half of it',
    },
    {
      name: 'resolver caches expire and every entry router refreshes',
      typicalS: round(median(edge.trials.map((trial) => trial.maxS)), 1),
      worstS: ttlS + 2 * refreshS,
      basis: 'measured',
      detail:
        `typical: simulated, the last stale answer of any of ${edge.containers} containers (median of ` +
        `${plural(edge.trials.length, 'trial')}); worst: TTL ${ttlS} s + 2 x refresh ${refreshS} s`,
    },
  ];
}

const CODEDEPLOY_DETAIL =
  "AWS documents no interval for CodeDeploy's alarm checks; assumed at most a minute, half of it typically";

/** EventBridge runs rollout sync on a state change (an alarm's, a deployment's). */
export function syncOnEvent(what: string): ReachComponent {
  const scheduleS = rateSeconds(SYNC_SCHEDULE);
  return {
    name: `rollout sync runs on ${what}`,
    typicalS: 1,
    worstS: 10,
    basis: 'assumed',
    detail:
      `EventBridge delivers state changes as events, typically within a second (assumed; worst assumed 10 s); ` +
      `were the event lost, the ${SYNC_SCHEDULE} schedule would run within ${scheduleS} s`,
  };
}

export const SYNC_WRITES: ReachComponent = {
  name: 'rollout sync reads the alarms, the alias and the store, and writes the state',
  typicalS: 1,
  worstS: 5,
  basis: 'assumed',
  detail:
    'about six AWS API calls in us-east-1 (DescribeAlarms, GetAlias, GetFunctionConfiguration, ' +
    'ListDeployments and GetDeployment, DescribeKeyValueStore, GetKey, PutKey), a cold start at worst',
};

export const STORE_PROPAGATION: ReachComponent = {
  name: 'KeyValueStore carries the write to every edge location',
  typicalS: 5,
  worstS: 20,
  basis: 'assumed',
  detail:
    'AWS: changes "are propagated to all CloudFront edge locations in a few seconds" ' +
    '(https://aws.amazon.com/blogs/aws/introducing-amazon-cloudfront-keyvaluestore-a-low-latency-datastore-for-cloudfront-functions/, ' +
    '2023); no bound is published, so typical 5 s and worst 20 s are assumed',
};

/** The last link: the published function reads the store on every load; `stale` loads were served the old build. */
export function nextLoad(name: string, stale: number, what: string): ReachComponent {
  return {
    name,
    typicalS: 0,
    worstS: 0,
    basis: 'measured',
    detail: `the published function reads the store on every load; after a change, ${stale} ${what}`,
  };
}

/**
 * This design's chain, in order; `nextLoadStale` is the measured end (loads served the old canary after the store
 * changed).
 */
export function reachComponents(nextLoadStale: number): ReachComponent[] {
  return [
    {
      ...syncOnEvent("the alarm's state change"),
      detail: `${syncOnEvent('').detail}, and CodeDeploy's own rollback raises a second event`,
    },
    { ...SYNC_WRITES, name: 'rollout sync reads the alarm, the alias and the store, and writes weight 0' },
    STORE_PROPAGATION,
    nextLoad(
      "every viewer's next load gets the stable build",
      nextLoadStale,
      'of the next loads of canary viewers got the canary (the cached canary entry stays cached per build, but no ' +
        'viewer is sent to it, and browsers revalidate every load)',
    ),
  ];
}

export function totalReach(components: readonly ReachComponent[]): {
  readonly typicalS: number;
  readonly worstS: number;
} {
  return {
    typicalS: round(
      components.reduce((sum, c) => sum + c.typicalS, 0),
      1,
    ),
    worstS: round(
      components.reduce((sum, c) => sum + c.worstS, 0),
      1,
    ),
  };
}

/**
 * Loads of canary viewers that still got the canary on their next load after the store went back to stable: 0 by
 * design.
 */
export async function measureNextLoad(code: string, own: string, viewers: number): Promise<number> {
  let value = formatRolloutState({ stable: OTHER_BUILD, canary: own, weight: 5000, salt: 'd-BADRELEASE', ring: [] });
  const assign = loadCloudFrontFunction(code, { get: async () => value });
  const random = seededRandom(99);
  const canaryViewers: string[] = [];
  while (canaryViewers.length < viewers) {
    const ip = randomViewerIp(random);
    if (assignedBuild(await assign(viewerRequestEvent(ip))) === own) canaryViewers.push(ip);
  }
  value = formatRolloutState(steadyState(OTHER_BUILD));
  let stale = 0;
  for (const ip of canaryViewers) if (assignedBuild(await assign(viewerRequestEvent(ip))) !== OTHER_BUILD) stale += 1;
  return stale;
}

export const rollbackReach: BenchSection = {
  id: 'rollback-reach',
  title: "Rollback reach: alarm to every viewer's next load getting the stable build",
  async run(context: BenchContext, simulate: EdgeReachSimulation = simulateEdgeReach): Promise<SectionResult> {
    const { config, manifest, buildDir } = context;
    const names = resourceNames(config);
    const scratch = mkdtempSync(path.join(context.scratch, 'rollback-reach-'));
    const code = readFileSync(path.join(buildDir, manifest.cloudFrontFunctions['viewer-assignment'].file), 'utf8');
    const nextLoadStale = await measureNextLoad(code, manifest.buildId, context.quick ? 200 : 2000);
    const components = reachComponents(nextLoadStale);
    const total = totalReach(components);

    context.log("rollback-reach: the previous design's edge end, simulated");
    const previousEdge = await simulate({
      zip: await writeBaselineZip(scratch, config, manifest, buildDir),
      ownBuild: manifest.buildId,
      stableBuild: OTHER_BUILD,
      rolloutRecord: previousRolloutRecord(config),
      bucketRecord: names.bucketRecord,
      bucketRegion: config.primaryRegion,
      originDomain: names.bucketDomain(config.primaryRegion),
      ttlS: PREVIOUS_DESIGN.rolloutRecordTtlS,
      refreshS: PREVIOUS_DESIGN.rolloutRefreshS,
      // About one simulated resolver per CloudFront regional edge cache.
      resolvers: context.quick ? 3 : 13,
      containersPerResolver: context.quick ? 3 : 5,
      meanIntervalsS: [0.2, 1, 5, 20, 45],
      trials: context.quick ? 1 : 12,
      seed: 2026,
      tmpRoot: scratch,
      log: context.log,
    });
    const previousComponents = previousReachComponents(previousEdge);
    const previous = totalReach(previousComponents);
    const alarms = config.alarms;
    const detection = {
      typicalS: alarms.datapointsToAlarm * alarms.periodSeconds,
      worstS: alarms.evaluationPeriods * alarms.periodSeconds,
    };
    const figures: Figure[] = [
      {
        name: 'alarm to every viewer on stable, typical',
        value: total.typicalS,
        unit: 's',
        previous: previous.typicalS,
        target: 45,
      },
      {
        name: 'alarm to every viewer on stable, worst case',
        value: total.worstS,
        unit: 's',
        previous: previous.worstS,
        target: 90,
      },
      {
        name: 'first failing period to every viewer on stable, worst case',
        value: round(detection.worstS + total.worstS, 1),
        unit: 's',
        previous: round(detection.worstS + previous.worstS, 1),
      },
      {
        name: 'canary viewers served the canary on their next load after the change',
        value: nextLoadStale,
        unit: 'count',
        target: 0,
      },
      {
        name: 'previous design, edge end simulated: every edge (median of trials)',
        value: previousComponents.at(-1)?.typicalS ?? 0,
        unit: 's',
      },
      {
        name: 'previous design, edge end simulated: every edge (worst trial)',
        value: round(Math.max(...previousEdge.trials.map((trial) => trial.maxS)), 1),
        unit: 's',
      },
    ];
    return {
      figures,
      notes: [
        `This design: typical ${total.typicalS} s, worst ${total.worstS} s from the alarm; the chain, typical / worst:`,
        ...components.map((c) => `  - ${c.name}: ${c.typicalS} / ${c.worstS} s (${c.basis}: ${c.detail}).`),
        `  CodeDeploy still moves the alias back (${CODEDEPLOY_DETAIL.split(';')[0]}); by then the store ` +
          `already says what the alias will, so that changes nothing a viewer sees.`,
        `Previous design: typical ${previous.typicalS} s, worst ${previous.worstS} s; its chain, typical / worst:`,
        ...previousComponents.map((c) => `  - ${c.name}: ${c.typicalS} / ${c.worstS} s (${c.basis}: ${c.detail}).`),
        `  Simulated: ${previousEdge.containers} containers of its entry router behind ` +
          `${previousEdge.resolvers} caching resolvers (loopback DNS), Poisson loads with means of 0.2 to 45 s, ` +
          `${previousEdge.loads.toLocaleString('en')} loads, ` +
          `${previousEdge.authoritativeLookups.toLocaleString('en')} lookups reaching "Route53".`,
        `Before either: the alarm needs ${alarms.datapointsToAlarm} of ${alarms.evaluationPeriods} periods of ` +
          `${alarms.periodSeconds} s breaching (config alarms), ${detection.typicalS} s at least, ` +
          `${detection.worstS} s for errors that come and go.`,
      ],
      data: { components, total, previousComponents, previous, detection, previousEdge, nextLoadStale },
    };
  },
};

/**
 * What one entry load costs in requests behind CloudFront: Lambda@Edge invocations, S3 GETs,
 * Route53 queries and KeyValueStore reads, for this design, the previous one and the reference.
 *
 * This design, measured: one CloudFront cache in front of the shipped pieces (the published
 * viewer-assignment function in its harness, a cache keyed on the rewritten URI and the
 * normalized Accept-Encoding, the bundled entry router on misses with loopback S3 and
 * KeyValueStore), answering many simulated viewers. What runs per load is the function; Lambda
 * and S3 run once per cached object. Fleet-wide, per load: the model in prices.ts (FLEET).
 *
 * The previous design and the reference, measured as before: the entry router (or handler) runs
 * on every load; a load it rewrites to S3 is one GET; Route53 queries leave a container on its own
 * clock (simulated), over its life.
 */
import { buildEntryPath, ENTRY_PATH } from '../../contracts/distribution-paths';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resourceNames } from '../../config';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { loadCloudFrontFunction } from '../../edge-code/cloudfront-function';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer } from '../../loopback/kvs-server';
import { startS3Server } from '../../loopback/s3-server';
import { formatRolloutRecord } from '../baselines/rollout-record';
import { PREVIOUS_DESIGN, previousRolloutRecord, writeBaselineZip } from '../baseline';
import { loadEdgeHandler, settle, SimulatedClock, verifyClock, type EdgeHandler } from '../edge-loader';
import {
  assignedBuild,
  entryOutcome,
  originRequestEvent,
  randomViewerIp,
  seededRandom,
  viewerRequestEvent,
} from '../events';
import { round } from '../measure';
import { FLEET, TRAFFIC } from '../prices';
import { writeReferenceZips } from '../reference';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { OTHER_BUILD, putOtherBuild } from './edge-routers';

export type Scenario = 'steady' | 'rollout10' | 'rollout50' | 'afterRollback';
export type TrafficLevel = keyof typeof TRAFFIC;

export interface DnsPerLoad {
  /** `_rollout.<domain>`: a simple TXT record (Route53 standard queries). */
  readonly rollout: number;
  /** `_bucket.<domain>`: latency-routed (Route53 latency queries). */
  readonly bucket: number;
}

export interface PerLoad {
  readonly lambdaInvocations: number;
  readonly s3Gets: number;
  readonly functionInvocations: number;
  readonly kvsFunctionReads: number;
  readonly kvsApiCalls: number;
}

export interface OriginRequestsData {
  /** This design in one cache over the run, measured. */
  readonly measured: Readonly<Record<Scenario, PerLoad & { readonly loads: number; readonly objects: number }>>;
  /** This design fleet-wide, from the measured objects and FLEET. */
  readonly fleet: Readonly<Record<Scenario, PerLoad>>;
  /** This design when the function cannot read the state (every load reaches the router). */
  readonly fallback: Readonly<Record<TrafficLevel, PerLoad>>;
  readonly previous: Readonly<Record<Scenario, { readonly s3Gets: number; readonly expected: number }>>;
  readonly reference: Readonly<Record<Scenario, { readonly s3Gets: number }>>;
  /** Traffic level → steady/rollout → Route53 queries per entry load. */
  readonly dnsPerLoad: Readonly<
    Record<
      TrafficLevel,
      Readonly<Record<'steady' | 'rollout', { readonly previous: DnsPerLoad; readonly reference: DnsPerLoad }>>
    >
  >;
}

interface ScenarioSpec {
  readonly id: Scenario;
  readonly label: string;
  readonly state: (own: string) => RolloutState;
}

/** The canary is the newest build, whose router version is live: its entry is inlined. */
const SCENARIOS: readonly [ScenarioSpec, ScenarioSpec, ScenarioSpec, ScenarioSpec] = [
  { id: 'steady', label: 'steady state (w = 0)', state: (own) => steadyState(own) },
  {
    id: 'rollout10',
    label: 'rollout at w = 10 %',
    state: (own) => ({ stable: OTHER_BUILD, canary: own, weight: 1000, salt: 'd-BENCH10', ring: [] }),
  },
  {
    id: 'rollout50',
    label: 'rollout at w = 50 %',
    state: (own) => ({ stable: OTHER_BUILD, canary: own, weight: 5000, salt: 'd-BENCH50', ring: [] }),
  },
  { id: 'afterRollback', label: 'after a rollback', state: () => steadyState(OTHER_BUILD) },
];

/** What viewers' browsers accept, normalized as the cache policy does: most take brotli. */
const ENCODINGS = [
  { share: 0.85, header: 'gzip, deflate, br, zstd', key: 'br' },
  { share: 0.13, header: 'gzip, deflate', key: 'gzip' },
  { share: 0.02, header: '', key: '' },
] as const;

export const originRequests: BenchSection = {
  id: 'origin-requests',
  title: 'Per entry load: Lambda@Edge invocations, S3 GETs, Route53 queries, KeyValueStore reads',
  async run(context: BenchContext): Promise<SectionResult> {
    const viewers = context.quick ? 2_000 : 20_000;
    const { config, manifest, buildDir } = context;
    const names = resourceNames(config);
    const own = manifest.buildId;
    const primaryDomain = names.bucketDomain(config.primaryRegion);
    const entryZip = path.join(buildDir, manifest.functions['entry-router'].zip);
    const tmpRoot = mkdtempSync(path.join(context.scratch, 'origin-requests-'));
    const reference = writeReferenceZips(tmpRoot, config, own);
    const previousZip = await writeBaselineZip(tmpRoot, config, manifest, buildDir);
    const functionCode = readFileSync(
      path.join(buildDir, manifest.cloudFrontFunctions['viewer-assignment'].file),
      'utf8',
    );
    const dns = await startDnsServer({ records: { [names.bucketRecord]: config.primaryRegion } });
    const s3 = await startS3Server({ buckets: config.regions.map((region) => names.bucket(region)) });
    const kvs = await startKvsServer({ store: new LocalKeyValueStore() });
    const load = (zip: string, clock?: SimulatedClock) =>
      loadEdgeHandler(zip, {
        dnsServer: dns.address,
        s3Endpoint: s3.endpoint,
        kvsEndpoint: kvs.endpoint,
        tmpRoot,
        clock,
      });
    const random = seededRandom(7);
    const ips = Array.from({ length: viewers }, () => randomViewerIp(random));
    const encodingOf = (i: number) => {
      const u = ((i * 2654435761) >>> 0) / 2 ** 32;
      return u < ENCODINGS[0].share
        ? ENCODINGS[0]
        : u < ENCODINGS[0].share + ENCODINGS[1].share
          ? ENCODINGS[1]
          : ENCODINGS[2];
    };
    const entryEvent = (clientIp: string, i: number, uri = ENTRY_PATH) =>
      originRequestEvent(
        {
          clientIp,
          uri,
          originDomain: primaryDomain,
          acceptEncoding: encodingOf(i).header,
          originCustomHeaders: { [ROLLOUT_STORE_HEADER]: kvs.arn },
        },
        `r${i}`,
      );
    try {
      await putOtherBuild(
        s3,
        config.regions.map((region) => ({ region, bucket: names.bucket(region) })),
      );
      const measured = {} as Record<Scenario, OriginRequestsData['measured'][Scenario]>;
      const fleet = {} as Record<Scenario, PerLoad>;
      const previous = {} as Record<Scenario, OriginRequestsData['previous'][Scenario]>;
      const referenceS3 = {} as Record<Scenario, OriginRequestsData['reference'][Scenario]>;
      for (const scenario of SCENARIOS) {
        const state = scenario.state(own);
        context.log(`origin-requests: ${viewers.toLocaleString('en')} viewers through one cache, ${scenario.label}`);
        kvs.store.put(ROLLOUT_STATE_KEY, formatRolloutState(state));
        const s3Before = s3.log.filter((entry) => entry.method === 'GET').length;
        const apiBefore = kvs.requests.length;
        const assign = loadCloudFrontFunction(functionCode, kvs.store.functionStore);
        const router = load(entryZip);
        const cache = new Set<string>();
        let invocations = 0;
        for (const [i, ip] of ips.entries()) {
          const result = await assign(viewerRequestEvent(ip));
          const buildId = assignedBuild(result);
          if (buildId === null)
            throw new Error(`origin-requests: the function left a load unrewritten in ${scenario.label}`);
          const key = `${buildId}|${encodingOf(i).key}`;
          if (cache.has(key)) continue;
          invocations += 1;
          const outcome = entryOutcome(await router(entryEvent(ip, i, buildEntryPath(buildId))));
          if (outcome.kind !== 'generated' || outcome.buildId !== buildId)
            throw new Error(`origin-requests: the router answered ${JSON.stringify(outcome)} for ${buildId}`);
          cache.add(key);
        }
        const s3Gets = s3.log.filter((entry) => entry.method === 'GET').length - s3Before;
        measured[scenario.id] = {
          loads: ips.length,
          objects: cache.size,
          lambdaInvocations: invocations / ips.length,
          s3Gets: s3Gets / ips.length,
          functionInvocations: 1,
          kvsFunctionReads: 1,
          kvsApiCalls: (kvs.requests.length - apiBefore) / ips.length,
        };
        // Fleet-wide: every object is fetched again by every regional edge cache, refetchesPerDay times.
        const builds = new Set([state.stable, ...(state.canary ? [state.canary] : [])]);
        const perObjectPerLoad = (FLEET.regionalEdgeCaches * FLEET.refetchesPerDay) / FLEET.loadsPerDay;
        fleet[scenario.id] = {
          lambdaInvocations: builds.size * FLEET.encodings * perObjectPerLoad,
          s3Gets: [...builds].filter((buildId) => buildId !== own).length * FLEET.encodings * perObjectPerLoad,
          functionInvocations: 1,
          kvsFunctionReads: 1,
          kvsApiCalls: 0,
        };

        context.log(
          `origin-requests: the previous design's router and the reference handler on the same viewers, ` +
            `${scenario.label}`,
        );
        dns.setTxt(previousRolloutRecord(config), formatRolloutRecord(state));
        const previousCounts = await countS3(load(previousZip), ips, entryEvent);
        const referenceCounts = await countS3(load(reference.entry), ips, entryEvent);
        const expected = state.canary === own ? 1 - state.weight / 10000 : state.stable === own ? 0 : 1;
        previous[scenario.id] = { s3Gets: previousCounts, expected };
        referenceS3[scenario.id] = { s3Gets: referenceCounts };
      }

      const fallback = {} as Record<TrafficLevel, PerLoad>;
      for (const [level, traffic] of Object.entries(TRAFFIC) as [TrafficLevel, (typeof TRAFFIC)[TrafficLevel]][]) {
        // Every load reaches the router, which reads the state once per its cache time per container.
        fallback[level] = {
          lambdaInvocations: 1,
          s3Gets: 0,
          functionInvocations: 1,
          kvsFunctionReads: 1,
          kvsApiCalls: 1 / Math.max(1, traffic.loadsPerSecond * config.edge.stateCacheSeconds),
        };
      }

      const dnsPerLoad = {} as Record<TrafficLevel, OriginRequestsData['dnsPerLoad'][TrafficLevel]>;
      const lifetimeS = TRAFFIC.busy.containerLifetimeMinutes * 60;
      for (const [level, traffic] of Object.entries(TRAFFIC) as [TrafficLevel, (typeof TRAFFIC)[TrafficLevel]][]) {
        const perLevel = {} as Record<'steady' | 'rollout', { previous: DnsPerLoad; reference: DnsPerLoad }>;
        for (const [key, scenario] of [
          ['steady', SCENARIOS[0]],
          ['rollout', SCENARIOS[2]],
        ] as const) {
          context.log(
            `origin-requests: Route53 queries over one container's life (${lifetimeS} s simulated), ` +
              `${traffic.label}, ${scenario.label}`,
          );
          dns.setTxt(previousRolloutRecord(config), formatRolloutRecord(scenario.state(own)));
          const event = (ip: string, i: number) => entryEvent(ip, i);
          perLevel[key] = {
            previous: await dnsOverLifetime(
              dns,
              previousRolloutRecord(config),
              names.bucketRecord,
              (clock) => load(previousZip, clock),
              ips,
              event,
              traffic.loadsPerSecond,
              lifetimeS,
              PREVIOUS_DESIGN.rolloutRefreshS * 1000,
            ),
            reference: await dnsOverLifetime(
              dns,
              previousRolloutRecord(config),
              names.bucketRecord,
              () => load(reference.entry),
              ips,
              event,
              traffic.loadsPerSecond,
              lifetimeS,
              null,
            ),
          };
        }
        dnsPerLoad[level] = perLevel;
      }

      const figures: Figure[] = [
        ...SCENARIOS.map(
          (scenario): Figure => ({
            name: `Lambda@Edge invocations per entry load, ${scenario.label}, fleet model`,
            value: round(fleet[scenario.id].lambdaInvocations, 6),
            unit: 'count',
            previous: 1,
            reference: 1,
          }),
        ),
        ...SCENARIOS.map(
          (scenario): Figure => ({
            name: `Lambda@Edge invocations per entry load, ${scenario.label}, one cache, measured`,
            value: round(measured[scenario.id].lambdaInvocations, 6),
            unit: 'count',
          }),
        ),
        ...SCENARIOS.map(
          (scenario): Figure => ({
            name: `S3 GETs per entry load, ${scenario.label}`,
            value: round(fleet[scenario.id].s3Gets, 6),
            unit: 'count',
            previous: round(previous[scenario.id].s3Gets, 4),
            reference: round(referenceS3[scenario.id].s3Gets, 4),
          }),
        ),
        { name: 'KeyValueStore reads (by the function) per entry load', value: 1, unit: 'count' },
        {
          name: 'KeyValueStore API calls per entry load, measured (one cache)',
          value: round(measured.rollout50.kvsApiCalls, 6),
          unit: 'count',
        },
        ...(Object.keys(TRAFFIC) as TrafficLevel[]).flatMap((level): Figure[] => [
          {
            name: `Route53 standard queries (_rollout) per load, ${TRAFFIC[level].label}`,
            value: 0,
            unit: 'count',
            previous: round(dnsPerLoad[level].steady.previous.rollout, 5),
            reference: round(dnsPerLoad[level].steady.reference.rollout, 5),
          },
          {
            name: `Route53 latency queries (_bucket) per load, ${TRAFFIC[level].label}, rollout`,
            value: 0,
            unit: 'count',
            previous: round(dnsPerLoad[level].rollout.previous.bucket, 5),
            reference: round(dnsPerLoad[level].rollout.reference.bucket, 5),
          },
        ]),
        { name: 'fallback (state unreadable at the edge): Lambda@Edge invocations per load', value: 1, unit: 'count' },
        {
          name: `fallback: KeyValueStore API calls per load, ${TRAFFIC.busy.label}`,
          value: round(fallback.busy.kvsApiCalls, 5),
          unit: 'count',
        },
      ];
      const data: OriginRequestsData = { measured, fleet, fallback, previous, reference: referenceS3, dnsPerLoad };
      return {
        figures,
        notes: [
          `This design, measured: ${viewers.toLocaleString('en')} simulated viewers (IPv4 and IPv6; ` +
            `${ENCODINGS.map((e) => `${Math.round(e.share * 100)} % ${e.key || 'identity'}`).join(', ')}) per ` +
            `scenario through the published viewer-assignment function and one cache keyed as the entry's ` +
            `cache policy keys it;`,
          `  the bundled entry router ran on misses only ` +
            `(${SCENARIOS.map((s) => `${s.id} ${measured[s.id].objects}`).join(', ')} objects), reading another ` +
            `build from a loopback bucket; no load made a KeyValueStore API call or a DNS query.`,
          `Fleet model (prices.ts FLEET, assumed): ${FLEET.loadsPerDay.toLocaleString('en')} loads a day, ` +
            `${FLEET.regionalEdgeCaches} regional edge caches (where origin-request functions run), each fetching ` +
            `every entry object (builds x ${FLEET.encodings} encodings) again ${FLEET.refetchesPerDay} times a ` +
            `day:`,
          `  per load = objects x ${FLEET.regionalEdgeCaches} x ${FLEET.refetchesPerDay} / ` +
            `${FLEET.loadsPerDay.toLocaleString('en')}. A busier widget divides it further; an object CloudFront ` +
            `keeps longer, too. S3 GETs: only objects of a build that is not the router's own (it ` +
            `inlines its own).`,
          `Previous design: its entry router ran on every load (1 invocation) and sent loads of a build other ` +
            `than its own to S3 (expected 1 - w: ` +
            `${SCENARIOS.map((s) => `${s.id} ${round(previous[s.id].expected, 2)}`).join(', ')}); it read ` +
            `_rollout every ${PREVIOUS_DESIGN.rolloutRefreshS} s and _bucket when a load went to S3. Reference: ` +
            `every load rewritten to S3.`,
          `  Route53: queries that left one simulated container over a ` +
            `${TRAFFIC.busy.containerLifetimeMinutes}-minute life (simulated clock, real DNS over loopback), per ` +
            `load; an upper bound on what Route53 bills. This design makes none per load: the chunk router's ` +
            `_bucket lookups follow chunk misses, alike in every design.`,
          `Fallback: when the function cannot read the state (a deleted key, a value it refuses), every load ` +
            `reaches the entry router, which reads the state through the API at most once per ` +
            `${config.edge.stateCacheSeconds} s per container (config edge.stateCacheSeconds).`,
        ],
        data: data as unknown as Record<string, unknown>,
      };
    } finally {
      await Promise.all([dns.close(), s3.stop(), kvs.close()]);
    }
  },
};

/** S3 GETs per load: loads the handler rewrote to an S3 origin. */
async function countS3(
  handler: EdgeHandler,
  ips: readonly string[],
  event: (ip: string, i: number) => ReturnType<typeof originRequestEvent>,
): Promise<number> {
  let s3 = 0;
  for (const [i, ip] of ips.entries()) {
    const outcome = entryOutcome(await handler(event(ip, i)));
    if (outcome.kind === 's3') s3 += 1;
    else if (outcome.kind !== 'generated')
      throw new Error(`origin-requests: a result that neither answers nor goes to S3: ${outcome.detail}`);
  }
  return s3 / ips.length;
}

/**
 * One container's life on a simulated clock: a load every 1/loadsPerSecond s, the queries that
 * reach the DNS server counted per record. `refreshMs` non-null: the handler must age its records
 * on the simulated clock (checked first).
 */
async function dnsOverLifetime(
  dns: DnsServer,
  rolloutRecord: string,
  bucketRecord: string,
  loadOn: (clock: SimulatedClock) => EdgeHandler,
  ips: readonly string[],
  event: (ip: string, i: number) => ReturnType<typeof originRequestEvent>,
  loadsPerSecond: number,
  lifetimeS: number,
  refreshMs: number | null,
): Promise<DnsPerLoad> {
  if (refreshMs !== null) {
    const probe = new SimulatedClock(0);
    const [first] = ips;
    if (first === undefined) throw new Error('origin-requests: no viewers to probe the clock with');
    await verifyClock(loadOn(probe), event(first, 0), probe, refreshMs, () => dns.queries(rolloutRecord).length);
  }
  const clock = new SimulatedClock(0);
  const handler = loadOn(clock);
  dns.clearQueries();
  const loads = Math.max(1, Math.round(lifetimeS * loadsPerSecond));
  let seen = 0;
  for (let i = 0; i < loads; i += 1) {
    clock.set(Math.round((i / loadsPerSecond) * 1000));
    await handler(event(ips[i % ips.length]!, i));
    // A lookup started by this load (in the background, or waited for) settles before time moves on.
    if (dns.queries().length !== seen) {
      await settle();
      seen = dns.queries().length;
    }
  }
  return { rollout: dns.queries(rolloutRecord).length / loads, bucket: dns.queries(bucketRecord).length / loads };
}

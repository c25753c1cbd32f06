/**
 * Origin requests per entry load: how many S3 GETs and Route53 queries one load of
 * /assets/index.js causes, counted on the shipped entry router (and the reference entry handler)
 * answering many simulated viewers, against the loopback DNS server.
 *
 * The model: /assets/index.js is never cached (every page load reaches the entry router), while
 * chunk URLs are immutable and cached by CloudFront for a year, so chunk S3 GETs happen on cache
 * misses only, alike in both designs, and do not grow with page loads. What grows with loads is
 * the entry: the reference rewrites every load to S3 (one GET each); the entry router answers its
 * own build itself and sends only viewers of another build to S3.
 */
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { resourceNames } from '../../../config';
import { formatRolloutRecord, type RolloutRecord } from '../../../edge-function/shared/rollout-record';
import { startDnsServer, type DnsServer } from '../../local/dns-server';
import { loadEdgeHandler, settle, SimulatedClock, verifyClock, type EdgeHandler } from '../edge-loader';
import { entryOutcome, originRequestEvent, randomViewerIp, seededRandom } from '../events';
import { round } from '../measure';
import { TRAFFIC } from '../prices';
import { writeReferenceZips } from '../reference';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';
import { OTHER_BUILD } from './edge-routers';

export interface LoadCounts {
  readonly loads: number;
  readonly inlined: number;
  readonly s3: number;
  readonly other: number;
}

export interface DnsPerLoad {
  /** `_rollout.<domain>`: a simple TXT record (Route53 standard queries). */
  readonly rollout: number;
  /** `_bucket.<domain>`: latency-routed (Route53 latency queries). */
  readonly bucket: number;
}

export interface OriginRequestsData {
  /** Scenario → S3 GETs per entry load, this project and reference. */
  readonly s3PerLoad: Readonly<Record<Scenario, { readonly project: number; readonly reference: number; readonly expected: number; readonly counts: LoadCounts }>>;
  /** Traffic level → scenario → Route53 queries per entry load. */
  readonly dnsPerLoad: Readonly<Record<TrafficLevel, Readonly<Record<'steady' | 'rollout', { readonly project: DnsPerLoad; readonly reference: DnsPerLoad }>>>>;
}

export type Scenario = 'steady' | 'rollout10' | 'rollout50' | 'afterRollback';
export type TrafficLevel = keyof typeof TRAFFIC;

const SCENARIOS: readonly { readonly id: Scenario; readonly label: string; readonly record: (own: string) => RolloutRecord }[] = [
  { id: 'steady', label: 'steady state (w = 0)', record: (own) => ({ stable: own, canary: null, weight: 0, salt: null }) },
  { id: 'rollout10', label: 'rollout at w = 10 %', record: (own) => ({ stable: OTHER_BUILD, canary: own, weight: 1000, salt: 'd-BENCH10' }) },
  { id: 'rollout50', label: 'rollout at w = 50 %', record: (own) => ({ stable: OTHER_BUILD, canary: own, weight: 5000, salt: 'd-BENCH50' }) },
  { id: 'afterRollback', label: 'after a rollback', record: () => ({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }) },
];

export const originRequests: BenchSection = {
  id: 'origin-requests',
  title: 'Origin requests per entry load: S3 GETs and Route53 queries',
  async run(context: BenchContext): Promise<SectionResult> {
    const viewers = context.quick ? 2_000 : 20_000;
    const names = resourceNames(context.config);
    const own = context.manifest.buildId;
    const primaryDomain = names.bucketDomain(context.config.primaryRegion);
    const entryZip = path.join(context.buildDir, context.manifest.functions['entry-router'].zip);
    const tmpRoot = mkdtempSync(path.join(context.scratch, 'origin-requests-'));
    const reference = writeReferenceZips(tmpRoot, context.config, own);
    const dns = await startDnsServer({ records: { [names.bucketRecord]: context.config.primaryRegion } });
    const load = (zip: string, clock?: SimulatedClock) => loadEdgeHandler(zip, { dnsServer: dns.address, tmpRoot, clock });
    const random = seededRandom(7);
    const ips = Array.from({ length: viewers }, () => randomViewerIp(random));
    const event = (clientIp: string, i: number) => originRequestEvent({ clientIp, uri: '/assets/index.js', originDomain: primaryDomain }, `r${i}`);
    try {
      const s3PerLoad = {} as Record<Scenario, OriginRequestsData['s3PerLoad'][Scenario]>;
      for (const scenario of SCENARIOS) {
        context.log(`origin-requests: ${viewers.toLocaleString('en')} viewers, ${scenario.label}`);
        const record = scenario.record(own);
        dns.setTxt(names.rolloutRecord, formatRolloutRecord(record));
        const counts = await countLoads(load(entryZip), ips, event, own);
        const referenceCounts = await countLoads(load(reference.entry), ips, event, own);
        if (counts.other > 0 || referenceCounts.other > 0) throw new Error(`origin-requests: ${scenario.label}: results that neither answer nor go to S3`);
        const expected = record.stable === own && record.canary === null ? 0 : 1 - (record.canary === own ? record.weight / 10000 : 0);
        s3PerLoad[scenario.id] = { project: counts.s3 / counts.loads, reference: referenceCounts.s3 / referenceCounts.loads, expected, counts };
      }

      const dnsPerLoad = {} as Record<TrafficLevel, OriginRequestsData['dnsPerLoad'][TrafficLevel]>;
      const lifetimeS = TRAFFIC.busy.containerLifetimeMinutes * 60;
      for (const [level, traffic] of Object.entries(TRAFFIC) as [TrafficLevel, (typeof TRAFFIC)[TrafficLevel]][]) {
        const perLevel = {} as Record<'steady' | 'rollout', { project: DnsPerLoad; reference: DnsPerLoad }>;
        for (const [key, scenario] of [['steady', SCENARIOS[0]], ['rollout', SCENARIOS[2]]] as const) {
          context.log(`origin-requests: Route53 queries over one container's life (${lifetimeS} s simulated), ${traffic.label}, ${scenario.label}`);
          dns.setTxt(names.rolloutRecord, formatRolloutRecord(scenario.record(own)));
          perLevel[key] = {
            project: await dnsOverLifetime(dns, names, (clock) => load(entryZip, clock), ips, event, traffic.loadsPerSecond, lifetimeS, context.config.edge.rolloutRefreshSeconds * 1000),
            reference: await dnsOverLifetime(dns, names, () => load(reference.entry), ips, event, traffic.loadsPerSecond, lifetimeS, null),
          };
        }
        dnsPerLoad[level] = perLevel;
      }

      const figures: Figure[] = [
        ...SCENARIOS.map((scenario): Figure => ({
          name: `S3 GETs per entry load, ${scenario.label}`,
          value: round(s3PerLoad[scenario.id].project, 4),
          unit: 'count',
          reference: round(s3PerLoad[scenario.id].reference, 4),
        })),
        ...(Object.keys(TRAFFIC) as TrafficLevel[]).flatMap((level): Figure[] => [
          { name: `Route53 standard queries (_rollout) per load, ${TRAFFIC[level].label}`, value: round(dnsPerLoad[level].steady.project.rollout, 5), unit: 'count', reference: round(dnsPerLoad[level].steady.reference.rollout, 5) },
          { name: `Route53 latency queries (_bucket) per load, ${TRAFFIC[level].label}, steady`, value: round(dnsPerLoad[level].steady.project.bucket, 5), unit: 'count', reference: round(dnsPerLoad[level].steady.reference.bucket, 5) },
          { name: `Route53 latency queries (_bucket) per load, ${TRAFFIC[level].label}, rollout`, value: round(dnsPerLoad[level].rollout.project.bucket, 5), unit: 'count', reference: round(dnsPerLoad[level].rollout.reference.bucket, 5) },
        ]),
      ];
      const data: OriginRequestsData = { s3PerLoad, dnsPerLoad };
      return {
        figures,
        notes: [
          `S3 GETs: the shipped entry router and the reference entry handler each answered the same ${viewers.toLocaleString('en')} simulated viewers (IPv4 and IPv6) per scenario; a result that rewrites to an S3 origin is one GET, a generated response none.`,
          `  Expected 1 - w (the canary is the router's own, inlined build): ${SCENARIOS.map((s) => `${s.id} ${s3PerLoad[s.id].expected}`).join(', ')}. After a rollback the stable build is the previous one, served from S3 until the next release.`,
          '  Only the entry counts per load: it is never cached, while chunk URLs are immutable and cached by CloudFront for a year, so chunk GETs follow cache misses, not loads, alike in both designs.',
          `Route53: queries that left one simulated edge container (simulated clock, real DNS over loopback) over a ${TRAFFIC.busy.containerLifetimeMinutes}-minute life, divided by its loads; traffic per container is an assumption (scripts/bench/prices.ts).`,
          `  The entry router reads _rollout every ${context.config.edge.rolloutRefreshSeconds} s and _bucket (only when a load goes to S3) every ${context.config.edge.bucketCacheSeconds} s; the reference reads _bucket once per container life.`,
          '  An upper bound on what Route53 bills: the edge region\'s resolver answers repeats within the record TTL from its cache.',
        ],
        data: data as unknown as Record<string, unknown>,
      };
    } finally {
      await dns.close();
    }
  },
};

async function countLoads(handler: EdgeHandler, ips: readonly string[], event: (ip: string, i: number) => ReturnType<typeof originRequestEvent>, own: string): Promise<LoadCounts> {
  let inlined = 0;
  let s3 = 0;
  let other = 0;
  for (let i = 0; i < ips.length; i += 1) {
    const outcome = entryOutcome(await handler(event(ips[i], i)));
    if (outcome.kind === 'inlined' && outcome.buildId === own) inlined += 1;
    else if (outcome.kind === 's3') s3 += 1;
    else other += 1;
  }
  return { loads: ips.length, inlined, s3, other };
}

/**
 * One container's life on a simulated clock: a load every 1/loadsPerSecond s, the queries that
 * reach the DNS server counted per record. `refreshMs` non-null: the handler must age its records
 * on the simulated clock (checked first).
 */
async function dnsOverLifetime(
  dns: DnsServer,
  names: { readonly rolloutRecord: string; readonly bucketRecord: string },
  loadOn: (clock: SimulatedClock) => EdgeHandler,
  ips: readonly string[],
  event: (ip: string, i: number) => ReturnType<typeof originRequestEvent>,
  loadsPerSecond: number,
  lifetimeS: number,
  refreshMs: number | null,
): Promise<DnsPerLoad> {
  if (refreshMs !== null) {
    const probe = new SimulatedClock(0);
    await verifyClock(loadOn(probe), event(ips[0], 0), probe, refreshMs, () => dns.queries(names.rolloutRecord).length);
  }
  const clock = new SimulatedClock(0);
  const handler = loadOn(clock);
  dns.clearQueries();
  const loads = Math.max(1, Math.round(lifetimeS * loadsPerSecond));
  let seen = 0;
  for (let i = 0; i < loads; i += 1) {
    clock.set(Math.round((i / loadsPerSecond) * 1000));
    await handler(event(ips[i % ips.length], i));
    // A lookup started by this load (in the background, or waited for) settles before time moves on.
    if (dns.queries().length !== seen) {
      await settle();
      seen = dns.queries().length;
    }
  }
  return { rollout: dns.queries(names.rolloutRecord).length / loads, bucket: dns.queries(names.bucketRecord).length / loads };
}

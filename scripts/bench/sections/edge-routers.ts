/**
 * Edge routers: the entry router's warm cost per request and cold start, and the zip sizes,
 * measured on the zips the build ships, side by side with a reproduction of the reference
 * design's entry handler (reference-entry-router.js) in the same run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import { resourceNames } from '../../../config';
import { formatRolloutRecord, type RolloutRecord } from '../../../edge-function/shared/rollout-record';
import { loadBundledHandler, type LambdaHandler } from '../../lib/bundled-handler';
import { readZip, createZip } from '../../lib/zip';
import { startDnsServer, type DnsServer } from '../../local/dns-server';
import { coldRequireMs, distribution, median, timeCalls, timerOverheadNs, type Distribution } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';

const ROUNDS = 5;
const CALLS_PER_ROUND = 100_000;
const WARMUP_CALLS = 50_000;
const COLD_RUNS = 21;
const EVENT_POOL = 4096;
/** A build id that is not the one measured: what "another build" means below. */
const OTHER_BUILD = '0123456789abcdef';

type Handler = LambdaHandler<CloudFrontRequestEvent, unknown>;

interface WarmResult {
  readonly perCall: Distribution;
  /** Median of each round, to show how stable the median is. */
  readonly roundMedians: readonly number[];
}

export const edgeRouters: BenchSection = {
  id: 'edge-routers',
  title: 'Edge routers (warm per request, cold init, zip size)',
  async run(context: BenchContext): Promise<SectionResult> {
    const names = resourceNames(context.config);
    const { manifest, buildDir } = context;
    const own = manifest.buildId;
    const primaryDomain = names.bucketDomain(context.config.primaryRegion);
    const scratch = mkdtempSync(path.join(tmpdir(), 'bench-edge-'));
    const dns = await startDnsServer({ records: { [names.bucketRecord]: context.config.regions[context.config.regions.length - 1] } });
    const savedDns = process.env.EDGE_DNS_SERVER;
    process.env.EDGE_DNS_SERVER = dns.address;
    try {
      const entryZip = path.join(buildDir, manifest.functions['entry-router'].zip);
      const chunkZip = path.join(buildDir, manifest.functions['chunk-router'].zip);
      const referenceZip = writeReferenceZip(scratch, {
        bucketRecord: names.bucketRecord,
        buildId: own,
        primaryRegion: context.config.primaryRegion,
        buckets: Object.fromEntries(context.config.regions.map((region) => [region, names.bucketDomain(region)])),
      });

      const events = eventPool(primaryDomain, '/assets/index.js');
      const chunkKey = manifest.assets.find((asset) => asset.key !== manifest.entry.key)!.key;
      const chunkEvents = eventPool(primaryDomain, `/${chunkKey}`);

      const overhead = await timerOverheadNs();
      context.log('edge-routers: warm, entry router serving its own build (inlined)');
      const ownBuild = await warm(loadWith(dns, names.rolloutRecord, { stable: own, canary: null, weight: 0, salt: null }, entryZip), events);
      context.log('edge-routers: warm, entry router sending everybody to another build');
      const otherBuild = await warm(loadWith(dns, names.rolloutRecord, { stable: OTHER_BUILD, canary: null, weight: 0, salt: null }, entryZip), events);
      context.log('edge-routers: warm, entry router during a rollout at 25 %');
      const rollout = await warm(loadWith(dns, names.rolloutRecord, { stable: OTHER_BUILD, canary: own, weight: 2500, salt: 'd-BENCH' }, entryZip), events);
      context.log('edge-routers: warm, reference entry handler');
      const reference = await warm(loadBundledHandler(referenceZip), events.map(cloneEvent));
      context.log('edge-routers: warm, chunk router');
      const chunk = await warm(loadBundledHandler(chunkZip), chunkEvents);

      context.log(`edge-routers: cold require, ${COLD_RUNS} fresh processes per bundle`);
      const files = {
        entry: extractIndex(entryZip, path.join(scratch, 'entry')),
        chunk: extractIndex(chunkZip, path.join(scratch, 'chunk')),
        reference: extractIndex(referenceZip, path.join(scratch, 'reference')),
        // Node's own cost of requiring a file, on this machine at this moment: the floor.
        empty: emptyModule(path.join(scratch, 'empty')),
      };
      const cold = coldRequireMs(files, COLD_RUNS);
      const coldMedian = Object.fromEntries(Object.entries(cold).map(([name, runs]) => [name, median(runs)])) as Record<keyof typeof files, number>;

      const entryBundle = readZip(readFileSync(entryZip))[0].data.toString('utf8');
      const inlinedBytes = inlinedEntryBytes(buildDir, manifest.entry.key);
      const zipBytes = {
        entry: manifest.functions['entry-router'].bytes,
        chunk: manifest.functions['chunk-router'].bytes,
        reference: readFileSync(referenceZip).length,
      };
      const us = (ns: number) => round(ns / 1000, 3);

      const figures: Figure[] = [
        { name: 'entry, own build: median', value: us(ownBuild.perCall.median), unit: 'µs', reference: us(reference.perCall.median), target: 5 },
        { name: 'entry, own build: p99', value: us(ownBuild.perCall.p99), unit: 'µs', reference: us(reference.perCall.p99), target: 50 },
        { name: 'entry, other build: median', value: us(otherBuild.perCall.median), unit: 'µs', reference: us(reference.perCall.median), target: 5 },
        { name: 'entry, other build: p99', value: us(otherBuild.perCall.p99), unit: 'µs', reference: us(reference.perCall.p99), target: 50 },
        { name: 'entry, rollout at 25 %: median', value: us(rollout.perCall.median), unit: 'µs', reference: us(reference.perCall.median), target: 5 },
        { name: 'entry, rollout at 25 %: p99', value: us(rollout.perCall.p99), unit: 'µs', reference: us(reference.perCall.p99), target: 50 },
        { name: 'chunk router: median', value: us(chunk.perCall.median), unit: 'µs' },
        { name: 'chunk router: p99', value: us(chunk.perCall.p99), unit: 'µs' },
        { name: 'entry cold require (median)', value: round(coldMedian.entry, 2), unit: 'ms', reference: round(coldMedian.reference, 2), target: 10 },
        { name: 'chunk cold require (median)', value: round(coldMedian.chunk, 2), unit: 'ms', target: 10 },
        { name: 'empty module cold require (floor)', value: round(coldMedian.empty, 2), unit: 'ms' },
        { name: 'entry zip', value: zipBytes.entry, unit: 'B', reference: zipBytes.reference, target: 100 * 1024 + inlinedBytes },
        { name: 'chunk zip', value: zipBytes.chunk, unit: 'B', target: 100 * 1024 },
        { name: 'S3 requests per load, own build', value: 0, unit: 'count', reference: 1 },
      ];
      return {
        figures,
        notes: [
          `Per-call times are single awaited calls of the handler loaded from its zip, ${ROUNDS} rounds x ${CALLS_PER_ROUND.toLocaleString('en')} calls after ${WARMUP_CALLS.toLocaleString('en')} warm-up calls,`,
          `  over ${EVENT_POOL} viewers (IPv4 and IPv6), records cached; each includes ${us(overhead)} µs of timer and await overhead.`,
          `Round medians (µs): own ${ownBuild.roundMedians.map(us).join(' ')} | reference ${reference.roundMedians.map(us).join(' ')}.`,
          `Cold require: node -e "require(index.js)" in ${COLD_RUNS} fresh processes per bundle; the entry bundle is ${entryBundle.length} B, ${inlinedBytes} B of it the inlined index.js (plain, gzip and brotli, base64).`,
          'Reference: reference-entry-router.js, a reproduction of the reference design\'s entry handler (one cached TXT lookup, then an S3 rewrite).',
        ],
        data: {
          timerOverheadNs: overhead,
          warmNs: { ownBuild, otherBuild, rollout, reference, chunk },
          coldMs: cold,
          zipBytes,
          entryBundleBytes: entryBundle.length,
          inlinedEntryBytes: inlinedBytes,
        },
      };
    } finally {
      if (savedDns === undefined) delete process.env.EDGE_DNS_SERVER;
      else process.env.EDGE_DNS_SERVER = savedDns;
      await dns.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};

/** A fresh entry router whose rollout record says `record` (each load starts cold and reads it once). */
function loadWith(dns: DnsServer, recordName: string, record: RolloutRecord, zip: string): Handler {
  dns.setTxt(recordName, formatRolloutRecord(record));
  return loadBundledHandler<CloudFrontRequestEvent, unknown>(zip);
}

async function warm(handler: Handler, events: readonly CloudFrontRequestEvent[]): Promise<WarmResult> {
  const call = (i: number) => handler(events[i % events.length]);
  await timeCalls(call, WARMUP_CALLS);
  const rounds: Float64Array[] = [];
  for (let round = 0; round < ROUNDS; round += 1) rounds.push(await timeCalls(call, CALLS_PER_ROUND));
  const all = new Float64Array(ROUNDS * CALLS_PER_ROUND);
  rounds.forEach((samples, index) => all.set(samples, index * CALLS_PER_ROUND));
  return { perCall: distribution(all), roundMedians: rounds.map((samples) => distribution(samples).median) };
}

/** Origin-request events as CloudFront sends them, from EVENT_POOL viewers (a quarter IPv6). */
function eventPool(originDomain: string, uri: string): CloudFrontRequestEvent[] {
  return Array.from({ length: EVENT_POOL }, (_, i) => {
    const clientIp = i % 4 === 3 ? `2001:db8:${(i * 7919) & 0xffff}:${i.toString(16)}::${i.toString(16)}` : `${(i * 37) % 223 + 1}.${(i * 13) & 255}.${(i >> 3) & 255}.${i & 255}`;
    return {
      Records: [
        {
          cf: {
            config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'origin-request', requestId: `r${i}` },
            request: {
              clientIp,
              method: 'GET',
              uri,
              querystring: '',
              headers: {
                host: [{ key: 'Host', value: originDomain }],
                'accept-encoding': [{ key: 'Accept-Encoding', value: 'gzip, deflate, br, zstd' }],
                'user-agent': [{ key: 'User-Agent', value: 'Amazon CloudFront' }],
                via: [{ key: 'Via', value: '2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)' }],
                'x-forwarded-for': [{ key: 'X-Forwarded-For', value: clientIp }],
              },
              origin: { s3: { authMethod: 'origin-access-identity', customHeaders: {}, domainName: originDomain, path: '', region: /\.s3\.([a-z0-9-]+)\./.exec(originDomain)![1] } },
            },
          },
        },
      ],
    } as CloudFrontRequestEvent;
  });
}

/** The reference handler rewrites the event's request in place; give it its own copies. */
function cloneEvent(event: CloudFrontRequestEvent): CloudFrontRequestEvent {
  return structuredClone(event);
}

function writeReferenceZip(dir: string, config: Record<string, unknown>): string {
  const source = readFileSync(path.join(__dirname, '..', 'reference-entry-router.js'), 'utf8').replace('const CONFIG = __REFERENCE_CONFIG__;', `const CONFIG = ${JSON.stringify(config)};`);
  const zip = path.join(dir, 'reference-entry-router.zip');
  writeFileSync(zip, createZip([{ name: 'index.js', data: Buffer.from(source) }]));
  return zip;
}

function emptyModule(dir: string): string {
  const file = path.join(mkdtempSync(`${dir}-`), 'index.js');
  writeFileSync(file, '');
  return file;
}

function extractIndex(zip: string, dir: string): string {
  const file = path.join(mkdtempSync(`${dir}-`), 'index.js');
  writeFileSync(file, readZip(readFileSync(zip))[0].data);
  return file;
}

/** Bytes the inlined index.js adds to the entry bundle: plain text plus base64 gzip and brotli. */
function inlinedEntryBytes(buildDir: string, entryKey: string): number {
  const size = (file: string) => readFileSync(path.join(buildDir, file)).length;
  const base64 = (bytes: number) => 4 * Math.ceil(bytes / 3);
  return size(entryKey) + base64(size(`${entryKey}.gz`)) + base64(size(`${entryKey}.br`));
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

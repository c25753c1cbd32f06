/**
 * Edge routers: each router's warm cost per request, cold start and zip size, measured on the zips
 * the build ships, side by side in the same run with reproductions of the reference design's
 * handlers (reference-entry-router.js, reference-chunk-router.js).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import { resourceNames } from '../../../config';
import { formatRolloutRecord, type RolloutRecord } from '../../../edge-function/shared/rollout-record';
import { readZip } from '../../lib/zip';
import { startDnsServer } from '../../local/dns-server';
import { loadEdgeHandler, type EdgeHandler } from '../edge-loader';
import { originRequestEvent } from '../events';
import { coldRequireMs, distribution, median, plural, round, timeCalls, timeMs, timerOverheadNs, type Distribution } from '../measure';
import { writeReferenceZips } from '../reference';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';

interface Repetitions {
  readonly rounds: number;
  readonly callsPerRound: number;
  readonly warmupCalls: number;
  readonly coldRuns: number;
}

const FULL: Repetitions = { rounds: 5, callsPerRound: 100_000, warmupCalls: 50_000, coldRuns: 21 };
const QUICK: Repetitions = { rounds: 1, callsPerRound: 2_000, warmupCalls: 1_000, coldRuns: 3 };
const EVENT_POOL = 4096;
/** A build id that is not the one measured: what "another build" means below. */
export const OTHER_BUILD = '0123456789abcdef';

type Handler = EdgeHandler;

interface WarmResult {
  readonly perCall: Distribution;
  /** Median of each round, to show how stable the median is. */
  readonly roundMedians: readonly number[];
}

export interface EdgeRoutersData {
  readonly timerOverheadNs: number;
  readonly warmNs: Readonly<Record<'ownBuild' | 'otherBuild' | 'rollout' | 'reference' | 'chunk' | 'referenceChunk', WarmResult>>;
  /** Per bundle, ms to require it in each fresh process. */
  readonly coldMs: Readonly<Record<'entry' | 'chunk' | 'reference' | 'referenceChunk' | 'empty', readonly number[]>>;
  /** Per bundle, ms of the first request after a cold load, record lookup on loopback included. */
  readonly firstRequestMs: Readonly<Record<'entry' | 'reference', readonly number[]>>;
  readonly zipBytes: Readonly<Record<'entry' | 'chunk' | 'reference' | 'referenceChunk', number>>;
  readonly entryBundleBytes: number;
  readonly inlinedEntryBytes: number;
}

export const edgeRouters: BenchSection = {
  id: 'edge-routers',
  title: 'Edge routers: warm per request, cold init, zip size',
  async run(context: BenchContext): Promise<SectionResult> {
    const reps = context.quick ? QUICK : FULL;
    const names = resourceNames(context.config);
    const { manifest, buildDir } = context;
    const own = manifest.buildId;
    const primaryDomain = names.bucketDomain(context.config.primaryRegion);
    const scratch = mkdtempSync(path.join(context.scratch, 'edge-routers-'));
    const dns = await startDnsServer({ records: { [names.bucketRecord]: context.config.regions[context.config.regions.length - 1] } });
    const load = (zip: string): Handler => loadEdgeHandler(zip, { dnsServer: dns.address, tmpRoot: scratch });
    const loadWith = (record: RolloutRecord, zip: string): Handler => {
      // A fresh handler starts cold and reads the record once; later changes do not reach it.
      dns.setTxt(names.rolloutRecord, formatRolloutRecord(record));
      return load(zip);
    };
    const warm = (handler: Handler, events: readonly CloudFrontRequestEvent[]) => warmCalls(handler, events, reps);
    try {
      const entryZip = path.join(buildDir, manifest.functions['entry-router'].zip);
      const chunkZip = path.join(buildDir, manifest.functions['chunk-router'].zip);
      const reference = writeReferenceZips(scratch, context.config, own);

      const events = eventPool(primaryDomain, '/assets/index.js');
      const chunkKey = manifest.assets.find((asset) => asset.key !== manifest.entry.key && asset.key.endsWith('.js'))!.key;
      const chunkEvents = eventPool(primaryDomain, `/${chunkKey}`);
      const steady: RolloutRecord = { stable: own, canary: null, weight: 0, salt: null };

      const overhead = await timerOverheadNs(context.quick ? 0.05 : 1);
      context.log('edge-routers: warm, entry router serving its own build (inlined)');
      const ownBuild = await warm(loadWith(steady, entryZip), events);
      context.log('edge-routers: warm, entry router sending everybody to another build');
      const otherBuild = await warm(loadWith({ stable: OTHER_BUILD, canary: null, weight: 0, salt: null }, entryZip), events);
      context.log('edge-routers: warm, entry router during a rollout at 25 %');
      const rollout = await warm(loadWith({ stable: OTHER_BUILD, canary: own, weight: 2500, salt: 'd-BENCH' }, entryZip), events);
      context.log('edge-routers: warm, reference entry handler');
      // The reference handlers rewrite the event's request in place: they get their own copies.
      const referenceEntry = await warm(load(reference.entry), events.map(cloneEvent));
      context.log('edge-routers: warm, chunk router');
      const chunk = await warm(load(chunkZip), chunkEvents);
      context.log('edge-routers: warm, reference chunk handler');
      const referenceChunk = await warm(load(reference.chunk), chunkEvents.map(cloneEvent));

      context.log(`edge-routers: first request after a cold load, ${reps.coldRuns} loads per bundle`);
      dns.setTxt(names.rolloutRecord, formatRolloutRecord(steady));
      const firstRequestMs = { entry: [] as number[], reference: [] as number[] };
      for (let run = 0; run < reps.coldRuns; run += 1) {
        firstRequestMs.entry.push(await firstRequest(load(entryZip), events[run]));
        firstRequestMs.reference.push(await firstRequest(load(reference.entry), cloneEvent(events[run])));
      }

      context.log(`edge-routers: cold require, ${reps.coldRuns} fresh processes per bundle`);
      const files = {
        entry: extractIndex(entryZip, path.join(scratch, 'entry')),
        chunk: extractIndex(chunkZip, path.join(scratch, 'chunk')),
        reference: extractIndex(reference.entry, path.join(scratch, 'reference')),
        referenceChunk: extractIndex(reference.chunk, path.join(scratch, 'reference-chunk')),
        // Node's own cost of requiring a file, on this machine at this moment: the floor.
        empty: emptyModule(path.join(scratch, 'empty')),
      };
      const cold = coldRequireMs(files, reps.coldRuns);
      const coldMedian = Object.fromEntries(Object.entries(cold).map(([name, runs]) => [name, median(runs)])) as Record<keyof typeof files, number>;

      const entryBundle = readZip(readFileSync(entryZip))[0].data.toString('utf8');
      const inlinedBytes = inlinedEntryBytes(buildDir, manifest.entry.key);
      const zipBytes = {
        entry: manifest.functions['entry-router'].bytes,
        chunk: manifest.functions['chunk-router'].bytes,
        reference: readFileSync(reference.entry).length,
        referenceChunk: readFileSync(reference.chunk).length,
      };
      const us = (ns: number) => round(ns / 1000, 3);
      const ref = referenceEntry.perCall;

      const figures: Figure[] = [
        { name: 'entry, own build: median', value: us(ownBuild.perCall.median), unit: 'µs', reference: us(ref.median), target: 5 },
        { name: 'entry, own build: p99', value: us(ownBuild.perCall.p99), unit: 'µs', reference: us(ref.p99), target: 50 },
        { name: 'entry, other build: median', value: us(otherBuild.perCall.median), unit: 'µs', reference: us(ref.median), target: 5 },
        { name: 'entry, other build: p99', value: us(otherBuild.perCall.p99), unit: 'µs', reference: us(ref.p99), target: 50 },
        { name: 'entry, rollout at 25 %: median', value: us(rollout.perCall.median), unit: 'µs', reference: us(ref.median), target: 5 },
        { name: 'entry, rollout at 25 %: p99', value: us(rollout.perCall.p99), unit: 'µs', reference: us(ref.p99), target: 50 },
        { name: 'chunk router: median', value: us(chunk.perCall.median), unit: 'µs', reference: us(referenceChunk.perCall.median), target: 5 },
        { name: 'chunk router: p99', value: us(chunk.perCall.p99), unit: 'µs', reference: us(referenceChunk.perCall.p99), target: 50 },
        { name: 'entry cold require (median)', value: round(coldMedian.entry, 2), unit: 'ms', reference: round(coldMedian.reference, 2), target: 10 },
        { name: 'chunk cold require (median)', value: round(coldMedian.chunk, 2), unit: 'ms', reference: round(coldMedian.referenceChunk, 2), target: 10 },
        { name: 'empty module cold require (floor)', value: round(coldMedian.empty, 2), unit: 'ms' },
        { name: 'entry first request after cold load (median)', value: round(median(firstRequestMs.entry), 3), unit: 'ms', reference: round(median(firstRequestMs.reference), 3) },
        { name: 'entry zip', value: zipBytes.entry, unit: 'B', reference: zipBytes.reference, target: 100 * 1024 + inlinedBytes },
        { name: 'chunk zip', value: zipBytes.chunk, unit: 'B', reference: zipBytes.referenceChunk, target: 100 * 1024 },
      ];
      const data: EdgeRoutersData = {
        timerOverheadNs: overhead,
        warmNs: { ownBuild, otherBuild, rollout, reference: referenceEntry, chunk, referenceChunk },
        coldMs: cold,
        firstRequestMs,
        zipBytes,
        entryBundleBytes: entryBundle.length,
        inlinedEntryBytes: inlinedBytes,
      };
      return {
        figures,
        notes: [
          `Warm: single awaited calls of each handler loaded from its zip, ${plural(reps.rounds, 'round')} x ${reps.callsPerRound.toLocaleString('en')} calls after ${reps.warmupCalls.toLocaleString('en')} warm-up calls,`,
          `  over ${EVENT_POOL} viewers (IPv4 and IPv6), records cached; each includes ${us(overhead)} µs of timer and await overhead.`,
          `  Round medians (µs): own ${ownBuild.roundMedians.map(us).join(' ')} | reference ${referenceEntry.roundMedians.map(us).join(' ')}.`,
          `Cold init: node -e "require(index.js)" in ${reps.coldRuns} fresh processes per bundle, interleaved; the empty module is Node's own floor on this machine now.`,
          `  The entry bundle is ${entryBundle.length} B, ${inlinedBytes} B of it the inlined index.js (plain, gzip and brotli, base64).`,
          '  First request after a cold load: the call that waits for the record lookup (loopback DNS here; the Lambda resolver in AWS).',
          'Reference: reproductions of the reference design\'s handlers (scripts/bench/reference-*.js): one `_bucket` lookup per instance, then every request rewritten to that bucket.',
        ],
        data: data as unknown as Record<string, unknown>,
      };
    } finally {
      await dns.close();
    }
  },
};

async function warmCalls(handler: Handler, events: readonly CloudFrontRequestEvent[], reps: Repetitions): Promise<WarmResult> {
  const call = (i: number) => handler(events[i % events.length]);
  await timeCalls(call, reps.warmupCalls);
  const rounds: Float64Array[] = [];
  for (let round = 0; round < reps.rounds; round += 1) rounds.push(await timeCalls(call, reps.callsPerRound));
  const all = new Float64Array(reps.rounds * reps.callsPerRound);
  rounds.forEach((samples, index) => all.set(samples, index * reps.callsPerRound));
  return { perCall: distribution(all), roundMedians: rounds.map((samples) => distribution(samples).median) };
}

function firstRequest(handler: Handler, event: CloudFrontRequestEvent): Promise<number> {
  return timeMs(() => handler(event));
}

/** Origin-request events as CloudFront sends them, from EVENT_POOL viewers (a quarter IPv6). */
function eventPool(originDomain: string, uri: string): CloudFrontRequestEvent[] {
  return Array.from({ length: EVENT_POOL }, (_, i) => {
    const clientIp = i % 4 === 3 ? `2001:db8:${(i * 7919) & 0xffff}:${i.toString(16)}::${i.toString(16)}` : `${(i * 37) % 223 + 1}.${(i * 13) & 255}.${(i >> 3) & 255}.${i & 255}`;
    return originRequestEvent({ clientIp, uri, originDomain }, `r${i}`);
  });
}

function cloneEvent(event: CloudFrontRequestEvent): CloudFrontRequestEvent {
  return structuredClone(event);
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

/**
 * Edge functions: the cost of each per request, cold start and size, measured on what the build
 * ships (the viewer-assignment function's published code in its cloudfront-js-2.0 harness, the
 * routers' zips), side by side in the same run with the previous design's entry router (the
 * baseline, which ran on every load) and reproductions of the reference design's handlers.
 */
import { buildEntryPath, ENTRY_PATH } from '../../contracts/distribution-paths';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import { resourceNames } from '../../config';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { compress } from '../../publish/build';
import {
  CLOUDFRONT_FUNCTION_MAX_BYTES,
  loadCloudFrontFunction,
  type CloudFrontFunctionHandler,
  type CloudFrontFunctionViewerEvent,
} from '../../edge-code/cloudfront-function';
import { objectMetadata } from '../../contracts/object-metadata';
import { readZip } from '../../edge-code/zip';
import { startDnsServer } from '../../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer } from '../../loopback/kvs-server';
import { startS3Server } from '../../loopback/s3-server';
import { formatRolloutRecord } from '../baselines/rollout-record';
import { previousRolloutRecord, writeBaselineZip } from '../baseline';
import { loadEdgeHandler, type EdgeHandler } from '../edge-loader';
import { originRequestEvent, viewerRequestEvent } from '../events';
import {
  coldRequireMs,
  distribution,
  median,
  plural,
  round,
  timeCalls,
  timeMs,
  timerOverheadNs,
  type Distribution,
} from '../measure';
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

interface WarmResult {
  readonly perCall: Distribution;
  /** Median of each round, to show how stable the median is. */
  readonly roundMedians: readonly number[];
}

type WarmKey =
  | 'assignSteady'
  | 'assignRollout'
  | 'ownMiss'
  | 'otherMiss'
  | 'fallback'
  | 'previousOwn'
  | 'previousOther'
  | 'previousRollout'
  | 'reference'
  | 'chunk'
  | 'referenceChunk';

export interface EdgeRoutersData {
  readonly timerOverheadNs: number;
  readonly warmNs: Readonly<Record<WarmKey, WarmResult>>;
  /** Per bundle, ms to require it in each fresh process. */
  readonly coldMs: Readonly<
    Record<'entry' | 'previous' | 'chunk' | 'reference' | 'referenceChunk' | 'empty', readonly number[]>
  >;
  /** Per bundle, ms of the first request after a cold load (the record lookup included, for those that make one). */
  readonly firstRequestMs: Readonly<Record<'entry' | 'previous' | 'reference', readonly number[]>>;
  readonly zipBytes: Readonly<Record<'entry' | 'previous' | 'chunk' | 'reference' | 'referenceChunk', number>>;
  readonly functionBytes: number;
  readonly entryBundleBytes: number;
  readonly inlinedEntryBytes: number;
}

export const edgeRouters: BenchSection = {
  id: 'edge-routers',
  title: 'Edge functions: time per request, cold init, size',
  async run(context: BenchContext): Promise<SectionResult> {
    const reps = context.quick ? QUICK : FULL;
    const { config, manifest, buildDir } = context;
    const names = resourceNames(config);
    const own = manifest.buildId;
    const primaryDomain = names.bucketDomain(config.primaryRegion);
    const scratch = mkdtempSync(path.join(context.scratch, 'edge-routers-'));
    const dns = await startDnsServer({ records: { [names.bucketRecord]: config.regions[config.regions.length - 1]! } });
    const s3 = await startS3Server({ buckets: config.regions.map((region) => names.bucket(region)) });
    const kvs = await startKvsServer({
      store: new LocalKeyValueStore({ [ROLLOUT_STATE_KEY]: formatRolloutState(steadyState(own)) }),
    });
    const load = (zip: string): EdgeHandler =>
      loadEdgeHandler(zip, {
        dnsServer: dns.address,
        s3Endpoint: s3.endpoint,
        kvsEndpoint: kvs.endpoint,
        tmpRoot: scratch,
      });
    const loadPrevious = (record: RolloutState, zip: string): EdgeHandler => {
      // A fresh handler starts cold and reads the record once; later changes do not reach it.
      dns.setTxt(previousRolloutRecord(config), formatRolloutRecord(record));
      return load(zip);
    };
    const warm = (handler: (i: number) => unknown) => warmCalls(handler, reps);
    try {
      await putOtherBuild(
        s3,
        config.regions.map((region) => ({ region, bucket: names.bucket(region) })),
      );
      const entryZip = path.join(buildDir, manifest.functions['entry-router'].zip);
      const chunkZip = path.join(buildDir, manifest.functions['chunk-router'].zip);
      const previousZip = await writeBaselineZip(scratch, config, manifest, buildDir);
      const reference = writeReferenceZips(scratch, config, own);
      const functionCode = readFileSync(
        path.join(buildDir, manifest.cloudFrontFunctions['viewer-assignment'].file),
        'utf8',
      );

      const viewers = viewerIps();
      const store = { [ROLLOUT_STORE_HEADER]: kvs.arn };
      const events = (uri: string) =>
        viewers.map((clientIp, i) =>
          originRequestEvent({ clientIp, uri, originDomain: primaryDomain, originCustomHeaders: store }, `r${i}`),
        );
      const entryEvents = events(ENTRY_PATH);
      const ownEvents = events(buildEntryPath(own));
      const otherEvents = events(buildEntryPath(OTHER_BUILD));
      const chunkKey = manifest.assets.find(
        (asset) => asset.key !== manifest.entry.key && asset.key.endsWith('.js'),
      )!.key;
      const chunkEvents = events(`/${chunkKey}`);
      // The value formatted once: the store hands the function a string, and formatting is no part of a load.
      const fn = (state: RolloutState): CloudFrontFunctionHandler => {
        const value = formatRolloutState(state);
        return loadCloudFrontFunction(functionCode, { get: async () => value });
      };
      const viewerEvents: CloudFrontFunctionViewerEvent[] = viewers.map((ip, i) =>
        viewerRequestEvent(
          ip,
          i % 8 === 0 ? { referer: 'https://demo.example.com/page' } : { referer: 'https://shop.example.com/' },
        ),
      );
      const rolling: RolloutState = {
        stable: OTHER_BUILD,
        canary: own,
        weight: 2500,
        salt: 'd-BENCH',
        ring: ['https://demo.example.com'],
      };
      const at =
        <T>(list: readonly T[]) =>
        (i: number) =>
          list[i % list.length]!;

      const overhead = await timerOverheadNs(context.quick ? 0.05 : 1);
      context.log(
        'edge-routers: warm, viewer-assignment function (harness), steady and during a rollout at 25 % with a ring',
      );
      const steadyFn = fn(steadyState(own));
      const rolloutFn = fn(rolling);
      const assignSteady = await warm((i) => steadyFn(structuredCloneEvent(at(viewerEvents)(i))));
      const assignRollout = await warm((i) => rolloutFn(structuredCloneEvent(at(viewerEvents)(i))));
      context.log(
        'edge-routers: warm, entry router on a miss of its own build, of another build (read once from a ' +
          'bucket), and on the unrewritten fallback',
      );
      const entry = load(entryZip);
      const ownMiss = await warm((i) => entry(at(ownEvents)(i)));
      const otherMiss = await warm((i) => entry(at(otherEvents)(i)));
      kvs.store.put(ROLLOUT_STATE_KEY, formatRolloutState(rolling));
      const fallback = await warm((i) => entry(at(entryEvents)(i)));
      context.log("edge-routers: warm, the previous design's entry router (every load), three states");
      const previousOwn = await warm(bind(loadPrevious(steadyState(own), previousZip), entryEvents));
      const previousOther = await warm(bind(loadPrevious(steadyState(OTHER_BUILD), previousZip), entryEvents));
      const previousRollout = await warm(bind(loadPrevious({ ...rolling, ring: [] }, previousZip), entryEvents));
      context.log('edge-routers: warm, reference entry handler, chunk router, reference chunk handler');
      // The reference handlers rewrite the event's request in place: they get their own copies.
      const referenceEntry = await warm(bind(load(reference.entry), entryEvents.map(cloneEvent)));
      const chunk = await warm(bind(load(chunkZip), chunkEvents));
      const referenceChunk = await warm(bind(load(reference.chunk), chunkEvents.map(cloneEvent)));

      context.log(`edge-routers: first request after a cold load, ${reps.coldRuns} loads per bundle`);
      dns.setTxt(previousRolloutRecord(config), formatRolloutRecord(steadyState(own)));
      const firstRequestMs = { entry: [] as number[], previous: [] as number[], reference: [] as number[] };
      const firstRequest = (handler: EdgeHandler, event: CloudFrontRequestEvent) => timeMs(() => handler(event));
      for (let run = 0; run < reps.coldRuns; run += 1) {
        // coldRuns is far below EVENT_POOL.
        firstRequestMs.entry.push(await firstRequest(load(entryZip), ownEvents[run]!));
        firstRequestMs.previous.push(await firstRequest(load(previousZip), entryEvents[run]!));
        firstRequestMs.reference.push(await firstRequest(load(reference.entry), cloneEvent(entryEvents[run]!)));
      }

      context.log(`edge-routers: cold require, ${reps.coldRuns} fresh processes per bundle`);
      const files = {
        entry: extractIndex(entryZip, path.join(scratch, 'entry')),
        previous: extractIndex(previousZip, path.join(scratch, 'previous')),
        chunk: extractIndex(chunkZip, path.join(scratch, 'chunk')),
        reference: extractIndex(reference.entry, path.join(scratch, 'reference')),
        referenceChunk: extractIndex(reference.chunk, path.join(scratch, 'reference-chunk')),
        // Node's own cost of requiring a file, on this machine at this moment: the floor.
        empty: emptyModule(path.join(scratch, 'empty')),
      };
      const cold = coldRequireMs(files, reps.coldRuns);
      const coldMedian = Object.fromEntries(Object.entries(cold).map(([name, runs]) => [name, median(runs)])) as Record<
        keyof typeof files,
        number
      >;

      const entryFiles = readZip(readFileSync(entryZip));
      const entryBundle = entryFiles.find((file) => file.name === 'index.js')!.data.length;
      const storeClientBytes = entryFiles
        .filter((file) => file.name !== 'index.js')
        .reduce((sum, file) => sum + file.data.length, 0);
      const inlinedBytes = inlinedEntryBytes(buildDir, manifest.entry.key);
      const zipBytes = {
        entry: manifest.functions['entry-router'].bytes,
        previous: readFileSync(previousZip).length,
        chunk: manifest.functions['chunk-router'].bytes,
        reference: readFileSync(reference.entry).length,
        referenceChunk: readFileSync(reference.chunk).length,
      };
      const us = (ns: number) => round(ns / 1000, 3);
      const ref = referenceEntry.perCall;
      const pair = (
        name: string,
        result: WarmResult,
        previous: WarmResult | null,
        reference: WarmResult | null,
        targets: [number, number],
      ): Figure[] => [
        {
          name: `${name}: median`,
          value: us(result.perCall.median),
          unit: 'µs',
          ...(previous ? { previous: us(previous.perCall.median) } : {}),
          ...(reference ? { reference: us(reference.perCall.median) } : {}),
          target: targets[0],
        },
        {
          name: `${name}: p99`,
          value: us(result.perCall.p99),
          unit: 'µs',
          ...(previous ? { previous: us(previous.perCall.p99) } : {}),
          ...(reference ? { reference: us(reference.perCall.p99) } : {}),
          target: targets[1],
        },
      ];
      const figures: Figure[] = [
        ...pair('viewer assignment (every load), steady', assignSteady, previousOwn, referenceEntry, [50, 200]),
        ...pair(
          'viewer assignment (every load), rollout at 25 % with a ring',
          assignRollout,
          previousRollout,
          referenceEntry,
          [50, 200],
        ),
        ...pair('entry router on a miss, its own build', ownMiss, previousOwn, referenceEntry, [5, 50]),
        ...pair('entry router on a miss, another build', otherMiss, previousOther, referenceEntry, [10, 100]),
        ...pair(
          'entry router, fallback (state read through the API, cached)',
          fallback,
          previousRollout,
          null,
          [10, 100],
        ),
        ...pair('chunk router', chunk, null, referenceChunk, [5, 50]),
        {
          name: 'entry cold require (median)',
          value: round(coldMedian.entry, 2),
          unit: 'ms',
          previous: round(coldMedian.previous, 2),
          reference: round(coldMedian.reference, 2),
          target: 15,
        },
        {
          name: 'chunk cold require (median)',
          value: round(coldMedian.chunk, 2),
          unit: 'ms',
          reference: round(coldMedian.referenceChunk, 2),
          target: 10,
        },
        { name: 'empty module cold require (floor)', value: round(coldMedian.empty, 2), unit: 'ms' },
        {
          name: 'entry first request after cold load (median)',
          value: round(median(firstRequestMs.entry), 3),
          unit: 'ms',
          previous: round(median(firstRequestMs.previous), 3),
          reference: round(median(firstRequestMs.reference), 3),
        },
        {
          name: 'viewer-assignment function code',
          value: manifest.cloudFrontFunctions['viewer-assignment'].bytes,
          unit: 'B',
          target: CLOUDFRONT_FUNCTION_MAX_BYTES,
        },
        {
          name: 'entry zip',
          value: zipBytes.entry,
          unit: 'B',
          previous: zipBytes.previous,
          reference: zipBytes.reference,
          target: 200 * 1024 + inlinedBytes,
        },
        { name: 'chunk zip', value: zipBytes.chunk, unit: 'B', reference: zipBytes.referenceChunk, target: 100 * 1024 },
      ];
      const data: EdgeRoutersData = {
        timerOverheadNs: overhead,
        warmNs: {
          assignSteady,
          assignRollout,
          ownMiss,
          otherMiss,
          fallback,
          previousOwn,
          previousOther,
          previousRollout,
          reference: referenceEntry,
          chunk,
          referenceChunk,
        },
        coldMs: cold,
        firstRequestMs,
        zipBytes,
        functionBytes: manifest.cloudFrontFunctions['viewer-assignment'].bytes,
        entryBundleBytes: entryBundle,
        inlinedEntryBytes: inlinedBytes,
      };
      return {
        figures,
        notes: [
          `Warm: single awaited calls, ${plural(reps.rounds, 'round')} x ` +
            `${reps.callsPerRound.toLocaleString('en')} calls after ${reps.warmupCalls.toLocaleString('en')} ` +
            `warm-up calls, over ${EVENT_POOL} viewers (IPv4 and IPv6); each includes ${us(overhead)} µs of ` +
            `timer and await overhead.`,
          `  Viewer assignment: the published function in the cloudfront-js-2.0 harness (a V8 context of its ` +
            `own; the store read is a resolved promise), one event copy per call. CloudFront bills a function per ` +
            `invocation, not by time; the figure shows its share of CloudFront's compute budget is small.`,
          '  Entry router: the bundled zip on its cache-miss paths, with loopback S3 and KeyValueStore ' +
            "servers; another build's entry and the fallback's state are read once, then kept by the container. " +
            "Previous: the previous design's router on the same three states (it ran on every load); reference: " +
            'its entry handler (one record lookup, then a rewrite to S3).',
          `  Round medians (µs): assignment ${assignSteady.roundMedians.map(us).join(' ')} | router own ` +
            `${ownMiss.roundMedians.map(us).join(' ')} | previous ${previousOwn.roundMedians.map(us).join(' ')} | ` +
            `reference ${referenceEntry.roundMedians.map(us).join(' ')}.`,
          `Cold init: node -e "require(index.js)" in ${reps.coldRuns} fresh processes per bundle, interleaved; ` +
            `the empty module is Node's own floor on this machine now. The entry router's index.js is ` +
            `${entryBundle} B, ${inlinedBytes} B of it the inlined widget entry; the KeyValueStore client and ` +
            `SigV4A signer its fallback needs (${storeClientBytes} B) are a file of their own in the zip, ` +
            `required on first use only.`,
          '  First request after a cold load: this router answers its own build with no lookup at all; the ' +
            'previous router and the reference waited for a DNS record (loopback here; the Lambda ' +
            'resolver in AWS).',
          `Reference: reproductions of the reference design's handlers (bench/reference-*.js). The median of ` +
            `the reference entry handler is ${us(ref.median)} µs.`,
        ],
        data: data as unknown as Record<string, unknown>,
      };
    } finally {
      await Promise.all([dns.close(), s3.stop(), kvs.close()]);
    }
  },
};

/** The other build's entry in every encoding, in the given buckets, as the upload stores it. */
export async function putOtherBuild(
  s3: Awaited<ReturnType<typeof startS3Server>>,
  buckets: readonly { readonly region: string; readonly bucket: string }[],
): Promise<void> {
  const entry = Buffer.from(`/* build ${OTHER_BUILD} */(()=>{})();\n`);
  for (const { region, bucket } of buckets) {
    for (const [suffix, bytes] of [
      ['', entry],
      ['.gz', compress(entry, 'gzip')],
      ['.br', compress(entry, 'br')],
    ] as const) {
      const key = `assets/${OTHER_BUILD}/index.js${suffix}`;
      const metadata = objectMetadata(key);
      await s3.client(region).send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: metadata.contentType,
          ContentEncoding: metadata.contentEncoding,
          CacheControl: metadata.cacheControl,
        }),
      );
    }
  }
}

/** EVENT_POOL viewer addresses, a quarter of them IPv6. */
function viewerIps(): string[] {
  return Array.from({ length: EVENT_POOL }, (_, i) =>
    i % 4 === 3
      ? `2001:db8:${(i * 7919) & 0xffff}:${i.toString(16)}::${i.toString(16)}`
      : `${((i * 37) % 223) + 1}.${(i * 13) & 255}.${(i >> 3) & 255}.${i & 255}`,
  );
}

function bind(handler: EdgeHandler, events: readonly CloudFrontRequestEvent[]): (i: number) => unknown {
  return (i) => handler(events[i % events.length]!);
}

async function warmCalls(call: (i: number) => unknown, reps: Repetitions): Promise<WarmResult> {
  await timeCalls(call, reps.warmupCalls);
  const rounds: Float64Array[] = [];
  for (let round = 0; round < reps.rounds; round += 1) rounds.push(await timeCalls(call, reps.callsPerRound));
  const all = new Float64Array(reps.rounds * reps.callsPerRound);
  for (const [index, samples] of rounds.entries()) all.set(samples, index * reps.callsPerRound);
  return { perCall: distribution(all), roundMedians: rounds.map((samples) => distribution(samples).median) };
}

/** The function changes the request it is given (the URI): every call gets its own, as CloudFront gives it. */
function structuredCloneEvent(event: CloudFrontFunctionViewerEvent): CloudFrontFunctionViewerEvent {
  return { ...event, request: { ...event.request, uri: ENTRY_PATH } };
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
  const folder = mkdtempSync(`${dir}-`);
  for (const entry of readZip(readFileSync(zip))) writeFileSync(path.join(folder, entry.name), entry.data);
  return path.join(folder, 'index.js');
}

/** Bytes the inlined index.js adds to the entry bundle: plain text plus base64 gzip and brotli. */
function inlinedEntryBytes(buildDir: string, entryKey: string): number {
  const size = (file: string) => readFileSync(path.join(buildDir, file)).length;
  const base64 = (bytes: number) => 4 * Math.ceil(bytes / 3);
  return size(entryKey) + base64(size(`${entryKey}.gz`)) + base64(size(`${entryKey}.br`));
}

/**
 * What one entry load costs at the edge, counted rather than assumed: entry loads sent over HTTP
 * to the local CloudFront (loopback/cloudfront-emulator.ts, the distribution's own rules) in front
 * of the shipped pieces (the published viewer-assignment function in its cloudfront-js-2.0 harness,
 * the bundled routers, loopback S3, KeyValueStore and DNS), counting
 *
 *   - the viewer-assignment function's runs (the emulator's own count: a run per viewer-request
 *     the distribution's rules give the function), and
 *   - its KeyValueStore reads: every `get` the published code makes through `cf.kvs()`, whatever
 *     the key and whether or not the key exists, counted by the store under it.
 *
 * Each load's X-Build-Id must be the build the assignment rule gives that viewer (so previews in
 * the state are in force and applied), or the count throws.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DeployConfig } from '../config';
import { resourceNames } from '../config';
import { assignBuild, previewBuild } from '../contracts/assignment';
import type { BuildManifest } from '../contracts/build-manifest';
import { ENTRY_PATH } from '../contracts/distribution-paths';
import { formatRolloutState, refererOrigin, ROLLOUT_STATE_KEY, type RolloutState } from '../contracts/rollout-state';
import type { LambdaHandler } from '../edge-code/bundled-handler';
import { loadCloudFrontFunction, type FunctionKeyValueStore } from '../edge-code/cloudfront-function';
import { CLIENT_IP_HEADER, startCloudFrontEmulator, type EdgeHandlers } from '../loopback/cloudfront-emulator';
import { startDnsServer } from '../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer } from '../loopback/kvs-server';
import { startS3Server } from '../loopback/s3-server';
import { loadEdgeHandler } from './edge-loader';
import { putOtherBuild } from './sections/edge-routers';

export interface EntryViewer {
  readonly ip: string;
  /** The host page, sent as Referer. @default none */
  readonly referer?: string;
}

export interface EntryLoadCounts {
  readonly loads: number;
  /** Viewer-assignment runs per load (the emulator's count). */
  readonly functionRuns: number;
  /** The function's KeyValueStore reads per load. */
  readonly storeReads: number;
  /** Loads whose viewer a preview in force held (the rule gave the preview's build). */
  readonly previewed: number;
}

export interface EntryLoadOptions {
  readonly config: DeployConfig;
  readonly manifest: BuildManifest;
  readonly buildDir: string;
  /** Folder for the routers' unpacked copies; the caller removes it. */
  readonly scratch: string;
  /** The viewer-assignment code to run. @default the build's published code */
  readonly functionCode?: string;
}

/**
 * Sends every viewer's entry load (`GET /assets/index.js`, brotli accepted) through the local
 * CloudFront once per state, in order, the store holding that state, and counts per load what the
 * function did. Builds the states name must be the build's own or edge-routers' OTHER_BUILD (the
 * only ones the loopback buckets hold).
 */
export async function countEntryLoads<K extends string>(
  options: EntryLoadOptions,
  states: Readonly<Record<K, RolloutState>>,
  viewers: readonly EntryViewer[],
): Promise<Record<K, EntryLoadCounts>> {
  const { config, manifest, buildDir } = options;
  const names = resourceNames(config);
  const buckets = config.regions.map((region) => ({ region, bucket: names.bucket(region) }));
  const dns = await startDnsServer({ records: { [names.bucketRecord]: config.primaryRegion } });
  const s3 = await startS3Server({ buckets: buckets.map((entry) => entry.bucket) });
  const kvs = await startKvsServer({ store: new LocalKeyValueStore() });
  let reads = 0;
  const counted: FunctionKeyValueStore = {
    get: (key) => {
      reads += 1;
      return kvs.store.functionStore.get(key);
    },
  };
  const code = (name: keyof BuildManifest['cloudFrontFunctions']) =>
    readFileSync(path.join(buildDir, manifest.cloudFrontFunctions[name].file), 'utf8');
  // The emulator hands a router whatever event CloudFront would; the bench types it as an origin request.
  const router = (name: 'entry-router' | 'chunk-router'): LambdaHandler =>
    loadEdgeHandler(path.join(buildDir, manifest.functions[name].zip), {
      dnsServer: dns.address,
      s3Endpoint: s3.endpoint,
      kvsEndpoint: kvs.endpoint,
      tmpRoot: options.scratch,
    }) as LambdaHandler;
  const handlers: EdgeHandlers = {
    viewerAssignment: loadCloudFrontFunction(options.functionCode ?? code('viewer-assignment'), counted),
    errorReport: loadCloudFrontFunction(code('error-report')),
    entryRouter: router('entry-router'),
    chunkRouter: router('chunk-router'),
  };
  const problems: string[] = [];
  const emulator = await startCloudFrontEmulator({
    config,
    s3Endpoint: s3.endpoint,
    handlers: () => handlers,
    rolloutStoreArn: kvs.arn,
    log: (line) => problems.push(line),
  });
  try {
    await putOtherBuild(s3, buckets);
    const result = {} as Record<K, EntryLoadCounts>;
    for (const [name, state] of Object.entries(states) as [K, RolloutState][]) {
      kvs.store.put(ROLLOUT_STATE_KEY, formatRolloutState(state));
      const runsBefore = emulator.stats().functionRuns;
      const readsBefore = reads;
      let previewed = 0;
      for (const viewer of viewers) {
        const response = await fetch(`${emulator.url}${ENTRY_PATH}`, {
          headers: {
            [CLIENT_IP_HEADER]: viewer.ip,
            'accept-encoding': 'br, gzip',
            ...(viewer.referer === undefined ? {} : { referer: viewer.referer }),
          },
        });
        await response.arrayBuffer();
        const now = Date.now();
        const expected = assignBuild(state, viewer.ip, refererOrigin(viewer.referer), now);
        const served = response.headers.get('x-build-id');
        if (response.status !== 200 || served !== expected)
          throw new Error(
            `entry loads (${name}): viewer ${viewer.ip} got ${response.status} with X-Build-Id ${served}, ` +
              `the rule gives ${expected}${problems.length > 0 ? `; the emulator said: ${problems.join('; ')}` : ''}`,
          );
        if (previewBuild(state, viewer.ip, now) !== null) previewed += 1;
      }
      result[name] = {
        loads: viewers.length,
        functionRuns: (emulator.stats().functionRuns - runsBefore) / viewers.length,
        storeReads: (reads - readsBefore) / viewers.length,
        previewed,
      };
    }
    return result;
  } finally {
    await emulator.close();
    await Promise.all([dns.close(), s3.stop(), kvs.close()]);
  }
}

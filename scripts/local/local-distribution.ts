/**
 * The whole distribution on one machine, with no AWS account: what `npm start` runs and what the
 * local-mode tests drive.
 *
 *   host page (its own origin) ──▶ CloudFront emulator ──▶ bundled entry / chunk routers
 *                                        │                      │ TXT _rollout, _bucket
 *                                        │                      ▼
 *                                        │               DNS server (loopback)
 *                                        ▼                      ▲ rollout record
 *                               S3 server: one bucket     control plane: simulated CodeDeploy,
 *                               per configured region     metrics API core, alarm, rollout sync core
 *
 * Builds are published with the real upload (every object to every bucket, manifest last), and a
 * release swaps in that build's bundled routers, as `cdktf deploy` associates the new version with
 * the distribution, before the simulated deployment shifts viewers to it.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { resourceNames, type DeployConfig } from '../../config';
import { build, PROJECT_ROOT } from '../build';
import { loadBundledHandler } from '../lib/bundled-handler';
import { readManifest, type BuildManifest } from '../lib/manifest';
import { upload } from '../upload';
import type { AlarmRule } from './alarm';
import { startCloudFrontEmulator, CLIENT_IP_QUERY, type CloudFrontEmulator, type EdgeHandlers } from './cloudfront-emulator';
import { ControlPlane, scaledClock, type Clock, type ControlPlaneStatus } from './control-plane';
import { startDnsServer, type DnsServer } from './dns-server';
import { startS3Server, type S3Server } from './s3-server';

/** Where local builds live, one folder per buildId. */
export const LOCAL_BUILDS_DIR = path.join(PROJECT_ROOT, 'build', 'local');

/**
 * The deploy config, as the local mode runs it: the edges re-read the rollout record every second
 * and the nearest bucket every second (30 s and 60 s by default in AWS), so a rollback shows within
 * a second of real time instead of half a minute. Everything else is the user's config.
 */
export function localConfig(config: DeployConfig): DeployConfig {
  return { ...config, edge: { ...config.edge, rolloutRefreshSeconds: 1, bucketCacheSeconds: 1 } };
}

/** Builds `webappDir` with the local config into build/local/<buildId>/ (kept: same source, same folder). */
export async function buildForLocal(config: DeployConfig, options: { webappDir?: string; buildsDir?: string; log?: (line: string) => void } = {}): Promise<string> {
  const buildsDir = options.buildsDir ?? LOCAL_BUILDS_DIR;
  const staging = path.join(buildsDir, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const result = await build({ config: localConfig(config), outDir: staging, webappDir: options.webappDir, log: options.log });
  const target = path.join(buildsDir, result.manifest.buildId);
  // The build is deterministic: an existing folder for this buildId holds the same bytes.
  if (!existsSync(path.join(target, 'manifest.json'))) {
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(staging, target);
    } catch (error) {
      // Another process finished the same build first: its folder holds the same bytes.
      if (!existsSync(path.join(target, 'manifest.json'))) throw error;
    }
  }
  rmSync(staging, { recursive: true, force: true });
  return target;
}

/** What a build is made from: same fingerprint, same build (the build is deterministic). */
export function sourceFingerprint(config: DeployConfig, webappDir = path.join(PROJECT_ROOT, 'webapp')): string {
  const hash = createHash('sha256').update(JSON.stringify(localConfig(config)));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else hash.update(path.relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  };
  for (const dir of [webappDir, path.join(PROJECT_ROOT, 'edge-function'), path.join(PROJECT_ROOT, 'scripts', 'lib')]) walk(dir);
  for (const file of ['scripts/build.ts', 'package-lock.json']) hash.update(file).update(readFileSync(path.join(PROJECT_ROOT, file)));
  return hash.digest('hex');
}

/** `buildForLocal` unless a build of exactly these sources is already there. */
export async function ensureLocalBuild(config: DeployConfig, options: { webappDir?: string; buildsDir?: string; rebuild?: boolean; log?: (line: string) => void } = {}): Promise<{ buildDir: string; built: boolean }> {
  const buildsDir = options.buildsDir ?? LOCAL_BUILDS_DIR;
  const indexFile = path.join(buildsDir, 'sources.json');
  const index = (existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) : {}) as Record<string, string>;
  const fingerprint = sourceFingerprint(config, options.webappDir);
  const known = index[fingerprint];
  if (!options.rebuild && known && existsSync(path.join(buildsDir, known, 'manifest.json'))) return { buildDir: path.join(buildsDir, known), built: false };
  const buildDir = await buildForLocal(config, options);
  writeFileSync(indexFile, `${JSON.stringify({ ...index, [fingerprint]: path.basename(buildDir) }, null, 2)}\n`);
  return { buildDir, built: true };
}

export interface LocalDistributionOptions {
  readonly config: DeployConfig;
  /** A build made by `buildForLocal`: the first build every viewer gets. */
  readonly buildDir: string;
  /** Simulated minutes per real minute. @default 60 (a one-minute rollout step takes a second) */
  readonly timeScale?: number;
  /** @default scaledClock(timeScale) */
  readonly clock?: Clock;
  /** How often the control plane runs, in real ms; 0 leaves it to the caller's `tick()`. @default 200 */
  readonly tickMs?: number;
  /** The region `_bucket.<domain>` answers with. @default the primary region */
  readonly nearestRegion?: string;
  /** @default config.alarms */
  readonly alarm?: AlarmRule;
  /** @default free ports */
  readonly ports?: { readonly distribution?: number; readonly host?: number };
  /** Folder the buckets are kept in. @default a temporary folder, removed on stop */
  readonly dataDir?: string;
  readonly log?: (line: string) => void;
}

export interface LocalDistribution {
  /** Where `https://<distribution>` is: `<url>/assets/index.js`. */
  readonly url: string;
  /** The host page, on an origin of its own; `?viewer=<ip>` loads the widget as that viewer. */
  readonly hostUrl: string;
  readonly emulator: CloudFrontEmulator;
  readonly controlPlane: ControlPlane;
  readonly dns: DnsServer;
  readonly s3: S3Server;
  readonly buckets: Readonly<Record<string, string>>;
  /** Publishes a build (made by `buildForLocal`) and starts a deployment to it. */
  release(buildDir: string): Promise<{ buildId: string; version: string; deploymentId: string }>;
  status(): ControlPlaneStatus;
  stop(): Promise<void>;
}

export async function startLocalDistribution(options: LocalDistributionOptions): Promise<LocalDistribution> {
  const config = options.config;
  const names = resourceNames(config);
  const log = options.log ?? (() => undefined);
  const buckets = Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)]));
  const first = readManifest(options.buildDir);
  const stack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const close of stack.splice(0).reverse()) await close().catch((error: Error) => log(`stop: ${error.message}`));
  };

  try {
    const dns = await startDnsServer({ ttl: config.dns.rolloutRecordTtl, records: { [names.bucketRecord]: options.nearestRegion ?? config.primaryRegion } });
    stack.push(() => dns.close());
    // The bundles read the resolver address once, when loaded (edge-function/shared/dns.ts).
    process.env.EDGE_DNS_SERVER = `127.0.0.1:${dns.port}`;

    const s3 = await startS3Server({ buckets: Object.values(buckets), directory: options.dataDir });
    stack.push(() => s3.stop());

    const clock = options.clock ?? scaledClock(options.timeScale ?? 60);
    const controlPlane = new ControlPlane({
      config,
      initialBuildId: first.buildId,
      clock,
      alarm: options.alarm,
      writeRolloutRecord: (text) => dns.setTxt(names.rolloutRecord, text),
    });

    await publish(options.buildDir);
    let handlers = loadHandlers(options.buildDir, first);

    const emulator = await startCloudFrontEmulator({
      config,
      s3Endpoint: s3.endpoint,
      handlers: () => handlers,
      metricsApi: controlPlane.metricsApi,
      port: options.ports?.distribution,
      log,
    });
    stack.push(() => emulator.close());

    const host = await startHostPage(emulator.url, options.ports?.host ?? 0);
    stack.push(() => new Promise<void>((resolve) => host.close(() => resolve())));

    const tickMs = options.tickMs ?? 200;
    if (tickMs > 0) {
      const timer = setInterval(() => {
        controlPlane.tick();
        controlPlane.prune();
      }, tickMs);
      stack.push(async () => clearInterval(timer));
    }

    async function publish(buildDir: string): Promise<void> {
      const result = await upload({ config, buildDir, endpoint: s3.endpoint, clientFor: (region) => s3.client(region), log });
      if (!result.ok) throw new Error(`publishing ${buildDir} failed in ${result.regions.filter((r) => !r.ok).map((r) => r.region).join(', ')}`);
    }

    return {
      url: emulator.url,
      hostUrl: `http://127.0.0.1:${(host.address() as AddressInfo).port}/`,
      emulator,
      controlPlane,
      dns,
      s3,
      buckets,
      async release(buildDir) {
        const manifest = readManifest(buildDir);
        await publish(buildDir);
        // `cdktf deploy`: the new versions' code serves every request from now on; the alias
        // weights (the rollout record) still send every viewer to the stable build.
        handlers = loadHandlers(buildDir, manifest);
        const started = controlPlane.release(manifest.buildId);
        log(`release ${manifest.buildId}: version ${started.version}, deployment ${started.deploymentId}`);
        return { buildId: manifest.buildId, ...started };
      },
      status: () => controlPlane.status(),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function loadHandlers(buildDir: string, manifest: BuildManifest): EdgeHandlers {
  return {
    entryRouter: loadBundledHandler(path.join(buildDir, manifest.functions['entry-router'].zip)),
    chunkRouter: loadBundledHandler(path.join(buildDir, manifest.functions['chunk-router'].zip)),
  };
}

/** The customer's page: webapp/host/index.html with the distribution's address in its one tag. */
function startHostPage(distributionUrl: string, port: number): Promise<Server> {
  const template = readFileSync(path.join(PROJECT_ROOT, 'webapp', 'host', 'index.html'), 'utf8');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== '/' && url.pathname !== '/index.html') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404\n');
      return;
    }
    // `?viewer=<ip>` passes on to the script URL: the emulator's client-IP seam, so one browser
    // can be many viewers. Nothing else of the host page changes.
    const viewer = url.searchParams.get(CLIENT_IP_QUERY);
    const page = template.replace('{{DISTRIBUTION}}/assets/index.js', `${distributionUrl}/assets/index.js${viewer ? `?${CLIENT_IP_QUERY}=${encodeURIComponent(viewer)}` : ''}`).replaceAll('{{DISTRIBUTION}}', distributionUrl);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A copy of webapp/ with one edit, for a second build (tests, the benchmark). Beside webapp/ so module paths stay the same. */
export function webappVariant(name: string, edit: (homePage: string) => string): string {
  const dir = path.join(PROJECT_ROOT, `.webapp-copy-${name}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(path.join(PROJECT_ROOT, 'webapp'), dir, { recursive: true });
  const home = path.join(dir, 'src', 'pages', 'Home.tsx');
  const source = readFileSync(home, 'utf8');
  const edited = edit(source);
  if (edited === source) throw new Error('the edit changed nothing: the variant would have the same buildId');
  writeFileSync(home, edited);
  return dir;
}

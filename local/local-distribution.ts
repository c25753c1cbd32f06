/**
 * The whole distribution on one machine, with no AWS account: what `npm start` runs and what the
 * local-mode tests drive.
 *
 *   host page (its own origin) ──▶ CloudFront emulator: viewer-assignment function ──┐
 *                                        │  cache per (rewritten) URI + encoding      │ cf.kvs()
 *                                        ▼                                             ▼
 *                                 bundled entry / chunk routers ── KVS API ──▶ KeyValueStore (loopback)
 *                                        │  S3 GetObject, TXT _bucket                  ▲ rollout state
 *                                        ▼                                             │ (announced to the
 *                        S3 server: one bucket per region, DNS server                 │  timeline first)
 *                                                                       control plane: simulated CodeDeploy,
 *                                                                       both alarms, rollout sync core
 *        /api/e: the error-report function answers 204 at the edge                   ▲ metric store
 *        entry + /api/e ── real-time log records ──▶ Kinesis (in memory) ──▶ signal runner: the signal
 *                                                                            consumer's own code
 *        dashboard page: the release dashboard's panels from the local metrics, and the signal's health
 *
 * Builds are published with the real upload (every object to every bucket, manifest last), and a
 * release swaps in that build's bundled routers, as `cdktf deploy` associates the new version with
 * the distribution, before the simulated deployment shifts viewers to it.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { resourceNames, rolloutSteps, type DeployConfig } from '../config';
import { build, PROJECT_ROOT, type SharedBuildWork } from '../publish/build';
import { checkZipSha256, loadBundledHandler } from '../edge-code/bundled-handler';
import { readManifest, type BuildManifest, type CloudFrontFunctionFile } from '../contracts/build-manifest';
import { upload } from '../publish/upload';
import type { AlarmRule } from './alarm';
import {
  formatRolloutState,
  livePreviews,
  parseRolloutState,
  PREVIEW_DEFAULT_MS,
  PREVIEW_LONGEST_MS,
  ROLLOUT_STATE_KEY,
  sharedBudget,
  steadyState,
  withoutPreview,
  withoutPreviewsOf,
  withoutRingOrigin,
  withPreview,
  withRingOrigin,
  type Preview,
  type RolloutState,
} from '../contracts/rollout-state';
import { normalizeViewerPrefix, viewerPrefixProblem } from '../contracts/viewer-address';
import type { RealtimeLogField } from '../contracts/realtime-log';
import { isBuildId } from '../contracts/build-id';
import {
  formatRevocation,
  parseRevocation,
  reasonProblem,
  revocationKey,
  revocationsOf,
  type Revocation,
} from '../contracts/revocation';
import { KINESIS_WRITE_THROTTLED, statePropagationMs } from '../contracts/release-signal';
import { loadCloudFrontFunction } from '../edge-code/cloudfront-function';
import { dashboardData, startDashboardPage } from './dashboard-page';
import {
  startCloudFrontEmulator,
  CLIENT_IP_QUERY,
  type CloudFrontEmulator,
  type EdgeHandlers,
} from '../loopback/cloudfront-emulator';
import { LocalKeyValueStore, startKvsServer, type KvsServer } from '../loopback/kvs-server';
import { startKinesisServer, type KinesisServer } from '../loopback/kinesis-server';
import type { Clock } from '../loopback/clock';
import { ControlPlane, scaledClock, type ControlPlaneStatus } from './control-plane';
import { startDnsServer, type DnsServer } from '../loopback/dns-server';
import { createRealtimeLogDelivery } from '../loopback/realtime-logs';
import { startS3Server, type S3Server } from '../loopback/s3-server';
import { startSignalRunner, type SignalRunner } from './signal-runner';
import { judgeRule } from '../contracts/canary-judge';
import { DEFAULT_TIME_SCALE } from './status-line';

/** Where local builds live, one folder per buildId. */
export const LOCAL_BUILDS_DIR = path.join(PROJECT_ROOT, 'build', 'local');

/**
 * Where `buildForLocal` builds before moving the build into place: this process's own folder, one
 * subfolder per build (builds may run at once), removed when done.
 */
export function stagingDir(buildsDir: string = LOCAL_BUILDS_DIR): string {
  return path.join(buildsDir, `.staging-${process.pid}`);
}

/**
 * The deploy config, as the local mode runs it: the nearest-bucket answer and the entry router's
 * fallback state are trusted for a second (60 s and 5 s by default in AWS), so what a test or a
 * person changes shows within a second of real time. Everything else is the user's config.
 */
export function localConfig(config: DeployConfig): DeployConfig {
  return { ...config, edge: { ...config.edge, stateCacheSeconds: 1, bucketCacheSeconds: 1 } };
}

/** Builds `webappDir` with the local config into build/local/<buildId>/ (kept: same source, same folder). */
export async function buildForLocal(
  config: DeployConfig,
  options: {
    webappDir?: string;
    buildsDir?: string;
    log?: (line: string) => void;
    sharedWork?: SharedBuildWork;
  } = {},
): Promise<string> {
  const buildsDir = options.buildsDir ?? LOCAL_BUILDS_DIR;
  const processStaging = stagingDir(buildsDir);
  mkdirSync(processStaging, { recursive: true });
  const staging = mkdtempSync(path.join(processStaging, 'build-'));
  const result = await build({
    config: localConfig(config),
    outDir: staging,
    webappDir: options.webappDir,
    log: options.log,
    sharedWork: options.sharedWork,
  });
  const target = path.join(buildsDir, result.manifest.buildId);
  // The build is deterministic, but the same webapp (buildId) built by other function code has
  // other zips: a folder is kept only when it holds exactly this build.
  const existing = path.join(target, 'manifest.json');
  if (
    !existsSync(existing) ||
    readFileSync(existing, 'utf8') !== readFileSync(path.join(staging, 'manifest.json'), 'utf8')
  ) {
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(staging, target);
    } catch (error) {
      // Another process finished the same build first: its folder holds the same bytes.
      if (!existsSync(path.join(target, 'manifest.json'))) throw error;
    }
  }
  rmSync(staging, { recursive: true, force: true });
  // The process's folder goes with its last build; one still in use by another build stays.
  if (readdirSync(processStaging).length === 0) rmSync(processStaging, { recursive: true, force: true });
  return target;
}

/** What a build is made from: same fingerprint, same build (the build is deterministic). */
/**
 * The rooms a build reads (docs/contributing.md): `publish` and every room it may import, and the
 * regional functions, which edge-code bundles by path. A room missing here is a change a cached
 * build would not see (`__tests__/rooms.test.ts` derives the list from the import rules).
 */
export const BUILD_SOURCE_ROOMS = [
  'publish',
  'edge-code',
  'edge-function',
  'regional-function',
  'rollout-control',
  'config',
  'contracts',
] as const;

export function sourceFingerprint(config: DeployConfig, webappDir = path.join(PROJECT_ROOT, 'webapp')): string {
  const hash = createHash('sha256').update(JSON.stringify(localConfig(config)));
  for (const dir of [webappDir, ...BUILD_SOURCE_ROOMS.map((room) => path.join(PROJECT_ROOT, room))])
    hashTree(hash, dir, PROJECT_ROOT);
  hash.update('package-lock.json').update(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json')));
  return hash.digest('hex');
}

/** `buildForLocal` unless a build of exactly these sources is already there. */
export async function ensureLocalBuild(
  config: DeployConfig,
  options: {
    webappDir?: string;
    buildsDir?: string;
    rebuild?: boolean;
    log?: (line: string) => void;
    sharedWork?: SharedBuildWork;
  } = {},
): Promise<{ buildDir: string; built: boolean }> {
  const buildsDir = options.buildsDir ?? LOCAL_BUILDS_DIR;
  const indexFile = path.join(buildsDir, 'sources.json');
  const index = (existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) : {}) as Record<string, string>;
  const fingerprint = sourceFingerprint(config, options.webappDir);
  const known = index[fingerprint];
  if (!options.rebuild && known && existsSync(path.join(buildsDir, known, 'manifest.json')))
    return { buildDir: path.join(buildsDir, known), built: false };
  const buildDir = await buildForLocal(config, options);
  // Read again: another build may have added its entry meanwhile (read and write are one step).
  const latest = (existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) : {}) as Record<string, string>;
  writeFileSync(indexFile, `${JSON.stringify({ ...latest, [fingerprint]: path.basename(buildDir) }, null, 2)}\n`);
  return { buildDir, built: true };
}

export interface LocalDistributionOptions {
  readonly config: DeployConfig;
  /** A build made by `buildForLocal`: the first build every viewer gets. */
  readonly buildDir: string;
  /** Simulated minutes per real minute. @default DEFAULT_TIME_SCALE (a one-minute rollout step takes 10 s) */
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
  /**
   * The order the local CloudFront writes the real-time log fields in, and the consumer reads them
   * in (in AWS, whatever order CloudFront reports for the configuration). @default REALTIME_LOG_FIELDS
   */
  readonly realtimeLogFields?: readonly RealtimeLogField[];
  /** Folder the buckets are kept in. @default a temporary folder, removed on stop */
  readonly dataDir?: string;
  readonly log?: (line: string) => void;
}

/**
 * Something the local distribution was asked to do and will not, having changed nothing: the HTTP
 * status the control server answers with (400: the request itself is wrong; 404: it names what
 * this distribution does not have; 409: the distribution's state forbids it), and why.
 */
export class LocalRefusal extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A revocation the local distribution will not do. */
export class RevocationRefused extends LocalRefusal {}

/** A preview edit the local distribution will not do. */
export class PreviewRefused extends LocalRefusal {}

/** The longest a preview may last, as `rollout preview` allows: a week. */
const MAX_PREVIEW_SECONDS = PREVIEW_LONGEST_MS / 1000;
/** How long a preview lasts when not told: an hour, as `rollout preview add` without --for. */
const DEFAULT_PREVIEW_SECONDS = PREVIEW_DEFAULT_MS / 1000;

export type PreviewAction = 'list' | 'add' | 'remove';

/**
 * What `preview` is asked: for `add`, the build and the viewer, and when it ends, either `until`
 * (epoch seconds, on the local mode's clock) or `seconds` from now (1 s to MAX_PREVIEW_SECONDS; neither:
 * DEFAULT_PREVIEW_SECONDS); for `remove`, the preview of `viewer` or every preview of `build`
 * (one of the two); for `list`, nothing.
 */
export interface PreviewRequest {
  readonly build?: string;
  readonly viewer?: string;
  readonly until?: number;
  readonly seconds?: number;
}

export interface LocalPreviews {
  readonly action: PreviewAction;
  /** `add`: the preview written; `remove`: the previews removed; `list`: none. */
  readonly changed: readonly Preview[];
  /** `add`: the preview of the same prefix it replaced, if one was in force. */
  readonly replaced: Preview | null;
  /** The previews in force after, by the edge's clock. */
  readonly previews: readonly Preview[];
  /** When, on the local mode's clock (the local edge's): what the time left is counted from. */
  readonly now: number;
  /** Bytes the ring and the previews take in the state, and what they may take together (sharedBudget). */
  readonly bytes: number;
  readonly limitBytes: number;
}

export interface LocalRevocation {
  /** The record in the store: for a build revoked before, the first one. */
  readonly revocation: Revocation;
  /** The build was revoked already: the first record stands, and nothing else was done. */
  readonly already: boolean;
  /** The deployment stopped with rollback because the build was its canary; null when none was. */
  readonly stopped: string | null;
  /** The previews of the build that were in force: ended by the revocation. */
  readonly previewsEnded: readonly Preview[];
  readonly status: ControlPlaneStatus;
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
  /** The rollout store: what the viewer-assignment function reads, and its API. */
  readonly kvs: KvsServer;
  /**
   * The release signal: the Kinesis stream the local CloudFront writes its real-time log records
   * to (loopback/kinesis-server.ts), and the runner that reads them into the signal consumer's own code.
   */
  readonly signal: { readonly kinesis: KinesisServer; readonly runner: SignalRunner };
  /** The release dashboard's page. */
  readonly dashboardUrl: string;
  readonly buckets: Readonly<Record<string, string>>;
  /** Publishes a build (made by `buildForLocal`) and starts a deployment to it. */
  release(buildDir: string): Promise<{ buildId: string; version: string; deploymentId: string }>;
  /** `rollout ring add|remove <origin>` against the local store; returns the ring after. */
  ring(action: 'add' | 'remove', origin: string): readonly string[];
  /**
   * `rollout preview list|add|remove`, locally: viewers inside a prefix get a build this
   * distribution published, on every host page and whatever the weight, until a time by the
   * edge's clock: the local mode's (the local CloudFront runs the viewer-assignment function with
   * `Date.now()` on it, and the release signal stamps records by it). Refuses (PreviewRefused,
   * nothing written) what is not a build id, a prefix `viewerPrefixProblem` refuses, a bad end
   * (not ahead, over a week), a build it never published (404), and a revoked build or a state
   * with no room left (409). A `remove` that matches no preview in force removes nothing and writes
   * nothing (`changed` is empty), as `rollout preview remove` does. Announced to the signal's
   * timeline, then written, as `ring`.
   */
  preview(action: PreviewAction, request?: PreviewRequest): LocalPreviews;
  /**
   * `rollout revoke`, locally: a build this distribution published never serves again. Refuses
   * (RevocationRefused) what is not a build id, a build it never published, a reason
   * `reasonProblem` refuses, and the stable build (nothing here could replace it); stops the
   * running deployment with rollback when the build is its canary; ends the build's previews;
   * writes `revoked/<buildId>`; invalidates `/assets/<buildId>/*`; records the 'revoked'
   * notification. Resolves once no cache and no router serves the build.
   */
  revoke(buildId: string, reason: string): Promise<LocalRevocation>;
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
    const dns = await startDnsServer({
      ttl: config.dns.bucketRecordTtl,
      records: { [names.bucketRecord]: options.nearestRegion ?? config.primaryRegion },
    });
    stack.push(() => dns.close());
    const s3 = await startS3Server({ buckets: Object.values(buckets), directory: options.dataDir });
    stack.push(() => s3.stop());
    // Terraform creates the key with the first build as stable; rollout sync owns it from then on.
    const kvs = await startKvsServer({
      store: new LocalKeyValueStore({ [ROLLOUT_STATE_KEY]: formatRolloutState(steadyState(first.buildId)) }),
    });
    stack.push(() => kvs.close());
    // The bundles read their seams once, when loaded (edge-function/shared/seams.ts).
    process.env.EDGE_DNS_SERVER = `127.0.0.1:${dns.port}`;
    process.env.EDGE_S3_ENDPOINT = s3.endpoint;
    process.env.EDGE_KVS_ENDPOINT = kvs.endpoint;

    const clock = options.clock ?? scaledClock(options.timeScale ?? DEFAULT_TIME_SCALE);
    const controlPlane = new ControlPlane({
      config,
      initialBuildId: first.buildId,
      clock,
      alarm: options.alarm,
      // The edges here are the local build's: their fallback trusts a state for localConfig's time.
      statePropagationMs: statePropagationMs(localConfig(config).edge),
      store: {
        read: () => kvs.store.get(ROLLOUT_STATE_KEY),
        write: (text) => void kvs.store.put(ROLLOUT_STATE_KEY, text),
      },
      revocations: () => revocationsOf(kvs.store.keys().map((key) => ({ key, value: kvs.store.get(key) }))),
    });

    // The signal: one stream, read from its tip on by the consumer's runner before anything is logged.
    const kinesis = await startKinesisServer({ streamName: names.signalStream, region: config.primaryRegion });
    stack.push(() => kinesis.close());
    const runner = await startSignalRunner({
      client: kinesis.client,
      streamName: kinesis.streamName,
      functionName: names.signalConsumer,
      namespace: config.metrics.namespace,
      periodSeconds: controlPlane.alarmRule.periodSeconds,
      latenessMs: config.metrics.latenessSeconds * 1000,
      fields: options.realtimeLogFields,
      clock,
      timeline: () => controlPlane.timeline.read(),
      store: controlPlane.metrics,
      log,
      rule: judgeRule(controlPlane.alarmRule),
      steps: rolloutSteps(config.rollout),
      judgments: controlPlane.judgments,
      // As the Lambda invokes rollout sync the moment the judge decides.
      requestSync: () => controlPlane.tick(),
    });
    stack.push(() => runner.stop());
    const delivery = createRealtimeLogDelivery({
      client: kinesis.client,
      streamName: kinesis.streamName,
      log,
      onThrottled: (records) =>
        controlPlane.metrics.add({
          namespace: 'AWS/Kinesis',
          metricName: KINESIS_WRITE_THROTTLED,
          dimensions: { StreamName: kinesis.streamName },
          value: records,
          at: clock.now(),
        }),
    });
    stack.push(() => delivery.close());

    await publish(options.buildDir);
    let handlers = loadHandlers(options.buildDir, first, kvs, clock);

    const emulator = await startCloudFrontEmulator({
      config,
      s3Endpoint: s3.endpoint,
      handlers: () => handlers,
      realtimeLogs: { delivery, clock, fields: options.realtimeLogFields },
      rolloutStoreArn: kvs.arn,
      port: options.ports?.distribution,
      log,
      onEdgeError: () => controlPlane.recordEdgeError(),
    });
    stack.push(() => emulator.close());
    const dashboard = await startDashboardPage({
      data: () => dashboardData(controlPlane, config.metrics.namespace, clock.now()),
    });
    stack.push(() => dashboard.close());

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

    /** The rollout state in the store, and its text; throws when there is none to edit. */
    function storedState(): { text: string; state: RolloutState } {
      const text = kvs.store.get(ROLLOUT_STATE_KEY);
      const state = text === undefined ? null : parseRolloutState(text);
      if (text === undefined || state === null) throw new Error('the local rollout store holds no valid rollout state');
      return { text, state };
    }

    /**
     * `next` into the store unless it is what `text` holds, as `rollout ring` and `rollout preview`
     * do in AWS: announced to the signal's timeline, then written (If-Match the store's ETag).
     */
    function writeState(text: string, next: RolloutState): void {
      const nextText = formatRolloutState(next);
      if (nextText !== text)
        controlPlane.announceAndWrite(nextText, () => void kvs.store.put(ROLLOUT_STATE_KEY, nextText, kvs.store.etag));
    }

    async function publish(buildDir: string): Promise<void> {
      const result = await upload({
        config,
        buildDir,
        endpoint: s3.endpoint,
        clientFor: (region) => s3.client(region),
        log,
      });
      if (!result.ok)
        throw new Error(
          `publishing ${buildDir} failed in ${result.regions
            .filter((r) => !r.ok)
            .map((r) => r.region)
            .join(', ')}`,
        );
    }

    return {
      url: emulator.url,
      hostUrl: `http://127.0.0.1:${(host.address() as AddressInfo).port}/`,
      emulator,
      controlPlane,
      dns,
      s3,
      kvs,
      signal: { kinesis, runner },
      dashboardUrl: dashboard.url,
      buckets,
      async release(buildDir) {
        const manifest = readManifest(buildDir);
        const revoked = kvs.store.get(revocationKey(manifest.buildId));
        if (revoked !== undefined) {
          const { at, reason } = parseRevocation(manifest.buildId, revoked);
          throw new Error(
            `build ${manifest.buildId} was revoked${at === null ? '' : ` at ${new Date(at).toISOString()}`} ` +
              `(${reason}): it cannot be released again; change the app for a new build`,
          );
        }
        // Checked and loaded before anything is published: a build whose code was changed after
        // it was made (or a zip that would unpack outside its folder) is refused, and nothing of it
        // reaches the buckets or serves a request.
        const next = loadHandlers(buildDir, manifest, kvs, clock, { checked: true });
        await publish(buildDir);
        // `cdktf deploy`: the new versions' code serves every request from now on; the alias
        // weights (the rollout record) still send every viewer to the stable build.
        handlers = next;
        const started = controlPlane.release(manifest.buildId);
        log(`release ${manifest.buildId}: version ${started.version}, deployment ${started.deploymentId}`);
        return { buildId: manifest.buildId, ...started };
      },
      ring(action, origin) {
        const { text, state } = storedState();
        const next = action === 'add' ? withRingOrigin(state, origin) : withoutRingOrigin(state, origin);
        writeState(text, next);
        return next.ring;
      },
      preview(action, request = {}) {
        const now = clock.now();
        const { text, state } = storedState();
        const answer = (next: RolloutState, changed: readonly Preview[], replaced: Preview | null) => {
          const budget = sharedBudget(next);
          return {
            action,
            changed,
            replaced,
            previews: livePreviews(next, now),
            bytes: budget.used,
            limitBytes: budget.limit,
            now,
          };
        };
        if (action === 'list') return answer(state, [], null);
        if (action === 'remove') {
          const next = withoutPreviews(state, request, now);
          const removed = livePreviews(state, now).filter(
            (preview) => !livePreviews(next, now).some((kept) => kept.viewer === preview.viewer),
          );
          if (removed.length > 0) writeState(text, next);
          return answer(next, removed, null);
        }
        const { build, viewer, until } = previewToAdd(request, now);
        if (!Object.values(controlPlane.status().versions).includes(build))
          throw new PreviewRefused(
            404,
            `build ${build} is not one this local distribution published (it published ` +
              `${publishedList(controlPlane.status())}): release it first (\`npm run local:release\`), then preview it`,
          );
        const revoked = kvs.store.get(revocationKey(build));
        if (revoked !== undefined) {
          const { at, reason } = parseRevocation(build, revoked);
          throw new PreviewRefused(
            409,
            `build ${build} was revoked${at === null ? '' : ` at ${new Date(at).toISOString()}`} (${reason}): ` +
              'it is never shown to a viewer again, a preview included',
          );
        }
        let next: RolloutState;
        try {
          next = withPreview(state, { build, viewer, until }, now);
        } catch (error) {
          throw new PreviewRefused(error instanceof RangeError ? 409 : 400, (error as Error).message);
        }
        const replaced = livePreviews(state, now).find((preview) => preview.viewer === viewer) ?? null;
        writeState(text, next);
        return answer(next, [{ build, viewer, until }], replaced);
      },
      async revoke(buildId, reason) {
        if (!isBuildId(buildId))
          throw new RevocationRefused(
            400,
            `not a build id: ${JSON.stringify(buildId)} (16 hex digits, as \`npm run local:release -- --status\` ` +
              `shows them)`,
          );
        const problem = reasonProblem(reason);
        if (problem !== null) throw new RevocationRefused(400, `the reason ${problem}`);
        const before = controlPlane.status();
        if (!Object.values(before.versions).includes(buildId))
          throw new RevocationRefused(
            404,
            `build ${buildId} is not one this local distribution published (it published ` +
              `${publishedList(before)}): nothing to revoke`,
          );
        const key = revocationKey(buildId);
        const stored = kvs.store.get(key);
        if (stored !== undefined)
          return {
            revocation: parseRevocation(buildId, stored),
            already: true,
            stopped: null,
            previewsEnded: [],
            status: before,
          };
        if (before.stable.buildId === buildId) throw new RevocationRefused(409, stableRefusal(buildId, before));
        // Viewers first: with the canary out of the state, no viewer is assigned the build any more.
        let stopped: string | null = null;
        if (before.deployment?.status === 'InProgress' && before.canary?.buildId === buildId) {
          controlPlane.stop(`build ${buildId} revoked: ${reason.trim()}`);
          stopped = before.deployment.id;
        }
        // Nor by a preview: the router would serve the build to a preview's viewers, revoked or not.
        const { text, state } = storedState();
        const previewsEnded = livePreviews(state, clock.now()).filter((preview) => preview.build === buildId);
        if (previewsEnded.length > 0) writeState(text, withoutPreviews(state, { build: buildId }, clock.now()));
        kvs.store.put(key, formatRevocation({ at: clock.now(), reason }));
        const revocation = parseRevocation(buildId, kvs.store.get(key));
        log(`revoked ${buildId}: ${revocation.reason}${stopped ? ` (stopped ${stopped})` : ''}`);
        // Its own URL answers 410 from the viewer-assignment function before any cache, and no viewer
        // is assigned it any more; what the caches hold of it goes too, as the AWS command invalidates.
        emulator.invalidate([`/assets/${buildId}/*`]);
        controlPlane.notify({ kind: 'revocation', buildId, reason: revocation.reason });
        return { revocation, already: false, stopped, previewsEnded, status: controlPlane.status() };
      },
      status: () => controlPlane.status(),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** What this distribution published, `<buildId> as v<version>, …`, for a refusal. */
function publishedList(status: ControlPlaneStatus): string {
  return Object.entries(status.versions)
    .map(([version, id]) => `${id} as v${version}`)
    .join(', ');
}

/** The preview `request` asks to add, checked: a build id, a viewer prefix in its stored form, an end ahead. */
function previewToAdd(request: PreviewRequest, nowMs: number): Preview {
  const { build, viewer, until, seconds } = request;
  if (typeof build !== 'string' || !isBuildId(build))
    throw new PreviewRefused(
      400,
      `not a build id: ${JSON.stringify(build ?? null)} (16 hex digits, as \`npm run local:release -- --status\` ` +
        'shows them)',
    );
  if (typeof viewer !== 'string') throw new PreviewRefused(400, 'a preview needs a viewer: an IP address or prefix');
  const normalized = normalizeViewerPrefix(viewer);
  if (normalized === null) throw new PreviewRefused(400, viewerPrefixProblem(viewer) ?? 'not a viewer prefix');
  if (until !== undefined && seconds !== undefined)
    throw new PreviewRefused(400, 'a preview ends at `until` (epoch seconds) or after `seconds`, not both');
  const latest = Math.floor(nowMs / 1000) + MAX_PREVIEW_SECONDS;
  if (until !== undefined) {
    if (!Number.isInteger(until) || until * 1000 <= nowMs || until > latest)
      throw new PreviewRefused(
        400,
        `a preview ends within a week from now: \`until\` must be whole epoch seconds after ` +
          `${Math.floor(nowMs / 1000)} and at most ${latest}; got ${JSON.stringify(until)}`,
      );
    return { build, viewer: normalized, until };
  }
  const duration = seconds ?? DEFAULT_PREVIEW_SECONDS;
  if (!Number.isInteger(duration) || duration < 1 || duration > MAX_PREVIEW_SECONDS)
    throw new PreviewRefused(
      400,
      `a preview lasts from 1 to ${MAX_PREVIEW_SECONDS} seconds (a week); got ${JSON.stringify(duration)}`,
    );
  return { build, viewer: normalized, until: Math.ceil(nowMs / 1000) + duration };
}

/**
 * `state` without the preview of `request.viewer`, or without every preview of `request.build`
 * (exactly one of the two), and without expired ones; `state` itself when neither matches a
 * preview in force (nothing to remove is no failure, as for `rollout preview remove`). Refuses a
 * request that names neither or both, and a bad prefix or build id.
 */
function withoutPreviews(state: RolloutState, request: PreviewRequest, nowMs: number): RolloutState {
  const { viewer, build } = request;
  if ((viewer === undefined) === (build === undefined))
    throw new PreviewRefused(400, 'say which preview to remove: a viewer (its prefix) or a build, one of the two');
  const live = livePreviews(state, nowMs);
  if (viewer !== undefined) {
    const normalized = typeof viewer === 'string' ? normalizeViewerPrefix(viewer) : null;
    if (normalized === null)
      throw new PreviewRefused(400, viewerPrefixProblem(String(viewer)) ?? 'not a viewer prefix');
    return live.some((preview) => preview.viewer === normalized) ? withoutPreview(state, normalized, nowMs) : state;
  }
  if (typeof build !== 'string' || !isBuildId(build))
    throw new PreviewRefused(400, `not a build id: ${JSON.stringify(build)} (16 hex digits)`);
  return live.some((preview) => preview.build === build) ? withoutPreviewsOf(state, build, nowMs) : state;
}

/** Why the stable build cannot be revoked here: nothing could replace it for the viewers it serves. */
function stableRefusal(buildId: string, status: ControlPlaneStatus): string {
  const running = status.deployment?.status === 'InProgress' ? status.canary : null;
  const now = running
    ? `it is the stable build, and the release of ${running.buildId} (${status.deployment!.id}) has not finished`
    : 'it is the stable build and the only one serving';
  return (
    `build ${buildId} cannot be revoked: ${now}, so nothing would replace it for its viewers. Release another ` +
    `build first (\`npm run local:release\`) and let it finish, then revoke ${buildId}. (In AWS, ` +
    `\`npm run rollout -- revoke\` takes \`--to <buildId>\` and replaces it at once; the local mode has no --to.)`
  );
}

/**
 * Throws, naming the file, unless every function zip of the build and its CloudFront Function code
 * are the bytes the build made (the manifest's sha256): code changed after the build is never run.
 */
export function checkFunctionCode(buildDir: string, manifest: BuildManifest): void {
  for (const fn of Object.values(manifest.functions))
    checkZipSha256(readFileSync(path.join(buildDir, fn.zip)), fn.sha256, path.join(buildDir, fn.zip));
  for (const fn of Object.values(manifest.cloudFrontFunctions)) checkedCode(buildDir, fn);
}

/** A CloudFront Function's code, once its bytes are the manifest's. */
function checkedCode(buildDir: string, fn: CloudFrontFunctionFile): string {
  const file = path.join(buildDir, fn.file);
  const code = readFileSync(file);
  const actual = createHash('sha256').update(code).digest('hex');
  if (actual !== fn.sha256)
    throw new Error(
      `${file}: sha256 ${actual} is not the build manifest's ${fn.sha256}: the file was changed after the ` +
        `build; refusing to load it (build again)`,
    );
  return code.toString('utf8');
}

/**
 * The build's edge code. `checked` (a release): every function zip and the CloudFront Function
 * code must be the manifest's bytes first, and the routers are checked again as they are loaded
 * (the bytes hashed are the bytes run). The first build is loaded as given, so that
 * `verify-edge` can run a build whose code was changed on purpose; zip entry names are checked on
 * every load either way (`unpackZip`).
 */
function loadHandlers(
  buildDir: string,
  manifest: BuildManifest,
  kvs: KvsServer,
  clock: Clock,
  options: { checked?: boolean } = {},
): EdgeHandlers {
  if (options.checked) checkFunctionCode(buildDir, manifest);
  const router = (name: 'entry-router' | 'chunk-router') =>
    loadBundledHandler(path.join(buildDir, manifest.functions[name].zip), {
      sha256: options.checked ? manifest.functions[name].sha256 : undefined,
    });
  const code = (name: 'viewer-assignment' | 'error-report') => {
    const fn = manifest.cloudFrontFunctions[name];
    return options.checked ? checkedCode(buildDir, fn) : readFileSync(path.join(buildDir, fn.file), 'utf8');
  };
  return {
    viewerAssignment: loadCloudFrontFunction(code('viewer-assignment'), kvs.store.functionStore, undefined, {
      now: () => clock.now(),
    }),
    errorReport: loadCloudFrontFunction(code('error-report')),
    entryRouter: router('entry-router'),
    chunkRouter: router('chunk-router'),
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
    // The page sends its full URL as Referer, so the widget's chunks and error reports carry the viewer too.
    const page = template
      .replace(
        '{{DISTRIBUTION}}/assets/index.js',
        `${distributionUrl}/assets/index.js${viewer ? `?${CLIENT_IP_QUERY}=${encodeURIComponent(viewer)}` : ''}`,
      )
      .replaceAll('{{DISTRIBUTION}}', distributionUrl)
      .replace('<head>', '<head>\n    <meta name="referrer" content="no-referrer-when-downgrade" />');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * A copy of webapp/ with one edit, for a second build (tests, the benchmark). Beside webapp/ so module paths stay the
 * same.
 */
export function webappVariant(name: string, edit: (homePage: string) => string): string {
  const dir = path.join(PROJECT_ROOT, `.webapp-copy-${name}`);
  // Made beside the copy and swapped in only when it differs: a copy another process is building
  // from at the same moment is left alone when it is already right.
  const staged = `${dir}.${process.pid}`;
  rmSync(staged, { recursive: true, force: true });
  cpSync(path.join(PROJECT_ROOT, 'webapp'), staged, { recursive: true });
  const home = path.join(staged, 'src', 'pages', 'Home.tsx');
  const source = readFileSync(home, 'utf8');
  const edited = edit(source);
  if (edited === source) throw new Error('the edit changed nothing: the variant would have the same buildId');
  writeFileSync(home, edited);
  const treeHash = (root: string) => hashTree(createHash('sha256'), root, root).digest('hex');
  if (existsSync(dir) && treeHash(dir) === treeHash(staged)) {
    rmSync(staged, { recursive: true, force: true });
    return dir;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staged, dir);
  return dir;
}

/** Adds every file under `dir` (its path relative to `base`, then its bytes) to `hash`, in name order. */
function hashTree(hash: Hash, dir: string, base: string): Hash {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, file, base);
    else hash.update(path.relative(base, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash;
}

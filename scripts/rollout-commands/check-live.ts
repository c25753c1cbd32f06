/**
 * `rollout check-live`: fetches what the distribution serves and checks it against what the rollout says it serves,
 * after a deploy (the deploy workflow's last step) or by hand. `verify-edge` checks the edge code before it ships; this
 * checks the live path.
 *
 *   the entry, as two viewers    a build the rollout serves (stable or canary: X-Build-Id), that build's bytes (the
 *                                published manifest's sha256 of its entry), the encoding the viewer accepts, the
 *                                Cache-Control, ETag and Vary the distribution's rules and the entry router give it,
 *                                and a 304 to If-None-Match
 *   one chunk of each build      served in the encoding asked for, that build's bytes, immutable
 *   /api/e                       what the published error-report function answers a GET: its status, its headers, no
 *                                body (a report naming no build, which the release signal counts for nothing)
 *   a made-up build's entry      404
 *
 * Every expected value comes from the code that makes it: the rules in contracts/ (the behaviour a path gets, its
 * response headers policy, its cache key, the objects' metadata), the published-build manifests, and the error-report
 * function's own code. The checker is pure but for the `fetch` it is given; the command reads the facts (from AWS, or
 * from the running `npm start`) and prints.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { ConfigError, type DeployConfig } from '../../config';
import { parsePublishedBuild, type PublishedBuild } from '../../contracts/bucket-layout';
import { isBuildId } from '../../contracts/build-id';
import { readManifest, type BuildManifest } from '../../contracts/build-manifest';
import { buildEntryPath, ENTRY_PATH } from '../../contracts/distribution-paths';
import {
  behaviourOf,
  CLIENT_IP_HEADER,
  DISTRIBUTION_RULES,
  type BehaviourRule,
} from '../../contracts/distribution-rules';
import { ENCODINGS, preferredEncoding, type Encoding } from '../../contracts/encoding';
import { ERROR_REPORT_PATH } from '../../contracts/error-report';
import { objectMetadata, variantOf } from '../../contracts/object-metadata';
import { publishedBuildKey } from '../../contracts/published-build';
import { livePreviews, parseRolloutState, type RolloutState } from '../../contracts/rollout-state';
import { errorMessage } from '../../rollout-control/aws-errors';
import { readRolloutState } from '../../rollout-control/rollout-state-store';
import { getObjectText } from '../../rollout-control/s3';
import { formatDuration, ReportedFailure, UsageError } from '../lib/cli';
import { createContext, rolloutStoreArn, RolloutError, type RolloutCliDeps } from './context';

// ---- what is fetched, and how ----

export interface LiveResponse {
  readonly status: number;
  /** Lowercase names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The bytes as sent: still compressed. */
  readonly body: Buffer;
}

/** A GET of `url` with exactly `headers`; rejects with a one-line reason when no answer comes. */
export type LiveFetch = (url: string, headers: Readonly<Record<string, string>>) => Promise<LiveResponse>;

/**
 * GETs over node:http(s), one connection each: the body as sent (fetch would decompress it), and no answer within
 * `timeoutMs` (connecting included) is a rejection naming the time, as a refused or failed connection is.
 */
export function httpFetch(timeoutMs: number): LiveFetch {
  return (url, headers) =>
    new Promise<LiveResponse>((resolve, reject) => {
      const target = new URL(url);
      let settled = false;
      const settle = (error: Error | null, response?: LiveResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(response!);
      };
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const outgoing = send(target, { method: 'GET', headers: { ...headers }, agent: false }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          settle(null, {
            status: incoming.statusCode ?? 0,
            headers: flatHeaders(incoming.headers),
            body: Buffer.concat(chunks),
          }),
        );
        incoming.on('error', (error) => settle(connectionError(error)));
      });
      const timer = setTimeout(() => {
        settle(new Error(`no answer within ${formatDuration(timeoutMs)}`));
        outgoing.destroy();
      }, timeoutMs);
      outgoing.on('error', (error) => settle(connectionError(error)));
      outgoing.end();
    });
}

function connectionError(error: NodeJS.ErrnoException): Error {
  const why: Readonly<Record<string, string>> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the name did not resolve',
    ETIMEDOUT: 'connection timed out',
  };
  const reason = (error.code && why[error.code]) ?? error.message;
  return new Error(error.code ? `${reason} (${error.code})` : reason);
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

// ---- what is expected ----

/** What a build's published manifest says of the files checked. */
export interface BuildFacts {
  readonly buildId: string;
  /** sha256 of the entry, uncompressed. */
  readonly entrySha256: string;
  /** One chunk: its object key (`assets/<buildId>/<file>`), sha256 uncompressed, and its pre-compressed variants. */
  readonly chunk: { readonly key: string; readonly sha256: string; readonly encodings: readonly Encoding[] } | null;
}

/** What the error-report function answers a GET: CloudFront sends this, and no body. */
export interface ErrorReportAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface LiveExpectations {
  readonly stable: BuildFacts;
  readonly canary: BuildFacts | null;
  /**
   * The builds of the previews in force (`rollout preview`), other than those two: a viewer this
   * command runs as may be inside one (an operator's office previewing a build), and gets it.
   * Taken as served only with `allowPreviews` (--allow-previews): otherwise a previewed build is a
   * failure that says so, as it is in CI, whose runners no preview names, where a function serving
   * a preview to everyone must not pass.
   */
  readonly previewed?: readonly BuildFacts[];
  /** @default false */
  readonly allowPreviews?: boolean;
  readonly errorReport: ErrorReportAnswer;
}

/** The chunk checked: the first script of the build, other than its entry, that has pre-compressed variants. */
function pickChunk(
  entryKey: string,
  files: readonly { readonly key: string; readonly sha256: string; readonly encodings: readonly Encoding[] }[],
): BuildFacts['chunk'] {
  const scripts = files.filter((file) => file.key !== entryKey && file.key.endsWith('.js'));
  return scripts.find((file) => file.encodings.length > 0) ?? scripts[0] ?? null;
}

/** A build's facts from its published manifest (`builds/<id>.json` in a replica bucket). */
export function factsOfPublishedBuild(build: PublishedBuild): BuildFacts {
  const variants = new Map<string, Encoding[]>();
  for (const object of build.objects) {
    const variant = variantOf(object.key);
    if (variant) variants.set(variant.original, [...(variants.get(variant.original) ?? []), variant.encoding]);
  }
  const files = build.objects
    .filter((object) => variantOf(object.key) === null)
    .map((object) => ({ key: object.key, sha256: object.sha256, encodings: variants.get(object.key) ?? [] }));
  const entry = files.find((file) => file.key === build.entry);
  if (!entry) throw new Error(`the published manifest of ${build.buildId} does not list its entry ${build.entry}`);
  return { buildId: build.buildId, entrySha256: entry.sha256, chunk: pickChunk(build.entry, files) };
}

/** A build's facts from its build manifest (the local mode publishes exactly these files). */
export function factsOfManifest(manifest: BuildManifest): BuildFacts {
  const files = manifest.assets.map((asset) => ({
    key: asset.key,
    sha256: asset.sha256,
    encodings: ENCODINGS.filter((encoding) => asset.variants[encoding] !== undefined),
  }));
  return {
    buildId: manifest.buildId,
    entrySha256: manifest.entry.sha256,
    chunk: pickChunk(manifest.entry.key, files),
  };
}

/** The answer of the error-report function's published code to a GET of /api/e, run as CloudFront runs it. */
export async function errorReportAnswer(code: string): Promise<ErrorReportAnswer> {
  const { loadCloudFrontFunction } = await import('../../edge-code/cloudfront-function');
  const answer = await loadCloudFrontFunction(code)({
    version: '1.0',
    context: {
      distributionDomainName: 'check-live.invalid',
      distributionId: 'CHECKLIVE',
      eventType: 'viewer-request',
      requestId: 'check-live',
    },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri: ERROR_REPORT_PATH, querystring: {}, headers: {}, cookies: {} },
  });
  if (!('statusCode' in answer))
    throw new Error('the error-report function passed a GET on instead of answering it: nothing to compare with');
  return {
    status: answer.statusCode,
    headers: Object.fromEntries(
      Object.entries(answer.headers ?? {}).map(([name, { value }]) => [name.toLowerCase(), value]),
    ),
  };
}

/** The rule of the behaviour `urlPath` gets. */
function ruleOf(urlPath: string): BehaviourRule {
  const name = behaviourOf(urlPath);
  return DISTRIBUTION_RULES.ordered.find((rule) => rule.name === name) ?? DISTRIBUTION_RULES.default;
}

/**
 * The Cache-Control a viewer gets for the object at `key` on `urlPath`: the behaviour's response headers policy's,
 * where it overrides (the entry's `no-cache`), else what the origin sends (the object's metadata; the entry router
 * sends the same for an entry).
 */
export function designedCacheControl(urlPath: string, key: string): string {
  const custom = ruleOf(urlPath).responseHeadersPolicy?.custom.find(
    (header) => header.name.toLowerCase() === 'cache-control',
  );
  return custom?.override ? custom.value : objectMetadata(key).cacheControl;
}

/** The request headers a response on `urlPath` varies by: what the cache key holds besides the URI. */
export function designedVary(urlPath: string): readonly string[] {
  const { key } = ruleOf(urlPath).cachePolicy;
  const acceptEncoding = key.acceptEncoding.gzip || key.acceptEncoding.brotli ? ['Accept-Encoding'] : [];
  return [...acceptEncoding, ...key.headers];
}

/** A strong ETag as S3 and the entry router give one: the quoted MD5 of the bytes sent. */
export function designedEtag(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

// ---- the checks ----

export interface Viewer {
  readonly name: string;
  /** The address sent in the local CloudFront's client-IP header; null: this machine's own. */
  readonly ip: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Two viewers as two browsers differ: their own User-Agent, Referer and Accept-Encoding (brotli and gzip, gzip only),
 * and, given addresses, the local CloudFront's client-IP header. Real CloudFront ignores that header and sees this
 * machine's address for both, so there they are assigned alike.
 */
export function twoViewers(ips: readonly string[] | null): readonly Viewer[] {
  return [
    { n: 1, acceptEncoding: 'br, gzip' },
    { n: 2, acceptEncoding: 'gzip' },
  ].map(({ n, acceptEncoding }) => {
    const ip = ips?.[n - 1] ?? null;
    return {
      name: `viewer ${n}`,
      ip,
      headers: {
        'user-agent': `widget-check-live/1 (viewer ${n})`,
        referer: `https://viewer-${n}.check-live.invalid/`,
        'accept-encoding': acceptEncoding,
        ...(ip === null ? {} : { [CLIENT_IP_HEADER]: ip }),
      },
    };
  });
}

export interface CheckResult {
  /** What was checked, e.g. `viewer 1 entry: Cache-Control`. */
  readonly check: string;
  readonly ok: boolean;
  readonly expected: string;
  readonly got: string;
}

export interface LiveReport {
  readonly url: string;
  readonly rollout: { readonly stable: string; readonly canary: string | null };
  /** The build each viewer got (X-Build-Id), null when it got none. */
  readonly viewers: readonly { readonly name: string; readonly ip: string | null; readonly buildId: string | null }[];
  readonly checks: readonly CheckResult[];
  readonly failures: number;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const short = (hash: string) => hash.slice(0, 12);
const shown = (value: string | undefined) => (value === undefined ? '(none)' : JSON.stringify(value));

/** The bytes of `body` once its Content-Encoding is undone; an Error when it cannot be. */
function decoded(body: Buffer, encoding: string | undefined): Buffer | Error {
  try {
    if (encoding === undefined || encoding === '' || encoding === 'identity') return body;
    if (encoding === 'br') return brotliDecompressSync(body);
    if (encoding === 'gzip') return gunzipSync(body);
    return new Error(`an encoding nothing here makes (${encoding})`);
  } catch (error) {
    return new Error(`not ${encoding} (${(error as Error).message})`);
  }
}

/** Header names of a Vary value, lowercase; `*` stands for every one. */
const varyNames = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);

/**
 * Every check, all run whatever the others found, against the distribution at `url` (`scheme://host[:port]`), through
 * `fetch`. `unknownBuildId` is the made-up build whose entry must be 404 (default: a random id the rollout does not
 * serve).
 */
export async function checkLive(
  fetch: LiveFetch,
  url: string,
  expected: LiveExpectations,
  viewers: readonly Viewer[],
  unknownBuildId?: string,
): Promise<LiveReport> {
  const checks: CheckResult[] = [];
  const check = (name: string, ok: boolean, want: string, got: string) =>
    checks.push({ check: name, ok, expected: want, got });
  const previewed = expected.previewed ?? [];
  const roles = [
    { role: 'stable', build: expected.stable },
    ...(expected.canary ? [{ role: 'canary', build: expected.canary }] : []),
    ...(expected.allowPreviews ? previewed.map((build) => ({ role: 'preview', build })) : []),
  ];
  const builds = roles.map(({ build }) => build);
  const servedBuilds = builds.map((b) => b.buildId);
  const describeServed = `${servedBuilds.length > 1 ? 'one of ' : ''}${roles
    .map(({ role, build }) => `${role} ${build.buildId}`)
    .join(', ')}`;
  /** The answer, or a failed check naming the request when there is none. */
  const get = async (what: string, urlPath: string, headers: Readonly<Record<string, string>>) => {
    try {
      return await fetch(`${url}${urlPath}`, headers);
    } catch (error) {
      check(`${what}: answer`, false, `an answer to GET ${urlPath}`, `no answer: ${errorMessage(error)}`);
      return null;
    }
  };

  const seen: { name: string; ip: string | null; buildId: string | null }[] = [];
  for (const viewer of viewers) {
    const what = `${viewer.name} entry`;
    const response = await get(what, ENTRY_PATH, viewer.headers);
    const buildId = response?.headers['x-build-id'] ?? null;
    seen.push({ name: viewer.name, ip: viewer.ip, buildId });
    if (!response) continue;
    check(`${what}: status`, response.status === 200, '200', String(response.status));
    const build = builds.find((b) => b.buildId === buildId);
    const previewOnly = build === undefined && previewed.some((b) => b.buildId === buildId);
    check(
      `${what}: X-Build-Id`,
      build !== undefined,
      describeServed,
      `${shown(buildId ?? undefined)}${
        previewOnly ? ' (a preview in force shows it: if this machine is inside its prefix, use --allow-previews)' : ''
      }`,
    );

    const wantEncoding = preferredEncoding(viewer.headers['accept-encoding']);
    const encoding = response.headers['content-encoding'];
    check(
      `${what}: Content-Encoding`,
      (encoding ?? null) === wantEncoding,
      `${shown(wantEncoding ?? undefined)}, for Accept-Encoding ${JSON.stringify(viewer.headers['accept-encoding'])}`,
      shown(encoding),
    );
    const bytes = decoded(response.body, encoding);
    if (build) {
      const got = bytes instanceof Error ? bytes.message : `sha256 ${short(sha256(bytes))}`;
      check(
        `${what}: body`,
        !(bytes instanceof Error) && sha256(bytes) === build.entrySha256,
        `the entry of ${build.buildId} (sha256 ${short(build.entrySha256)})`,
        got,
      );
    }
    const cacheControl = designedCacheControl(ENTRY_PATH, `assets/${buildId ?? expected.stable.buildId}/index.js`);
    check(
      `${what}: Cache-Control`,
      response.headers['cache-control'] === cacheControl,
      JSON.stringify(cacheControl),
      shown(response.headers['cache-control']),
    );
    const etag = designedEtag(response.body);
    check(
      `${what}: ETag`,
      response.headers.etag === etag,
      `${etag} (the MD5 of the bytes sent)`,
      response.headers.etag ?? '(none)',
    );
    const vary = designedVary(ENTRY_PATH);
    const varies = varyNames(response.headers.vary);
    check(
      `${what}: Vary`,
      vary.every((name) => varies.includes(name.toLowerCase())),
      `naming ${vary.join(', ')}`,
      shown(response.headers.vary),
    );
    if (response.headers.etag !== undefined) {
      const again = await get(`${what} revalidated`, ENTRY_PATH, {
        ...viewer.headers,
        'if-none-match': response.headers.etag,
      });
      if (again)
        check(
          `${what} revalidated: status`,
          again.status === 304,
          `304 to If-None-Match ${response.headers.etag}`,
          String(again.status),
        );
    } else {
      check(`${what} revalidated: status`, false, '304 to If-None-Match <its ETag>', 'nothing to send: no ETag');
    }
  }

  // One chunk of each build a viewer got (the stable build's when none got one the rollout serves).
  const chunkBuilds = builds.filter((b) => seen.some((v) => v.buildId === b.buildId));
  for (const build of chunkBuilds.length > 0 ? chunkBuilds : [expected.stable]) {
    if (build.chunk === null) {
      check(`build ${build.buildId} chunk`, false, 'a chunk in its manifest', 'its manifest lists none');
      continue;
    }
    const { chunk } = build;
    const urlPath = `/${chunk.key}`;
    const what = `chunk ${urlPath}`;
    const acceptEncoding = 'br, gzip';
    const response = await get(what, urlPath, { 'accept-encoding': acceptEncoding });
    if (!response) continue;
    check(`${what}: status`, response.status === 200, '200', String(response.status));
    const preferred = preferredEncoding(acceptEncoding);
    // The stored variant the viewer accepts, brotli first; identity when the build made none.
    const wantEncoding =
      preferred !== null && chunk.encodings.includes(preferred)
        ? preferred
        : (ENCODINGS.find((encoding) => chunk.encodings.includes(encoding)) ?? null);
    const encoding = response.headers['content-encoding'];
    check(
      `${what}: Content-Encoding`,
      (encoding ?? null) === wantEncoding,
      `${shown(wantEncoding ?? undefined)}, for Accept-Encoding ${JSON.stringify(acceptEncoding)}`,
      shown(encoding),
    );
    const bytes = decoded(response.body, encoding);
    check(
      `${what}: body`,
      !(bytes instanceof Error) && sha256(bytes) === chunk.sha256,
      `${chunk.key} of ${build.buildId} (sha256 ${short(chunk.sha256)})`,
      bytes instanceof Error ? bytes.message : `sha256 ${short(sha256(bytes))}`,
    );
    const cacheControl = designedCacheControl(urlPath, chunk.key);
    check(
      `${what}: Cache-Control`,
      response.headers['cache-control'] === cacheControl,
      JSON.stringify(cacheControl),
      shown(response.headers['cache-control']),
    );
  }

  // An error report naming no build: answered as any, counted by the release signal for nothing.
  const report = await get(`error report ${ERROR_REPORT_PATH}`, ERROR_REPORT_PATH, {
    'user-agent': 'widget-check-live/1',
  });
  if (report) {
    const what = `error report ${ERROR_REPORT_PATH}`;
    const want = expected.errorReport;
    check(`${what}: status`, report.status === want.status, String(want.status), String(report.status));
    for (const [name, value] of Object.entries(want.headers))
      check(`${what}: ${name}`, report.headers[name] === value, JSON.stringify(value), shown(report.headers[name]));
    check(
      `${what}: body`,
      report.body.length === 0,
      'none',
      report.body.length === 0 ? 'none' : `${report.body.length} bytes`,
    );
  }

  let unknown = unknownBuildId;
  while (unknown === undefined || servedBuilds.includes(unknown)) unknown = randomBytes(8).toString('hex');
  if (!isBuildId(unknown)) throw new Error(`${JSON.stringify(unknown)} is not a well-formed build id`);
  const unknownPath = buildEntryPath(unknown);
  const missing = await get(`unknown build ${unknownPath}`, unknownPath, { 'accept-encoding': 'br, gzip' });
  if (missing) check(`unknown build ${unknownPath}: status`, missing.status === 404, '404', String(missing.status));

  return {
    url,
    rollout: { stable: expected.stable.buildId, canary: expected.canary?.buildId ?? null },
    viewers: seen,
    checks,
    failures: checks.filter((c) => !c.ok).length,
  };
}

/** One line per check, failures first named FAIL with what was expected and what came back, then the count. */
export function formatLiveReport(report: LiveReport): string[] {
  const lines = [
    `${report.url}: rollout serves stable ${report.rollout.stable}` +
      `${report.rollout.canary ? `, canary ${report.rollout.canary}` : ''}; ${report.viewers
        .map((v) => `${v.name}${v.ip ? ` (${v.ip})` : ''} got ${v.buildId ?? 'no build'}`)
        .join(', ')}`,
  ];
  for (const c of report.checks)
    lines.push(c.ok ? `ok    ${c.check}: ${c.got}` : `FAIL  ${c.check}: expected ${c.expected}, got ${c.got}`);
  lines.push(
    report.failures === 0
      ? `All ${report.checks.length} checks passed.`
      : `${report.failures} of ${report.checks.length} checks failed.`,
  );
  return lines;
}

// ---- the command ----

export interface CheckLiveFlags {
  readonly config?: string;
  readonly json: boolean;
  readonly url?: string;
  readonly local: boolean;
  /** @default where `npm start` writes it */
  readonly controlFile?: string;
  readonly viewerIp?: readonly string[];
  readonly timeout: number;
  /** Checks again, every RECHECK_MS, until every check passes or this long has passed. @default 0: once */
  readonly within?: number;
  readonly build: string;
  /** A build a preview in force shows counts as served (this machine is inside the preview). @default false */
  readonly allowPreviews?: boolean;
}

/** Between two runs of the checks under --within: about how long the edges may serve a state after the next. */
export const RECHECK_MS = 10_000;

/** `--url`: `https://host[:port]` (http on loopback only, for the local distribution), as an origin. */
export function liveUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(text)} is not a URL; write it like https://widget.example.com.`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new UsageError(
      `--url ${JSON.stringify(text)}: the distribution serves over ` +
        `https (http only on loopback, for the local distribution).`,
    );
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash)
    throw new UsageError(`--url ${JSON.stringify(text)} is more than the distribution; write ${url.origin}.`);
  return url.origin;
}

/** `--viewer-ip a,b`: two addresses, one per viewer. */
function viewerIps(list: readonly string[] | undefined): readonly string[] | null {
  if (list === undefined) return null;
  const bad = list.filter((ip) => isIP(ip) === 0);
  if (bad.length > 0 || list.length !== 2)
    throw new UsageError(
      `--viewer-ip takes two different IP addresses, one per ` +
        `viewer, e.g. 192.0.2.10,198.51.100.20; got ${list.join(',')}.`,
    );
  return list;
}

/** The distribution's own address: `https://<domain>` when it serves on its custom domain. */
function configuredUrl(config: Pick<DeployConfig, 'domain' | 'customDomain'>): string {
  if (config.customDomain) return `https://${config.domain}`;
  throw new UsageError(
    'customDomain is false, so the distribution serves on the CloudFront domain it got ' +
      'at deploy time, which the config cannot know; pass it as --url https://<distribution-domain> ' +
      "(the delivery stack's distribution-domain output, printed by cdktf deploy).",
  );
}

interface Facts {
  readonly url: string;
  readonly expected: LiveExpectations;
}

/**
 * From AWS: the rollout state in the store (as `rollout status` reads it), the builds' manifests in the primary bucket.
 */
async function factsFromAws(deps: RolloutCliDeps, flags: CheckLiveFlags): Promise<Facts> {
  const config = deps.loadConfig(flags.config);
  const url = flags.url ?? configuredUrl(config);
  const errorReport = await errorReportAnswer(readErrorReportCode(flags.build, readManifest(flags.build)));
  const context = await createContext(deps, flags.config);
  const arn = await rolloutStoreArn(context);
  const { stored } = await readRolloutState(context.clients.kvs, arn);
  const state = stored?.state;
  if (!state)
    throw new RolloutError(
      `${context.names.rolloutStore} holds ${stored ? 'no valid rollout state' : 'no rollout state'}: ` +
        `nothing to check the distribution against (see \`npm run rollout -- status\`)`,
    );
  const region = context.config.primaryRegion;
  const bucket = context.target.buckets[region]!;
  const facts = async (buildId: string) => {
    const key = publishedBuildKey(buildId);
    const text = await getObjectText(context.clients.s3For(region), bucket, key);
    if (text === null)
      throw new RolloutError(
        `the rollout serves ${buildId}, but ${bucket} (${region}) has no ${key}: it is not published`,
      );
    try {
      return factsOfPublishedBuild(parsePublishedBuild(text, buildId));
    } catch (error) {
      throw new RolloutError(`${bucket}/${key}: ${errorMessage(error)}`);
    }
  };
  return {
    url,
    expected: {
      stable: await facts(state.stable),
      canary: state.canary ? await facts(state.canary) : null,
      previewed: await Promise.all(previewedBuilds(state, context.now()).map(facts)),
      allowPreviews: flags.allowPreviews ?? false,
      errorReport,
    },
  };
}

/** The builds of the previews in force at `nowMs`, other than the stable and canary builds, once each. */
function previewedBuilds(state: RolloutState, nowMs: number): string[] {
  const others = livePreviews(state, nowMs)
    .map((preview) => preview.build)
    .filter((build) => build !== state.stable && build !== state.canary);
  return [...new Set(others)];
}

/** From the running `npm start`: the rollout state its status reports, the builds' folders it published. */
async function factsFromLocal(flags: CheckLiveFlags): Promise<Facts> {
  // Loaded only here: the local mode's modules bring the build with them, which no AWS check needs.
  const [{ callControl, controlFile, readControlAddress }, { LOCAL_BUILDS_DIR }] = await Promise.all([
    import('../../local/control-server'),
    import('../../local/local-distribution'),
  ]);
  const address = readControlAddress(path.resolve(flags.controlFile ?? controlFile(LOCAL_BUILDS_DIR)));
  const status = (await callControl(address, 'GET', '/status')) as { readonly state?: unknown; readonly now: number };
  const state: RolloutState | null = parseRolloutState(status.state);
  if (state === null) throw new RolloutError('the local distribution reports no valid rollout state');
  const manifestOf = (buildId: string) => readManifest(path.join(LOCAL_BUILDS_DIR, buildId));
  const stable = manifestOf(state.stable);
  const canary = state.canary ? manifestOf(state.canary) : null;
  // The newest build's functions are the ones associated, as a deploy associates them.
  const newest = canary ?? stable;
  const errorReport = await errorReportAnswer(readErrorReportCode(path.join(LOCAL_BUILDS_DIR, newest.buildId), newest));
  return {
    url: flags.url ?? address.distribution,
    expected: {
      stable: factsOfManifest(stable),
      canary: canary ? factsOfManifest(canary) : null,
      // By the distribution's clock, which its edge ends previews by.
      previewed: previewedBuilds(state, status.now).map((buildId) => factsOfManifest(manifestOf(buildId))),
      allowPreviews: flags.allowPreviews ?? false,
      errorReport,
    },
  };
}

function readErrorReportCode(buildDir: string, manifest: BuildManifest): string {
  return readFileSync(path.join(buildDir, manifest.cloudFrontFunctions['error-report'].file), 'utf8');
}

/** Runs the checks and prints them; a failure (a check, or the facts unreadable) has been reported when it throws. */
export async function checkLiveCommand(deps: RolloutCliDeps, flags: CheckLiveFlags, fetch?: LiveFetch): Promise<void> {
  const ips = viewerIps(flags.viewerIp);
  if (flags.url !== undefined) liveUrl(flags.url);
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + (flags.within ?? 0);
  let report: LiveReport;
  try {
    for (;;) {
      // Read again each time: the rollout may have moved on since the last run.
      const facts = flags.local ? await factsFromLocal(flags) : await factsFromAws(deps, flags);
      report = await checkLive(
        fetch ?? httpFetch(flags.timeout),
        flags.url === undefined ? facts.url : liveUrl(flags.url),
        facts.expected,
        twoViewers(ips),
      );
      if (report.failures === 0 || now() + RECHECK_MS > deadline) break;
      deps.err(
        `rollout check-live: ${report.failures} of ${report.checks.length} checks failed; checking ` +
          `again in ${formatDuration(RECHECK_MS)} (the edges may still serve the state before this one)`,
      );
      await sleep(RECHECK_MS);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    deps.err(error instanceof ConfigError ? error.message : `rollout check-live: ${errorMessage(error)}`);
    if (flags.json) deps.out(JSON.stringify({ error: errorMessage(error) }, null, 2));
    throw new ReportedFailure();
  }
  if (flags.json) deps.out(JSON.stringify(report, null, 2));
  else for (const line of formatLiveReport(report)) deps.out(line);
  if (report.failures > 0) throw new ReportedFailure();
}

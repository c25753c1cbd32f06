/**
 * The check router code gets before it reaches viewers. CloudFront runs the newest associated
 * Lambda@Edge version and the published function code for every viewer at once, and a rollback
 * of the alias does not undo them (it moves the build, not the code), so a deploy runs this first:
 *
 *   local        the build's own zips and function code, on the whole local request path (the
 *                CloudFront emulator, loopback S3, KeyValueStore and DNS): a recorded set of
 *                requests must get the answers they always get. No AWS needed.
 *   cloudfront   the function code in CloudFront's own runtime: it goes into the DEVELOPMENT stage
 *                of the viewer-assignment function's twin (`<name>-viewer-assignment-check`, on the
 *                same store, associated with nothing), and CloudFront's TestFunction runs recorded
 *                viewer events through it; each must be rewritten to the build the assignment rule
 *                gives for the store's current state, and use at most `edge.maxComputeUtilization`
 *                of the function's compute budget. Two more cases run the same code on the
 *                heaviest states there can be: a full ring (a viewer on none of its origins) and
 *                full previews (a viewer inside none of their prefixes). The ring and the
 *                previews share the state's byte budget, so no state holds both in full.
 *
 * Why not CloudFront continuous deployment (a staging distribution taking part of the traffic):
 * it is not available for a distribution that serves HTTP/3, caps the staging share at 15 %, and
 * CloudFront sends all traffic to the primary at its own peaks; and promoting the staging config
 * outside Terraform would be drift.
 */
import {
  DescribeFunctionCommand,
  DescribeKeyValueStoreCommand as DescribeStoreByName,
  TestFunctionCommand,
  UpdateFunctionCommand,
  type CloudFrontClient,
  type DescribeFunctionCommandOutput,
  type FunctionConfig,
  type TestResult,
} from '@aws-sdk/client-cloudfront';
import { GetKeyCommand, type CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DeployConfig } from '../../config';
import { resourceNames } from '../../config';
import { assignBuild } from '../../contracts/assignment';
import { buildEntryPath, ENTRY_PATH } from '../../contracts/distribution-paths';
import {
  formatRolloutState,
  parseRolloutState,
  refererOrigin,
  ROLLOUT_STATE_KEY,
  withPreview,
  withRingOrigin,
  type RolloutState,
} from '../../contracts/rollout-state';
import { errorName } from '../../rollout-control/aws-errors';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { readManifest } from '../../contracts/build-manifest';
import { withStoreValue } from '../../edge-code/cloudfront-function';

export interface CheckResult {
  readonly name: string;
  /** Null when it passed. */
  readonly problem: string | null;
  /** What a passing check measured, worth a look (a compute utilization). @default none */
  readonly note?: string;
}

interface LocalCheck {
  readonly name: string;
  run(distribution: LocalDistribution, buildId: string, chunk: string): Promise<string | null>;
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** Recorded requests and what they must get: the behaviours a router change could break. */
export const LOCAL_CHECKS: readonly LocalCheck[] = [
  {
    name: 'an entry load gets this build, with X-Build-Id, an ETag and no-cache',
    async run(d, buildId) {
      const r = await get(`${d.url}/assets/index.js`, {
        'x-local-client-ip': '203.0.113.10',
        'accept-encoding': 'br, gzip',
      });
      if (r.status !== 200) return `status ${r.status}`;
      if (r.headers.get('x-build-id') !== buildId) return `X-Build-Id ${r.headers.get('x-build-id')}, not ${buildId}`;
      if (!/^"[0-9a-f]{32}"$/.test(r.headers.get('etag') ?? '')) return `ETag ${r.headers.get('etag')}`;
      return r.headers.get('cache-control') === 'no-cache' ? null : `Cache-Control ${r.headers.get('cache-control')}`;
    },
  },
  {
    name: 'a returning viewer revalidates the entry with its ETag and gets 304',
    async run(d) {
      const first = await get(`${d.url}/assets/index.js`, { 'x-local-client-ip': '203.0.113.11' });
      const again = await get(`${d.url}/assets/index.js`, {
        'x-local-client-ip': '203.0.113.11',
        'if-none-match': first.headers.get('etag') ?? '',
      });
      return again.status === 304 ? null : `status ${again.status}`;
    },
  },
  {
    name: 'an IPv6 viewer gets the entry too',
    async run(d, buildId) {
      const r = await get(`${d.url}/assets/index.js`, { 'x-local-client-ip': '2001:db8::7' });
      return r.status === 200 && r.headers.get('x-build-id') === buildId
        ? null
        : `status ${r.status}, X-Build-Id ${r.headers.get('x-build-id')}`;
    },
  },
  {
    name: 'a chunk of the build comes from the nearest bucket, compressed as accepted',
    async run(d, _buildId, chunk) {
      const r = await get(`${d.url}/${chunk}`, { 'accept-encoding': 'br' });
      if (r.status !== 200) return `status ${r.status}`;
      return r.headers.get('content-encoding') === 'br'
        ? null
        : `Content-Encoding ${r.headers.get('content-encoding')}`;
    },
  },
  {
    name: 'a path outside /assets/<buildId>/ is 404',
    async run(d) {
      const r = await get(`${d.url}/etc/passwd`);
      return r.status === 404 ? null : `status ${r.status}`;
    },
  },
  {
    name: 'with no rollout state at the edge, the entry router still answers (its fallback), uncached',
    async run(d, buildId) {
      const saved = d.kvs.store.get(ROLLOUT_STATE_KEY);
      d.kvs.store.delete(ROLLOUT_STATE_KEY);
      try {
        const r = await get(`${d.url}/assets/index.js`, { 'x-local-client-ip': '203.0.113.12' });
        if (r.status !== 200 || r.headers.get('x-build-id') !== buildId)
          return `status ${r.status}, X-Build-Id ${r.headers.get('x-build-id')}`;
        return null;
      } finally {
        if (saved !== undefined) d.kvs.store.put(ROLLOUT_STATE_KEY, saved);
      }
    },
  },
];

/** Runs LOCAL_CHECKS against `buildDir` on a local distribution of its own; then no edge function may have failed. */
export async function localEdgeChecks(config: DeployConfig, buildDir: string): Promise<CheckResult[]> {
  const manifest = readManifest(buildDir);
  const chunk = manifest.assets
    .map((asset) => asset.key)
    .find((key) => key.endsWith('.js') && !key.endsWith('/index.js'));
  const distribution = await startLocalDistribution({ config, buildDir, tickMs: 0 });
  try {
    const results: CheckResult[] = [];
    for (const check of LOCAL_CHECKS) {
      let problem: string | null;
      try {
        problem =
          chunk === undefined && check.name.startsWith('a chunk')
            ? 'the build has no chunk'
            : await check.run(distribution, manifest.buildId, chunk ?? '');
      } catch (error) {
        problem = `threw: ${(error as Error).message}`;
      }
      results.push({ name: check.name, problem });
    }
    const stats = distribution.emulator.stats();
    const failures = stats.handlerErrors + stats.invalidResults;
    results.push({
      name: 'no edge function threw or returned what CloudFront would refuse',
      problem: failures === 0 ? null : `${stats.handlerErrors} threw, ${stats.invalidResults} invalid`,
    });
    return results;
  } finally {
    await distribution.stop();
  }
}

/**
 * Recorded viewer-request events for TestFunction: addresses of both families, a ring host's page, one without Referer.
 */
export const RECORDED_VIEWERS: readonly { readonly ip: string; readonly referer?: string }[] = [
  { ip: '203.0.113.10', referer: 'https://shop.example.com/product/42' },
  { ip: '198.51.100.200' },
  { ip: '2001:db8:85a3::8a2e:370:7334', referer: 'https://news.example.org/' },
  { ip: '::ffff:192.0.2.1' },
  { ip: '192.0.2.55', referer: 'https://demo.example.com/' },
];

type RecordedViewer = (typeof RECORDED_VIEWERS)[number];

/** Any two builds: the full-ring case fetches nothing. */
const FULL_RING_BUILDS = { stable: '0123456789abcdef', canary: 'fedcba9876543210' } as const;
/** A viewer on a page whose origin is in no ring: the function compares it with every origin. */
export const FULL_RING_VIEWER = { ip: '198.51.100.77', referer: 'https://www.example.net/article/1' } as const;
/** What the full previews show: a third build, so that a viewer wrongly matched gets neither of the others. */
const FULL_PREVIEWS_BUILD = '0f1e2d3c4b5a6978';
/**
 * When the full previews end: 2100-01-01, so they are in force whenever the check runs (and written
 * in ten digits, as every time until 2286).
 */
const FULL_PREVIEWS_UNTIL = 4102444800;
/**
 * A viewer inside none of the full previews' prefixes (fullPreviewsState), but sharing all of each
 * one's first seven groups: the function parses every prefix and compares the viewer with it to the
 * last group. On a page of no ring host, during a rollout: after the previews, the rest of the rule runs.
 */
export const FULL_PREVIEWS_VIEWER = {
  ip: '1:1:1:1:1:1:1:ffff',
  referer: 'https://www.example.net/article/1',
} as const;

/** Origins from the shortest up: http://a … http://9, then http://aa …, each a normalized origin. */
function* shortestOrigins(): Generator<string> {
  const characters = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (let length = 1; ; length += 1) {
    for (let index = 0; index < characters.length ** length; index += 1) {
      let label = '';
      for (let rest = index, place = 0; place < length; place += 1, rest = Math.floor(rest / characters.length))
        label = characters[rest % characters.length] + label;
      yield `http://${label}`;
    }
  }
}

/**
 * The most work one load can ask of the function: a rollout under way (so the ring is consulted),
 * the longest salt, and as many ring origins as `rollout ring add` accepts before the store's
 * 1 KB value quota refuses one (withRingOrigin's budget), the shortest there are, so the most of
 * them: the parser checks each, the rule compares the viewer's origin with each.
 */
export function fullRingState(): RolloutState {
  let state: RolloutState = { ...FULL_RING_BUILDS, weight: 2500, salt: `d-${'F'.repeat(62)}`, ring: [] };
  for (const origin of shortestOrigins()) {
    try {
      state = withRingOrigin(state, origin);
    } catch (error) {
      if (error instanceof RangeError) return state;
      throw error;
    }
  }
  throw new Error('unreachable: the ring budget is finite');
}

/**
 * IPv6 addresses (/128s) with all eight groups written, from the shortest up: 1:1:1:1:1:1:1:1,
 * …:2, … The most work previews can ask of the function per load: measured in the local harness
 * (bench), a state full of these costs more per load than one full of the shortest /48s (::/48,
 * 1::/48, …, more of them but each parsed quicker) or of IPv4 prefixes, and the same as /120s.
 */
function* longestParsedPrefixes(): Generator<string> {
  const last = Number.parseInt(FULL_PREVIEWS_VIEWER.ip.slice(FULL_PREVIEWS_VIEWER.ip.lastIndexOf(':') + 1), 16);
  for (let group = 1; group < last; group += 1) yield `1:1:1:1:1:1:1:${group.toString(16)}/128`;
}

/**
 * The most work previews can ask of the function in one load: a rollout under way (so the rule
 * goes on past the previews), the longest salt, no ring, and as many previews as `rollout preview`
 * accepts before the shared budget (withPreview's) refuses one, each of a prefix the function parses
 * slowest (longestParsedPrefixes), all in force: the parser checks each, and the rule compares the
 * viewer's address with each (FULL_PREVIEWS_VIEWER: inside none, alike up to the last group).
 */
export function fullPreviewsState(nowMs: number = Date.now()): RolloutState {
  let state: RolloutState = { ...FULL_RING_BUILDS, weight: 2500, salt: `d-${'F'.repeat(62)}`, ring: [] };
  for (const viewer of longestParsedPrefixes()) {
    try {
      state = withPreview(state, { build: FULL_PREVIEWS_BUILD, viewer, until: FULL_PREVIEWS_UNTIL }, nowMs);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      // withPreview also refuses a preview that has ended: then there would be none at all.
      if ((state.previews?.length ?? 0) === 0) throw error;
      return state;
    }
  }
  throw new Error('unreachable: the shared budget takes fewer previews than there are prefixes to try');
}

export function testFunctionEvent(viewer: RecordedViewer): Record<string, unknown> {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: viewer.ip },
    request: {
      method: 'GET',
      uri: ENTRY_PATH,
      querystring: {},
      headers: viewer.referer ? { referer: { value: viewer.referer } } : {},
      cookies: {},
    },
  };
}

/**
 * What the function must answer for a viewer given the store's state: the rewritten URI, or the request left alone
 * without a state.
 */
export function expectedUri(state: RolloutState | null, viewer: RecordedViewer): string {
  return state === null
    ? ENTRY_PATH
    : buildEntryPath(assignBuild(state, viewer.ip, refererOrigin(viewer.referer), Date.now()));
}

export interface CloudFrontCheckClients {
  readonly cloudfront: CloudFrontClient;
  readonly kvs: CloudFrontKeyValueStoreClient;
}

/**
 * Puts `code` in the check function's DEVELOPMENT stage and runs RECORDED_VIEWERS through
 * CloudFront's TestFunction, each held to the rule and to `edge.maxComputeUtilization`. Before
 * them, the heaviest cases: the same code with its store read answered by fullRingState(), then by
 * fullPreviewsState() (the real store must not hold either: viewers read it), FULL_RING_VIEWER and
 * FULL_PREVIEWS_VIEWER through them. The stage is left holding `code` as it is, and the function's
 * configuration as Terraform made it (unchangedConfig).
 * `skipped` when the check function does not exist yet (the first deploy creates it; there is no
 * viewer yet to protect).
 */
export async function cloudFrontFunctionCheck(
  config: DeployConfig,
  code: string,
  clients: CloudFrontCheckClients,
): Promise<{ readonly skipped: string | null; readonly results: CheckResult[] }> {
  const names = resourceNames(config);
  const name = names.viewerAssignmentCheck;
  let described: DescribeFunctionCommandOutput;
  try {
    described = await clients.cloudfront.send(new DescribeFunctionCommand({ Name: name, Stage: 'DEVELOPMENT' }));
  } catch (error) {
    if (errorName(error) === 'NoSuchFunctionExists')
      return { skipped: `${name} does not exist yet (the first deploy creates it)`, results: [] };
    throw error;
  }
  let etag = described.ETag;
  const store = (await clients.cloudfront.send(new DescribeStoreByName({ Name: names.rolloutStore }))).KeyValueStore;
  if (!store?.ARN) throw new Error(`CloudFront describes no KeyValueStore ${names.rolloutStore}`);
  const functionConfig = unchangedConfig(name, described.FunctionSummary?.FunctionConfig, store.ARN);
  let state: RolloutState | null = null;
  try {
    state = parseRolloutState(
      (await clients.kvs.send(new GetKeyCommand({ KvsARN: store.ARN, Key: ROLLOUT_STATE_KEY }))).Value,
    );
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
  }
  const maxUtilization = config.edge.maxComputeUtilization;
  const put = async (ifMatch: string | undefined, functionCode: string): Promise<string | undefined> =>
    (
      await clients.cloudfront.send(
        new UpdateFunctionCommand({
          Name: name,
          IfMatch: ifMatch,
          FunctionConfig: functionConfig,
          FunctionCode: new TextEncoder().encode(functionCode),
        }),
      )
    ).ETag;
  const test = async (
    label: string,
    ifMatch: string | undefined,
    viewer: RecordedViewer,
    expected: string,
  ): Promise<CheckResult> => {
    const tested = await clients.cloudfront.send(
      new TestFunctionCommand({
        Name: name,
        IfMatch: ifMatch,
        Stage: 'DEVELOPMENT',
        EventObject: new TextEncoder().encode(JSON.stringify(testFunctionEvent(viewer))),
      }),
    );
    return judgeTestResult(label, tested.TestResult, expected, maxUtilization);
  };

  const results: CheckResult[] = [];
  const fullRing = fullRingState();
  const fullPreviews = fullPreviewsState();
  const heaviest: readonly { label: string; state: RolloutState; viewer: RecordedViewer }[] = [
    {
      label:
        `TestFunction: a full ring (${fullRing.ring.length} origins), viewer ${FULL_RING_VIEWER.ip} on ` +
        `${new URL(FULL_RING_VIEWER.referer).origin}, in none of them`,
      state: fullRing,
      viewer: FULL_RING_VIEWER,
    },
    {
      label:
        `TestFunction: full previews (${fullPreviews.previews?.length ?? 0} IPv6 /128s), viewer ` +
        `${FULL_PREVIEWS_VIEWER.ip}, in none of them`,
      state: fullPreviews,
      viewer: FULL_PREVIEWS_VIEWER,
    },
  ];
  for (const heavy of heaviest) {
    etag = await put(etag, withStoreValue(code, formatRolloutState(heavy.state)));
    results.push(await test(heavy.label, etag, heavy.viewer, expectedUri(heavy.state, heavy.viewer)));
  }
  etag = await put(etag, code);
  for (const viewer of RECORDED_VIEWERS) {
    results.push(
      await test(
        `TestFunction: viewer ${viewer.ip}${viewer.referer ? ` on ${new URL(viewer.referer).origin}` : ''}`,
        etag,
        viewer,
        expectedUri(state, viewer),
      ),
    );
  }
  return { skipped: null, results };
}

/**
 * The check function's configuration as CloudFront has it, to send back with new code: UpdateFunction
 * replaces the comment, runtime and store associations with what it is given, and all three are
 * Terraform's (only the code is under its ignore_changes), so anything else would show as a change
 * in every plan after this check. Refuses a function not associated with the rollout store: its
 * TestFunction would read another state than the one the cases are judged by.
 */
function unchangedConfig(name: string, config: FunctionConfig | undefined, storeArn: string): FunctionConfig {
  if (config?.Runtime === undefined) throw new Error(`CloudFront describes ${name} without its configuration`);
  const associated = config.KeyValueStoreAssociations?.Items?.map((item) => item.KeyValueStoreARN) ?? [];
  if (!associated.includes(storeArn)) {
    throw new Error(
      `${name} reads ${associated.join(', ') || 'no KeyValueStore'}, not the rollout store ${storeArn}: deploy ` +
        `the delivery stack, which associates it, then check again`,
    );
  }
  // No comment comes back as none; Terraform's default is the empty one.
  return {
    Comment: config.Comment ?? '',
    Runtime: config.Runtime,
    KeyValueStoreAssociations: config.KeyValueStoreAssociations,
  };
}

/** What one TestFunction result says: the rewrite the rule gives, within the compute budget allowed. */
function judgeTestResult(
  name: string,
  result: TestResult | undefined,
  expected: string,
  maxUtilization: number,
): CheckResult {
  const problems: string[] = [];
  if (result?.FunctionErrorMessage) {
    problems.push(`the function failed: ${result.FunctionErrorMessage}`);
  } else {
    let uri: unknown;
    try {
      const output = JSON.parse(result?.FunctionOutput ?? 'null') as {
        request?: { uri?: unknown };
        uri?: unknown;
      } | null;
      uri = output?.request?.uri ?? output?.uri;
    } catch {
      uri = undefined;
    }
    if (uri !== expected) problems.push(`rewrote to ${JSON.stringify(uri)}, the rule gives ${expected}`);
  }
  const reported = result?.ComputeUtilization;
  const utilization = reported === undefined || reported.trim() === '' ? Number.NaN : Number(reported);
  if (!Number.isFinite(utilization))
    problems.push(
      `CloudFront reported no ComputeUtilization (${JSON.stringify(reported ?? null)}), so the compute ` +
        `budget is unchecked`,
    );
  else if (utilization > maxUtilization)
    problems.push(
      `ComputeUtilization ${reported} is over edge.maxComputeUtilization (${maxUtilization}): the function ` +
        `used ${reported} % of its compute budget`,
    );
  if (problems.length > 0) return { name, problem: problems.join('; ') };
  return { name, problem: null, note: `ComputeUtilization ${reported} of at most ${maxUtilization}` };
}

/** The function code a build publishes. */
export function functionCodeOf(buildDir: string): string {
  const manifest = readManifest(buildDir);
  return readFileSync(path.join(buildDir, manifest.cloudFrontFunctions['viewer-assignment'].file), 'utf8');
}

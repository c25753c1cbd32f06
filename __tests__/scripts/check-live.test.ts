/**
 * `rollout check-live`: each check against crafted responses (every failure named, with what was expected and what
 * came back), the request layer's timeouts and refused connections, the whole command against the real local
 * distribution (passing, and failing once its entry is served with the wrong Cache-Control), the AWS path's reads
 * (the rollout store and the published manifests, the SDK faked at its boundary), and its usage errors.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { loadConfig, resourceNames, type DeployConfig } from '../../config';
import { publishedBuildKey } from '../../contracts/bucket-layout';
import { readManifest } from '../../contracts/build-manifest';
import {
  DISTRIBUTION_RULES,
  type OrderedBehaviourRule,
  type ResponseHeadersPolicy,
} from '../../contracts/distribution-rules';
import { IMMUTABLE_CACHE_CONTROL } from '../../contracts/distribution-paths';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { startControlServer, type ControlServer } from '../../local/control-server';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { getObjectText } from '../../rollout-control/s3';
import { runRolloutCli, type RolloutCliDeps, type RolloutClients } from '../../scripts/rollout-commands';
import {
  checkLive,
  designedCacheControl,
  designedVary,
  errorReportAnswer,
  factsOfManifest,
  httpFetch,
  twoViewers,
  type BuildFacts,
  type LiveExpectations,
  type LiveFetch,
  type LiveResponse,
} from '../../scripts/rollout-commands/check-live';
import { localBuilds } from '../fixtures/local';

const config = loadConfig();
const builds = localBuilds();

// ---- crafted responses ----

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const UNKNOWN = '00000000000000aa';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const md5Etag = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`;
const entryOf = (buildId: string) => Buffer.from(`/* entry of ${buildId} */ console.log(${JSON.stringify(buildId)});`);
const chunkOf = (buildId: string) => Buffer.from(`/* chunk of ${buildId} */ export const x = ${'1+'.repeat(50)}1;`);
const chunkKey = (buildId: string) => `assets/${buildId}/42.0123456789.js`;
const facts = (buildId: string): BuildFacts => ({
  buildId,
  entrySha256: sha256(entryOf(buildId)),
  chunk: { key: chunkKey(buildId), sha256: sha256(chunkOf(buildId)), encodings: ['br', 'gzip'] },
});
const EXPECTED: LiveExpectations = {
  stable: facts(STABLE),
  canary: facts(CANARY),
  errorReport: { status: 204, headers: { 'cache-control': 'no-store' } },
};
const entryRule = DISTRIBUTION_RULES.ordered.find((rule) => rule.name === 'entry') as OrderedBehaviourRule;
const entryPolicy = entryRule.responseHeadersPolicy as ResponseHeadersPolicy;
const ENTRY_CACHE_CONTROL = entryPolicy.custom.find((h) => h.name === 'Cache-Control')?.value as string;

const encode = (bytes: Buffer, acceptEncoding: string | undefined): { body: Buffer; encoding?: string } =>
  acceptEncoding?.includes('br')
    ? { body: brotliCompressSync(bytes), encoding: 'br' }
    : acceptEncoding?.includes('gzip')
      ? { body: gzipSync(bytes), encoding: 'gzip' }
      : { body: bytes };

interface Distribution {
  /** The build viewer `n` (1 or 2) is assigned. */
  assign: (viewer: string) => string;
  entry?: (response: LiveResponse, headers: Readonly<Record<string, string>>) => LiveResponse;
  chunk?: (response: LiveResponse) => LiveResponse;
  errorReport?: LiveResponse;
  unknown?: LiveResponse;
  fail?: (url: string) => Error | null;
}

/** A distribution that answers as designed, each part replaceable. */
function distribution(d: Distribution): { fetch: LiveFetch; asked: string[] } {
  const asked: string[] = [];
  const fetch: LiveFetch = async (url, headers) => {
    const { pathname } = new URL(url);
    asked.push(`${pathname}${headers['if-none-match'] ? ' (If-None-Match)' : ''}`);
    const failure = d.fail?.(pathname);
    if (failure) throw failure;
    if (pathname === '/assets/index.js') {
      const buildId = d.assign(headers['user-agent'] ?? '');
      const { body, encoding } = encode(entryOf(buildId), headers['accept-encoding']);
      const designed: LiveResponse = {
        status: 200,
        headers: {
          'cache-control': ENTRY_CACHE_CONTROL,
          etag: md5Etag(body),
          vary: 'Accept-Encoding',
          'x-build-id': buildId,
          ...(encoding ? { 'content-encoding': encoding } : {}),
        },
        body,
      };
      const response = d.entry ? d.entry(designed, headers) : designed;
      const { etag } = response.headers;
      if (etag !== undefined && headers['if-none-match'] === etag)
        return { status: 304, headers: { etag }, body: Buffer.alloc(0) };
      return response;
    }
    const chunk = /^\/assets\/([0-9a-f]{16})\/42\.0123456789\.js$/.exec(pathname);
    if (chunk) {
      const { body, encoding } = encode(chunkOf(chunk[1]!), headers['accept-encoding']);
      const response: LiveResponse = {
        status: 200,
        headers: { 'cache-control': IMMUTABLE_CACHE_CONTROL, ...(encoding ? { 'content-encoding': encoding } : {}) },
        body,
      };
      return d.chunk ? d.chunk(response) : response;
    }
    if (pathname === '/api/e')
      return d.errorReport ?? { status: 204, headers: { 'cache-control': 'no-store' }, body: Buffer.alloc(0) };
    return d.unknown ?? { status: 404, headers: {}, body: Buffer.from('404') };
  };
  return { fetch, asked };
}

const viewerOne = (ua: string) => ua.includes('viewer 1');
const run = (d: Distribution) =>
  checkLive(distribution(d).fetch, 'https://widget.example.com', EXPECTED, twoViewers(null), UNKNOWN);
const failed = async (d: Distribution) =>
  (await run(d)).checks.filter((c) => !c.ok).map((c) => `${c.check}: expected ${c.expected}, got ${c.got}`);

describe('the checks, against crafted responses', () => {
  it('pass when the distribution answers as designed, each viewer on its own build', async () => {
    const { fetch, asked } = distribution({ assign: (ua) => (viewerOne(ua) ? STABLE : CANARY) });
    const report = await checkLive(fetch, 'https://widget.example.com', EXPECTED, twoViewers(null), UNKNOWN);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.failures).toBe(0);
    expect(report.viewers.map((v) => v.buildId)).toEqual([STABLE, CANARY]);
    // Both viewers' entries and their revalidations, one chunk of each build they got, the error report, the made-up
    // build.
    expect(asked).toEqual([
      '/assets/index.js',
      '/assets/index.js (If-None-Match)',
      '/assets/index.js',
      '/assets/index.js (If-None-Match)',
      `/${chunkKey(STABLE)}`,
      `/${chunkKey(CANARY)}`,
      '/api/e',
      `/assets/${UNKNOWN}/index.js`,
    ]);
  });

  it(
    'the two viewers differ as two browsers do, and carry ' + 'the local client-IP header only when given addresses',
    () => {
      const [one, two] = twoViewers(['192.0.2.10', '198.51.100.20']);
      expect(one!.headers['user-agent']).not.toBe(two!.headers['user-agent']);
      expect(one!.headers.referer).not.toBe(two!.headers.referer);
      expect([one!.headers['x-local-client-ip'], two!.headers['x-local-client-ip']]).toEqual([
        '192.0.2.10',
        '198.51.100.20',
      ]);
      expect(Object.keys(twoViewers(null)[0]!.headers)).not.toContain('x-local-client-ip');
    },
  );

  it(
    'takes a build a preview in force shows as served only with --allow-previews; without, names the preview ' +
      'in the failure',
    async () => {
      const PREVIEWED = '00000000000000bb';
      const { fetch } = distribution({ assign: (ua) => (viewerOne(ua) ? PREVIEWED : STABLE) });
      const check = (expected: LiveExpectations) =>
        checkLive(fetch, 'https://widget.example.com', expected, twoViewers(null), UNKNOWN);
      // Inside the preview, and said so: it passes, each viewer on the build it got.
      const allowed = await check({ ...EXPECTED, previewed: [facts(PREVIEWED)], allowPreviews: true });
      expect(allowed.checks.filter((c) => !c.ok)).toEqual([]);
      expect(allowed.viewers.map((v) => v.buildId)).toEqual([PREVIEWED, STABLE]);
      expect(
        (await check({ ...EXPECTED, canary: null, previewed: [facts(PREVIEWED)], allowPreviews: true })).checks.find(
          (c) => c.check === 'viewer 2 entry: X-Build-Id',
        )?.expected,
      ).toBe(`one of stable ${STABLE}, preview ${PREVIEWED}`);
      // Not said (CI): a failure, naming the preview as the likely cause.
      const strict = await check({ ...EXPECTED, previewed: [facts(PREVIEWED)] });
      expect(strict.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.got}`)).toEqual([
        `viewer 1 entry: X-Build-Id: "${PREVIEWED}" (a preview in force shows it: if this machine is inside its ` +
          'prefix, use --allow-previews)',
      ]);
      // A build no preview shows: the plain failure.
      expect((await check(EXPECTED)).checks.find((c) => !c.ok)?.got).toBe(`"${PREVIEWED}"`);
    },
  );

  it('names a build the rollout does not serve', async () => {
    expect(await failed({ assign: () => UNKNOWN })).toEqual([
      `viewer 1 entry: X-Build-Id: expected one of stable ${STABLE}, canary ${CANARY}, got "${UNKNOWN}"`,
      `viewer 2 entry: X-Build-Id: expected one of stable ${STABLE}, canary ${CANARY}, got "${UNKNOWN}"`,
    ]);
  });

  it("names a body that is not the build's entry", async () => {
    const other = gzipSync(Buffer.from('something else'));
    const failures = await failed({
      assign: () => STABLE,
      entry: (response, headers) =>
        viewerOne(headers['user-agent'] ?? '')
          ? {
              ...response,
              headers: { ...response.headers, 'content-encoding': 'gzip', etag: md5Etag(other) },
              body: other,
            }
          : response,
    });
    expect(failures).toEqual([
      'viewer 1 entry: Content-Encoding: expected "br", for Accept-Encoding "br, gzip", got "gzip"',
      `viewer 1 entry: body: expected the entry of ${STABLE} ` +
        `(sha256 ${EXPECTED.stable.entrySha256.slice(0, 12)}), got ` +
        `sha256 ${sha256(Buffer.from('something else')).slice(0, 12)}`,
    ]);
  });

  it('names a body that does not decode as its Content-Encoding says', async () => {
    const failures = await failed({
      assign: () => STABLE,
      entry: (response) => ({
        ...response,
        body: Buffer.from('not brotli at all'),
        headers: { ...response.headers, etag: md5Etag(Buffer.from('not brotli at all')) },
      }),
    });
    expect(failures).toEqual([
      expect.stringMatching(
        /^viewer 1 entry: body: expected the entry of 0123456789abcdef \(sha256 \w+\), got not br \(/,
      ),
      expect.stringMatching(
        /^viewer 2 entry: body: expected the entry of 0123456789abcdef \(sha256 \w+\), got not gzip \(/,
      ),
    ]);
  });

  it("names the entry's Cache-Control, ETag and Vary when they are not as designed", async () => {
    const failures = await failed({
      assign: () => STABLE,
      entry: (response) => ({
        ...response,
        headers: { ...response.headers, 'cache-control': 'public, max-age=300', etag: 'W/"weak"', vary: 'Origin' },
      }),
    });
    expect(failures).toEqual(
      expect.arrayContaining([
        'viewer 1 entry: Cache-Control: expected "no-cache", got "public, max-age=300"',
        expect.stringMatching(
          /^viewer 1 entry: ETag: expected "[0-9a-f]{32}" \(the MD5 of the bytes sent\), got W\/"weak"$/,
        ),
        'viewer 1 entry: Vary: expected naming Accept-Encoding, got "Origin"',
      ]),
    );
    expect(failures).toHaveLength(6);
  });

  it('names a missing ETag, and the revalidation it leaves nothing to send', async () => {
    const failures = await failed({
      assign: () => STABLE,
      entry: (response) => {
        const { etag: _etag, ...headers } = response.headers;
        return { ...response, headers };
      },
    });
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^viewer 2 entry: ETag: expected "[0-9a-f]{32}" \(the MD5 of the bytes sent\), got \(none\)$/,
        ),
        'viewer 2 entry revalidated: status: expected 304 to If-None-Match <its ETag>, got nothing to send: no ETag',
      ]),
    );
  });

  it("names a chunk in the wrong encoding, with another build's bytes, or cached as if it could change", async () => {
    const failures = await failed({
      assign: () => STABLE,
      chunk: () => ({ status: 200, headers: { 'cache-control': 'no-cache' }, body: chunkOf(CANARY) }),
    });
    const key = `/${chunkKey(STABLE)}`;
    expect(failures).toEqual([
      `chunk ${key}: Content-Encoding: expected "br", for Accept-Encoding "br, gzip", got (none)`,
      `chunk ${key}: body: expected ${chunkKey(STABLE)} of ${STABLE} ` +
        `(sha256 ${EXPECTED.stable.chunk!.sha256.slice(0, 12)}), ` +
        `got sha256 ${sha256(chunkOf(CANARY)).slice(0, 12)}`,
      `chunk ${key}: Cache-Control: expected "${IMMUTABLE_CACHE_CONTROL}", got "no-cache"`,
    ]);
  });

  it('names an error endpoint that answers otherwise than the error-report function', async () => {
    expect(
      await failed({
        assign: () => STABLE,
        errorReport: { status: 200, headers: { 'cache-control': 'max-age=60' }, body: Buffer.from('ok') },
      }),
    ).toEqual([
      'error report /api/e: status: expected 204, got 200',
      'error report /api/e: cache-control: expected "no-store", got "max-age=60"',
      'error report /api/e: body: expected none, got 2 bytes',
    ]);
  });

  it("names a made-up build's entry that is not 404", async () => {
    expect(
      await failed({ assign: () => STABLE, unknown: { status: 200, headers: {}, body: entryOf(STABLE) } }),
    ).toEqual([`unknown build /assets/${UNKNOWN}/index.js: status: expected 404, got 200`]);
  });

  it('names a request with no answer, and still runs every other check', async () => {
    const report = await run({
      assign: () => STABLE,
      fail: (pathname) => (pathname === '/api/e' ? new Error('no answer within 5s') : null),
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([
      {
        check: 'error report /api/e: answer',
        ok: false,
        expected: 'an answer to GET /api/e',
        got: 'no answer: no answer within 5s',
      },
    ]);
    expect(report.checks.filter((c) => c.ok).length).toBeGreaterThan(15);
  });

  it('takes the designed values from the rules and the code that set them', async () => {
    // The entry: the entry behaviour's response headers policy overrides what the router sends; a chunk: the object's.
    expect(designedCacheControl('/assets/index.js', `assets/${STABLE}/index.js`)).toBe(ENTRY_CACHE_CONTROL);
    expect(designedCacheControl(`/${chunkKey(STABLE)}`, chunkKey(STABLE))).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(designedVary('/assets/index.js')).toEqual(['Accept-Encoding']);
    const stable = readManifest(builds.stable.dir);
    const code = readFileSync(path.join(builds.stable.dir, stable.cloudFrontFunctions['error-report'].file), 'utf8');
    expect(await errorReportAnswer(code)).toEqual({ status: 204, headers: { 'cache-control': 'no-store' } });
    const { chunk, entrySha256 } = factsOfManifest(stable);
    expect(entrySha256).toBe(stable.entry.sha256);
    expect(chunk).toMatchObject({
      key: expect.stringMatching(/^assets\/[0-9a-f]{16}\/.+\.js$/),
      encodings: ['br', 'gzip'],
    });
    expect(chunk!.key).not.toBe(stable.entry.key);
  });
});

// ---- the request layer ----

describe('httpFetch', () => {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  });

  it('gives up on a server that never answers, naming the time', async () => {
    server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await expect(httpFetch(200)(`http://127.0.0.1:${port}/assets/index.js`, {})).rejects.toThrow(
      'no answer within 200ms',
    );
  });

  it('names a refused connection', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    await expect(httpFetch(2000)(`http://127.0.0.1:${port}/`, {})).rejects.toThrow('connection refused (ECONNREFUSED)');
  });
});

// ---- the command ----

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

async function rollout(argv: readonly string[], deps: Partial<RolloutCliDeps> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRolloutCli(argv, {
    loadConfig: () => config,
    createClients: () => {
      throw new Error('no AWS in this test');
    },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    ...deps,
  });
  return { code, out, err };
}

describe('against the local distribution', () => {
  let local: LocalDistribution | null = null;
  let control: ControlServer | null = null;
  let dir: string;
  let file: string;
  const VIEWERS = ['--viewer-ip', '192.0.2.10,198.51.100.20'];

  // One distribution for the cases: starting one (its servers, the upload of the build to every region, the edge
  // bundles) was most of what each case cost, and none changes it but for its header fault, cleared after each.
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'check-live-'));
    file = path.join(dir, 'control.json');
    local = await startLocalDistribution({ config, buildDir: builds.stable.dir });
    control = await startControlServer(local, { addressFile: file });
  });
  afterEach(() => {
    if (local) local.emulator.headerFault = null;
  });
  afterAll(async () => {
    await control?.close();
    await local?.stop();
    control = null;
    local = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check, as two viewers on two addresses, and exits 0', async () => {
    const result = await rollout(['check-live', '--local', '--control-file', file, ...VIEWERS]);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out[0]).toBe(
      `${local!.url}: rollout serves stable ${builds.stable.buildId}; viewer 1 (192.0.2.10) ` +
        `got ${builds.stable.buildId}, viewer 2 (198.51.100.20) got ${builds.stable.buildId}`,
    );
    expect(result.out.filter((line) => line.startsWith('FAIL'))).toEqual([]);
    expect(result.out.at(-1)).toMatch(/^All \d+ checks passed\.$/);
    // The emulator assigned them as two viewers.
    const seen = new Set<string>();
    local!.emulator.onEntry((entry) => void (entry.assigned && seen.add(entry.clientIp)));
    const json = await rollout(['check-live', '--local', '--control-file', file, ...VIEWERS, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out.join('\n')) as { failures: number; viewers: { ip: string }[] };
    expect(report.failures).toBe(0);
    expect(report.viewers.map((v) => v.ip)).toEqual(['192.0.2.10', '198.51.100.20']);
    expect([...seen].sort()).toEqual(['192.0.2.10', '198.51.100.20']);
  });

  it('fails when the entry is served with the wrong cache headers, naming the cause, exit 1', async () => {
    local!.emulator.headerFault = { behaviour: 'entry', headers: { 'cache-control': 'public, max-age=300' } };
    const result = await rollout(['check-live', '--local', '--control-file', file, ...VIEWERS]);
    expect(result.code).toBe(1);
    expect(result.out.filter((line) => line.startsWith('FAIL'))).toEqual([
      'FAIL  viewer 1 entry: Cache-Control: expected "no-cache", got "public, max-age=300"',
      'FAIL  viewer 2 entry: Cache-Control: expected "no-cache", got "public, max-age=300"',
    ]);
    expect(result.out.at(-1)).toMatch(/^2 of \d+ checks failed\.$/);
    const json = await rollout(['check-live', '--local', '--control-file', file, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.out.join('\n')) as { failures: number; checks: { check: string; ok: boolean }[] };
    expect(report.checks.filter((c) => !c.ok).map((c) => c.check)).toEqual([
      'viewer 1 entry: Cache-Control',
      'viewer 2 entry: Cache-Control',
    ]);
  });

  it('with --within, checks again until every check passes, reading the rollout again each time', async () => {
    local!.emulator.headerFault = { behaviour: 'entry', headers: { vary: null } };
    let sleeps = 0;
    const result = await rollout(['check-live', '--local', '--control-file', file, '--within', '1m'], {
      // The edges catch up while it waits.
      sleep: async () => {
        sleeps += 1;
        local!.emulator.headerFault = null;
      },
    });
    expect(sleeps).toBe(1);
    expect(result.code).toBe(0);
    expect(result.err).toEqual([
      expect.stringMatching(/^rollout check-live: 2 of \d+ checks failed; checking again in 10s /),
    ]);
    expect(result.out.at(-1)).toMatch(/^All \d+ checks passed\.$/);
  });

  it('with --within, gives up once the time is up, printing the last run, exit 1', async () => {
    local!.emulator.headerFault = { behaviour: 'entry', headers: { vary: null } };
    let t = 0;
    const result = await rollout(['check-live', '--local', '--control-file', file, '--within', '15s'], {
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
    });
    expect(result.code).toBe(1);
    // Checked at 0 s and at 10 s; a third run would start after the 15 s.
    expect(t).toBe(10_000);
    expect(result.err).toHaveLength(1);
    expect(result.out.filter((line) => line.startsWith('FAIL'))).toEqual([
      'FAIL  viewer 1 entry: Vary: expected naming Accept-Encoding, got (none)',
      'FAIL  viewer 2 entry: Vary: expected naming Accept-Encoding, got (none)',
    ]);
  });

  it('counts a distribution that does not answer in time as failed, every request named, exit 1', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    try {
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as AddressInfo;
      const result = await rollout([
        'check-live',
        '--local',
        '--control-file',
        file,
        '--url',
        `http://127.0.0.1:${port}`,
        '--timeout',
        '200ms',
      ]);
      expect(result.code).toBe(1);
      const failures = result.out.filter((line) => line.startsWith('FAIL'));
      expect(failures).toHaveLength(5);
      for (const line of failures)
        expect(line).toMatch(/: answer: expected an answer to GET \S+, got no answer: no answer within 200ms$/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it(
    'reads the rollout state from the store and the ' + 'manifests from the primary bucket when run against AWS',
    async () => {
      // The AWS path, its SDK faked at the boundary: the store holds the local rollout state, the bucket the manifests
      // the local upload wrote; the distribution checked is the local one.
      const state = formatRolloutState(steadyState(builds.stable.buildId));
      const region = config.primaryRegion;
      const bucket = local!.buckets[region]!;
      let primaryBucket = bucket;
      const published = await getObjectText(local!.s3.client(region), bucket, publishedBuildKey(builds.stable.buildId));
      const asked: string[] = [];
      /** A client answering each command, by its class name, with what `answers` gives for its input. */
      const fake = (answers: readonly [string, (input: Record<string, unknown>) => unknown][]) => ({
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          asked.push(command.constructor.name);
          const answer = answers.find(([name]) => name === command.constructor.name)?.[1];
          if (!answer) throw new Error(`unexpected ${command.constructor.name}`);
          return answer(command.input);
        },
      });
      const clients = {
        sts: fake([['GetCallerIdentityCommand', () => ({ Account: '123456789012' })]]),
        cloudfront: fake([['DescribeKeyValueStoreCommand', () => ({ KeyValueStore: { ARN: 'arn:kvs' } })]]),
        kvs: fake([
          ['DescribeKeyValueStoreCommand', () => ({ ETag: 'e1' })],
          ['GetKeyCommand', () => ({ Value: state })],
        ]),
        s3For: () =>
          fake([
            [
              'GetObjectCommand',
              (input) =>
                input.Bucket === primaryBucket && input.Key === publishedBuildKey(builds.stable.buildId)
                  ? { Body: { transformToString: async () => published } }
                  : Promise.reject(Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' })),
            ],
          ]) as unknown as S3Client,
      } as unknown as RolloutClients;
      const result = await rollout(['check-live', '--url', local!.url, '--build', builds.stable.dir], {
        createClients: () => clients,
      });
      expect(result.err).toEqual([]);
      expect(result.code).toBe(0);
      expect(asked).toEqual([
        'GetCallerIdentityCommand',
        'DescribeKeyValueStoreCommand',
        'DescribeKeyValueStoreCommand',
        'GetKeyCommand',
        GetObjectCommand.name,
      ]);
      expect(result.out.at(-1)).toMatch(/^All \d+ checks passed\.$/);

      // Without --url: https://<domain>, the distribution's custom domain. One that cannot resolve is a failed check
      // naming why, each request's.
      const unresolvable: DeployConfig = { ...config, domain: 'widget.check-live.invalid' };
      primaryBucket = resourceNames(unresolvable).bucket(region);
      const elsewhere = await rollout(['check-live', '--build', builds.stable.dir, '--timeout', '5s', '--json'], {
        loadConfig: () => unresolvable,
        createClients: () => clients,
      });
      expect(elsewhere.code).toBe(1);
      const report = JSON.parse(elsewhere.out.join('\n')) as { url: string; checks: { ok: boolean; got: string }[] };
      expect(report.url).toBe('https://widget.check-live.invalid');
      expect(report.checks).toHaveLength(5);
      for (const c of report.checks)
        expect(c).toEqual({
          check: expect.stringMatching(/: answer$/),
          ok: false,
          expected: expect.any(String),
          got: expect.stringMatching(
            /^no answer: (no such host \(ENOTFOUND\)|the name did not resolve \(EAI_AGAIN\)|no answer within 5s)$/,
          ),
        });
    },
  );
});

describe('usage', () => {
  const notHere = {
    createClients: () => {
      throw new Error('no AWS in a usage error');
    },
  };
  it.each([
    [['--viewer-ip', '192.0.2.10'], '--viewer-ip takes two different IP addresses'],
    [['--viewer-ip', '192.0.2.10,viewer-two'], '--viewer-ip takes two different IP addresses'],
    [['--url', 'ftp://widget.example.com'], 'the distribution serves over https'],
    [['--url', 'https://widget.example.com/assets/index.js'], 'is more than the distribution'],
    [['--url', 'not a url'], 'is not a URL'],
    [['--timeout', '5'], 'expected a duration with its unit'],
    [['--timeout', '1h'], 'expected a duration from 100ms to 2m'],
    [['--no-such-option'], "unknown option '--no-such-option'"],
  ])('%j exits 2, saying why, before anything is asked', async (args, message) => {
    const errors: string[] = [];
    const code = await runRolloutCli(['check-live', ...args], {
      loadConfig: () => config,
      ...notHere,
      out: () => undefined,
      err: (line) => errors.push(line),
    });
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain(message);
  });

  it('exits 2 without --url when the distribution serves on the CloudFront domain only', async () => {
    const cloudFrontOnly: DeployConfig = { ...config, customDomain: false };
    const result = await rollout(['check-live'], { loadConfig: () => cloudFrontOnly, ...notHere });
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toContain('pass it as --url https://<distribution-domain>');
  });
});

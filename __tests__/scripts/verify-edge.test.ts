/**
 * The check a deploy runs before router code reaches viewers (scripts/lib/edge-check.ts): the
 * build's own zips and function code on the local request path, and the function in CloudFront's
 * TestFunction (answered here at the SDK boundary by the same published code in the
 * cloudfront-js-2.0 harness, as CloudFront would run it).
 */
import {
  CloudFrontClient,
  DescribeFunctionCommand,
  TestFunctionCommand,
  UpdateFunctionCommand,
  type FunctionConfig,
} from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, resourceNames } from '../../config';
import {
  formatRolloutState,
  livePreviews,
  MAX_STATE_BYTES,
  sharedBudget,
  stateBytes,
  withPreview,
  withRingOrigin,
  type RolloutState,
} from '../../contracts/rollout-state';
import { previewBuild } from '../../contracts/assignment';
import { addressGroups, inViewerPrefix, normalizeViewerPrefix } from '../../contracts/viewer-address';
import {
  cloudFrontFunctionCheck,
  expectedUri,
  FULL_PREVIEWS_VIEWER,
  FULL_RING_VIEWER,
  fullPreviewsState,
  fullRingState,
  functionCodeOf,
  RECORDED_VIEWERS,
} from '../../scripts/lib/edge-check';
import { cloudFrontFunctionProblems, withStoreValue } from '../../edge-code/cloudfront-function';
import { readManifest } from '../../contracts/build-manifest';
import { createZip, readZip } from '../../edge-code/zip';
import { invoke } from '../../scripts/lib/cli';
import { verifyEdge, verifyEdgeCommand } from '../../scripts/verify-edge';
import { fakeCheckFunctionApi, type Utilization } from '../fixtures/cloudfront-check-function';
import { localBuilds } from '../fixtures/local';
import { only, ref, synthesize } from '../stacks/support';

const config = loadConfig();
const names = resourceNames(config);
const builds = localBuilds();

/** The verify-edge command in this process; what it printed, by stream. */
async function runCommand(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await invoke(verifyEdgeCommand(), argv, {
    out: (text) => (out += text),
    error: (text) => (err += text),
  });
  return { code, out, err };
}

describe("on the local request path, with the build's own zips", () => {
  // One check leaves the store empty on purpose, and the router says so on console.warn: expected
  // here, so kept out of the test output.
  beforeAll(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());
  const consoleLog = console.log;

  it('passes a good build', async () => {
    const lines: string[] = [];
    expect(await verifyEdge({ config, buildDir: builds.stable.dir, out: (line) => lines.push(line) })).toBe(true);
    expect(lines.at(-1)).toMatch(/^all \d+ edge checks passed$/);
    expect(lines.filter((line) => line.startsWith('ok'))).toHaveLength(7);
  });

  it('stops router code that throws, naming what broke', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-edge-'));
    try {
      cpSync(builds.stable.dir, dir, { recursive: true });
      const zipFile = path.join(dir, readManifest(dir).functions['entry-router'].zip);
      // The same zip, with a handler that throws on every request.
      const entries = readZip(readFileSync(zipFile)).map((entry) =>
        entry.name === 'index.js'
          ? { ...entry, data: Buffer.from("exports.handler = async () => { throw new Error('broken router'); };\n") }
          : entry,
      );
      writeFileSync(zipFile, createZip(entries));
      const lines: string[] = [];
      expect(await verifyEdge({ config, buildDir: dir, out: (line) => lines.push(line) })).toBe(false);
      expect(lines).toContain('FAIL  an entry load gets this build, with X-Build-Id, an ETag and no-cache: status 503');
      expect(lines.at(-1)).toMatch(/edge checks failed: do not deploy this router code$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    '--json: every check with pass or fail and its detail, stdout the JSON only even when a router logs with ' +
      'console.log; exit 1',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-edge-'));
      try {
        cpSync(builds.stable.dir, dir, { recursive: true });
        const zipFile = path.join(dir, readManifest(dir).functions['entry-router'].zip);
        // A router that logs on stdout's console.log, then throws, on every request.
        const entries = readZip(readFileSync(zipFile)).map((entry) =>
          entry.name === 'index.js'
            ? {
                ...entry,
                data: Buffer.from(
                  "exports.handler = async () => { console.log('router log line'); throw new " +
                    "Error('broken router'); };\n",
                ),
              }
            : entry,
        );
        writeFileSync(zipFile, createZip(entries));
        const { code, out, err } = await runCommand(['--build', dir, '--json']);
        expect(code).toBe(1);
        const report = JSON.parse(out);
        expect(out).toBe(`${JSON.stringify(report, null, 2)}\n`);
        expect(report).toMatchObject({ ok: false, cloudFrontSkipped: null });
        expect(report.passed + report.failed).toBe(report.checks.length);
        expect(report.failed).toBeGreaterThan(0);
        expect(report.checks[0]).toEqual({
          name: 'an entry load gets this build, with X-Build-Id, an ETag and no-cache',
          ok: false,
          problem: 'status 503',
        });
        expect(
          report.checks.find((check: { name: string }) => check.name === 'a path outside /assets/<buildId>/ is 404'),
        ).toEqual({ name: 'a path outside /assets/<buildId>/ is 404', ok: true, problem: null });
        expect(err).toContain('router log line');
        expect(console.log).toBe(consoleLog);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("in CloudFront's runtime (TestFunction on the check function)", () => {
  const cloudfront = mockClient(CloudFrontClient);
  const kvs = mockClient(CloudFrontKeyValueStoreClient);
  const STORE_ARN = `arn:aws:cloudfront::123456789012:key-value-store/${names.rolloutStore}`;
  const STATE: RolloutState = {
    stable: builds.stable.buildId,
    canary: builds.canary.buildId,
    weight: 5000,
    salt: 'd-CHECK0001',
    ring: ['https://demo.example.com'],
  };
  const clients = () => ({
    cloudfront: new CloudFrontClient({ region: 'us-east-1' }),
    kvs: new CloudFrontKeyValueStoreClient({ region: 'us-east-1' }),
  });

  /**
   * The check function as the delivery stack synthesizes it, in CloudFront's words: what Terraform
   * created, and what a plan compares with (the store reference resolved to the store's ARN).
   */
  function synthesizedCheckFunction(): FunctionConfig {
    const { delivery } = synthesize(config);
    const twin = only(delivery, 'aws_cloudfront_function', (fn) => fn.name === names.viewerAssignmentCheck);
    const store = only(delivery, 'aws_cloudfront_key_value_store', (kvs) => kvs.name === names.rolloutStore);
    expect(twin.key_value_store_associations).toEqual([ref(delivery, 'aws_cloudfront_key_value_store', store, 'arn')]);
    // Only the code is the check's to change.
    expect(twin.lifecycle).toEqual({ ignore_changes: ['code'] });
    return {
      Comment: twin.comment as string,
      Runtime: twin.runtime as FunctionConfig['Runtime'],
      KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: STORE_ARN }] },
    };
  }
  let deployed: FunctionConfig;
  beforeAll(() => {
    deployed = synthesizedCheckFunction();
  });

  /** CloudFront running the check function as deployed (or as given), the store holding `state`. */
  function cloudFrontRunning(
    state: RolloutState | null,
    utilization?: Utilization,
    functionConfig: FunctionConfig = deployed,
  ): void {
    fakeCheckFunctionApi({
      cloudfront,
      kvs,
      functionName: names.viewerAssignmentCheck,
      functionArn: `arn:aws:cloudfront::123456789012:function/${names.viewerAssignmentCheck}`,
      storeName: names.rolloutStore,
      storeArn: STORE_ARN,
      functionConfig,
      state,
      utilization,
    });
  }
  beforeEach(() => {
    cloudfront.reset();
    kvs.reset();
  });
  afterAll(() => {
    cloudfront.restore();
    kvs.restore();
  });

  it(
    "puts the code in the check function's DEVELOPMENT " + 'stage and agrees with the rule for every recorded viewer',
    async () => {
      cloudFrontRunning(STATE);
      const code = functionCodeOf(builds.stable.dir);
      const { skipped, results } = await cloudFrontFunctionCheck(config, code, clients());
      expect(skipped).toBeNull();
      // The full-ring case, the full-previews case, then every recorded viewer.
      expect(results.map((r) => r.problem)).toEqual([null, null, ...RECORDED_VIEWERS.map(() => null)]);
      const updates = cloudfront.commandCalls(UpdateFunctionCommand).map((call) => call.args[0].input);
      expect(updates).toHaveLength(3);
      for (const update of updates) {
        expect(update).toMatchObject({
          Name: names.viewerAssignmentCheck,
          FunctionConfig: {
            Runtime: 'cloudfront-js-2.0',
            KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: STORE_ARN }] },
          },
        });
      }
      expect(updates.map((update) => update.IfMatch)).toEqual(['E1', 'E2', 'E3']);
      // The stage is left holding the code as it is, the code the next deploy publishes.
      expect(Buffer.from(updates[2]!.FunctionCode!).toString('utf8')).toBe(code);
      expect(
        cloudfront.commandCalls(TestFunctionCommand).every((call) => call.args[0].input.Stage === 'DEVELOPMENT'),
      ).toBe(true);
      // The recorded viewers cover both builds and the ring.
      expect(new Set(RECORDED_VIEWERS.map((viewer) => expectedUri(STATE, viewer))).size).toBe(2);
    },
  );

  describe("the function's compute budget (TestFunction's ComputeUtilization)", () => {
    const verify = async (): Promise<{ passed: boolean; lines: string[] }> => {
      const lines: string[] = [];
      const passed = await verifyEdge({
        config,
        buildDir: builds.stable.dir,
        cloudfront: clients(),
        skipLocal: true,
        out: (line) => lines.push(line),
      });
      return { passed, lines };
    };
    const fullRingCase =
      `TestFunction: a full ring (${fullRingState().ring.length} origins), viewer ${FULL_RING_VIEWER.ip} on ` +
      `https://www.example.net, in none of them`;
    const fullPreviewsCase =
      `TestFunction: full previews (${fullPreviewsState().previews!.length} IPv6 /128s), viewer ` +
      `${FULL_PREVIEWS_VIEWER.ip}, in none of them`;
    /** Over the budget in the full-ring case only (its own code, its own viewer); every other case well within. */
    const overOnFullRing: Utilization = (code, event) =>
      code.includes('storeAnswering') && event.viewer.ip === FULL_RING_VIEWER.ip ? '71' : '35';

    it('passes every case at 35, and says each figure', async () => {
      cloudFrontRunning(STATE, () => '35');
      const { passed, lines } = await verify();
      expect(passed).toBe(true);
      expect(config.edge.maxComputeUtilization).toBe(70);
      expect(lines).toContain(`ok    ${fullRingCase} (ComputeUtilization 35 of at most 70)`);
      expect(lines).toContain(`ok    ${fullPreviewsCase} (ComputeUtilization 35 of at most 70)`);
      expect(lines.filter((line) => line.endsWith('(ComputeUtilization 35 of at most 70)'))).toHaveLength(
        RECORDED_VIEWERS.length + 2,
      );
      expect(lines.at(-1)).toBe(`all ${RECORDED_VIEWERS.length + 2} edge checks passed`);
    });

    it('fails verify-edge when a case is over edge.maxComputeUtilization, naming the case and the figure', async () => {
      // Over the budget with the full previews only: their own code (the state inlined), their own viewer.
      cloudFrontRunning(STATE, (code, event) =>
        code.includes('storeAnswering') && event.viewer.ip === FULL_PREVIEWS_VIEWER.ip ? '71' : '35',
      );
      const { passed, lines } = await verify();
      expect(passed).toBe(false);
      expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([
        `FAIL  ${fullPreviewsCase}: ComputeUtilization 71 is over edge.maxComputeUtilization (70): the function ` +
          `used 71 % of its compute budget`,
      ]);
      expect(lines.at(-1)).toBe(
        `1 of ${RECORDED_VIEWERS.length + 2} edge checks failed: do not deploy this router code`,
      );

      cloudfront.reset();
      kvs.reset();
      cloudFrontRunning(STATE, overOnFullRing);
      expect((await verify()).lines.filter((line) => line.startsWith('FAIL'))).toEqual([
        `FAIL  ${fullRingCase}: ComputeUtilization 71 is over edge.maxComputeUtilization (70): the function ` +
          `used 71 % of its compute budget`,
      ]);
    });

    it('fails a case CloudFront gave no figure for: the budget would go unchecked', async () => {
      cloudFrontRunning(STATE, (_code, event) => (event.viewer.ip === RECORDED_VIEWERS[1]!.ip ? undefined : '12'));
      const { passed, lines } = await verify();
      expect(passed).toBe(false);
      expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([
        `FAIL  TestFunction: viewer ${RECORDED_VIEWERS[1]!.ip}: CloudFront reported no ComputeUtilization ` +
          `(null), so the compute budget is unchecked`,
      ]);
    });

    it(
      '--json: each case with pass or fail and its figure; ' + 'one over the budget is ok: false naming it, exit 1',
      async () => {
        const argv = ['--build', builds.stable.dir, '--cloudfront-only', '--json'];
        cloudFrontRunning(STATE, () => '35');
        const passing = await runCommand(argv);
        expect(passing.code).toBe(0);
        const report = JSON.parse(passing.out);
        expect(report).toMatchObject({
          ok: true,
          passed: RECORDED_VIEWERS.length + 2,
          failed: 0,
          cloudFrontSkipped: null,
        });
        expect(report.checks.slice(0, 2)).toEqual(
          [fullRingCase, fullPreviewsCase].map((name) => ({
            name,
            ok: true,
            problem: null,
            note: 'ComputeUtilization 35 of at most 70',
          })),
        );
        expect(report.checks.map((check: { ok: boolean }) => check.ok)).toEqual(
          [null, null, ...RECORDED_VIEWERS].map(() => true),
        );

        cloudfront.reset();
        kvs.reset();
        cloudFrontRunning(STATE, overOnFullRing);
        const failing = await runCommand(argv);
        expect(failing.code).toBe(1);
        const failed = JSON.parse(failing.out);
        expect(failed).toMatchObject({ ok: false, passed: RECORDED_VIEWERS.length + 1, failed: 1 });
        expect(failed.checks.filter((check: { ok: boolean }) => !check.ok)).toEqual([
          {
            name: fullRingCase,
            ok: false,
            problem:
              'ComputeUtilization 71 is over edge.maxComputeUtilization (70): the function used 71 % of ' +
              'its compute budget',
          },
        ]);
      },
    );

    it(
      '--json: says when the CloudFront check was skipped, and an error before any check is {"error": …}, ' +
        'exit ' +
        '1',
      async () => {
        const argv = ['--build', builds.stable.dir, '--cloudfront-only', '--json'];
        cloudfront
          .on(DescribeFunctionCommand)
          .rejects(Object.assign(new Error('no such function'), { name: 'NoSuchFunctionExists' }));
        const skipped = await runCommand(argv);
        expect(skipped.code).toBe(0);
        expect(JSON.parse(skipped.out)).toEqual({
          ok: true,
          passed: 0,
          failed: 0,
          cloudFrontSkipped: `${names.viewerAssignmentCheck} does not exist yet (the first deploy creates it)`,
          checks: [],
        });

        cloudfront.reset();
        cloudFrontRunning(STATE, undefined, {
          ...deployed,
          KeyValueStoreAssociations: {
            Quantity: 1,
            Items: [{ KeyValueStoreARN: 'arn:aws:cloudfront::123456789012:key-value-store/another' }],
          },
        });
        const refused = await runCommand(argv);
        expect(refused.code).toBe(1);
        expect(JSON.parse(refused.out)).toEqual({
          error: expect.stringMatching(
            new RegExp(
              `^${names.viewerAssignmentCheck} reads arn:aws:cloudfront::123456789012:key-value-store/another, ` +
                `not the rollout store`,
            ),
          ),
        });
        expect(refused.err).toMatch(new RegExp(`^${names.viewerAssignmentCheck} reads`));
      },
    );

    it(
      'sends a full ring: as many origins as `ring add` takes before the 1 KB store value refuses one, and a ' +
        'viewer on none of them',
      async () => {
        cloudFrontRunning(STATE);
        const code = functionCodeOf(builds.stable.dir);
        await cloudFrontFunctionCheck(config, code, clients());
        const full = fullRingState();
        // Full: the next shortest origin is refused the way `rollout ring add` refuses it; the value still fits the
        // store.
        expect(() => withRingOrigin(full, 'http://zz')).toThrow(RangeError);
        expect(sharedBudget(full).used).toBeLessThanOrEqual(sharedBudget(full).limit);
        expect(stateBytes(formatRolloutState(full))).toBeLessThanOrEqual(MAX_STATE_BYTES);
        expect(full.ring.length).toBeGreaterThan(70);
        expect(full.canary).not.toBeNull();
        expect(full.ring).not.toContain(new URL(FULL_RING_VIEWER.referer).origin);
        // The first update is the code as it ships, with its store read answered by that state ...
        const first = cloudfront.commandCalls(UpdateFunctionCommand)[0]!.args[0].input;
        expect(Buffer.from(first.FunctionCode!).toString('utf8')).toBe(withStoreValue(code, formatRolloutState(full)));
        // ... still code CloudFront takes: the runtime's language subset, within its 10 KB.
        expect(cloudFrontFunctionProblems(withStoreValue(code, formatRolloutState(full)))).toEqual([]);
        expect(() => withStoreValue(code.replace('cf.kvs()', 'cf.kvs("other")'), '{}')).toThrow(
          /take its store handle once, as cf\.kvs\(\)/,
        );
        // ... and the case run on it is that viewer.
        const events = cloudfront
          .commandCalls(TestFunctionCommand)
          .map((call) => JSON.parse(Buffer.from(call.args[0].input.EventObject!).toString('utf8')));
        expect(events[0]).toMatchObject({
          viewer: { ip: FULL_RING_VIEWER.ip },
          request: { uri: '/assets/index.js', headers: { referer: { value: FULL_RING_VIEWER.referer } } },
        });
        expect(events).toHaveLength(RECORDED_VIEWERS.length + 2);
      },
    );

    it(
      'sends full previews: as many as `rollout preview` takes before the shared budget refuses one, all in ' +
        'force, each an IPv6 /128 the viewer is inside none of but alike to its last group',
      async () => {
        cloudFrontRunning(STATE);
        const code = functionCodeOf(builds.stable.dir);
        await cloudFrontFunctionCheck(config, code, clients());
        const now = Date.now();
        const full = fullPreviewsState(now);
        const previews = full.previews!;
        // Full: the next prefix is refused the way `rollout preview` refuses it; the value still fits the store.
        expect(() =>
          withPreview(
            full,
            { build: previews[0]!.build, viewer: '1:1:1:1:1:1:1:fffe', until: previews[0]!.until },
            now,
          ),
        ).toThrow(RangeError);
        expect(sharedBudget(full).used).toBeLessThanOrEqual(sharedBudget(full).limit);
        expect(stateBytes(formatRolloutState(full))).toBeLessThanOrEqual(MAX_STATE_BYTES);
        expect(previews.length).toBeGreaterThan(10);
        expect(full.ring).toEqual([]);
        expect(full.canary).not.toBeNull();
        // All in force, now and for long after; distinct builds from the rollout's.
        expect(livePreviews(full, now + 365 * 24 * 3600_000)).toEqual(previews);
        expect(new Set(previews.map((preview) => preview.build)).size).toBe(1);
        expect([full.stable, full.canary]).not.toContain(previews[0]!.build);
        // Every prefix an IPv6 /128 written in all eight groups; the viewer inside none, but inside each /112.
        const viewer = addressGroups(FULL_PREVIEWS_VIEWER.ip)!;
        for (const preview of previews) {
          expect(preview.viewer).toMatch(/^(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\/128$/);
          expect(inViewerPrefix(viewer, preview.viewer)).toBe(false);
          expect(inViewerPrefix(viewer, normalizeViewerPrefix(preview.viewer.replace(/\/128$/, '/112'))!)).toBe(true);
        }
        expect(previewBuild(full, FULL_PREVIEWS_VIEWER.ip, now)).toBeNull();
        // The second update is the code as it ships, its store read answered by that state, still code
        // CloudFront takes: the runtime's language subset, within its 10 KB.
        const second = cloudfront.commandCalls(UpdateFunctionCommand)[1]!.args[0].input;
        const inlined = withStoreValue(code, formatRolloutState(full));
        expect(Buffer.from(second.FunctionCode!).toString('utf8')).toBe(inlined);
        expect(cloudFrontFunctionProblems(inlined)).toEqual([]);
        // ... and the case run on it is that viewer, given what the rule gives with no preview.
        const tests = cloudfront.commandCalls(TestFunctionCommand);
        expect(tests[1]!.args[0].input.IfMatch).toBe('E3');
        expect(JSON.parse(Buffer.from(tests[1]!.args[0].input.EventObject!).toString('utf8'))).toMatchObject({
          viewer: { ip: FULL_PREVIEWS_VIEWER.ip },
          request: { uri: '/assets/index.js', headers: { referer: { value: FULL_PREVIEWS_VIEWER.referer } } },
        });
        expect([`/assets/${full.stable}/index.js`, `/assets/${full.canary}/index.js`]).toContain(
          expectedUri(full, FULL_PREVIEWS_VIEWER),
        );
      },
    );
  });

  it('fails code that assigns differently, and code that throws', async () => {
    cloudFrontRunning(STATE);
    // The published code's locals are shortened: `<request>.uri=buildEntryPath(`.
    const wrong = functionCodeOf(builds.stable.dir).replace(
      /(\w+)\.uri=buildEntryPath\(/,
      '$1.uri="/assets/0000000000000000/index.js"||buildEntryPath(',
    );
    expect(wrong).not.toBe(functionCodeOf(builds.stable.dir));
    const { results } = await cloudFrontFunctionCheck(config, wrong, clients());
    expect(results).toHaveLength(RECORDED_VIEWERS.length + 2);
    expect(results.every((r) => r.problem?.startsWith('rewrote to "/assets/0000000000000000/index.js"'))).toBe(true);
    // Code that throws outside its own try: CloudFront reports a function error.
    const throwing = functionCodeOf(builds.stable.dir).replace(
      /async function handler\((\w+)\)\{/,
      'async function handler($1){if($1.viewer.ip)throw new Error("boom");',
    );
    expect(throwing).not.toBe(functionCodeOf(builds.stable.dir));
    expect((await cloudFrontFunctionCheck(config, throwing, clients())).results.map((r) => r.problem)).toEqual(
      [null, null, ...RECORDED_VIEWERS].map(() => 'the function failed: boom'),
    );
  });

  it(
    'expects the request left alone when the store holds no state (and the full ring and the full previews ' +
      'assigned all the same)',
    async () => {
      cloudFrontRunning(null);
      const { results } = await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients());
      expect(results.map((r) => r.problem)).toEqual([null, null, ...RECORDED_VIEWERS.map(() => null)]);
    },
  );

  it(
    'sends back exactly the configuration the stack gives the check function, so a plan after it sees only the ' +
      'code, which it ignores',
    async () => {
      cloudFrontRunning(STATE);
      await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients());
      const updates = cloudfront.commandCalls(UpdateFunctionCommand).map((call) => call.args[0].input);
      expect(updates.length).toBeGreaterThan(0);
      // Comment, runtime and store association as synthesized, nothing more, nothing less.
      for (const update of updates) expect(update.FunctionConfig).toEqual(deployed);
      expect(Object.keys(updates[0]!).sort()).toEqual(['FunctionCode', 'FunctionConfig', 'IfMatch', 'Name']);
    },
  );

  it(
    'keeps whatever comment the function has, and refuses ' + 'a function that does not read the rollout store',
    async () => {
      cloudFrontRunning(STATE, undefined, { ...deployed, Comment: 'set by hand' });
      await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients());
      expect(
        cloudfront.commandCalls(UpdateFunctionCommand).map((call) => call.args[0].input.FunctionConfig?.Comment),
      ).toEqual(['set by hand', 'set by hand', 'set by hand']);

      cloudfront.reset();
      const otherStore = 'arn:aws:cloudfront::123456789012:key-value-store/another';
      cloudFrontRunning(STATE, undefined, {
        ...deployed,
        KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: otherStore }] },
      });
      await expect(cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients())).rejects.toThrow(
        `${names.viewerAssignmentCheck} reads ${otherStore}, not the rollout store ${STORE_ARN}: deploy the ` +
          `delivery stack, which associates it, then check again`,
      );
      expect(cloudfront.commandCalls(UpdateFunctionCommand)).toHaveLength(0);
    },
  );

  it('is skipped before the first deploy, when the check function does not exist yet', async () => {
    cloudfront
      .on(DescribeFunctionCommand)
      .rejects(Object.assign(new Error('no such function'), { name: 'NoSuchFunctionExists' }));
    expect(await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients())).toEqual({
      skipped: `${names.viewerAssignmentCheck} does not exist yet (the first deploy creates it)`,
      results: [],
    });
    expect(cloudfront.commandCalls(UpdateFunctionCommand)).toHaveLength(0);
  });
});

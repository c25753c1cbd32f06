/**
 * The viewer-assignment CloudFront Function, as published: the exact file the build wrote and the
 * stack uploads, run in the harness that offers only what cloudfront-js-2.0 offers. It must agree
 * with the TypeScript rule (contracts/assignment.ts) on every viewer, fall back by passing the
 * request on unrewritten whenever the state cannot be read, and stay within the runtime's language
 * and quota.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { assignBuild, previewBuild } from '../../contracts/assignment';
import {
  formatRolloutState,
  refererOrigin,
  ROLLOUT_STATE_KEY,
  STATE_UNREADABLE_LOG,
  steadyState,
  type RolloutState,
} from '../../contracts/rollout-state';
import {
  CLOUDFRONT_FUNCTION_MAX_BYTES,
  cloudFrontFunctionProblems,
  loadCloudFrontFunction,
  type CloudFrontFunctionHandler,
  type CloudFrontFunctionViewerEvent,
} from '../../edge-code/cloudfront-function';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { propertyRuns } from '../fixtures/property';

import { formatRevocation, revocationKey, revokedBuildOf } from '../../contracts/revocation';

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const VIEWER_RUNS = propertyRuns(100_000);
const published = () =>
  readFileSync(path.join(BUILD_DIR, defaultBuild().cloudFrontFunctions['viewer-assignment'].file), 'utf8');

/** A store the test sets: a value, nothing, or a failure. */
function store(value: string | undefined | Error) {
  return {
    get: async (key: string) => {
      if (value instanceof Error) throw value;
      if (key !== ROLLOUT_STATE_KEY || value === undefined) throw new Error(`key ${key} not found`);
      return value;
    },
  };
}

function event(
  ip: string,
  headers: Record<string, string> = {},
  uri = '/assets/index.js',
): CloudFrontFunctionViewerEvent {
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'test',
    },
    viewer: { ip },
    request: {
      method: 'GET',
      uri,
      querystring: { v: { value: '1' } },
      headers: Object.fromEntries(Object.entries(headers).map(([k, value]) => [k, { value }])),
      cookies: {},
    },
  };
}

async function uriFor(
  handler: CloudFrontFunctionHandler,
  ip: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const result = await handler(event(ip, headers));
  if (!('uri' in result)) throw new Error(`the function answered itself: ${JSON.stringify(result)}`);
  return result.uri;
}

describe('the published code', () => {
  it('is within the 10 KB quota and the runtime language, with no Terraform interpolation', () => {
    const code = published();
    expect(Buffer.byteLength(code)).toBeLessThanOrEqual(CLOUDFRONT_FUNCTION_MAX_BYTES);
    expect(defaultBuild().cloudFrontFunctions['viewer-assignment'].bytes).toBe(Buffer.byteLength(code));
    expect(cloudFrontFunctionProblems(code)).toEqual([]);
    expect(code.startsWith('import cf from"cloudfront";')).toBe(true);
    // Top-level names kept (the runtime calls `handler`), locals shortened.
    expect(code).toMatch(/async function handler\(\w\)\{/);
    // No build id is baked in: one fixed at deploy would go stale at the first rollback.
    expect(code).not.toMatch(/[0-9a-f]{16}/);
    expect(code).not.toContain(defaultBuild().buildId);
  });
});

describe('the language check refuses what cloudfront-js-2.0 does not run', () => {
  const wrap = (body: string) =>
    `import cf from"cloudfront";${body}async function handler(event){return event.request}`;
  it.each([
    ['a class', 'class A{}'],
    ['for-of', 'for(const x of [1]){}'],
    ['spread', 'var a=[...[1]];'],
    ['destructuring', 'var {a}={a:1};'],
    ['a default parameter', 'function f(a=1){return a}'],
    ['optional chaining', 'var a=null;var b=a?.c;'],
    ['??', 'var a=null??1;'],
    ['an async closure', 'var f=async()=>1;'],
    ['a generator', 'function* g(){yield 1}'],
    ['charCodeAt', 'var c="a".charCodeAt(0);'],
    ['require', 'var fs=require("fs");'],
    ['process', 'var e=process.env;'],
    ['Buffer', 'var b=Buffer.from("a");'],
    ['a Terraform interpolation', 'var s="${x}";'],
    ['regex lookbehind', 'var r=/(?<=a)b/;'],
    ['a sticky regex', 'var r=/a/y;'],
    ['another import', 'import fs from"fs";'],
  ])('%s', (_case, body) => {
    expect(cloudFrontFunctionProblems(wrap(body)).length).toBeGreaterThan(0);
  });

  it('code over 10 KB, and code without a handler', () => {
    expect(cloudFrontFunctionProblems(wrap(`var pad="${'x'.repeat(CLOUDFRONT_FUNCTION_MAX_BYTES)}";`))).toEqual([
      expect.stringMatching(/over CloudFront's 10240-byte quota/),
    ]);
    expect(cloudFrontFunctionProblems('import cf from"cloudfront";function other(){}')).toEqual([
      'has no top-level function handler(event)',
    ]);
  });
});

describe('the harness offers only what cloudfront-js-2.0 offers', () => {
  const probe = `import cf from"cloudfront";async function handler(event){var seen={};
    seen.require=typeof require;seen.process=typeof process;seen.Buffer=typeof Buffer;seen.setTimeout=typeof setTimeout;
    seen.fetch=typeof fetch;seen.Intl=typeof Intl;seen.charCodeAt=typeof "a".charCodeAt;seen.codePointAt=typeof "a".codePointAt;
    seen.imul=typeof Math.imul;seen.kvs=typeof cf.kvs;seen.consoleLog=typeof console.log;seen.consoleError=typeof console.error;
    try{eval("1");seen.eval="ran"}catch(e){seen.eval="refused"}
    try{new Function("return 1")();seen.Function="ran"}catch(e){seen.Function="refused"}
    console.log("probe");event.request.uri=JSON.stringify(seen);return event.request}`;

  it('no Node globals, no timers, no eval, no charCodeAt; kvs() and console.log', async () => {
    const lines: string[] = [];
    const handler = loadCloudFrontFunction(probe, store(undefined), (line) => lines.push(line));
    const seen = JSON.parse(((await handler(event('192.0.2.1'))) as { uri: string }).uri);
    expect(seen).toEqual({
      require: 'undefined',
      process: 'undefined',
      Buffer: 'undefined',
      setTimeout: 'undefined',
      fetch: 'undefined',
      Intl: 'undefined',
      charCodeAt: 'undefined',
      codePointAt: 'function',
      imul: 'function',
      kvs: 'function',
      consoleLog: 'function',
      consoleError: 'undefined',
      eval: 'refused',
      Function: 'refused',
    });
    expect(lines).toEqual(['probe']);
  });
});

describe('the revocation gate, on a build entry asked for by its own URL', () => {
  /** A store holding the rollout state and the given revocations; `failing`: every read fails. */
  const storeWith = (revoked: readonly string[], failing = false) => {
    const keys: string[] = [];
    return {
      keys,
      store: {
        get: async (key: string) => {
          keys.push(key);
          if (failing) throw new Error('KeyValueStore is unavailable');
          if (key === ROLLOUT_STATE_KEY) return formatRolloutState(steadyState(STABLE));
          const build = revokedBuildOf(key);
          if (build !== null && revoked.includes(build)) return formatRevocation({ at: 1, reason: 'CVE-2026-0001' });
          throw new Error(`key ${key} not found`);
        },
      },
    };
  };

  it(
    'answers 410 for a revoked build at the edge, with ' + 'the cache time a 404 gets, after one read of its key',
    async () => {
      const { store: kvs, keys } = storeWith([CANARY]);
      const request = event('192.0.2.1', {}, `/assets/${CANARY}/index.js`);
      const result = await loadCloudFrontFunction(published(), kvs)(request);
      expect(result).toEqual({
        statusCode: 410,
        statusDescription: 'Gone',
        headers: { 'cache-control': { value: 'public, max-age=60' } },
      });
      expect(keys).toEqual([revocationKey(CANARY)]);
    },
  );

  it(
    'passes any other build on untouched (no rewrite, no ' +
      'assignment), and lets the load through when the store fails',
    async () => {
      for (const [kvs, build] of [
        [storeWith([CANARY]).store, STABLE],
        [storeWith([CANARY], true).store, CANARY],
      ] as const) {
        const request = event('192.0.2.1', { referer: 'https://demo.example.com/' }, `/assets/${build}/index.js`);
        expect(await loadCloudFrontFunction(published(), kvs)(request)).toEqual(request.request);
      }
    },
  );
});

describe('viewer assignment', () => {
  const rolling = (weight: number, ring: string[] = []): RolloutState => ({
    stable: STABLE,
    canary: CANARY,
    weight,
    salt: 'd-TEST0001',
    ring,
  });
  const load = (value: string | undefined | Error) => loadCloudFrontFunction(published(), store(value));

  it('rewrites everyone to the stable build when there is no rollout', async () => {
    const handler = load(formatRolloutState(steadyState(STABLE)));
    expect(await uriFor(handler, '192.0.2.1')).toBe(`/assets/${STABLE}/index.js`);
    expect(await uriFor(handler, '2001:db8::1')).toBe(`/assets/${STABLE}/index.js`);
  });

  it('keeps the rest of the request as the viewer sent it', async () => {
    const handler = load(formatRolloutState(steadyState(STABLE)));
    const result = (await handler(
      event('192.0.2.1', { 'accept-encoding': 'br', referer: 'https://shop.example.com/' }),
    )) as CloudFrontFunctionViewerEvent['request'];
    expect(result).toEqual({
      ...event('192.0.2.1', { 'accept-encoding': 'br', referer: 'https://shop.example.com/' }).request,
      uri: `/assets/${STABLE}/index.js`,
    });
  });

  it('gives ring hosts the canary at any weight, by the Referer of their page', async () => {
    const handler = load(formatRolloutState(rolling(1, ['https://demo.example.com'])));
    for (let i = 0; i < 50; i += 1)
      expect(await uriFor(handler, `198.51.100.${i}`, { referer: 'https://demo.example.com/pricing' })).toBe(
        `/assets/${CANARY}/index.js`,
      );
    const others = new Set<string>();
    for (let i = 0; i < 50; i += 1)
      others.add(await uriFor(handler, `198.51.100.${i}`, { referer: 'https://shop.example.com/' }));
    expect(others).toEqual(new Set([`/assets/${STABLE}/index.js`]));
  });

  it.each<[string, string | undefined | Error]>([
    ['the key is missing', undefined],
    ['the store fails', new Error('KeyValueStore is unavailable')],
    ['the value is not JSON', '{"v":1,"stable":'],
    [
      'the value is of another version',
      JSON.stringify({ ...JSON.parse(formatRolloutState(steadyState(STABLE))), v: 2 }),
    ],
    ['the value names a path for a build', formatRolloutState(steadyState(STABLE)).replace(STABLE, '../../../secret')],
    ['the value is empty', ''],
  ])('passes the request on unrewritten when %s', async (_case, value) => {
    const result = (await load(value)(
      event('192.0.2.1', { referer: 'https://demo.example.com/' }),
    )) as CloudFrontFunctionViewerEvent['request'];
    expect(result.uri).toBe('/assets/index.js');
  });

  // Every fallback load costs a Lambda@Edge invocation and an API read: it says so in one line,
  // which CloudFront Functions send to CloudWatch Logs, where the fallback alarm counts it.
  it.each<[string, string | undefined | Error, string]>([
    ['the key is missing', undefined, 'read'],
    ['the store fails', new Error('KeyValueStore is unavailable'), 'read'],
    ['the value is not JSON', '{"v":1,"stable":', 'invalid'],
    [
      'the value is of another version',
      JSON.stringify({ ...JSON.parse(formatRolloutState(steadyState(STABLE))), v: 2 }),
      'invalid',
    ],
    ['the value is empty', '', 'invalid'],
  ])('logs one line on the fallback path when %s, and only that', async (_case, value, reason) => {
    const lines: string[] = [];
    const handler = loadCloudFrontFunction(published(), store(value), (line) => lines.push(line));
    await handler(event('192.0.2.1'));
    expect(lines).toEqual([`${STATE_UNREADABLE_LOG} ${reason}`]);
  });

  it('logs nothing on the normal path, with or without a rollout', async () => {
    const lines: string[] = [];
    for (const state of [steadyState(STABLE), rolling(5000, ['https://demo.example.com'])]) {
      const handler = loadCloudFrontFunction(published(), store(formatRolloutState(state)), (line) => lines.push(line));
      for (let i = 0; i < 20; i += 1)
        await uriFor(handler, `198.51.100.${i}`, {
          referer: i % 2 ? 'https://demo.example.com/' : 'https://shop.example.com/',
        });
      await uriFor(handler, '2001:db8::1');
    }
    expect(lines).toEqual([]);
  });

  it(`agrees with the TypeScript rule on ${VIEWER_RUNS.toLocaleString('en')} viewers, across weights, salts, ` +
    `rings and address forms`, async () => {
    const ring = ['https://demo.example.com', 'http://127.0.0.1:8081'];
    const referers = [
      undefined,
      'https://demo.example.com/a/b?c',
      'https://shop.example.com/',
      'http://127.0.0.1:8081/',
      'not a url',
    ];
    const states = [0, 1, 100, 2500, 5000, 9999, 10000].map((weight, i) => ({
      stable: STABLE,
      canary: CANARY,
      weight,
      salt: `d-SALT${i}`,
      ring,
    }));
    const logged: string[] = [];
    const handlers = states.map((state) =>
      loadCloudFrontFunction(published(), store(formatRolloutState(state)), (line) => logged.push(line)),
    );
    const viewer = fc.record({
      ip: fc.oneof(
        { arbitrary: fc.ipV4(), weight: 3 },
        { arbitrary: fc.ipV6(), weight: 1 },
        { arbitrary: fc.constantFrom('::ffff:192.0.2.7', '0.0.0.0', 'garbage', ''), weight: 0 },
      ),
      state: fc.integer({ min: 0, max: states.length - 1 }),
      referer: fc.constantFrom(...referers),
    });
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(viewer, async ({ ip, state, referer }) => {
        const expected = `/assets/${assignBuild(states[state]!, ip, refererOrigin(referer), 0)}/index.js`;
        expect(await uriFor(handlers[state]!, ip, referer === undefined ? {} : { referer })).toBe(expected);
        compared += 1;
      }),
      { numRuns: VIEWER_RUNS, seed: 20261130 },
    );
    expect(compared).toBe(VIEWER_RUNS);
    expect(logged).toEqual([]);
  }, 300_000);
});

describe('previews, in the published function', () => {
  const PREVIEW = 'abcdefabcdefabcd';
  /** In force for as long as any test runs (the harness's clock is the real one), and long over. */
  const FOREVER = 9_999_999_999;
  const LONG_AGO = 1_000_000_000;
  const RING = 'https://demo.example.com';
  const rolling = (weight: number, previews?: RolloutState['previews']): RolloutState => ({
    stable: STABLE,
    canary: CANARY,
    weight,
    salt: 'd-PREVIEW1',
    ring: [RING],
    ...(previews === undefined ? {} : { previews }),
  });
  /** The function on `value`, counting its store reads and collecting its log lines. */
  const counted = (value: string) => {
    const reads: string[] = [];
    const lines: string[] = [];
    const handler = loadCloudFrontFunction(
      published(),
      {
        get: async (key: string) => {
          reads.push(key);
          return store(value).get(key);
        },
      },
      (line) => lines.push(line),
    );
    return { handler, reads, lines };
  };
  const entry = (build: string) => `/assets/${build}/index.js`;

  it('rewrites a previewed viewer to the preview build whatever the weight or ring, others by the rule', async () => {
    const previews = [
      { build: PREVIEW, viewer: '203.0.113.0/24', until: FOREVER },
      { build: CANARY, viewer: '203.0.113.128/25', until: FOREVER },
      { build: PREVIEW, viewer: '2001:db8:7:42::/64', until: FOREVER },
    ];
    for (const state of [
      rolling(0, previews),
      rolling(5000, previews),
      rolling(10000, previews),
      { ...steadyState(STABLE, [RING]), previews },
    ]) {
      const { handler, lines } = counted(formatRolloutState(state));
      const referers: Record<string, string>[] = [
        {},
        { referer: `${RING}/pricing` },
        { referer: 'https://shop.example.com/' },
      ];
      for (const referer of referers) {
        for (const ip of ['203.0.113.0', '203.0.113.127', '::ffff:203.0.113.9', '2001:db8:7:42::1'])
          expect(await uriFor(handler, ip, referer)).toBe(entry(PREVIEW));
        // The longest prefix: the /25 inside the /24.
        expect(await uriFor(handler, '203.0.113.200', referer)).toBe(entry(CANARY));
        for (const ip of ['203.0.112.255', '203.0.114.0', '198.51.100.7', '2001:db8:7:43::1', '2001:db8:8::1']) {
          const origin = refererOrigin(referer.referer);
          expect(await uriFor(handler, ip, referer)).toBe(entry(assignBuild(state, ip, origin, Date.now())));
          // Outside every preview: what the state without previews gives.
          expect(assignBuild(state, ip, origin, Date.now())).toBe(
            assignBuild({ ...state, previews: undefined }, ip, origin, Date.now()),
          );
        }
      }
      expect(lines).toEqual([]);
    }
  });

  it('ignores a preview whose time is over: the viewer gets what the rule gives', async () => {
    const over = rolling(0, [{ build: PREVIEW, viewer: '203.0.113.0/24', until: LONG_AGO }]);
    const { handler, lines } = counted(formatRolloutState(over));
    for (let i = 0; i < 20; i += 1) expect(await uriFor(handler, `203.0.113.${i}`)).toBe(entry(STABLE));
    expect(await uriFor(handler, '203.0.113.9', { referer: `${RING}/` })).toBe(entry(CANARY));
    // One over and one in force, the longer one over: the shorter one's build.
    const mixed = rolling(0, [
      { build: CANARY, viewer: '203.0.113.9/32', until: LONG_AGO },
      { build: PREVIEW, viewer: '203.0.113.0/24', until: FOREVER },
    ]);
    expect(await uriFor(counted(formatRolloutState(mixed)).handler, '203.0.113.9')).toBe(entry(PREVIEW));
    expect(lines).toEqual([]);
  });

  const valid = JSON.parse(formatRolloutState(rolling(5000))) as Record<string, unknown>;
  it.each<[string, unknown]>([
    ['an empty previews list', []],
    ['a preview of two', [[PREVIEW, '203.0.113.0/24']]],
    ['a preview of four', [[PREVIEW, '203.0.113.0/24', FOREVER, 1]]],
    ['a preview as an object', [{ build: PREVIEW, viewer: '203.0.113.0/24', until: FOREVER }]],
    ['a preview naming a path', [['../../../secret', '203.0.113.0/24', FOREVER]]],
    ['a prefix with host bits set', [[PREVIEW, '203.0.113.7/24', FOREVER]]],
    ['a prefix shorter than a /24', [[PREVIEW, '203.0.112.0/23', FOREVER]]],
    [
      'the same prefix twice',
      [
        [PREVIEW, '203.0.113.0/24', FOREVER],
        [CANARY, '203.0.113.0/24', FOREVER],
      ],
    ],
    ['a fractional until', [[PREVIEW, '203.0.113.0/24', FOREVER - 0.5]]],
    ['an until past 2286', [[PREVIEW, '203.0.113.0/24', FOREVER + 1]]],
    ['previews that are not a list', 'everyone'],
  ])('reads a state with %s as invalid: one log line, the request unrewritten', async (_case, previews) => {
    const { handler, reads, lines } = counted(JSON.stringify({ ...valid, previews }));
    const result = (await handler(event('203.0.113.9'))) as CloudFrontFunctionViewerEvent['request'];
    expect(result.uri).toBe('/assets/index.js');
    expect(lines).toEqual([`${STATE_UNREADABLE_LOG} invalid`]);
    expect(reads).toEqual([ROLLOUT_STATE_KEY]);
  });

  it(
    'reads the store once per entry load, with previews as without, and once more for a previewed viewer: ' +
      "its build's revocation",
    async () => {
      const previews = Array.from({ length: 12 }, (_, i) => ({
        build: i % 2 ? PREVIEW : CANARY,
        viewer: `198.51.100.${i * 16}/28`,
        until: i % 3 ? FOREVER : LONG_AGO,
      }));
      for (const state of [rolling(2500), rolling(2500, previews)]) {
        const { handler, reads } = counted(formatRolloutState(state));
        const expected: string[] = [];
        for (let i = 0; i < 40; i += 1) {
          const ip = `198.51.100.${i * 5}`;
          await uriFor(handler, ip, { referer: 'https://shop.example.com/' });
          const previewed = previewBuild(state, ip, Date.now());
          expected.push(ROLLOUT_STATE_KEY, ...(previewed === null ? [] : [`revoked/${previewed}`]));
        }
        await uriFor(handler, '2001:db8::1');
        expected.push(ROLLOUT_STATE_KEY);
        expect(reads).toEqual(expected);
        // Some of the forty are previewed under the second state, none under the first.
        expect(reads.length > 41).toBe(state.previews !== undefined);
      }
    },
  );

  it("gives a previewed viewer the rule's build when the preview's build is revoked", async () => {
    const previews = [
      { build: PREVIEW, viewer: '192.0.2.0/24', until: FOREVER },
      { build: CANARY, viewer: '198.51.100.0/24', until: FOREVER },
    ];
    const value = formatRolloutState(rolling(0, previews));
    const revokedStore = (revoked: readonly string[], failing = false) => ({
      get: async (key: string) => {
        if (key === ROLLOUT_STATE_KEY) return value;
        if (failing) throw new Error('the store is unavailable');
        if (revoked.includes(key.slice('revoked/'.length))) return '{"v":1,"at":1,"reason":"CVE"}';
        throw new Error(`no key ${key}`);
      },
    });
    const run = (revoked: readonly string[], ip: string, failing = false) =>
      uriFor(loadCloudFrontFunction(published(), revokedStore(revoked, failing)), ip);
    // Not revoked: the preview holds.
    expect(await run([], '192.0.2.9')).toBe(entry(PREVIEW));
    // Revoked (rollout revoke ended no preview, say it failed halfway): the rule's build, the stable one at weight 0.
    expect(await run([PREVIEW], '192.0.2.9')).toBe(entry(STABLE));
    // Another preview's build is not touched by it.
    expect(await run([PREVIEW], '198.51.100.9')).toBe(entry(CANARY));
    // A store that cannot answer the revocation lets the preview through, as the build-entry gate does.
    expect(await run([PREVIEW], '192.0.2.9', true)).toBe(entry(PREVIEW));
  });

  const PREVIEW_RUNS = Math.min(VIEWER_RUNS, 20_000);
  it(`agrees with the TypeScript rule on ${PREVIEW_RUNS.toLocaleString('en')} viewers under previews`, async () => {
    const previews = [
      { build: PREVIEW, viewer: '192.0.2.0/24', until: FOREVER },
      { build: CANARY, viewer: '192.0.2.64/26', until: FOREVER },
      { build: STABLE, viewer: '192.0.2.77/32', until: FOREVER },
      { build: CANARY, viewer: '192.0.2.128/25', until: LONG_AGO },
      { build: PREVIEW, viewer: '2001:db8:7::/48', until: FOREVER },
      { build: STABLE, viewer: '2001:db8:7:42::/64', until: FOREVER },
    ];
    const states = [0, 2500, 10000].map((weight) => rolling(weight, previews));
    const logged: string[] = [];
    const handlers = states.map((state) =>
      loadCloudFrontFunction(published(), store(formatRolloutState(state)), (line) => logged.push(line)),
    );
    const octet = fc.integer({ min: 0, max: 255 });
    const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    const viewer = fc.record({
      ip: fc.oneof(
        octet.map((n) => `192.0.2.${n}`),
        octet.map((n) => `::ffff:192.0.2.${n}`),
        fc.tuple(fc.constantFrom('42', '43', 'ffff'), hextet).map(([net, host]) => `2001:db8:7:${net}::${host}`),
        fc.ipV4(),
        fc.ipV6(),
      ),
      state: fc.integer({ min: 0, max: states.length - 1 }),
      referer: fc.constantFrom(undefined, `${RING}/`, 'https://shop.example.com/'),
    });
    await fc.assert(
      fc.asyncProperty(viewer, async ({ ip, state, referer }) => {
        const expected = entry(assignBuild(states[state]!, ip, refererOrigin(referer), Date.now()));
        expect(await uriFor(handlers[state]!, ip, referer === undefined ? {} : { referer })).toBe(expected);
      }),
      { numRuns: PREVIEW_RUNS, seed: 20261206 },
    );
    expect(logged).toEqual([]);
  }, 120_000);
});

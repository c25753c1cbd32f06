/**
 * `npm run local:release -- preview add|list|remove` against a running local distribution, through
 * its control endpoint (POST /preview) and over HTTP to the local CloudFront: what it refuses (not
 * a build id, a prefix shorter than a /24, a duration out of 1m..7d, a build it never published, a
 * revoked build, a state with no room left) with which exit code, each writing nothing, as a
 * removal that matches nothing does (exit 0); and what a preview does: viewers inside its prefix get
 * its build whatever the rollout, others do not, every edit is announced to the signal's timeline
 * before it is written, --status, the status line and the dashboard show it, and a revocation ends it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import {
  formatRolloutState,
  parseRolloutState,
  ROLLOUT_STATE_KEY,
  steadyState,
  type Preview,
} from '../../contracts/rollout-state';
import { callControl, startControlServer, type ControlServer } from '../../local/control-server';
import type { DashboardData } from '../../local/dashboard-page';
import type { LocalDistribution } from '../../local/local-distribution';
import { formatStatusLine } from '../../local/status-line';
import { postControl, runLocalRelease } from '../fixtures/local-release';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';

const config = loadConfig();
const builds = localBuilds();
const HOUR = 3600;

let h: SignalHarness;
let local: LocalDistribution;
let control: ControlServer;
let dir: string;
let file: string;

beforeAll(async () => {
  h = await startSignalHarness(config);
  local = h.local;
  dir = mkdtempSync(path.join(tmpdir(), 'local-preview-'));
  file = path.join(dir, 'control.json');
  control = await startControlServer(local, { addressFile: file });
}, 120_000);
afterAll(async () => {
  await control?.close();
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run local:release -- <args>` against this file's `npm start`. */
const release = (args: readonly string[]) => runLocalRelease(args, file);

/** POST /preview as the command sends it: the status and the answer. */
const postPreview = (body: unknown) => postControl(control, '/preview', body);

/** What a write would change: the stored state, the store's ETag, and the signal's timeline. */
function written(): string {
  return JSON.stringify({
    state: local.kvs.store.get(ROLLOUT_STATE_KEY),
    etag: local.kvs.store.etag,
    timeline: local.controlPlane.timeline.read(),
  });
}

/** The previews the store holds. */
const stored = (): readonly Preview[] => parseRolloutState(local.status().state)?.previews ?? [];
/** The local clock's time (the harness's manual clock), which the local edge ends previews by. */
const nowSeconds = () => Math.floor(h.clock.now() / 1000);

describe('preview, refused', () => {
  it(
    'refuses a bad build id, viewer or end (400), a build it never published (404) and a body of another shape ' +
      "(400); the command line exits 2 before sending, 1 with the endpoint's words; nothing is written, nor by a " +
      'removal that matches nothing',
    async () => {
      const before = written();
      const stable = builds.stable.buildId;
      const refusals: [unknown, number, RegExp | string][] = [
        [{ action: 'add', build: 'nope', viewer: '127.0.0.1' }, 400, /^not a build id: "nope" \(16 hex digits/],
        [{ action: 'add', build: stable }, 400, 'a preview needs a viewer: an IP address or prefix'],
        [{ action: 'add', build: stable, viewer: '10.0.0.0/8' }, 400, /^"10.0.0.0\/8" is not a prefix a preview/],
        [{ action: 'add', build: stable, viewer: '2001:db8::/32' }, 400, /an IPv6 prefix is \/48 to \/128/],
        [{ action: 'add', build: stable, viewer: 'localhost' }, 400, /^"localhost" is not an IP address or prefix/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', seconds: 0 }, 400, /lasts from 1 to 604800 seconds/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', seconds: 604801 }, 400, /lasts from 1 to 604800/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', seconds: 1.5 }, 400, /lasts from 1 to 604800/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', until: nowSeconds() - 1 }, 400, /within a week/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', until: nowSeconds() + 8 * 24 * HOUR }, 400, /week/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', until: nowSeconds() + 60, seconds: 60 }, 400, /both/],
        [
          { action: 'add', build: builds.canary.buildId, viewer: '127.0.0.1' },
          404,
          `build ${builds.canary.buildId} is not one this local distribution published (it published ${stable} ` +
            'as v1): release it first (`npm run local:release`), then preview it',
        ],
        [{ action: 'remove' }, 400, /a viewer \(its prefix\) or a build, one of the two/],
        [{ action: 'remove', viewer: '127.0.0.1', build: stable }, 400, /one of the two/],
        [{ action: 'remove', viewer: '10.1.2.0/23' }, 400, /an IPv4 prefix is \/24 to \/32/],
        [{ action: 'show' }, 400, /^POST \/preview takes/],
        [{ action: 'add', build: stable, viewer: 127 }, 400, /^POST \/preview takes/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', seconds: '60' }, 400, /^POST \/preview takes/],
        [{ action: 'add', build: stable, viewer: '127.0.0.1', for: '1h' }, 400, /^POST \/preview takes/],
      ];
      for (const [body, status, error] of refusals) {
        const answer = await postPreview(body);
        expect({ body, status: answer.status }).toEqual({ body, status });
        expect(answer.body.error).toEqual(typeof error === 'string' ? error : expect.stringMatching(error));
      }

      // The command line: usage errors exit 2 before anything is sent.
      for (const [args, problem] of [
        [['preview', 'add', 'nope'], 'expected a build id, 16 hex digits'],
        [['preview', 'add', stable, '--viewer', '10.0.0.0/8'], 'an IPv4 prefix is /24 to /32'],
        [['preview', 'add', stable, '--viewer', 'me'], '"me" is not an IP address or prefix'],
        [['preview', 'add', stable, '--for', '30s'], 'from 1m to 7d'],
        [['preview', 'add', stable, '--for', '8d'], 'from 1m to 7d'],
        [['preview', 'add', stable, '--for', '2'], 'from 1m to 7d'],
        [['preview', 'remove'], 'say which preview to remove: --viewer <ip|prefix> or --build <buildId>'],
        [['preview', 'remove', '--viewer', '127.0.0.1', '--build', stable], 'cannot be used with option'],
        [['preview', 'remove', '--build', 'abc'], 'expected a build id'],
      ] as const) {
        const refused = await release(args);
        expect({ args, code: refused.code, out: refused.out }).toEqual({ args, code: 2, out: [] });
        expect(refused.err).toContain(problem);
      }
      // Refusals exit 1 with the endpoint's words.
      expect(await release(['preview', 'add', builds.canary.buildId])).toEqual({
        code: 1,
        out: [],
        err: `${refusals[11]![2]}\n`,
      });
      // Nothing to remove is no failure, as for `rollout preview remove`: said, nothing written.
      expect(await postPreview({ action: 'remove', build: stable })).toEqual({
        status: 200,
        body: expect.objectContaining({ action: 'remove', changed: [], previews: [] }),
      });
      expect(await release(['preview', 'remove', '--viewer', '127.0.0.1'])).toEqual({
        code: 0,
        err: '',
        out: ['not previewed: no preview in force is for 127.0.0.1/32; nothing removed', 'previews in force: none'],
      });
      expect(written()).toBe(before);
      expect(await release(['preview', 'list'])).toEqual({
        code: 0,
        err: '',
        out: ['no preview in force: every viewer gets what the rollout gives them'],
      });
      const listed = await release(['--json', 'preview']);
      expect(JSON.parse(listed.out.join('\n'))).toEqual({
        previews: [],
        bytes: expect.any(Number),
        limitBytes: expect.any(Number),
      });
    },
  );
});

describe('preview, of a published build', () => {
  beforeAll(async () => {
    // Published by a release, then stopped: no viewer gets it but through a preview.
    await callControl(control.address, 'POST', '/release', { buildDir: builds.canary.dir });
    await callControl(control.address, 'POST', '/stop');
    expect(local.status().state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
  });

  it(
    'gives the viewers inside the prefix that build and no one else, replaces a preview of the same prefix, ' +
      'and announces every edit before writing it',
    async () => {
      const canary = builds.canary.buildId;
      const startedAt = nowSeconds();
      const added = await release(['preview', 'add', canary, '--viewer', '203.0.113.0/24', '--for', '2h']);
      expect(added.code).toBe(0);
      const [first] = stored();
      expect(first).toEqual({ build: canary, viewer: '203.0.113.0/24', until: expect.any(Number) });
      expect(first!.until - startedAt).toBeGreaterThanOrEqual(2 * HOUR);
      expect(first!.until - nowSeconds()).toBeLessThanOrEqual(2 * HOUR + 1);
      expect(added.out).toEqual([
        `preview: viewers in 203.0.113.0/24 get build ${canary} on every host page, whatever the weight, until ` +
          `${new Date(first!.until * 1000).toISOString()} (2 h left)`,
        `open ${local.hostUrl}?viewer=<an address in 203.0.113.0/24> to be one of its viewers`,
      ]);
      // Announced to the signal's timeline, then written.
      expect(local.controlPlane.timeline.read().at(-1)).toMatchObject({
        state: parseRolloutState(local.status().state),
        until: null,
      });
      for (const viewer of ['203.0.113.1', '203.0.113.77', '203.0.113.254'])
        expect(await h.load(viewer)).toEqual({ status: 200, buildId: canary });
      for (const viewer of ['203.0.112.255', '203.0.114.1', '198.51.100.7'])
        expect(await h.load(viewer)).toEqual({ status: 200, buildId: builds.stable.buildId });

      // Your own browser, by default, as JSON; and an IPv6 /48.
      const own = await release(['--json', 'preview', 'add', canary]);
      const ownPreview = { build: canary, viewer: '127.0.0.1/32', until: expect.any(Number) };
      expect(JSON.parse(own.out.join('\n'))).toEqual({
        action: 'add',
        preview: ownPreview,
        replaced: null,
        previews: [first, ownPreview],
      });
      const v6 = await release(['preview', 'add', canary, '--viewer', '2001:DB8:7:0::/48', '--for', '1d']);
      expect(v6.code).toBe(0);
      expect(await h.load('2001:db8:7:ab::1')).toEqual({ status: 200, buildId: canary });
      expect(await h.load('2001:db8:8::1')).toEqual({ status: 200, buildId: builds.stable.buildId });

      // The same prefix, however written: replaced.
      const replaced = await release(['preview', 'add', builds.stable.buildId, '--viewer', '203.0.113.9/24']);
      expect(replaced.out[1]).toBe(`it replaces the preview of ${canary} for 203.0.113.0/24`);
      expect(stored().map((preview) => [preview.build, preview.viewer])).toEqual([
        [canary, '127.0.0.1/32'],
        [canary, '2001:db8:7::/48'],
        [builds.stable.buildId, '203.0.113.0/24'],
      ]);
      expect(await h.load('203.0.113.77')).toEqual({ status: 200, buildId: builds.stable.buildId });

      // The API takes an absolute end too.
      const until = nowSeconds() + 90;
      const api = await postPreview({ action: 'add', build: canary, viewer: '198.51.100.0/24', until });
      expect(api.status).toBe(200);
      expect(api.body).toMatchObject({
        action: 'add',
        changed: [{ build: canary, viewer: '198.51.100.0/24', until }],
        replaced: null,
      });
      expect(await h.load('198.51.100.7')).toEqual({ status: 200, buildId: canary });
    },
  );

  it('lists them in preview list, --status, GET /status, the status line and the dashboard', async () => {
    const previews = stored();
    expect(previews).toHaveLength(4);
    const list = await release(['preview', 'list']);
    expect(list.out[0]).toMatch(/^previews in force \(4; with the ring, \d+ of the \d+ bytes they may share\):$/);
    expect(list.out.slice(1)).toEqual(
      previews.map((preview) =>
        expect.stringMatching(
          new RegExp(
            `^  ${preview.build} for ${preview.viewer.replace(/\./g, '\\.')} until ` +
              `${new Date(preview.until * 1000).toISOString().replace(/\./g, '\\.')} \\(.+ left\\)$`,
          ),
        ),
      ),
    );
    const json = JSON.parse((await release(['--json', 'preview', 'list'])).out.join('\n')) as { previews: unknown };
    expect(json.previews).toEqual(previews);

    const status = await release(['--status']);
    expect(status.out.filter((line) => line.startsWith('preview: '))).toHaveLength(4);
    expect(status.out).toContain(
      `preview: ${builds.canary.buildId} for 2001:db8:7::/48 until ` +
        `${new Date(previews[1]!.until * 1000).toISOString()} (1 d left)`,
    );
    const served = (await callControl(control.address, 'GET', '/status')) as { state: string };
    expect(parseRolloutState(served.state)?.previews).toEqual(previews);

    // The status line names two and counts the rest, with the time left by the local clock (the local edge's).
    const line = formatStatusLine(
      { ...local.status(), now: (previews[0]!.until - 2 * HOUR) * 1000 },
      local.emulator.stats(),
    );
    expect(line).toContain(
      ` | preview ${builds.canary.buildId.slice(0, 8)} for 127.0.0.1/32, 2 h left; ` +
        `${builds.canary.buildId.slice(0, 8)} for 2001:db8:7::/48, 1 d 1 h left (+2 more) | `,
    );

    const dashboard = (await (await fetch(new URL('data.json', local.dashboardUrl))).json()) as DashboardData;
    expect(dashboard.previews).toEqual(
      previews.map((preview) => ({
        build: preview.build,
        viewer: preview.viewer,
        until: new Date(preview.until * 1000).toISOString(),
        secondsLeft: expect.any(Number),
        left: expect.any(String),
      })),
    );
    expect(dashboard.previews[3]!.secondsLeft).toBeLessThanOrEqual(90);
  });

  it('removes one by its prefix, or every one of a build; the state holds no previews once none is left', async () => {
    const removed = await release(['preview', 'remove', '--viewer', '203.0.113.200/24']);
    expect(removed).toEqual({
      code: 0,
      err: '',
      out: [
        `removed the preview of ${builds.stable.buildId} for 203.0.113.0/24: its viewers get what the rollout ` +
          'gives them from their next load',
        'previews in force: 3',
      ],
    });
    // Not an address inside a preview's prefix: that names another preview, which there is not.
    const before = written();
    expect(await release(['preview', 'remove', '--viewer', '198.51.100.7'])).toEqual({
      code: 0,
      err: '',
      out: [
        `not previewed: no preview in force is for 198.51.100.7/32; nothing removed (198.51.100.0/24, build ` +
          `${builds.canary.buildId} holds it: remove that prefix with --viewer)`,
        'previews in force: 3',
      ],
    });
    expect(written()).toBe(before);

    const byBuild = await release(['--json', 'preview', 'remove', '--build', builds.canary.buildId]);
    const answer = JSON.parse(byBuild.out.join('\n')) as { removed: Preview[]; previews: Preview[] };
    expect(answer.removed.map((preview) => preview.viewer)).toEqual([
      '127.0.0.1/32',
      '2001:db8:7::/48',
      '198.51.100.0/24',
    ]);
    expect(answer.previews).toEqual([]);
    expect(local.status().state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    expect(local.controlPlane.timeline.read().at(-1)?.state).toEqual(steadyState(builds.stable.buildId));
    for (const viewer of ['127.0.0.1', '198.51.100.7', '2001:db8:7::1'])
      expect(await h.load(viewer)).toEqual({ status: 200, buildId: builds.stable.buildId });
  });

  it('refuses a preview past the room the ring and the previews share (409), writing nothing', async () => {
    let full: { status: number; body: Record<string, unknown> } | null = null;
    for (let i = 0; i < 64 && full === null; i += 1) {
      const answer = await postPreview({ action: 'add', build: builds.canary.buildId, viewer: `192.0.2.${i}` });
      if (answer.status !== 200) full = answer;
    }
    expect(full?.status).toBe(409);
    expect(full?.body.error).toMatch(/^the rollout state cannot take another preview: \d+ previews and 0 ring/);
    expect(stored().length).toBeGreaterThan(5);
    const before = written();
    const cli = await release(['preview', 'add', builds.canary.buildId, '--viewer', '192.0.2.200']);
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(/^the rollout state cannot take another preview/);
    expect(written()).toBe(before);
    // Replacing one in place takes no more room.
    const again = await postPreview({ action: 'add', build: builds.stable.buildId, viewer: '192.0.2.0' });
    expect(again.status).toBe(200);
    expect((await postPreview({ action: 'remove', build: builds.canary.buildId })).status).toBe(200);
    expect((await postPreview({ action: 'remove', build: builds.stable.buildId })).status).toBe(200);
    expect(stored()).toEqual([]);
  });

  it("a revocation ends the build's previews; a revoked build is refused (409, exit 1), writing nothing", async () => {
    const canary = builds.canary.buildId;
    await release(['preview', 'add', canary, '--viewer', '203.0.113.0/24']);
    await release(['preview', 'add', builds.stable.buildId, '--viewer', '198.51.100.0/24']);
    expect(await h.load('203.0.113.5')).toEqual({ status: 200, buildId: canary });
    const revoked = await release(['revoke', canary, '--reason', 'CVE-2026-0003: previewed, then found bad']);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(
      `ended the preview of ${canary} for 203.0.113.0/24: its viewers get what the rollout gives them`,
    );
    expect(stored().map((preview) => preview.build)).toEqual([builds.stable.buildId]);
    expect(await h.load('203.0.113.5')).toEqual({ status: 200, buildId: builds.stable.buildId });

    const before = written();
    const refused = await postPreview({ action: 'add', build: canary, viewer: '203.0.113.0/24' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(
      new RegExp(`^build ${canary} was revoked at .* \\(CVE-2026-0003: previewed, then found bad\\): it is never`),
    );
    expect(await release(['preview', 'add', canary])).toEqual({ code: 1, out: [], err: `${refused.body.error}\n` });
    expect(written()).toBe(before);
  });
});

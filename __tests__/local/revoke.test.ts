/**
 * `npm run local:release -- revoke <buildId> --reason <why>` against a running local distribution,
 * through its control endpoint (POST /revoke) and over HTTP to the local CloudFront: what it
 * refuses (not a build id, a build it never published, a reason `rollout revoke` would not keep,
 * the stable build, alone or with a release of another build running) and with which exit code;
 * and what a revocation of a running release's canary does: the deployment stops with rollback,
 * the store holds `revoked/<buildId>`, the build's entry answers 410 (a copy cached before
 * included), the stable build still serves, every viewer's next load gets the stable build, and
 * the 'revoked' notification is recorded. A second revoke returns the first record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { readManifest } from '../../contracts/build-manifest';
import { buildEntryPath } from '../../contracts/distribution-paths';
import { parseRevocation, revocationKey, REVOCATION_KEY_PREFIX } from '../../contracts/revocation';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { callControl, startControlServer, type ControlServer } from '../../local/control-server';
import type { DashboardData } from '../../local/dashboard-page';
import type { LocalDistribution } from '../../local/local-distribution';
import { CLIENT_IP_HEADER } from '../../loopback/cloudfront-emulator';
import { postControl, runLocalRelease } from '../fixtures/local-release';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { rawRequest } from '../fixtures/raw-request';

const MINUTE = 60_000;
const REASON = 'CVE-2026-0001: the search page runs what the query says';
const config = loadConfig();
const builds = localBuilds();

let h: SignalHarness;
let local: LocalDistribution;
let control: ControlServer;
let dir: string;
let file: string;
const agent = new Agent({ keepAlive: true });

beforeAll(async () => {
  h = await startSignalHarness(config);
  local = h.local;
  dir = mkdtempSync(path.join(tmpdir(), 'local-revoke-'));
  file = path.join(dir, 'control.json');
  control = await startControlServer(local, { addressFile: file });
}, 120_000);
afterAll(async () => {
  agent.destroy();
  await control?.close();
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run local:release -- <args>` against this file's `npm start`. */
const release = (args: readonly string[]) => runLocalRelease(args, file);

/** POST /revoke as the command sends it: the status and the answer. */
const postRevoke = (body: unknown) => postControl(control, '/revoke', body);

/** One request to the local CloudFront as `viewer`, as a browser sends it: the status, the build it got, x-cache. */
async function get(target: string, viewer: string) {
  const response = await rawRequest(local.url, {
    path: target,
    headers: { [CLIENT_IP_HEADER]: viewer, 'accept-encoding': 'br, gzip' },
    agent,
  });
  const build = response.headers['x-build-id'];
  return {
    status: response.status,
    buildId: typeof build === 'string' ? build : null,
    cache: response.headers['x-cache'],
  };
}

const revokedKeys = () => local.kvs.store.keys().filter((key) => key.startsWith(REVOCATION_KEY_PREFIX));
const viewers = Array.from({ length: 200 }, (_, i) => `198.51.${100 + (i >> 6)}.${(i * 4) % 256}`);

describe('revoke, refused', () => {
  it(
    'refuses what is not a build id, a build it never published and a reason `rollout revoke` would not keep ' +
      '(400, 404; exit 2 from the command line), and the stable build while it is the only one serving (409, exit 1)',
    async () => {
      expect(await postRevoke({ buildId: 'nope', reason: REASON })).toEqual({
        status: 400,
        body: { error: expect.stringMatching(/^not a build id: "nope" \(16 hex digits/) },
      });
      expect(await postRevoke({ buildId: builds.canary.buildId })).toEqual({
        status: 400,
        body: { error: 'POST /revoke takes {"buildId": "<16 hex digits>", "reason": "<why>"}' },
      });
      // The canary build exists, but this distribution has not published it yet.
      const unknown = await postRevoke({ buildId: builds.canary.buildId, reason: REASON });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toBe(
        `build ${builds.canary.buildId} is not one this local distribution published (it published ` +
          `${builds.stable.buildId} as v1): nothing to revoke`,
      );
      expect(await postRevoke({ buildId: builds.stable.buildId, reason: '  ' })).toEqual({
        status: 400,
        body: { error: 'the reason is empty: say why the build is revoked (a CVE, an incident, a link)' },
      });
      expect((await postRevoke({ buildId: builds.stable.buildId, reason: 'one\ntwo' })).body.error).toBe(
        'the reason has a line break or a control character: write one line',
      );
      const stable = await postRevoke({ buildId: builds.stable.buildId, reason: REASON });
      expect(stable.status).toBe(409);
      expect(stable.body.error).toBe(
        `build ${builds.stable.buildId} cannot be revoked: it is the stable build and the only one serving, so ` +
          `nothing would replace it for its viewers. Release another build first (\`npm run local:release\`) and ` +
          `let it finish, then revoke ${builds.stable.buildId}. (In AWS, \`npm run rollout -- revoke\` takes ` +
          '`--to <buildId>` and replaces it at once; the local mode has no --to.)',
      );

      // The command line: usage errors exit 2 before anything is sent, refusals exit 1 with the endpoint's words.
      const notAnId = await release(['revoke', 'nope', '--reason', REASON]);
      expect(notAnId.code).toBe(2);
      expect(notAnId.err).toContain('expected a build id, 16 hex digits');
      const noReason = await release(['revoke', builds.stable.buildId]);
      expect(noReason.code).toBe(2);
      expect(noReason.err).toContain("required option '--reason <why>' not specified");
      for (const [reason, problem] of [
        ['', 'the reason is empty'],
        ['one\ntwo', 'the reason has a line break'],
      ] as const) {
        const refused = await release(['revoke', builds.stable.buildId, '--reason', reason]);
        expect(refused.code).toBe(2);
        expect(refused.err).toContain(problem);
      }
      const badReason = await release(['revoke', builds.stable.buildId, '--reason', 'x'.repeat(301)]);
      expect(badReason.code).toBe(2);
      expect(badReason.err).toContain('the reason is 301 characters, over 300: link the report instead');
      expect(await release(['revoke', builds.canary.buildId, '--reason', REASON])).toEqual({
        code: 1,
        out: [],
        err: `${unknown.body.error}\n`,
      });
      expect(await release(['revoke', builds.stable.buildId, '--reason', REASON])).toEqual({
        code: 1,
        out: [],
        err: `${stable.body.error}\n`,
      });
      // Nothing was written, and nothing stopped serving.
      expect(revokedKeys()).toEqual([]);
      expect(local.status().revocations).toEqual([]);
      expect(await get(buildEntryPath(builds.stable.buildId), '198.51.99.1')).toMatchObject({ status: 200 });
    },
  );
});

describe('revoke, during a release of its canary', () => {
  let deploymentId: string;

  it(
    'refuses the stable build while the release runs, and stops the release of a revoked canary at once: ' +
      'its entry answers 410 (a cached copy too), the stable build serves every viewer',
    async () => {
      const released = (await callControl(control.address, 'POST', '/release', { buildDir: builds.canary.dir })) as {
        deploymentId: string;
      };
      deploymentId = released.deploymentId;
      // Linear 10 % a minute; nobody loads the entry yet, so the judge holds the first step.
      await h.walk(h.clock.now() + 2 * MINUTE);
      expect(local.controlPlane.tick().canary).toMatchObject({ buildId: builds.canary.buildId, weight: 1000 });

      const stable = await postRevoke({ buildId: builds.stable.buildId, reason: REASON });
      expect(stable.status).toBe(409);
      expect(stable.body.error).toContain(
        `it is the stable build, and the release of ${builds.canary.buildId} (${deploymentId}) has not finished, ` +
          'so nothing would replace it for its viewers. Release another build first (`npm run local:release`) and ' +
          'let it finish',
      );
      expect(stable.body.error).toContain('`--to <buildId>`');

      const before = new Map<string, string | null>();
      for (const viewer of viewers) before.set(viewer, (await get('/assets/index.js', viewer)).buildId);
      const onCanary = viewers.filter((viewer) => before.get(viewer) === builds.canary.buildId);
      // Binomial(200, 0.1): mean 20, sd 4.2.
      expect(onCanary.length).toBeGreaterThanOrEqual(2);
      // The canary's entry by its own URL, cached before the revoke.
      const canaryEntry = buildEntryPath(builds.canary.buildId);
      expect(await get(canaryEntry, onCanary[0]!)).toMatchObject({ status: 200, buildId: builds.canary.buildId });
      expect(await get(canaryEntry, onCanary[0]!)).toMatchObject({ status: 200, cache: 'Hit from cloudfront' });

      // A file of each build, cached: the invalidation takes the canary's and leaves the stable build's.
      const chunkOf = (dir: string) => `/${readManifest(dir).assets[0]!.key}`;
      const chunks = [chunkOf(builds.canary.dir), chunkOf(builds.stable.dir)];
      for (const chunk of chunks) await get(chunk, '198.51.99.3');
      for (const chunk of chunks)
        expect(await get(chunk, '198.51.99.3')).toMatchObject({ cache: 'Hit from cloudfront' });

      const revokedAt = h.clock.now();
      const revoke = await release(['revoke', builds.canary.buildId, '--reason', REASON]);
      expect(revoke).toEqual({
        code: 0,
        err: '',
        out: [
          `revoked ${builds.canary.buildId} at ${new Date(revokedAt).toISOString()}: ${REASON}`,
          `stopped ${deploymentId}: every viewer's next load gets the stable build ${builds.stable.buildId} (v1)`,
          `/assets/${builds.canary.buildId}/index.js answers 410 from now on; /assets/${builds.canary.buildId}/* ` +
            'was invalidated',
        ],
      });

      // The deployment stopped with rollback: the state names no canary.
      const status = local.status();
      expect(status.deployment).toMatchObject({ id: deploymentId, status: 'Stopped' });
      expect(status.canary).toBeNull();
      expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
      expect(parseRevocation(builds.canary.buildId, local.kvs.store.get(revocationKey(builds.canary.buildId)))).toEqual(
        { buildId: builds.canary.buildId, at: revokedAt, reason: REASON },
      );
      // Told as rollout sync tells it: the stop, then the revocation, in the shared formatter's words.
      expect(status.notifications.slice(-2).map((n) => [n.detail.kind, n.message.split('\n')[0]])).toEqual([
        ['release-stopped', expect.stringContaining(`build ${builds.canary.buildId} revoked: ${REASON}`)],
        ['revoked', `Revoked: build ${builds.canary.buildId}: ${REASON}`],
      ]);

      expect((await get(chunks[0]!, '198.51.99.3')).cache).toBe('Miss from cloudfront');
      expect((await get(chunks[1]!, '198.51.99.3')).cache).toBe('Hit from cloudfront');
      // Its entry is gone, also for the viewer whose copy was cached; the stable entry still serves.
      expect(await get(canaryEntry, onCanary[0]!)).toMatchObject({ status: 410 });
      expect(await get(canaryEntry, '198.51.99.2')).toMatchObject({ status: 410 });
      expect(await get(buildEntryPath(builds.stable.buildId), '198.51.99.2')).toMatchObject({
        status: 200,
        buildId: builds.stable.buildId,
      });
      // Every viewer's next load of the one URL host pages embed: the stable build, none the canary, none a 410.
      const after = [];
      for (const viewer of viewers) after.push(await get('/assets/index.js', viewer));
      expect(after.filter((load) => load.status !== 200 || load.buildId !== builds.stable.buildId)).toEqual([]);
    },
  );

  it(
    'a second revoke of the same build returns the first record and succeeds; the revoked build is not released ' +
      'again; --status, GET /status and the dashboard list it',
    async () => {
      const first = local.status().revocations;
      expect(first).toEqual([{ buildId: builds.canary.buildId, at: expect.any(Number), reason: REASON }]);
      const notified = local.status().notifications.length;
      const again = await postRevoke({ buildId: builds.canary.buildId, reason: 'another reason' });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ revocation: first[0], already: true, stopped: null });
      const cli = await release(['revoke', builds.canary.buildId, '--reason', 'yet another']);
      expect(cli).toEqual({
        code: 0,
        err: '',
        out: [
          `build ${builds.canary.buildId} was revoked already at ${new Date(first[0]!.at!).toISOString()} ` +
            `(${REASON}): that record stands`,
        ],
      });
      const json = await release(['--json', 'revoke', builds.canary.buildId, '--reason', 'yet another']);
      expect(JSON.parse(json.out.join('\n'))).toEqual({ revocation: first[0], already: true, stopped: null });
      expect(revokedKeys()).toEqual([revocationKey(builds.canary.buildId)]);
      expect(local.status().notifications).toHaveLength(notified);

      // Released again, it would serve 410s: refused, and nothing starts.
      await expect(callControl(control.address, 'POST', '/release', { buildDir: builds.canary.dir })).rejects.toThrow(
        `build ${builds.canary.buildId} was revoked at `,
      );
      expect(local.status().deployment).toMatchObject({ id: deploymentId, status: 'Stopped' });

      const status = await release(['--status']);
      expect(status.out).toContain(
        `revoked ${builds.canary.buildId} at ${new Date(first[0]!.at!).toISOString()}: ${REASON}`,
      );
      const served = (await callControl(control.address, 'GET', '/status')) as { revocations: unknown };
      expect(served.revocations).toEqual(first);
      const dashboard = (await (await fetch(new URL('data.json', local.dashboardUrl))).json()) as DashboardData;
      expect(dashboard.revocations).toEqual([
        { buildId: builds.canary.buildId, at: new Date(first[0]!.at!).toISOString(), reason: REASON },
      ]);
    },
  );
});

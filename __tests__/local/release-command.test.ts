/**
 * `npm run local:release` in process, against a local distribution and its control endpoint: what
 * it says and its exit code when there is something to act on, and when there is not (no `npm
 * start` running, one that has exited, no release under way).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { startControlServer } from '../../local/control-server';
import type { LocalDistribution } from '../../local/local-distribution';
import { runLocalRelease } from '../fixtures/local-release';
import { parseRolloutState } from '../../contracts/rollout-state';
import { localBuilds, startSignalHarness, type SignalHarness } from '../fixtures/local';

const MINUTE = 60_000;
const config = loadConfig();
const builds = localBuilds();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'local-release-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the command as `npm run local:release -- <args>` would; what it printed and its exit code. */
const release = (args: readonly string[], controlFile: string) => runLocalRelease(args, controlFile);

describe('with no local distribution running', () => {
  it.each([[[]], [['--stop']], [['--status']], [['ring', 'add', 'http://127.0.0.1:8081']]])(
    '%j says so and exits 1',
    async (args) => {
      const result = await release(args, path.join(dir, 'control.json'));
      expect(result.code).toBe(1);
      expect(result.err).toMatch(
        /^no local distribution is running: start one with `npm start` in another terminal\n$/,
      );
      expect(result.out).toEqual([]);
    },
  );

  it('says so when the control file was left by a process that has exited', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const file = path.join(dir, 'control.json');
    writeFileSync(
      file,
      JSON.stringify({
        url: 'http://127.0.0.1:9',
        pid: Number(gone.stdout),
        distribution: 'http://127.0.0.1:9',
        hostPage: 'http://127.0.0.1:9/',
      }),
    );
    const result = await release(['--stop'], file);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      `no local distribution is running (${file} was left by pid ${gone.stdout}, which has exited)`,
    );
  });
});

describe('against a running local distribution', () => {
  let h: SignalHarness;
  let local: LocalDistribution;
  let control: { close(): Promise<void> };
  let file: string;

  beforeAll(async () => {
    // A manual clock the signal's runner has watched through every period (fixtures/local.ts): a
    // period nobody read would fire the unjudged alarm, and CodeDeploy would roll the release back.
    h = await startSignalHarness(config);
    local = h.local;
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(async () => {
    file = path.join(dir, 'control.json');
    control = await startControlServer(local, { addressFile: file });
  });
  afterEach(async () => {
    await control.close();
  });

  it('--stop with no release under way says so and exits 1; --status says where things are', async () => {
    const stop = await release(['--stop'], file);
    expect(stop.code).toBe(1);
    expect(stop.err).toBe(
      `no release is under way: nothing to stop (build ${builds.stable.buildId} serves every viewer)\n`,
    );
    const status = await release(['--status'], file);
    expect(status.code).toBe(0);
    expect(status.out[0]).toMatch(
      new RegExp(`^stable ${builds.stable.buildId.slice(0, 8)} \\(v1\\) \\| no canary \\|`),
    );
    expect(status.out).toContain('no release yet: change the app, then `npm run local:release`');
    const json = await release(['--status', '--json'], file);
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({
      stable: { buildId: builds.stable.buildId },
      canary: null,
      deployment: null,
    });
  });

  it('stops a release under way with rollback, once', async () => {
    await h.walk(h.clock.now() + 10 * MINUTE);
    const released = await local.release(builds.canary.dir);
    await h.walk(h.clock.now() + 2 * MINUTE);
    local.controlPlane.tick();
    const status = await release(['--status'], file);
    // Nobody loaded the entry: the judge has seen nothing, so the first step (10 %) holds past its minute, and says
    // why.
    expect(status.out[0]).toContain(`canary ${builds.canary.buildId.slice(0, 8)} (v${released.version}) 10% held`);
    expect(status.out).toContain(
      `${released.deploymentId} is shifting viewers to ${builds.canary.buildId}; ` +
        `\`npm run local:release -- --stop\` rolls it back`,
    );
    expect(status.out).toContainEqual(
      expect.stringMatching(/^held at 10% since .*: no evidence yet: no canary viewer counted$/),
    );
    const stop = await release(['--stop'], file);
    expect(stop).toMatchObject({ code: 0, err: '' });
    expect(stop.out).toEqual([
      `stopped ${released.deploymentId}: every viewer's next load gets the stable build ${builds.stable.buildId} (v1)`,
    ]);
    expect(local.status().canary).toBeNull();
    const again = await release(['--stop'], file);
    expect(again.code).toBe(1);
    expect(again.err).toContain(
      `no release is under way: nothing to stop (build ${builds.stable.buildId} serves every viewer; the last ` +
        `deployment, ${released.deploymentId}, stopped)`,
    );
  });

  it(
    'edits the ring with `ring add|remove <origin>`, and ' + 'refuses a command line it cannot act on with exit 2',
    async () => {
      const origin = 'http://127.0.0.1:8081';
      expect(await release(['ring', 'add', origin], file)).toMatchObject({
        code: 0,
        out: [`ring: ${origin}; pages on these origins get the canary whatever the weight`],
      });
      expect(parseRolloutState(local.status().state)?.ring).toEqual([origin]);
      expect(await release(['ring', 'remove', origin], file)).toMatchObject({
        code: 0,
        out: ['ring: (empty); pages on these origins get the canary whatever the weight'],
      });
      const json = await release(['--json', 'ring', 'add', origin], file);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out.join('\n'))).toEqual({ action: 'add', origin, ring: [origin] });
      expect(await release(['ring', 'remove', origin], file)).toMatchObject({ code: 0 });
      expect((await release(['ring', 'add'], file)).code).toBe(2);
      const notAnOrigin = await release(['ring', 'add', 'http://127.0.0.1:8081/page'], file);
      expect(notAnOrigin.code).toBe(2);
      expect(notAnOrigin.err).toContain('expected scheme://host[:port] with no path');
      expect((await release(['ring', 'clear', origin], file)).code).toBe(2);
      expect((await release(['--stop', '--status'], file)).code).toBe(2);
      expect(parseRolloutState(local.status().state)?.ring).toEqual([]);
    },
  );
});

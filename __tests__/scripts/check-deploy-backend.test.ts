import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../config';
import { backendProblem, checkBackendCommand } from '../../scripts/check-deploy-backend';
import { invoke } from '../../scripts/lib/cli';

const ROOT = path.resolve(__dirname, '..', '..');
const base = {
  domain: 'widget.example.com',
  hostedZone: { name: 'example.com' },
  primaryRegion: 'us-east-1',
  regions: ['us-east-1', 'eu-west-1'],
};
const withBackend = (backend: Record<string, unknown>) =>
  parseConfig({ ...base, backend }, 'deploy.config.json', { TF_CLOUD_ORGANIZATION: 'acme' });

describe('check-backend', () => {
  it('refuses the local backend in CI, naming the field and the backends to use instead', () => {
    const problem = backendProblem(withBackend({ type: 'local' }), { CI: 'true' });
    expect(problem).toMatch(/^backend\.type: is "local"/);
    expect(problem).toMatch(/"cloud" backend/);
    expect(problem).toMatch(/"s3" backend/);
    expect(problem).toContain('"Terraform Cloud"');
  });

  it('refuses the default backend in CI too: a config without `backend` is local', () => {
    expect(backendProblem(parseConfig(base), { CI: '1' })).toMatch(/^backend\.type/);
  });

  it('lets a person deploy with local state by hand', () => {
    const local = withBackend({ type: 'local' });
    expect(backendProblem(local, {})).toBeNull();
    // CI systems sometimes export it empty; `CI=false` is how people turn it off by hand.
    for (const CI of ['', ' ', 'false', 'FALSE', '0']) expect([CI, backendProblem(local, { CI })]).toEqual([CI, null]);
  });

  it('accepts the cloud and s3 backends, in CI or not', () => {
    for (const backend of [{ type: 'cloud' }, { type: 's3', bucket: 'acme-terraform-state', region: 'eu-west-1' }]) {
      const config = withBackend(backend);
      expect(backendProblem(config, { CI: 'true' })).toBeNull();
      expect(backendProblem(config, {})).toBeNull();
    }
  });

  describe('the command', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'check-backend-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const configFile = (backend: Record<string, unknown>) => {
      const file = path.join(dir, `${String(backend.type)}.json`);
      writeFileSync(file, JSON.stringify({ ...base, backend }));
      return file;
    };

    /** In this process, with `env` as the environment; what it printed, by stream. */
    async function check(
      backend: Record<string, unknown>,
      env: Record<string, string>,
      argv: readonly string[] = [],
    ): Promise<{ code: number; out: string; err: string }> {
      let out = '';
      let err = '';
      const code = await invoke(checkBackendCommand(env), ['--config', configFile(backend), ...argv], {
        out: (text) => (out += text),
        error: (text) => (err += text),
      });
      return { code, out, err };
    }

    it('exits 1 with the reason, as an annotation in GitHub Actions, and 0 when the deploy may go on', async () => {
      expect(await check({ type: 'local' }, { CI: 'true' })).toMatchObject({
        code: 1,
        out: '',
        err: expect.stringMatching(/^backend\.type: is "local"/),
      });
      expect(await check({ type: 'local' }, { CI: 'true', GITHUB_ACTIONS: 'true' })).toMatchObject({
        code: 1,
        out: expect.stringMatching(/^::error title=Local backend in CI::backend\.type: is "local"/),
        err: '',
      });
      expect(await check({ type: 'local' }, {})).toEqual({ code: 0, out: '', err: '' });
      expect(
        (await check({ type: 's3', bucket: 'acme-terraform-state', region: 'eu-west-1' }, { CI: 'true' })).code,
      ).toBe(0);
    });

    it(
      '--json: the verdict as one JSON object, ok: false with the problem and exit 1 in CI; {"error": …} for a ' +
        'config it cannot read',
      async () => {
        const refused = await check({ type: 'local' }, { CI: 'true', GITHUB_ACTIONS: 'true' }, ['--json']);
        expect(refused.code).toBe(1);
        const verdict = JSON.parse(refused.out);
        expect(refused.out).toBe(`${JSON.stringify(verdict, null, 2)}\n`);
        expect(verdict).toEqual({
          ok: false,
          backend: 'local',
          ci: true,
          problem: expect.stringMatching(/^backend\.type: is "local"/),
        });
        // The annotation still goes out, on stderr, where the runner reads it too.
        expect(refused.err).toMatch(/^::error title=Local backend in CI::backend\.type: is "local"/);

        expect(await check({ type: 'local' }, { CI: 'false' }, ['--json'])).toEqual({
          code: 0,
          out: `${JSON.stringify({ ok: true, backend: 'local', ci: false, problem: null }, null, 2)}\n`,
          err: '',
        });
        expect(
          JSON.parse(
            (
              await check({ type: 's3', bucket: 'acme-terraform-state', region: 'eu-west-1' }, { CI: 'true' }, [
                '--json',
              ])
            ).out,
          ),
        ).toEqual({ ok: true, backend: 's3', ci: true, problem: null });

        let out = '';
        const code = await invoke(checkBackendCommand({}), ['--config', path.join(dir, 'missing.json'), '--json'], {
          out: (text) => (out += text),
          error: () => undefined,
        });
        expect(code).toBe(1);
        expect(JSON.parse(out)).toEqual({ error: expect.stringContaining('missing.json') });
      },
    );

    it('exits 1 from the npm script the workflow runs', () => {
      const { GITHUB_ACTIONS: _, CI: __, ...inherited } = process.env;
      const refused = spawnSync(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        [path.join(ROOT, 'scripts', 'check-deploy-backend.ts'), '--config', configFile({ type: 'local' })],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...inherited, CI: 'true' },
        },
      );
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/backend\.type: is "local"/);
    });
  });
});

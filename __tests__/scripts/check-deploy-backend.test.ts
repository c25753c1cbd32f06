import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../config';
import { backendProblem } from '../../scripts/check-deploy-backend';

const ROOT = path.resolve(__dirname, '..', '..');
const base = {
  domain: 'widget.example.com',
  hostedZone: { name: 'example.com' },
  primaryRegion: 'us-east-1',
  regions: ['us-east-1', 'eu-west-1'],
};
const withBackend = (backend: Record<string, unknown>) => parseConfig({ ...base, backend }, 'deploy.config.json', { TF_CLOUD_ORGANIZATION: 'acme' });

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

  it('exits 1 with the reason, and 0 when the deploy may go on (the npm script the workflow runs)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'check-backend-'));
    const run = (backend: Record<string, unknown>, env: Record<string, string>) => {
      const file = path.join(dir, `${String(backend.type)}.json`);
      writeFileSync(file, JSON.stringify({ ...base, backend }));
      const { GITHUB_ACTIONS: _, CI: __, ...inherited } = process.env;
      return spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'scripts', 'check-deploy-backend.ts'), '--config', file], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...inherited, ...env },
      });
    };
    const refused = run({ type: 'local' }, { CI: 'true' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/backend\.type: is "local"/);
    const annotated = run({ type: 'local' }, { CI: 'true', GITHUB_ACTIONS: 'true' });
    expect(annotated.status).toBe(1);
    expect(annotated.stdout).toMatch(/^::error title=Local backend in CI::backend\.type: is "local"/m);
    expect(run({ type: 'local' }, {}).status).toBe(0);
    expect(run({ type: 's3', bucket: 'acme-terraform-state', region: 'eu-west-1' }, { CI: 'true' }).status).toBe(0);
  });
});

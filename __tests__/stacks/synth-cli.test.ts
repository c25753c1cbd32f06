import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, resourceNames } from '../../config';
import { checkSynthOutput, formatViolations } from '../../stacks/policy';
import { readSynthOutput } from '../../stacks/policy/terraform-json';

const ROOT = path.resolve(__dirname, '..', '..');

describe('cdktf synth', () => {
  let outdir: string;
  beforeEach(() => {
    outdir = mkdtempSync(path.join(os.tmpdir(), 'cdktf-synth-'));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  it('writes both stacks offline, with their zips, and they pass the policy rules', () => {
    // The CLI as `npm run synth` runs it, from node_modules/.bin: npx would only find the same file, in a process of
    // its own (~0.4 s CPU).
    const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdktf'), ['synth', '--output', outdir], {
      cwd: ROOT,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', CI: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.status).toBe(0);
    const names = resourceNames(loadConfig());
    expect(readSynthOutput(outdir).map((s) => s.name)).toEqual([names.deliveryStack, names.replicaStack].sort());
    const assets = path.join(outdir, 'stacks', names.deliveryStack, 'assets');
    const zips = readdirSync(assets, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.zip'))
      .map((f) => path.basename(f))
      .sort();
    // One zip per regional and edge Lambda the stacks deploy, and no other.
    expect(zips).toEqual([
      'chunk-router.zip',
      'entry-router.zip',
      'release.zip',
      'rollout-sync.zip',
      'signal-consumer.zip',
    ]);
    expect(formatViolations(checkSynthOutput(outdir))).toBe('');
  });

  it('says to build first when there is no build', () => {
    const emptyBuild = path.join(outdir, 'no-build');
    // cdktf.json's app command, as the case above runs it through cdktf.
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, BUILD_DIR: emptyBuild, CDKTF_OUTDIR: path.join(outdir, 'out') },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/run `npm run build` first/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(outdir, 'out'))).toBe(false);
  });
});

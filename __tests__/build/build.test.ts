import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { readManifest } from '../../contracts/build-manifest';
import { build, MODULES_FILE, PROJECT_ROOT, type BuildOptions, type BuildResult } from '../../publish/build';
import { buildCommand } from '../../scripts/build';
import { invoke } from '../../scripts/lib/cli';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { localBuilds } from '../fixtures/local';

const config = loadConfig(path.join(PROJECT_ROOT, 'deploy.config.json'));

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function zipHashes(result: { outDir: string; manifest: BuildResult['manifest'] }): Record<string, string> {
  return Object.fromEntries(
    Object.entries(result.manifest.functions).map(([name, fn]) => [name, sha256(path.join(result.outDir, fn.zip))]),
  );
}

describe('deterministic build', () => {
  const scratch: string[] = [];
  afterAll(() => {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  function outDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'build-test-'));
    scratch.push(dir);
    return dir;
  }

  /** A copy of webapp/ beside the original, so module paths relative to node_modules stay the same. */
  function webappCopy(): string {
    const dir = path.join(PROJECT_ROOT, `.webapp-copy-${process.pid}-${scratch.length}`);
    scratch.push(dir);
    cpSync(path.join(PROJECT_ROOT, 'webapp'), dir, { recursive: true });
    return dir;
  }

  it('gives the same buildId and byte-identical zips when built again from the same source elsewhere', async () => {
    const first = { outDir: BUILD_DIR, manifest: defaultBuild() };
    const second = await build({ config, outDir: outDir(), webappDir: webappCopy() });
    expect(second.manifest.buildId).toBe(first.manifest.buildId);
    expect(zipHashes(second)).toEqual(zipHashes(first));
    expect(second.manifest).toEqual(first.manifest);
    expect(readFileSync(path.join(second.outDir, 'manifest.json'))).toEqual(
      readFileSync(path.join(BUILD_DIR, 'manifest.json')),
    );
    // A whole build: webpack, terser and every function bundle, on two cores other suites share.
  }, 180_000);

  it('changes the buildId and the entry router zip when one line of the app changes', () => {
    // Global setup's two local builds are this case already (one config, the app's headline the
    // only difference): comparing them spares a third build here.
    const built = ({ dir }: { dir: string }) => ({ outDir: dir, manifest: readManifest(dir) });
    const [original, changed] = [built(localBuilds().stable), built(localBuilds().canary)];
    expect(changed.manifest.buildId).not.toBe(original.manifest.buildId);
    expect(changed.manifest.buildId).toMatch(/^[0-9a-f]{16}$/);
    expect(zipHashes(changed)['entry-router']).not.toBe(zipHashes(original)['entry-router']);
    // Only what carries the build changes: the regional functions do not embed it.
    expect(zipHashes(changed).release).toBe(zipHashes(original).release);
  });
});

describe('build output', () => {
  const manifest = defaultBuild();

  it('keeps index.js within 1,800 B brotli', () => {
    const brotli = readFileSync(path.join(BUILD_DIR, `${manifest.entry.key}.br`)).length;
    expect(manifest.entry.brotliBytes).toBe(brotli);
    if (brotli > 1800)
      throw new Error(`index.js is ${brotli} B brotli (${manifest.entry.bytes} B raw): over the 1,800 B budget`);
  });

  it('puts every asset under assets/<buildId>/ with a content type and, for text, .br and .gz variants', () => {
    expect(manifest.assets.length).toBeGreaterThan(3);
    for (const asset of manifest.assets) {
      expect(asset.key.startsWith(`assets/${manifest.buildId}/`)).toBe(true);
      expect(readFileSync(path.join(BUILD_DIR, asset.key)).length).toBe(asset.bytes);
      expect(sha256(path.join(BUILD_DIR, asset.key))).toBe(asset.sha256);
      expect(asset.contentType).toBe('application/javascript; charset=utf-8');
      expect(Object.keys(asset.variants).sort()).toEqual(['br', 'gzip']);
    }
  });

  it('stamps the buildId into the entry and leaves no placeholder anywhere', () => {
    for (const asset of manifest.assets) {
      const text = readFileSync(path.join(BUILD_DIR, asset.key), 'utf8');
      expect(text).not.toContain('__edge_widget_build_id__');
    }
    expect(readFileSync(path.join(BUILD_DIR, manifest.entry.key), 'utf8')).toContain(`/assets/${manifest.buildId}/`);
  });

  it('records each zip with its size and the base64 sha256 Terraform uses as source_code_hash', () => {
    for (const fn of Object.values(manifest.functions)) {
      const bytes = readFileSync(path.join(BUILD_DIR, fn.zip));
      expect(bytes.length).toBe(fn.bytes);
      expect(createHash('sha256').update(bytes).digest('base64')).toBe(fn.sourceCodeHash);
    }
  });
});

describe('webapp chunks', () => {
  const moduleChunks = JSON.parse(readFileSync(path.join(BUILD_DIR, MODULES_FILE), 'utf8')) as Record<string, string[]>;

  it('bundles no module into more than one chunk', () => {
    const modules = Object.entries(moduleChunks);
    expect(modules.length).toBeGreaterThan(10);
    const duplicated = modules
      .filter(([, chunks]) => chunks.length > 1)
      .map(([name, chunks]) => `${name} in ${chunks.join(', ')}`);
    expect(duplicated).toEqual([]);
  });

  it('keeps React, the router and every page out of the entry', () => {
    const inEntry = Object.entries(moduleChunks)
      .filter(([, chunks]) => chunks.includes('index'))
      .map(([name]) => name);
    // The bootstrap, its error reporter and the contract that builds the report's URL (with the build id pattern it
    // imports).
    expect(inEntry.sort()).toEqual([
      '../contracts/build-id.ts',
      '../contracts/error-report.ts',
      './src/error-report.ts',
      './src/index.ts',
    ]);
    // Matched by suffix: with node_modules symlinked (worktrees) webpack names the resolved path.
    const reactDom = Object.keys(moduleChunks).filter((name) =>
      name.endsWith('node_modules/react-dom/cjs/react-dom-client.production.js'),
    );
    expect(reactDom).toHaveLength(1);
    expect(moduleChunks[reactDom[0]!]).toEqual(['react']);
    expect(defaultBuild().chunkCount).toBeGreaterThanOrEqual(5);
  });
});

describe('npm run build -- --json', () => {
  /**
   * The command in this process, its build answered by `result` (the build global setup made, here); what it printed,
   * by stream.
   */
  async function run(
    argv: readonly string[],
    result: (options: BuildOptions) => Promise<BuildResult>,
  ): Promise<{ code: number; out: string; err: string; options: BuildOptions[] }> {
    const options: BuildOptions[] = [];
    let out = '';
    let err = '';
    const command = buildCommand({
      build: (given) => {
        options.push(given);
        return result(given);
      },
    });
    const code = await invoke(command, argv, { out: (text) => (out += text), error: (text) => (err += text) });
    return { code, out, err, options };
  }

  it(
    'prints the build as one JSON object and nothing else on stdout: buildId, output folder, entry and chunk ' +
      'sizes, function zips',
    async () => {
      const manifest = defaultBuild();
      const { code, out, err, options } = await run(
        ['--json', '--out', BUILD_DIR, '--config', path.join(PROJECT_ROOT, 'deploy.config.json')],
        async (given) => {
          // The summary the build logs is the text output; under --json it must not reach stdout.
          given.log?.(`buildId      ${manifest.buildId}`);
          return { outDir: BUILD_DIR, manifest, moduleChunks: {} };
        },
      );
      expect({ code, err }).toEqual({ code: 0, err: '' });
      expect(options.map((given) => [given.outDir, given.config.name])).toEqual([[BUILD_DIR, config.name]]);
      const report = JSON.parse(out);
      expect(out).toBe(`${JSON.stringify(report, null, 2)}\n`);
      const chunks = manifest.assets.filter((asset) => asset.key.endsWith('.js') && asset.key !== manifest.entry.key);
      expect(report).toMatchObject({
        ok: true,
        buildId: manifest.buildId,
        outDir: BUILD_DIR,
        manifest: path.join(BUILD_DIR, 'manifest.json'),
        entry: {
          key: manifest.entry.key,
          bytes: manifest.entry.bytes,
          gzipBytes: manifest.entry.gzipBytes,
          brotliBytes: manifest.entry.brotliBytes,
        },
        chunks: {
          count: manifest.chunkCount,
          bytes: chunks.reduce((sum, c) => sum + c.bytes, 0),
          brotliBytes: chunks.reduce((sum, c) => sum + c.variants.br!.bytes, 0),
        },
      });
      expect(report.chunks.count).toBeGreaterThan(0);
      expect(Object.keys(report.functions).sort()).toEqual(Object.keys(manifest.functions).sort());
      expect(report.functions['entry-router']).toEqual({
        kind: 'edge',
        zip: manifest.functions['entry-router'].zip,
        bytes: manifest.functions['entry-router'].bytes,
        sha256: manifest.functions['entry-router'].sha256,
      });
      expect(report.cloudFrontFunctions['viewer-assignment']).toMatchObject({
        bytes: manifest.cloudFrontFunctions['viewer-assignment'].bytes,
        limitBytes: 10240,
      });
    },
  );

  it('prints {"error": …} when the build fails, and exits 1 as without --json', async () => {
    const fail = async (): Promise<BuildResult> => {
      throw new Error('webpack failed:\nModule not found');
    };
    const json = await run(['--json', '--out', BUILD_DIR], fail);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toEqual({ error: 'webpack failed:\nModule not found' });
    expect(json.err).toBe('webpack failed:\nModule not found\n');
    const text = await run(['--out', BUILD_DIR], fail);
    expect({ code: text.code, out: text.out }).toEqual({ code: 1, out: '' });
  });
});

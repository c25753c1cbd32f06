/**
 * What a local release loads is what the build made: a build folder whose function code was
 * changed after the build is refused, naming the file, before any of it runs or is published; and
 * a zip cannot write outside the folder it is unpacked into (zip-slip), whoever unpacks it.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { loadConfig } from '../../config';
import { readManifest, type FunctionName } from '../../contracts/build-manifest';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { loadBundledHandler } from '../../edge-code/bundled-handler';
import { createZip } from '../../edge-code/zip';
import { localBuilds } from '../fixtures/local';

const config = loadConfig();
const builds = localBuilds();

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'release-zips-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it (a folder that vanishes meanwhile, another suite's, is skipped). */
function filesUnder(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(path.join(dir, entry.name)).map((file) => path.join(entry.name, file))
      : [entry.name],
  );
}

/** A handler that leaves `marker` behind when its code runs (loading it runs it). */
const markingCode = (marker: string) =>
  `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n` +
  `exports.handler = async () => ({ status: '200' });\n`;

const fflateZip = (files: Record<string, string>): Buffer =>
  Buffer.from(
    zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, new TextEncoder().encode(text)]))),
  );

describe('a local release', () => {
  let local: LocalDistribution;

  beforeAll(async () => {
    local = await startLocalDistribution({ config, buildDir: builds.stable.dir, clock: { now: () => 0 }, tickMs: 0 });
  });
  afterAll(async () => {
    await local?.stop();
  });

  /** The canary build, copied to `scratch` to be tampered with. */
  function canaryCopy(): string {
    const dir = path.join(scratch, builds.canary.buildId);
    cpSync(builds.canary.dir, dir, { recursive: true });
    return dir;
  }

  /** Nothing of the refused build serves or is under way: the stable build alone, as before. */
  async function nothingReleased(): Promise<void> {
    const status = local.status();
    expect(status.canary).toBeNull();
    expect(status.deployment).toBeNull();
    expect(status.stable.buildId).toBe(builds.stable.buildId);
    const entry = await fetch(`${local.url}/assets/${builds.stable.buildId}/index.js`);
    expect(entry.status).toBe(200);
    await entry.arrayBuffer();
  }

  it.each<[string, (dir: string, marker: string) => string]>([
    // The router the distribution runs, replaced by other code.
    [
      'entry-router.zip replaced by other code',
      (dir, marker) =>
        replace(
          dir,
          'functions/entry-router.zip',
          createZip([{ name: 'index.js', data: Buffer.from(markingCode(marker)) }]),
        ),
    ],
    // A zip the local mode never loads: still not the build's, so the build is refused.
    [
      'release.zip with one byte changed',
      (dir) => replace(dir, 'functions/release.zip', flipped(readFileSync(path.join(dir, 'functions/release.zip')))),
    ],
    [
      'viewer-assignment.js with a line added',
      (dir) =>
        replace(
          dir,
          'functions/viewer-assignment.js',
          Buffer.concat([
            readFileSync(path.join(dir, 'functions/viewer-assignment.js')),
            Buffer.from('\n// changed\n'),
          ]),
        ),
    ],
  ])(
    'of a build folder with %s after the build is refused, naming the file, before any of it runs',
    async (_what, tamper) => {
      const dir = canaryCopy();
      const marker = path.join(scratch, 'ran');
      const file = tamper(dir, marker);
      const refused = local.release(dir);
      await expect(refused).rejects.toThrow(file);
      await expect(refused).rejects.toThrow(/sha256 [0-9a-f]{64} is not the build manifest's [0-9a-f]{64}/);
      expect(existsSync(marker)).toBe(false);
      await nothingReleased();
    },
  );

  it(
    'of a build whose router zip has an entry ../../evil.js (its sha256 in the manifest) is refused naming the ' +
      'zip and the entry, and nothing is written outside',
    async () => {
      const dir = canaryCopy();
      const marker = path.join(scratch, 'ran');
      const zip = fflateZip({ 'index.js': markingCode(marker), '../../evil.js': markingCode(marker) });
      const zipFile = replace(dir, 'functions/entry-router.zip', zip);
      // The manifest says exactly these bytes: only the entry names can refuse them.
      const manifestFile = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
        functions: Record<FunctionName, { bytes: number; sha256: string; sourceCodeHash: string }>;
      };
      const digest = createHash('sha256').update(zip);
      manifest.functions['entry-router'] = {
        ...manifest.functions['entry-router'],
        bytes: zip.length,
        sha256: digest.copy().digest('hex'),
        sourceCodeHash: digest.digest('base64'),
      };
      writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
      expect(readManifest(dir).functions['entry-router'].sha256).toBe(createHash('sha256').update(zip).digest('hex'));

      const refused = local.release(dir);
      await expect(refused).rejects.toThrow(zipFile);
      await expect(refused).rejects.toThrow('zip entry "../../evil.js"');
      // Unpacked copies go under the OS temporary folder (this run's own): no evil.js anywhere there.
      expect(filesUnder(tmpdir()).filter((file) => path.basename(file) === 'evil.js')).toEqual([]);
      expect(existsSync(marker)).toBe(false);
      await nothingReleased();
    },
  );
});

describe('unpacking a function zip', () => {
  it.each([
    '../../evil.js',
    'lib/../../evil.js',
    '..',
    '/tmp/evil.js',
    'C:/evil.js',
    'lib\\..\\..\\evil.js',
    'lib\\evil.js',
  ])('refuses the entry %j, naming the zip and the entry, and writes nothing', (name) => {
    const root = path.join(scratch, 'handlers');
    mkdirSync(root);
    const marker = path.join(scratch, 'ran');
    const zipFile = path.join(scratch, 'entry-router.zip');
    writeFileSync(zipFile, fflateZip({ 'index.js': markingCode(marker), [name]: 'exports.evil = true;\n' }));
    expect(() => loadBundledHandler(zipFile, { tmpRoot: root })).toThrow(
      `${zipFile}: zip entry ${JSON.stringify(name)}`,
    );
    // Not one file of the zip, inside its folder or out of it; the code never ran.
    expect(filesUnder(root)).toEqual([]);
    expect(filesUnder(scratch).sort()).toEqual(['entry-router.zip']);
  });

  it('unpacks a zip whose entries stay inside its folder, folders included', async () => {
    const zipFile = path.join(scratch, 'nested.zip');
    writeFileSync(
      zipFile,
      fflateZip({
        'index.js': "exports.handler = async () => require('./lib/answer.js').answer;\n",
        'lib/answer.js': 'exports.answer = 42;\n',
      }),
    );
    const root = path.join(scratch, 'handlers');
    mkdirSync(root);
    const handler = loadBundledHandler(zipFile, {
      tmpRoot: root,
      sha256: createHash('sha256').update(readFileSync(zipFile)).digest('hex'),
    });
    expect(await handler({})).toBe(42);
    expect(
      filesUnder(root)
        .map((file) => file.split(path.sep).slice(1).join('/'))
        .sort(),
    ).toEqual(['node_modules/@aws-sdk', 'node_modules/nested/index.js', 'node_modules/nested/lib/answer.js']);
  });

  it('refuses a zip whose sha256 is not the one given, naming it, before unpacking it', () => {
    const zipFile = path.join(scratch, 'entry-router.zip');
    const marker = path.join(scratch, 'ran');
    writeFileSync(zipFile, fflateZip({ 'index.js': markingCode(marker) }));
    const root = path.join(scratch, 'handlers');
    mkdirSync(root);
    expect(() => loadBundledHandler(zipFile, { tmpRoot: root, sha256: '0'.repeat(64) })).toThrow(`${zipFile}: sha256 `);
    expect(readdirSync(root)).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });
});

/** Writes `bytes` over `relative` in `dir`; the file's path. */
function replace(dir: string, relative: string, bytes: Buffer): string {
  const file = path.join(dir, relative);
  writeFileSync(file, bytes);
  return file;
}

/** `bytes` with one bit of its middle byte changed. */
function flipped(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length >> 1]! ^= 1;
  return copy;
}

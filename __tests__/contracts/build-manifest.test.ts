import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MANIFEST_FILE, readManifest } from '../../contracts/build-manifest';
import { writeBuild } from '../fixtures/builds';

describe('readManifest', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const build = () => {
    const dir = writeBuild('00000000000000b1');
    dirs.push(dir);
    return dir;
  };
  const rewrite = (dir: string, change: (manifest: Record<string, unknown>) => void) => {
    const file = path.join(dir, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    change(manifest);
    writeFileSync(file, JSON.stringify(manifest));
  };

  it('returns a manifest that passes the schema', () => {
    expect(readManifest(build()).buildId).toBe('00000000000000b1');
  });

  it('names the missing folder and the command that makes one', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'no-build-'));
    dirs.push(empty);
    expect(() => readManifest(empty)).toThrow(/No build at .*manifest\.json \(ENOENT\): run `npm run build` first/);
  });

  it.each([
    ['an older schema', (m: Record<string, unknown>) => (m.schema = 1), /schema/],
    ['a buildId that is not one', (m: Record<string, unknown>) => (m.buildId = '../etc'), /buildId/],
    [
      'a function missing',
      (m: Record<string, unknown>) => delete (m.functions as Record<string, unknown>)['signal-consumer'],
      /functions\.signal-consumer/,
    ],
    [
      'an asset key outside the build folder',
      (m: Record<string, unknown>) => ((m.assets as { key: string }[])[0]!.key = '../../secret'),
      /assets\.0\.key: must be a path inside the build folder/,
    ],
    ['a field no version writes', (m: Record<string, unknown>) => (m.extra = true), /extra/],
  ])('refuses %s, saying which field and to build again', (_name, change, field) => {
    const dir = build();
    rewrite(dir, change);
    expect(() => readManifest(dir)).toThrow(field);
    expect(() => readManifest(dir)).toThrow(
      /is not a build manifest this version understands .*run `npm run build` again/,
    );
  });
});

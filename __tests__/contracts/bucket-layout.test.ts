import {
  buildAssetsPrefix,
  buildIdOfAssetKey,
  buildIdOfManifestKey,
  formatPublishedBuild,
  parsePublishedBuild,
  publishedBuildKey,
  type PublishedBuild,
} from '../../contracts/bucket-layout';

const ID = '0123456789abcdef';
const build: PublishedBuild = {
  schema: 1,
  buildId: ID,
  uploadedAt: '2026-11-26T12:00:00.000Z',
  entry: `assets/${ID}/index.js`,
  objects: [{ key: `assets/${ID}/index.js`, bytes: 10, sha256: 'a'.repeat(64) }],
};

describe('bucket layout', () => {
  it('derives and recognizes keys', () => {
    expect(publishedBuildKey(ID)).toBe(`builds/${ID}.json`);
    expect(buildAssetsPrefix(ID)).toBe(`assets/${ID}/`);
    expect(buildIdOfManifestKey(`builds/${ID}.json`)).toBe(ID);
    expect(buildIdOfManifestKey(`builds/${ID}.json.tmp`)).toBeNull();
    expect(buildIdOfAssetKey(`assets/${ID}/x/y.js`)).toBe(ID);
    expect(buildIdOfAssetKey('assets/index.js')).toBeNull();
    expect(() => publishedBuildKey('../etc')).toThrow(/not a buildId/);
  });

  it('round-trips a published-build manifest', () => {
    expect(parsePublishedBuild(formatPublishedBuild(build), ID)).toEqual(build);
  });

  it('refuses what it cannot trust, with a reason', () => {
    expect(() => parsePublishedBuild('{')).toThrow(/not JSON/);
    expect(() => parsePublishedBuild(JSON.stringify({ ...build, uploadedAt: 'yesterday' }))).toThrow(/uploadedAt/);
    expect(() => parsePublishedBuild(JSON.stringify({ ...build, schema: 2 }))).toThrow(/schema/);
    expect(() => parsePublishedBuild(formatPublishedBuild(build), 'fedcba9876543210')).toThrow(
      /names build 0123456789abcdef, not fedcba9876543210/,
    );
    const stray = { ...build, objects: [{ ...build.objects[0], key: 'assets/fedcba9876543210/index.js' }] };
    expect(() => parsePublishedBuild(JSON.stringify(stray))).toThrow(/outside assets\/0123456789abcdef\//);
  });
});

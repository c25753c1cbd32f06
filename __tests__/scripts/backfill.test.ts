/**
 * A region added to the config gets every build another region holds, copied object by object and
 * published with the upload's own code, before viewers are sent there. Real S3 on loopback.
 */
import { rmSync } from 'node:fs';
import { loadConfig, resourceNames } from '../../config';
import { publishedBuildKey } from '../../contracts/published-build';
import { backfill, backfillCommand } from '../../scripts/backfill';
import { invoke } from '../../scripts/lib/cli';
import { parsePublishedBuild } from '../../contracts/bucket-layout';
import { buildObjects } from '../../publish/upload';
import { readManifest } from '../../contracts/build-manifest';
import { getObjectText, headObject, listObjects } from '../../rollout-control/s3';
import { startS3Server, type S3Server } from '../../loopback/s3-server';
import { upload } from '../../publish/upload';
import { localBuilds } from '../fixtures/local';
import { seedBuckets } from '../fixtures/s3';

const config = loadConfig();
const names = resourceNames(config);
const builds = localBuilds();
const [first, second, added] = config.regions;
if (first === undefined || second === undefined || added === undefined)
  throw new Error('these tests need three regions in deploy.config.json');
const fastRetry = { attempts: 5, delayMs: 1 };

describe('backfill', () => {
  let server: S3Server;
  let seeded: string;
  beforeAll(async () => {
    // Two builds (the stable and a retained one) in the regions there were; none in the one just added.
    seeded = await seedBuckets(
      config.regions.map((region) => names.bucket(region)),
      async (seeding) => {
        for (const build of [builds.stable, builds.canary]) {
          const result = await upload({
            config,
            buildDir: build.dir,
            regions: [first, second],
            endpoint: seeding.endpoint,
            retry: fastRetry,
          });
          expect(result.ok).toBe(true);
        }
      },
    );
  });
  afterAll(() => rmSync(seeded, { recursive: true, force: true }));
  beforeEach(async () => {
    server = await startS3Server({ copyOf: seeded });
  });
  afterEach(() => server.stop());

  it(
    'copies every build the primary holds into the region that lacks them, objects first, the manifest ' +
      'last and as it was',
    async () => {
      const before = server.log.length;
      const result = await backfill({ config, endpoint: server.endpoint });
      expect(result).toMatchObject({ from: config.primaryRegion, builds: 2, ok: true });
      expect(result.copied.map((b) => [b.buildId, b.regions])).toEqual(
        [builds.stable.buildId, builds.canary.buildId].sort().map((id) => [id, [added]]),
      );
      const client = server.client(added);
      for (const build of [builds.stable, builds.canary]) {
        const expected = buildObjects(build.dir, readManifest(build.dir)).map((o) => o.key);
        const listed = (await listObjects(client, names.bucket(added), `assets/${build.buildId}/`)).map((o) => o.key);
        expect(listed.sort()).toEqual([...expected].sort());
        const copy = parsePublishedBuild(
          (await getObjectText(client, names.bucket(added), publishedBuildKey(build.buildId)))!,
          build.buildId,
        );
        const original = parsePublishedBuild(
          (await getObjectText(server.client(first), names.bucket(first), publishedBuildKey(build.buildId)))!,
          build.buildId,
        );
        // Cleanup ranks builds by upload time: the copy keeps the original's.
        expect(copy).toEqual(original);
        // The manifest was the last PUT of that build into the new bucket.
        const puts = server.log
          .slice(before)
          .filter(
            (e) => e.method === 'PUT' && e.bucket === names.bucket(added) && (e.key ?? '').includes(build.buildId),
          );
        expect(puts.at(-1)?.key).toBe(publishedBuildKey(build.buildId));
      }
    },
  );

  it('copies nothing a region already holds: a second run, and the regions that were there', async () => {
    await backfill({ config, endpoint: server.endpoint });
    const before = server.log.length;
    const again = await backfill({ config, endpoint: server.endpoint });
    expect(again.copied).toEqual([]);
    expect(server.log.slice(before).filter((e) => e.method === 'PUT')).toEqual([]);
  });

  it('reports without writing on a dry run', async () => {
    const result = await backfill({ config, endpoint: server.endpoint, dryRun: true });
    expect(result.copied.map((b) => b.regions)).toEqual([[added], [added]]);
    expect(
      await headObject(server.client(added), names.bucket(added), publishedBuildKey(builds.stable.buildId)),
    ).toBeNull();
  });

  it('refuses to copy a damaged build, and publishes nothing of it', async () => {
    // One object of the stable build changed in the source bucket since its manifest was written.
    const manifest = parsePublishedBuild(
      (await getObjectText(server.client(first), names.bucket(first), publishedBuildKey(builds.stable.buildId)))!,
      builds.stable.buildId,
    );
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await server
      .client(first)
      .send(new PutObjectCommand({ Bucket: names.bucket(first), Key: manifest.objects[0]!.key, Body: 'tampered' }));
    const result = await backfill({ config, endpoint: server.endpoint });
    expect(result.ok).toBe(false);
    expect(result.copied.find((b) => b.buildId === builds.stable.buildId)?.error).toMatch(
      /its manifest says .*: not copying a damaged build/,
    );
    expect(
      await headObject(server.client(added), names.bucket(added), publishedBuildKey(builds.stable.buildId)),
    ).toBeNull();
  });

  /** The backfill command in this process; what it printed, by stream. */
  async function runInProcess(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await invoke(backfillCommand(), ['--endpoint', server.endpoint, ...argv], {
      out: (text) => (out += text),
      error: (text) => (err += text),
    });
    return { code, out, err };
  }

  it('CLI --json: per region what would be copied, then what was, as one JSON object', async () => {
    const ids = [builds.stable.buildId, builds.canary.buildId].sort();
    const dry = await runInProcess(['--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out);
    expect(dry.out).toBe(`${JSON.stringify(planned, null, 2)}\n`);
    expect(planned).toMatchObject({
      ok: true,
      dryRun: true,
      from: config.primaryRegion,
      builds: 2,
      copied: ids.map((buildId) => ({ buildId, regions: [added], ok: true })),
    });
    // Every region but the source, the ones that hold everything too.
    expect(planned.regions).toEqual(
      config.regions
        .filter((region) => region !== config.primaryRegion)
        .map((region) => ({ region, copied: region === added ? ids : [], failed: [] })),
    );
    expect(
      await headObject(server.client(added), names.bucket(added), publishedBuildKey(builds.stable.buildId)),
    ).toBeNull();

    const run = await runInProcess(['--json', '--regions', added]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({
      ok: true,
      dryRun: false,
      regions: [{ region: added, copied: ids, failed: [] }],
    });
    expect(
      await headObject(server.client(added), names.bucket(added), publishedBuildKey(builds.stable.buildId)),
    ).not.toBeNull();
  });

  it(
    'CLI --json: a damaged build is ok: false with its ' + 'error, exit 1; an unknown --from is {"error": …}, exit 2',
    async () => {
      const manifest = parsePublishedBuild(
        (await getObjectText(server.client(first), names.bucket(first), publishedBuildKey(builds.stable.buildId)))!,
        builds.stable.buildId,
      );
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await server
        .client(first)
        .send(new PutObjectCommand({ Bucket: names.bucket(first), Key: manifest.objects[0]!.key, Body: 'tampered' }));
      const run = await runInProcess(['--json']);
      expect(run.code).toBe(1);
      const result = JSON.parse(run.out);
      expect(result).toMatchObject({
        ok: false,
        copied: expect.arrayContaining([expect.objectContaining({ buildId: builds.stable.buildId, ok: false })]),
      });
      expect(result.regions.find((r: { region: string }) => r.region === added)).toEqual({
        region: added,
        copied: [builds.canary.buildId],
        failed: [
          {
            buildId: builds.stable.buildId,
            error: expect.stringMatching(/its manifest says .*: not copying a damaged build/),
          },
        ],
      });

      const usage = await runInProcess(['--json', '--from', 'eu-central-1']);
      expect(usage.code).toBe(2);
      expect(JSON.parse(usage.out)).toEqual({
        error: expect.stringMatching(/^--from eu-central-1 is not among the configured regions/),
      });
    },
  );
});

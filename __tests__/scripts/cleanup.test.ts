import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFrontClient, DescribeKeyValueStoreCommand } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, ListKeysCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { parseConfig, resourceNames } from '../../config';
import { versionDescription } from '../../contracts/version-description';
import { cleanupMarkerPrefix } from '../../contracts/published-build';
import {
  cleanup,
  cleanupCommand,
  formatPlan,
  planCleanup,
  UPLOAD_IN_PROGRESS_MS,
  type ManifestState,
  type RegionInventory,
} from '../../scripts/cleanup';
import { invoke } from '../../scripts/lib/cli';
import { publishedBuildKey } from '../../contracts/bucket-layout';
import { listObjects } from '../../rollout-control/s3';
import { startS3Server, type S3LogEntry, type S3Server } from '../../loopback/s3-server';
import { upload, type UploadResult } from '../../publish/upload';
import { writeBuild } from '../fixtures/builds';
import { seedBuckets } from '../fixtures/s3';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const DAY = 24 * 60 * 60 * 1000;
const configJson = {
  ...JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'deploy.config.json'), 'utf8')),
  retention: { keepBuilds: 2, graceDays: 7 },
};
const config = parseConfig(configJson);
const names = resourceNames(config);
const buckets = config.regions.map((region) => names.bucket(region));
const id = (n: number) => n.toString(16).padStart(16, '0');
const live = (stable: string, canary?: string) => ({
  stable: { version: '7', buildId: stable },
  canary: canary ? { version: '8', buildId: canary, weight: 2500 } : null,
});

describe('cleanup plan', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const policy = { keepBuilds: 2, graceDays: 7, now };
  const ago = (days: number) => new Date(now.getTime() - days * DAY);
  function inventory(
    region: string,
    builds: Record<string, { days?: number; error?: string; objectDays?: number }>,
  ): RegionInventory {
    const manifests = new Map<string, ManifestState>();
    for (const [buildId, b] of Object.entries(builds)) {
      if (b.error) manifests.set(buildId, { error: b.error });
      else if (b.days !== undefined) manifests.set(buildId, { uploadedAt: ago(b.days) });
    }
    const assets = new Map(
      Object.entries(builds).map(([buildId, b]) => [
        buildId,
        { objects: 3, bytes: 300, newest: ago(b.objectDays ?? b.days ?? 0) },
      ]),
    );
    return { region, bucket: `bucket-${region}`, manifests, assets };
  }

  it('keeps stable, canary, the newest N and anything inside the grace period; deletes the rest', () => {
    const plan = planCleanup(
      [
        inventory('us-east-1', {
          [id(1)]: { days: 90 },
          [id(2)]: { days: 60 },
          [id(3)]: { days: 50 },
          [id(4)]: { days: 40 },
          [id(5)]: { days: 30 },
          [id(6)]: { days: 5 },
          [id(7)]: { days: 1 },
        }),
      ],
      live(id(1), id(7)),
      policy,
    );
    const verdict = Object.fromEntries(plan.verdicts.map((v) => [v.buildId, v]));
    expect(verdict[id(1)]).toMatchObject({ action: 'keep', reason: 'stable (version 7 of the entry router)' });
    expect(verdict[id(7)]).toMatchObject({ action: 'keep', reason: 'canary (version 8, 25.00% of viewers)' });
    expect(verdict[id(6)]).toMatchObject({
      action: 'keep',
      reason: expect.stringMatching(/among the 2 newest retired builds \(#1\)/),
    });
    expect(verdict[id(5)]).toMatchObject({ action: 'keep', reason: expect.stringMatching(/#2/) });
    expect(verdict[id(4)]).toMatchObject({
      action: 'delete',
      reason: 'retired: not live, #3 newest (keeping 2), last uploaded 40 days ago',
    });
    expect([id(2), id(3)].map((b) => verdict[b]!.action)).toEqual(['delete', 'delete']);
    expect(plan.verdicts.map((v) => v.buildId)).toEqual([7, 6, 5, 4, 3, 2, 1].map(id));
  });

  it('deletes a revoked build whatever its age, counts it among no kept ones, and keeps it only while live', () => {
    const plan = planCleanup(
      [
        inventory('us-east-1', {
          [id(1)]: { days: 90 },
          [id(5)]: { days: 30 },
          [id(6)]: { days: 2 },
          [id(7)]: { days: 1 },
        }),
      ],
      live(id(1)),
      { ...policy, revoked: new Set([id(1), id(7)]) },
    );
    const verdict = Object.fromEntries(plan.verdicts.map((v) => [v.buildId, v]));
    // Inside the grace period and the newest: gone all the same.
    expect(verdict[id(7)]).toMatchObject({ action: 'delete', reason: 'revoked: never served again' });
    // The two newest others are kept in its place.
    expect([id(6), id(5)].map((b) => [b, verdict[b]!.action])).toEqual([
      [id(6), 'keep'],
      [id(5), 'keep'],
    ]);
    // A stable build, revoked before what replaces it has landed, stays until it is not live.
    expect(verdict[id(1)]).toMatchObject({ action: 'keep', reason: 'stable (version 7 of the entry router)' });
  });

  it('keeps a retired build still inside the grace period, counted from its newest upload in any region', () => {
    const plan = planCleanup(
      [
        inventory('us-east-1', {
          [id(1)]: { days: 1 },
          [id(2)]: { days: 2 },
          [id(3)]: { days: 3 },
          [id(4)]: { days: 30 },
        }),
        inventory('eu-west-1', { [id(4)]: { days: 6 } }),
      ],
      live(id(1)),
      policy,
    );
    expect(plan.verdicts.find((v) => v.buildId === id(4))).toMatchObject({
      action: 'keep',
      reason: expect.stringMatching(/last uploaded 6 days ago: within the 7-day grace period/),
    });
  });

  it('never deletes a build whose manifest cannot be read', () => {
    const plan = planCleanup(
      [
        inventory('us-east-1', { [id(1)]: { days: 1 }, [id(2)]: { days: 2 }, [id(3)]: { days: 3 } }),
        inventory('eu-west-1', { [id(9)]: { error: 'not JSON' } }),
      ],
      live(id(1)),
      { ...policy, keepBuilds: 1 },
    );
    expect(plan.verdicts.find((v) => v.buildId === id(9))).toMatchObject({
      action: 'keep',
      reason: expect.stringMatching(/manifest in eu-west-1 unreadable \(not JSON\)/),
    });
  });

  it('removes an interrupted upload once it is old, never while an upload may still be running', () => {
    const old = planCleanup(
      [inventory('us-east-1', { [id(1)]: { days: 1 }, [id(5)]: { objectDays: 8 } })],
      live(id(1)),
      policy,
    );
    expect(old.verdicts.find((v) => v.buildId === id(5))).toMatchObject({
      action: 'delete',
      reason: 'incomplete upload: no manifest in any region, last written 8 days ago',
      uploadedAt: null,
    });
    const fresh = planCleanup(
      [inventory('us-east-1', { [id(1)]: { days: 1 }, [id(5)]: { objectDays: 30 / (24 * 60) } })],
      live(id(1)),
      { ...policy, graceDays: 0 },
    );
    expect(fresh.verdicts.find((v) => v.buildId === id(5))).toMatchObject({
      action: 'keep',
      reason: expect.stringMatching(/incomplete upload \(no manifest\), last written 30 min ago/),
    });
    expect(UPLOAD_IN_PROGRESS_MS).toBe(60 * 60 * 1000);
  });

  it('keeps live builds even without a manifest, and warns where they are missing', () => {
    const plan = planCleanup(
      [inventory('us-east-1', { [id(1)]: { days: 30 } }), inventory('eu-west-1', { [id(1)]: { objectDays: 30 } })],
      live(id(1)),
      policy,
    );
    expect(plan.verdicts).toEqual([expect.objectContaining({ buildId: id(1), action: 'keep' })]);
    expect(plan.warnings).toEqual([
      expect.stringMatching(/^stable build 0000000000000001 has no manifest in eu-west-1 \(bucket-eu-west-1\)/),
    ]);
  });
});

describe('cleanup on the loopback S3 server', () => {
  const lambda = mockClient(LambdaClient);
  const cloudfront = mockClient(CloudFrontClient);
  const kvs = mockClient(CloudFrontKeyValueStoreClient);
  /** The rollout store, where revoked builds are listed: none here. */
  function noRevocations(): void {
    cloudfront.reset();
    kvs.reset();
    cloudfront.on(DescribeKeyValueStoreCommand).resolves({
      KeyValueStore: {
        Name: names.rolloutStore,
        Id: 'x',
        ARN: 'arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-4000-8000-000000000000',
        Comment: '',
        LastModifiedTime: new Date(),
      },
    });
    kvs.on(ListKeysCommand).resolves({ Items: [storedState()] });
  }
  /** The rollout state as ListKeys gives it: the stable build, and `previews` when asked. */
  function storedState(previews?: RolloutState['previews']) {
    return { Key: ROLLOUT_STATE_KEY, Value: formatRolloutState({ ...steadyState(stable), previews }) };
  }
  // Far enough ahead that every build's stated upload time (`now` less its days) is later than the real time its
  // objects were written: the plan orders builds by the later of the two, and the real times of two uploads a
  // moment apart (the same second, or not, under load) must not decide the order.
  const now = new Date(Date.now() + 90 * DAY);
  const uploadedDaysAgo = [1, 3, 10, 20, 40, 60];
  const builds = uploadedDaysAgo.map((_, index) => id(0xb00 + index));
  const [canary, newest, second, third, stable, oldest] = builds as [string, string, string, string, string, string];
  let server: S3Server;
  const buildDirs: string[] = [];
  let seeded: string;

  function aliasPointsAt(stableId: string, canaryId: string | null): void {
    lambda.on(GetAliasCommand, { FunctionName: names.entryRouter, Name: 'live' }).resolves({
      FunctionVersion: '7',
      RoutingConfig: canaryId ? { AdditionalVersionWeights: { '8': 0.1 } } : undefined,
    });
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: names.entryRouter, Qualifier: '7' })
      .resolves({ Description: versionDescription(stableId) });
    if (canaryId)
      lambda
        .on(GetFunctionConfigurationCommand, { FunctionName: names.entryRouter, Qualifier: '8' })
        .resolves({ Description: versionDescription(canaryId) });
  }

  async function publish(target: S3Server, buildId: string, daysAgo: number): Promise<void> {
    const dir = writeBuild(buildId, { 'index.js': `/* ${buildId} */`, 'chunk.js': `/* chunk of ${buildId} */` });
    buildDirs.push(dir);
    const result = await upload({
      config,
      buildDir: dir,
      endpoint: target.endpoint,
      now: () => new Date(now.getTime() - daysAgo * DAY),
    });
    expect(result.ok).toBe(true);
  }

  const keysIn = async (bucket: string) => (await listObjects(server.client(), bucket, '')).map((o) => o.key);

  beforeAll(async () => {
    seeded = await seedBuckets(buckets, async (seeding) => {
      for (const [index, buildId] of builds.entries()) await publish(seeding, buildId, uploadedDaysAgo[index]!);
    });
  });
  beforeEach(async () => {
    lambda.reset();
    noRevocations();
    server = await startS3Server({ copyOf: seeded });
  });
  afterEach(() => server.stop());
  afterAll(() => {
    lambda.restore();
    cloudfront.restore();
    kvs.restore();
    for (const dir of [...buildDirs.splice(0), seeded]) rmSync(dir, { recursive: true, force: true });
  });

  it('dry run by default: says what would go and why the rest stays, deletes nothing', async () => {
    aliasPointsAt(stable, canary);
    const result = await cleanup({ config, endpoint: server.endpoint, now });
    expect(result.deletions).toEqual([]);
    expect(Object.fromEntries(result.plan.verdicts.map((v) => [v.buildId, v.action]))).toEqual({
      [canary]: 'keep',
      [newest]: 'keep',
      [second]: 'keep',
      [third]: 'delete',
      [stable]: 'keep',
      [oldest]: 'delete',
    });
    expect(result.plan.verdicts.find((v) => v.buildId === third)?.regions.map((r) => r.region)).toEqual(config.regions);
    expect(server.log.filter((e) => e.method === 'DELETE' || (e.method === 'POST' && e.query.has('delete')))).toEqual(
      [],
    );
    const text = formatPlan(result, config.retention);
    expect(text[0]).toBe(`alias live: stable ${stable} (version 7), canary ${canary} (version 8, 10.00%)`);
    expect(text).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^  delete  ${oldest}  \\S+ \\S+  retired: not live, #4 newest \\(keeping 2\\), last uploaded \\d+ ` +
            `days ago  \\[us-east-1: 6 objects, eu-west-1: 6 objects, ap-southeast-2: 6 objects\\]$`,
        ),
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(new RegExp(`^  keep    ${second}  .*among the 2 newest retired builds \\(#2\\)$`)),
    );
  });

  it(
    '--apply deletes in every region, each manifest before its objects, within its marker, and leaves ' +
      'kept builds whole',
    async () => {
      aliasPointsAt(stable, canary);
      const before = server.log.length;
      const result = await cleanup({ config, endpoint: server.endpoint, now, apply: true });
      expect(result.ok).toBe(true);
      expect(result.deletions.map((d) => [d.region, d.builds, d.objects])).toEqual(
        config.regions.map((region) => [region, 2, 12]),
      );
      for (const bucket of buckets) {
        const writes = server.log
          .slice(before)
          .filter((e) => e.bucket === bucket && (e.method === 'PUT' || e.method === 'DELETE' || e.method === 'POST'));
        const marker = (e: S3LogEntry) =>
          e.key?.startsWith(cleanupMarkerPrefix(third)) || e.key?.startsWith(cleanupMarkerPrefix(oldest));
        expect(
          writes.map((e) =>
            marker(e) ? `${e.method} marker` : e.method === 'POST' ? 'batch' : `${e.method} ${e.key}`,
          ),
        ).toEqual([
          'PUT marker',
          `DELETE ${publishedBuildKey(third)}`,
          'batch',
          'DELETE marker',
          'PUT marker',
          `DELETE ${publishedBuildKey(oldest)}`,
          'batch',
          'DELETE marker',
        ]);
        expect(
          (await listObjects(server.client(), bucket, 'builds/'))
            .map((o) => o.key)
            .every((key) => key.endsWith('.json')),
        ).toBe(true);
        const keys = await keysIn(bucket);
        for (const gone of [third, oldest]) expect(keys.filter((k) => k.includes(gone))).toEqual([]);
        for (const kept of [canary, newest, second, stable])
          expect(keys.filter((k) => k.includes(kept))).toHaveLength(7);
      }
    },
  );

  it('removes objects of an interrupted upload once past the grace period', async () => {
    aliasPointsAt(stable, null);
    const orphan = id(0xdead);
    await server
      .client()
      .send(new PutObjectCommand({ Bucket: buckets[1], Key: `assets/${orphan}/index.js`, Body: 'half' }));
    const young = await cleanup({ config, endpoint: server.endpoint });
    expect(young.plan.verdicts.find((v) => v.buildId === orphan)).toMatchObject({ action: 'keep' });
    const result = await cleanup({ config, endpoint: server.endpoint, now, apply: true });
    expect(result.plan.verdicts.find((v) => v.buildId === orphan)).toMatchObject({
      action: 'delete',
      reason: expect.stringMatching(/^incomplete upload/),
    });
    expect((await keysIn(buckets[1]!)).filter((k) => k.includes(orphan))).toEqual([]);
  });

  it('refuses to delete anything when the alias cannot be read', async () => {
    lambda.on(GetAliasCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: lambda:GetAlias'), {
        name: 'AccessDeniedException',
      }),
    );
    await expect(cleanup({ config, endpoint: server.endpoint, now, apply: true })).rejects.toThrow(
      /cannot read alias live of edge-widget-entry-router \(AccessDeniedException: .*\): refusing to delete anything/,
    );
    for (const bucket of buckets) expect(await keysIn(bucket)).toHaveLength(builds.length * 7);
  });

  it('refuses when the alias moved while it was planning', async () => {
    aliasPointsAt(stable, canary);
    lambda
      .on(GetAliasCommand)
      .resolvesOnce({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } })
      .resolves({ FunctionVersion: '9' });
    lambda
      .on(GetFunctionConfigurationCommand, { Qualifier: '9' })
      .resolves({ Description: versionDescription(oldest) });
    await expect(cleanup({ config, endpoint: server.endpoint, now, apply: true })).rejects.toThrow(
      /alias live changed while planning.*nothing deleted/,
    );
    for (const bucket of buckets) expect(await keysIn(bucket)).toHaveLength(builds.length * 7);
  });

  it('keeps a build uploaded again between the listing and the delete', async () => {
    aliasPointsAt(stable, canary);
    let uploaded: UploadResult | undefined;
    server.setHook(async (request) => {
      if (
        request.method !== 'PUT' ||
        request.bucket !== buckets[0] ||
        !request.key?.startsWith(cleanupMarkerPrefix(oldest)) ||
        uploaded
      )
        return undefined;
      // Right before the cleanup announces itself, a deploy re-uploads the build, to its end.
      uploaded = await upload({
        config,
        buildDir: buildDirs[builds.indexOf(oldest)],
        endpoint: server.endpoint,
        regions: [config.regions[0]!],
        now: () => now,
      });
      return undefined;
    });
    const result = await cleanup({ config, endpoint: server.endpoint, now, apply: true });
    server.setHook(null);
    expect(uploaded?.ok).toBe(true);
    expect(result.deletions[0]).toMatchObject({ builds: 1, skipped: [`${oldest} (uploaded again since the listing)`] });
    expect((await keysIn(buckets[0]!)).filter((k) => k.includes(oldest))).toHaveLength(7);
    expect((await keysIn(buckets[1]!)).filter((k) => k.includes(oldest))).toEqual([]);
  });

  it(
    'keeps a build a stored preview shows, expired or not, and deletes nothing when the store cannot be ' + 'read',
    async () => {
      aliasPointsAt(stable, canary);
      const until = Math.floor(now.getTime() / 1000) + 3600;
      kvs.on(ListKeysCommand).resolves({
        Items: [storedState([{ build: oldest, viewer: '203.0.113.0/24', until }])],
      });
      const previewed = await cleanup({ config, endpoint: server.endpoint, now });
      expect(previewed.plan.verdicts.find((v) => v.buildId === oldest)).toMatchObject({
        action: 'keep',
        reason: 'previewed (rollout preview)',
      });
      expect(previewed.plan.verdicts.find((v) => v.buildId === third)).toMatchObject({ action: 'delete' });

      // A store that holds no state it can read: the dry run says so, --apply refuses and deletes nothing.
      kvs.on(ListKeysCommand).resolves({ Items: [{ Key: ROLLOUT_STATE_KEY, Value: '{"v":99}' }] });
      const dry = await cleanup({ config, endpoint: server.endpoint, now });
      expect(dry.plan.warnings).toContainEqual(
        expect.stringMatching(/^cannot read the rollout store .*nothing is deleted$/),
      );
      await expect(cleanup({ config, endpoint: server.endpoint, now, apply: true })).rejects.toThrow(
        /cannot read the rollout store .*holds no valid rollout state.*refusing to delete anything/,
      );
      for (const bucket of buckets) expect(await keysIn(bucket)).toHaveLength(builds.length * 7);
    },
  );

  it('refuses to delete anything when a region cannot be listed', async () => {
    aliasPointsAt(stable, canary);
    server.setHook((request) =>
      request.bucket === buckets[2] ? { status: 403, code: 'AccessDenied', message: 'Access Denied' } : undefined,
    );
    await expect(cleanup({ config, endpoint: server.endpoint, now, apply: true })).rejects.toThrow(
      `cannot list ${buckets[2]} in ${config.regions[2]} (AccessDenied: Access Denied): refusing to delete anything`,
    );
    server.setHook(null);
    for (const bucket of buckets) expect(await keysIn(bucket)).toHaveLength(builds.length * 7);
  });

  /** The cleanup command in this process, on this config and clock; what it printed, by stream. */
  async function runInProcess(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'cleanup-cli-'));
    try {
      const file = path.join(dir, 'deploy.config.json');
      writeFileSync(file, JSON.stringify(configJson));
      let out = '';
      let err = '';
      const code = await invoke(
        cleanupCommand({ now: () => now }),
        ['--config', file, '--endpoint', server.endpoint, ...argv],
        { out: (text) => (out += text), error: (text) => (err += text) },
      );
      return { code, out, err };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it(
    'CLI --json: the plan per build and per region, kept with why and deleted, as one JSON object; with ' +
      '--apply what it did',
    async () => {
      aliasPointsAt(stable, canary);
      const dry = await runInProcess(['--json']);
      expect(dry.code).toBe(0);
      const plan = JSON.parse(dry.out);
      expect(dry.out).toBe(`${JSON.stringify(plan, null, 2)}\n`);
      expect(plan).toMatchObject({
        ok: true,
        apply: false,
        policy: { keepBuilds: 2, graceDays: 7 },
        live: { stable: { buildId: stable }, canary: { buildId: canary } },
        warnings: [],
      });
      expect(plan.builds.map((b: { buildId: string; action: string }) => [b.buildId, b.action])).toEqual(
        [canary, newest, second, third, stable, oldest].map((b) => [
          b,
          b === oldest || b === third ? 'delete' : 'keep',
        ]),
      );
      expect(plan.builds.find((b: { buildId: string }) => b.buildId === stable)).toMatchObject({
        reason: 'stable (version 7 of the entry router)',
        uploadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(plan.delete).toEqual({ builds: 2, objects: 2 * 6 * config.regions.length, bytes: expect.any(Number) });
      expect(plan.regions.map((r: { region: string; bucket: string }) => [r.region, r.bucket])).toEqual(
        config.regions.map((region, index) => [region, buckets[index]]),
      );
      for (const region of plan.regions) {
        expect(region.delete).toEqual([
          expect.objectContaining({
            buildId: third,
            reason: expect.stringMatching(/^retired: not live, #3 newest/),
            manifest: true,
            objects: 6,
          }),
          expect.objectContaining({
            buildId: oldest,
            reason: expect.stringMatching(/^retired: not live, #4 newest/),
            manifest: true,
            objects: 6,
          }),
        ]);
        expect(region.keep.map((b: { buildId: string }) => b.buildId)).toEqual([canary, newest, second, stable]);
        expect(region.keep.find((b: { buildId: string }) => b.buildId === second).reason).toBe(
          'among the 2 newest retired builds (#2)',
        );
        expect(region.deleted).toBeNull();
      }
      expect(server.log.filter((e) => e.method === 'DELETE' || e.method === 'POST')).toEqual([]);

      const applied = await runInProcess(['--json', '--apply']);
      expect(applied.code).toBe(0);
      const result = JSON.parse(applied.out);
      expect(result).toMatchObject({ ok: true, apply: true });
      expect(result.regions.map((r: { deleted: unknown }) => r.deleted)).toEqual(
        config.regions.map(() => ({ builds: 2, objects: 12, kept: [] })),
      );
      for (const bucket of buckets)
        expect((await keysIn(bucket)).filter((k) => k.includes(oldest) || k.includes(third))).toEqual([]);
    },
  );

  it(
    'CLI --json: a region that fails while deleting is ok: false with its error, exit 1; an alias it cannot read ' +
      'is {"error": …}, exit 1',
    async () => {
      aliasPointsAt(stable, canary);
      server.setHook((request) =>
        request.bucket === buckets[1] && request.method === 'PUT'
          ? { status: 403, code: 'AccessDenied', message: 'Access Denied' }
          : undefined,
      );
      const failed = await runInProcess(['--json', '--apply']);
      server.setHook(null);
      expect(failed.code).toBe(1);
      const result = JSON.parse(failed.out);
      expect(result).toMatchObject({ ok: false, apply: true });
      expect(result.regions[1].deleted).toEqual({
        builds: 0,
        objects: 0,
        kept: [],
        error: expect.stringMatching(new RegExp(`^${third}: cannot write builds/${third}\\.cleanup/`)),
      });
      expect(result.regions[0].deleted).toEqual({ builds: 2, objects: 12, kept: [] });
      expect(failed.err).toContain(`cleanup failed in ${config.regions[1]}`);

      lambda.reset();
      lambda.on(GetAliasCommand).rejects(
        Object.assign(new Error('User is not authorized to perform: lambda:GetAlias'), {
          name: 'AccessDeniedException',
        }),
      );
      const refused = await runInProcess(['--json', '--apply']);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.out)).toEqual({
        error: expect.stringMatching(
          new RegExp(
            '^cannot read alias live of edge-widget-entry-router \\(AccessDeniedException: .*\\): refusing ' +
              'to delete anything',
          ),
        ),
      });
      expect(refused.err).toMatch(/^cannot read alias live/);
    },
  );

  it('CLI: exits non-zero and deletes nothing when AWS cannot be asked about the alias', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'cleanup.ts'), '--endpoint', server.endpoint, '--apply'],
      {
        cwd: PROJECT_ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: '/nonexistent',
          NODE_NO_WARNINGS: '1',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    // Once, with what to do: the alias cannot be read, so nothing can be proven retired.
    expect(stderr.match(/no AWS credentials found/g)).toHaveLength(1);
    expect(stderr).toContain('Configure credentials for the account the stacks were deployed to: `aws configure`');
    for (const bucket of buckets) expect(await keysIn(bucket)).toHaveLength(builds.length * 7);
  });
});

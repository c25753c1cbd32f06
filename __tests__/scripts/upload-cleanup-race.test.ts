import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { parseConfig, resourceNames } from '../../config';
import { versionDescription } from '../../contracts/version-description';
import { cleanup, type CleanupResult } from '../../scripts/cleanup';
import { publishedBuildKey } from '../../contracts/bucket-layout';
import { readManifest } from '../../contracts/build-manifest';
import { headObject, listObjects } from '../../rollout-control/s3';
import { startS3Server, type S3LogEntry, type S3Request, type S3Server } from '../../loopback/s3-server';
import { buildObjects, upload, type UploadResult } from '../../publish/upload';
import { writeBuild } from '../fixtures/builds';
import { pollUntil } from '../fixtures/poll';
import { seedBuckets } from '../fixtures/s3';

/**
 * An old build X is uploaded again (a deploy of an old commit, to roll back) while a cleanup that
 * listed X as deletable deletes it. Each case pauses the upload at one of its requests and the
 * cleanup at one of its own, lets the other side run into the gap, then lets both finish; whatever
 * the order, a manifest must never stand over missing objects, and an upload that reports success
 * must leave the whole build behind.
 */

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const DAY = 24 * 60 * 60 * 1000;
const config = parseConfig({
  ...JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'deploy.config.json'), 'utf8')),
  retention: { keepBuilds: 1, graceDays: 7 },
});
const names = resourceNames(config);
const region = config.regions[0]!;
const bucket = names.bucket(region);
const id = (n: number) => n.toString(16).padStart(16, '0');
const fastRetry = { attempts: 4, delayMs: 1 };
/** "Now" for the cleanup's policy, so that builds uploaded "days ago" are old enough to go. */
const now = new Date(Date.now() + 60 * DAY);

const STABLE = id(0xa1);
const NEWER = id(0xa2);
const X = id(0xa3);
const MANIFEST = publishedBuildKey(X);
const ASSETS = `assets/${X}/`;

type Actor = 'upload' | 'cleanup';
const ACTOR_HEADER = 'x-race-actor';

/** A client for the loopback server whose requests say which side sent them. */
function actorClient(server: S3Server, actor: Actor): S3Client {
  const client = server.client(region);
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers[ACTOR_HEADER] = actor;
      return next(args);
    },
    { step: 'build', name: 'raceActor' },
  );
  return client;
}

const actorOf = (request: S3Request) => request.headers[ACTOR_HEADER];
const isList = (request: S3Request, prefix: string) =>
  request.method === 'GET' && request.key === null && (request.query.get('prefix') ?? '') === prefix;
const listsUnder = (request: S3Request, prefix: string) =>
  request.method === 'GET' && request.key === null && (request.query.get('prefix') ?? '').startsWith(prefix);
/** Something under builds/ other than the manifest itself (whatever either side keeps there). */
const besideManifest = (request: S3Request) =>
  request.key?.startsWith(`builds/${X}`) === true && request.key !== MANIFEST;

/** A place in one side's sequence of requests: the `nth` request matching `match`. */
interface Point {
  readonly name: string;
  readonly match: (request: S3Request) => boolean;
  readonly nth?: number;
}

/** The rollout store, as cleanup reads it: no build revoked or previewed. */
const storeNamesNothing = async () => ({ revoked: [], previewed: [] });

const UPLOAD_POINTS: readonly Point[] = [
  { name: 'its first listing of the objects', match: (r) => isList(r, ASSETS) },
  { name: 'the listing that verifies the objects before the manifest', match: (r) => isList(r, ASSETS), nth: 2 },
  { name: 'writing the manifest', match: (r) => r.method === 'PUT' && r.key === MANIFEST },
  { name: 'its first look under builds/', match: (r) => listsUnder(r, 'builds/') },
  { name: 'its second look under builds/', match: (r) => listsUnder(r, 'builds/'), nth: 2 },
];

const CLEANUP_POINTS: readonly (Point | null)[] = [
  null,
  { name: 'writing anything beside the manifest', match: (r) => r.method === 'PUT' && besideManifest(r) },
  { name: 're-reading the manifest before deleting', match: (r) => r.method === 'GET' && r.key === MANIFEST, nth: 2 },
  { name: 'deleting the manifest', match: (r) => r.method === 'DELETE' && r.key === MANIFEST },
  { name: 'listing the objects to delete', match: (r) => isList(r, ASSETS) },
  { name: 'deleting the objects', match: (r) => r.method === 'POST' && r.query.has('delete') },
  { name: 'looking at the manifest after deleting', match: (r) => r.method === 'HEAD' && r.key === MANIFEST },
  { name: 'deleting anything beside the manifest', match: (r) => r.method === 'DELETE' && besideManifest(r) },
];

interface Hold {
  readonly actor: Actor;
  readonly point: Point;
  seen: number;
  reached: boolean;
  release: () => void;
}

/** Holds one request of each side at its point until the test lets it go. */
function holdAt(server: S3Server, points: readonly { actor: Actor; point: Point }[]): Hold[] {
  const holds: Hold[] = points.map(({ actor, point }) => ({
    actor,
    point,
    seen: 0,
    reached: false,
    release: () => undefined,
  }));
  server.setHook((request) => {
    for (const hold of holds) {
      if (hold.reached || actorOf(request) !== hold.actor || !hold.point.match(request)) continue;
      hold.seen += 1;
      if (hold.seen < (hold.point.nth ?? 1)) continue;
      hold.reached = true;
      return new Promise((resolve) => (hold.release = () => resolve(undefined)));
    }
    return undefined;
  });
  return holds;
}

function track<T>(promise: Promise<T>): { readonly promise: Promise<T>; readonly settled: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  tracked.catch(() => undefined);
  return { promise: tracked, settled: () => settled };
}

describe('an upload of a build racing a cleanup that deletes it', () => {
  const lambda = mockClient(LambdaClient);
  const dirs = new Map<string, string>();
  let server: S3Server;
  let seeded: string;

  beforeAll(async () => {
    for (const buildId of [STABLE, NEWER, X])
      dirs.set(
        buildId,
        writeBuild(buildId, { 'index.js': `/* ${buildId} */`, 'chunk.js': `/* chunk of ${buildId} */` }),
      );
    // X is older than the newest retired build and past the grace period: the cleanup deletes it.
    seeded = await seedBuckets([names.bucket(region)], async (seeding) => {
      for (const [buildId, daysAgo] of [
        [STABLE, 40],
        [NEWER, 20],
        [X, 30],
      ] as const) {
        const result = await upload({
          config,
          buildDir: dirs.get(buildId)!,
          regions: [region],
          endpoint: seeding.endpoint,
          now: () => new Date(now.getTime() - daysAgo * DAY),
        });
        expect(result.ok).toBe(true);
      }
    });
  });
  afterAll(() => {
    for (const dir of [...dirs.values(), seeded]) rmSync(dir, { recursive: true, force: true });
    lambda.restore();
  });

  beforeEach(async () => {
    lambda.reset();
    lambda.on(GetAliasCommand, { FunctionName: names.entryRouter, Name: 'live' }).resolves({ FunctionVersion: '7' });
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: names.entryRouter, Qualifier: '7' })
      .resolves({ Description: versionDescription(STABLE) });
    server = await startS3Server({ copyOf: seeded });
  });
  afterEach(() => server.stop());

  const uploadX = () =>
    upload({
      config,
      buildDir: dirs.get(X)!,
      regions: [region],
      clientFor: () => actorClient(server, 'upload'),
      now: () => now,
      retry: fastRetry,
      cleanupWait: { timeoutMs: 20_000, pollMs: 5 },
    });
  const cleanupX = () =>
    cleanup({
      config,
      regions: [region],
      clientFor: () => actorClient(server, 'cleanup'),
      now,
      apply: true,
      retry: fastRetry,
      readStore: storeNamesNothing,
    });

  /** What is in the bucket for X once both sides are done. */
  async function stateOfX(): Promise<{ manifest: boolean; whole: boolean; missing: string[]; besides: string[] }> {
    const client = server.client(region);
    const objects = buildObjects(dirs.get(X)!, readManifest(dirs.get(X)!));
    const stored = new Map((await listObjects(client, bucket, ASSETS)).map((o) => [o.key, o]));
    const missing = objects.filter((o) => stored.get(o.key)?.etag !== o.md5).map((o) => o.key);
    const besides = (await listObjects(client, bucket, `builds/${X}`))
      .map((o) => o.key)
      .filter((key) => key !== MANIFEST);
    return {
      manifest: (await headObject(client, bucket, MANIFEST)) !== null,
      whole: missing.length === 0,
      missing,
      besides,
    };
  }

  const cases = UPLOAD_POINTS.flatMap((uploadPoint) =>
    CLEANUP_POINTS.map(
      (cleanupPoint) =>
        [uploadPoint.name, cleanupPoint?.name ?? 'nowhere (it runs to the end)', uploadPoint, cleanupPoint] as const,
    ),
  );

  it.each(cases)(
    'upload paused at %s, cleanup paused at %s: no manifest over missing objects, no false success',
    async (_u, _c, uploadPoint, cleanupPoint) => {
      const [uploadHold, cleanupHold] = holdAt(server, [
        { actor: 'upload', point: uploadPoint },
        ...(cleanupPoint ? [{ actor: 'cleanup' as const, point: cleanupPoint }] : []),
      ]);
      const uploading = track<UploadResult>(uploadX());
      await pollUntil('the upload to reach its pause', () => uploadHold!.reached || uploading.settled(), 20_000, 5);

      const cleaning = track<CleanupResult>(cleanupX());
      await pollUntil(
        'the cleanup to reach its pause or end',
        () => (cleanupHold?.reached ?? false) || cleaning.settled(),
        20_000,
        5,
      );

      // Let the upload go on until it is done, or waiting: asking again and again under builds/.
      const mark = server.log.length;
      const waiting = (entry: S3LogEntry) => actorOf(entry) === 'upload' && listsUnder(entry, 'builds/');
      uploadHold!.release();
      await pollUntil(
        'the upload to finish or wait',
        () => uploading.settled() || server.log.slice(mark).filter(waiting).length >= 3,
        20_000,
        5,
      );

      cleanupHold?.release();
      const [uploaded, cleaned] = await Promise.allSettled([uploading.promise, cleaning.promise]);
      server.setHook(null);

      expect(cleaned.status).toBe('fulfilled');
      expect(uploaded.status).toBe('fulfilled');
      const state = await stateOfX();
      // The invariant: a manifest only over every object of its build.
      if (state.manifest) expect(state.missing).toEqual([]);
      // An upload that says it is done left the whole build published.
      if (uploaded.status === 'fulfilled' && uploaded.value.ok)
        expect(state).toMatchObject({ manifest: true, whole: true });
      // Nobody leaves anything behind under builds/ but manifests.
      expect(state.besides).toEqual([]);
    },
  );
});

describe('an upload and a cleanup that cannot coordinate', () => {
  const lambda = mockClient(LambdaClient);
  const dirs: string[] = [];
  let server: S3Server;
  let seeded: string;

  beforeAll(async () => {
    seeded = await seedBuckets([bucket], async (seeding) => {
      for (const [buildId, daysAgo] of [
        [STABLE, 40],
        [NEWER, 20],
        [X, 30],
      ] as const) {
        const dir = writeBuild(buildId, { 'index.js': `/* ${buildId} */` });
        dirs.push(dir);
        await upload({
          config,
          buildDir: dir,
          regions: [region],
          endpoint: seeding.endpoint,
          now: () => new Date(now.getTime() - daysAgo * DAY),
        });
      }
    });
  });
  beforeEach(async () => {
    lambda.reset();
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '7' });
    lambda.on(GetFunctionConfigurationCommand).resolves({ Description: versionDescription(STABLE) });
    server = await startS3Server({ copyOf: seeded });
  });
  afterEach(() => server.stop());
  afterAll(() => {
    for (const dir of [...dirs.splice(0), seeded]) rmSync(dir, { recursive: true, force: true });
    lambda.restore();
  });

  it(
    'upload fails, naming what it waited for, when a cleanup ' + 'of the same build never finishes (it died half way)',
    async () => {
      // The cleanup dies right after its first write under builds/: nothing it sends after that arrives.
      const written: string[] = [];
      server.setHook((request) => {
        if (written.length > 0) return { status: 500, code: 'InternalError', message: 'the cleanup died' };
        if (request.method === 'PUT' && besideManifest(request)) written.push(request.key!);
        return undefined;
      });
      await cleanup({
        config,
        regions: [region],
        endpoint: server.endpoint,
        now,
        apply: true,
        retry: { attempts: 1 },
        readStore: storeNamesNothing,
      });
      server.setHook(null);
      // The code before the fix writes nothing there; stand in for what a dead cleanup would leave.
      const left = written[0] ?? `builds/${X}.cleanup/dead`;
      if (written.length === 0)
        await server.client(region).send(new PutObjectCommand({ Bucket: bucket, Key: left, Body: '{}' }));

      const result = await upload({
        config,
        buildDir: dirs[2],
        regions: [region],
        endpoint: server.endpoint,
        retry: fastRetry,
        cleanupWait: { timeoutMs: 200, pollMs: 5 },
      });
      expect(result.regions[0]).toMatchObject({ ok: false, manifest: 'not written' });
      expect(result.regions[0]!.error).toContain(left);
      expect(result.regions[0]!.error).toMatch(new RegExp(`a cleanup of build ${X} is running in ${bucket}, or died`));
    },
  );

  it('cleanup deletes nothing of a build when it cannot announce itself first (no s3:PutObject)', async () => {
    server.setHook((request) =>
      request.method === 'PUT' ? { status: 403, code: 'AccessDenied', message: 'Access Denied' } : undefined,
    );
    const result = await cleanup({
      config,
      regions: [region],
      endpoint: server.endpoint,
      readStore: storeNamesNothing,
      now,
      apply: true,
      retry: fastRetry,
    });
    server.setHook(null);
    expect(result.plan.verdicts.find((v) => v.buildId === X)?.action).toBe('delete');
    expect(result.ok).toBe(false);
    expect(result.deletions[0]!.error).toMatch(/AccessDenied.*s3:PutObject/);
    expect(await headObject(server.client(region), bucket, MANIFEST)).not.toBeNull();
    expect(await listObjects(server.client(region), bucket, ASSETS)).toHaveLength(3);
  });
});

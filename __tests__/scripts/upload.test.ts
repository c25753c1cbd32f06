import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig, resourceNames } from '../../config';
import { parsePublishedBuild, publishedBuildKey } from '../../contracts/bucket-layout';
import { readManifest } from '../../contracts/build-manifest';
import { IMMUTABLE_CACHE_CONTROL, objectMetadata } from '../../contracts/object-metadata';
import { createS3Client, getObjectText, headObject, listObjects } from '../../rollout-control/s3';
import { startS3Server, type S3LogEntry, type S3Server } from '../../loopback/s3-server';
import { cleanupMarkerPrefix } from '../../contracts/published-build';
import { invoke } from '../../scripts/lib/cli';
import { buildObjects, upload } from '../../publish/upload';
import { failureReport, uploadCommand } from '../../scripts/upload';
import { BUILD_DIR } from '../fixtures/build';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const config = loadConfig(path.join(PROJECT_ROOT, 'deploy.config.json'));
const names = resourceNames(config);
const buckets = config.regions.map((region) => names.bucket(region));
const fastRetry = { attempts: 4, delayMs: 1 };

/**
 * Runs the upload CLI in a child process. `node --import tsx` rather than the tsx binary, which
 * runs the script in a grandchild: SIGKILL must hit the process doing the upload.
 */
function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
): {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill: () => void;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'upload.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...env, CI: '1', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { exit, kill: () => child.kill('SIGKILL') };
}

/** A port nothing listens on: a region whose endpoint is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const puts = (log: readonly S3LogEntry[], bucket: string) =>
  log.filter((entry) => entry.method === 'PUT' && entry.bucket === bucket && entry.status === 200);

describe('upload', () => {
  const manifest = readManifest(BUILD_DIR);
  const objects = buildObjects(BUILD_DIR, manifest);
  const manifestKey = publishedBuildKey(manifest.buildId);
  let server: S3Server;

  beforeEach(async () => {
    server = await startS3Server({ buckets });
  });
  afterEach(async () => {
    await server.stop();
  });

  it(
    'puts every file and variant in every bucket with the metadata rule, a SHA-256 checksum and SSE-S3, then ' +
      'the manifest last',
    async () => {
      const result = await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry });
      const log = [...server.log];
      expect(result.ok).toBe(true);
      expect(objects.length).toBe(
        manifest.assets.length + manifest.assets.reduce((n, a) => n + Object.keys(a.variants).length, 0),
      );
      for (const region of config.regions) {
        const bucket = names.bucket(region);
        const client = server.client(region);
        expect(result.regions.find((r) => r.region === region)).toMatchObject({
          ok: true,
          uploaded: objects.length,
          skipped: 0,
          manifest: 'written',
        });

        const listed = await listObjects(client, bucket, '');
        expect(listed.map((o) => o.key).sort()).toEqual([...objects.map((o) => o.key), manifestKey].sort());

        const variant = objects.find((o) => o.key.endsWith('.js.br'))!;
        const head = await headObject(client, bucket, variant.key);
        expect(head).toMatchObject({
          ContentType: 'application/javascript; charset=utf-8',
          ContentEncoding: 'br',
          CacheControl: IMMUTABLE_CACHE_CONTROL,
          ContentLength: variant.body.length,
          Metadata: { sha256: variant.sha256 },
        });

        const requests = puts(log, bucket);
        for (const request of requests) {
          const object = request.key === manifestKey ? null : objects.find((o) => o.key === request.key)!;
          expect(request.headers['x-amz-server-side-encryption']).toBe('AES256');
          if (object)
            expect(request.headers['x-amz-checksum-sha256']).toBe(Buffer.from(object.sha256, 'hex').toString('base64'));
        }
        // The manifest is the last write, after the listing that checked every object is there; then
        // the upload looks for a cleanup of this build, and checks the objects and the manifest again.
        expect(requests[requests.length - 1]!.key).toBe(manifestKey);
        const manifestAt = log.indexOf(requests[requests.length - 1]!);
        const lists = log.flatMap((e, index) =>
          e.bucket === bucket && e.method === 'GET' && e.key === null ? [{ index, prefix: e.query.get('prefix') }] : [],
        );
        const verify = lists.filter((list) => list.index < manifestAt).pop()!;
        expect(verify.prefix).toBe(`assets/${manifest.buildId}/`);
        expect(requests.filter((r) => r.key !== manifestKey).every((r) => log.indexOf(r) < verify.index)).toBe(true);
        expect(lists.filter((list) => list.index > manifestAt).map((list) => list.prefix)).toEqual([
          cleanupMarkerPrefix(manifest.buildId),
          `assets/${manifest.buildId}/`,
        ]);
        expect(
          log.filter(
            (e, index) => index > manifestAt && e.bucket === bucket && e.method !== 'GET' && e.method !== 'HEAD',
          ),
        ).toEqual([]);

        const published = parsePublishedBuild((await getObjectText(client, bucket, manifestKey))!, manifest.buildId);
        expect(published.objects).toEqual(objects.map((o) => ({ key: o.key, bytes: o.body.length, sha256: o.sha256 })));
        expect(published.entry).toBe(manifest.entry.key);
        expect(objectMetadata(manifestKey).cacheControl).not.toBe(IMMUTABLE_CACHE_CONTROL);
      }
    },
  );

  it('skips what is already there on a second run and rewrites only the manifest', async () => {
    await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    const before = server.log.length;
    const again = await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      now: () => new Date('2026-01-02T00:00:00Z'),
    });
    expect(again.regions.every((r) => r.ok && r.uploaded === 0 && r.skipped === objects.length && r.bytes === 0)).toBe(
      true,
    );
    const writes = server.log.slice(before).filter((e) => e.method === 'PUT');
    expect(writes.map((e) => e.key)).toEqual(buckets.map(() => manifestKey));
    const published = parsePublishedBuild((await getObjectText(server.client(), buckets[0]!, manifestKey))!);
    expect(published.uploadedAt).toBe('2026-01-02T00:00:00.000Z');
  });

  it('replaces an object whose stored bytes or metadata differ instead of skipping it', async () => {
    const client = server.client(config.regions[0]);
    const target = objects.find((o) => o.key.endsWith('index.js'))!;
    // Same key, same claimed sha256, other bytes: a damaged or hand-edited object.
    await client.send(
      new PutObjectCommand({
        Bucket: buckets[0],
        Key: target.key,
        Body: 'tampered',
        ContentType: target.metadata.contentType,
        CacheControl: target.metadata.cacheControl,
        Metadata: { sha256: target.sha256 },
      }),
    );
    const stale = objects.find((o) => o.key.endsWith('.gz'))!;
    await client.send(
      new PutObjectCommand({
        Bucket: buckets[0],
        Key: stale.key,
        Body: stale.body,
        ContentType: 'text/plain',
        Metadata: { sha256: stale.sha256 },
      }),
    );

    const result = await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      regions: [config.regions[0]!],
    });
    expect(result.regions[0]).toMatchObject({ ok: true, uploaded: objects.length, skipped: 0 });
    const head = await headObject(client, buckets[0]!, target.key);
    expect(head).toMatchObject({ ContentLength: target.body.length, ETag: `"${target.md5}"` });
    expect((await headObject(client, buckets[0]!, stale.key))?.ContentEncoding).toBe('gzip');
  });

  it('retries throttling and server errors with backoff, and finishes', async () => {
    const failed = new Set<string>();
    server.setHook((request) => {
      if (request.method !== 'PUT' || !request.key || failed.has(`${request.bucket}/${request.key}`)) return undefined;
      failed.add(`${request.bucket}/${request.key}`);
      return failed.size % 2 === 0 ? { status: 503, code: 'SlowDown' } : { status: 500, code: 'InternalError' };
    });
    const retried: string[] = [];
    const result = await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      retry: fastRetry,
      log: (line) => retried.push(line),
    });
    expect(result.ok).toBe(true);
    expect(server.log.filter((e) => e.status === 503 || e.status === 500)).toHaveLength(
      (objects.length + 1) * buckets.length,
    );
    expect(retried.some((line) => /SlowDown.*attempt 2/.test(line))).toBe(true);
    for (const bucket of buckets) expect(await headObject(server.client(), bucket, manifestKey)).not.toBeNull();
  });

  it('writes an object again when it reads back wrong after its PUT', async () => {
    const bucket = buckets[0]!;
    const victim = objects.find((o) => o.key.endsWith('index.js'))!;
    let tampered = false;
    server.setHook(async (request) => {
      if (tampered || request.method !== 'HEAD' || request.bucket !== bucket || request.key !== victim.key)
        return undefined;
      tampered = true;
      // Between the PUT and its read-back, other bytes land under the key.
      await server.client().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: victim.key,
          Body: 'other bytes',
          ContentType: victim.metadata.contentType,
          Metadata: { sha256: victim.sha256 },
        }),
      );
      return undefined;
    });
    const result = await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      regions: [config.regions[0]!],
      retry: fastRetry,
    });
    server.setHook(null);
    expect(tampered).toBe(true);
    expect(result.regions[0]).toMatchObject({ ok: true, uploaded: objects.length });
    // Ours, the other bytes, ours again.
    expect(
      puts(server.log, bucket).flatMap((e) => (e.key === victim.key ? [e.headers['content-length']] : [])),
    ).toEqual([victim.body.length, 'other bytes'.length, victim.body.length].map(String));
    expect(await headObject(server.client(), bucket, victim.key)).toMatchObject({
      ContentLength: victim.body.length,
      ETag: `"${victim.md5}"`,
    });
  });

  it('lets the other regions finish when one region errors, and leaves that one without a manifest', async () => {
    const failing = config.regions[1]!;
    server.setHook((request) =>
      request.bucket === names.bucket(failing)
        ? { status: 500, code: 'InternalError', message: 'region on fire' }
        : undefined,
    );
    const result = await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry });
    expect(result.ok).toBe(false);
    const failed = result.regions.find((r) => r.region === failing)!;
    expect(failed).toMatchObject({ ok: false, manifest: 'not written' });
    expect(failed.error).toMatch(/InternalError: region on fire/);
    // Four attempts at the listing, then the region stops.
    expect(server.log.filter((e) => e.bucket === names.bucket(failing))).toHaveLength(4);
    server.setHook(null);
    expect(await headObject(server.client(), names.bucket(failing), manifestKey)).toBeNull();
    for (const region of config.regions.filter((r) => r !== failing)) {
      expect(result.regions.find((r) => r.region === region)).toMatchObject({ ok: true, manifest: 'written' });
      expect(await headObject(server.client(), names.bucket(region), manifestKey)).not.toBeNull();
    }
  });

  it(
    'puts back an object that vanished before the ' + 'manifest, and publishes only once every object is there',
    async () => {
      const bucket = buckets[0]!;
      const victim = objects[0]!.key;
      let lists = 0;
      server.setHook(async (request) => {
        if (
          request.bucket !== bucket ||
          request.method !== 'GET' ||
          request.key !== null ||
          request.query.get('prefix') !== `assets/${manifest.buildId}/`
        )
          return undefined;
        lists += 1;
        // The second listing is the check before the manifest: a concurrent cleanup got there first.
        if (lists === 2) await server.client().send(new DeleteObjectCommand({ Bucket: bucket, Key: victim }));
        return undefined;
      });
      const before = server.log.length;
      const result = await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry });
      server.setHook(null);
      expect(result.regions[0]).toMatchObject({ ok: true, manifest: 'written', restored: 1 });
      const writes = puts(server.log.slice(before), bucket).map((e) => e.key);
      const victimPuts = writes.flatMap((key, index) => (key === victim ? [index] : []));
      expect(victimPuts).toHaveLength(2);
      expect(victimPuts[1]).toBeLessThan(writes.indexOf(manifestKey));
      expect(await headObject(server.client(), bucket, victim)).not.toBeNull();
      expect(result.regions.slice(1).every((r) => r.ok && r.restored === 0)).toBe(true);
    },
  );

  it('gives up, and says so, on a build whose objects keep vanishing after the manifest', async () => {
    const bucket = buckets[0];
    const victim = objects[0]!.key;
    server.setHook(async (request) => {
      const published = server.log.some(
        (e) => e.bucket === bucket && e.method === 'PUT' && e.key === manifestKey && e.status === 200,
      );
      // Something outside the upload-and-cleanup handshake deletes an object before every check.
      if (
        published &&
        request.bucket === bucket &&
        request.method === 'GET' &&
        request.key === null &&
        request.query.get('prefix') === `assets/${manifest.buildId}/`
      ) {
        await server.client().send(new DeleteObjectCommand({ Bucket: bucket, Key: victim }));
      }
      return undefined;
    });
    const result = await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      regions: [config.regions[0]!],
      retry: fastRetry,
      settleRounds: 2,
    });
    server.setHook(null);
    expect(result.regions[0]).toMatchObject({ ok: false, manifest: 'written', restored: 2 });
    expect(result.regions[0]!.error).toMatch(
      `checking assets/${manifest.buildId}/ after the manifest: build ${manifest.buildId} was still ` +
        `changing after 2 rounds`,
    );
  });

  it('reports a region whose endpoint is down by name, after retrying', async () => {
    const down = config.regions[2];
    const downEndpoint = `http://127.0.0.1:${await closedPort()}`;
    const result = await upload({
      config,
      buildDir: BUILD_DIR,
      retry: fastRetry,
      clientFor: (region) => createS3Client({ region, endpoint: region === down ? downEndpoint : server.endpoint }),
    });
    const failed = result.regions.find((r) => r.region === down)!;
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/ECONNREFUSED/);
    expect(result.regions.filter((r) => r.ok).map((r) => r.region)).toEqual(config.regions.filter((r) => r !== down));
  });

  it(
    'survives being killed half way: no manifest anywhere, and a second run skips what is there ' +
      'and publishes last',
    async () => {
      let assetPuts = 0;
      let reached!: () => void;
      const halfWay = new Promise<void>((resolve) => (reached = resolve));
      const held: (() => void)[] = [];
      const threshold = Math.floor((objects.length * buckets.length) / 2);
      server.setHook((request) => {
        if (request.method === 'PUT' && request.key?.startsWith('assets/')) assetPuts += 1;
        if (assetPuts < threshold) return undefined;
        reached();
        // Hold everything from here on: the process dies with requests in flight.
        return new Promise((resolve) => held.push(() => resolve({ status: 503, code: 'SlowDown' })));
      });
      const cli = runCli(['--endpoint', server.endpoint, '--build', BUILD_DIR, '--concurrency', '2']);
      await halfWay;
      cli.kill();
      const { signal } = await cli.exit;
      expect(signal).toBe('SIGKILL');
      server.setHook(null);
      for (const release of held) release();
      // What the killed process had sent in full is still being written: counted once it is there.
      await server.idle();

      const stored = await Promise.all(buckets.map((bucket) => listObjects(server.client(), bucket, '')));
      expect(stored.flat().some((o) => o.key === manifestKey)).toBe(false);
      const present = stored.reduce((n, list) => n + list.length, 0);
      expect(present).toBeGreaterThan(0);
      expect(present).toBeLessThan(objects.length * buckets.length);

      const before = server.log.length;
      const resumed = await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry });
      expect(resumed.ok).toBe(true);
      const skipped = resumed.regions.reduce((n, r) => n + r.skipped, 0);
      expect(skipped).toBeGreaterThan(0);
      expect(skipped).toBeLessThanOrEqual(present);
      expect(resumed.regions.every((r) => r.uploaded + r.skipped === objects.length)).toBe(true);
      for (const bucket of buckets) {
        const writes = puts(server.log.slice(before), bucket);
        expect(writes[writes.length - 1]!.key).toBe(manifestKey);
        const keys = (await listObjects(server.client(), bucket, '')).map((o) => o.key);
        expect(keys.sort()).toEqual([...objects.map((o) => o.key), manifestKey].sort());
      }
    },
  );

  it('CLI: exits non-zero naming the failing region, and a dry run writes nothing', async () => {
    const missing = names.bucket(config.regions[0]!);
    const partial = await startS3Server({ buckets: buckets.filter((b) => b !== missing) });
    try {
      const dry = await runCli([
        '--endpoint',
        partial.endpoint,
        '--build',
        BUILD_DIR,
        '--dry-run',
        '--regions',
        config.regions[1]!,
      ]).exit;
      expect(dry.code).toBe(0);
      // The progress and the summary count the same objects: the build's files and variants.
      expect(dry.stdout).toContain(
        `build ${manifest.buildId}: ${objects.length} objects (files and their compressed variants`,
      );
      const totals = [...dry.stderr.matchAll(/\d+\/(\d+) objects/g)].map((match) => Number(match[1]));
      expect(totals.length).toBeGreaterThan(0);
      expect(totals.every((total) => total === objects.length)).toBe(true);
      expect(dry.stdout).toContain(`would upload ${objects.length}`);
      expect(dry.stdout).toContain(`would upload ${objects[0]!.key}`);
      expect(partial.log.filter((e) => e.method === 'PUT' || e.method === 'DELETE')).toHaveLength(0);

      const run = await runCli(['--endpoint', partial.endpoint, '--build', BUILD_DIR]).exit;
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `upload failed in 1 of 3 regions:\n  ${config.regions[0]}: .*NoSuchBucket.*\\(deploy the ` +
            `replicas stack first\\)`,
        ),
      );
      expect(run.stdout).toMatch(new RegExp(`${config.regions[0]} .*FAILED after`));
      expect(run.stdout).toMatch(new RegExp(`${config.regions[1]} .*uploaded ${objects.length} .*manifest written`));
    } finally {
      await partial.stop();
    }
  });

  /** The upload command in this process; what it printed, by stream. */
  async function runInProcess(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await invoke(uploadCommand(), argv, { out: (text) => (out += text), error: (text) => (err += text) });
    return { code, out, err };
  }

  it(
    'CLI --json: one JSON object on stdout, per region what was uploaded, skipped, put back and pending; a ' +
      'failed region with its error, exit 1',
    async () => {
      const dry = await runInProcess([
        '--endpoint',
        server.endpoint,
        '--build',
        BUILD_DIR,
        '--regions',
        config.regions[1]!,
        '--dry-run',
        '--json',
      ]);
      expect(dry.code).toBe(0);
      const planned = JSON.parse(dry.out);
      expect(dry.out).toBe(`${JSON.stringify(planned, null, 2)}\n`);
      expect(planned).toMatchObject({
        ok: true,
        dryRun: true,
        buildId: manifest.buildId,
        objects: objects.length,
        manifestKey,
      });
      expect(planned.regions).toEqual([
        expect.objectContaining({
          region: config.regions[1],
          bucket: buckets[1],
          ok: true,
          uploaded: objects.length,
          skipped: 0,
          restored: 0,
          bytes: 0,
          manifest: 'would write',
          pending: objects.map((o) => o.key),
        }),
      ]);
      expect(server.log.filter((e) => e.method === 'PUT' || e.method === 'DELETE')).toHaveLength(0);
      // What would go to stdout as text goes nowhere; the header stays on stderr.
      expect(dry.err).toContain(`dry run: upload build ${manifest.buildId} to 1 region`);

      const failing = config.regions[0]!;
      server.setHook((request) =>
        request.bucket === names.bucket(failing)
          ? { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' }
          : undefined,
      );
      const run = await runInProcess(['--endpoint', server.endpoint, '--build', BUILD_DIR, '--json']);
      server.setHook(null);
      expect(run.code).toBe(1);
      const result = JSON.parse(run.out);
      expect(result).toMatchObject({ ok: false, dryRun: false, buildId: manifest.buildId, objects: objects.length });
      expect(result.regions.map((r: { region: string }) => r.region)).toEqual(config.regions);
      expect(result.regions[0]).toMatchObject({
        region: failing,
        ok: false,
        manifest: 'not written',
        uploaded: 0,
        error: expect.stringMatching(/NoSuchBucket/),
        advice: 'deploy the replicas stack first',
      });
      for (const region of result.regions.slice(1))
        expect(region).toMatchObject({
          ok: true,
          uploaded: objects.length,
          skipped: 0,
          manifest: 'written',
          pending: [],
          bytes: expect.any(Number),
        });
      expect(result.regions[1].bytes).toBeGreaterThan(0);
      expect(run.err).toContain(`upload failed in 1 of 3 regions:\n  ${failing}: `);

      // A second run: every object already there is skipped.
      const again = JSON.parse(
        (
          await runInProcess([
            '--endpoint',
            server.endpoint,
            '--build',
            BUILD_DIR,
            '--regions',
            config.regions[1]!,
            '--json',
          ])
        ).out,
      );
      expect(again.regions[0]).toMatchObject({
        ok: true,
        uploaded: 0,
        skipped: objects.length,
        restored: 0,
        bytes: 0,
        manifest: 'written',
      });
    },
  );

  it('CLI --json: an error before any region is tried prints {"error": …}, exit 1 as without --json', async () => {
    const missing = path.join(PROJECT_ROOT, 'no-such-build');
    const json = await runInProcess(['--endpoint', server.endpoint, '--build', missing, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toEqual({ error: expect.stringContaining(path.join(missing, 'manifest.json')) });
    const text = await runInProcess(['--endpoint', server.endpoint, '--build', missing]);
    expect({ code: text.code, out: text.out }).toEqual({ code: 1, out: '' });
    expect(server.log).toEqual([]);
  });

  it('CLI: without AWS credentials, says so once, with what to do, and sends nothing', async () => {
    const noCredentials = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    };
    const run = await runCli(['--build', BUILD_DIR], noCredentials).exit;
    expect(run.code).toBe(1);
    const output = run.stdout + run.stderr;
    expect(output.match(/no AWS credentials found/g)).toHaveLength(1);
    expect(output.match(/Could not load credentials/g)).toHaveLength(1);
    expect(run.stderr).toContain('Configure credentials for the account the stacks were deployed to: `aws configure`');
    expect(output).not.toMatch(/FAILED|upload failed in/);
  });

  it('reports regions that failed alike on one line, and counts in the summary what the progress counts', async () => {
    server.setHook((request) =>
      request.method === 'GET' ? { status: 403, code: 'AccessDenied', message: 'Access Denied' } : undefined,
    );
    const states: { region: string; done: number; total: number }[] = [];
    const result = await upload({
      config,
      buildDir: BUILD_DIR,
      endpoint: server.endpoint,
      retry: fastRetry,
      onProgress: (region, state) => states.push({ region, ...state }),
    });
    expect(result.ok).toBe(false);
    expect(states.every((state) => state.total === result.objects)).toBe(true);
    expect(result.objects).toBe(objects.length);
    const report = failureReport(result);
    expect(report).toHaveLength(3);
    expect(report[0]).toBe(`upload failed in 3 of 3 regions:`);
    expect(report[1]).toBe(
      `  ${config.regions.join(', ')}: listing assets/${manifest.buildId}/: AccessDenied: Access Denied (the ` +
        `credentials may not write the bucket: \`npm run names -- --iam\` prints the deploy role's policy)`,
    );
  });

  it(
    'CLI: refuses a --concurrency that is not a whole number from 1 to 64, naming the flag, before ' +
      'reading anything',
    async () => {
      for (const value of ['1e1', '0x8', ' 8', '10m', '0', '65']) {
        const errors: string[] = [];
        const code = await invoke(
          uploadCommand(),
          ['--concurrency', value, '--build', path.join(PROJECT_ROOT, 'no-such-build')],
          { out: () => undefined, error: (text) => errors.push(text) },
        );
        expect({ value, code, error: errors.join('') }).toEqual({
          value,
          code: 2,
          error:
            `error: option '--concurrency <n>' argument '${value}' is invalid. expected a whole number from 1 to ` +
            `64, got ${JSON.stringify(value)}.\n(run with --help for usage and examples)\n`,
        });
      }
    },
  );

  it('refuses a build folder whose files do not match its manifest', () => {
    const tampered = {
      ...manifest,
      assets: [{ ...manifest.assets[0]!, sha256: createHash('sha256').update('other').digest('hex') }],
    };
    expect(() => buildObjects(BUILD_DIR, tampered)).toThrow(/does not match .*manifest\.json .*npm run build/);
  });
});

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, deleteObjects, getObjectText, headObject, listObjects } from '../../rollout-control/s3';
import { LOOPBACK_CREDENTIALS, startS3Server } from '../../loopback/s3-server';
import { pollUntil } from '../fixtures/poll';

describe('loopback S3 server', () => {
  it('stores objects with their metadata, lists page by page and deletes in batches', async () => {
    const server = await startS3Server({ buckets: ['replica'] });
    try {
      const client = server.client('eu-west-1');
      const keys = ['assets/a', 'assets/b', 'assets/c d', 'assets/e+f', 'other/g'];
      for (const key of keys) {
        await client.send(
          new PutObjectCommand({
            Bucket: 'replica',
            Key: key,
            Body: key,
            ContentType: 'text/plain',
            CacheControl: 'no-cache',
            Metadata: { sha256: 'x' },
          }),
        );
      }
      expect(await headObject(client, 'replica', 'assets/c d')).toMatchObject({
        ContentType: 'text/plain',
        CacheControl: 'no-cache',
        Metadata: { sha256: 'x' },
        ContentLength: 'assets/c d'.length,
      });
      expect(await headObject(client, 'replica', 'assets/nothing')).toBeNull();

      const listed = await listObjects(client, 'replica', 'assets/', 2);
      expect(listed.map((o) => o.key)).toEqual(['assets/a', 'assets/b', 'assets/c d', 'assets/e+f']);
      expect(server.log.filter((e) => e.method === 'GET' && e.key === null)).toHaveLength(2);

      expect(
        await deleteObjects(
          client,
          'replica',
          listed.map((o) => o.key),
          { batchSize: 3 },
        ),
      ).toBe(4);
      expect(server.log.filter((e) => e.method === 'POST' && e.query.has('delete'))).toHaveLength(2);
      expect((await listObjects(client, 'replica', '')).map((o) => o.key)).toEqual(['other/g']);
    } finally {
      await server.stop();
    }
  });

  it(
    'reads a DeleteObjects body as XML: CDATA, entities and spaces in a key as sent, a ' +
      'commented-out key not at all',
    async () => {
      const server = await startS3Server({ buckets: ['replica'] });
      try {
        const client = server.client();
        const keys = [
          'assets/a&b <c>.js',
          'assets/ padded ',
          'assets/line\nbreak',
          'assets/kept',
          'assets/commented-out',
        ];
        for (const key of keys) await client.send(new PutObjectCommand({ Bucket: 'replica', Key: key, Body: 'x' }));
        const body = [
          '<?xml version="1.0" encoding="UTF-8"?>',
          '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
          '  <!-- <Object><Key>assets/commented-out</Key></Object> -->',
          '  <Object><Key><![CDATA[assets/a&b <c>.js]]></Key></Object>',
          '  <Object>',
          '    <Key>assets/ padded </Key>',
          '  </Object>',
          '  <Object><Key>assets/line&#x0A;break</Key></Object>',
          '  <Quiet>false</Quiet>',
          '</Delete>',
        ].join('\n');
        const response = await fetch(`${server.endpoint}/replica?delete`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/xml' },
        });
        expect(response.status).toBe(200);
        const deleted = [...(await response.text()).matchAll(/<Deleted><Key>([^<]*)<\/Key><\/Deleted>/g)].map(
          (match) => match[1],
        );
        expect(deleted).toEqual(['assets/a&#38;b &#60;c&#62;.js', 'assets/ padded ', 'assets/line\nbreak']);
        expect((await listObjects(client, 'replica', '')).map((o) => o.key).sort()).toEqual([
          'assets/commented-out',
          'assets/kept',
        ]);

        const malformed = await fetch(`${server.endpoint}/replica?delete`, {
          method: 'POST',
          body: '<Delete><Object><Key>assets/kept</Key></Delete>',
        });
        expect(malformed.status).toBe(400);
        expect(await malformed.text()).toContain('<Code>MalformedXML</Code>');
        expect((await listObjects(client, 'replica', '')).map((o) => o.key)).toContain('assets/kept');
      } finally {
        await server.stop();
      }
    },
  );

  it(
    'reads its own writes: a HEAD and a listing right ' + 'after each PUT see the bytes that PUT wrote, whole',
    async () => {
      const server = await startS3Server({ buckets: ['replica'] });
      try {
        const client = server.client();
        // Many writers at once, each rewriting its key at another size: a PUT answered before its
        // file is written shows an older size, or a part of the new one, to the HEAD that follows it.
        const seen = await Promise.all(
          Array.from({ length: 16 }, async (_, writer) => {
            const key = `assets/${writer}.js`;
            const wrong: string[] = [];
            for (const [round, size] of [3, 1, 2].map((quarters, i) => [i, quarters * 256 * 1024 + writer] as const)) {
              await client.send(
                new PutObjectCommand({ Bucket: 'replica', Key: key, Body: Buffer.alloc(size, 97 + round) }),
              );
              const head = await headObject(client, 'replica', key);
              if (head?.ContentLength !== size) wrong.push(`${key} round ${round}: ${head?.ContentLength} of ${size}`);
            }
            return wrong;
          }),
        );
        expect(seen.flat()).toEqual([]);
        const listed = await listObjects(client, 'replica', 'assets/');
        expect(listed.map((o) => o.size).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 16 }, (_, writer) => 2 * 256 * 1024 + writer),
        );
      } finally {
        await server.stop();
      }
    },
  );

  it('answers injected faults as S3 errors the SDK understands', async () => {
    const server = await startS3Server({ buckets: ['replica'] });
    try {
      server.setHook((request) =>
        request.key === 'slow'
          ? { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }
          : undefined,
      );
      // One attempt: the SDK would back off and retry a SlowDown for seconds, and give the same error.
      const once = createS3Client({
        region: 'us-east-1',
        endpoint: server.endpoint,
        credentials: LOOPBACK_CREDENTIALS,
        retry: { attempts: 1 },
      });
      await expect(
        once.send(new PutObjectCommand({ Bucket: 'replica', Key: 'slow', Body: 'x' })),
      ).rejects.toMatchObject({
        name: 'SlowDown',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      });
      await expect(
        server.client().send(new PutObjectCommand({ Bucket: 'replica', Key: 'fine', Body: 'x' })),
      ).resolves.toBeDefined();
    } finally {
      await server.stop();
    }
  });

  it('is idle only once every request it received is handled and its write stored', async () => {
    const server = await startS3Server({ buckets: ['b'] });
    try {
      // With nothing received it is idle at once (or the test times out).
      await server.idle();
      let held!: () => void;
      let reached!: () => void;
      const heldThere = new Promise<void>((resolve) => (reached = resolve));
      server.setHook(() => {
        reached();
        return new Promise((resolve) => (held = () => resolve(undefined)));
      });
      const put = server.client().send(new PutObjectCommand({ Bucket: 'b', Key: 'late', Body: 'x' }));
      await heldThere;
      let idle = false;
      const idleNow = server.idle().then(() => {
        idle = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(idle).toBe(false);
      server.setHook(null);
      held();
      await idleNow;
      // Idle: the object is in the store's folder at that moment, before anything else runs.
      expect(readdirSync(path.join(server.directory, 'b')).filter((name) => name.startsWith('late'))).not.toEqual([]);
      await put;
      expect((await listObjects(server.client(), 'b', '')).map((o) => o.key)).toEqual(['late']);
      // A request held for good keeps it busy until the server stops.
      let hungThere = false;
      server.setHook(() => {
        hungThere = true;
        return new Promise(() => undefined);
      });
      const hung = server.client().send(new PutObjectCommand({ Bucket: 'b', Key: 'hung', Body: 'x' }));
      hung.catch(() => undefined);
      await pollUntil('the held PUT to reach the server', () => hungThere, 5000, 5);
      const stoppedIdle = server.idle();
      await server.stop();
      await stoppedIdle;
    } finally {
      await server.stop();
    }
  });

  it('removes its own folder on stop and keeps one it was given', async () => {
    const own = await startS3Server();
    await own.stop();
    expect(existsSync(own.directory)).toBe(false);
    const given = mkdtempSync(path.join(tmpdir(), 's3-given-'));
    const kept = await startS3Server({ directory: given, buckets: ['b'] });
    await kept.stop();
    expect(existsSync(given)).toBe(true);
    rmSync(given, { recursive: true, force: true });
  });

  it(
    "starts from a copy of a stopped server's objects, " +
      'which its own writes and deletes leave as they were, and refuses a folder that is not there',
    async () => {
      const seeded = mkdtempSync(path.join(tmpdir(), 's3-seed-'));
      try {
        const seeding = await startS3Server({ directory: seeded, buckets: ['b'] });
        await seeding.client().send(new PutObjectCommand({ Bucket: 'b', Key: 'kept', Body: 'seed' }));
        await seeding.stop();
        for (let round = 0; round < 2; round += 1) {
          const copy = await startS3Server({ copyOf: seeded });
          expect((await listObjects(copy.client(), 'b', '')).map((o) => o.key)).toEqual(['kept']);
          expect(await getObjectText(copy.client(), 'b', 'kept')).toBe('seed');
          expect((await headObject(copy.client(), 'b', 'kept'))?.Metadata).toEqual({});
          // Written over with other bytes and metadata: the copy's files are links to the seed's, so
          // this would change the seed too, were any written in place.
          await copy
            .client()
            .send(new PutObjectCommand({ Bucket: 'b', Key: 'kept', Body: 'other', Metadata: { round: `${round}` } }));
          expect(await getObjectText(copy.client(), 'b', 'kept')).toBe('other');
          await deleteObjects(copy.client(), 'b', ['kept']);
          await copy.client().send(new PutObjectCommand({ Bucket: 'b', Key: 'added', Body: 'x' }));
          await copy.stop();
          expect(existsSync(copy.directory)).toBe(false);
        }
      } finally {
        rmSync(seeded, { recursive: true, force: true });
      }
      // A copy of nothing is refused, naming the folder, and leaves no folder of its own behind (in a
      // temporary folder of this test's own: the run's is shared with the other worker's servers).
      const own = mkdtempSync(path.join(tmpdir(), 's3-copy-refused-'));
      const runTmpdir = process.env.TMPDIR;
      process.env.TMPDIR = own;
      try {
        await expect(startS3Server({ copyOf: seeded })).rejects.toThrow(`could not copy ${seeded}`);
        expect(readdirSync(own)).toEqual([]);
      } finally {
        process.env.TMPDIR = runTmpdir;
        rmSync(own, { recursive: true, force: true });
      }
    },
  );
});

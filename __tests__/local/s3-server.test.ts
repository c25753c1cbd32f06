import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { deleteObjects, headObject, listObjects } from '../../scripts/lib/s3';
import { startS3Server } from '../../local/s3-server';

describe('loopback S3 server', () => {
  it('stores objects with their metadata, lists page by page and deletes in batches', async () => {
    const server = await startS3Server({ buckets: ['replica'] });
    try {
      const client = server.client('eu-west-1');
      const keys = ['assets/a', 'assets/b', 'assets/c d', 'assets/e+f', 'other/g'];
      for (const key of keys) {
        await client.send(new PutObjectCommand({ Bucket: 'replica', Key: key, Body: key, ContentType: 'text/plain', CacheControl: 'no-cache', Metadata: { sha256: 'x' } }));
      }
      expect(await headObject(client, 'replica', 'assets/c d')).toMatchObject({ ContentType: 'text/plain', CacheControl: 'no-cache', Metadata: { sha256: 'x' }, ContentLength: 'assets/c d'.length });
      expect(await headObject(client, 'replica', 'assets/nothing')).toBeNull();

      const listed = await listObjects(client, 'replica', 'assets/', 2);
      expect(listed.map((o) => o.key)).toEqual(['assets/a', 'assets/b', 'assets/c d', 'assets/e+f']);
      expect(server.log.filter((e) => e.method === 'GET' && e.key === null)).toHaveLength(2);

      expect(await deleteObjects(client, 'replica', listed.map((o) => o.key), { batchSize: 3 })).toBe(4);
      expect(server.log.filter((e) => e.method === 'POST' && e.query.has('delete'))).toHaveLength(2);
      expect((await listObjects(client, 'replica', '')).map((o) => o.key)).toEqual(['other/g']);
    } finally {
      await server.stop();
    }
  });

  it('answers injected faults as S3 errors the SDK understands', async () => {
    const server = await startS3Server({ buckets: ['replica'] });
    try {
      server.setHook((request) => (request.key === 'slow' ? { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } : undefined));
      await expect(server.client().send(new PutObjectCommand({ Bucket: 'replica', Key: 'slow', Body: 'x' }))).rejects.toMatchObject({
        name: 'SlowDown',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      });
      await expect(server.client().send(new PutObjectCommand({ Bucket: 'replica', Key: 'fine', Body: 'x' }))).resolves.toBeDefined();
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
});

/**
 * Reading an object from a replica bucket with the function's own role (GetObject on
 * `assets/*`), for the entry router's builds other than its own. The S3 client comes from the
 * Lambda runtime and is loaded on the first read, so a router that only ever serves its own build
 * never pays for loading it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, S3_ENDPOINT } from './seams';

export interface BucketObject {
  readonly bytes: Buffer;
  /** S3's ETag, quoted; computed from the bytes when absent. */
  readonly etag?: string;
}

/**
 * Whether a failed read means the object is not in the bucket. The router's role may read
 * `assets/*` but not list the bucket, and S3 then answers a missing key with 403 AccessDenied
 * rather than 404 NoSuchKey: both mean "not there" to a reader allowed to read it.
 */
export function isAbsentObject(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const name = (error as { name?: string } | null)?.name;
  return status === 404 || status === 403 || name === 'NoSuchKey' || name === 'AccessDenied';
}

/** Reads one object from one bucket; rejects when it cannot (missing, denied, slow, down). */
export type ObjectReader = (
  bucket: { readonly region: string; readonly name: string },
  key: string,
) => Promise<BucketObject>;

export function s3ObjectReader(timeoutMs: number): ObjectReader {
  const clients = new Map<string, Promise<S3Client>>();
  const clientFor = (region: string): Promise<S3Client> => {
    let client = clients.get(region);
    if (!client) {
      client = import('@aws-sdk/client-s3').then(
        ({ S3Client }) =>
          new S3Client({
            region,
            // One try per bucket: the caller moves on to the next bucket instead.
            maxAttempts: 1,
            requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
            ...(S3_ENDPOINT ? { endpoint: S3_ENDPOINT, forcePathStyle: true, credentials: LOCAL_CREDENTIALS } : {}),
          }),
      );
      clients.set(region, client);
    }
    return client;
  };
  return async (bucket, key) => {
    const [{ GetObjectCommand }, client] = await Promise.all([import('@aws-sdk/client-s3'), clientFor(bucket.region)]);
    const output = await client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    if (!output.Body) throw new Error(`s3://${bucket.name}/${key} has no body`);
    return { bytes: Buffer.from(await output.Body.transformToByteArray()), etag: output.ETag };
  };
}

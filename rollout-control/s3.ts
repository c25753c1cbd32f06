/**
 * S3 plumbing the upload, cleanup and backfill share: one client per region (or per loopback
 * endpoint) that retries what the SDK deems transient (throttling, 5xx, dropped connections),
 * paginated listing, HEAD that answers null for a missing object, batched deletes that fail loudly
 * on a partial result, and error text fit for a one-line report.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { StandardRetryStrategy, type StandardRetryStrategyOptions } from '@smithy/core/retry';
import type { RetryErrorInfo, StandardRetryToken } from '@smithy/types';

/** The access key the loopback S3 server (s3rver) knows; it checks the key id, not the signature. */
export const LOOPBACK_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

/** S3's limit for one DeleteObjects request. */
export const DELETE_BATCH = 1000;

export interface S3ClientOptions {
  readonly region: string;
  /** An S3-compatible endpoint, addressed path-style (http://127.0.0.1:4568). @default AWS's regional endpoint */
  readonly endpoint?: string;
  /** @default the SDK's provider chain; for a loopback endpoint without AWS_ACCESS_KEY_ID, LOOPBACK_CREDENTIALS */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** Told of each retry once its wait is over, e.g. to log it. @default nothing */
  readonly onRetry?: (error: unknown, attempt: number, waitedMs: number) => void;
}

/** How the SDK retries a request; which errors are worth it is the SDK's call (its retry strategy). */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  readonly attempts: number;
  /**
   * A fixed wait before each retry (tests). @default the SDK's exponential backoff with jitter, longer after throttling
   */
  readonly delayMs?: number;
}

/** A request gets five attempts: an upload of a few hundred objects rides out a burst of SlowDown. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5 };

export function createS3Client(options: S3ClientOptions): S3Client {
  const env = options.env ?? process.env;
  const loopback = options.endpoint !== undefined && isLoopback(options.endpoint);
  const credentials = options.credentials ?? (loopback && !env.AWS_ACCESS_KEY_ID ? LOOPBACK_CREDENTIALS : undefined);
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials: { ...credentials } } : {}),
    retryStrategy: retryStrategy(options.retry ?? DEFAULT_RETRY, options.onRetry),
    requestHandler: { connectionTimeout: 5000, requestTimeout: 60000 },
  });
}

function retryStrategy(policy: RetryPolicy, onRetry: S3ClientOptions['onRetry']): StandardRetryStrategy {
  const fixed = policy.delayMs;
  return new ReportingRetryStrategy(
    {
      maxAttempts: policy.attempts,
      ...(fixed !== undefined
        ? { backoff: { computeNextBackoffDelay: () => fixed, setDelayBase: () => undefined } }
        : {}),
    },
    onRetry,
  );
}

/**
 * The SDK's standard strategy, telling `onRetry` of each retry it grants (it waits, then answers; it throws when it
 * gives up).
 */
class ReportingRetryStrategy extends StandardRetryStrategy {
  constructor(
    options: StandardRetryStrategyOptions,
    private readonly onRetry: S3ClientOptions['onRetry'],
  ) {
    super(options);
  }

  override async refreshRetryTokenForRetry(
    token: StandardRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<StandardRetryToken> {
    const started = Date.now();
    const next = await super.refreshRetryTokenForRetry(token, errorInfo);
    this.onRetry?.(errorInfo.error, next.getRetryCount() + 1, Date.now() - started);
    return next;
  }
}

export function isLoopback(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    throw new Error(`not an endpoint URL: ${JSON.stringify(endpoint)} (write it like http://127.0.0.1:4568)`);
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /** Without quotes. */
  readonly etag: string;
  readonly lastModified: Date;
}

/** Every object under `prefix`, following continuation tokens (`pageSize` only matters to tests). */
export async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
  pageSize?: number,
): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: pageSize }),
    );
    for (const item of page.Contents ?? []) {
      if (!item.Key) continue;
      objects.push({
        key: item.Key,
        size: item.Size ?? 0,
        etag: unquote(item.ETag),
        lastModified: item.LastModified ?? new Date(0),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** HEAD with the stored checksum asked for; null when the object does not exist. */
export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<HeadObjectCommandOutput | null> {
  try {
    return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** The object's body as text; null when it does not exist. */
export async function getObjectText(client: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export interface DeleteOptions {
  /** @default DELETE_BATCH (1000, S3's limit) */
  readonly batchSize?: number;
}

/** Deletes `keys` in batches; throws naming the keys S3 refused. Returns how many went. */
export async function deleteObjects(
  client: S3Client,
  bucket: string,
  keys: readonly string[],
  options: DeleteOptions = {},
): Promise<number> {
  const batchSize = Math.min(options.batchSize ?? DELETE_BATCH, DELETE_BATCH);
  let deleted = 0;
  for (let start = 0; start < keys.length; start += batchSize) {
    const batch = keys.slice(start, start + batchSize);
    const result = await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
    );
    const errors = result.Errors ?? [];
    if (errors.length > 0) {
      const sample = errors.slice(0, 3).map((e) => `${e.Key}: ${e.Code ?? 'error'} ${e.Message ?? ''}`.trim());
      throw new Error(
        `S3 refused to delete ${errors.length} of ${batch.length} objects in ${bucket} ` +
          `(${sample.join('; ')}${errors.length > 3 ? '; …' : ''})`,
      );
    }
    deleted += batch.length;
  }
  return deleted;
}

export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return (
    e?.name === 'NotFound' ||
    e?.name === 'NoSuchKey' ||
    (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket')
  );
}

/** `NoSuchBucket: The specified bucket does not exist`, `connect ECONNREFUSED 127.0.0.1:9`. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(describeError).join('; ');
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message =
    error.message && error.message !== 'UnknownError' ? error.message : status ? `HTTP ${status}` : 'no message';
  return error.name && error.name !== 'Error' ? `${error.name}: ${message}` : message;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/**
 * CloudFront KeyValueStore on loopback: one store, two faces, as in AWS.
 *
 *   - what the viewer-assignment function's `cf.kvs()` reads (`functionStore`), in process: in
 *     AWS that read is local to the edge location and changes reach it within seconds;
 *   - the data-plane API (restJson1, as @aws-sdk/client-cloudfront-keyvaluestore speaks it):
 *     DescribeKeyValueStore (ETag), GetKey, PutKey / DeleteKey with If-Match, ListKeys; what
 *     rollout sync, the rollout CLI and the entry router's fallback call. Requests must be signed
 *     with SigV4A (`AWS4-ECDSA-P256-SHA256`, region set `*`), as AWS demands; the signature itself
 *     is not verified.
 *
 * The store has one ETag for all its keys; every write changes it, and a write whose If-Match is
 * not the current ETag fails with ConflictException (409). Faults can be switched on per face, for
 * tests of the fallbacks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import type { FunctionKeyValueStore } from '../edge-code/cloudfront-function';
import { replyJson } from './json-reply';

/** A fixed ARN of the right shape: the local store's identity. */
export const LOCAL_STORE_ARN = 'arn:aws:cloudfront::000000000000:key-value-store/10ca1000-0000-4000-8000-000000000000';
const SIGV4A = 'AWS4-ECDSA-P256-SHA256';
const MAX_KEY_BYTES = 1024;
const MAX_VALUE_BYTES = 1024;

export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  /** The Authorization header's algorithm, e.g. AWS4-ECDSA-P256-SHA256. */
  readonly algorithm: string | null;
  readonly regionSet: string | null;
}

export class LocalKeyValueStore {
  private readonly items = new Map<string, string>();
  private version = 1;
  /** The edge read fails (as a store error in the function would). */
  functionFault: 'none' | 'error' = 'none';
  /** The API answers every call with this error (status and type). */
  apiFault: { status: number; type: string } | null = null;

  constructor(initial: Readonly<Record<string, string>> = {}) {
    for (const [key, value] of Object.entries(initial)) this.items.set(key, value);
  }

  get etag(): string {
    return `KV${String(this.version).padStart(10, '0')}`;
  }

  get(key: string): string | undefined {
    return this.items.get(key);
  }

  /** Writes `value`; with `ifMatch`, only if the store is still at that ETag. Returns the new ETag. */
  put(key: string, value: string, ifMatch?: string): string {
    if (ifMatch !== undefined && ifMatch !== this.etag) throw new StoreConflict(this.etag, ifMatch);
    this.items.set(key, value);
    this.version += 1;
    return this.etag;
  }

  delete(key: string, ifMatch?: string): string {
    if (ifMatch !== undefined && ifMatch !== this.etag) throw new StoreConflict(this.etag, ifMatch);
    this.items.delete(key);
    this.version += 1;
    return this.etag;
  }

  keys(): string[] {
    return [...this.items.keys()].sort();
  }

  get totalBytes(): number {
    let bytes = 0;
    for (const [key, value] of this.items) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    return bytes;
  }

  /** What `cf.kvs()` reads in the function: rejects for a missing key, as the runtime's get() does. */
  readonly functionStore: FunctionKeyValueStore = {
    get: async (key) => {
      if (this.functionFault === 'error') throw new Error('KeyValueStore read failed (local fault)');
      const value = this.items.get(key);
      if (value === undefined) throw new Error(`key ${key} not found`);
      return value;
    },
  };
}

export class StoreConflict extends Error {
  constructor(current: string, given: string) {
    super(`the store is at ETag ${current}, not ${given}`);
    this.name = 'ConflictException';
  }
}

export interface KvsServer {
  /** `http://127.0.0.1:<port>`: what EDGE_KVS_ENDPOINT / ROLLOUT_STORE_ENDPOINT point at. */
  readonly endpoint: string;
  readonly store: LocalKeyValueStore;
  readonly arn: string;
  /** Every API request, in order, as signed. */
  readonly requests: readonly SignedRequest[];
  close(): Promise<void>;
}

export async function startKvsServer(
  options: { store?: LocalKeyValueStore; arn?: string; port?: number } = {},
): Promise<KvsServer> {
  const store = options.store ?? new LocalKeyValueStore();
  const arn = options.arn ?? LOCAL_STORE_ARN;
  const requests: SignedRequest[] = [];

  const server = createServer((req, res) => {
    text(req)
      .then((body) => handle(req, body, res))
      .catch((error: Error) =>
        replyJson(res, 500, { Message: error.message }, { 'x-amzn-errortype': 'InternalServerException' }),
      );
  });

  function handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://local');
    const authorization = req.headers.authorization ?? '';
    const algorithm = authorization.split(' ')[0] || null;
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      algorithm,
      regionSet: (req.headers['x-amz-region-set'] as string | undefined) ?? null,
    });
    const error = (status: number, type: string, message: string) =>
      replyJson(res, status, { Message: message }, { 'x-amzn-errortype': type });
    if (algorithm !== SIGV4A)
      return error(
        403,
        'AccessDeniedException',
        `the KeyValueStore API takes SigV4A (${SIGV4A}) signatures only; got ${algorithm ?? 'none'}`,
      );
    if (store.apiFault) return error(store.apiFault.status, store.apiFault.type, 'local fault');

    const match = /^\/key-value-stores\/([^/]+)(?:\/keys(?:\/([^/]+))?)?$/.exec(url.pathname);
    if (!match) return error(404, 'ResourceNotFoundException', `no route ${req.method} ${url.pathname}`);
    const [, storePart = '', encodedKey] = match;
    if (decodeURIComponent(storePart) !== arn)
      return error(404, 'ResourceNotFoundException', `no key value store ${decodeURIComponent(storePart)}`);
    const keyPart = encodedKey === undefined ? undefined : decodeURIComponent(encodedKey);
    const listing = url.pathname.endsWith('/keys');
    const counts = () => ({ ItemCount: store.keys().length, TotalSizeInBytes: store.totalBytes });
    const ifMatch = req.headers['if-match'] as string | undefined;

    if (req.method === 'GET' && keyPart === undefined && !listing) {
      const now = Math.floor(Date.now() / 1000);
      return replyJson(
        res,
        200,
        { ...counts(), KvsARN: arn, Created: now, LastModified: now, Status: 'READY' },
        { etag: store.etag },
      );
    }
    if (req.method === 'GET' && listing) {
      return replyJson(res, 200, { Items: store.keys().map((key) => ({ Key: key, Value: store.get(key) })) });
    }
    if (keyPart === undefined) return error(405, 'ValidationException', `${req.method} on ${url.pathname}`);
    if (Buffer.byteLength(keyPart) > MAX_KEY_BYTES)
      return error(400, 'ValidationException', `key over ${MAX_KEY_BYTES} bytes`);

    if (req.method === 'GET') {
      const value = store.get(keyPart);
      if (value === undefined) return error(404, 'ResourceNotFoundException', `key ${keyPart} not found`);
      return replyJson(res, 200, { Key: keyPart, Value: value, ...counts() });
    }
    if (req.method === 'PUT' || req.method === 'DELETE') {
      if (ifMatch === undefined) return error(400, 'ValidationException', 'If-Match is required');
      let etag: string;
      try {
        if (req.method === 'PUT') {
          const value = (JSON.parse(body || '{}') as { Value?: unknown }).Value;
          if (typeof value !== 'string') return error(400, 'ValidationException', 'Value is required');
          if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
            return error(400, 'ValidationException', `value over ${MAX_VALUE_BYTES} bytes`);
          etag = store.put(keyPart, value, ifMatch);
        } else {
          if (store.get(keyPart) === undefined)
            return error(404, 'ResourceNotFoundException', `key ${keyPart} not found`);
          etag = store.delete(keyPart, ifMatch);
        }
      } catch (conflict) {
        if (conflict instanceof StoreConflict) return error(409, 'ConflictException', conflict.message);
        throw conflict;
      }
      return replyJson(res, 200, counts(), { etag });
    }
    return error(405, 'ValidationException', `${req.method} on ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    store,
    arn,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * An S3-compatible server on loopback (s3rver behind an HTTP server of our own), for the upload and
 * cleanup tests and for the local mode's replica "buckets". Objects live in a folder, addressed
 * path-style (`http://127.0.0.1:<port>/<bucket>/<key>`), and keep the metadata they were written
 * with, so what the local mode serves is what the upload sent.
 *
 * What s3rver does and does not do, with SDK v3 on Node 20 (checked by the tests):
 *   does      PUT/GET/HEAD/DELETE, DeleteObjects, user metadata, Content-Type/-Encoding/
 *             Cache-Control, ETag = MD5 of the stored bytes
 *   does not  verify x-amz-checksum-* or Content-MD5, return ChecksumSHA256 on HEAD, record
 *             server-side encryption, check SigV4 signatures (only the access key id, `S3RVER`)
 *   broken    a PUT is answered once its body is read, before its bytes are written, so a HEAD or
 *             listing right after it could see the old object or a half-written one (S3 reads its
 *             own writes); ListObjectsV2 past one page: its continuation tokens use DES, which OpenSSL 3 (Node
 *             ≥ 17) no longer offers, so every truncated listing is a 500; DeleteObjects deletes
 *             its keys concurrently and races removing their emptied folder (a 500 for the whole
 *             batch). This server stores PUTs itself (`synchronousStore`) and answers both
 *             requests itself, from s3rver's store.
 * so the upload's own read-back check (size, sha256 metadata, ETag = MD5) is what catches damage here.
 *
 * The request hook lets a test (or the local mode) delay, hold or fail requests the way a real
 * region misbehaves: 503 SlowDown, 500 InternalError, a region that stops answering.
 *
 * Run on its own: `npm run s3-server -- [--port 4568] [--dir <folder>] [--config <file>]`
 * creates every replica bucket of the config and serves until interrupted.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import S3rver from 's3rver';
import S3Bucket from 's3rver/lib/models/bucket';
import S3Object from 's3rver/lib/models/object';
import { createS3Client, LOOPBACK_CREDENTIALS } from '../rollout-control/s3';

export interface S3ServerOptions {
  /** Buckets that exist from the start. @default none */
  readonly buckets?: readonly string[];
  /** Folder the objects are stored in; kept on stop. @default a new temporary folder, removed on stop */
  readonly directory?: string;
  /**
   * The folder another server, now stopped, stored its objects in: this one starts with a copy of
   * them (in its own folder, unless `directory` names one; its files hard links to those, which
   * nothing here writes into: `copyFolder`), so tests fill buckets once and start every case from
   * the same objects. @default empty
   */
  readonly copyOf?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface S3Request {
  readonly method: string;
  /** Null for service-level requests (ListBuckets). */
  readonly bucket: string | null;
  /** Decoded object key; null for bucket-level requests. */
  readonly key: string | null;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

/** An S3 error answer: `{ status: 503, code: 'SlowDown' }`. */
export interface S3Fault {
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

/**
 * Called before s3rver sees a request: undefined passes it on, a fault answers with that error, a
 * promise holds the request until it settles. A request whose client went away meanwhile is dropped.
 */
export type S3RequestHook = (request: S3Request) => S3Fault | undefined | Promise<S3Fault | undefined>;

export interface S3LogEntry extends S3Request {
  readonly status: number;
  /** Milliseconds since the server started, when the answer was finished. */
  readonly at: number;
}

export interface S3Server {
  /** `http://127.0.0.1:<port>`: pass as the upload's `--endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** Every answered request, in the order the answers finished. */
  readonly log: readonly S3LogEntry[];
  /** A path-style client for this server with the loopback credentials. */
  client(region?: string): S3Client;
  createBucket(name: string): Promise<void>;
  setHook(hook: S3RequestHook | null): void;
  /**
   * Resolves once no request is being handled: each one received was answered or dropped, and its
   * write to the store is done (a PUT whose client died once its body had arrived is still stored).
   * Bytes still unread in a socket are no request yet; a request a hook holds keeps it waiting, until
   * `stop`.
   */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export { LOOPBACK_CREDENTIALS };

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? mkdtempSync(path.join(tmpdir(), 's3-server-'));
  mkdirSync(directory, { recursive: true });
  if (options.copyOf !== undefined) {
    try {
      copyFolder(options.copyOf, directory);
    } catch (error) {
      if (ownDirectory) rmSync(directory, { recursive: true, force: true });
      throw error;
    }
  }
  const s3rver = new S3rver({ directory, silent: true, vhostBuckets: false });
  // Silent, its request logger still formatted a colored line per request and handed it to winston.
  s3rver.middleware = s3rver.middleware.filter((middleware) => middleware.name !== 'logger');
  synchronousStore(s3rver.store);
  const handle = s3rver.callback();
  const log: S3LogEntry[] = [];
  const started = Date.now();
  let hook: S3RequestHook | null = null;

  let handling = 0;
  let idleWaiters: (() => void)[] = [];
  const releaseIdleWaiters = () => {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };
  const server = createServer((req, res) => {
    const request = describeRequest(req);
    res.on('finish', () => log.push({ ...request, status: res.statusCode, at: Date.now() - started }));
    handling += 1;
    void dispatch(request, req, res).finally(() => {
      handling -= 1;
      if (handling === 0) releaseIdleWaiters();
    });
  });

  async function dispatch(request: S3Request, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let fault: S3Fault | undefined;
    try {
      fault = hook ? await hook(request) : undefined;
    } catch (error) {
      fault = { status: 500, code: 'InternalError', message: `request hook failed: ${(error as Error).message}` };
    }
    if (req.destroyed || res.destroyed) return;
    if (fault) {
      req.resume();
      sendXml(res, fault.status, req.method === 'HEAD' ? '' : errorXml(fault, request));
      return;
    }
    const own = ownHandler(request);
    if (!own || !request.bucket) {
      // Koa's handler settles once its middleware has run, the store's write included.
      await handle(req, res);
      return;
    }
    try {
      const body = await buffer(req);
      const answer = (await s3rver.store.getBucket(request.bucket))
        ? await own(s3rver, { ...request, bucket: request.bucket }, body)
        : {
            status: 404,
            body: errorXml(
              { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' },
              request,
            ),
          };
      sendXml(res, answer.status, answer.body);
    } catch (error) {
      sendXml(res, 500, errorXml({ status: 500, code: 'InternalError', message: (error as Error).message }, request));
    }
  }

  for (const bucket of options.buckets ?? []) await s3rver.store.putBucket(bucket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped = false;

  return {
    endpoint,
    port,
    directory,
    log,
    client: (region = 'us-east-1') => createS3Client({ region, endpoint, credentials: LOOPBACK_CREDENTIALS }),
    createBucket: async (name) => {
      await s3rver.store.putBucket(name);
    },
    setHook: (next) => {
      hook = next;
    },
    idle: () => (handling === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      hook = null;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3rver.logger.exceptions.unhandle();
      s3rver.logger.close();
      if (ownDirectory) rmSync(directory, { recursive: true, force: true });
      // Stopped: nothing more is handled, so nobody waits for it.
      releaseIdleWaiters();
    },
  };
}

function describeRequest(req: IncomingMessage): S3Request {
  const url = new URL(req.url ?? '/', 'http://loopback');
  const [bucket, ...rest] = url.pathname.slice(1).split('/');
  const key = rest.length > 0 && rest.join('/') !== '' ? decodeURIComponent(rest.join('/')) : null;
  return {
    method: req.method ?? 'GET',
    bucket: bucket ? decodeURIComponent(bucket) : null,
    key,
    query: url.searchParams,
    headers: req.headers,
  };
}

type OwnHandler = (
  s3rver: S3rver,
  request: S3Request & { bucket: string },
  body: Buffer,
) => Promise<{ status: number; body: string }>;

/** The operations answered here instead of by s3rver (see the header comment). */
function ownHandler({ bucket, key, method, query }: S3Request): OwnHandler | null {
  if (!bucket || key !== null) return null;
  if (method === 'GET' && query.get('list-type') === '2') return listObjectsV2;
  if (method === 'POST' && query.has('delete')) return deleteObjects;
  return null;
}

/**
 * A request body as XML, read as S3 reads it: text exactly as sent (a key may begin or end with
 * spaces), CDATA as text, entities decoded (numeric ones too: the SDK writes a newline in a key as
 * `&#x0A;`), comments ignored, and every value a string.
 */
const requestXml = new XMLParser({
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  processEntities: true,
  htmlEntities: true,
  isArray: (_name, jpath) => jpath === 'Delete.Object',
});

/**
 * DeleteObjects' body: `<Delete><Object><Key>…</Key></Object>…<Quiet>true</Quiet></Delete>`; null when it is not
 * that.
 */
export function parseDeleteRequest(xml: string): { readonly keys: readonly string[]; readonly quiet: boolean } | null {
  if (XMLValidator.validate(xml) !== true) return null;
  const parsed = requestXml.parse(xml) as { Delete?: { Object?: { Key?: unknown }[]; Quiet?: unknown } };
  const objects = typeof parsed.Delete === 'object' && parsed.Delete !== null ? (parsed.Delete.Object ?? []) : null;
  if (objects === null || objects.some((object) => typeof object?.Key !== 'string')) return null;
  return {
    keys: objects.map((object) => object.Key as string),
    quiet: typeof parsed.Delete?.Quiet === 'string' && parsed.Delete.Quiet.trim().toLowerCase() === 'true',
  };
}

/** DeleteObjects, one key after the other. */
const deleteObjects: OwnHandler = async (s3rver, request, body) => {
  const parsed = parseDeleteRequest(body.toString('utf8'));
  if (parsed === null)
    return {
      status: 400,
      body: errorXml(
        {
          status: 400,
          code: 'MalformedXML',
          message: 'The XML you provided was not well-formed or did not validate against our published schema',
        },
        request,
      ),
    };
  const { bucket } = request;
  const { keys, quiet } = parsed;
  for (const key of keys) {
    if (await s3rver.store.existsObject(bucket, key)) await s3rver.store.deleteObject(bucket, key);
  }
  const deleted = quiet ? '' : keys.map((key) => `<Deleted><Key>${escapeXml(key)}</Key></Deleted>`).join('');
  return {
    status: 200,
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${deleted}</DeleteResult>`,
  };
};

/**
 * Copies what `from` holds into `to`, each file as a hard link: a seeded folder is hundreds of small
 * files (three per object), and copying their bytes cost the suites that start a server per case
 * on a copy ~250 ms of kernel time per case on ext4 (cp -R, in a child forked from a worker with a
 * large heap, or fs.cpSync alike); links cost a tenth. A link shares its file with the seed, so
 * the store never writes into an existing file: it writes a new one and renames it over, or
 * unlinks the old one first (`synchronousStore`).
 */
function copyFolder(from: string, to: string): void {
  const linkTree = (source: string, target: string) => {
    for (const entry of readdirSync(source, { withFileTypes: true })) {
      const [sourcePath, targetPath] = [path.join(source, entry.name), path.join(target, entry.name)];
      if (entry.isDirectory()) {
        mkdirSync(targetPath);
        linkTree(sourcePath, targetPath);
      } else {
        try {
          linkSync(sourcePath, targetPath);
        } catch (error) {
          // A `directory` on another file system than the seed.
          if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
          copyFileSync(sourcePath, targetPath);
        }
      }
    }
  };
  try {
    linkTree(from, to);
  } catch (error) {
    throw new Error(`could not copy ${from} to ${to}: ${(error as Error).message}`);
  }
}

/**
 * Replaces the parts of s3rver's filesystem store that a request goes through with the same steps
 * on synchronous fs calls. Its callback-style fs calls cost ten times the CPU of synchronous ones on
 * files this small (each one a round trip through libuv's thread pool); a HEAD made six of them
 * (two for bucket configs that do not exist, as ENOENT errors), a listing three per object listed.
 * Measured on the server alone: a HEAD 1.5 → 1.1 ms of CPU, a listing of 20 objects 4 → 2 ms.
 * Answers are the same; a call also runs to its end before another starts, so no request sees a
 * half-written metadata file or races a delete.
 *
 * And its putObject, which resolves when it has read the body rather than when the file is written
 * (an upload under load read back another PUT's bytes and wrote a fourth time): here the bytes go
 * to a file of their own, renamed over the object's once whole, then the metadata, so a PUT's
 * answer follows its write and a reader never sees a half-written object.
 */
function synchronousStore(store: S3rver['store']): void {
  const resource = (bucket: string, key: string, name: string) => store.getResourcePath(bucket, key, name);
  const ifExists = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  store.getBucket = async (bucket) => {
    const stat = statSync(store.getBucketPath(bucket), { throwIfNoEntry: false });
    return stat?.isDirectory() ? new S3Bucket(bucket, stat.birthtime) : null;
  };
  const readSubresource = store.getSubresource.bind(store);
  store.getSubresource = async (bucket, key, type) =>
    existsSync(store.getResourcePath(bucket, key, `${type}.xml`)) ? readSubresource(bucket, key, type) : null;
  store.existsObject = async (bucket, key) => existsSync(resource(bucket, key, 'object'));
  store.getMetadata = async (bucket, key) => {
    const objectPath = resource(bucket, key, 'object');
    // Throws ENOENT for a missing object, as s3rver's does.
    const stat = statSync(objectPath);
    const stored = ifExists(() => JSON.parse(readFileSync(resource(bucket, key, 'metadata.json'), 'utf8')));
    let md5 = ifExists(() => readFileSync(`${objectPath}.md5`, 'utf8'));
    if (md5 === undefined) {
      md5 = createHash('md5').update(readFileSync(objectPath)).digest('hex');
      writeFileSync(`${objectPath}.md5`, md5);
    }
    return {
      ...stored,
      etag: JSON.stringify(md5),
      'last-modified': stat.mtime.toUTCString(),
      'content-length': stat.size,
    };
  };
  store.putMetadata = async (bucket, key, metadata, md5) => {
    const kept = Object.entries(metadata).filter(
      ([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'),
    );
    if (md5) replaceFile(resource(bucket, key, 'object.md5'), md5);
    replaceFile(resource(bucket, key, 'metadata.json'), JSON.stringify(Object.fromEntries(kept), null, 2));
  };
  // Unlinked first, not written over: the file may be a hard link into a seeded folder (`copyFolder`), and ext4
  // flushes a file written over in place to disk before it answers (auto_da_alloc), four times the cost of writing
  // a new one. Every reader of these files reads them synchronously, so none sees the gap.
  const replaceFile = (file: string, text: string) => {
    ifExists(() => unlinkSync(file));
    writeFileSync(file, text);
  };
  store.putSubresource = async (bucket, key, config) => {
    replaceFile(store.getResourcePath(bucket, key, `${config.type}.xml`), config.toXML(2));
  };
  store.copyObject = async (fromBucket, fromKey, toBucket, toKey, replacementMetadata) => {
    const copy = (name: string) => {
      const [from, to] = [resource(fromBucket, fromKey, name), resource(toBucket, toKey, name)];
      if (from !== to) writeWhole(to, readFileSync(from));
    };
    copy('object');
    // As s3rver's: new metadata comes without an MD5 (it is computed when next read, if there is none).
    if (replacementMetadata) await store.putMetadata(toBucket, toKey, replacementMetadata);
    else for (const name of ['metadata.json', 'object.md5']) copy(name);
    return store.getMetadata(toBucket, toKey);
  };
  store.deleteObject = async (bucket, key) => {
    for (const name of ['object', 'object.md5', 'metadata.json'])
      ifExists(() => unlinkSync(resource(bucket, key, name)));
    // Then the folders the key emptied, as s3rver does (the last part of a key is in the file name).
    const folders = key.split('/').slice(0, -1);
    while (folders.length > 0 && readdirSync(path.join(store.getBucketPath(bucket), ...folders)).length === 0) {
      rmdirSync(path.join(store.getBucketPath(bucket), ...folders));
      folders.pop();
    }
  };
  store.putObject = async (object) => {
    const content = Buffer.isBuffer(object.content) ? object.content : await buffer(object.content);
    writeWhole(resource(object.bucket, object.key, 'object'), content);
    const md5 = createHash('md5').update(content).digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
}

/**
 * Writes `data` to a file of its own beside `file`, then renames it over `file`: a reader never
 * sees `file` half-written, even if this process dies mid-write, and the file it replaces (maybe a
 * link into a seed folder: `copyFolder`) is never written into.
 */
function writeWhole(file: string, data: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  wholeWrites += 1;
  const written = `${file}.${process.pid}.${wholeWrites}.tmp`;
  writeFileSync(written, data);
  renameSync(written, file);
}
let wholeWrites = 0;

/** ListObjectsV2; the continuation token is the last key, base64url. */
const listObjectsV2: OwnHandler = async (s3rver, { bucket, query }) => {
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? 1000));
  const token = query.get('continuation-token');
  const startAfter =
    token !== null ? Buffer.from(token, 'base64url').toString('utf8') : (query.get('start-after') ?? '');
  const result = await s3rver.store.listObjects(bucket, { prefix, delimiter, startAfter, maxKeys });
  const urlEncoded = query.get('encoding-type') === 'url';
  const text = (value: string) => escapeXml(urlEncoded ? encodeURIComponent(value).replace(/%2F/g, '/') : value);
  const last = result.objects[result.objects.length - 1];
  const parts = [
    `<Name>${escapeXml(bucket)}</Name>`,
    `<Prefix>${text(prefix)}</Prefix>`,
    `<KeyCount>${result.objects.length + result.commonPrefixes.length}</KeyCount>`,
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    delimiter ? `<Delimiter>${text(delimiter)}</Delimiter>` : '',
    urlEncoded ? '<EncodingType>url</EncodingType>' : '',
    `<IsTruncated>${result.isTruncated}</IsTruncated>`,
    token !== null ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : '',
    result.isTruncated && last
      ? `<NextContinuationToken>${Buffer.from(last.key).toString('base64url')}</NextContinuationToken>`
      : '',
    ...result.objects.map(
      (object) =>
        `<Contents><Key>${text(object.key)}</Key>` +
        `<LastModified>${object.lastModifiedDate.toISOString()}</LastModified>` +
        `<ETag>${escapeXml(object.metadata.etag ?? '')}</ETag><Size>${object.size}</Size>` +
        `<StorageClass>STANDARD</StorageClass></Contents>`,
    ),
    ...result.commonPrefixes.map((common) => `<CommonPrefixes><Prefix>${text(common)}</Prefix></CommonPrefixes>`),
  ];
  return {
    status: 200,
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</ListBucketResult>`,
  };
};

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function errorXml(fault: S3Fault, request: Pick<S3Request, 'bucket' | 'key'>): string {
  const message = fault.message ?? `injected ${fault.code}`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(fault.code)}</Code>` +
    `<Message>${escapeXml(message)}</Message>` +
    `<Resource>${escapeXml(`/${request.bucket ?? ''}/${request.key ?? ''}`)}</Resource></Error>`
  );
}

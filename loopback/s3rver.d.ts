/** The part of s3rver 3.x (no published types) the loopback S3 server uses. */
declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface S3rverOptions {
    directory?: string;
    silent?: boolean;
    vhostBuckets?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
    address?: string;
    port?: number;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /**
     * The Koa request listener, for an HTTP server of one's own: settles once the middleware has run
     * (the store's write included).
     */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    readonly store: {
      putBucket(name: string): Promise<unknown>;
      /** Null when the bucket does not exist. */
      getBucket(name: string): Promise<unknown>;
      existsObject(bucket: string, key: string): Promise<boolean>;
      putObject(object: {
        bucket: string;
        key: string;
        content: Buffer | NodeJS.ReadableStream;
        metadata: Record<string, string>;
      }): Promise<{ size: number; md5: string }>;
      putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
      /** The file of one of a key's resources: `object`, `metadata.json`, `object.md5`. */
      getResourcePath(bucket: string, key: string, resource: string): string;
      deleteObject(bucket: string, key: string): Promise<void>;
      listObjects(
        bucket: string,
        options: { prefix?: string; startAfter?: string; maxKeys?: number; delimiter?: string },
      ): Promise<{
        objects: { key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }[];
        commonPrefixes: string[];
        isTruncated: boolean;
      }>;
    };
    readonly logger: { close(): void; exceptions: { unhandle(): void } };
  }

  export = S3rver;
}

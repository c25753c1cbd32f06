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
    /** Koa's: composed when `callback` is called. The first is s3rver's request logger, named `logger`. */
    middleware: ((context: unknown, next: () => Promise<void>) => unknown)[];
    readonly store: {
      putBucket(name: string): Promise<unknown>;
      /** Null when the bucket does not exist. */
      getBucket(name: string): Promise<unknown>;
      getBucketPath(name: string): string;
      /** A bucket's or object's config (`cors`, `website`, `tagging`); null when it has none. */
      getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
      existsObject(bucket: string, key: string): Promise<boolean>;
      /** The stored headers and user metadata, `etag`, `last-modified`, `content-length`; ENOENT when missing. */
      getMetadata(bucket: string, key: string): Promise<Record<string, string | number>>;
      putObject(object: {
        bucket: string;
        key: string;
        content: Buffer | NodeJS.ReadableStream;
        metadata: Record<string, string>;
      }): Promise<{ size: number; md5: string }>;
      putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
      copyObject(
        fromBucket: string,
        fromKey: string,
        toBucket: string,
        toKey: string,
        replacementMetadata?: Record<string, string>,
      ): Promise<Record<string, string | number>>;
      putSubresource(
        bucket: string,
        key: string | undefined,
        config: { type: string; toXML(space: number): string },
      ): Promise<void>;
      /** The file of one of a key's resources: `object`, `metadata.json`, `object.md5`. */
      getResourcePath(bucket: string, key: string | undefined, resource: string): string;
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

declare module 's3rver/lib/models/bucket' {
  class S3Bucket {
    constructor(name: string, creationDate: Date);
  }
  export = S3Bucket;
}

declare module 's3rver/lib/models/object' {
  const S3Object: {
    /** The headers stored with an object besides x-amz-meta-*. */
    readonly ALLOWED_METADATA: readonly string[];
  };
  export = S3Object;
}

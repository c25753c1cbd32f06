/** The part of kinesalite 3.x (no published types) the loopback Kinesis server uses. */
declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** A folder to keep the streams in (LevelDB); in memory without it. */
    path?: string;
    /** How long a new stream stays CREATING, ms (500 by default). */
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    shardLimit?: number;
    ssl?: boolean;
  }

  /** An HTTP server answering the Kinesis API; `close` also closes its store. */
  function kinesalite(options?: KinesaliteOptions): Server;
  export = kinesalite;
}

/**
 * The rollout state read through the KeyValueStore API: the entry router's fallback when the
 * viewer-assignment function could not read it at the edge. Cached per container and store (a
 * read is one billed API call in us-east-1), bounded in time, never worse than the last good
 * state (`CachedReader`); the SDK client and its SigV4A signer are bundled in a file of their own
 * and loaded on the first read only, so a router that never falls back never loads them.
 */
import { parseRevocation, revocationKey, type Revocation } from '../../contracts/revocation';
import { parseRolloutState, ROLLOUT_STATE_KEY, type RolloutState } from '../../contracts/rollout-state';
import { STORE_ARN_PATTERN } from '../../contracts/rollout-store';
import { CachedReader } from './cached-reader';
import { KVS_ENDPOINT } from './seams';

export interface RolloutStateReaderOptions {
  /** How long a state read is trusted. */
  readonly freshMs: number;
  /** Longest a request waits for a read. */
  readonly waitMs: number;
  readonly onHealthChange?: (healthy: boolean, detail: string) => void;
}

/** One key of a store; undefined when the key does not exist. */
export type StoreGet = (storeArn: string, key: string) => Promise<string | undefined>;

/** GetKey through the SDK (one client per container), loaded on the first read. */
export function sdkStoreGet(timeoutMs: number): StoreGet {
  let get: StoreGet | undefined;
  return (storeArn, key) => {
    // A file of its own in the zip (rollout-store-client.ts): required here, not at load.
    get ??= (require('./rollout-store-client') as typeof import('./rollout-store-client')).createKeyGet({
      endpoint: KVS_ENDPOINT,
      timeoutMs,
    });
    return get(storeArn, key);
  };
}

export class RolloutStateReader {
  private readers = new Map<string, CachedReader<RolloutState>>();

  constructor(
    private readonly get: StoreGet,
    private readonly options: RolloutStateReaderOptions,
  ) {}

  /** The state of the store `storeArn` names; null when there is no usable state (nor was there). */
  read(storeArn: string | undefined): RolloutState | null | Promise<RolloutState | null> {
    if (storeArn === undefined || !STORE_ARN_PATTERN.test(storeArn)) return null;
    let reader = this.readers.get(storeArn);
    if (!reader) {
      reader = new CachedReader<RolloutState>({
        name: `${storeArn} key ${ROLLOUT_STATE_KEY}`,
        fetch: () => this.get(storeArn, ROLLOUT_STATE_KEY).then(parseRolloutState),
        freshMs: this.options.freshMs,
        // A state older than twice its cache time is asked again before it is trusted: a rollback may have happened.
        staleMs: 2 * this.options.freshMs,
        keepLastGood: true,
        waitMs: this.options.waitMs,
        // Every read is a billed API call: a failing store is asked again no sooner than a working one.
        retryMs: this.options.freshMs,
        onHealthChange: this.options.onHealthChange,
      });
      // One distribution has one store; a replaced store replaces the reader.
      this.readers = new Map([[storeArn, reader]]);
    }
    return reader.read();
  }
}

/** A build's revocation as last read: the record, or null when nobody revoked it. */
interface RevocationRead {
  readonly revocation: Revocation | null;
}

/**
 * Whether a build is revoked (contracts/revocation.ts), read through the KeyValueStore API: one
 * key per build, cached per build as the state is. Asked on the entry router's cache misses only,
 * for the build a response would carry. A build is revoked from the moment its key is read; a
 * read that fails keeps the last answer (a revoked build stays revoked), and with no answer yet
 * the build is served and the failure logged: one pinned host page's widget is not broken
 * because the store could not be asked, and the CLI's invalidation and the next read close it.
 */
export class RevocationReader {
  private readers = new Map<string, CachedReader<RevocationRead>>();
  private storeArn: string | undefined;

  constructor(
    private readonly get: StoreGet,
    private readonly options: RolloutStateReaderOptions,
  ) {}

  /** The revocation of `buildId` in the store `storeArn` names; null when it is not revoked, or cannot be known. */
  read(storeArn: string | undefined, buildId: string): Revocation | null | Promise<Revocation | null> {
    if (storeArn === undefined || !STORE_ARN_PATTERN.test(storeArn)) return null;
    // One distribution has one store; a replaced store starts over.
    if (storeArn !== this.storeArn) {
      this.readers = new Map();
      this.storeArn = storeArn;
    }
    let reader = this.readers.get(buildId);
    if (!reader) {
      reader = new CachedReader<RevocationRead>({
        name: `${storeArn} key ${revocationKey(buildId)}`,
        fetch: () =>
          this.get(storeArn, revocationKey(buildId)).then((text) => ({
            revocation: text === undefined ? null : parseRevocation(buildId, text),
          })),
        freshMs: this.options.freshMs,
        staleMs: 2 * this.options.freshMs,
        keepLastGood: true,
        waitMs: this.options.waitMs,
        retryMs: this.options.freshMs,
        onHealthChange: this.options.onHealthChange,
      });
      // A container sees few builds; the newest few hundred are plenty.
      if (this.readers.size >= 256) this.readers.delete(this.readers.keys().next().value!);
      this.readers.set(buildId, reader);
    }
    const read = reader.read();
    return read instanceof Promise ? read.then((value) => value?.revocation ?? null) : (read?.revocation ?? null);
  }
}

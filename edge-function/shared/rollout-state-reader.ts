/**
 * The rollout state read through the KeyValueStore API: the entry router's fallback when the
 * viewer-assignment function could not read it at the edge. Cached per container and store (a
 * read is one billed API call in us-east-1), bounded in time, never worse than the last good
 * state (`CachedReader`); the SDK client and its SigV4A signer are bundled in a file of their own
 * and loaded on the first read only, so a router that never falls back never loads them.
 */
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

export type StoreGet = (storeArn: string) => Promise<string | undefined>;

/** GetKey of the state through the SDK (one client per container), loaded on the first read. */
export function sdkStoreGet(timeoutMs: number): StoreGet {
  let get: StoreGet | undefined;
  return (storeArn) => {
    // A file of its own in the zip (rollout-store-client.ts): required here, not at load.
    get ??= (require('./rollout-store-client') as typeof import('./rollout-store-client')).createStateGet({
      endpoint: KVS_ENDPOINT,
      timeoutMs,
    });
    return get(storeArn);
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
        fetch: () => this.get(storeArn).then(parseRolloutState),
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

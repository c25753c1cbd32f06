/**
 * The rollout state as the KeyValueStore API holds it: rollout sync and the rollout CLI read and
 * write it here, conditionally, so that of two writers working from the same read only one wins
 * and the other reads again (`StaleStoreError`).
 *
 * The store has one ETag for all its keys, returned by DescribeKeyValueStore and by every write;
 * PutKey takes it as If-Match and fails with ConflictException when the store changed since. A
 * reader takes the ETag first and the value second: a write landing between the two makes the
 * ETag older than the value, so the caller's write fails and it reads again, never the reverse.
 */
import {
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  PutKeyCommand,
  type CloudFrontKeyValueStoreClient,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DescribeKeyValueStoreCommand as DescribeStoreByName, type CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { parseRolloutState, ROLLOUT_STATE_KEY, type RolloutState } from '../contracts/rollout-state';
import { errorName } from './aws-errors';

export interface StoredState {
  /** The value as stored. */
  readonly text: string;
  /** Null when the value is not a state this version understands. */
  readonly state: RolloutState | null;
}

export interface StoreRead {
  /** The store's ETag before the value was read: the If-Match of a write based on this read. */
  readonly etag: string;
  /** Null when the key does not exist. */
  readonly stored: StoredState | null;
}

/** The store changed since it was read: read again, decide again. */
export class StaleStoreError extends Error {
  constructor(storeArn: string, cause: unknown) {
    super(`the rollout store ${storeArn} changed since it was read`, { cause });
    this.name = 'StaleStoreError';
  }
}

/**
 * Reads the state. With `known`, an earlier read (or a write's result), a store still at its ETag
 * is not read again: one API call instead of two, and each is billed. That holds because `known`
 * was taken ETag first: a write landing during that read left the store at a newer ETag.
 */
export async function readRolloutState(
  kvs: CloudFrontKeyValueStoreClient,
  storeArn: string,
  known: StoreRead | null = null,
): Promise<StoreRead> {
  const described = await withStoreErrors(storeArn, () =>
    kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: storeArn })),
  );
  if (!described.ETag) throw new Error(`DescribeKeyValueStore of ${storeArn} returned no ETag`);
  if (known !== null && known.etag === described.ETag) return { etag: known.etag, stored: known.stored };
  let text: string | undefined;
  try {
    text = (await kvs.send(new GetKeyCommand({ KvsARN: storeArn, Key: ROLLOUT_STATE_KEY }))).Value;
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
  }
  return { etag: described.ETag, stored: text === undefined ? null : { text, state: parseRolloutState(text) } };
}

/**
 * Writes `text` if the store is still at `etag`; returns the store's new ETag. `announce` runs
 * first, and a write it fails is not made: every writer announces the state to the signal
 * consumer's timeline (rollout-control/signal-table.ts announceState) before the edges
 * can serve it.
 */
export async function writeRolloutState(
  kvs: CloudFrontKeyValueStoreClient,
  storeArn: string,
  text: string,
  etag: string,
  announce: (text: string) => Promise<void>,
): Promise<string> {
  await announce(text);
  try {
    const written = await kvs.send(
      new PutKeyCommand({ KvsARN: storeArn, Key: ROLLOUT_STATE_KEY, Value: text, IfMatch: etag }),
    );
    return written.ETag ?? '';
  } catch (error) {
    if (errorName(error) === 'ConflictException' || errorName(error) === 'PreconditionFailed')
      throw new StaleStoreError(storeArn, error);
    throw error;
  }
}

async function withStoreErrors<T>(storeArn: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      throw new Error(
        `the rollout store ${storeArn} does not exist (or is not visible to these credentials): deploy ` +
          `the stacks first`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The rollout store's ARN, found by its name (CloudFront's control plane); throws saying so when there is none. */
export async function rolloutStoreArnByName(cloudfront: CloudFrontClient, name: string): Promise<string> {
  try {
    const described = await cloudfront.send(new DescribeStoreByName({ Name: name }));
    const arn = described.KeyValueStore?.ARN;
    if (!arn) throw new Error(`CloudFront described key value store ${name} without an ARN`);
    return arn;
  } catch (error) {
    if (errorName(error) === 'EntityNotFound')
      throw new Error(`no CloudFront key value store named ${name}: deploy the stacks first`, { cause: error });
    throw error;
  }
}

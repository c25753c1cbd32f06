/**
 * The release-signal table (DynamoDB, on demand, one string key `pk`, TTL on `expiresAt`): the
 * metrics API's viewer ledger, and a copy of the rollout state for it to judge beacons by.
 *
 * Why a copy: the state lives in the CloudFront KeyValueStore, whose API is billed per call
 * ($1 per 1,000) and meant for writers; a metrics API reading it every few seconds from each of
 * its containers would cost more than everything else together. Rollout sync, which reads and
 * writes the store anyway, copies what it last saw into the item `rollout-state` on every run
 * (every minute, and at once on each change), and the metrics API reads that item, cached for
 * `metrics.stateCacheSeconds`. Each copy carries when it was taken from the store; a write never
 * replaces a newer copy, so two rollout sync runs at once cannot leave the older one in place.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseRolloutState, type RolloutState } from '../../contracts/rollout-state';
import type { SightingResult, ViewerLedger, ViewerSighting } from '../metrics-api/viewer-ledger';
import { errorName } from './aws-errors';

export const STATE_COPY_KEY = 'rollout-state';
/** The prefix of every ledger key: the metrics API's role may write only these (dynamodb:LeadingKeys). */
export const LEDGER_KEY_PREFIX = 'viewer#';

/** The viewer ledger as one conditional-free UpdateItem per beacon: `if_not_exists` tells first sightings. */
export class DynamoViewerLedger implements ViewerLedger {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly table: string,
  ) {}

  async record(sighting: ViewerSighting): Promise<SightingResult> {
    if (!sighting.key.startsWith(LEDGER_KEY_PREFIX)) throw new Error(`ledger keys start with ${LEDGER_KEY_PREFIX}; got ${sighting.key}`);
    // UPDATED_OLD returns the attributes as they were before this write: an absent `seen` means
    // this is the first sighting, whatever other beacon of the same viewer runs at the same time
    // (DynamoDB applies updates to one item one at a time).
    const result = await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: sighting.key } },
        UpdateExpression: `SET seen = if_not_exists(seen, :yes), expiresAt = :ttl${sighting.erroring ? ', erred = if_not_exists(erred, :yes)' : ''}`,
        ExpressionAttributeValues: { ':yes': { BOOL: true }, ':ttl': { N: String(sighting.expiresAt) } },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const old = result.Attributes ?? {};
    return { newViewer: old.seen === undefined, newErroring: sighting.erroring && old.erred === undefined };
  }
}

export interface StateCopy {
  /** The value as stored in the KeyValueStore. */
  readonly text: string;
  /** When rollout sync read or wrote it in the store (ms). */
  readonly takenAt: number;
}

/** Writes the copy unless the table holds a newer one; returns whether it wrote. */
export async function writeStateCopy(dynamodb: DynamoDBClient, table: string, copy: StateCopy): Promise<boolean> {
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: STATE_COPY_KEY }, state: { S: copy.text }, takenAt: { N: String(copy.takenAt) } },
        ConditionExpression: 'attribute_not_exists(pk) OR takenAt <= :takenAt',
        ExpressionAttributeValues: { ':takenAt': { N: String(copy.takenAt) } },
      }),
    );
    return true;
  } catch (error) {
    if (errorName(error) === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** The copy, parsed; null when there is none (rollout sync has not run) or it does not parse. */
export async function readStateCopy(dynamodb: DynamoDBClient, table: string): Promise<{ readonly state: RolloutState | null; readonly takenAt: number } | null> {
  const result = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: STATE_COPY_KEY } } }));
  const text = result.Item?.state?.S;
  if (text === undefined) return null;
  return { state: parseRolloutState(text), takenAt: Number(result.Item?.takenAt?.N ?? 0) };
}

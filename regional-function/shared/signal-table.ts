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
import type { TimedState } from '../signal-consumer/core';
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

// ---------------------------------------------------------------------------------------------
// The timeline of rollout states, for the signal consumer

/** The item holding the timeline: the states the edges may have served, oldest first. */
export const STATE_TIMELINE_KEY = 'rollout-timeline';
/** The item holding the sequence number of the last record the signal consumer read. */
export const CONSUMER_CHECKPOINT_KEY = 'consumer-checkpoint';
/** States kept: a rollout of many steps in the last hour, and the states before it. */
export const TIMELINE_LENGTH = 24;

interface TimelineEntry {
  readonly text: string;
  readonly from: number;
  readonly until: number | null;
}

/**
 * Announces `text` as the state the edges serve from `at` on, before it is written to the store:
 * the state before it stays a candidate until `at + propagationMs` (the write, the store reaching
 * every edge, the entry router's cached fallback). `seenOnly`: a state found in the store that
 * nobody announced (Terraform created the key, a write announced nowhere); it may have been served
 * since the state before it began, so it is taken as served from then. Nothing is written when
 * the timeline's current state is `text` already. A write that loses a race reads again.
 */
export async function announceState(dynamodb: DynamoDBClient, table: string, text: string, at: number, options: { readonly propagationMs: number; readonly seenOnly?: boolean }): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const result = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: STATE_TIMELINE_KEY } }, ConsistentRead: true }));
    const version = Number(result.Item?.version?.N ?? 0);
    const entries = parseTimeline(result.Item?.timeline?.S);
    const current = entries.at(-1);
    if (current && current.until === null && current.text === text) return;
    const from = options.seenOnly ? (current?.from ?? 0) : at;
    const next = [...entries.slice(0, -1), ...(current ? [{ ...current, until: current.until ?? at + options.propagationMs }] : []), { text, from, until: null }].slice(-TIMELINE_LENGTH);
    try {
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: STATE_TIMELINE_KEY }, timeline: { S: JSON.stringify(next) }, version: { N: String(version + 1) } },
          ConditionExpression: 'attribute_not_exists(pk) OR version = :version',
          ExpressionAttributeValues: { ':version': { N: String(version) } },
        }),
      );
      return;
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException' || attempt >= 4) throw error;
    }
  }
}

/** The timeline, parsed: states the edges may have served and when; a text that does not parse is left out. */
export async function readTimeline(dynamodb: DynamoDBClient, table: string): Promise<TimedState[]> {
  const result = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: STATE_TIMELINE_KEY } } }));
  return parseTimeline(result.Item?.timeline?.S).flatMap((entry) => {
    const state = parseRolloutState(entry.text);
    return state === null ? [] : [{ state, from: entry.from, until: entry.until }];
  });
}

function parseTimeline(text: string | undefined): TimelineEntry[] {
  if (text === undefined) return [];
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((e): e is TimelineEntry => typeof e?.text === 'string' && typeof e?.from === 'number' && (e.until === null || typeof e.until === 'number'));
}

/**
 * Moves the consumer's checkpoint from `from` (the last sequence number this container read; null
 * for a container that has read nothing yet) to `to`. True when the checkpoint was at `from`: no
 * one else read records since this container did, so its tallies are whole.
 */
export async function advanceCheckpoint(dynamodb: DynamoDBClient, table: string, from: string | null, to: string): Promise<boolean> {
  const put = (condition?: { expression: string; values: Record<string, { S: string }> }) =>
    dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: CONSUMER_CHECKPOINT_KEY }, sequenceNumber: { S: to } },
        ...(condition ? { ConditionExpression: condition.expression, ExpressionAttributeValues: condition.values } : {}),
      }),
    );
  if (from === null) {
    await put();
    return false;
  }
  try {
    await put({ expression: 'sequenceNumber = :from', values: { ':from': { S: from } } });
    return true;
  } catch (error) {
    if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    await put();
    return false;
  }
}

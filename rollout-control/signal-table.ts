/**
 * The release-signal table (DynamoDB, on demand, one string key `pk`): the timeline of rollout
 * states the edges may have served, which the signal consumer judges each period under, and the
 * consumer's checkpoint (the last record it read), which makes a redelivered batch count once.
 *
 * Why a timeline and not the store itself: the consumer counts a period after it ends, by what
 * each viewer was given then, and a viewer's build comes from the state their edge held at that
 * moment. The store keeps only its current value, and its API is billed per call ($1 per 1,000).
 * So every writer of the store (rollout sync, the rollout CLI) announces a state here before it
 * writes it, and the consumer reads the states a period may have been served under.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { judgmentKey, parseJudgmentRecord, type JudgmentRecord } from '../contracts/release-progress';
import { parseRolloutState } from '../contracts/rollout-state';
import {
  NOTIFICATION_LOG_KEY,
  NOTIFICATION_LOG_LENGTH,
  parseNotificationLog,
  type NotificationLogEntry,
} from '../contracts/release-notification';
import { CONSUMER_CHECKPOINT_KEY, STATE_TIMELINE_KEY, type TimedState } from '../contracts/release-signal';
import { errorName } from './aws-errors';

// ---------------------------------------------------------------------------------------------
// The timeline of rollout states, for the signal consumer

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
export async function announceState(
  dynamodb: DynamoDBClient,
  table: string,
  text: string,
  at: number,
  options: { readonly propagationMs: number; readonly seenOnly?: boolean },
): Promise<void> {
  await rewriteItem(dynamodb, table, STATE_TIMELINE_KEY, 'timeline', (stored) => {
    const entries = parseTimeline(stored);
    const current = entries.at(-1);
    if (current && current.until === null && current.text === text) return null;
    const from = options.seenOnly ? (current?.from ?? 0) : at;
    return JSON.stringify(
      [
        ...entries.slice(0, -1),
        ...(current ? [{ ...current, until: current.until ?? at + options.propagationMs }] : []),
        { text, from, until: null },
      ].slice(-TIMELINE_LENGTH),
    );
  });
}

/**
 * Rewrites the string attribute `attribute` of the item `key` to what `next` makes of its stored
 * value (undefined when there is none; `next` answers null for nothing to write): read consistently,
 * then written on the condition that the item's version is still the one read, so of two writers
 * working from the same read only one wins; the other reads again, up to four attempts.
 */
async function rewriteItem(
  dynamodb: DynamoDBClient,
  table: string,
  key: string,
  attribute: string,
  next: (stored: string | undefined) => string | null,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const result = await dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    const version = Number(result.Item?.version?.N ?? 0);
    const value = next(result.Item?.[attribute]?.S);
    if (value === null) return;
    try {
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: key }, [attribute]: { S: value }, version: { N: String(version + 1) } },
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
  return parsed.filter(
    (e): e is TimelineEntry =>
      typeof e?.text === 'string' && typeof e?.from === 'number' && (e.until === null || typeof e.until === 'number'),
  );
}

/**
 * Moves the consumer's checkpoint from `from` (the last sequence number this container read; null
 * for a container that has read nothing yet) to `to`. True when the checkpoint was at `from`: no
 * one else read records since this container did, so its tallies are whole.
 */
export async function advanceCheckpoint(
  dynamodb: DynamoDBClient,
  table: string,
  from: string | null,
  to: string,
): Promise<boolean> {
  const put = (condition?: { expression: string; values: Record<string, { S: string }> }) =>
    dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: CONSUMER_CHECKPOINT_KEY }, sequenceNumber: { S: to } },
        ...(condition
          ? { ConditionExpression: condition.expression, ExpressionAttributeValues: condition.values }
          : {}),
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

// ---------------------------------------------------------------------------------------------
// The last messages published, for `rollout status` (SNS keeps none)

/**
 * Adds `entry` to the notification log, keeping the last NOTIFICATION_LOG_LENGTH, with the
 * timeline's conditional rewrite (rewriteItem).
 */
export async function recordNotification(
  dynamodb: DynamoDBClient,
  table: string,
  entry: NotificationLogEntry,
): Promise<void> {
  await rewriteItem(dynamodb, table, NOTIFICATION_LOG_KEY, 'notifications', (stored) =>
    JSON.stringify([...parseNotificationLog(stored), entry].slice(-NOTIFICATION_LOG_LENGTH)),
  );
}

/** The last messages published, oldest first. */
export async function readNotifications(dynamodb: DynamoDBClient, table: string): Promise<NotificationLogEntry[]> {
  const result = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: NOTIFICATION_LOG_KEY } } }),
  );
  return parseNotificationLog(result.Item?.notifications?.S);
}

// ---------------------------------------------------------------------------------------------
// The judgment of each release, written by the signal consumer, read by rollout sync and the CLI

/**
 * A release's judgment record (contracts/release-progress.ts), or null when there is none (no look yet) or it does not
 * parse.
 */
export async function readJudgment(
  dynamodb: DynamoDBClient,
  table: string,
  salt: string,
): Promise<JudgmentRecord | null> {
  const result = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: judgmentKey(salt) } }, ConsistentRead: true }),
  );
  return parseJudgmentRecord(result.Item?.record?.S);
}

/**
 * Writes a release's judgment record. One consumer writes at a time (the stream is read with
 * parallelization 1), so a plain put is enough; records of old releases expire after a week.
 */
export async function writeJudgment(
  dynamodb: DynamoDBClient,
  table: string,
  record: JudgmentRecord,
  now: number,
): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: judgmentKey(record.salt) },
        record: { S: JSON.stringify(record) },
        expiresAt: { N: String(Math.floor(now / 1000) + JUDGMENT_KEPT_SECONDS) },
      },
    }),
  );
}

/** How long a release's judgment is kept: a week, for `rollout status` and post-mortems. */
export const JUDGMENT_KEPT_SECONDS = 7 * 24 * 3600;

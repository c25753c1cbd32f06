/**
 * Kinesis Data Streams on loopback: an in-memory server of the API's JSON 1.1 protocol on
 * 127.0.0.1 and a free port, with the release signal's one stream (resourceNames(config).signalStream,
 * one shard, as contracts/signal-capacity.ts sizes it) created and active before anything writes to
 * it. The local CloudFront writes its real-time log records there, and the local event source
 * mapping (signal-runner.ts) reads them back, both through the AWS SDK's own Kinesis client.
 *
 * The operations the local mode and its tests make, as the Kinesis API reference gives them:
 * CreateStream, DescribeStreamSummary, DeleteStream, PutRecords, GetShardIterator (LATEST,
 * TRIM_HORIZON, AT_/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP) and GetRecords (Limit, NextShardIterator,
 * MillisBehindLatest, iterators that expire after 5 minutes), with the API's error types and
 * limits (500 records and 5 MiB a PutRecords call, 1 MiB a record, partition keys of 1 to 256
 * characters, 10,000 records a GetRecords call). Records are kept for the retention period (24 h).
 * Not modelled: shards past the first (the signal stream has one), resharding, throughput limits.
 *
 * Before, kinesalite (npm) served this: it keeps records in LevelDB's in-memory store and does
 * sequence-number arithmetic with bignumber.js, which took a fifth of the CPU of a release-signal
 * test's thousands of loads.
 *
 * The SDK's Kinesis client speaks HTTP/2 by default; against a loopback `http://` endpoint every
 * call would fail with "Protocol error", so it is given a plain HTTP/1.1 handler.
 */
import { CreateStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text as bodyText } from 'node:stream/consumers';
import { replyJson } from './json-reply';

/** The stream's only shard: Kinesis names shards by index. */
export const SIGNAL_SHARD_ID = 'shardId-000000000000';

const ACCOUNT = '000000000000';
const RETENTION_HOURS = 24;
/** How long a shard iterator is valid (GetRecords: ExpiredIteratorException after 5 minutes). */
const ITERATOR_LIFE_MS = 5 * 60_000;
const MAX_PUT_RECORDS = 500;
const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_PUT_BYTES = 5 * 1024 * 1024;
const MAX_GET_RECORDS = 10_000;
/** GetRecords returns at most this much data a call. */
const MAX_GET_BYTES = 10 * 1024 * 1024;

export interface KinesisServer {
  /** `http://127.0.0.1:<port>`: the Kinesis API. */
  readonly endpoint: string;
  readonly port: number;
  readonly streamName: string;
  /** A Kinesis client for this server (HTTP/1.1, placeholder credentials: none are checked). */
  readonly client: KinesisClient;
  close(): Promise<void>;
}

export interface KinesisServerOptions {
  readonly streamName: string;
  readonly region?: string;
  /** Real time, ms since the epoch: arrival timestamps and iterator expiry. @default Date.now */
  readonly now?: () => number;
}

interface StoredRecord {
  readonly sequenceNumber: string;
  readonly arrivedAt: number;
  /** Base64, as it came and as it goes back. */
  readonly data: string;
  readonly bytes: number;
  readonly partitionKey: string;
}

interface Stream {
  readonly name: string;
  readonly createdAt: number;
  /** Which stream of this name, of the server's life: a stream made again is another one. */
  readonly generation: number;
  /** Records still retained, oldest first; `trimmed` more went before them. */
  records: StoredRecord[];
  trimmed: number;
  /** Sequence numbers handed out so far. */
  written: number;
}

/** Decoded from a shard iterator: where in which stream's shard, and when it was handed out. */
interface IteratorPosition {
  readonly stream: string;
  readonly generation: number;
  /** Index into every record the shard ever held (trimmed ones included). */
  readonly at: number;
  readonly issuedAt: number;
}

class KinesisError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const streamNotFound = (name: string) =>
  new KinesisError('ResourceNotFoundException', `Stream ${name} under account ${ACCOUNT} not found.`);
const invalid = (message: string) => new KinesisError('InvalidArgumentException', message);
const validation = (message: string) => new KinesisError('ValidationException', message);

/** Sequence numbers as Kinesis writes them: decimal strings, increasing; one length, so text order is number order. */
const sequenceNumber = (index: number) => `49${String(index).padStart(54, '0')}`;

function text(value: unknown, field: string, min = 1, max = 128): string {
  if (typeof value !== 'string')
    throw validation(
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  if (value.length < min || value.length > max)
    throw validation(
      `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ` +
        `Member must have length between ${min} and ${max}`,
    );
  return value;
}

/** The API on a set of streams, without the HTTP: each operation takes the request's JSON and answers JSON. */
function kinesisApi(region: string, now: () => number) {
  const streams = new Map<string, Stream>();
  let generations = 0;

  const streamOf = (name: unknown): Stream => {
    const stream = streams.get(text(name, 'streamName'));
    if (stream === undefined) throw streamNotFound(String(name));
    return stream;
  };
  const trim = (stream: Stream) => {
    const oldest = now() - RETENTION_HOURS * 3_600_000;
    let drop = 0;
    while (drop < stream.records.length && stream.records[drop]!.arrivedAt < oldest) drop += 1;
    if (drop === 0) return;
    stream.records = stream.records.slice(drop);
    stream.trimmed += drop;
  };
  const iterator = (stream: Stream, at: number) =>
    Buffer.from(
      JSON.stringify({
        stream: stream.name,
        generation: stream.generation,
        at,
        issuedAt: now(),
      } satisfies IteratorPosition),
    ).toString('base64');
  /** Absolute index of the first retained record `from` holds for, or the end when none does. */
  const firstWhere = (stream: Stream, from: (record: StoredRecord) => boolean): number => {
    const found = stream.records.findIndex(from);
    return stream.trimmed + (found < 0 ? stream.records.length : found);
  };
  /** Index of the first retained record at or after `sequence` (after it, when `after`). */
  const indexOfSequence = (stream: Stream, sequence: unknown, after: boolean): number => {
    if (typeof sequence !== 'string' || !/^\d{1,128}$/.test(sequence))
      throw invalid(
        `StartingSequenceNumber ${String(sequence)} used in GetShardIterator on shard ${SIGNAL_SHARD_ID} ` +
          `in stream ${stream.name} under account ${ACCOUNT} is invalid.`,
      );
    const wanted = sequence.padStart(56, '0');
    // Longer than any number handed out: past every record.
    if (wanted.length > 56) return stream.trimmed + stream.records.length;
    return firstWhere(stream, (record) => (after ? record.sequenceNumber > wanted : record.sequenceNumber >= wanted));
  };

  const operations: Record<string, (request: Record<string, unknown>) => unknown> = {
    CreateStream(request) {
      const name = text(request.StreamName, 'streamName');
      if (request.ShardCount !== 1)
        throw invalid(
          `the loopback Kinesis server keeps one shard a stream; ShardCount was ${String(request.ShardCount)}`,
        );
      if (streams.has(name))
        throw new KinesisError('ResourceInUseException', `Stream ${name} under account ${ACCOUNT} already exists.`);
      generations += 1;
      streams.set(name, { name, createdAt: now(), generation: generations, records: [], trimmed: 0, written: 0 });
      return {};
    },
    DeleteStream(request) {
      streams.delete(streamOf(request.StreamName).name);
      return {};
    },
    DescribeStreamSummary(request) {
      const stream = streamOf(request.StreamName);
      return {
        StreamDescriptionSummary: {
          StreamName: stream.name,
          StreamARN: `arn:aws:kinesis:${region}:${ACCOUNT}:stream/${stream.name}`,
          StreamStatus: 'ACTIVE',
          StreamModeDetails: { StreamMode: 'PROVISIONED' },
          RetentionPeriodHours: RETENTION_HOURS,
          StreamCreationTimestamp: stream.createdAt / 1000,
          EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
          EncryptionType: 'NONE',
          OpenShardCount: 1,
          ConsumerCount: 0,
        },
      };
    },
    PutRecords(request) {
      const stream = streamOf(request.StreamName);
      const records = request.Records;
      if (!Array.isArray(records) || records.length < 1 || records.length > MAX_PUT_RECORDS)
        throw validation(
          `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length ` +
            `between 1 and ${MAX_PUT_RECORDS}`,
        );
      let total = 0;
      const checked = records.map((record: Record<string, unknown>, i) => {
        const partitionKey = text(record?.PartitionKey, `records.${i + 1}.member.partitionKey`, 1, 256);
        if (typeof record.Data !== 'string')
          throw validation(
            `1 validation error detected: Value null at 'records.${i + 1}.member.data' failed to satisfy ` +
              'constraint: Member must not be null',
          );
        const bytes = Buffer.byteLength(record.Data, 'base64');
        if (bytes > MAX_RECORD_BYTES)
          throw validation(
            `1 validation error detected: Value at 'records.${i + 1}.member.data' failed to satisfy constraint: ` +
              `Member must have length less than or equal to ${MAX_RECORD_BYTES}`,
          );
        total += bytes + Buffer.byteLength(partitionKey);
        return { data: record.Data, bytes, partitionKey };
      });
      if (total > MAX_PUT_BYTES) throw invalid(`Records size exceeds ${MAX_PUT_BYTES / 1024 / 1024} MB limit`);
      trim(stream);
      const arrivedAt = now();
      const written = checked.map((record) => {
        const stored = { ...record, arrivedAt, sequenceNumber: sequenceNumber(stream.written) };
        stream.written += 1;
        stream.records.push(stored);
        return { SequenceNumber: stored.sequenceNumber, ShardId: SIGNAL_SHARD_ID };
      });
      return { FailedRecordCount: 0, Records: written, EncryptionType: 'NONE' };
    },
    GetShardIterator(request) {
      const stream = streamOf(request.StreamName);
      if (request.ShardId !== SIGNAL_SHARD_ID)
        throw new KinesisError(
          'ResourceNotFoundException',
          `Shard ${String(request.ShardId)} in stream ${stream.name} under account ${ACCOUNT} does not exist`,
        );
      trim(stream);
      const end = stream.trimmed + stream.records.length;
      switch (request.ShardIteratorType) {
        case 'LATEST':
          return { ShardIterator: iterator(stream, end) };
        case 'TRIM_HORIZON':
          return { ShardIterator: iterator(stream, stream.trimmed) };
        case 'AT_SEQUENCE_NUMBER':
        case 'AFTER_SEQUENCE_NUMBER':
          return {
            ShardIterator: iterator(
              stream,
              indexOfSequence(
                stream,
                request.StartingSequenceNumber,
                request.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER',
              ),
            ),
          };
        case 'AT_TIMESTAMP': {
          if (typeof request.Timestamp !== 'number')
            throw invalid('Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP');
          const from = request.Timestamp * 1000;
          return {
            ShardIterator: iterator(
              stream,
              firstWhere(stream, (record) => record.arrivedAt >= from),
            ),
          };
        }
        default:
          throw validation(
            `1 validation error detected: Value '${String(request.ShardIteratorType)}' at 'shardIteratorType' ` +
              'failed to satisfy constraint: Member must satisfy enum value set: ' +
              '[AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]',
          );
      }
    },
    GetRecords(request) {
      const token = text(request.ShardIterator, 'shardIterator', 1, 512);
      let position: IteratorPosition;
      try {
        position = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as IteratorPosition;
      } catch {
        throw invalid(`Invalid ShardIterator.`);
      }
      if (
        typeof position?.stream !== 'string' ||
        !Number.isSafeInteger(position.generation) ||
        !Number.isSafeInteger(position.at) ||
        position.at < 0 ||
        typeof position.issuedAt !== 'number'
      )
        throw invalid(`Invalid ShardIterator.`);
      const limit = typeof request.Limit === 'number' ? request.Limit : MAX_GET_RECORDS;
      if (request.Limit !== undefined && typeof request.Limit !== 'number')
        throw new KinesisError('SerializationException', 'Limit is not a number.');
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_GET_RECORDS)
        throw validation(
          `1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: ` +
            `Member must have value between 1 and ${MAX_GET_RECORDS}`,
        );
      const stream = streams.get(position.stream);
      // A stream deleted, or deleted and made again, since the iterator was handed out.
      if (stream === undefined || stream.generation !== position.generation) throw streamNotFound(position.stream);
      if (now() - position.issuedAt > ITERATOR_LIFE_MS)
        throw new KinesisError(
          'ExpiredIteratorException',
          `Iterator expired. The iterator was created at time ${new Date(position.issuedAt).toUTCString()} while ` +
            `right now it is ${new Date(now()).toUTCString()} which is further in the future than the tolerated ` +
            `delay of ${ITERATOR_LIFE_MS} milliseconds.`,
        );
      trim(stream);
      // Past every record the stream ever held: not an iterator this server handed out.
      if (position.at > stream.trimmed + stream.records.length) throw invalid(`Invalid ShardIterator.`);
      // Records trimmed since: the iterator goes on from the oldest retained one, as past the retention period.
      let index = Math.max(position.at, stream.trimmed) - stream.trimmed;
      const out: { SequenceNumber: string; ApproximateArrivalTimestamp: number; Data: string; PartitionKey: string }[] =
        [];
      let bytes = 0;
      while (index < stream.records.length && out.length < limit) {
        const record = stream.records[index]!;
        if (out.length > 0 && bytes + record.bytes > MAX_GET_BYTES) break;
        bytes += record.bytes;
        out.push({
          SequenceNumber: record.sequenceNumber,
          ApproximateArrivalTimestamp: record.arrivedAt / 1000,
          Data: record.data,
          PartitionKey: record.partitionKey,
        });
        index += 1;
      }
      const next = stream.records[index];
      return {
        Records: out,
        NextShardIterator: iterator(stream, stream.trimmed + index),
        // 0 only when caught up: a record still unread that arrived this millisecond is 1 ms behind.
        MillisBehindLatest: next === undefined ? 0 : Math.max(1, now() - next.arrivedAt),
      };
    },
  };
  // A Map: an operation name is the request's, and must not reach Object.prototype's members.
  return new Map(Object.entries(operations));
}

function answer(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  replyJson(res, status, body, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': `local-${Date.now().toString(36)}`,
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
}

export async function startKinesisServer(options: KinesisServerOptions): Promise<KinesisServer> {
  const region = options.region ?? 'us-east-1';
  const operations = kinesisApi(region, options.now ?? Date.now);
  const server = createServer((req, res) => {
    void (async () => {
      const body = await bodyText(req);
      const target = req.headers['x-amz-target'];
      const operation =
        req.method === 'POST' && typeof target === 'string' && target.startsWith('Kinesis_20131202.')
          ? operations.get(target.slice('Kinesis_20131202.'.length))
          : undefined;
      if (operation === undefined) {
        answer(res, 400, { __type: 'UnknownOperationException' }, 'UnknownOperationException');
        return;
      }
      let request: Record<string, unknown>;
      try {
        request = JSON.parse(body || '{}') as Record<string, unknown>;
        if (request === null || typeof request !== 'object' || Array.isArray(request)) throw new Error('not an object');
      } catch {
        answer(
          res,
          400,
          { __type: 'SerializationException', Message: 'Start of structure or map found where not expected.' },
          'SerializationException',
        );
        return;
      }
      try {
        answer(res, 200, operation(request));
      } catch (error) {
        if (!(error instanceof KinesisError)) throw error;
        answer(res, 400, { __type: error.type, message: error.message }, error.type);
      }
    })().catch((error: Error) => {
      if (!res.headersSent) answer(res, 500, { __type: 'InternalFailure', message: error.message }, 'InternalFailure');
      else res.destroy(error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new KinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 5000 }),
    maxAttempts: 1,
  });
  const close = async () => {
    client.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  try {
    // Through the SDK, as before: the stream is ACTIVE at once (seconds in AWS).
    await client.send(new CreateStreamCommand({ StreamName: options.streamName, ShardCount: 1 }));
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, port, streamName: options.streamName, client, close };
}

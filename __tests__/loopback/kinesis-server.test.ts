/**
 * The loopback Kinesis server (loopback/kinesis-server.ts) through the AWS SDK's own client, as the
 * local CloudFront and the local event source mapping use it: what the Kinesis API reference says
 * each operation answers, and the errors and limits it names.
 */
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordsCommand,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-kinesis';
import { SIGNAL_SHARD_ID, startKinesisServer, type KinesisServer } from '../../loopback/kinesis-server';

const STREAM = 'edge-widget-signal';
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
let now = T0;
let kinesis: KinesisServer;

beforeEach(async () => {
  now = T0;
  kinesis = await startKinesisServer({ streamName: STREAM, now: () => now });
});
afterEach(() => kinesis.close());

const putRecords = (records: { Data: Uint8Array; PartitionKey: string }[], stream = STREAM) =>
  kinesis.client.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
const put = (...data: string[]) =>
  putRecords(data.map((text, i) => ({ Data: Buffer.from(text), PartitionKey: `key-${i}` })));
const iteratorOf = async (
  type: GetShardIteratorCommandInput['ShardIteratorType'],
  extra: Partial<GetShardIteratorCommandInput> = {},
) =>
  (
    await kinesis.client.send(
      new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SIGNAL_SHARD_ID, ShardIteratorType: type, ...extra }),
    )
  ).ShardIterator!;
const read = async (iterator: string, limit?: number) => {
  const answer = await kinesis.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
  return {
    data: (answer.Records ?? []).map((record) => Buffer.from(record.Data!).toString('utf8')),
    records: answer.Records ?? [],
    next: answer.NextShardIterator!,
    behind: answer.MillisBehindLatest,
  };
};
const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  throw new Error('it did not fail');
};

it('has the stream ACTIVE from the start, with one shard, and refuses it again or with more shards', async () => {
  const { StreamDescriptionSummary: summary } = await kinesis.client.send(
    new DescribeStreamSummaryCommand({ StreamName: STREAM }),
  );
  expect(summary).toMatchObject({
    StreamName: STREAM,
    StreamStatus: 'ACTIVE',
    OpenShardCount: 1,
    RetentionPeriodHours: 24,
    StreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`,
  });
  expect(summary?.StreamCreationTimestamp?.getTime()).toBe(T0);
  expect(await errorOf(kinesis.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 })))).toBe(
    'ResourceInUseException',
  );
  expect(await errorOf(kinesis.client.send(new CreateStreamCommand({ StreamName: 'two', ShardCount: 2 })))).toBe(
    'InvalidArgumentException',
  );
  expect(await errorOf(kinesis.client.send(new DescribeStreamSummaryCommand({ StreamName: 'nope' })))).toBe(
    'ResourceNotFoundException',
  );
});

it('gives records back in the order written, with increasing sequence numbers and their arrival time', async () => {
  const horizon = await iteratorOf('TRIM_HORIZON');
  const first = await put('a', 'b');
  expect(first).toMatchObject({ FailedRecordCount: 0 });
  expect(first.Records?.map((record) => record.ShardId)).toEqual([SIGNAL_SHARD_ID, SIGNAL_SHARD_ID]);
  now += 1500;
  const latest = await iteratorOf('LATEST');
  await put('c');
  const all = await read(horizon);
  expect(all.data).toEqual(['a', 'b', 'c']);
  const sequences = all.records.map((record) => BigInt(record.SequenceNumber!));
  expect(sequences.every((sequence, i) => i === 0 || sequence > sequences[i - 1]!)).toBe(true);
  expect(all.records.map((record) => record.ApproximateArrivalTimestamp?.getTime())).toEqual([T0, T0, T0 + 1500]);
  expect(all.records.map((record) => record.PartitionKey)).toEqual(['key-0', 'key-1', 'key-0']);
  // LATEST: only what came after it; the next iterator goes on from there.
  expect((await read(latest)).data).toEqual(['c']);
  expect((await read(all.next)).data).toEqual([]);
  await put('d');
  expect((await read(all.next)).data).toEqual(['d']);
});

it('starts at or after a sequence number, or at a time', async () => {
  await put('a', 'b', 'c');
  now += 10_000;
  await put('d');
  const sequences = (await read(await iteratorOf('TRIM_HORIZON'))).records.map((record) => record.SequenceNumber!);
  expect((await read(await iteratorOf('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: sequences[1] }))).data).toEqual([
    'b',
    'c',
    'd',
  ]);
  expect(
    (await read(await iteratorOf('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: sequences[1] }))).data,
  ).toEqual(['c', 'd']);
  expect((await read(await iteratorOf('AT_TIMESTAMP', { Timestamp: new Date(T0 + 5000) }))).data).toEqual(['d']);
  expect(await errorOf(iteratorOf('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: 'not-a-number' }))).toBe(
    'InvalidArgumentException',
  );
  expect(
    await errorOf(
      kinesis.client.send(
        new GetShardIteratorCommand({
          StreamName: STREAM,
          ShardId: 'shardId-000000000001',
          ShardIteratorType: 'LATEST',
        }),
      ),
    ),
  ).toBe('ResourceNotFoundException');
});

it('reads at most Limit records a call, and says how far behind the newest record the reader is', async () => {
  const horizon = await iteratorOf('TRIM_HORIZON');
  await put('a', 'b');
  now += 2000;
  await put('c');
  now += 3000;
  const page = await read(horizon, 1);
  expect(page.data).toEqual(['a']);
  // The next unread record arrived 5 s ago.
  expect(page.behind).toBe(5000);
  const rest = await read(page.next, 10_000);
  expect(rest.data).toEqual(['b', 'c']);
  expect(rest.behind).toBe(0);
  expect(await errorOf(read(horizon, 10_001))).toBe('ValidationException');
  expect(await errorOf(read(horizon, 0))).toBe('ValidationException');
  // 0 means caught up: records still unread that arrived this very millisecond are not.
  await put('d', 'e');
  const sameMs = await read(rest.next, 1);
  expect([sameMs.data, sameMs.behind]).toEqual([['d'], 1]);
});

it("refuses what the API's limits refuse, and writes nothing of a call it refuses", async () => {
  const horizon = await iteratorOf('TRIM_HORIZON');
  expect(await errorOf(put(...Array.from({ length: 501 }, (_, i) => String(i))))).toBe('ValidationException');
  expect(await errorOf(putRecords([{ Data: Buffer.from('x'), PartitionKey: '' }]))).toBe('ValidationException');
  expect(await errorOf(putRecords([{ Data: Buffer.alloc(1024 * 1024 + 1), PartitionKey: 'k' }]))).toBe(
    'ValidationException',
  );
  // Six records of 1 MiB: each is allowed, the call is not (5 MiB).
  expect(
    await errorOf(
      putRecords(Array.from({ length: 6 }, () => ({ Data: Buffer.alloc(1024 * 1024), PartitionKey: 'k' }))),
    ),
  ).toBe('InvalidArgumentException');
  expect(await errorOf(putRecords([{ Data: Buffer.from('x'), PartitionKey: 'k' }], 'nope'))).toBe(
    'ResourceNotFoundException',
  );
  expect((await read(horizon)).data).toEqual([]);
  expect((await put(...Array.from({ length: 500 }, (_, i) => String(i)))).Records).toHaveLength(500);
});

it('expires an iterator after 5 minutes, and answers a deleted stream as not found', async () => {
  const horizon = await iteratorOf('TRIM_HORIZON');
  await put('a');
  now += 5 * 60_000;
  expect((await read(horizon)).data).toEqual(['a']);
  now += 1;
  expect(await errorOf(read(horizon))).toBe('ExpiredIteratorException');
  expect(await errorOf(read('not an iterator'))).toBe('InvalidArgumentException');

  const fresh = await iteratorOf('TRIM_HORIZON');
  await kinesis.client.send(new DeleteStreamCommand({ StreamName: STREAM }));
  expect(await errorOf(put('b'))).toBe('ResourceNotFoundException');
  expect(await errorOf(read(fresh))).toBe('ResourceNotFoundException');
  // Made again: the old stream's iterators are still not found, even made again the same millisecond.
  await kinesis.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  expect(await errorOf(read(fresh))).toBe('ResourceNotFoundException');
  const again = await iteratorOf('TRIM_HORIZON');
  await kinesis.client.send(new DeleteStreamCommand({ StreamName: STREAM }));
  await kinesis.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  await put('new');
  expect(await errorOf(read(again))).toBe('ResourceNotFoundException');
});

it('refuses an iterator it did not hand out, a body that is not JSON, an operation the API lacks', async () => {
  const real = JSON.parse(Buffer.from(await iteratorOf('LATEST'), 'base64').toString('utf8'));
  for (const at of [-1, 0.5, 99])
    expect(await errorOf(read(Buffer.from(JSON.stringify({ ...real, at })).toString('base64')))).toBe(
      'InvalidArgumentException',
    );
  // A body that is not a JSON object: refused as the API refuses it, and the server goes on.
  for (const body of ['{"StreamName":', '[]', 'null']) {
    const response = await fetch(kinesis.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'Kinesis_20131202.PutRecords', 'content-type': 'application/x-amz-json-1.1' },
      body,
    });
    expect([body, response.status, ((await response.json()) as { __type: string }).__type]).toEqual([
      body,
      400,
      'SerializationException',
    ]);
  }
  expect((await put('still here')).FailedRecordCount).toBe(0);
  for (const operation of ['toString', 'constructor', '__proto__', 'ListStreams']) {
    const response = await fetch(kinesis.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': `Kinesis_20131202.${operation}`, 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect([operation, response.status, ((await response.json()) as { __type: string }).__type]).toEqual([
      operation,
      400,
      'UnknownOperationException',
    ]);
  }
});

it('keeps records 24 hours: an iterator at a record past the retention period starts at the oldest kept', async () => {
  const oldSequence = (await put('old')).Records![0]!.SequenceNumber!;
  now += 23 * 3_600_000;
  await put('new');
  expect((await read(await iteratorOf('TRIM_HORIZON'))).data).toEqual(['old', 'new']);
  now += 2 * 3_600_000;
  expect((await read(await iteratorOf('TRIM_HORIZON'))).data).toEqual(['new']);
  expect((await read(await iteratorOf('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: oldSequence }))).data).toEqual([
    'new',
  ]);
});

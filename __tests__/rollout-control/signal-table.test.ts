/**
 * The release-signal table's two items, against a DynamoDB that keeps what it is given and checks
 * conditions as DynamoDB does: the timeline every writer of the rollout state announces to, and
 * the consumer's checkpoint.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { fakeTable, type FakeTable } from '../fixtures/dynamodb-table';
import { mockClient } from 'aws-sdk-client-mock';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { advanceCheckpoint, announceState, readTimeline, TIMELINE_LENGTH } from '../../rollout-control/signal-table';

const dynamodb = mockClient(DynamoDBClient);
const client = new DynamoDBClient({ region: 'us-east-1' });
let table: FakeTable;

beforeEach(() => {
  dynamodb.reset();
  table = fakeTable(dynamodb);
});
afterAll(() => dynamodb.restore());

const A = formatRolloutState(steadyState('0123456789abcdef'));
const B = formatRolloutState({
  stable: '0123456789abcdef',
  canary: 'fedcba9876543210',
  weight: 1000,
  salt: 'd-TABLE0001',
  ring: [],
});

describe('the timeline of rollout states', () => {
  it(
    'announces a state from the time given, and keeps the ' + 'one before it a candidate for the propagation time',
    async () => {
      await announceState(client, 't', A, 1000, { propagationMs: 100, seenOnly: true });
      await announceState(client, 't', B, 5000, { propagationMs: 100 });
      const timeline = await readTimeline(client, 't');
      expect(timeline.map(({ from, until }) => ({ from, until }))).toEqual([
        { from: 0, until: 5100 },
        { from: 5000, until: null },
      ]);
      // Announcing the current state again writes nothing.
      const puts = dynamodb.commandCalls(PutItemCommand).length;
      await announceState(client, 't', B, 9000, { propagationMs: 100 });
      expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(puts);
    },
  );

  it('takes a state found unannounced as served since the one before it began', async () => {
    await announceState(client, 't', A, 1000, { propagationMs: 100 });
    await announceState(client, 't', B, 7000, { propagationMs: 100, seenOnly: true });
    expect((await readTimeline(client, 't')).map(({ from, until }) => ({ from, until }))).toEqual([
      { from: 1000, until: 7100 },
      { from: 1000, until: null },
    ]);
  });

  it('keeps the newest states, and re-reads when another writer announced meanwhile', async () => {
    for (let i = 0; i < TIMELINE_LENGTH + 5; i += 1)
      await announceState(client, 't', formatRolloutState(steadyState(i.toString(16).padStart(16, '0'))), i * 10, {
        propagationMs: 5,
      });
    expect(await readTimeline(client, 't')).toHaveLength(TIMELINE_LENGTH);
    table.loseNextRace();
    const before = dynamodb.commandCalls(GetItemCommand).length;
    await announceState(client, 't', A, 100_000, { propagationMs: 5 });
    // It read the item again after losing the race.
    expect(dynamodb.commandCalls(GetItemCommand).length - before).toBe(2);
    expect((await readTimeline(client, 't')).at(-1)).toMatchObject({ from: 100_000, until: null });
  });
});

describe("the consumer's checkpoint", () => {
  it('says whether the records just before a batch were read by this container', async () => {
    expect(await advanceCheckpoint(client, 't', null, '100')).toBe(false);
    expect(await advanceCheckpoint(client, 't', '100', '200')).toBe(true);
    // Another container read on from 200: this one, still at 100, lost its place.
    expect(await advanceCheckpoint(client, 't', '100', '300')).toBe(false);
    expect(table.items.get('consumer-checkpoint')?.sequenceNumber?.S).toBe('300');
  });
});

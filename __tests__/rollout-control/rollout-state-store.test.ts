/**
 * The rollout state through the real KeyValueStore client, over HTTP, against the loopback store:
 * the requests are signed with SigV4A (which the API demands), writes are conditional on the
 * store's ETag, and the errors say what to do.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import { rolloutStoreClientConfig } from '../../contracts/rollout-store';
import { readRolloutState, StaleStoreError, writeRolloutState } from '../../rollout-control/rollout-state-store';
import { LocalKeyValueStore, startKvsServer, type KvsServer } from '../../loopback/kvs-server';

const A = '0123456789abcdef';

describe('rollout state store', () => {
  let server: KvsServer;
  let kvs: CloudFrontKeyValueStoreClient;

  beforeAll(async () => {
    server = await startKvsServer({ store: new LocalKeyValueStore() });
    kvs = new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig({ endpoint: server.endpoint, maxAttempts: 1 }));
  });
  afterAll(async () => {
    kvs.destroy();
    await server.close();
  });

  it('reads the ETag, then the value; a missing key is no state', async () => {
    const first = await readRolloutState(kvs, server.arn);
    expect(first).toEqual({ etag: server.store.etag, stored: null });
    const text = formatRolloutState(steadyState(A));
    const announced: string[] = [];
    const etag = await writeRolloutState(kvs, server.arn, text, first.etag, async (next) => {
      announced.push(next);
    });
    expect(announced).toEqual([text]);
    expect(etag).toBe(server.store.etag);
    expect(await readRolloutState(kvs, server.arn)).toEqual({ etag, stored: { text, state: steadyState(A) } });
    // A value that does not parse is reported as text, without a state.
    server.store.put(ROLLOUT_STATE_KEY, 'nonsense');
    expect((await readRolloutState(kvs, server.arn)).stored).toEqual({ text: 'nonsense', state: null });
  });

  it('given an earlier read, reads the value again only when the store moved past its ETag', async () => {
    const first = await readRolloutState(kvs, server.arn);
    let before = server.requests.length;
    expect(await readRolloutState(kvs, server.arn, first)).toEqual(first);
    expect(server.requests.length - before).toBe(1);
    const text = formatRolloutState(steadyState('fedcba9876543210'));
    server.store.put(ROLLOUT_STATE_KEY, text);
    before = server.requests.length;
    expect(await readRolloutState(kvs, server.arn, first)).toEqual({
      etag: server.store.etag,
      stored: { text, state: steadyState('fedcba9876543210') },
    });
    expect(server.requests.length - before).toBe(2);
  });

  it('signs every call with SigV4A over the whole region set', async () => {
    const before = server.requests.length;
    await readRolloutState(kvs, server.arn);
    const made = server.requests.slice(before);
    expect(made.map((request) => `${request.method} ${request.algorithm} ${request.regionSet}`)).toEqual([
      'GET AWS4-ECDSA-P256-SHA256 *',
      'GET AWS4-ECDSA-P256-SHA256 *',
    ]);
  });

  it("refuses a write whose ETag is no longer the store's, and leaves the value alone", async () => {
    const { etag } = await readRolloutState(kvs, server.arn);
    server.store.put(ROLLOUT_STATE_KEY, formatRolloutState(steadyState('fedcba9876543210')));
    await expect(
      writeRolloutState(kvs, server.arn, formatRolloutState(steadyState(A)), etag, async () => undefined),
    ).rejects.toBeInstanceOf(StaleStoreError);
    expect(server.store.get(ROLLOUT_STATE_KEY)).toBe(formatRolloutState(steadyState('fedcba9876543210')));
  });

  it('announces before it writes, and writes nothing when the announcement fails', async () => {
    const { etag } = await readRolloutState(kvs, server.arn);
    const before = server.store.get(ROLLOUT_STATE_KEY);
    await expect(
      writeRolloutState(kvs, server.arn, formatRolloutState(steadyState(A)), etag, async () => {
        throw new Error('the table is unreachable');
      }),
    ).rejects.toThrow('the table is unreachable');
    expect(server.store.get(ROLLOUT_STATE_KEY)).toBe(before);
  });

  it('says the store does not exist, naming it, rather than what the API said', async () => {
    const missing = 'arn:aws:cloudfront::000000000000:key-value-store/99999999-0000-4000-8000-000000000000';
    await expect(readRolloutState(kvs, missing)).rejects.toThrow(
      `the rollout store ${missing} does not exist (or is not visible to these credentials): deploy the stacks first`,
    );
  });
});

import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { assignBuild } from '../../contracts/assignment';
import { DIMENSION_ROLE, METRIC_ERRORING_VIEWERS, METRIC_VIEWERS, periodStart } from '../../contracts/release-signal';
import { formatRolloutState, type RolloutState } from '../../contracts/rollout-state';
import { beaconSettingsFrom, checkBeacon, handleBeacon, judgeBeacon, ledgerKey, MAX_BODY_BYTES, originSecretHash, type BeaconDependencies, type BeaconRequest } from '../../regional-function/metrics-api/core';
import { cachedState } from '../../regional-function/metrics-api/state-cache';
import { MemoryViewerLedger } from '../../regional-function/metrics-api/viewer-ledger';
import { DynamoViewerLedger, readStateCopy, STATE_COPY_KEY, writeStateCopy } from '../../regional-function/shared/signal-table';
import { handler } from '../../regional-function/metrics-api/index';
import { BUILD_A, BUILD_B, BUILD_C } from './aws-fixtures';

const ORIGIN = 'https://shop.example.com';
const SECRET = 'not-the-real-one-0123456789abcdefghijklmnopqrstuv';
const PREVIOUS_SECRET = 'the-one-before-0123456789abcdefghijklmnopqrstuvwx';
const PERIOD_SECONDS = 60;
const settings = beaconSettingsFrom({
  ALLOWED_ORIGINS: '["https://*.example.com","http://127.0.0.1:*"]',
  MAX_BATCH: '20',
  ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash(SECRET), originSecretHash(PREVIOUS_SECRET)]),
  PERIOD_SECONDS: String(PERIOD_SECONDS),
});

/** Stable A, canary B at 50 %, a ring of one host. */
const STATE: RolloutState = { stable: BUILD_A, canary: BUILD_B, weight: 5000, salt: 'd-SALT', ring: ['https://demo.example.com'] };

/** The first address (10.0.<n>.1) the state assigns to `buildId`. */
function viewerOf(buildId: string, state: RolloutState = STATE, skip = 0): string {
  let found = 0;
  for (let n = 0; n < 65536; n += 1) {
    const ip = `10.${n >> 8}.${n & 255}.1`;
    if (assignBuild(state, ip, null) === buildId && found++ === skip) return ip;
  }
  throw new Error(`no viewer of ${buildId}`);
}
const CANARY_VIEWER = viewerOf(BUILD_B);
const STABLE_VIEWER = viewerOf(BUILD_A);

function beaconBody(events: unknown[] = [{ name: 'load' }], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ v: 1, buildId: BUILD_A, events, ...extra });
}

function request(overrides: Partial<BeaconRequest> & { headers?: Record<string, string | undefined> } = {}): BeaconRequest {
  return {
    method: 'POST',
    body: beaconBody(),
    isBase64Encoded: false,
    ...overrides,
    headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8', 'x-origin-verify': SECRET, 'cloudfront-viewer-address': `${STABLE_VIEWER}:51234`, ...overrides.headers },
  };
}

function status(req: BeaconRequest): [number, string] {
  const check = checkBeacon(req, settings);
  return check.ok ? [204, ''] : [check.response.statusCode, check.response.body.trim()];
}

describe('beacon checks', () => {
  it('accepts what webapp/src/beacon.ts sends: text/plain from an allowed origin', () => {
    const check = checkBeacon(request({ body: beaconBody([{ name: 'load' }, { name: 'error', message: 'x is not a function' }, { name: 'error' }]) }), settings);
    expect(check).toEqual({
      ok: true,
      beacon: { v: 1, buildId: BUILD_A, events: [{ name: 'load' }, { name: 'error', message: 'x is not a function' }, { name: 'error' }] },
      cors: { 'access-control-allow-origin': ORIGIN, vary: 'Origin' },
    });
  });

  it('accepts a base64 body (API Gateway’s binary flag) and JSON from tools', () => {
    expect(status(request({ body: Buffer.from(beaconBody()).toString('base64'), isBase64Encoded: true }))).toEqual([204, '']);
    expect(status(request({ headers: { 'content-type': 'application/json' } }))).toEqual([204, '']);
  });

  it.each<[string, Partial<BeaconRequest> & { headers?: Record<string, string | undefined> }, number, string]>([
    ['a GET', { method: 'GET' }, 405, 'beacons are POSTed'],
    ['no origin secret (a direct call to the API)', { headers: { 'x-origin-verify': undefined } }, 403, 'beacons are accepted through the distribution only'],
    ['a wrong origin secret', { headers: { 'x-origin-verify': `${SECRET}x` } }, 403, 'beacons are accepted through the distribution only'],
    ['a direct call that would otherwise pass nothing', { headers: { 'x-origin-verify': undefined, origin: 'https://evil.net' }, body: 'junk' }, 403, 'beacons are accepted through the distribution only'],
    ['no Origin', { headers: { origin: undefined } }, 403, 'beacons need an Origin header'],
    ['a look-alike origin', { headers: { origin: 'https://evil-example.com' } }, 403, 'origin https://evil-example.com may not send beacons'],
    ['no content type', { headers: { 'content-type': undefined } }, 415, 'content type must be text/plain or application/json'],
    ['a form', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'content type must be text/plain or application/json'],
    ['a body over 8 KB', { body: ' '.repeat(MAX_BODY_BYTES + 1) }, 413, 'body over 8192 bytes'],
    ['a base64 body over 8 KB', { body: Buffer.alloc(MAX_BODY_BYTES + 1, 32).toString('base64'), isBase64Encoded: true }, 413, 'body over 8192 bytes'],
    ['multi-byte text over 8 KB', { body: 'é'.repeat(MAX_BODY_BYTES / 2 + 1) }, 413, 'body over 8192 bytes'],
    ['bad base64', { body: 'not base64!', isBase64Encoded: true }, 400, 'body is not valid base64'],
    ['bytes that are not UTF-8', { body: Buffer.from([0xff, 0xfe, 0x7b]).toString('base64'), isBase64Encoded: true }, 400, 'body is not UTF-8'],
    ['an empty body', { body: '' }, 400, 'body is empty'],
    ['no body', { body: null }, 400, 'body is empty'],
    ['text that is not JSON', { body: 'hello' }, 400, 'body is not JSON'],
    ['JSON that is not a beacon', { body: '[1,2]' }, 400, 'beacon: must be an object'],
    ['another version', { body: JSON.stringify({ v: 2, buildId: BUILD_A, events: [{ name: 'load' }] }) }, 400, 'v: must be 1'],
    ['a bad buildId', { body: JSON.stringify({ v: 1, buildId: 'ABC', events: [{ name: 'load' }] }) }, 400, 'buildId: must be 16 lowercase hex characters'],
    ['an unknown event name', { body: beaconBody([{ name: 'load' }, { name: 'click' }]) }, 400, 'events.1.name: unknown event name; use load or error'],
    ['a message over 200 characters', { body: beaconBody([{ name: 'error', message: 'x'.repeat(201) }]) }, 400, 'events.0.message: at most 200 characters'],
    ['an extra key', { body: beaconBody([{ name: 'load' }], { user: 'me' }) }, 400, 'beacon: unknown key user'],
    ['no events', { body: beaconBody([]) }, 400, 'events: at least 1 item'],
    ['a batch over MAX_BATCH', { body: beaconBody(Array.from({ length: 21 }, () => ({ name: 'load' }))) }, 413, '21 events in one beacon; at most 20'],
  ])('refuses %s', (_what, overrides, code, message) => {
    expect(status(request(overrides))).toEqual([code, message]);
  });

  it('gives CORS headers to allowed origins only, on errors too', () => {
    const bad = checkBeacon(request({ body: 'hello' }), settings);
    expect(!bad.ok && bad.response.headers['access-control-allow-origin']).toBe(ORIGIN);
    const foreign = checkBeacon(request({ headers: { origin: 'https://evil.net' } }), settings);
    expect(!foreign.ok && foreign.response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('accepts the previous secret too: edges still on the old configuration after a rotation', () => {
    expect(status(request({ headers: { 'x-origin-verify': PREVIOUS_SECRET } }))).toEqual([204, '']);
  });

  it('tells a direct call nothing, not even CORS headers', () => {
    const direct = checkBeacon(request({ headers: { 'x-origin-verify': undefined } }), settings);
    expect(!direct.ok && direct.response.headers).toEqual({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  });

  it('reads its settings from the environment values, naming a bad one', () => {
    const good = { ALLOWED_ORIGINS: '["https://example.com"]', MAX_BATCH: '20', ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash(SECRET)]), PERIOD_SECONDS: '60' };
    expect(() => beaconSettingsFrom({ ...good, ALLOWED_ORIGINS: 'https://*.example.com' })).toThrow('ALLOWED_ORIGINS must be a JSON array of origin patterns');
    expect(() => beaconSettingsFrom({ ...good, ALLOWED_ORIGINS: '[]' })).toThrow('ALLOWED_ORIGINS must be a non-empty JSON array of strings');
    expect(() => beaconSettingsFrom({ ...good, ALLOWED_ORIGINS: '["https://example.com/"]' })).toThrow('ALLOWED_ORIGINS: "https://example.com/" is not an origin pattern');
    expect(() => beaconSettingsFrom({ ...good, MAX_BATCH: '0' })).toThrow('MAX_BATCH must be a whole number from 1 to 100; got "0"');
    expect(() => beaconSettingsFrom({ ...good, ORIGIN_SECRET_SHA256: JSON.stringify([SECRET]) })).toThrow('ORIGIN_SECRET_SHA256 must be a non-empty JSON array of SHA-256 digests');
    expect(() => beaconSettingsFrom({ ...good, ORIGIN_SECRET_SHA256: '[]' })).toThrow('ORIGIN_SECRET_SHA256 must be a non-empty JSON array of SHA-256 digests');
    expect(() => beaconSettingsFrom({ ...good, PERIOD_SECONDS: 'soon' })).toThrow('PERIOD_SECONDS must be a whole number of seconds; got "soon"');
  });
});

describe('judgeBeacon: a beacon speaks only for its own viewer and a current build', () => {
  const beacon = (buildId: string) => ({ v: 1 as const, buildId, events: [{ name: 'load' as const }] });

  it('counts a canary viewer for the canary and a stable viewer for the stable build, by role', () => {
    expect(judgeBeacon(beacon(BUILD_B), STATE, CANARY_VIEWER, ORIGIN)).toEqual({ counts: true, role: 'canary', viewer: CANARY_VIEWER });
    expect(judgeBeacon(beacon(BUILD_A), STATE, STABLE_VIEWER, ORIGIN)).toEqual({ counts: true, role: 'stable', viewer: STABLE_VIEWER });
  });

  it('refuses a build the rollout does not serve (410), whatever else is right', () => {
    expect(judgeBeacon(beacon(BUILD_C), STATE, CANARY_VIEWER, ORIGIN)).toEqual({ counts: false, statusCode: 410, reason: `build ${BUILD_C} is not being served now` });
    // After a finished rollout the old stable build is no longer current either.
    expect(judgeBeacon(beacon(BUILD_A), { stable: BUILD_B, canary: null, weight: 0, salt: null, ring: [] }, STABLE_VIEWER, ORIGIN).counts).toBe(false);
  });

  it('does not let a viewer assigned the stable build vote on the canary, nor the reverse (403)', () => {
    expect(judgeBeacon(beacon(BUILD_B), STATE, STABLE_VIEWER, ORIGIN)).toEqual({ counts: false, statusCode: 403, reason: `this viewer is not assigned build ${BUILD_B}` });
    expect(judgeBeacon(beacon(BUILD_A), STATE, CANARY_VIEWER, ORIGIN)).toMatchObject({ counts: false, statusCode: 403 });
  });

  it('assigns by the ring too, but counts a viewer that is canary only by its (claimable) page origin as ring, which the alarm does not judge', () => {
    expect(judgeBeacon(beacon(BUILD_B), STATE, STABLE_VIEWER, 'https://DEMO.example.com:443')).toEqual({ counts: true, role: 'ring', viewer: STABLE_VIEWER });
    // A canary viewer by its address stays a canary viewer on a ring host.
    expect(judgeBeacon(beacon(BUILD_B), STATE, CANARY_VIEWER, 'https://demo.example.com')).toMatchObject({ counts: true, role: 'canary' });
    expect(judgeBeacon(beacon(BUILD_A), STATE, STABLE_VIEWER, 'https://demo.example.com')).toMatchObject({ counts: false, statusCode: 403 });
  });

  it('needs the viewer address (400 without it)', () => {
    expect(judgeBeacon(beacon(BUILD_A), STATE, null, ORIGIN)).toMatchObject({ counts: false, statusCode: 400 });
  });

  it('counts an IPv6 viewer by its /48: another address in the same /48 is the same viewer', () => {
    const all = { ...STATE, weight: 10000 };
    const first = judgeBeacon(beacon(BUILD_B), all, '2001:db8:aa:1::1', ORIGIN);
    const second = judgeBeacon(beacon(BUILD_B), all, '2001:db8:aa:ffff::2', ORIGIN);
    expect(first).toEqual({ counts: true, role: 'canary', viewer: '2001:db8:aa::/48' });
    expect(second).toEqual(first);
  });
});

describe('handleBeacon with a ledger', () => {
  function deps(overrides: Partial<BeaconDependencies> = {}, now = () => 1_800_000_000_000): BeaconDependencies {
    return { state: async () => STATE, ledger: new MemoryViewerLedger(() => now() / 1000), now, ...overrides };
  }
  const asViewer = (ip: string, body = beaconBody(), extra: Record<string, string> = {}) => request({ body, headers: { 'cloudfront-viewer-address': `${ip}:40000`, ...extra } });
  const canaryBody = (events: unknown[] = [{ name: 'load' }]) => JSON.stringify({ v: 1, buildId: BUILD_B, events });

  it('counts a viewer once per build and period, and its first error once, answering 204 every time', async () => {
    const d = deps();
    const first = await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, d);
    expect(first.response).toEqual({ statusCode: 204, headers: { 'access-control-allow-origin': ORIGIN, vary: 'Origin', 'cache-control': 'no-store' }, body: '' });
    expect(first.counted).toEqual({ role: 'canary', buildId: BUILD_B, newViewer: true, newErroring: false });
    const repeat = await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, d);
    expect(repeat.response.statusCode).toBe(204);
    expect(repeat.counted).toEqual({ role: 'canary', buildId: BUILD_B, newViewer: false, newErroring: false });
    const error = await handleBeacon(asViewer(CANARY_VIEWER, canaryBody([{ name: 'error', message: 'boom' }])), settings, d);
    expect(error.counted).toEqual({ role: 'canary', buildId: BUILD_B, newViewer: false, newErroring: true });
    const moreErrors = await handleBeacon(asViewer(CANARY_VIEWER, canaryBody(Array.from({ length: 20 }, () => ({ name: 'error' })))), settings, d);
    expect(moreErrors.counted).toEqual({ role: 'canary', buildId: BUILD_B, newViewer: false, newErroring: false });
  });

  it('counts an error-only beacon as a viewer too, so a period never has more erroring viewers than viewers', async () => {
    const outcome = await handleBeacon(asViewer(CANARY_VIEWER, canaryBody([{ name: 'error' }])), settings, deps());
    expect(outcome.counted).toEqual({ role: 'canary', buildId: BUILD_B, newViewer: true, newErroring: true });
  });

  it('counts the same viewer again in the next period', async () => {
    let now = periodStart(1_800_000_000_000, PERIOD_SECONDS) + 59_000;
    const d = deps({}, () => now);
    expect((await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, d)).counted?.newViewer).toBe(true);
    now += 2_000;
    expect((await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, d)).counted?.newViewer).toBe(true);
  });

  it('counts one of two beacons of one viewer arriving at once', async () => {
    const d = deps();
    const outcomes = await Promise.all([handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, d), handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, d)]);
    expect(outcomes.filter((o) => o.counted?.newViewer)).toHaveLength(1);
  });

  it('records nothing for a beacon that does not count', async () => {
    const ledger = new MemoryViewerLedger();
    const forged = await handleBeacon(asViewer(STABLE_VIEWER, canaryBody()), settings, deps({ ledger }));
    expect(forged).toMatchObject({ response: { statusCode: 403 }, counted: null, rejected: `this viewer is not assigned build ${BUILD_B}` });
    const stale = await handleBeacon(asViewer(CANARY_VIEWER, JSON.stringify({ v: 1, buildId: BUILD_C, events: [{ name: 'load' }] })), settings, deps({ ledger }));
    expect(stale).toMatchObject({ response: { statusCode: 410 }, counted: null });
    expect(ledger.size).toBe(0);
  });

  it('answers 503 and counts nothing when the state or the ledger is unavailable, or there is no state', async () => {
    const down = new Error('ProvisionedThroughputExceededException');
    expect(await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, deps({ state: async () => Promise.reject(down) }))).toMatchObject({
      response: { statusCode: 503, headers: { 'retry-after': '60' } },
      counted: null,
      failure: down,
    });
    expect(await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, deps({ state: async () => null }))).toMatchObject({ response: { statusCode: 503 }, counted: null });
    const ledger = { record: async () => Promise.reject(down) };
    expect(await handleBeacon(asViewer(CANARY_VIEWER, canaryBody()), settings, deps({ ledger }))).toMatchObject({ response: { statusCode: 503 }, counted: null, failure: down });
  });

  it('keys the ledger by period, build and counting key, and lets entries expire an hour after their period', async () => {
    const seen: unknown[] = [];
    const now = 1_800_000_030_000;
    await handleBeacon(
      asViewer(CANARY_VIEWER, canaryBody()),
      settings,
      deps(
        {
          ledger: {
            record: async (s) => {
              seen.push(s);
              return { newViewer: true, newErroring: false };
            },
          },
        },
        () => now,
      ),
    );
    const period = periodStart(now, PERIOD_SECONDS);
    expect(seen).toEqual([{ key: ledgerKey(period, BUILD_B, CANARY_VIEWER), erroring: false, expiresAt: (period + 60_000) / 1000 + 3600 }]);
    expect(ledgerKey(period, BUILD_B, CANARY_VIEWER)).toBe(`viewer#${period}#${BUILD_B}#${CANARY_VIEWER}`);
  });
});

describe('the rollout state the metrics API judges by', () => {
  it('is read at most once per fresh time, shared by concurrent requests', async () => {
    let now = 0;
    const read = jest.fn(async () => STATE);
    const state = cachedState({ read, freshMs: 10_000, staleMs: 50_000, now: () => now });
    await Promise.all([state(), state(), state()]);
    now = 9_999;
    await state();
    expect(read).toHaveBeenCalledTimes(1);
    now = 10_000;
    await state();
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('keeps the last good state through failed reads for a bounded time, then fails', async () => {
    let now = 0;
    let fail = false;
    const state = cachedState({ read: async () => (fail ? Promise.reject(new Error('down')) : STATE), freshMs: 10_000, staleMs: 50_000, now: () => now });
    await state();
    fail = true;
    now = 59_999;
    await expect(state()).resolves.toEqual(STATE);
    now = 60_000;
    await expect(state()).rejects.toThrow('down');
  });
});

describe('the release-signal table at the SDK boundary', () => {
  const dynamodb = mockClient(DynamoDBClient);
  const client = new DynamoDBClient({ region: 'us-east-1' });
  beforeEach(() => dynamodb.reset());
  afterAll(() => dynamodb.restore());

  it('records a sighting with one UpdateItem and tells first sightings from what came back', async () => {
    dynamodb
      .on(UpdateItemCommand)
      .resolvesOnce({})
      .resolvesOnce({ Attributes: { seen: { BOOL: true }, expiresAt: { N: '1' } } })
      .resolvesOnce({ Attributes: { seen: { BOOL: true }, erred: { BOOL: true } } });
    const ledger = new DynamoViewerLedger(client, 'edge-widget-release-signal');
    expect(await ledger.record({ key: 'viewer#1#b#v', erroring: false, expiresAt: 99 })).toEqual({ newViewer: true, newErroring: false });
    expect(await ledger.record({ key: 'viewer#1#b#v', erroring: true, expiresAt: 99 })).toEqual({ newViewer: false, newErroring: true });
    expect(await ledger.record({ key: 'viewer#1#b#v', erroring: true, expiresAt: 99 })).toEqual({ newViewer: false, newErroring: false });
    const inputs = dynamodb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toEqual({
      TableName: 'edge-widget-release-signal',
      Key: { pk: { S: 'viewer#1#b#v' } },
      UpdateExpression: 'SET seen = if_not_exists(seen, :yes), expiresAt = :ttl',
      ExpressionAttributeValues: { ':yes': { BOOL: true }, ':ttl': { N: '99' } },
      ReturnValues: 'UPDATED_OLD',
    });
    expect(inputs[1].UpdateExpression).toBe('SET seen = if_not_exists(seen, :yes), expiresAt = :ttl, erred = if_not_exists(erred, :yes)');
  });

  it('refuses a key outside the ledger (the role may only write viewer entries)', async () => {
    await expect(new DynamoViewerLedger(client, 't').record({ key: STATE_COPY_KEY, erroring: false, expiresAt: 1 })).rejects.toThrow('ledger keys start with viewer#');
    expect(dynamodb.calls()).toHaveLength(0);
  });

  it('writes the state copy only over an older one, and reads it back parsed', async () => {
    dynamodb
      .on(PutItemCommand)
      .resolvesOnce({})
      .rejectsOnce(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    const text = formatRolloutState(STATE);
    expect(await writeStateCopy(client, 't', { text, takenAt: 5 })).toBe(true);
    expect(await writeStateCopy(client, 't', { text, takenAt: 4 })).toBe(false);
    expect(dynamodb.commandCalls(PutItemCommand)[0].args[0].input).toEqual({
      TableName: 't',
      Item: { pk: { S: STATE_COPY_KEY }, state: { S: text }, takenAt: { N: '5' } },
      ConditionExpression: 'attribute_not_exists(pk) OR takenAt <= :takenAt',
      ExpressionAttributeValues: { ':takenAt': { N: '5' } },
    });
    dynamodb
      .on(GetItemCommand)
      .resolvesOnce({ Item: { pk: { S: STATE_COPY_KEY }, state: { S: text }, takenAt: { N: '5' } } })
      .resolvesOnce({})
      .resolvesOnce({ Item: { state: { S: 'garbage' } } });
    expect(await readStateCopy(client, 't')).toEqual({ state: STATE, takenAt: 5 });
    expect(await readStateCopy(client, 't')).toBeNull();
    expect(await readStateCopy(client, 't')).toEqual({ state: null, takenAt: 0 });
  });
});

describe('metrics API handler', () => {
  const dynamodb = mockClient(DynamoDBClient);
  const saved = { ...process.env };
  let written: string[] = [];

  function httpEvent(overrides: Partial<APIGatewayProxyEventV2> = {}, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
    return {
      version: '2.0',
      routeKey: 'POST /api/metrics',
      rawPath: '/api/metrics',
      rawQueryString: '',
      headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8', 'content-length': '60', 'X-Origin-Verify': SECRET, 'CloudFront-Viewer-Address': `${CANARY_VIEWER}:443`, ...headers },
      requestContext: {
        accountId: '123456789012',
        apiId: 'api',
        domainName: 'api.execute-api.us-east-1.amazonaws.com',
        domainPrefix: 'api',
        http: { method: 'POST', path: '/api/metrics', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
        requestId: 'r',
        routeKey: 'POST /api/metrics',
        stage: '$default',
        time: '26/Nov/2026:10:00:00 +0000',
        timeEpoch: 0,
      },
      body: JSON.stringify({ v: 1, buildId: BUILD_B, events: [{ name: 'load' }, { name: 'error', message: 'boom' }] }),
      isBase64Encoded: false,
      ...overrides,
    };
  }
  const lines = () =>
    written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(() => {
    Object.assign(process.env, {
      METRICS_NAMESPACE: 'EdgeWidget',
      ALLOWED_ORIGINS: '["https://*.example.com"]',
      MAX_BATCH: '20',
      ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash(SECRET)]),
      PERIOD_SECONDS: '60',
      SIGNAL_TABLE: 'edge-widget-release-signal',
      STATE_CACHE_SECONDS: '10',
      AWS_REGION: 'us-east-1',
    });
  });
  beforeEach(() => {
    dynamodb.reset();
    written = [];
    // Powertools writes INFO lines and metrics to stdout, errors to stderr.
    for (const stream of [process.stdout, process.stderr])
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => {
    process.env = saved;
    dynamodb.restore();
  });

  it('counts a canary viewer: one UpdateItem, one EMF line with the Role dimension, no CloudWatch call, 204', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: { pk: { S: STATE_COPY_KEY }, state: { S: formatRolloutState(STATE) }, takenAt: { N: '1' } } });
    dynamodb.on(UpdateItemCommand).resolves({});
    const response = await handler(httpEvent());
    expect(response.statusCode).toBe(204);
    expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
    const emf = lines().filter((line) => '_aws' in line);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'EdgeWidget',
            Dimensions: [[DIMENSION_ROLE]],
            Metrics: [
              { Name: METRIC_VIEWERS, Unit: 'Count' },
              { Name: METRIC_ERRORING_VIEWERS, Unit: 'Count' },
            ],
          },
        ],
      },
      [DIMENSION_ROLE]: 'canary',
      [METRIC_VIEWERS]: 1,
      [METRIC_ERRORING_VIEWERS]: 1,
      buildId: BUILD_B,
    });
    expect(emf[0]).not.toHaveProperty('service');
    // The client's own words, as a structured log line.
    expect(lines().find((line) => line.message === 'client errors')).toMatchObject({ level: 'INFO', service: 'metrics-api', buildId: BUILD_B, role: 'canary', errors: ['boom'] });
  });

  it('emits nothing for a repeat within the period', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: { pk: { S: STATE_COPY_KEY }, state: { S: formatRolloutState(STATE) }, takenAt: { N: '1' } } });
    dynamodb.on(UpdateItemCommand).resolves({ Attributes: { seen: { BOOL: true }, erred: { BOOL: true } } });
    expect((await handler(httpEvent())).statusCode).toBe(204);
    expect(lines().filter((line) => '_aws' in line)).toHaveLength(0);
  });

  it('refuses a direct call (no origin secret) with 403 before touching the table', async () => {
    const event = httpEvent({}, {});
    delete (event.headers as Record<string, string>)['X-Origin-Verify'];
    const response = await handler(event);
    expect(response.statusCode).toBe(403);
    expect(response.body).toBe('beacons are accepted through the distribution only\n');
    expect(dynamodb.calls()).toHaveLength(0);
  });

  it('answers 503 without crashing when the table fails, and logs why', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: { pk: { S: STATE_COPY_KEY }, state: { S: formatRolloutState(STATE) }, takenAt: { N: '1' } } });
    dynamodb.on(UpdateItemCommand).rejects(new Error('Rate exceeded'));
    expect((await handler(httpEvent())).statusCode).toBe(503);
    expect(lines().find((line) => line.level === 'ERROR')).toMatchObject({ error: 'Rate exceeded' });
  });

  it('reads header names case-insensitively and refuses a foreign origin before reading the body', async () => {
    const response = await handler(httpEvent({ body: 'not even JSON' }, { origin: 'https://evil.net' }));
    expect(response.statusCode).toBe(403);
    expect(dynamodb.calls()).toHaveLength(0);
  });
});

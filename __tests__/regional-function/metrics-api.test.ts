import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beaconSettingsFrom, checkBeacon, handleBeacon, MAX_BODY_BYTES, type BeaconRequest, type MetricPoint } from '../../regional-function/metrics-api/core';
import { handler } from '../../regional-function/metrics-api/index';
import { BUILD_A } from './aws-fixtures';

const ORIGIN = 'https://shop.example.com';
const settings = beaconSettingsFrom('["https://*.example.com","http://127.0.0.1:*"]', '20');

function beaconBody(events: unknown[] = [{ name: 'load' }], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ v: 1, buildId: BUILD_A, events, ...extra });
}

function request(overrides: Partial<BeaconRequest> & { headers?: Record<string, string | undefined> } = {}): BeaconRequest {
  return {
    method: 'POST',
    body: beaconBody(),
    isBase64Encoded: false,
    ...overrides,
    headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8', ...overrides.headers },
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
      points: [
        { metricName: 'Loads', dimensions: [{ name: 'BuildId', value: BUILD_A }], value: 1, unit: 'Count' },
        { metricName: 'Errors', dimensions: [{ name: 'BuildId', value: BUILD_A }], value: 2, unit: 'Count' },
      ],
      cors: { 'access-control-allow-origin': ORIGIN, vary: 'Origin' },
    });
  });

  it('accepts a base64 body (API Gateway’s binary flag) and JSON from tools', () => {
    expect(status(request({ body: Buffer.from(beaconBody()).toString('base64'), isBase64Encoded: true }))).toEqual([204, '']);
    expect(status(request({ headers: { 'content-type': 'application/json' } }))).toEqual([204, '']);
  });

  it.each<[string, Partial<BeaconRequest> & { headers?: Record<string, string | undefined> }, number, string]>([
    ['a GET', { method: 'GET' }, 405, 'beacons are POSTed'],
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
  ])('answers %s with %i', (_what, overrides, code, message) => {
    expect(status(request(overrides))).toEqual([code, message]);
  });

  it('gives CORS headers to allowed origins only, on errors too', () => {
    const bad = checkBeacon(request({ body: 'hello' }), settings);
    expect(!bad.ok && bad.response.headers['access-control-allow-origin']).toBe(ORIGIN);
    const foreign = checkBeacon(request({ headers: { origin: 'https://evil.net' } }), settings);
    expect(!foreign.ok && foreign.response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('reads its settings from the environment values, naming a bad one', () => {
    expect(() => beaconSettingsFrom('https://*.example.com', '20')).toThrow('ALLOWED_ORIGINS must be a JSON array of origin patterns');
    expect(() => beaconSettingsFrom('[]', '20')).toThrow('ALLOWED_ORIGINS must be a non-empty JSON array of strings');
    expect(() => beaconSettingsFrom('["https://example.com/"]', '20')).toThrow('ALLOWED_ORIGINS: "https://example.com/" is not an origin pattern');
    expect(() => beaconSettingsFrom('["https://example.com"]', '0')).toThrow('MAX_BATCH must be a whole number from 1 to 100; got "0"');
  });
});

describe('handleBeacon', () => {
  it('publishes the counts once and answers 204 with CORS headers', async () => {
    const published: (readonly MetricPoint[])[] = [];
    const outcome = await handleBeacon(request(), settings, async (points) => {
      published.push(points);
    });
    expect(outcome.response).toEqual({ statusCode: 204, headers: { 'access-control-allow-origin': ORIGIN, vary: 'Origin', 'cache-control': 'no-store' }, body: '' });
    expect(published).toHaveLength(1);
  });

  it('publishes nothing for a rejected beacon', async () => {
    const publish = jest.fn(async () => undefined);
    expect((await handleBeacon(request({ body: 'x' }), settings, publish)).response.statusCode).toBe(400);
    expect(publish).not.toHaveBeenCalled();
  });

  it('answers 503 when publishing fails, and keeps the error for the log', async () => {
    const failure = new Error('Throttling');
    const outcome = await handleBeacon(request(), settings, async () => {
      throw failure;
    });
    expect(outcome.response.statusCode).toBe(503);
    expect(outcome.response.headers['retry-after']).toBe('60');
    expect(outcome.publishError).toBe(failure);
  });
});

describe('metrics API handler', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  const saved = { ...process.env };

  function httpEvent(overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
    return {
      version: '2.0',
      routeKey: 'POST /api/metrics',
      rawPath: '/api/metrics',
      rawQueryString: '',
      headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8', 'content-length': '60' },
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
      body: beaconBody([{ name: 'load' }, { name: 'load' }, { name: 'error', message: 'boom' }]),
      isBase64Encoded: false,
      ...overrides,
    };
  }

  beforeAll(() => {
    Object.assign(process.env, { METRICS_NAMESPACE: 'EdgeWidget', ALLOWED_ORIGINS: '["https://*.example.com"]', MAX_BATCH: '20', AWS_REGION: 'us-east-1' });
  });
  beforeEach(() => {
    cloudwatch.reset();
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => {
    process.env = saved;
    cloudwatch.restore();
  });

  it('publishes loads and errors of the build in one PutMetricData call', async () => {
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const response = await handler(httpEvent());
    expect(response.statusCode).toBe(204);
    expect(response.headers).toMatchObject({ 'access-control-allow-origin': ORIGIN });
    const calls = cloudwatch.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      Namespace: 'EdgeWidget',
      MetricData: [
        { MetricName: 'Loads', Dimensions: [{ Name: 'BuildId', Value: BUILD_A }], Value: 2, Unit: 'Count' },
        { MetricName: 'Errors', Dimensions: [{ Name: 'BuildId', Value: BUILD_A }], Value: 1, Unit: 'Count' },
      ],
    });
    expect(console.log).toHaveBeenCalledWith(JSON.stringify({ buildId: BUILD_A, origin: ORIGIN, errors: ['boom'] }));
  });

  it('answers 503 without crashing when CloudWatch fails, and logs why', async () => {
    cloudwatch.on(PutMetricDataCommand).rejects(new Error('Rate exceeded'));
    expect((await handler(httpEvent())).statusCode).toBe(503);
    expect(console.error).toHaveBeenCalledWith(expect.stringContaining('Rate exceeded'));
  });

  it('reads header names case-insensitively and refuses a foreign origin before reading the body', async () => {
    const response = await handler(httpEvent({ headers: { Origin: 'https://evil.net', 'Content-Type': 'text/plain' }, body: 'not even JSON' }));
    expect(response.statusCode).toBe(403);
    expect(cloudwatch.calls()).toHaveLength(0);
  });
});

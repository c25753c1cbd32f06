/**
 * Metrics API, pure part: one HTTP request (as plain data) → one response, with the counts to
 * publish handed to an injected `publish`. No AWS types here: the Lambda adapter publishes to
 * CloudWatch, the local mode to whatever it keeps its metrics in.
 *
 * Checks run cheapest and least revealing first: method, origin (nothing is said to a page that
 * may not send beacons), content type, size, encoding, JSON, schema, batch size.
 */
import { DIMENSION_BUILD_ID, METRIC_ERRORS, METRIC_LOADS } from '../shared/metric-names';
import { describeIssue } from '../shared/schema-issues';
import { BEACON_EVENT_NAMES, beaconSchema, MAX_EVENTS_PER_BEACON, type Beacon } from './beacon';
import { originMatcher, type OriginMatcher } from './origin-pattern';

/** sendBeacon bodies are a few hundred bytes; this leaves room for a full batch of messages. */
export const MAX_BODY_BYTES = 8 * 1024;
/** text/plain is what sendBeacon sends for a string (no CORS preflight); JSON is accepted from tools. */
const ACCEPTED_MEDIA_TYPES = ['text/plain', 'application/json'];

export interface BeaconRequest {
  readonly method: string;
  /** Header names in lowercase. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | null | undefined;
  /** The body is base64 (API Gateway sets this for bodies it deems binary). */
  readonly isBase64Encoded: boolean;
}

export interface BeaconResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One CloudWatch datum, without CloudWatch's types. */
export interface MetricPoint {
  readonly metricName: typeof METRIC_LOADS | typeof METRIC_ERRORS;
  readonly dimensions: readonly { readonly name: typeof DIMENSION_BUILD_ID; readonly value: string }[];
  readonly value: number;
  readonly unit: 'Count';
}

export interface BeaconSettings {
  readonly allowedOrigin: OriginMatcher;
  /** Events one beacon may carry (config `metrics.maxBatch`). */
  readonly maxBatch: number;
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
}

export type BeaconCheck =
  | { readonly ok: true; readonly beacon: Beacon; readonly points: readonly MetricPoint[]; readonly cors: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly response: BeaconResponse };

/** Settings from the function's environment values; throws naming the bad variable. */
export function beaconSettingsFrom(allowedOriginsJson: string, maxBatchText: string): BeaconSettings {
  let patterns: unknown;
  try {
    patterns = JSON.parse(allowedOriginsJson);
  } catch {
    throw new Error(`ALLOWED_ORIGINS must be a JSON array of origin patterns such as ["https://*.example.com"]; got ${allowedOriginsJson}`);
  }
  if (!Array.isArray(patterns) || patterns.length === 0 || !patterns.every((p) => typeof p === 'string')) {
    throw new Error(`ALLOWED_ORIGINS must be a non-empty JSON array of strings; got ${allowedOriginsJson}`);
  }
  let allowedOrigin: OriginMatcher;
  try {
    allowedOrigin = originMatcher(patterns);
  } catch (error) {
    throw new Error(`ALLOWED_ORIGINS: ${(error as Error).message}`);
  }
  const maxBatch = Number(maxBatchText);
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_EVENTS_PER_BEACON) {
    throw new Error(`MAX_BATCH must be a whole number from 1 to ${MAX_EVENTS_PER_BEACON}; got "${maxBatchText}"`);
  }
  return { allowedOrigin, maxBatch };
}

/** Loads and errors of the beacon's build, both always present so the alarm's ratio has data. */
export function metricPointsFor(beacon: Beacon): MetricPoint[] {
  const dimensions = [{ name: DIMENSION_BUILD_ID, value: beacon.buildId }] as const;
  const count = (name: string) => beacon.events.filter((event) => event.name === name).length;
  return [
    { metricName: METRIC_LOADS, dimensions, value: count('load'), unit: 'Count' },
    { metricName: METRIC_ERRORS, dimensions, value: count('error'), unit: 'Count' },
  ];
}

export function checkBeacon(request: BeaconRequest, settings: BeaconSettings): BeaconCheck {
  const origin = request.headers.origin;
  const allowed = settings.allowedOrigin(origin);
  const cors: Record<string, string> = allowed && origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
  const reject = (statusCode: number, message: string, extra: Record<string, string> = {}): BeaconCheck => ({
    ok: false,
    response: { statusCode, headers: { ...cors, ...extra, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: `${message}\n` },
  });

  if (request.method !== 'POST') return reject(405, 'beacons are POSTed', { allow: 'POST' });
  if (!allowed) return reject(403, origin ? `origin ${origin} may not send beacons` : 'beacons need an Origin header');
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!ACCEPTED_MEDIA_TYPES.includes(mediaType)) return reject(415, `content type must be ${ACCEPTED_MEDIA_TYPES.join(' or ')}`);

  const maxBytes = settings.maxBodyBytes ?? MAX_BODY_BYTES;
  const raw = request.body ?? '';
  // Refuse an oversized body before decoding it: base64 is 4 characters per 3 bytes.
  if (raw.length > (request.isBase64Encoded ? Math.ceil(maxBytes / 3) * 4 : maxBytes)) return reject(413, `body over ${maxBytes} bytes`);
  let bytes: Buffer;
  if (request.isBase64Encoded) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) return reject(400, 'body is not valid base64');
    bytes = Buffer.from(raw, 'base64');
  } else {
    bytes = Buffer.from(raw, 'utf8');
  }
  if (bytes.length > maxBytes) return reject(413, `body over ${maxBytes} bytes`);
  if (bytes.length === 0) return reject(400, 'body is empty');

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return reject(400, 'body is not UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return reject(400, 'body is not JSON');
  }
  const events = (json as { events?: unknown } | null)?.events;
  if (Array.isArray(events) && events.length > settings.maxBatch) return reject(413, `${events.length} events in one beacon; at most ${settings.maxBatch}`);
  const parsed = beaconSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknownName = issue?.code === 'invalid_value' && issue.path[issue.path.length - 1] === 'name';
    return reject(400, unknownName ? `${issue.path.join('.')}: unknown event name; use ${BEACON_EVENT_NAMES.join(' or ')}` : describeIssue(issue, json, 'beacon'));
  }
  return { ok: true, beacon: parsed.data, points: metricPointsFor(parsed.data), cors };
}

export interface BeaconOutcome {
  readonly response: BeaconResponse;
  /** The accepted beacon (also when publishing failed); null when it was rejected. */
  readonly beacon: Beacon | null;
  /** Why publishing failed, when it did. */
  readonly publishError?: unknown;
}

/** Checks the request, publishes its counts, and answers: 204, 4xx for bad input, 503 when publishing fails. */
export async function handleBeacon(request: BeaconRequest, settings: BeaconSettings, publish: (points: readonly MetricPoint[]) => Promise<void>): Promise<BeaconOutcome> {
  const check = checkBeacon(request, settings);
  if (!check.ok) return { response: check.response, beacon: null };
  try {
    await publish(check.points);
  } catch (publishError) {
    return {
      response: { statusCode: 503, headers: { ...check.cors, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '60' }, body: 'metrics are unavailable; try later\n' },
      beacon: check.beacon,
      publishError,
    };
  }
  return { response: { statusCode: 204, headers: { ...check.cors, 'cache-control': 'no-store' }, body: '' }, beacon: check.beacon };
}

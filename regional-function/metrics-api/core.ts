/**
 * Metrics API, pure part: one HTTP request (as plain data) → one response, and which viewer it
 * counted, if any. No AWS types here: the Lambda adapter records viewers in DynamoDB and emits
 * CloudWatch metrics as embedded metric format; the local mode keeps both in memory.
 *
 * A beacon counts only as contracts/release-signal.ts says: through the distribution (the origin
 * secret), for a build the rollout serves now, that the rollout assigns this viewer, and once per
 * viewer, build and period. Checks run cheapest and least revealing first: method, origin secret
 * (a direct call learns nothing else), page origin, content type, size, encoding, JSON, schema,
 * batch size; then the viewer, the rollout state and the ledger.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { assignBuild, viewerKey } from '../../contracts/assignment';
import { normalizeOrigin, type RolloutState } from '../../contracts/rollout-state';
import { ORIGIN_SECRET_HEADER, periodStart, VIEWER_ADDRESS_HEADER, viewerAddressIp, type Role } from '../../contracts/release-signal';
import { describeIssue } from '../../contracts/schema-issues';
import { BEACON_EVENT_NAMES, beaconSchema, MAX_EVENTS_PER_BEACON, type Beacon } from '../../contracts/beacon';
import { originMatcher, type OriginMatcher } from '../../contracts/origin-pattern';
import type { SightingResult, ViewerLedger } from './viewer-ledger';

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

export interface BeaconSettings {
  readonly allowedOrigin: OriginMatcher;
  /** Events one beacon may carry (config `metrics.maxBatch`). */
  readonly maxBatch: number;
  /** SHA-256 (hex) of each origin secret the distribution may be sending: the current one and, after a rotation, the previous one. */
  readonly originSecretHashes: readonly string[];
  /** The alarm's period (config `alarms.periodSeconds`): a viewer counts once per period. */
  readonly periodSeconds: number;
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
}

/** The values the stacks put in the function's environment (contracts/function-environment.ts). */
export interface BeaconSettingValues {
  readonly ALLOWED_ORIGINS: string;
  readonly MAX_BATCH: string;
  readonly ORIGIN_SECRET_SHA256: string;
  readonly PERIOD_SECONDS: string;
}

export type BeaconCheck = { readonly ok: true; readonly beacon: Beacon; readonly cors: Readonly<Record<string, string>> } | { readonly ok: false; readonly response: BeaconResponse };

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Settings from the function's environment values; throws naming the bad variable. */
export function beaconSettingsFrom(values: BeaconSettingValues): BeaconSettings {
  const { ALLOWED_ORIGINS: allowedOriginsJson, MAX_BATCH: maxBatchText } = values;
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
  let hashes: unknown;
  try {
    hashes = JSON.parse(values.ORIGIN_SECRET_SHA256);
  } catch {
    hashes = null;
  }
  if (!Array.isArray(hashes) || hashes.length === 0 || !hashes.every((h) => typeof h === 'string' && SHA256_HEX.test(h))) {
    throw new Error('ORIGIN_SECRET_SHA256 must be a non-empty JSON array of SHA-256 digests in lowercase hex (the stack sets it from the origin secrets)');
  }
  const periodSeconds = Number(values.PERIOD_SECONDS);
  if (!Number.isInteger(periodSeconds) || periodSeconds < 1) throw new Error(`PERIOD_SECONDS must be a whole number of seconds; got "${values.PERIOD_SECONDS}"`);
  return { allowedOrigin, maxBatch, originSecretHashes: hashes as string[], periodSeconds };
}

/** SHA-256 of a secret, in lowercase hex: what the environment holds instead of the secret. */
export function originSecretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether the request carries one of the origin secrets; compares digests in constant time. */
export function fromDistribution(headers: BeaconRequest['headers'], hashes: readonly string[]): boolean {
  const presented = headers[ORIGIN_SECRET_HEADER];
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return false;
  const digest = Buffer.from(originSecretHash(presented), 'hex');
  let match = false;
  for (const hash of hashes) match = timingSafeEqual(digest, Buffer.from(hash, 'hex')) || match;
  return match;
}

function respond(statusCode: number, cors: Readonly<Record<string, string>>, message: string, extra: Record<string, string> = {}): BeaconResponse {
  return { statusCode, headers: { ...cors, ...extra, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: `${message}\n` };
}

/** The request's shape: everything that can be judged without the rollout state. */
export function checkBeacon(request: BeaconRequest, settings: BeaconSettings): BeaconCheck {
  const origin = request.headers.origin;
  const allowed = settings.allowedOrigin(origin);
  const cors: Record<string, string> = allowed && origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
  const reject = (statusCode: number, message: string, extra: Record<string, string> = {}): BeaconCheck => ({ ok: false, response: respond(statusCode, cors, message, extra) });

  if (request.method !== 'POST') return reject(405, 'beacons are POSTed', { allow: 'POST' });
  // Before anything else about the request: a call that did not come through the distribution
  // learns nothing, not even whether its origin or body would pass.
  if (!fromDistribution(request.headers, settings.originSecretHashes)) return { ok: false, response: respond(403, {}, 'beacons are accepted through the distribution only') };
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
  return { ok: true, beacon: parsed.data, cors };
}

/** Why a well-formed beacon does not count, or for whom it does. */
export type BeaconJudgement = { readonly counts: true; readonly role: Role; readonly viewer: string } | { readonly counts: false; readonly statusCode: number; readonly reason: string };

/**
 * Pure: does this beacon speak for its viewer? `ip` is the viewer's address as CloudFront saw it,
 * `origin` the page's (the beacon's Origin header, as the edge takes it from Referer).
 */
export function judgeBeacon(beacon: Beacon, state: RolloutState, ip: string | null, origin: string | undefined): BeaconJudgement {
  const role: Role | null = beacon.buildId === state.canary ? 'canary' : beacon.buildId === state.stable ? 'stable' : null;
  if (role === null) return { counts: false, statusCode: 410, reason: `build ${beacon.buildId} is not being served now` };
  const viewer = ip === null ? null : viewerKey(ip);
  if (ip === null || viewer === null) return { counts: false, statusCode: 400, reason: 'the viewer address is missing (CloudFront-Viewer-Address)' };
  const assigned = assignBuild(state, ip, origin === undefined ? null : normalizeOrigin(origin));
  if (assigned !== beacon.buildId) return { counts: false, statusCode: 403, reason: `this viewer is not assigned build ${beacon.buildId}` };
  // A canary viewer only by its page's (claimable) origin: counted, never judged.
  if (role === 'canary' && assignBuild(state, ip, null) !== state.canary) return { counts: true, role: 'ring', viewer };
  return { counts: true, role, viewer };
}

/** What one request counted: at most one new viewer and one new erroring viewer, of one role. */
export interface CountedViewer {
  readonly role: Role;
  readonly buildId: string;
  readonly newViewer: boolean;
  readonly newErroring: boolean;
}

export interface BeaconOutcome {
  readonly response: BeaconResponse;
  /** The well-formed beacon (also when it did not count); null when the request was refused. */
  readonly beacon: Beacon | null;
  /** Set when the beacon counted: what it added (both false for a repeat within the period). */
  readonly counted: CountedViewer | null;
  /** Why a well-formed beacon did not count. */
  readonly rejected?: string;
  /** Why the state or the ledger could not be used, when they could not. */
  readonly failure?: unknown;
}

export interface BeaconDependencies {
  /** The rollout state as the edges use it (cached by the caller); null when there is none. */
  readonly state: () => Promise<RolloutState | null>;
  readonly ledger: ViewerLedger;
  readonly now: () => number;
}

/** Items in the ledger outlive their period by this much (DynamoDB's TTL deletes them later still). */
export const LEDGER_RETENTION_SECONDS = 3600;

/** The ledger key of a viewer for a build in a period. */
export function ledgerKey(period: number, buildId: string, viewer: string): string {
  return `viewer#${period}#${buildId}#${viewer}`;
}

/**
 * Checks the request, judges the beacon, records the viewer, and answers: 204 when it counted
 * (a repeat within the period too: a sender learns nothing from it), 4xx for what does not count,
 * 503 when the state or the ledger cannot be read (the beacon is not counted, and may be retried).
 */
export async function handleBeacon(request: BeaconRequest, settings: BeaconSettings, deps: BeaconDependencies): Promise<BeaconOutcome> {
  const check = checkBeacon(request, settings);
  if (!check.ok) return { response: check.response, beacon: null, counted: null };
  const { beacon, cors } = check;
  const unavailable = (failure: unknown): BeaconOutcome => ({
    response: respond(503, cors, 'metrics are unavailable; try later', { 'retry-after': '60' }),
    beacon,
    counted: null,
    failure,
  });
  let state: RolloutState | null;
  try {
    state = await deps.state();
  } catch (error) {
    return unavailable(error);
  }
  if (state === null) return unavailable(new Error('no rollout state to judge beacons by'));
  const judgement = judgeBeacon(beacon, state, viewerAddressIpOf(request), request.headers.origin);
  if (!judgement.counts) return { response: respond(judgement.statusCode, cors, judgement.reason), beacon, counted: null, rejected: judgement.reason };

  const now = deps.now();
  const period = periodStart(now, settings.periodSeconds);
  const erroring = beacon.events.some((event) => event.name === 'error');
  let sighting: SightingResult;
  try {
    sighting = await deps.ledger.record({
      key: ledgerKey(period, beacon.buildId, judgement.viewer),
      erroring,
      expiresAt: Math.ceil((period + settings.periodSeconds * 1000) / 1000) + LEDGER_RETENTION_SECONDS,
    });
  } catch (error) {
    return unavailable(error);
  }
  return {
    response: { statusCode: 204, headers: { ...cors, 'cache-control': 'no-store' }, body: '' },
    beacon,
    counted: { role: judgement.role, buildId: beacon.buildId, newViewer: sighting.newViewer, newErroring: erroring && sighting.newErroring },
  };
}

function viewerAddressIpOf(request: BeaconRequest): string | null {
  return viewerAddressIp(request.headers[VIEWER_ADDRESS_HEADER]);
}

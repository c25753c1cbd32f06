/**
 * The rollout state: which builds viewers get, at what weight, and which host sites see the canary
 * first. One JSON value under the key `rollout` in the distribution's CloudFront KeyValueStore:
 *
 *   {"v":1,"stable":"<buildId>","canary":"<buildId>"|null,"weight":0..10000,"salt":"<token>"|null,
 *    "ring":["https://demo.example.com", ...]
 *    ,"previews":[["<buildId>","<viewer prefix>",<until, epoch seconds>], ...]}
 *
 * rollout sync writes it, mirroring the alias `live` (stable, canary, weight, salt); the rollout
 * CLI edits the ring; the viewer-assignment function reads it on every entry load, the entry
 * router when that function could not, and the signal consumer (through the timeline) to know
 * which role and build each viewer was given.
 *
 * - weight: the canary's share of viewers in basis points (2500 = 25 %).
 * - salt: changes with every deployment, so each one draws a fresh cohort (contracts/assignment.ts).
 * - ring: host origins (scheme://host[:port], the origin of the page that loads the widget) that
 *   get the canary whatever the weight, for as long as there is one.
 * - previews (only while there are some, so that a state without previews is the value every
 *   earlier reader understands): a viewer inside a prefix (contracts/viewer-address.ts) gets that
 *   build on every host page, whatever the weight and with no rollout at all, until the time
 *   given. The readers compare the time with their clock, so nothing has to remove a preview for
 *   it to end; writers drop expired ones when they write. `rollout preview` writes them.
 *
 * The ring and the previews share one budget (`sharedBudget`): what the value quota leaves beside
 * the largest the rest of a state can grow to, so that neither ever stops a rollout being written.
 *
 * The parser is strict: anything it does not fully understand (another version, an unknown or
 * missing field, a bad id, an out-of-range weight, a ring entry that is not a normalized origin,
 * over the store's value quota) is no state at all, and readers fall back as documented in
 * edge-function/. Writers format through `formatRolloutState`, which refuses what the parser would.
 *
 * Runs in the viewer-assignment CloudFront Function: written in the language subset of
 * cloudfront-js-2.0 (no spread, destructuring, for-of, classes, default parameters or template
 * literals; edge-code/cloudfront-function.ts checks the bundle).
 */
import { isBuildId } from './build-id';
import { normalizeViewerPrefix, parseViewerPrefix, viewerPrefixProblem } from './viewer-address';

export const ROLLOUT_STATE_KEY = 'rollout';
/**
 * The one line the viewer-assignment function logs when it cannot use the state and passes the
 * load on to the entry router: this, a space and `read` (the store gave no value: a missing key or
 * a store error) or `invalid` (the parser refused the value). CloudFront Functions send console.log
 * lines to CloudWatch Logs, and a metric filter counts this term (stacks/constructs/rollout-alarms.ts).
 */
export const STATE_UNREADABLE_LOG = 'rollout-state-unreadable';
export const ROLLOUT_STATE_VERSION = 1;
/** CloudFront KeyValueStore's quota on one value (CloudFront developer guide, "Quotas"). */
export const MAX_STATE_BYTES = 1024;
export const WEIGHT_SCALE = 10000;

export interface RolloutState {
  readonly stable: string;
  /** null when no rollout is under way. */
  readonly canary: string | null;
  /** Basis points of viewers on the canary, 0..10000; 0 without a canary. */
  readonly weight: number;
  /** null without a canary. */
  readonly salt: string | null;
  /** Normalized host origins that get the canary whatever the weight. */
  readonly ring: readonly string[];
  /** Viewers shown a build of their own until a time; absent (or empty) when there are none. */
  readonly previews?: readonly Preview[];
}

/** One preview: viewers inside `viewer` get `build` until `until`. */
export interface Preview {
  readonly build: string;
  /** A normalized address or prefix (contracts/viewer-address.ts normalizeViewerPrefix). */
  readonly viewer: string;
  /** Epoch seconds: the preview is in force while the reader's clock is before it. */
  readonly until: number;
}

const SALT = /^[A-Za-z0-9_-]{1,64}$/;
const FIELDS = ['v', 'stable', 'canary', 'weight', 'salt', 'ring'];
/** Written only while there are previews. */
const PREVIEWS_FIELD = 'previews';
/** The latest a preview may end: 2286, the last epoch second with ten digits. */
const MAX_UNTIL = 9999999999;
/**
 * How long a preview may last, as the commands and the local control endpoint take it: a preview
 * is for checking a build, not a second rollout (ask again to keep it); an hour when not told; the
 * commands take no less than a minute, longer than the store takes to reach every edge.
 */
export const PREVIEW_LONGEST_MS = 7 * 24 * 3_600_000;
export const PREVIEW_DEFAULT_MS = 3_600_000;
export const PREVIEW_SHORTEST_MS = 60_000;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const ORIGIN = new RegExp('^(https?)://(' + LABEL + '(?:\\.' + LABEL + ')*)(?::([1-9][0-9]{0,4}))?$');
const REFERER_ORIGIN = /^(https?:\/\/[^/?#]*)/i;

/**
 * A serialized origin in the one form the ring holds: lowercase, no default port, no path; null
 * for anything else (credentials, IPv6 literals, a path, a trailing dot, a port out of range).
 */
export function normalizeOrigin(text: string): string | null {
  if (typeof text !== 'string' || text.length > 300) return null;
  const match = ORIGIN.exec(text.toLowerCase());
  if (match === null) return null;
  const scheme = match[1];
  const host = match[2];
  if (scheme === undefined || host === undefined || host.length > 253) return null;
  const port = match[3] === undefined ? null : parseInt(match[3], 10);
  if (port !== null && port > 65535) return null;
  const defaultPort = scheme === 'https' ? 443 : 80;
  return scheme + '://' + host + (port === null || port === defaultPort ? '' : ':' + port);
}

/** The origin of the page a Referer names, normalized; null when there is none to use. */
export function refererOrigin(referer: string | undefined): string | null {
  if (typeof referer !== 'string' || referer.length === 0 || referer.length > 4096) return null;
  const match = REFERER_ORIGIN.exec(referer);
  return match === null || match[1] === undefined ? null : normalizeOrigin(match[1]);
}

function validState(state: RolloutState): boolean {
  if (!isBuildId(state.stable)) return false;
  if (
    typeof state.weight !== 'number' ||
    !Number.isInteger(state.weight) ||
    state.weight < 0 ||
    state.weight > WEIGHT_SCALE
  )
    return false;
  if (state.canary === null) {
    if (state.weight !== 0 || state.salt !== null) return false;
  } else {
    if (!isBuildId(state.canary) || state.canary === state.stable) return false;
    if (typeof state.salt !== 'string' || !SALT.test(state.salt)) return false;
  }
  if (!Array.isArray(state.ring)) return false;
  for (let i = 0; i < state.ring.length; i += 1) {
    const origin = state.ring[i];
    if (normalizeOrigin(origin) !== origin || state.ring.indexOf(origin) !== i) return false;
  }
  const previews = state.previews;
  if (previews === undefined) return true;
  if (!Array.isArray(previews)) return false;
  for (let i = 0; i < previews.length; i += 1) {
    const preview = previews[i];
    if (typeof preview !== 'object' || preview === null) return false;
    if (!isBuildId(preview.build) || parseViewerPrefix(preview.viewer) === null) return false;
    if (typeof preview.until !== 'number' || !Number.isInteger(preview.until)) return false;
    if (preview.until <= 0 || preview.until > MAX_UNTIL) return false;
    for (let j = 0; j < i; j += 1) if (previews[j]!.viewer === preview.viewer) return false;
  }
  return true;
}

/** The previews of a stored value (`[[build, viewer, until], …]`, not empty), or null when it is not one. */
function parsePreviews(value: unknown): Preview[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const previews: Preview[] = [];
  for (let i = 0; i < value.length; i += 1) {
    const entry = value[i];
    if (!Array.isArray(entry) || entry.length !== 3) return null;
    previews.push({ build: entry[0], viewer: entry[1], until: entry[2] });
  }
  return previews;
}

/** The state in a stored value, or null when the value is not one this version fully understands. */
export function parseRolloutState(text: unknown): RolloutState | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_STATE_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const withPreviews = PREVIEWS_FIELD in record;
  if (keys.length !== FIELDS.length + (withPreviews ? 1 : 0)) return null;
  for (let i = 0; i < keys.length; i += 1) if (FIELDS.indexOf(keys[i]!) < 0 && keys[i] !== PREVIEWS_FIELD) return null;
  if (record.v !== ROLLOUT_STATE_VERSION) return null;
  const state: { -readonly [field in keyof RolloutState]: RolloutState[field] } = {
    stable: record.stable as string,
    canary: record.canary as string | null,
    weight: record.weight as number,
    salt: record.salt as string | null,
    ring: record.ring as string[],
  };
  if (withPreviews) {
    const parsed = parsePreviews(record.previews);
    if (parsed === null) return null;
    state.previews = parsed;
  }
  return validState(state) ? state : null;
}

/** Bytes of a value as the store counts them (UTF-8). */
export function stateBytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The stored value for a state; throws when the state is invalid or would not fit the store's value quota. */
export function formatRolloutState(state: RolloutState): string {
  if (!validState(state)) throw new Error('not a valid rollout state: ' + JSON.stringify(state));
  const text = JSON.stringify(storedForm(state));
  const bytes = stateBytes(text);
  if (bytes > MAX_STATE_BYTES) {
    throw new RangeError(
      `the rollout state would be ${bytes} bytes, over the ${MAX_STATE_BYTES}-byte value quota of CloudFront ` +
        `KeyValueStore; remove ring origins (${state.ring.length} now) or previews ` +
        `(${state.previews?.length ?? 0} now)`,
    );
  }
  return text;
}

/** The value written for a state: `previews` only when there are some. */
function storedForm(state: RolloutState): Record<string, unknown> {
  const stored: Record<string, unknown> = {
    v: ROLLOUT_STATE_VERSION,
    stable: state.stable,
    canary: state.canary,
    weight: state.weight,
    salt: state.salt,
    ring: state.ring,
  };
  if (state.previews !== undefined && state.previews.length > 0)
    stored[PREVIEWS_FIELD] = state.previews.map((preview) => [preview.build, preview.viewer, preview.until]);
  return stored;
}

/** A state with no rollout under way: everyone on `stable`. */
export function steadyState(stable: string, ring: readonly string[] = []): RolloutState {
  return { stable, canary: null, weight: 0, salt: null, ring };
}

/**
 * Bytes the ring and the previews take in the stored value, and what they may take at most
 * together: what the store's value quota leaves beside the largest the rest of a state can grow
 * to (both builds, weight 10000, a salt of 64 characters), so that a ring or a preview that fits
 * today never stops a rollout from being written later.
 */
export function sharedBudget(state: Pick<RolloutState, 'ring' | 'previews'>): {
  readonly used: number;
  readonly limit: number;
} {
  const largestRest = {
    v: ROLLOUT_STATE_VERSION,
    stable: 'f'.repeat(16),
    canary: 'e'.repeat(16),
    weight: WEIGHT_SCALE,
    salt: 'x'.repeat(64),
    ring: [],
  };
  const rest = stateBytes(JSON.stringify(largestRest));
  const withShared = storedForm({ ...largestRest, ring: state.ring, previews: state.previews });
  return { used: stateBytes(JSON.stringify(withShared)) - rest, limit: MAX_STATE_BYTES - rest };
}

/** `state` with `origin` added to its ring; throws saying why when it is not an origin or the ring is full. */
export function withRingOrigin(state: RolloutState, origin: string): RolloutState {
  const normalized = normalizeOrigin(origin);
  if (normalized === null) {
    throw new Error(
      `${JSON.stringify(origin)} is not a host origin: write scheme://host[:port] with no path, ` +
        `e.g. https://demo.example.com (what the page's Referer starts with)`,
    );
  }
  if (state.ring.includes(normalized)) return state;
  const ring = [...state.ring, normalized];
  const budget = sharedBudget({ ring, previews: state.previews });
  if (budget.used > budget.limit) {
    throw new RangeError(
      `the ring cannot take ${normalized}: its ${ring.length} origins` +
        `${state.previews?.length ? ` and ${state.previews.length} previews` : ''} would take ${budget.used} of ` +
        `the ${budget.limit} bytes the ring and previews may use (a rollout state is at most ${MAX_STATE_BYTES} ` +
        `bytes, CloudFront KeyValueStore's value quota); remove an origin` +
        `${state.previews?.length ? ' or a preview' : ''} first`,
    );
  }
  return { ...state, ring };
}

/** `state` without `origin` in its ring. */
export function withoutRingOrigin(state: RolloutState, origin: string): RolloutState {
  const normalized = normalizeOrigin(origin) ?? origin;
  return { ...state, ring: state.ring.filter((entry) => entry !== normalized) };
}

/** The previews still in force at `nowMs` (epoch ms). */
export function livePreviews(state: RolloutState, nowMs: number): readonly Preview[] {
  return (state.previews ?? []).filter((preview) => preview.until * 1000 > nowMs);
}

/** `state` with only the previews still in force at `nowMs`, and none of `without`'s. */
function keptPreviews(state: RolloutState, nowMs: number, without: (preview: Preview) => boolean): RolloutState {
  const previews = livePreviews(state, nowMs).filter((preview) => !without(preview));
  const { previews: _dropped, ...rest } = state;
  return previews.length > 0 ? { ...rest, previews } : rest;
}

/**
 * `state` with viewers inside `viewer` shown `build` until `until` (epoch seconds), replacing a
 * preview of the same prefix, and without the previews that ended by `nowMs`. Throws saying why
 * when the prefix is not one a preview may name, the time is not ahead, or the state would not fit.
 */
export function withPreview(
  state: RolloutState,
  preview: { readonly build: string; readonly viewer: string; readonly until: number },
  nowMs: number,
): RolloutState {
  if (!isBuildId(preview.build)) throw new Error(`not a build id: ${JSON.stringify(preview.build)}`);
  const viewer = normalizeViewerPrefix(preview.viewer);
  if (viewer === null) throw new Error(viewerPrefixProblem(preview.viewer) ?? 'not a viewer prefix');
  if (!Number.isInteger(preview.until) || preview.until <= 0 || preview.until > MAX_UNTIL)
    throw new RangeError(
      `a preview ends at whole epoch seconds from 1 to ${MAX_UNTIL}; got ${JSON.stringify(preview.until)}`,
    );
  if (preview.until * 1000 <= nowMs)
    throw new RangeError(`a preview must end in the future; ${preview.until} (epoch seconds) is not ahead of now`);
  const kept = keptPreviews(state, nowMs, (existing) => existing.viewer === viewer);
  const previews = [...(kept.previews ?? []), { build: preview.build, viewer, until: preview.until }];
  const budget = sharedBudget({ ring: kept.ring, previews });
  if (budget.used > budget.limit) {
    throw new RangeError(
      `the rollout state cannot take another preview: ${previews.length} previews and ${kept.ring.length} ring ` +
        `origins would take ${budget.used} of the ${budget.limit} bytes they may share (a rollout state is at most ` +
        `${MAX_STATE_BYTES} bytes, CloudFront KeyValueStore's value quota); remove a preview or a ring origin first`,
    );
  }
  return { ...kept, previews };
}

/** `state` without the preview of `viewer` (its stored form, or any text that normalizes to it), nor expired ones. */
export function withoutPreview(state: RolloutState, viewer: string, nowMs: number): RolloutState {
  const normalized = normalizeViewerPrefix(viewer) ?? viewer;
  return keptPreviews(state, nowMs, (preview) => preview.viewer === normalized);
}

/** `state` without any preview of `build`, nor expired ones. */
export function withoutPreviewsOf(state: RolloutState, build: string, nowMs: number): RolloutState {
  return keptPreviews(state, nowMs, (preview) => preview.build === build);
}

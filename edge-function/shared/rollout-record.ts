/**
 * The rollout record: `_rollout.<domain>` TXT, written by rollout sync (mirroring the CodeDeploy
 * alias), read by every entry router, shown by `rollout status`, and served by the local DNS.
 *
 *   v=1 stable=<buildId> canary=<buildId|-> weight=<0..10000> salt=<token|->
 *
 * weight is the canary's share in basis points. The parser is strict: a record it does not fully
 * understand (unknown version or key, duplicate, out-of-range weight, bad id, oversized) is
 * rejected, and a router that gets no valid record never shifts traffic.
 */
export interface RolloutRecord {
  readonly stable: string;
  /** null when no rollout is under way. */
  readonly canary: string | null;
  /** Basis points of viewers on the canary, 0..10000. */
  readonly weight: number;
  /** Changes with every deployment so each one picks a fresh cohort; null when there is no canary. */
  readonly salt: string | null;
}

export const ROLLOUT_RECORD_VERSION = 1;
/** One TXT character-string holds 255 bytes; the record must fit in one. */
export const MAX_ROLLOUT_RECORD_LENGTH = 255;

const BUILD_ID = /^[0-9a-f]{16}$/;
const SALT = /^[A-Za-z0-9_-]{1,64}$/;
const KEYS = ['v', 'stable', 'canary', 'weight', 'salt'] as const;

export function isBuildId(value: unknown): value is string {
  return typeof value === 'string' && BUILD_ID.test(value);
}

export function formatRolloutRecord(record: RolloutRecord): string {
  const valid = validate(record);
  if (!valid) throw new Error(`not a valid rollout record: ${JSON.stringify(record)}`);
  return `v=${ROLLOUT_RECORD_VERSION} stable=${valid.stable} canary=${valid.canary ?? '-'} weight=${valid.weight} salt=${valid.salt ?? '-'}`;
}

/**
 * Parses the record from its TXT strings (DNS may split a value into several; they are joined
 * as resolvers do). Returns null for anything malformed.
 */
export function parseRolloutRecord(txt: string | readonly string[]): RolloutRecord | null {
  const text = typeof txt === 'string' ? txt : txt.join('');
  if (text.length === 0 || text.length > MAX_ROLLOUT_RECORD_LENGTH) return null;
  const fields = new Map<string, string>();
  for (const part of text.trim().split(/ +/)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = part.slice(0, eq);
    if (!(KEYS as readonly string[]).includes(key) || fields.has(key)) return null;
    fields.set(key, part.slice(eq + 1));
  }
  if (fields.size !== KEYS.length || fields.get('v') !== String(ROLLOUT_RECORD_VERSION)) return null;
  const weightText = fields.get('weight')!;
  if (!/^\d{1,5}$/.test(weightText)) return null;
  const canary = fields.get('canary')!;
  const salt = fields.get('salt')!;
  return validate({
    stable: fields.get('stable')!,
    canary: canary === '-' ? null : canary,
    weight: Number(weightText),
    salt: salt === '-' ? null : salt,
  });
}

function validate(record: RolloutRecord): RolloutRecord | null {
  if (!isBuildId(record.stable)) return null;
  if (!Number.isInteger(record.weight) || record.weight < 0 || record.weight > 10000) return null;
  if (record.canary === null) {
    // No canary: nobody can be assigned to one.
    return record.weight === 0 ? { stable: record.stable, canary: null, weight: 0, salt: record.salt !== null && SALT.test(record.salt) ? record.salt : null } : null;
  }
  if (!isBuildId(record.canary)) return null;
  if (record.salt === null || !SALT.test(record.salt)) return null;
  return { stable: record.stable, canary: record.canary, weight: record.weight, salt: record.salt };
}

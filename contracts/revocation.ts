/**
 * A revoked build: one the rollout CLI took away for good (`rollout revoke`), because it must
 * never run again anywhere, a security hole, say. Each is a key of its own in the distribution's
 * KeyValueStore, beside the rollout state:
 *
 *   revoked/<buildId>   {"v":1,"at":<epoch ms>,"reason":"<why, as the operator wrote it>"}
 *
 * One key per build, so the count of revocations has no budget but the store's; the entry router
 * asks for the one key of the build a request names (on a cache miss only), and the commands that
 * would make a build stable, canary or a rollback target ask for that build's key first.
 *
 * The parser is strict, as the rollout state's is: a value it does not fully understand is still
 * a revocation (the key's presence is what revokes; the record only says when and why), so a
 * reader never serves a build because its record was malformed.
 */
import { isBuildId } from './build-id';

export const REVOCATION_KEY_PREFIX = 'revoked/';
export const REVOCATION_VERSION = 1;
/** Longest reason kept: a sentence, not a report (link the report). */
export const MAX_REASON_LENGTH = 300;

export interface Revocation {
  readonly buildId: string;
  /** Epoch ms; null when the stored record could not be read (it still revokes). */
  readonly at: number | null;
  readonly reason: string;
}

export function revocationKey(buildId: string): string {
  if (!isBuildId(buildId)) throw new Error(`not a build id: ${JSON.stringify(buildId)}`);
  return REVOCATION_KEY_PREFIX + buildId;
}

/** The build a key revokes, or null for a key that is not a revocation. */
export function revokedBuildOf(key: string): string | null {
  if (!key.startsWith(REVOCATION_KEY_PREFIX)) return null;
  const buildId = key.slice(REVOCATION_KEY_PREFIX.length);
  return isBuildId(buildId) ? buildId : null;
}

/** What an operator may give as the reason: one line of printable text, not empty, at most MAX_REASON_LENGTH. */
export function reasonProblem(reason: string): string | null {
  const trimmed = reason.trim();
  if (trimmed.length === 0) return 'is empty: say why the build is revoked (a CVE, an incident, a link)';
  if (trimmed.length > MAX_REASON_LENGTH)
    return `is ${trimmed.length} characters, over ${MAX_REASON_LENGTH}: link the report instead`;
  for (const character of trimmed) {
    const code = character.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return 'has a line break or a control character: write one line';
  }
  return null;
}

export function formatRevocation(revocation: Omit<Revocation, 'buildId'>): string {
  const problem = reasonProblem(revocation.reason);
  if (problem !== null) throw new Error(`the reason ${problem}`);
  return JSON.stringify({ v: REVOCATION_VERSION, at: revocation.at, reason: revocation.reason.trim() });
}

/** The record of a revocation as stored; a value that is not one still revokes, with its reason unknown. */
export function parseRevocation(buildId: string, text: string | undefined): Revocation {
  const unknown: Revocation = { buildId, at: null, reason: '(the stored record is not readable)' };
  if (typeof text !== 'string' || text.length > 1024) return unknown;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (
      value === null ||
      typeof value !== 'object' ||
      value.v !== REVOCATION_VERSION ||
      typeof value.at !== 'number' ||
      typeof value.reason !== 'string'
    )
      return unknown;
    return { buildId, at: value.at, reason: value.reason };
  } catch {
    return unknown;
  }
}

/** The revocations among a store's keys and values, oldest first (unknown times last). */
export function revocationsOf(
  items: Iterable<{ readonly key: string; readonly value: string | undefined }>,
): Revocation[] {
  const found: Revocation[] = [];
  for (const { key, value } of items) {
    const buildId = revokedBuildOf(key);
    if (buildId !== null) found.push(parseRevocation(buildId, value));
  }
  return found.sort((a, b) => (a.at ?? Number.MAX_SAFE_INTEGER) - (b.at ?? Number.MAX_SAFE_INTEGER));
}

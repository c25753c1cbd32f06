/**
 * The rollout record as Route53 stores it: one TXT record set, one quoted string. Rollout sync
 * reads and writes it here; the rollout CLI reads it here to show what the edges see.
 */
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { parseRolloutRecord, type RolloutRecord } from '../../edge-function/shared/rollout-record';
import { errorName } from './aws-errors';

export interface StoredRolloutRecord {
  /** The TXT character-strings, unquoted. */
  readonly strings: readonly string[];
  /** The strings joined, as resolvers (and the entry router) read them. */
  readonly text: string;
  readonly ttl: number | null;
  /** Null when the text is not a valid rollout record. */
  readonly record: RolloutRecord | null;
}

/** A TXT value as Route53 takes it: one quoted character-string, `"` and `\` escaped. */
export function quoteTxt(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The character-strings of a TXT value as Route53 returns it (`"a" "b"`), with `\"`, `\\` and
 * `\ddd` (octal bytes: how Route53 escapes anything outside printable ASCII) undone, and the
 * bytes read as UTF-8. Unquoted words are taken as they are.
 */
export function unquoteTxt(value: string): string[] {
  const strings: string[] = [];
  let i = 0;
  while (i < value.length) {
    if (value[i] === ' ') {
      i += 1;
      continue;
    }
    const quoted = value[i] === '"';
    if (quoted) i += 1;
    const bytes: number[] = [];
    while (i < value.length && (quoted ? value[i] !== '"' : value[i] !== ' ')) {
      const octal = value[i] === '\\' ? /^[0-7]{3}/.exec(value.slice(i + 1, i + 4)) : null;
      if (octal) {
        bytes.push(parseInt(octal[0], 8) & 0xff);
        i += 4;
        continue;
      }
      if (value[i] === '\\' && i + 1 < value.length) i += 1;
      const codePoint = value.codePointAt(i)!;
      const char = String.fromCodePoint(codePoint);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length;
    }
    if (quoted) i += 1;
    strings.push(Buffer.from(bytes).toString('utf8'));
  }
  return strings;
}

/** Route53 names are absolute and lowercase in answers. */
function sameName(a: string, b: string): boolean {
  const normalize = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();
  return normalize(a) === normalize(b);
}

/** The TXT record `name` in the zone, or null when there is none. */
export async function readStoredRolloutRecord(route53: Route53Client, hostedZoneId: string, name: string): Promise<StoredRolloutRecord | null> {
  const listed = await withZoneErrors(hostedZoneId, () =>
    route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: name, StartRecordType: 'TXT', MaxItems: 1 })),
  );
  // Listing starts at (name, TXT) or the next record after it: check it is the one asked for.
  const set = listed.ResourceRecordSets?.[0];
  if (!set || set.Type !== 'TXT' || !set.Name || !sameName(set.Name, name)) return null;
  const strings = (set.ResourceRecords ?? []).flatMap((record) => unquoteTxt(record.Value ?? ''));
  const text = strings.join('');
  return { strings, text, ttl: set.TTL ?? null, record: parseRolloutRecord(strings) };
}

/** Creates or replaces the record with one quoted string. */
export async function upsertRolloutRecord(route53: Route53Client, hostedZoneId: string, name: string, text: string, ttl: number): Promise<void> {
  await withZoneErrors(hostedZoneId, () =>
    route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: {
          Comment: 'rollout sync: mirror of the entry router alias',
          Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: [{ Value: quoteTxt(text) }] } }],
        },
      }),
    ),
  );
}

async function withZoneErrors<T>(hostedZoneId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (errorName(error) === 'NoSuchHostedZone') {
      throw new Error(`Route53 hosted zone ${hostedZoneId} does not exist (or is not visible to these credentials): check the zone id, or deploy the stacks first`, { cause: error });
    }
    throw error;
  }
}

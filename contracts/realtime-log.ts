/**
 * CloudFront real-time log records, as the release signal uses them: the fields the stacks' real-time
 * log configuration asks for, in this order, and the record format CloudFront writes to the Kinesis
 * data stream (CloudFront developer guide, "Real-time logs": one record per request, the configured
 * fields in the configured order, separated by tabs, a field without a value as `-`, a newline at
 * the end). The stacks configure exactly REALTIME_LOG_FIELDS; the local CloudFront emulator writes
 * records with formatRecord; the signal consumer reads them with parseRecord. One module, so the
 * three cannot disagree.
 *
 * Only what CloudFront itself saw: the time it served the request, the TCP peer address, the
 * method, the path and query, the status it answered, and the page the browser named. Nothing a
 * client can set decides a count but the path and query of its own request.
 */

/** The fields, in the order CloudFront writes them (real-time log configuration `fields`). */
export const REALTIME_LOG_FIELDS = [
  'timestamp',
  'c-ip',
  'cs-method',
  'cs-uri-stem',
  'cs-uri-query',
  'sc-status',
  'cs-referer',
] as const;

export interface RealtimeLogRecord {
  /** When CloudFront served the request, ms since the epoch (the field is seconds with milliseconds). */
  readonly at: number;
  /** The TCP peer address: the viewer's, or the last proxy's. */
  readonly clientIp: string;
  readonly method: string;
  /** The request path. */
  readonly uri: string;
  /** The query string without `?`; '' when none. */
  readonly query: string;
  readonly status: number;
  /** The Referer header as the browser sent it; null when none. */
  readonly referer: string | null;
}

/** CloudFront writes `-` for a field that has no value. */
const EMPTY = '-';

/** The record CloudFront writes for one request: tab-separated fields, in `order`, and a newline. */
export function formatRecord(
  record: RealtimeLogRecord,
  order: readonly RealtimeLogField[] = REALTIME_LOG_FIELDS,
): string {
  const value = (text: string | null) => (text === null || text === '' ? EMPTY : text.replace(/[\t\r\n]/g, ' '));
  const values: Record<RealtimeLogField, string> = {
    timestamp: (record.at / 1000).toFixed(3),
    'c-ip': value(record.clientIp),
    'cs-method': value(record.method),
    'cs-uri-stem': value(record.uri),
    'cs-uri-query': value(record.query),
    'sc-status': String(record.status),
    'cs-referer': value(record.referer),
  };
  return `${order.map((name) => values[name]).join('\t')}\n`;
}

export type RealtimeLogField = (typeof REALTIME_LOG_FIELDS)[number];

/**
 * The order CloudFront writes the fields in, as its API reports it (GetRealtimeLogConfig's
 * `Fields`: "in the same order in which they are sent to the Amazon Kinesis data stream"). The
 * stacks ask for REALTIME_LOG_FIELDS, but Terraform's provider holds them as a set and sends them
 * in an order of its own; the consumer asks CloudFront at its start. Throws unless it is exactly
 * these fields.
 */
export function fieldOrder(fields: readonly string[]): readonly RealtimeLogField[] {
  const known = new Set<string>(REALTIME_LOG_FIELDS);
  if (
    fields.length !== REALTIME_LOG_FIELDS.length ||
    new Set(fields).size !== fields.length ||
    !fields.every((field) => known.has(field))
  ) {
    throw new Error(
      `the real-time log configuration sends ${fields.join(', ') || 'no fields'}; the signal consumer reads ` +
        `exactly ${REALTIME_LOG_FIELDS.join(', ')}`,
    );
  }
  return fields as RealtimeLogField[];
}

/**
 * One record of the stream, its fields in `order`, or null for anything that is not one (a record
 * of other fields, a truncated line): the consumer counts and skips those, it never guesses.
 */
export function parseRecord(
  text: string,
  order: readonly RealtimeLogField[] = REALTIME_LOG_FIELDS,
): RealtimeLogRecord | null {
  const values = text.replace(/\r?\n$/, '').split('\t');
  if (values.length !== order.length) return null;
  const field = (name: RealtimeLogField) => values[order.indexOf(name)];
  const [timestamp, clientIp, method, uri, query, status, referer] = REALTIME_LOG_FIELDS.map(field);
  // A field `order` does not name has no value: then these are not the fields of a record.
  if (
    timestamp === undefined ||
    clientIp === undefined ||
    method === undefined ||
    uri === undefined ||
    query === undefined ||
    status === undefined ||
    referer === undefined
  )
    return null;
  if (!/^\d{9,11}(?:\.\d{1,6})?$/.test(timestamp) || !/^\d{3}$/.test(status) || clientIp === EMPTY || uri === EMPTY)
    return null;
  return {
    at: Math.round(Number(timestamp) * 1000),
    clientIp,
    method,
    uri,
    query: query === EMPTY ? '' : query,
    status: Number(status),
    referer: referer === EMPTY ? null : referer,
  };
}

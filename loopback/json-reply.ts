/**
 * A JSON answer, as the loopback AWS APIs (KeyValueStore, Kinesis) give theirs: the body serialized
 * once, its length declared. `headers` add to it, or replace its `application/json` content type
 * (Kinesis answers in its own).
 */
import type { ServerResponse } from 'node:http';

export function replyJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/**
 * The metrics API's own endpoint, locally: what `https://<id>.execute-api.us-east-1.amazonaws.com`
 * is in AWS. Anyone on the machine can call it, as anyone on the internet can call API Gateway;
 * the CloudFront emulator calls it for `/api/*`, adding the origin secret and the viewer's
 * address as the distribution does. Everything is judged by the metrics API's own core.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BeaconRequest, BeaconResponse } from '../regional-function/metrics-api/core';

/** API Gateway's payload limit is 10 MB; the emulator and this server stop far sooner. */
export const MAX_API_BODY_BYTES = 64 * 1024;

export interface ApiServer {
  /** `http://127.0.0.1:<port>`: the API's own endpoint. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startApiServer(options: { readonly route: string; readonly handle: (request: BeaconRequest) => Promise<BeaconResponse> }): Promise<ApiServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const body = await readBody(req);
      if (body === null) return void res.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Entity Too Large"}');
      // An HTTP API answers routes it does not have with its own 404.
      if (url.pathname !== options.route) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      const response = await options.handle({ method: req.method ?? 'GET', headers, body: body.length > 0 ? body.toString('utf8') : null, isBase64Encoded: false });
      res.writeHead(response.statusCode, response.headers).end(response.body);
    })().catch((error: Error) => {
      // The Lambda threw: API Gateway's 500.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(`{"message":"Internal Server Error: ${error.message.replaceAll('"', "'")}"}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_API_BODY_BYTES) {
      req.resume();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * How a second terminal talks to a running `npm start`: a loopback-only HTTP endpoint (its address
 * is written to build/local/control.json) that releases a build, stops the running deployment,
 * edits the ring or the previews, revokes a build, or reports status. `npm run local:release` is its client. It stands
 * where the deploy pipeline and the rollout CLI stand in AWS.
 *
 * A release runs the build's code (the bundled routers), so the endpoint answers only its own
 * client, never a web page the developer has open: every request carries the run's token (32
 * random bytes, new at each start, in the control file, which only its owner can read); a request
 * with an Origin header (a browser's, which our client never sends) or a Host other than the
 * loopback address and port (DNS rebinding) is refused; a POST body must be JSON (a page's simple
 * cross-origin POST cannot be) and small; and no CORS header is ever sent.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Option } from 'commander';
import { LOCAL_BUILDS_DIR, LocalRefusal, type LocalDistribution, type PreviewRequest } from './local-distribution';

export interface ControlAddress {
  readonly url: string;
  readonly pid: number;
  readonly distribution: string;
  readonly hostPage: string;
  /** What every request to the control server carries, as `Authorization: Bearer <token>`. */
  readonly token: string;
}

/** The largest request body the control server reads: anything bigger is refused (413) and the connection dropped. */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024;

export function controlFile(buildsDir: string): string {
  return path.join(buildsDir, 'control.json');
}

/** `file` as a person would type it here: relative when under the working folder. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** `--control-file`, for `npm start` (where it writes its address) and `npm run local:release` (where it reads it). */
export function controlFileOption(description: string): Option {
  const file = controlFile(LOCAL_BUILDS_DIR);
  return new Option('--control-file <file>', description).default(file, shownPath(file));
}

export interface ControlServer {
  readonly url: string;
  /** What its client sends: the address file's content. */
  readonly address: ControlAddress;
  close(): Promise<void>;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The body of `req`, up to MAX_CONTROL_BODY_BYTES; a bigger one is refused without reading the rest. */
function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new Refused(413, `a request body is at most ${MAX_CONTROL_BODY_BYTES} bytes`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_CONTROL_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONTROL_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // said below
  }
  throw new Refused(400, 'the request body must be a JSON object');
}

/**
 * Writes the address file so that only its owner can ever read it: a new file created with mode
 * 0600 (never one that exists, nor through a link), filled, then renamed over `file`.
 */
function writeAddressFile(file: string, address: ControlAddress): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      writeFileSync(fd, `${JSON.stringify(address, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

const ROUTES = ['GET /status', 'POST /release', 'POST /stop', 'POST /ring', 'POST /revoke', 'POST /preview'];

const PREVIEW_SHAPE =
  'POST /preview takes {"action": "list"}, {"action": "add", "build": "<16 hex digits>", "viewer": ' +
  '"<ip or prefix>", and "until": <epoch seconds> or "seconds": <duration> (default 3600)}, or ' +
  '{"action": "remove", and "viewer": "<prefix>" or "build": "<16 hex digits>"}';

/** A POST /preview body's fields other than the action, when each has its type (strings, whole numbers). */
function previewRequest(body: Record<string, unknown>): PreviewRequest | null {
  const { build, viewer, until, seconds, ...rest } = body;
  if (Object.keys(rest).length > 0) return null;
  const text = (value: unknown) => value === undefined || typeof value === 'string';
  const number = (value: unknown) => value === undefined || typeof value === 'number';
  if (!text(build) || !text(viewer) || !number(until) || !number(seconds)) return null;
  return body as PreviewRequest;
}

/** What `act` answers (200), or the status and words of a refusal (LocalRefusal); other errors go on. */
async function refusable(act: () => Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    return { status: 200, body: await act() };
  } catch (error) {
    if (error instanceof LocalRefusal) return { status: error.status, body: { error: error.message } };
    throw error;
  }
}

export async function startControlServer(
  distribution: LocalDistribution,
  options: { port?: number; addressFile?: string } = {},
): Promise<ControlServer> {
  // New at each start: a token read from an earlier run's file is worth nothing.
  const token = randomBytes(32).toString('base64url');
  const expected = digest(token);
  let hosts: ReadonlySet<string> = new Set();

  const authorized = (header: string | undefined): boolean => {
    const presented = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    // Equal-length digests, compared in constant time: neither the token nor its length leaks.
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };

  const handle = async (req: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    // A browser sends Origin on every cross-origin request that can change anything; our client never does.
    if (req.headers.origin !== undefined)
      throw new Refused(
        403,
        'requests from web pages (with an Origin header) are refused: use `npm run local:release`',
      );
    // A page on a rebound name reaches 127.0.0.1 with its own name in Host.
    if (!hosts.has(req.headers.host ?? '')) throw new Refused(403, `Host must be ${[...hosts].join(' or ')}`);
    if (!authorized(req.headers.authorization))
      throw new Refused(401, 'missing or wrong token: `npm run local:release` sends the one in the control file');
    const route = `${req.method} ${req.url}`;
    if (!ROUTES.includes(route))
      throw new Refused(
        404,
        'GET /status, POST /release {buildDir}, POST /stop, POST /ring {action, origin}, POST /revoke ' +
          '{buildId, reason}, POST /preview {action, build?, viewer?, until? | seconds?}',
      );
    const [mediaType = ''] = (req.headers['content-type'] ?? '').split(';');
    if (req.method === 'POST' && mediaType.trim().toLowerCase() !== 'application/json')
      throw new Refused(415, 'a POST body must be application/json');
    const text = await readBody(req);
    if (route === 'GET /status')
      return { status: 200, body: { ...distribution.status(), served: distribution.emulator.stats() } };
    if (route === 'POST /release') {
      const { buildDir } = parseJson(text);
      if (typeof buildDir !== 'string' || !existsSync(path.join(buildDir, 'manifest.json')))
        return { status: 400, body: { error: 'POST /release takes {"buildDir": "<a folder made by buildForLocal>"}' } };
      return { status: 200, body: await distribution.release(buildDir) };
    }
    if (route === 'POST /stop') {
      const status = distribution.status();
      if (status.deployment?.status !== 'InProgress')
        return {
          status: 409,
          body: {
            error:
              `no release is under way: nothing to stop (build ${status.stable.buildId} serves every ` +
              `viewer${
                status.deployment
                  ? `; the last deployment, ${status.deployment.id}, ${status.deployment.status.toLowerCase()}`
                  : ''
              })`,
          },
        };
      distribution.controlPlane.stop('stopped with npm run local:release -- --stop');
      return { status: 200, body: distribution.status() };
    }
    if (route === 'POST /revoke') {
      const { buildId, reason } = parseJson(text);
      if (typeof buildId !== 'string' || typeof reason !== 'string')
        return { status: 400, body: { error: 'POST /revoke takes {"buildId": "<16 hex digits>", "reason": "<why>"}' } };
      return refusable(() => distribution.revoke(buildId, reason));
    }
    if (route === 'POST /preview') {
      const { action, ...request } = parseJson(text);
      const shape = previewRequest(request);
      if ((action !== 'list' && action !== 'add' && action !== 'remove') || shape === null)
        return { status: 400, body: { error: PREVIEW_SHAPE } };
      return refusable(async () => distribution.preview(action, shape));
    }
    const { action, origin } = parseJson(text);
    if ((action !== 'add' && action !== 'remove') || typeof origin !== 'string')
      return {
        status: 400,
        body: { error: 'POST /ring takes {"action": "add" | "remove", "origin": "https://host.example"}' },
      };
    return { status: 200, body: { ring: distribution.ring(action, origin) } };
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // JSON only, never cached, and no CORS header: a page can neither send to it nor read from it.
    const reply = (status: number, body: unknown, close: boolean) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
        ...(close ? { connection: 'close' } : {}),
      });
      // A refused request's body is not read: once the answer is out, the connection goes.
      res.end(`${JSON.stringify(body, null, 2)}\n`, close ? () => req.destroy() : undefined);
    };
    handle(req).then(
      ({ status, body }) => reply(status, body, false),
      (error: unknown) =>
        error instanceof Refused
          ? reply(error.status, { error: error.message }, true)
          : reply(409, { error: (error as Error).message }, false),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const url = `http://127.0.0.1:${port}`;
  const address: ControlAddress = {
    url,
    pid: process.pid,
    distribution: distribution.url,
    hostPage: distribution.hostUrl,
    token,
  };
  if (options.addressFile) {
    try {
      writeAddressFile(options.addressFile, address);
    } catch (error) {
      server.close();
      throw error;
    }
  }
  return {
    url,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        // Only our own: another distribution may have taken the file over since.
        if (options.addressFile && readAddress(options.addressFile)?.url === url)
          rmSync(options.addressFile, { force: true });
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a control file says; `token` is missing from one an older version wrote. */
type StoredAddress = Omit<ControlAddress, 'token'> & { readonly token?: string };

function readAddress(file: string): StoredAddress | null {
  try {
    const address = JSON.parse(readFileSync(file, 'utf8')) as Partial<ControlAddress>;
    return typeof address.url === 'string' && typeof address.pid === 'number' ? (address as StoredAddress) : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The distribution that wrote `file`, when its process is still running; null when none is (no file, or one left by a
 * process that has gone).
 */
export function runningDistribution(file: string): StoredAddress | null {
  const address = existsSync(file) ? readAddress(file) : null;
  return address !== null && isRunning(address.pid) ? address : null;
}

/** The running `npm start`'s control address; throws saying what to do when there is none. */
export function readControlAddress(file: string): ControlAddress {
  const address = runningDistribution(file);
  if (address === null) {
    const left = existsSync(file) ? readAddress(file) : null;
    const why = left ? ` (${file} was left by pid ${left.pid}, which has exited)` : '';
    throw new Error(`no local distribution is running${why}: start one with \`npm start\` in another terminal`);
  }
  if (typeof address.token !== 'string')
    throw new Error(
      `${file} holds no token (written by an older \`npm start\`, pid ${address.pid}): stop it and run ` +
        `\`npm start\` again`,
    );
  return { ...address, token: address.token };
}

export async function callControl(
  address: ControlAddress,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${address.url}${route}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        authorization: `Bearer ${address.token}`,
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      // The token goes to the address in the control file and nowhere else.
      redirect: 'error',
    });
  } catch (error) {
    throw new Error(
      `the local distribution (pid ${address.pid}) does not answer at ${address.url}: ` +
        `${(error as Error).message}; is \`npm start\` still running?`,
    );
  }
  const json = (await response.json()) as { error?: string };
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  return json;
}

/**
 * The control server `npm start` runs for `npm run local:release`, against what a web page the
 * developer has open could send it: a release runs a build's code, so only the client holding the
 * run's token, with no Origin, to the loopback Host, with a small JSON body, gets anything done.
 * A real server on loopback, in front of a distribution that records what it was asked to do.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request, type OutgoingHttpHeaders } from 'node:http';
import { rawRequest } from '../fixtures/raw-request';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  callControl,
  MAX_CONTROL_BODY_BYTES,
  readControlAddress,
  startControlServer,
  type ControlAddress,
  type ControlServer,
} from '../../local/control-server';
import {
  PreviewRefused,
  RevocationRefused,
  type LocalDistribution,
  type PreviewAction,
  type PreviewRequest,
} from '../../local/local-distribution';
import { pollUntil } from '../fixtures/poll';

/** A distribution that only records: whatever reaches `release` would have run that build's code. */
function recordingDistribution() {
  const released: string[] = [];
  const revoked: [string, string][] = [];
  const previewed: [PreviewAction, PreviewRequest | undefined][] = [];
  const distribution = {
    url: 'http://127.0.0.1:9',
    hostUrl: 'http://127.0.0.1:9/',
    status: () => ({
      stable: { buildId: 'ee281364fbcf9b12', version: '1' },
      canary: null,
      deployment: null,
      state: '',
    }),
    emulator: { stats: () => ({}) },
    release: async (buildDir: string) => {
      released.push(buildDir);
      return { buildId: 'd395b0830c1205cc', version: '2', deploymentId: 'd-LOCAL0001' };
    },
    ring: () => [],
    revoke: async (buildId: string, reason: string) => {
      if (buildId === 'ffffffffffffffff') throw new RevocationRefused(404, `build ${buildId} is not one it published`);
      if (buildId === 'ee281364fbcf9b12') throw new RevocationRefused(409, 'the stable build cannot be revoked');
      if (buildId === '0000000000000000') throw new Error('the store failed');
      revoked.push([buildId, reason]);
      return { revocation: { buildId, at: 1, reason }, already: false, stopped: null };
    },
    preview: (action: PreviewAction, request?: PreviewRequest) => {
      if (request?.build === 'ffffffffffffffff') throw new PreviewRefused(404, 'not one it published');
      if (request?.build === 'eeeeeeeeeeeeeeee') throw new PreviewRefused(409, 'was revoked');
      if (request?.viewer === '10.0.0.0/8') throw new PreviewRefused(400, 'not a prefix a preview can name');
      if (request?.build === '0000000000000000') throw new Error('the store failed');
      previewed.push([action, request]);
      return { action, changed: [], replaced: null, previews: [], bytes: 0, limitBytes: 800 };
    },
    controlPlane: { stop: () => undefined },
  } as unknown as LocalDistribution;
  return { distribution, released, revoked, previewed };
}

/** One request with exactly these headers, on a connection of its own: a POST of /release unless told otherwise. */
function send(url: string, options: { method?: string; path?: string; headers?: OutgoingHttpHeaders; body?: string }) {
  return rawRequest(url, { method: 'POST', path: '/release', ...options });
}

let dir: string;
let buildDir: string;
let file: string;
let control: ControlServer;
let released: string[];
let revoked: [string, string][];
let previewed: [PreviewAction, PreviewRequest | undefined][];
let token: string;
let host: string;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'control-server-'));
  // A folder a page could name: it has a manifest, which is all the old endpoint asked for.
  buildDir = path.join(dir, 'evil-build');
  mkdirSync(buildDir);
  writeFileSync(path.join(buildDir, 'manifest.json'), '{}');
  file = path.join(dir, 'control.json');
  const recording = recordingDistribution();
  released = recording.released;
  revoked = recording.revoked;
  previewed = recording.previewed;
  control = await startControlServer(recording.distribution, { addressFile: file });
  token = (JSON.parse(readFileSync(file, 'utf8')) as { token: string }).token;
  host = new URL(control.url).host;
});
afterEach(async () => {
  await control.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = (more: OutgoingHttpHeaders = {}): OutgoingHttpHeaders => ({
  host,
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  ...more,
});
const releaseBody = () => JSON.stringify({ buildDir });

describe('the control file', () => {
  it(
    'is readable by its owner only (mode 0600), holds a fresh 32-byte token, and leaves no ' +
      'temporary file beside it',
    async () => {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(readdirSync(dir).sort()).toEqual(['control.json', 'evil-build']);
      // A new token at each start, written over the old file, still 0600.
      const second = await startControlServer(recordingDistribution().distribution, { addressFile: file });
      try {
        const address = JSON.parse(readFileSync(file, 'utf8')) as ControlAddress;
        expect(address.url).toBe(second.url);
        expect(address.token).not.toBe(token);
        expect(statSync(file).mode & 0o777).toBe(0o600);
      } finally {
        await second.close();
      }
    },
  );

  it('is what the client reads its token from; one without a token is refused by the client', async () => {
    const address = readControlAddress(file);
    expect(address.token).toBe(token);
    expect(await callControl(address, 'POST', '/release', { buildDir })).toMatchObject({ deploymentId: 'd-LOCAL0001' });
    expect(released).toEqual([buildDir]);
    const { token: _, ...withoutToken } = address;
    const old = path.join(dir, 'old-control.json');
    writeFileSync(old, JSON.stringify(withoutToken));
    expect(() => readControlAddress(old)).toThrow(/holds no token/);
  });
});

describe('a request from a web page', () => {
  it('with an Origin header is refused (403) even with the token, and nothing is released', async () => {
    const withToken = await send(control.url, {
      headers: json({ origin: 'https://evil.example' }),
      body: releaseBody(),
    });
    expect(withToken.status).toBe(403);
    expect(withToken.body).toContain('Origin');
    // What the page can actually send: a simple cross-origin POST, text/plain, no token.
    const simple = await send(control.url, {
      headers: { host, origin: 'https://evil.example', 'content-type': 'text/plain;charset=UTF-8' },
      body: releaseBody(),
    });
    expect(simple.status).toBe(403);
    // A CORS preflight gets no CORS header, so a page's non-simple request is never sent.
    const preflight = await send(control.url, {
      method: 'OPTIONS',
      headers: {
        host,
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(403);
    for (const answer of [withToken, simple, preflight])
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(released).toEqual([]);
  });

  it(
    'through a name rebound to 127.0.0.1 (a Host other ' + 'than the loopback address and port) is refused (403)',
    async () => {
      const port = new URL(control.url).port;
      for (const other of [
        `evil.example:${port}`,
        '127.0.0.1',
        `127.0.0.1:${Number(port) + 1}`,
        `localhost.evil.example:${port}`,
      ]) {
        expect((await send(control.url, { headers: json({ host: other }), body: releaseBody() })).status).toBe(403);
      }
      expect(released).toEqual([]);
      // Both loopback names are the client's.
      expect(
        (
          await send(control.url, {
            method: 'GET',
            path: '/status',
            headers: { host: `localhost:${port}`, authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(200);
      const ok = await send(control.url, {
        method: 'GET',
        path: '/status',
        headers: { host, authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(200);
      expect(Object.keys(ok.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    },
  );

  it('without the token, or with a wrong one, is refused (401)', async () => {
    const wrong = Buffer.from(token, 'base64url');
    wrong[0]! ^= 1;
    for (const authorization of [
      undefined,
      `Bearer ${wrong.toString('base64url')}`,
      `Bearer ${token}x`,
      'Bearer ',
      `Basic ${token}`,
      token,
    ]) {
      const headers = json();
      if (authorization === undefined) delete headers.authorization;
      else headers.authorization = authorization;
      const answer = await send(control.url, { headers, body: releaseBody() });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
    }
    expect((await send(control.url, { method: 'GET', path: '/status', headers: { host } })).status).toBe(401);
    expect(released).toEqual([]);
  });

  it('with a body that is not application/json is refused (415)', async () => {
    for (const contentType of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      undefined,
    ]) {
      const headers = json();
      if (contentType === undefined) delete headers['content-type'];
      else headers['content-type'] = contentType;
      expect((await send(control.url, { headers, body: releaseBody() })).status).toBe(415);
    }
    expect(released).toEqual([]);
    expect(
      (
        await send(control.url, {
          headers: json({ 'content-type': 'application/json; charset=utf-8' }),
          body: releaseBody(),
        })
      ).status,
    ).toBe(200);
    expect(released).toEqual([buildDir]);
  });
});

describe('an oversized body', () => {
  /**
   * A POST whose body keeps coming, one chunk every few ms, until the server answers (a server that
   * reads bodies to their end never does); the status, what was sent by then, and whether the
   * server closed the connection within a few seconds of answering. The request is ours to end.
   */
  async function flood(headers: OutgoingHttpHeaders): Promise<{ status: number; sent: number; closed: boolean }> {
    const { port } = new URL(control.url);
    const chunk = Buffer.alloc(8 * 1024, 0x20);
    let status: number | undefined;
    let closed = false;
    let sent = 0;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/release', headers, agent: false }, (res) => {
      status = res.statusCode;
      res.resume();
    });
    req.on('error', () => undefined);
    req.on('close', () => (closed = true));
    try {
      await pollUntil(
        'an answer while the body is still coming',
        () => {
          if (status === undefined && !closed) {
            req.write(chunk);
            sent += chunk.length;
          }
          return status !== undefined;
        },
        10_000,
        5,
      );
      await pollUntil('the server to close the connection', () => closed, 5_000, 10).catch(() => undefined);
      return { status: status!, sent, closed };
    } finally {
      req.destroy();
    }
  }

  it('declared bigger than the limit is refused (413) at once, and the connection dropped', async () => {
    const { status, sent, closed } = await flood(json({ 'content-length': String(16 * MAX_CONTROL_BODY_BYTES) }));
    expect(status).toBe(413);
    expect(sent).toBeLessThan(MAX_CONTROL_BODY_BYTES);
    expect(closed).toBe(true);
    expect(released).toEqual([]);
  });

  it(
    'streamed past the limit (no length given) is refused (413) and the connection dropped, not ' +
      'buffered to its end',
    async () => {
      const { status, sent, closed } = await flood(json({ 'transfer-encoding': 'chunked' }));
      expect(status).toBe(413);
      // Answered within a few chunks of the limit: the server counted as it read, and stopped.
      expect(sent).toBeLessThan(4 * MAX_CONTROL_BODY_BYTES);
      expect(closed).toBe(true);
      expect(released).toEqual([]);
    },
  );

  it('up to the limit is read', async () => {
    const body = JSON.stringify({ buildDir, pad: 'x'.repeat(MAX_CONTROL_BODY_BYTES - 200) });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_CONTROL_BODY_BYTES);
    expect((await send(control.url, { headers: json(), body })).status).toBe(200);
    expect(released).toEqual([buildDir]);
  });
});

describe('POST /revoke', () => {
  const revoke = (body: unknown) => send(control.url, { path: '/revoke', headers: json(), body: JSON.stringify(body) });

  it(
    'passes {buildId, reason} to the distribution and answers with its status for a refusal (404, 409), 409 for ' +
      'a failure, 400 for a body of another shape',
    async () => {
      expect(await revoke({ buildId: 'd395b0830c1205cc', reason: 'CVE-1' })).toMatchObject({ status: 200 });
      expect(revoked).toEqual([['d395b0830c1205cc', 'CVE-1']]);
      expect(await revoke({ buildId: 'ffffffffffffffff', reason: 'x' })).toMatchObject({
        status: 404,
        body: expect.stringContaining('is not one it published'),
      });
      expect(await revoke({ buildId: 'ee281364fbcf9b12', reason: 'x' })).toMatchObject({
        status: 409,
        body: expect.stringContaining('the stable build cannot be revoked'),
      });
      expect(await revoke({ buildId: '0000000000000000', reason: 'x' })).toMatchObject({
        status: 409,
        body: expect.stringContaining('the store failed'),
      });
      for (const body of [{}, { buildId: 'd395b0830c1205cc' }, { buildId: 1, reason: 'x' }, ['d395b0830c1205cc']])
        expect((await revoke(body)).status).toBe(400);
      expect(revoked).toHaveLength(1);
      // As every route: the token, the loopback Host and no Origin first.
      expect(
        (
          await send(control.url, {
            path: '/revoke',
            headers: json({ origin: 'https://evil.example' }),
            body: JSON.stringify({ buildId: 'd395b0830c1205cc', reason: 'x' }),
          })
        ).status,
      ).toBe(403);
      expect(revoked).toHaveLength(1);
    },
  );
});

describe('POST /preview', () => {
  const preview = (body: unknown, headers = json()) =>
    send(control.url, { path: '/preview', headers, body: JSON.stringify(body) });

  it(
    'passes {action, build, viewer, until | seconds} to the distribution and answers with its status for a ' +
      'refusal (400, 404, 409), 409 for a failure, 400 for a body of another shape',
    async () => {
      const add = { build: 'd395b0830c1205cc', viewer: '127.0.0.1', until: 1_800_000_000 };
      expect(await preview({ action: 'add', ...add })).toMatchObject({ status: 200 });
      expect(await preview({ action: 'add', build: 'd395b0830c1205cc', viewer: '::1', seconds: 60 })).toMatchObject({
        status: 200,
      });
      expect(await preview({ action: 'list' })).toMatchObject({ status: 200 });
      expect(await preview({ action: 'remove', build: 'd395b0830c1205cc' })).toMatchObject({ status: 200 });
      expect(previewed).toEqual([
        ['add', add],
        ['add', { build: 'd395b0830c1205cc', viewer: '::1', seconds: 60 }],
        ['list', {}],
        ['remove', { build: 'd395b0830c1205cc' }],
      ]);
      for (const [build, viewer, status, error] of [
        ['ffffffffffffffff', '127.0.0.1', 404, 'not one it published'],
        ['eeeeeeeeeeeeeeee', '127.0.0.1', 409, 'was revoked'],
        ['d395b0830c1205cc', '10.0.0.0/8', 400, 'not a prefix a preview can name'],
        ['0000000000000000', '127.0.0.1', 409, 'the store failed'],
      ] as const)
        expect(await preview({ action: 'add', build, viewer })).toMatchObject({
          status,
          body: expect.stringContaining(error),
        });
      for (const body of [
        {},
        { action: 'show' },
        { action: 'add', build: 1, viewer: '127.0.0.1' },
        { action: 'add', build: 'd395b0830c1205cc', viewer: '127.0.0.1', until: '1800000000' },
        { action: 'add', build: 'd395b0830c1205cc', viewer: '127.0.0.1', for: '1h' },
      ])
        expect(await preview(body)).toMatchObject({
          status: 400,
          body: expect.stringContaining('POST /preview takes'),
        });
      expect(await preview(['list'])).toMatchObject({ status: 400, body: expect.stringContaining('a JSON object') });
      expect(previewed).toHaveLength(4);
      // As every route: the token, the loopback Host and no Origin first.
      expect((await preview({ action: 'add', ...add }, json({ origin: 'https://evil.example' }))).status).toBe(403);
      const { authorization: _, ...withoutToken } = json();
      expect((await preview({ action: 'add', ...add }, withoutToken)).status).toBe(401);
      expect(previewed).toHaveLength(4);
    },
  );
});

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import type { CloudFrontResultResponse } from 'aws-lambda';
import { ERROR_REPORT_PATH, errorReportUrl, MAX_MESSAGE_LENGTH, parseErrorReport } from '../../contracts/error-report';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { originRequestEvent } from '../fixtures/cloudfront';
import { loadEdgeHandler } from '../fixtures/edge';

const DISTRIBUTION = 'https://d111111abcdef8.cloudfront.net';
const HOST_PAGE = 'https://shop.example.org';

interface FakeScript {
  src: string;
  crossOrigin?: string;
  onerror: ((event: unknown) => void) | null;
  onload: ((event: unknown) => void) | null;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
}

interface SentReport {
  readonly url: string;
  readonly init: RequestInit;
}

/**
 * Runs index.js as a host page would, with a document that records the chunk scripts it adds, a
 * fetch that records what it is asked to send (and answers as `answer` says), and the window
 * listeners it adds.
 */
function runEntry(answer: (url: string) => Promise<unknown> = () => Promise.resolve({ status: 0, type: 'opaque' })) {
  const appended: FakeScript[] = [];
  const fetched: SentReport[] = [];
  const listeners: { type: string; listener: (event: unknown) => void }[] = [];
  const document = {
    currentScript: { src: `${DISTRIBUTION}/assets/index.js` },
    createElement: (): FakeScript => {
      const attributes = new Map<string, string>();
      return {
        src: '',
        onerror: null,
        onload: null,
        setAttribute: (n, v) => attributes.set(n, v),
        getAttribute: (n) => attributes.get(n) ?? null,
      };
    },
    getElementsByTagName: () => [],
    head: { appendChild: (script: FakeScript) => appended.push(script) },
  };
  const window = { location: { origin: HOST_PAGE } };
  // What a beacon would have used: the entry must not touch it.
  const navigator = { sendBeacon: jest.fn(() => true) };
  const fetch = (url: string, init: RequestInit) => {
    fetched.push({ url, init });
    return answer(url);
  };
  const addEventListener = (type: string, listener: (event: unknown) => void) =>
    void listeners.push({ type, listener });
  const context = vm.createContext({
    document,
    window,
    self: window,
    navigator,
    fetch,
    URL,
    Promise,
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
    clearTimeout,
    addEventListener,
  });
  vm.runInContext(readFileSync(path.join(BUILD_DIR, defaultBuild().entry.key), 'utf8'), context);
  /** Dispatches an uncaught error, as the browser would, to the listeners the entry added on window. */
  const uncaught = (filename: string, message: string) => {
    for (const { type, listener } of listeners) if (type === 'error') listener({ type: 'error', filename, message });
  };
  return { appended, fetched, navigator, listeners, uncaught };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The one request an error report is: a no-cors GET without credentials, sent even as the page unloads. */
const REPORT_INIT = { method: 'GET', mode: 'no-cors', credentials: 'omit', keepalive: true, cache: 'no-store' };

describe('index.js', () => {
  const manifest = defaultBuild();
  const ownFile = `${DISTRIBUTION}/assets/${manifest.buildId}/625.0123456789.js`;

  it(
    'loads chunks only from /assets/<buildId>/ on the distribution that served it, with CORS, and ' +
      'sends nothing else',
    async () => {
      const { appended, fetched, navigator, listeners } = runEntry();
      await tick();
      expect(appended.length).toBeGreaterThanOrEqual(2);
      const chunkKeys = new Set(manifest.assets.map((asset) => asset.key));
      for (const script of appended) {
        expect(script.src.startsWith(`${DISTRIBUTION}/assets/${manifest.buildId}/`)).toBe(true);
        expect(chunkKeys.has(new URL(script.src).pathname.slice(1))).toBe(true);
        expect(script.crossOrigin).toBe('anonymous');
      }
      // A healthy load sends nothing: no report, no beacon. One window listener: errors of its own files.
      expect(fetched).toEqual([]);
      expect(navigator.sendBeacon).not.toHaveBeenCalled();
      expect(listeners.map(({ type }) => type)).toEqual(['error']);
    },
  );

  it('reports a chunk that fails to load with one GET to /api/e on the distribution, naming its build', async () => {
    const { appended, fetched, navigator } = runEntry();
    await tick();
    appended[0]!.onerror!({ type: 'error', target: appended[0] });
    await tick();
    expect(fetched).toHaveLength(1);
    expect(fetched[0]!.init).toEqual(REPORT_INIT);
    const url = new URL(fetched[0]!.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${DISTRIBUTION}${ERROR_REPORT_PATH}`);
    const report = parseErrorReport(url.search.slice(1));
    expect(report?.buildId).toBe(manifest.buildId);
    expect(report?.message).toMatch(/^chunk load failed: Loading chunk \d+ failed\./);
    expect(report?.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    // Exactly the URL the contract builds: the message cut to its length, nothing else in the query.
    expect(fetched[0]!.url).toBe(errorReportUrl(`${DISTRIBUTION}/assets/index.js`, manifest.buildId, report!.message));
    expect([...url.searchParams.keys()]).toEqual(['b', 'm']);
    expect(navigator.sendBeacon).not.toHaveBeenCalled();
  });

  it(
    "reports uncaught errors of its own files only, the host page's never, each message once and at " +
      'most 5 a page load',
    async () => {
      const { fetched, uncaught } = runEntry();
      await tick();
      uncaught(`${HOST_PAGE}/app.js`, 'the host page broke');
      uncaught('', 'Script error.');
      expect(fetched).toEqual([]);

      const long = `TypeError: ${'x'.repeat(300)}`;
      uncaught(ownFile, long);
      uncaught(ownFile, long);
      // The same first 120 characters are the same report.
      uncaught(ownFile, `${long}, and more`);
      expect(fetched.map(({ url }) => parseErrorReport(new URL(url).search.slice(1))?.message)).toEqual([
        long.slice(0, MAX_MESSAGE_LENGTH),
      ]);

      for (let i = 0; i < 20; i += 1) uncaught(ownFile, `error ${i}`);
      expect(fetched.map(({ url }) => parseErrorReport(new URL(url).search.slice(1))?.message)).toEqual([
        long.slice(0, MAX_MESSAGE_LENGTH),
        'error 0',
        'error 1',
        'error 2',
        'error 3',
      ]);
      expect(fetched.every(({ init }) => JSON.stringify(init) === JSON.stringify(REPORT_INIT))).toBe(true);
    },
  );

  it('never throws into the host page: not when fetch throws, nor when the report is refused', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const refused = runEntry(() => Promise.reject(new TypeError('Failed to fetch')));
      await tick();
      expect(() => refused.uncaught(ownFile, 'refused')).not.toThrow();
      const throwing = runEntry(() => {
        throw new TypeError('fetch is not a function');
      });
      await tick();
      expect(() => throwing.uncaught(ownFile, 'thrown')).not.toThrow();
      await tick();
      expect(refused.fetched).toHaveLength(1);
      expect(throwing.fetched).toHaveLength(1);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('entry router zip', () => {
  const manifest = defaultBuild();
  // No rollout record on this DNS server: the router serves the build it was made with.
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(() => dns.close());
  beforeEach(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());
  const indexJs = readFileSync(path.join(BUILD_DIR, manifest.entry.key));

  function bodyOf(response: CloudFrontResultResponse): Buffer {
    return response.bodyEncoding === 'base64'
      ? Buffer.from(response.body!, 'base64')
      : Buffer.from(response.body!, 'utf8');
  }

  it('inlines exactly the built index.js, plain and pre-compressed', async () => {
    const handler = loadEdgeHandler('entry-router', { dnsServer: dns.address }) as unknown as (
      event: unknown,
    ) => Promise<CloudFrontResultResponse>;
    const plain = await handler(originRequestEvent({ headers: {} }));
    expect(bodyOf(plain).equals(indexJs)).toBe(true);
    const withBrotli = await handler(originRequestEvent({ headers: { 'Accept-Encoding': 'br,gzip' } }));
    const brotliBody = bodyOf(withBrotli);
    const decoded =
      withBrotli.headers?.['content-encoding']?.[0]?.value === 'br' ? brotliDecompressSync(brotliBody) : brotliBody;
    expect(decoded.equals(indexJs)).toBe(true);
    const withGzip = await handler(originRequestEvent({ headers: { 'Accept-Encoding': 'gzip' } }));
    const gzipBody = bodyOf(withGzip);
    expect(
      (withGzip.headers?.['content-encoding']?.[0]?.value === 'gzip' ? gunzipSync(gzipBody) : gzipBody).equals(indexJs),
    ).toBe(true);
  });
});

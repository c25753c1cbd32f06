import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import type { CloudFrontResultResponse } from 'aws-lambda';
import { startDnsServer, type DnsServer } from '../../local/dns-server';
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

/** Runs index.js as a host page would, with a document that records the chunk scripts it adds. */
function runEntry() {
  const appended: FakeScript[] = [];
  const beacons: { url: string; body: string }[] = [];
  const document = {
    currentScript: { src: `${DISTRIBUTION}/assets/index.js` },
    createElement: (): FakeScript => {
      const attributes = new Map<string, string>();
      return { src: '', onerror: null, onload: null, setAttribute: (n, v) => attributes.set(n, v), getAttribute: (n) => attributes.get(n) ?? null };
    },
    getElementsByTagName: () => [],
    head: { appendChild: (script: FakeScript) => appended.push(script) },
  };
  const window = { location: { origin: HOST_PAGE } };
  const navigator = {
    sendBeacon: (url: string, body: string) => {
      beacons.push({ url, body });
      return true;
    },
  };
  const context = vm.createContext({ document, window, self: window, navigator, URL, Promise, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(), clearTimeout, addEventListener: () => undefined });
  vm.runInContext(readFileSync(path.join(BUILD_DIR, defaultBuild().entry.key), 'utf8'), context);
  return { appended, beacons };
}

describe('index.js', () => {
  const manifest = defaultBuild();

  it('loads chunks only from /assets/<buildId>/ on the distribution that served it, with CORS', async () => {
    const { appended } = runEntry();
    await new Promise((resolve) => setImmediate(resolve));
    expect(appended.length).toBeGreaterThanOrEqual(2);
    const chunkKeys = new Set(manifest.assets.map((asset) => asset.key));
    for (const script of appended) {
      expect(script.src.startsWith(`${DISTRIBUTION}/assets/${manifest.buildId}/`)).toBe(true);
      expect(chunkKeys.has(new URL(script.src).pathname.slice(1))).toBe(true);
      expect(script.crossOrigin).toBe('anonymous');
    }
  });

  it('reports a chunk that fails to load to the metrics endpoint on the distribution, with its buildId', async () => {
    const { appended, beacons } = runEntry();
    await new Promise((resolve) => setImmediate(resolve));
    appended[0].onerror!({ type: 'error', target: appended[0] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(beacons).toHaveLength(1);
    expect(beacons[0].url).toBe(`${DISTRIBUTION}/api/metrics`);
    const payload = JSON.parse(beacons[0].body);
    expect(payload).toMatchObject({ v: 1, buildId: manifest.buildId, events: [{ name: 'error' }] });
    expect(payload.events[0].message).toContain('chunk load failed');
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
    return response.bodyEncoding === 'base64' ? Buffer.from(response.body!, 'base64') : Buffer.from(response.body!, 'utf8');
  }

  it('inlines exactly the built index.js, plain and pre-compressed', async () => {
    const handler = loadEdgeHandler('entry-router', { dnsServer: dns.address }) as unknown as (event: unknown) => Promise<CloudFrontResultResponse>;
    const plain = await handler(originRequestEvent({ headers: {} }));
    expect(bodyOf(plain).equals(indexJs)).toBe(true);
    const withBrotli = await handler(originRequestEvent({ headers: { 'Accept-Encoding': 'br,gzip' } }));
    const brotliBody = bodyOf(withBrotli);
    const decoded = withBrotli.headers?.['content-encoding']?.[0].value === 'br' ? brotliDecompressSync(brotliBody) : brotliBody;
    expect(decoded.equals(indexJs)).toBe(true);
    const withGzip = await handler(originRequestEvent({ headers: { 'Accept-Encoding': 'gzip' } }));
    const gzipBody = bodyOf(withGzip);
    expect((withGzip.headers?.['content-encoding']?.[0].value === 'gzip' ? gunzipSync(gzipBody) : gzipBody).equals(indexJs)).toBe(true);
  });
});

/**
 * The host page's side, in a real browser (fixtures/browser.ts): a customer's page on its own
 * origin, served here by a loopback server whose responses carry exactly the policy `npm run csp`
 * prints for the local distribution (scripts/csp.ts, hostCsp). Under it the widget renders with no
 * violation and a healthy load sends nothing but the requests for its scripts; an error sends one
 * GET /api/e, answered 204, and a client error still rolls a canary back (through the release
 * signal: fixtures/local.ts startSignalHarness); without connect-src a healthy load is untouched,
 * and only an error's report is blocked. Every claim of docs/host-integration.md about what the
 * widget does to a host page (DOM, globals, listeners, storage, network, errors, SRI) is checked here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../config';
import { ERROR_REPORT_PATH, errorReportUrl, MAX_MESSAGE_LENGTH } from '../../contracts/error-report';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { PROJECT_ROOT } from '../../scripts/build';
import { formatPolicy, hostCsp, type HostCsp } from '../../scripts/csp';
import { findChromium, launchChromium, systemBrowsers } from '../fixtures/browser';
import { CANARY_HEADLINE, canaryErrors, localBuilds, judgedOnFewViewers, STABLE_HEADLINE, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';

const config = loadConfig();
const builds = localBuilds();
let local: LocalDistribution;
let browser: Browser;
let host: HostServer;
let csp: HostCsp;

beforeAll(async () => {
  local = await startLocalDistribution({ config, buildDir: builds.stable.dir, tickMs: 0 });
  csp = hostCsp(config, local.url);
  host = await startHostServer();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await host?.close();
  await local?.stop();
});

// ---- the host site: a loopback server of its own, one route per page a test asks for ----

type Route = (res: ServerResponse) => void;

interface HostServer {
  readonly origin: string;
  /** Serves `route` at `pathname`; returns its URL with `?viewer=` (the emulator's client-IP seam, through Referer). */
  page(pathname: string, viewer: string, route: Route): string;
  close(): Promise<void>;
}

async function startHostServer(): Promise<HostServer> {
  const routes = new Map<string, Route>();
  const server: Server = createServer((req, res) => {
    const route = routes.get(new URL(req.url ?? '/', 'http://host').pathname);
    if (route) route(res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('404\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    page(pathname, viewer, route) {
      routes.set(pathname, route);
      return `${origin}${pathname}?viewer=${viewer}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The response of a host page: the document and exactly `policy` as its CSP header. */
function respond(html: string, policy: string): Route {
  return (res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': policy }).end(html);
}

/** The head of the host pages here: full referrers, so the widget's chunks and error reports carry `?viewer=` too. */
const HEAD = '<meta charset="utf-8">\n<meta name="referrer" content="no-referrer-when-downgrade">\n<title>A host page under a Content-Security-Policy</title>';

function hostDocument(tag: string): string {
  return `<!doctype html>\n<html lang="en">\n<head>\n${HEAD}\n</head>\n<body>\n<h1>A customer's page</h1>\n${tag}\n<p>Content after the widget.</p>\n</body>\n</html>\n`;
}

/** The one tag of docs/host-integration.md, as `viewer`, for the distribution at `distribution`. */
function widgetTag(viewer: string, attributes = '', distribution = local.url): string {
  return `<script async src="${distribution}/assets/index.js?viewer=${viewer}"${attributes}></script>`;
}

// ---- a browser page that records what the widget does ----

interface Violation {
  readonly directive: string;
  readonly blocked: string;
}

interface Visit {
  readonly page: Page;
  /** securitypolicyviolation events, as the page saw them. */
  readonly violations: Violation[];
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
  /** Every request after the document: method and URL. */
  readonly requests: { readonly method: string; readonly url: string }[];
  /** set-cookie headers of any response. */
  readonly setCookies: string[];
  /** Every request to the distribution's /api/: method, URL, and its status once answered. */
  readonly reports: { readonly method: string; readonly url: string; status?: number }[];
}

async function open(url: string, options: { waitUntil?: 'commit' | 'load' } = {}): Promise<Visit> {
  const page = await browser.newPage();
  const visit: Visit = { page, violations: [], errors: [], requests: [], setCookies: [], reports: [] };
  // Bindings and init scripts are installed over CDP: the page's own policy does not apply to them.
  await page.exposeBinding('__cspViolation', (_source, violation: Violation) => void visit.violations.push(violation));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => (window as unknown as { __cspViolation: (v: Violation) => void }).__cspViolation({ directive: event.effectiveDirective, blocked: event.blockedURI }), true);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') visit.errors.push(message.text());
  });
  page.on('pageerror', (error) => visit.errors.push(`pageerror: ${error.message}`));
  page.on('request', (request) => {
    if (request.url() === url) return;
    visit.requests.push({ method: request.method(), url: request.url() });
    if (new URL(request.url()).pathname.startsWith('/api/')) visit.reports.push({ method: request.method(), url: request.url() });
  });
  page.on('response', (response) => {
    const report = visit.reports.find((sent) => sent.url === response.url() && sent.status === undefined);
    if (report) report.status = response.status();
    void response.allHeaders().then((headers) => {
      if (headers['set-cookie'] !== undefined) visit.setCookies.push(`${response.url()}: ${headers['set-cookie']}`);
    });
  });
  if (options.waitUntil === 'commit') void page.goto(url, { waitUntil: 'commit' }).catch(() => undefined);
  else await page.goto(url);
  return visit;
}

/** Runs the page's queued tasks (violation events are dispatched as tasks) before an assertion about their absence. */
async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
}

/** Once the widget has rendered: its network idle, so nothing more is on its way, and the page's tasks run. */
async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await settle(page);
}

const BOOM = 'Boom: an intentional client error for rollback testing';

/** The URL an error of `buildId` is reported to: the contract's, resolved against the tag's script URL as the widget resolves it. */
function reportUrl(buildId: string, message: string, distribution = local.url): string {
  return errorReportUrl(`${distribution}/assets/index.js`, buildId, message);
}

/** A healthy load's requests: GET index.js, then GETs of its own build's files; nothing under /api/. */
function expectScriptsOnly(visit: Visit, buildId: string): void {
  const asset = new RegExp(`^/assets/${buildId}/[A-Za-z0-9._-]+\\.js$`);
  expect(visit.requests.filter((request) => new URL(request.url).pathname.startsWith('/api/'))).toEqual([]);
  for (const request of visit.requests) {
    const url = new URL(request.url);
    expect(url.origin).toBe(local.url);
    const known = request.method === 'GET' && (url.pathname === '/assets/index.js' || asset.test(url.pathname));
    expect(`${request.method} ${url.pathname}: ${known}`).toBe(`${request.method} ${url.pathname}: true`);
  }
}

function sri(file: Buffer): string {
  return `sha256-${createHash('sha256').update(file).digest('base64')}`;
}

/** A build's entry as the build wrote it: the bytes /assets/index.js serves to that build's viewers. */
function entryOf(build: { dir: string; buildId: string }): Buffer {
  return readFileSync(path.join(build.dir, 'assets', build.buildId, 'index.js'));
}

// ---- the tests ----

it('finds the browser in the documented order: CHROMIUM_PATH, a system browser, then @sparticuz/chromium on Linux x64 only', async () => {
  // Unpacks only when it is the one chosen (global setup unpacks through findChromium).
  const packaged = jest.fn(async () => '/cache/chromium');
  const only =
    (...files: string[]) =>
    (file: string) =>
      files.includes(file);
  const system = systemBrowsers()[0];
  await expect(findChromium({ env: { CHROMIUM_PATH: '/opt/c' }, exists: only('/opt/c', system), packaged })).resolves.toEqual({ executablePath: '/opt/c', source: 'CHROMIUM_PATH' });
  await expect(findChromium({ env: { CHROMIUM_PATH: '/opt/missing' }, exists: only(system), packaged })).rejects.toThrow('CHROMIUM_PATH=/opt/missing does not exist');
  await expect(findChromium({ env: {}, exists: only(system), packaged })).resolves.toEqual({ executablePath: system, source: 'system' });
  const mac = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
  await expect(findChromium({ env: {}, exists: only(mac), platform: 'darwin', arch: 'arm64', packaged })).resolves.toEqual({ executablePath: mac, source: 'system' });
  expect(packaged).not.toHaveBeenCalled();
  await expect(findChromium({ env: {}, exists: only(), platform: 'linux', arch: 'x64', packaged })).resolves.toEqual({ executablePath: '/cache/chromium', source: '@sparticuz/chromium' });
  await expect(findChromium({ env: {}, exists: only(), platform: 'linux', arch: 'arm64', packaged })).rejects.toThrow(/apt install chromium, or set CHROMIUM_PATH/);
  await expect(findChromium({ env: {}, exists: only(), platform: 'darwin', arch: 'arm64', packaged })).rejects.toThrow(/install Google Chrome, or set CHROMIUM_PATH/);
});

it('the sample host page loads the widget with one async tag', () => {
  const sample = readFileSync(path.join(PROJECT_ROOT, 'webapp', 'host', 'index.html'), 'utf8');
  expect(sample.match(/<script\b[^>]*>/g)).toEqual(['<script async src="{{DISTRIBUTION}}/assets/index.js">']);
});

it('renders under exactly the policy npm run csp prints, with no violation, and a healthy load sends nothing but the requests for its scripts', async () => {
  expect(csp.policy).toBe(`default-src 'none'; script-src ${local.url}; connect-src ${local.url}`);
  expect(csp.errorReportUrl).toBe(`${local.url}${ERROR_REPORT_PATH}`);
  const visit = await open(host.page('/strict', '203.0.113.10', respond(hostDocument(widgetTag('203.0.113.10')), csp.policy)));
  await visit.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  await settled(visit.page);
  expect(new URL(visit.requests[0].url).pathname).toBe('/assets/index.js');
  expect(visit.requests.length).toBeGreaterThanOrEqual(3);
  expectScriptsOnly(visit, builds.stable.buildId);
  expect(visit.reports).toEqual([]);
  expect(visit.violations).toEqual([]);
  expect(visit.errors).toEqual([]);
  await visit.page.close();
});

it('leaves the host page as it found it but for its own element, two globals and two listeners; no storage, no cookies, only the distribution', async () => {
  const policy = respond(hostDocument(''), csp.policy);
  const baseline = await open(host.page('/baseline', '203.0.113.11', policy));
  const visit = await open(host.page('/footprint', '203.0.113.12', respond(hostDocument(widgetTag('203.0.113.12')), csp.policy)));
  await visit.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  await settled(visit.page);

  // Globals: what the widget's window holds that the same page without it does not.
  const globals = (page: Page) => page.evaluate(() => Object.getOwnPropertyNames(window));
  const baseGlobals = new Set(await globals(baseline.page));
  expect((await globals(visit.page)).filter((name) => !baseGlobals.has(name)).sort()).toEqual(['__reactRouterVersion', 'webpackChunkedgeWidget']);

  // Listeners on window and document, as DevTools lists them.
  const listeners = async (page: Page) => {
    const cdp = await page.context().newCDPSession(page);
    const of = async (expression: string) => {
      const { result } = await cdp.send('Runtime.evaluate', { expression });
      const { listeners: found } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId! });
      return found.map((listener) => `${expression}:${listener.type}`);
    };
    const all = [...(await of('window')), ...(await of('document'))];
    await cdp.detach();
    return all;
  };
  const baseListeners = await listeners(baseline.page);
  const added = (await listeners(visit.page)).filter((listener) => !baseListeners.includes(listener));
  expect(added.sort()).toEqual(['document:selectionchange', 'window:error']);

  // The document: one element right after the tag, its content in an open shadow root with an adopted stylesheet.
  const dom = await visit.page.evaluate(() => {
    const widget = document.querySelector('[data-edge-widget]')!;
    return {
      head: document.head.innerHTML,
      body: [...document.body.children].map((element) => element.tagName),
      buildId: widget.getAttribute('data-edge-widget'),
      afterTag: widget.previousElementSibling?.tagName,
      attributes: widget.getAttributeNames(),
      shadowMode: widget.shadowRoot?.mode,
      lightChildren: widget.childNodes.length,
      shadowStyleElements: widget.shadowRoot?.querySelectorAll('style').length,
      adopted: widget.shadowRoot?.adoptedStyleSheets.length,
      documentSheets: document.styleSheets.length + document.adoptedStyleSheets.length,
    };
  });
  const baseHead = await baseline.page.evaluate(() => document.head.innerHTML);
  expect(dom).toEqual({
    head: baseHead,
    body: ['H1', 'SCRIPT', 'DIV', 'P'],
    buildId: builds.stable.buildId,
    afterTag: 'SCRIPT',
    attributes: ['data-edge-widget'],
    shadowMode: 'open',
    lightChildren: 0,
    shadowStyleElements: 0,
    adopted: 1,
    documentSheets: 0,
  });

  // Its routes live in memory: following a link inside the widget changes neither the URL nor the history.
  const location = await visit.page.evaluate(() => ({ href: window.location.href, length: history.length }));
  await visit.page.getByText('About', { exact: true }).click();
  await visit.page.getByTestId('page-about').waitFor({ timeout: 15_000 });
  await expect(visit.page.evaluate(() => ({ href: window.location.href, length: history.length }))).resolves.toEqual(location);

  // Storage: nothing in the host origin's storage, no cookie on any origin, no service worker.
  const storage = await visit.page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
    indexedDb: (await indexedDB.databases()).length,
    caches: (await caches.keys()).length,
    serviceWorkers: (await navigator.serviceWorker.getRegistrations()).length,
  }));
  expect(storage).toEqual({ local: 0, session: 0, cookie: '', indexedDb: 0, caches: 0, serviceWorkers: 0 });
  await expect(visit.page.context().cookies()).resolves.toEqual([]);
  expect(visit.setCookies).toEqual([]);

  // Network: the distribution only; GETs of index.js and its own build's files, nothing else.
  await settled(visit.page);
  expectScriptsOnly(visit, builds.stable.buildId);
  expect([...visit.violations, ...baseline.violations]).toEqual([]);
  await baseline.page.close();
  await visit.page.close();
});

it("reports its own errors, not the host page's", async () => {
  const visit = await open(host.page('/errors', '203.0.113.13', respond(hostDocument(widgetTag('203.0.113.13')), csp.policy)));
  await visit.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  // An uncaught error of the host page's own code (page.evaluate runs in the page's main world).
  await visit.page.evaluate(
    () =>
      void setTimeout(() => {
        throw new Error('the host page broke');
      }, 0),
  );
  await pollUntil("the host page's error", () => visit.errors.some((error) => error.includes('the host page broke')), 15_000, 50);
  await settled(visit.page);
  expect(visit.reports).toEqual([]);
  // Its own error (the widget's "Raise an error" link): one GET /api/e naming its build and the
  // message, under the printed policy, answered 204 at the edge.
  await visit.page.getByTestId('boom-link').click();
  // Its error boundary shows the error in place of the page; the host page's error is left uncaught.
  await expect(visit.page.getByRole('alert').textContent()).resolves.toBe(`Widget error: ${BOOM}`);
  await pollUntil('the error report to be answered', () => visit.reports.some((report) => report.status !== undefined), 15_000, 50);
  await settled(visit.page);
  expect(visit.reports).toEqual([{ method: 'GET', url: reportUrl(builds.stable.buildId, BOOM), status: 204 }]);
  expect(visit.errors).toContain('pageerror: the host page broke');
  expect(visit.violations).toEqual([]);
  await visit.page.close();
});

it('needs connect-src for error reports only: without it a healthy load is untouched, and an error is blocked, reported as a violation, and never sent', async () => {
  const policy = formatPolicy({ 'default-src': ["'none'"], 'script-src': csp.directives['script-src'] });
  expect(policy).not.toContain('connect-src');
  const visit = await open(host.page('/no-connect-src', '203.0.113.14', respond(hostDocument(widgetTag('203.0.113.14')), policy)));
  await visit.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  await settled(visit.page);
  expect(visit.violations).toEqual([]);
  expect(visit.errors).toEqual([]);
  await visit.page.getByTestId('boom-link').click();
  await pollUntil('a violation', () => visit.violations.length > 0, 15_000, 50);
  // The blocked URL is the whole report's: CSP matches only its origin, so the query changes nothing.
  expect(visit.violations).toEqual([{ directive: 'connect-src', blocked: reportUrl(builds.stable.buildId, BOOM) }]);
  await settled(visit.page);
  // A blocked request never leaves the browser: nothing reached the distribution.
  expect(visit.reports.filter((report) => report.status !== undefined)).toEqual([]);
  // Blocked, the report still breaks nothing: no uncaught error or rejection, only the browser's
  // report of the violation and React's log of the error its boundary caught.
  expect(visit.errors.filter((error) => !error.includes('Content Security Policy') && !error.includes(BOOM))).toEqual([]);
  expect(visit.errors.filter((error) => error.startsWith('pageerror:') || /Uncaught/.test(error))).toEqual([]);
  await visit.page.close();
});

it('needs the whole distribution origin in script-src: allowing only /assets/index.js blocks the chunks, and the widget reports it', async () => {
  const policy = formatPolicy({ 'default-src': ["'none'"], 'script-src': [`${local.url}/assets/index.js`], 'connect-src': csp.directives['connect-src'] });
  const visit = await open(host.page('/entry-only', '203.0.113.15', respond(hostDocument(widgetTag('203.0.113.15')), policy)));
  await pollUntil('the chunk-load error report to be answered', () => visit.reports.some((report) => report.status !== undefined), 15_000, 50);
  await settled(visit.page);
  // One report, however many chunks were blocked: a GET naming the build, its message cut to the contract's length.
  expect(visit.reports).toHaveLength(1);
  const sent = new URL(visit.reports[0].url);
  expect({ method: visit.reports[0].method, path: sent.pathname, build: sent.searchParams.get('b'), status: visit.reports[0].status }).toEqual({ method: 'GET', path: ERROR_REPORT_PATH, build: builds.stable.buildId, status: 204 });
  expect(sent.searchParams.get('m')).toMatch(/^chunk load failed: Loading chunk \d+ failed\./);
  expect(sent.searchParams.get('m')!.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  expect(visit.violations.length).toBeGreaterThan(0);
  expect(visit.violations.every((violation) => violation.directive === 'script-src-elem' && violation.blocked.startsWith(`${local.url}/assets/${builds.stable.buildId}/`))).toBe(true);
  await expect(visit.page.locator('[data-edge-widget]').count()).resolves.toBe(0);
  await visit.page.close();
});

it("works under a nonce-based policy with 'strict-dynamic': the nonce on the tag, the chunks trusted through it", async () => {
  const nonce = 'aG9zdC1ub25jZQ';
  const policy = formatPolicy({ 'default-src': ["'none'"], 'script-src': [`'nonce-${nonce}'`, "'strict-dynamic'"], 'connect-src': csp.directives['connect-src'] });
  const visit = await open(host.page('/strict-dynamic', '203.0.113.16', respond(hostDocument(widgetTag('203.0.113.16', ` nonce="${nonce}"`)), policy)));
  await visit.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  await settled(visit.page);
  expectScriptsOnly(visit, builds.stable.buildId);
  expect(visit.violations).toEqual([]);
  await visit.page.close();
});

it('is blocked by a policy enforcing Trusted Types: its chunk loader sets script URLs as strings', async () => {
  const policy = `${csp.policy}; require-trusted-types-for 'script'`;
  const visit = await open(host.page('/trusted-types', '203.0.113.17', respond(hostDocument(widgetTag('203.0.113.17')), policy)));
  await pollUntil('a Trusted Types violation', () => visit.violations.some((violation) => violation.directive === 'require-trusted-types-for'), 15_000, 50);
  await expect(visit.page.locator('[data-edge-widget]').count()).resolves.toBe(0);
  await visit.page.close();
});

it('renders at the end of <body> from an async tag in <head>, even when it runs before <body> has arrived', async () => {
  let rest: ServerResponse | undefined;
  const url = host.page('/streamed', '203.0.113.18', (res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': csp.policy });
    // The head now, the body later: a streamed page, whose server is still working on the rest.
    res.write(`<!doctype html>\n<html lang="en">\n<head>\n${HEAD}\n${widgetTag('203.0.113.18')}\n</head>\n`);
    rest = res;
  });
  const visit = await open(url, { waitUntil: 'commit' });
  // index.js, then the three chunks mount() needs; once they ran, mount() has run too. Until the
  // document replaces the blank page the browser starts with, there is nothing to ask.
  const chunksRun = () => visit.page.evaluate(() => (window as unknown as { webpackChunkedgeWidget?: unknown[] }).webpackChunkedgeWidget?.length ?? 0).catch(() => 0);
  await pollUntil('the widget to mount', async () => (await chunksRun()) >= 3, 15_000, 50);
  await expect(visit.page.evaluate(() => document.body === null)).resolves.toBe(true);
  rest!.end(`<body>\n<h1>A customer's page</h1>\n<p>Content after the widget.</p>\n</body>\n</html>\n`);
  await visit.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  await expect(visit.page.evaluate(() => [...document.body.children].map((element) => element.tagName))).resolves.toEqual(['H1', 'P', 'DIV']);
  await settle(visit.page);
  expect(visit.violations).toEqual([]);
  expect(visit.errors).toEqual([]);
  await visit.page.close();
});

it('can be pinned to one build with Subresource Integrity: /assets/<buildId>/index.js renders; a wrong hash is refused', async () => {
  const pinned = `${local.url}/assets/${builds.stable.buildId}/index.js`;
  const tag = (integrity: string) => `<script async src="${pinned}" integrity="${integrity}" crossorigin="anonymous"></script>`;
  const good = await open(host.page('/pinned', '203.0.113.19', respond(hostDocument(tag(sri(entryOf(builds.stable)))), csp.policy)));
  await good.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  await settle(good.page);
  expect(good.violations).toEqual([]);
  const bad = await open(host.page('/pinned-wrong', '203.0.113.20', respond(hostDocument(tag(sri(entryOf(builds.canary)))), csp.policy)));
  await pollUntil('the integrity failure', () => bad.errors.some((error) => /integrity/.test(error)), 15_000, 50);
  await expect(bad.page.locator('[data-edge-widget]').count()).resolves.toBe(0);
  await good.page.close();
  await bad.page.close();
});

describe('a release under the policy, judged by the release signal', () => {
  let h: SignalHarness;
  beforeAll(async () => {
    h = await startSignalHarness(config, { alarm: judgedOnFewViewers(config.alarms) });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('under the policy, a client error on the canary rolls it back; an integrity hash on /assets/index.js fails its canary viewers', async () => {
    const distribution = h.local.url;
    const policy = hostCsp(config, distribution).policy;
    const tag = (viewer: string, attributes = '') => widgetTag(viewer, attributes, distribution);
    const base = h.clock.now();
    const released = await h.local.release(builds.canary.dir);
    // Linear, 10% a minute, but too few viewers for the judge to find a step healthy: the first step
    // (10 %) holds. A viewer the rollout sends to the canary, found as a host page's script would
    // find out, keeps it while the weight does not move.
    await h.period(base, async () => undefined);
    const buildOf = async (viewer: string) => /\/assets\/([0-9a-f]{16})\//.exec(await (await fetch(`${distribution}/assets/index.js?viewer=${viewer}`)).text())![1];
    let canaryViewer = '';
    const second = await h.period(base + h.periodMs, async () => {
      for (let i = 1; !canaryViewer && i < 250; i += 1) if ((await buildOf(`203.0.115.${i}`)) === builds.canary.buildId) canaryViewer = `203.0.115.${i}`;
    });
    expect(parseRolloutState(second.state)).toMatchObject({ canary: builds.canary.buildId, weight: 1000 });
    expect(canaryViewer).not.toBe('');

    const third = base + 2 * h.periodMs;
    let visit!: Visit;
    await h.period(third, async () => {
      // The stable entry's hash on the one URL: the bytes differ for this viewer, so the browser refuses them.
      const pinnedStable = tag(canaryViewer, ` integrity="${sri(entryOf(builds.stable))}" crossorigin="anonymous"`);
      const refused = await open(host.page('/sri-on-entry', canaryViewer, respond(hostDocument(pinnedStable), policy)));
      await pollUntil('the integrity failure', () => refused.errors.some((error) => /integrity/.test(error)), 15_000, 50);
      await expect(refused.page.locator('[data-edge-widget]').count()).resolves.toBe(0);
      await refused.page.close();

      visit = await open(host.page('/canary', canaryViewer, respond(hostDocument(tag(canaryViewer)), policy)));
      await visit.page.getByText(CANARY_HEADLINE).waitFor({ timeout: 15_000 });
      await visit.page.getByTestId('boom-link').click();
      await pollUntil("the canary's error report to be answered", () => visit.reports.some((report) => report.status !== undefined), 15_000, 50);
      await settled(visit.page);
      expect(visit.reports).toEqual([{ method: 'GET', url: reportUrl(builds.canary.buildId, BOOM, distribution), status: 204 }]);
      expect(parseRolloutState(h.local.status().state)).toMatchObject({ canary: builds.canary.buildId, weight: 1000 });
      // Four more canary viewers err: with this one, enough for the judge against the clean viewers around them.
      await canaryErrors(h, builds.canary.buildId, 4, '203.0.117');
      await pollUntil('the judge to roll the canary back', () => h.local.controlPlane.status().deployment?.status !== 'InProgress', 10_000, 20);
    });
    // The signal counts the viewers (their entry loads) and their errors from the real-time log once the period is whole.
    const closed = await h.closePeriod(third);
    expect(closed).toMatchObject({ unjudged: null, counts: { canary: { viewers: 5, erroring: 5 } } });
    const status = h.local.controlPlane.tick();
    expect(status.judgment?.failure).toMatch(/^failing: /);
    expect(status.deployment).toMatchObject({ id: released.deploymentId, status: expect.stringMatching(/^(Failed|Stopped)$/) });
    expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    expect(visit.violations).toEqual([]);
    await visit.page.close();

    // The same viewer's next load gets the stable build, still under the policy.
    const after = await open(host.page('/after-rollback', canaryViewer, respond(hostDocument(tag(canaryViewer)), policy)));
    await after.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
    await after.page.close();
  }, 120_000);
});

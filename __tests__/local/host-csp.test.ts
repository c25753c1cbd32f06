/**
 * The host page's side, in a real browser, on every engine the run asks for (fixtures/engines.ts):
 * a customer's page on its own origin, served here by a loopback server whose responses carry the
 * policy `npm run csp` prints for the local distribution (scripts/csp.ts, hostCsp). Under it the
 * widget renders with no violation and a healthy load sends nothing but the requests for its
 * scripts; an error sends one GET /api/e, answered 204, and a client error still rolls a canary
 * back (through the release signal: fixtures/local.ts startSignalHarness); without connect-src a
 * healthy load is untouched, and only an error's report is blocked. Every claim of
 * docs/host-integration.md about what the widget does to a host page (DOM, globals, listeners,
 * storage, network, errors, SRI) is checked here, and the cells of its engine table.
 *
 * What a page did is recorded from inside it (fixtures/widget-page.ts): every host page here runs
 * a recorder first, allowed by a nonce of its own that each policy names beside what the test is
 * about. A nonce allows only the element that carries it, so the policy allows the widget exactly
 * what it would without it. What reached the distribution comes from its access log, and what
 * reached the host site from the host server itself.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { ERROR_REPORT_PATH, errorReportUrl, MAX_MESSAGE_LENGTH } from '../../contracts/error-report';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import type { ServedResponse } from '../../loopback/cloudfront-emulator';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { PROJECT_ROOT } from '../../publish/build';
import { formatPolicy, hostCsp, type HostCsp } from '../../scripts/csp';
import { expectDocumented } from '../fixtures/engine-table';
import {
  enginesUnderTest,
  launchEngine,
  type EngineBrowser,
  type EngineName,
  type EnginePage,
} from '../fixtures/engines';
import {
  CANARY_HEADLINE,
  canaryErrors,
  localBuilds,
  judgedOnFewViewers,
  STABLE_HEADLINE,
  startSignalHarness,
  type SignalHarness,
} from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';
import {
  accessLog,
  alertText,
  clickInWidget,
  pageRecord,
  pathOf,
  RECORDER_NONCE,
  recorderTag,
  reportsIn,
  settle,
  waitForWidgetText,
  widgetCount,
  widgetStyle,
  type AccessLog,
  type PageRecord,
} from '../fixtures/widget-page';

const config = loadConfig();
const builds = localBuilds();
let local: LocalDistribution;
let log: AccessLog;
let host: HostServer;
let csp: HostCsp;

beforeAll(async () => {
  local = await startLocalDistribution({ config, buildDir: builds.stable.dir, tickMs: 0 });
  log = accessLog(local.emulator);
  csp = hostCsp(config, local.url);
  host = await startHostServer();
}, 120_000);
afterAll(async () => {
  await host?.close();
  await local?.stop();
});

// ---- the host site: a loopback server of its own, one route per page a test asks for ----

type Route = (res: ServerResponse) => void;

interface HostServer {
  readonly origin: string;
  /** Serves `route` at `pathname`; returns its URL with `?viewer=` (the emulator's client-IP seam, through Referer). */
  page(pathname: string, viewer: string, route: Route): string;
  /** The paths asked of the host site, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

async function startHostServer(): Promise<HostServer> {
  const routes = new Map<string, Route>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://host').pathname;
    requests.push(pathname);
    const route = routes.get(pathname);
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
    requests,
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

/** `policy` with the recorder's nonce beside the other script sources. */
function withRecorder(policy: string): string {
  if (!/(^|; )script-src /.test(policy)) throw new Error(`no script-src in ${policy}`);
  return policy.replace(/(^|; )script-src /, `$1script-src 'nonce-${RECORDER_NONCE}' `);
}

/** The response of a host page: the document and `policy` (with the recorder's nonce) as its CSP header. */
function respond(html: string, policy: string): Route {
  return (res) =>
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': withRecorder(policy),
      })
      .end(html);
}

/**
 * The head of the host pages here: the recorder first; full referrers, so the widget's chunks and error reports carry
 * `?viewer=` too.
 */
const HEAD =
  `${recorderTag()}\n<meta charset="utf-8">\n<meta name="referrer" content="no-referrer-when-downgrade">\n` +
  `<title>A host page under a Content-Security-Policy</title>`;

function hostDocument(tag: string): string {
  return (
    `<!doctype html>\n<html lang="en">\n<head>\n${HEAD}\n</head>\n<body>\n<h1>A customer's page</h1>\n` +
    `${tag}\n<p>Content after the widget.</p>\n</body>\n</html>\n`
  );
}

/** The one tag of docs/host-integration.md, as `viewer`, for the distribution at `distribution`. */
function widgetTag(viewer: string, attributes = '', distribution = local.url): string {
  return `<script async src="${distribution}/assets/index.js?viewer=${viewer}"${attributes}></script>`;
}

const BOOM = 'Boom: an intentional client error for rollback testing';

/**
 * The URL an error of `buildId` is reported to: the contract's, resolved against the tag's script URL as the widget
 * resolves it.
 */
function reportUrl(buildId: string, message: string, distribution = local.url): string {
  return errorReportUrl(`${distribution}/assets/index.js`, buildId, message);
}

/**
 * Whether an engine runs an async script of a page's <head> while the rest of the page is still
 * arriving. Blink and Gecko run it as soon as it is fetched; WebKit fetches it as soon but runs
 * it only once the document is complete.
 */
const RUNS_ASYNC_SCRIPTS_WHILE_HEAD_STREAMS: Readonly<Record<EngineName, boolean>> = {
  chromium: true,
  firefox: true,
  webkit: false,
};

function sri(file: Buffer): string {
  return `sha256-${createHash('sha256').update(file).digest('base64')}`;
}

/** A build's entry as the build wrote it: the bytes /assets/index.js serves to that build's viewers. */
function entryOf(build: { dir: string; buildId: string }): Buffer {
  return readFileSync(path.join(build.dir, 'assets', build.buildId, 'index.js'));
}

it('the sample host page loads the widget with one async tag', () => {
  const sample = readFileSync(path.join(PROJECT_ROOT, 'webapp', 'host', 'index.html'), 'utf8');
  expect(sample.match(/<script\b[^>]*>/g)).toEqual(['<script async src="{{DISTRIBUTION}}/assets/index.js">']);
});

describe.each(enginesUnderTest())('%s', (engine) => {
  let browser: EngineBrowser;
  /**
   * The release test's harness, started with the browser and ready when it runs: its start (0.9 s, this process's
   * CPU) overlaps the tests before it, which mostly wait on the browser. Not beside another distribution's start
   * (the file's own is up by now): each points the bundles' seams (process.env) at its own servers before it loads
   * them.
   */
  let harness: Promise<SignalHarness> | undefined;
  beforeAll(async () => {
    mkdirSync(path.join(PROJECT_ROOT, 'build', 'screenshots', engine), { recursive: true });
    harness = startSignalHarness(config, { alarm: judgedOnFewViewers(config.alarms) });
    // A failure is the release test's to report: its beforeAll awaits it.
    harness.catch(() => undefined);
    browser = await launchEngine(engine);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await (await harness?.catch(() => undefined))?.stop();
  });

  /** A host page opened as `viewer`, and what reached the distribution and the host site since. */
  interface Visit {
    readonly page: EnginePage;
    readonly viewer: string;
    /** The distribution's responses to this viewer since the page was opened. */
    requests(): readonly ServedResponse[];
    /** The requests under /api/: method, whole URL, status. */
    reports(): { readonly method: string; readonly url: string; readonly status: number }[];
    /** What the page recorded: violations, errors, listeners. */
    record(): Promise<PageRecord>;
    /** Resolves once nothing more reaches the distribution for this viewer. */
    quiet(): Promise<void>;
    /** The paths asked of the host site after the document, but the browser's own favicon request. */
    hostRequests(): readonly string[];
  }

  /** The distribution a page's widget loads from, and its access log. */
  interface Distribution {
    readonly url: string;
    readonly log: AccessLog;
  }

  async function open(
    url: string,
    options: { readonly waitUntil?: 'commit' | 'load'; readonly distribution?: Distribution } = {},
  ): Promise<Visit> {
    const viewer = new URL(url).searchParams.get('viewer')!;
    const distribution = options.distribution ?? { url: local.url, log };
    const requests = distribution.log.from(viewer);
    const hostSince = host.requests.length;
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: options.waitUntil });
    return {
      page,
      viewer,
      requests,
      reports: () => reportsIn(requests(), distribution.url),
      record: () => pageRecord(page),
      quiet: () => distribution.log.quiet(viewer),
      hostRequests: () =>
        host.requests
          .slice(hostSince)
          .slice(1)
          .filter((p) => p !== '/favicon.ico'),
    };
  }

  /** Once the widget has rendered: nothing more on its way to the distribution, and the page's tasks run. */
  async function settled(visit: Visit): Promise<void> {
    await visit.quiet();
    await settle(visit.page);
  }

  /**
   * A healthy load's requests: GET index.js, then GETs of its own build's files; nothing under /api/, nothing more of
   * the host site.
   */
  function expectScriptsOnly(visit: Visit, buildId: string): void {
    const asset = new RegExp(`^/assets/${buildId}/[A-Za-z0-9._-]+\\.js$`);
    expect(visit.reports()).toEqual([]);
    for (const response of visit.requests()) {
      const known =
        response.method === 'GET' && (pathOf(response) === '/assets/index.js' || asset.test(pathOf(response)));
      expect(`${response.method} ${pathOf(response)}: ${known}`).toBe(`${response.method} ${pathOf(response)}: true`);
    }
    expect(visit.hostRequests()).toEqual([]);
  }

  it(
    'renders under the policy npm run csp prints, with no violation, and a healthy load sends nothing but the ' +
      'requests for its scripts',
    async () => {
      expect(csp.policy).toBe(`default-src 'none'; script-src ${local.url}; connect-src ${local.url}`);
      expect(csp.errorReportUrl).toBe(`${local.url}${ERROR_REPORT_PATH}`);
      const visit = await open(
        host.page('/strict', '203.0.113.10', respond(hostDocument(widgetTag('203.0.113.10')), csp.policy)),
      );
      await waitForWidgetText(visit.page, STABLE_HEADLINE);
      await settled(visit);
      expect(pathOf(visit.requests()[0]!)).toBe('/assets/index.js');
      expect(visit.requests().length).toBeGreaterThanOrEqual(3);
      expectScriptsOnly(visit, builds.stable.buildId);
      const record = await visit.record();
      expect(record.violations).toEqual([]);
      expect(record.errors).toEqual([]);
      expectDocumented(engine, browser.version, 'renders', 'yes');
      // Styled: the constructed stylesheet is adopted, and its rules apply (.widget's rounded border).
      // Without constructable stylesheets the <style> element it falls back to is blocked: unstyled.
      const style = await widgetStyle(visit.page);
      const styled =
        style.adopted === 1 && style.borderRadius === '8px'
          ? 'yes: constructed stylesheet'
          : style.styleElements > 0 && style.borderRadius !== '8px'
            ? 'unstyled: its <style> is blocked'
            : `no: ${JSON.stringify(style)}`;
      expectDocumented(engine, browser.version, 'styled', styled);
      await visit.page.screenshot({
        file: path.join(PROJECT_ROOT, 'build', 'screenshots', engine, '0-host-page-csp.png'),
      });
      await visit.page.close();
    },
  );

  it(
    'leaves the host page as it found it but for its own element, two globals and two listeners; no storage, no ' +
      'cookies, only the distribution',
    async () => {
      const policy = respond(hostDocument(''), csp.policy);
      const baseline = await open(host.page('/baseline', '203.0.113.11', policy));
      const visit = await open(
        host.page('/footprint', '203.0.113.12', respond(hostDocument(widgetTag('203.0.113.12')), csp.policy)),
      );
      await waitForWidgetText(visit.page, STABLE_HEADLINE);
      await settled(visit);

      // Globals: what the widget's window holds that the same page without it does not.
      const globals = (page: EnginePage) => page.evaluate(() => Object.getOwnPropertyNames(window));
      const baseGlobals = new Set(await globals(baseline.page));
      expect((await globals(visit.page)).filter((name) => !baseGlobals.has(name)).sort()).toEqual([
        '__reactRouterVersion',
        'webpackChunkedgeWidget',
      ]);

      // Listeners added to window and document, as the recorder saw them added, beyond the same page's without the
      // widget.
      const baseListeners = (await baseline.record()).listeners;
      const added = (await visit.record()).listeners.filter((listener) => !baseListeners.includes(listener));
      expect([...new Set(added)].sort()).toEqual(['document:selectionchange', 'window:error']);

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
      await clickInWidget(visit.page, { link: 'About' });
      await pollUntil(
        'the about page',
        () =>
          visit.page.evaluate(
            () =>
              document.querySelector('[data-edge-widget]')?.shadowRoot?.querySelector('[data-testid="page-about"]') !==
              null,
          ),
        15_000,
        50,
      );
      await expect(
        visit.page.evaluate(() => ({ href: window.location.href, length: history.length })),
      ).resolves.toEqual(location);

      // Storage: nothing in the host origin's storage, no cookie, no service worker; and no response
      // of the distribution sets a cookie (its own origin's cookies come only from Set-Cookie).
      const storage = await visit.page.evaluate(async () => ({
        local: localStorage.length,
        session: sessionStorage.length,
        cookie: document.cookie,
        indexedDb: (await indexedDB.databases()).length,
        caches: typeof caches === 'undefined' ? 0 : (await caches.keys()).length,
        serviceWorkers:
          navigator.serviceWorker === undefined ? 0 : (await navigator.serviceWorker.getRegistrations()).length,
      }));
      expect(storage).toEqual({ local: 0, session: 0, cookie: '', indexedDb: 0, caches: 0, serviceWorkers: 0 });
      expect(visit.requests().filter((response) => response.setCookie !== undefined)).toEqual([]);

      // Network: the distribution only; GETs of index.js and its own build's files, nothing else.
      await settled(visit);
      expectScriptsOnly(visit, builds.stable.buildId);
      expect([...(await visit.record()).violations, ...(await baseline.record()).violations]).toEqual([]);
      await baseline.page.close();
      await visit.page.close();
    },
  );

  it("reports its own errors, not the host page's", async () => {
    const visit = await open(
      host.page('/errors', '203.0.113.13', respond(hostDocument(widgetTag('203.0.113.13')), csp.policy)),
    );
    await waitForWidgetText(visit.page, STABLE_HEADLINE);
    // An uncaught error of the host page's own code (evaluate runs in the page's main world).
    await visit.page.evaluate(
      () =>
        void setTimeout(() => {
          throw new Error('the host page broke');
        }, 0),
    );
    await pollUntil(
      "the host page's error",
      async () => (await visit.record()).errors.includes('uncaught: the host page broke'),
      15_000,
      50,
    );
    await settled(visit);
    expect(visit.reports()).toEqual([]);
    // Its own error (the widget's "Raise an error" link): one GET /api/e naming its build and the
    // message, under the printed policy, answered 204 at the edge.
    await clickInWidget(visit.page, { testId: 'boom-link' });
    // Its error boundary shows the error in place of the page; the host page's error is left uncaught.
    await expect(alertText(visit.page)).resolves.toBe(`Widget error: ${BOOM}`);
    await pollUntil('the error report to be answered', () => visit.reports().length > 0, 15_000, 50);
    await settled(visit);
    expect(visit.reports()).toEqual([{ method: 'GET', url: reportUrl(builds.stable.buildId, BOOM), status: 204 }]);
    const record = await visit.record();
    // The host page's error stays uncaught; the widget's own is caught by its boundary (React logs it).
    expect(record.errors.filter((error) => error.startsWith('uncaught:') || error.startsWith('unhandled:'))).toEqual([
      'uncaught: the host page broke',
    ]);
    expect(record.violations).toEqual([]);
    await visit.page.close();
  });

  it(
    'needs connect-src for error reports only: without it a healthy load is untouched, and an error is blocked, ' +
      'reported as a violation, and never sent',
    async () => {
      const policy = formatPolicy({ 'default-src': ["'none'"], 'script-src': csp.directives['script-src'] });
      expect(policy).not.toContain('connect-src');
      const visit = await open(
        host.page('/no-connect-src', '203.0.113.14', respond(hostDocument(widgetTag('203.0.113.14')), policy)),
      );
      await waitForWidgetText(visit.page, STABLE_HEADLINE);
      await settled(visit);
      expect(await visit.record()).toMatchObject({ violations: [], errors: [] });
      await clickInWidget(visit.page, { testId: 'boom-link' });
      await pollUntil('a violation', async () => (await visit.record()).violations.length > 0, 15_000, 50);
      await settled(visit);
      const record = await visit.record();
      // The blocked URL is the whole report's: CSP matches only its origin, so the query changes nothing.
      expect(record.violations).toEqual([
        { directive: 'connect-src', blocked: reportUrl(builds.stable.buildId, BOOM) },
      ]);
      // A blocked request never leaves the browser: nothing reached the distribution.
      expect(visit.reports()).toEqual([]);
      // Blocked, the report still breaks nothing: no uncaught error or rejection; React logs the error its boundary
      // caught.
      expect(record.errors.filter((error) => !error.includes(BOOM))).toEqual([]);
      await visit.page.close();
    },
  );

  it(
    'needs the whole distribution origin in script-src: allowing only /assets/index.js blocks the chunks, and ' +
      'the widget reports it',
    async () => {
      const policy = formatPolicy({
        'default-src': ["'none'"],
        'script-src': [`${local.url}/assets/index.js`],
        'connect-src': csp.directives['connect-src'],
      });
      const visit = await open(
        host.page('/entry-only', '203.0.113.15', respond(hostDocument(widgetTag('203.0.113.15')), policy)),
      );
      await pollUntil('the chunk-load error report to be answered', () => visit.reports().length > 0, 15_000, 50);
      await settled(visit);
      // One report, however many chunks were blocked: a GET naming the build, its message cut to the contract's length.
      expect(visit.reports()).toHaveLength(1);
      const sent = new URL(visit.reports()[0]!.url);
      expect({
        method: visit.reports()[0]!.method,
        path: sent.pathname,
        build: sent.searchParams.get('b'),
        status: visit.reports()[0]!.status,
      }).toEqual({ method: 'GET', path: ERROR_REPORT_PATH, build: builds.stable.buildId, status: 204 });
      expect(sent.searchParams.get('m')).toMatch(/^chunk load failed: Loading chunk \d+ failed\./);
      expect(sent.searchParams.get('m')!.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
      const { violations } = await visit.record();
      expect(violations.length).toBeGreaterThan(0);
      for (const violation of violations)
        expect(violation).toEqual({
          directive: 'script-src-elem',
          blocked: expect.stringMatching(new RegExp(`^${local.url}(/assets/${builds.stable.buildId}/|$)`)),
        });
      // Nothing of a chunk reached the distribution: the browser blocked them before asking.
      expect(
        visit.requests().filter((response) => pathOf(response).startsWith(`/assets/${builds.stable.buildId}/`)),
      ).toEqual([]);
      await expect(widgetCount(visit.page)).resolves.toBe(0);
      await visit.page.close();
    },
  );

  it(
    "works under a nonce-based policy with 'strict-dynamic': " + 'the nonce on the tag, the chunks trusted through it',
    async () => {
      const nonce = 'aG9zdC1ub25jZQ';
      const policy = formatPolicy({
        'default-src': ["'none'"],
        'script-src': [`'nonce-${nonce}'`, "'strict-dynamic'"],
        'connect-src': csp.directives['connect-src'],
      });
      const visit = await open(
        host.page(
          '/strict-dynamic',
          '203.0.113.16',
          respond(hostDocument(widgetTag('203.0.113.16', ` nonce="${nonce}"`)), policy),
        ),
      );
      await waitForWidgetText(visit.page, STABLE_HEADLINE);
      await settled(visit);
      expectScriptsOnly(visit, builds.stable.buildId);
      expect((await visit.record()).violations).toEqual([]);
      expectDocumented(engine, browser.version, 'nonce', 'yes');
      await visit.page.close();
    },
  );

  it(
    'is blocked by a policy enforcing Trusted Types, where the engine enforces them: its chunk loader sets ' +
      'script URLs as strings',
    async () => {
      const policy = `${csp.policy}; require-trusted-types-for 'script'`;
      const visit = await open(
        host.page('/trusted-types', '203.0.113.17', respond(hostDocument(widgetTag('203.0.113.17')), policy)),
      );
      // Either the engine enforces Trusted Types and reports the chunk loader's violation, or it does not and the
      // widget renders.
      const trustedTypes = async () =>
        (await visit.record()).violations.some((violation) => violation.directive === 'require-trusted-types-for');
      const rendered = async () =>
        (
          (await visit.page.evaluate(
            () => document.querySelector('[data-edge-widget]')?.shadowRoot?.textContent ?? '',
          )) as string
        ).includes(STABLE_HEADLINE);
      await pollUntil(
        'a Trusted Types violation, or the widget',
        async () => (await trustedTypes()) || (await rendered()),
        15_000,
        50,
      );
      await settled(visit);
      const enforces = await visit.page.evaluate(
        () => typeof (window as unknown as { trustedTypes?: unknown }).trustedTypes === 'object',
      );
      const seen =
        (await trustedTypes()) && (await widgetCount(visit.page)) === 0
          ? 'blocked: violation reported'
          : (await rendered()) && !(await trustedTypes())
            ? 'renders: not enforced'
            : 'neither';
      // An engine with the trustedTypes global enforces the policy; one without ignores the directive.
      expect(seen).toBe(enforces ? 'blocked: violation reported' : 'renders: not enforced');
      expectDocumented(engine, browser.version, 'trustedTypes', seen);
      await visit.page.close();
    },
  );

  it(
    'renders at the end of <body> from an async tag in ' + '<head>, even when it runs before <body> has arrived',
    async () => {
      let rest: ServerResponse | undefined;
      const url = host.page('/streamed', '203.0.113.18', (res) => {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': withRecorder(csp.policy),
        });
        // The head now, the body later: a streamed page, whose server is still working on the rest.
        res.write(`<!doctype html>\n<html lang="en">\n<head>\n${HEAD}\n${widgetTag('203.0.113.18')}\n</head>\n`);
        rest = res;
      });
      const visit = await open(url, { waitUntil: 'commit' });
      // index.js, then the three chunks mount() needs; once they ran, mount() has run too. Until the
      // document replaces the blank page the browser starts with, there is nothing to ask.
      const chunksRun = () =>
        visit.page
          .evaluate(
            () => (window as unknown as { webpackChunkedgeWidget?: unknown[] }).webpackChunkedgeWidget?.length ?? 0,
          )
          .catch(() => 0);
      let ranBeforeBody: boolean;
      if (RUNS_ASYNC_SCRIPTS_WHILE_HEAD_STREAMS[engine]) {
        await pollUntil('the widget to mount', async () => (await chunksRun()) >= 3, 15_000, 50);
        ranBeforeBody = true;
      } else {
        // WebKit fetches the script at once but runs it only once the document has arrived: its
        // entry is served, and then nothing more is asked while the page waits for the rest.
        await pollUntil(
          'the entry to be fetched',
          () => visit.requests().some((response) => pathOf(response) === '/assets/index.js'),
          15_000,
          50,
        );
        await visit.quiet();
        ranBeforeBody = (await chunksRun()) > 0;
        expect(visit.requests().map(pathOf)).toEqual(['/assets/index.js']);
      }
      await expect(visit.page.evaluate(() => document.body === null)).resolves.toBe(true);
      rest!.end(`<body>\n<h1>A customer's page</h1>\n<p>Content after the widget.</p>\n</body>\n</html>\n`);
      await waitForWidgetText(visit.page, STABLE_HEADLINE);
      const order = await visit.page.evaluate(() => [...document.body.children].map((element) => element.tagName));
      expect(order).toEqual(['H1', 'P', 'DIV']);
      await settle(visit.page);
      expect(await visit.record()).toMatchObject({ violations: [], errors: [] });
      const where = order.at(-1) === 'DIV' ? 'at the end of `<body>`' : `not at the end: ${order.join(' ')}`;
      expectDocumented(
        engine,
        browser.version,
        'headTag',
        ranBeforeBody
          ? `yes, ${where}; runs before \`<body>\` arrives`
          : `yes, ${where}; runs once the page has arrived`,
      );
      await visit.page.close();
    },
  );

  it(
    'can be pinned to one build with Subresource Integrity: /assets/<buildId>/index.js renders; a ' +
      'wrong hash is refused',
    async () => {
      const pinned = `${local.url}/assets/${builds.stable.buildId}/index.js`;
      const tag = (integrity: string) =>
        `<script async src="${pinned}" integrity="${integrity}" crossorigin="anonymous"></script>`;
      const good = await open(
        host.page('/pinned', '203.0.113.19', respond(hostDocument(tag(sri(entryOf(builds.stable)))), csp.policy)),
      );
      await waitForWidgetText(good.page, STABLE_HEADLINE);
      await settle(good.page);
      expect((await good.record()).violations).toEqual([]);
      const bad = await open(
        host.page('/pinned-wrong', '203.0.113.20', respond(hostDocument(tag(sri(entryOf(builds.canary)))), csp.policy)),
      );
      // The browser fetched it (the distribution answered 200), then refused the bytes: the script's error event.
      await pollUntil(
        'the integrity failure',
        async () => (await bad.record()).errors.includes(`resource: ${pinned}`),
        15_000,
        50,
      );
      expect(bad.requests().map((response) => [pathOf(response), response.status])).toEqual([
        [`/assets/${builds.stable.buildId}/index.js`, 200],
      ]);
      await expect(widgetCount(bad.page)).resolves.toBe(0);
      await good.page.close();
      await bad.page.close();
    },
  );

  describe('a release under the policy, judged by the release signal', () => {
    let h: SignalHarness;
    let released: Distribution;
    beforeAll(async () => {
      h = await harness!;
      released = { url: h.local.url, log: accessLog(h.local.emulator) };
    }, 120_000);

    it('under the policy, a client error on the canary rolls it back; an integrity hash on /assets/index.js fails ' +
      'its canary viewers', async () => {
      const distribution = h.local.url;
      const policy = hostCsp(config, distribution).policy;
      const tag = (viewer: string, attributes = '') => widgetTag(viewer, attributes, distribution);
      const base = h.clock.now();
      const release = await h.local.release(builds.canary.dir);
      // Linear, 10% a minute, but too few viewers for the judge to find a step healthy: the first step
      // (10 %) holds. A viewer the rollout sends to the canary, found as a host page's script would
      // find out, keeps it while the weight does not move.
      await h.period(base, async () => undefined);
      const buildOf = async (viewer: string) =>
        /\/assets\/([0-9a-f]{16})\//.exec(
          await (await fetch(`${distribution}/assets/index.js?viewer=${viewer}`)).text(),
        )![1];
      let canaryViewer = '';
      const second = await h.period(base + h.periodMs, async () => {
        for (let i = 1; !canaryViewer && i < 250; i += 1)
          if ((await buildOf(`203.0.115.${i}`)) === builds.canary.buildId) canaryViewer = `203.0.115.${i}`;
      });
      expect(parseRolloutState(second.state)).toMatchObject({ canary: builds.canary.buildId, weight: 1000 });
      expect(canaryViewer).not.toBe('');

      const third = base + 2 * h.periodMs;
      let visit!: Visit;
      await h.period(third, async () => {
        // The stable entry's hash on the one URL: the bytes differ for this viewer, so the browser refuses them.
        const pinnedStable = tag(canaryViewer, ` integrity="${sri(entryOf(builds.stable))}" crossorigin="anonymous"`);
        const refused = await open(
          host.page('/sri-on-entry', canaryViewer, respond(hostDocument(pinnedStable), policy)),
          { distribution: released },
        );
        await pollUntil(
          'the integrity failure',
          async () =>
            (await refused.record()).errors.some((error) =>
              error.startsWith(`resource: ${distribution}/assets/index.js`),
            ),
          15_000,
          50,
        );
        await expect(widgetCount(refused.page)).resolves.toBe(0);
        await refused.page.close();

        visit = await open(host.page('/canary', canaryViewer, respond(hostDocument(tag(canaryViewer)), policy)), {
          distribution: released,
        });
        await waitForWidgetText(visit.page, CANARY_HEADLINE);
        await clickInWidget(visit.page, { testId: 'boom-link' });
        await pollUntil("the canary's error report to be answered", () => visit.reports().length > 0, 15_000, 50);
        await settled(visit);
        expect(visit.reports()).toEqual([
          { method: 'GET', url: reportUrl(builds.canary.buildId, BOOM, distribution), status: 204 },
        ]);
        expect(parseRolloutState(h.local.status().state)).toMatchObject({
          canary: builds.canary.buildId,
          weight: 1000,
        });
        // Four more canary viewers err: with this one, enough for the judge against the clean viewers around them.
        // A second later, as in life: the rollback these errors lead to is then stamped after the
        // browser's records, which stay the canary's whenever the consumer reads them. Stamped at
        // the same local instant, a record read after the rollback could be either state's, and
        // counts for neither.
        await h.at(h.clock.now() + 1_000);
        await canaryErrors(h, builds.canary.buildId, 4, '203.0.117');
        await pollUntil(
          'the judge to roll the canary back',
          () => h.local.controlPlane.status().deployment?.status !== 'InProgress',
          10_000,
          20,
        );
      });
      // The signal counts the viewers (their entry loads) and their errors from the real-time log once the period is
      // whole.
      const closed = await h.closePeriod(third);
      expect(closed).toMatchObject({ unjudged: null, counts: { canary: { viewers: 5, erroring: 5 } } });
      const status = h.local.controlPlane.tick();
      expect(status.judgment?.failure).toMatch(/^failing: /);
      expect(status.deployment).toMatchObject({
        id: release.deploymentId,
        status: expect.stringMatching(/^(Failed|Stopped)$/),
      });
      expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
      expect((await visit.record()).violations).toEqual([]);
      await visit.page.close();

      // The same viewer's next load gets the stable build, still under the policy.
      const after = await open(
        host.page('/after-rollback', canaryViewer, respond(hostDocument(tag(canaryViewer)), policy)),
        { distribution: released },
      );
      await waitForWidgetText(after.page, STABLE_HEADLINE);
      await after.page.close();
    }, 120_000);
  });
});

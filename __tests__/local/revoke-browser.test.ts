/**
 * A revocation as a browser sees it, on every engine the run asks for (fixtures/engines.ts:
 * Chromium in `npm test`): during a release, a host page whose viewer got the canary shows the
 * canary's widget, and so does a host page that pins the canary's entry by its own URL; once the
 * canary is revoked (`local:release -- revoke`), the first viewer's next load, from the same
 * browser profile, shows the stable widget, and the pinned page gets no widget at all: its script
 * fails with 410. What the page did is read from its own recorder (fixtures/widget-page.ts), what
 * reached the distribution from the emulator's access log.
 */
import { dashboardList, openDashboard } from '../fixtures/dashboard-page';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../config';
import { buildEntryPath } from '../../contracts/distribution-paths';
import type { LocalDistribution } from '../../local/local-distribution';
import { enginesUnderTest, launchEngine, settledAll, type EngineBrowser } from '../fixtures/engines';
import {
  CANARY_HEADLINE,
  localBuilds,
  STABLE_HEADLINE,
  startSignalHarness,
  type SignalHarness,
} from '../fixtures/local';
import {
  accessLog,
  pageRecord,
  pathOf,
  recorderTag,
  settle,
  waitForWidgetText,
  widgetCount,
  widgetText,
  type AccessLog,
} from '../fixtures/widget-page';

const MINUTE = 60_000;
const REASON = 'CVE-2026-0002: the canary leaks the host page to a third party';
const config = loadConfig();
const builds = localBuilds();

/** The build a viewer's entry names, fetched as a host page's script would be. */
async function buildOf(local: LocalDistribution, viewer: string): Promise<string> {
  const text = await (await fetch(`${local.url}/assets/index.js?viewer=${viewer}`)).text();
  return /\/assets\/([0-9a-f]{16})\//.exec(text)![1]!;
}

/** A host site whose one page pins the canary's entry by its own URL, the recorder running first. */
async function startPinnedHost(
  local: LocalDistribution,
): Promise<{ url(viewer: string): string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const viewer = new URL(req.url ?? '/', 'http://host').searchParams.get('viewer') ?? '';
    const src = `${local.url}${buildEntryPath(builds.canary.buildId)}?viewer=${encodeURIComponent(viewer)}`;
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(
        `<!doctype html>\n<html lang="en">\n<head>\n${recorderTag()}\n<meta charset="utf-8">\n` +
          `<title>A host page that pins a build</title>\n</head>\n<body>\n<h1>A customer's page</h1>\n` +
          `<script async src="${src}"></script>\n<p>Content after the widget.</p>\n</body>\n</html>\n`,
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (viewer) => `${origin}/pinned.html?viewer=${viewer}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.each(enginesUnderTest())('%s', (engine) => {
  let browser: EngineBrowser;
  let h: SignalHarness;
  let log: AccessLog;
  let pinned: Awaited<ReturnType<typeof startPinnedHost>>;

  beforeAll(async () => {
    // Side by side: the browser starts in processes of its own while the harness starts in this one.
    await settledAll([
      launchEngine(engine).then((launched) => (browser = launched)),
      startSignalHarness(config).then((started) => (h = started)),
    ]);
    log = accessLog(h.local.emulator);
    pinned = await startPinnedHost(h.local);
  }, 120_000);
  afterAll(async () => {
    await pinned?.close();
    await h?.stop();
    await browser?.close();
  });

  it(
    "after a revoke, a canary viewer's host page shows the stable widget, and a page pinning the canary's entry " +
      'gets no widget: its script fails with 410',
    async () => {
      const { local } = h;
      await local.release(builds.canary.dir);
      // Linear 10 % a minute; with nobody loading, the judge holds the first step.
      await h.walk(h.clock.now() + 2 * MINUTE);
      expect(local.controlPlane.tick().canary?.weight).toBe(1000);
      let canaryViewer = '';
      for (let i = 1; !canaryViewer && i < 250; i += 1)
        if ((await buildOf(local, `203.0.120.${i}`)) === builds.canary.buildId) canaryViewer = `203.0.120.${i}`;
      expect(canaryViewer).not.toBe('');

      // Before: both pages show the canary. The canary viewer keeps one browser profile throughout.
      const profile = await browser.newProfile();
      const before = await profile.newPage();
      await before.goto(`${local.hostUrl}?viewer=${canaryViewer}`);
      await waitForWidgetText(before, CANARY_HEADLINE);
      await log.quiet(canaryViewer);
      await before.close();
      const pinnedBefore = await browser.newPage();
      await pinnedBefore.goto(pinned.url('203.0.120.251'));
      await waitForWidgetText(pinnedBefore, CANARY_HEADLINE);
      await pinnedBefore.close();

      const revoked = await local.revoke(builds.canary.buildId, REASON);
      expect(revoked).toMatchObject({ already: false, stopped: expect.stringMatching(/^d-/) });

      // The canary viewer's next load, from the same profile: the stable build, only the stable build's files.
      const requests = log.from(canaryViewer);
      const after = await profile.newPage();
      await after.goto(`${local.hostUrl}?viewer=${canaryViewer}`);
      await waitForWidgetText(after, STABLE_HEADLINE);
      await log.quiet(canaryViewer);
      await expect(widgetText(after)).resolves.not.toContain(CANARY_HEADLINE);
      const loaded = requests().map((response) => `${response.status} ${pathOf(response)}`);
      expect(loaded[0]).toBe('200 /assets/index.js');
      expect(loaded.slice(1).filter((line) => !line.startsWith(`200 /assets/${builds.stable.buildId}/`))).toEqual([]);
      expect(loaded.length).toBeGreaterThan(1);
      await after.close();
      await profile.close();

      // A page pinning the canary's entry, in a fresh profile: its one request answered 410, no widget.
      const pinnedViewer = '203.0.120.252';
      const pinnedRequests = log.from(pinnedViewer);
      const pinnedAfter = await browser.newPage();
      await pinnedAfter.goto(pinned.url(pinnedViewer));
      await log.quiet(pinnedViewer);
      await settle(pinnedAfter);
      expect(pinnedRequests().map((response) => `${response.status} ${pathOf(response)}`)).toEqual([
        `410 ${buildEntryPath(builds.canary.buildId)}`,
      ]);
      const record = await pageRecord(pinnedAfter);
      expect(record.errors).toEqual([
        `resource: ${local.url}${buildEntryPath(builds.canary.buildId)}?viewer=${pinnedViewer}`,
      ]);
      await expect(widgetCount(pinnedAfter)).resolves.toBe(0);
      await expect(
        pinnedAfter.evaluate(() => document.body.textContent?.includes('Content after the widget.')),
      ).resolves.toBe(true);
      await pinnedAfter.close();

      // The dashboard page lists it under its own heading.
      const dashboard = await openDashboard(browser, local.dashboardUrl);
      const listed = await dashboardList(dashboard, 'revocations');
      expect(listed).toEqual({
        heading: 'Revoked builds',
        items: [`${builds.canary.buildId} revoked ${new Date(revoked.revocation.at!).toISOString()}: ${REASON}`],
      });
      await dashboard.close();
    },
  );
});

/**
 * The widget in a real browser (Chromium through playwright-core, see fixtures/browser.ts), on a
 * host page of its own origin, served by the local distribution: it renders; a healthy load
 * requests the entry and its own build's files and nothing else (nothing under /api/); a client
 * error sends one GET /api/e naming the build it runs, answered 204 at the edge. Then a release,
 * driven through the release signal (fixtures/local.ts startSignalHarness: the real-time log
 * records, the consumer, the alarm): a rollout splits viewers, and one canary viewer's error rolls
 * it back for new loads. Screenshots of each state go to build/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../config';
import { ERROR_REPORT_PATH, errorReportUrl } from '../../contracts/error-report';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { SIGNAL_HEALTH_PANEL } from '../../local/dashboard-page';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { PROJECT_ROOT } from '../../scripts/build';
import { launchChromium } from '../fixtures/browser';
import { CANARY_HEADLINE, canaryErrors, localBuilds, judgedOnFewViewers, STABLE_HEADLINE, startSignalHarness, type SignalHarness } from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';

const SCREENSHOTS = path.join(PROJECT_ROOT, 'build', 'screenshots');
/** What the widget's "Raise an error" link throws (webapp/src/pages/Boom.tsx). */
const BOOM = 'Boom: an intentional client error for rollback testing';

const config = loadConfig();
const builds = localBuilds();
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

interface Visit {
  readonly page: Page;
  /** The path of every request the page made to the distribution, in order. */
  readonly requests: string[];
  /** The requests under /api/: method, whole URL, and the status once answered. */
  readonly api: { readonly method: string; readonly url: string; status?: number }[];
}

/** A page load of `local`'s host page as `viewer`; in `context` (one browser profile, with its HTTP cache) when given, else a fresh one. */
async function visit(local: LocalDistribution, viewer: string, context?: BrowserContext): Promise<Visit> {
  const page = context ? await context.newPage() : await browser.newPage();
  const result: Visit = { page, requests: [], api: [] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== local.url) return;
    result.requests.push(url.pathname);
    if (url.pathname.startsWith('/api/')) result.api.push({ method: request.method(), url: request.url() });
  });
  page.on('response', (response) => {
    const sent = result.api.find((request) => request.url === response.url() && request.status === undefined);
    if (sent) sent.status = response.status();
  });
  await page.goto(`${local.hostUrl}?viewer=${viewer}`);
  return result;
}

/** Once the page has rendered and its network is idle: nothing else is on its way. */
async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
}

/** The build a viewer's entry names, fetched as a host page's script would be. */
async function buildOf(local: LocalDistribution, viewer: string): Promise<string> {
  const text = await (await fetch(`${local.url}/assets/index.js?viewer=${viewer}`)).text();
  return /\/assets\/([0-9a-f]{16})\//.exec(text)![1];
}

/** A healthy load: index.js, then its own build's chunks, and nothing else (no request under /api/ at all). */
function expectOwnBuildOnly(requests: readonly string[], buildId: string): void {
  expect(requests[0]).toBe('/assets/index.js');
  expect(requests.filter((p) => p.startsWith('/api/'))).toEqual([]);
  const rest = requests.slice(1);
  expect(rest.length).toBeGreaterThanOrEqual(2);
  for (const request of rest) expect(`${request}: ${request.startsWith(`/assets/${buildId}/`)}`).toBe(`${request}: true`);
}

/** Clicks the widget's "Raise an error" link; returns once its error boundary shows the error and the page's report, if any, is answered. */
async function raiseError(view: Visit): Promise<void> {
  await view.page.getByTestId('boom-link').click();
  await expect(view.page.getByRole('alert').textContent()).resolves.toBe(`Widget error: ${BOOM}`);
  await pollUntil('the error report to be answered', () => view.api.some((request) => request.status !== undefined), 10_000, 50);
  await settled(view.page);
}

describe('one build', () => {
  let local: LocalDistribution;
  beforeAll(async () => {
    local = await startLocalDistribution({ config, buildDir: builds.stable.dir, tickMs: 0 });
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('renders the widget on the host page, loading index.js then chunks of its own build only, and sends nothing else', async () => {
    const { page, requests } = await visit(local, '203.0.113.7');
    await expect(page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 })).resolves.toBeUndefined();
    await expect(page.getByText('Content after the widget.').isVisible()).resolves.toBe(true);
    await settled(page);
    expectOwnBuildOnly(requests, builds.stable.buildId);
    await page.screenshot({ path: path.join(SCREENSHOTS, '1-stable.png') });
    await page.close();
  });

  it('reports a client error with one GET /api/e naming the build it runs and the message, answered 204 at the edge', async () => {
    const view = await visit(local, '203.0.113.9');
    await view.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
    await settled(view.page);
    expect(view.api).toEqual([]);
    await raiseError(view);
    const expected = errorReportUrl(`${local.url}/assets/index.js`, builds.stable.buildId, BOOM);
    expect(new URL(expected).pathname).toBe(ERROR_REPORT_PATH);
    expect(view.api).toEqual([{ method: 'GET', url: expected, status: 204 }]);
    await view.page.close();
  });
});

describe('a release, judged by the release signal', () => {
  let h: SignalHarness;
  beforeAll(async () => {
    h = await startSignalHarness(config, { alarm: judgedOnFewViewers(config.alarms) });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('splits 200 viewers by the weight, shows the canary to its viewers, and rolls back on their errors', async () => {
    const { local } = h;
    const base = h.clock.now();
    const released = await local.release(builds.canary.dir);
    // Linear, 10% a minute; with so few viewers the judge cannot find a step healthy, so the first
    // step (10 %) holds. A viewer the canary has keeps it while the weight does not move.
    await h.period(base, async () => undefined);
    let canaryViewer = '';
    const second = await h.period(base + h.periodMs, async () => {
      for (let i = 1; !canaryViewer && i < 250; i += 1) if ((await buildOf(local, `203.0.114.${i}`)) === builds.canary.buildId) canaryViewer = `203.0.114.${i}`;
    });
    expect(parseRolloutState(second.state)?.weight).toBe(1000);
    expect(canaryViewer).not.toBe('');

    // 200 viewers fetch the entry from inside a host page, through the browser's own network stack.
    let seen: string[] = [];
    const third = await h.period(base + 2 * h.periodMs, async () => {
      const host = await visit(local, '203.0.113.8');
      seen = await host.page.evaluate(async (distribution) => {
        const ids: string[] = [];
        for (let i = 0; i < 200; i += 1) {
          const text = await (await fetch(`${distribution}/assets/index.js?viewer=100.64.${i >> 4}.${(i * 16) % 256}`)).text();
          ids.push(/\/assets\/([0-9a-f]{16})\//.exec(text)![1]);
        }
        return ids;
      }, local.url);
      await host.page.close();
    });
    expect(parseRolloutState(third.state)).toMatchObject({ canary: builds.canary.buildId, weight: 1000, salt: released.deploymentId });
    const canaries = seen.filter((id) => id === builds.canary.buildId).length;
    expect(seen.filter((id) => id !== builds.canary.buildId && id !== builds.stable.buildId)).toEqual([]);
    // Binomial(200, 0.1): mean 20, sd 4.2; ±4.5 sd.
    expect(canaries).toBeGreaterThanOrEqual(2);
    expect(canaries).toBeLessThanOrEqual(39);

    // The next period, the canary viewer alone: it renders the canary, opens the route that throws
    // (the widget's own "Raise an error" link), and its one report names the canary build.
    // This viewer keeps one browser profile throughout: its HTTP cache holds the canary's entry.
    const profile = await browser.newContext();
    const fourth = base + 3 * h.periodMs;
    let canary!: Visit;
    await h.period(fourth, async () => {
      canary = await visit(local, canaryViewer, profile);
      await canary.page.getByText(CANARY_HEADLINE).waitFor({ timeout: 15_000 });
      await settled(canary.page);
      expectOwnBuildOnly(canary.requests, builds.canary.buildId);
      await canary.page.screenshot({ path: path.join(SCREENSHOTS, '2-canary.png') });
      await raiseError(canary);
      expect(canary.api).toEqual([{ method: 'GET', url: errorReportUrl(`${local.url}/assets/index.js`, builds.canary.buildId, BOOM), status: 204 }]);
      await canary.page.screenshot({ path: path.join(SCREENSHOTS, '3-error.png') });
      // Four more canary viewers err too: with the browser's, enough evidence against a few hundred clean viewers.
      await canaryErrors(h, builds.canary.buildId, 4, '203.0.116');
      // The judge looks at every batch, the open period's included: no need to wait for it to close.
      await pollUntil('the judge to roll the canary back', () => local.controlPlane.status().deployment?.status !== 'InProgress', 10_000, 20);
    });
    // Counted from the real-time log once the period is whole: the five viewers and their errors.
    const closed = await h.closePeriod(fourth);
    expect(closed).toMatchObject({ unjudged: null, counts: { canary: { viewers: 5, erroring: 5 } } });
    const status = local.controlPlane.tick();
    expect(status.unjudgedAlarm?.state).toBe('OK');
    expect(status.judgment).toMatchObject({ salt: released.deploymentId, failure: expect.stringMatching(/^failing: /) });
    expect(status.deployment).toMatchObject({ id: released.deploymentId, status: expect.stringMatching(/^(Failed|Stopped)$/) });
    expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
    await canary.page.close();

    // The same viewer's next load, from the same browser: its cached entry (no-cache) is revalidated,
    // the function assigns it the stable build, and the ETag no longer matches.
    const after = await visit(local, canaryViewer, profile);
    await after.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
    await settled(after.page);
    expectOwnBuildOnly(after.requests, builds.stable.buildId);
    await after.page.screenshot({ path: path.join(SCREENSHOTS, '4-rolled-back.png') });
    await after.page.close();
    await profile.close();
  });

  it('shows the release on the dashboard page: error shares and viewers per period, the weight, the signal, the judge with its evidence', async () => {
    const page = await browser.newPage();
    await page.goto(h.local.dashboardUrl);
    await page.waitForFunction(() => Number(document.body.dataset.drawn ?? 0) >= 1);
    const panels = page.locator('.panel');
    await expect(panels.count()).resolves.toBe(6);
    await expect(panels.nth(0).locator('h2').textContent()).resolves.toBe('Share of viewers reporting an error, per period (%)');
    // The canary's share of erroring viewers, drawn from the alarm's own queries, and the threshold.
    await expect(panels.nth(0).locator('polyline.series[data-label="canary"]').count()).resolves.toBe(1);
    await expect(panels.nth(0).locator('line.threshold').count()).resolves.toBe(1);
    await expect(panels.nth(1).locator('polyline.series[data-label="canary"]').count()).resolves.toBe(1);
    await expect(panels.nth(2).locator('polyline.series[data-label="weight"]').count()).resolves.toBe(1);
    // The judge's verdict per period: it found the canary failing, so its line is drawn.
    await expect(panels.nth(3).locator('polyline.series[data-label="failing"]').count()).resolves.toBe(1);
    await expect(panels.nth(5).locator('h2').textContent()).resolves.toBe(SIGNAL_HEALTH_PANEL);
    const alarms = await page.locator('#alarms').textContent();
    expect(alarms).toMatch(/client errors: (OK|ALARM)/);
    expect(alarms).toContain('signal unjudged: OK');
    // The judge's last look: its verdict, both shares with the range the evidence leaves, and why.
    const judge = await page.locator('#judge').textContent();
    expect(judge).toContain('judge: failing');
    expect(judge).toMatch(/canary [\d.]+ % of \d+ viewers erred \(plausibly [\d.]+ % to [\d.]+ %\); stable [\d.]+ % of \d+ viewers erred/);
    expect(judge).toMatch(/failing: the canary errs at least/);
    const file = path.join(SCREENSHOTS, '5-dashboard.png');
    const png = await page.screenshot({ path: file, fullPage: true });
    // A PNG of a drawn page: the signature, and more than a blank page's few hundred bytes.
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
    await page.close();
  });
});

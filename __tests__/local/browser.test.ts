/**
 * The widget in a real browser (Chromium through playwright-core, see fixtures/browser.ts), on a host page of its
 * own origin, served by the local distribution: it renders, it loads only its own build's files,
 * a rollout splits viewers, and a client error rolls the rollout back for new loads.
 * Screenshots of each state go to build/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../config';
import { PROJECT_ROOT } from '../../scripts/build';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { launchChromium } from '../fixtures/browser';
import { formatRolloutState, steadyState } from '../../contracts/rollout-state';
import { CANARY_HEADLINE, localBuilds, STABLE_HEADLINE } from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';

const SCREENSHOTS = path.join(PROJECT_ROOT, 'build', 'screenshots');
const MINUTE = 60_000;

const config = loadConfig();
const builds = localBuilds();
const now = { t: 0 };
let local: LocalDistribution;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  local = await startLocalDistribution({
    config,
    buildDir: builds.stable.dir,
    clock: { now: () => now.t },
    tickMs: 0,
    // One viewer's error is enough here: the configured rule (a minimum sample, M of N periods)
    // is the alarm tests' subject; this one follows the path from a click to a rollback.
    alarm: { ...config.alarms, minViewers: 1, evaluationPeriods: 1, datapointsToAlarm: 1 },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await local?.stop();
});

interface Visit {
  readonly page: Page;
  /** Every request the page made to the distribution, in order. */
  readonly requests: string[];
}

/** A page load as `viewer`; in `context` (one browser profile, with its HTTP cache) when given, else a fresh one. */
async function visit(viewer: string, context?: BrowserContext): Promise<Visit> {
  const page = context ? await context.newPage() : await browser.newPage();
  const requests: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === local.url) requests.push(url.pathname);
  });
  await page.goto(`${local.hostUrl}?viewer=${viewer}`);
  return { page, requests };
}

/** The build a viewer's entry names, fetched as a host page's script would be. */
async function buildOf(viewer: string): Promise<string> {
  const text = await (await fetch(`${local.url}/assets/index.js?viewer=${viewer}`)).text();
  return /\/assets\/([0-9a-f]{16})\//.exec(text)![1];
}

function expectOwnBuildOnly(requests: readonly string[], buildId: string): void {
  expect(requests[0]).toBe('/assets/index.js');
  const rest = requests.slice(1).filter((p) => p !== config.metrics.endpoint);
  expect(rest.length).toBeGreaterThanOrEqual(2);
  for (const request of rest) expect(request.startsWith(`/assets/${buildId}/`)).toBe(true);
}

it('renders the widget on the host page, loading index.js then chunks of its own build only', async () => {
  const { page, requests } = await visit('203.0.113.7');
  await expect(page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 })).resolves.toBeUndefined();
  await expect(page.getByText('Content after the widget.').isVisible()).resolves.toBe(true);
  expectOwnBuildOnly(requests, builds.stable.buildId);
  await page.screenshot({ path: path.join(SCREENSHOTS, '1-stable.png') });
  await page.close();
});

it('splits 200 viewers by the weight, shows the canary to its viewers, and rolls back on their errors', async () => {
  local.controlPlane.tick();
  const released = await local.release(builds.canary.dir);
  now.t = 2 * MINUTE; // linear 10% a minute: 30%
  expect(local.controlPlane.tick().canary).toEqual({ version: released.version, buildId: builds.canary.buildId, weight: 3000 });

  // 200 viewers fetch the entry from inside a host page, through the browser's own network stack.
  const host = await visit('203.0.113.8');
  const seen = await host.page.evaluate(async (distribution) => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i += 1) {
      const text = await (await fetch(`${distribution}/assets/index.js?viewer=100.64.${i >> 4}.${(i * 16) % 256}`)).text();
      ids.push(/\/assets\/([0-9a-f]{16})\//.exec(text)![1]);
    }
    return ids;
  }, local.url);
  await host.page.close();
  const canaries = seen.filter((id) => id === builds.canary.buildId).length;
  expect(seen.filter((id) => id !== builds.canary.buildId && id !== builds.stable.buildId)).toEqual([]);
  // Binomial(200, 0.3): mean 60, sd 6.5; ±4.5 sd.
  expect(canaries).toBeGreaterThanOrEqual(31);
  expect(canaries).toBeLessThanOrEqual(89);

  let canaryViewer = '';
  for (let i = 1; !canaryViewer && i < 250; i += 1) if ((await buildOf(`203.0.114.${i}`)) === builds.canary.buildId) canaryViewer = `203.0.114.${i}`;
  expect(canaryViewer).not.toBe('');
  // This viewer keeps one browser profile throughout: its HTTP cache holds the canary's entry.
  const profile = await browser.newContext();
  const canary = await visit(canaryViewer, profile);
  await canary.page.getByText(CANARY_HEADLINE).waitFor({ timeout: 15_000 });
  expectOwnBuildOnly(canary.requests, builds.canary.buildId);
  await canary.page.screenshot({ path: path.join(SCREENSHOTS, '2-canary.png') });

  // The viewer opens the route that throws: the error beacon reaches the metrics API.
  await canary.page.getByTestId('boom-link').click();
  await canary.page.waitForRequest((request) => request.url().endsWith(config.metrics.endpoint) && (request.postData() ?? '').includes('"error"'), { timeout: 10_000 });
  await canary.page.screenshot({ path: path.join(SCREENSHOTS, '3-error.png') });
  // The beacon left the page; the metrics API may still be counting it.
  let status = local.controlPlane.tick();
  await pollUntil(
    'the alarm to end the deployment',
    () => {
      status = local.controlPlane.tick();
      return status.deployment?.status !== 'InProgress';
    },
    5000,
  );
  expect(status.alarm?.state).toBe('ALARM');
  expect(status.deployment).toMatchObject({ id: released.deploymentId, status: 'Failed' });
  expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
  await canary.page.close();

  // The same viewer's next load, from the same browser: its cached entry (no-cache) is revalidated,
  // the function assigns it the stable build, and the ETag no longer matches.
  const after = await visit(canaryViewer, profile);
  await after.page.getByText(STABLE_HEADLINE).waitFor({ timeout: 15_000 });
  expectOwnBuildOnly(after.requests, builds.stable.buildId);
  await after.page.screenshot({ path: path.join(SCREENSHOTS, '4-rolled-back.png') });
  await after.page.close();
  await profile.close();
});

it('shows the release on the dashboard page: error shares and viewers per period, the weight, the alarm that fired', async () => {
  const page = await browser.newPage();
  await page.goto(local.dashboardUrl);
  await page.waitForFunction(() => Number(document.body.dataset.drawn ?? 0) >= 1);
  const panels = page.locator('.panel');
  await expect(panels.count()).resolves.toBe(4);
  await expect(panels.nth(0).locator('h2').textContent()).resolves.toBe('Share of viewers reporting an error, per period (%)');
  // The canary's share of erroring viewers, drawn from the alarm's own queries, and the threshold.
  await expect(panels.nth(0).locator('polyline.series[data-label="canary"]').count()).resolves.toBe(1);
  await expect(panels.nth(0).locator('line.threshold').count()).resolves.toBe(1);
  await expect(panels.nth(1).locator('polyline.series[data-label="canary"]').count()).resolves.toBe(1);
  await expect(panels.nth(2).locator('polyline.series[data-label="weight"]').count()).resolves.toBe(1);
  await expect(page.locator('#alarms').textContent()).resolves.toContain('client errors: ALARM');
  const file = path.join(SCREENSHOTS, '5-dashboard.png');
  const png = await page.screenshot({ path: file, fullPage: true });
  // A PNG of a drawn page: the signature, and more than a blank page's few hundred bytes.
  expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
  expect(png.length).toBeGreaterThan(10_000);
  await page.close();
});

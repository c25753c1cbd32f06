/**
 * The widget in a real browser, on every engine the run asks for (fixtures/engines.ts: Chromium in
 * `npm test`; Chromium, Firefox and WebKit in `npm run test:browsers`), on a host page of its own
 * origin served by the local distribution: it renders; a healthy load requests the entry and its
 * own build's files and nothing else (nothing under /api/); a client error sends one GET /api/e
 * naming the build it runs, answered 204 at the edge. Then a release, driven through the release
 * signal (fixtures/local.ts startSignalHarness: the real-time log records, the consumer, the
 * alarm): a rollout splits viewers, and one canary viewer's error rolls it back for new loads.
 * What reached the distribution is read from its access log (fixtures/widget-page.ts), so every
 * engine is checked the same way. Screenshots of each state go to build/screenshots/<engine>/.
 */
import { openDashboard } from '../fixtures/dashboard-page';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { ERROR_REPORT_PATH, errorReportUrl } from '../../contracts/error-report';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { SIGNAL_HEALTH_PANEL } from '../../local/dashboard-page';
import { startLocalDistribution, type LocalDistribution } from '../../local/local-distribution';
import { PROJECT_ROOT } from '../../publish/build';
import { expectDocumented } from '../fixtures/engine-table';
import {
  enginesUnderTest,
  launchEngine,
  type EngineBrowser,
  type EnginePage,
  type EngineProfile,
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
  pathOf,
  reportsIn,
  waitForWidgetText,
  widgetText,
  type AccessLog,
} from '../fixtures/widget-page';
import type { ServedResponse } from '../../loopback/cloudfront-emulator';

/** What the widget's "Raise an error" link throws (webapp/src/pages/Boom.tsx). */
const BOOM = 'Boom: an intentional client error for rollback testing';

const config = loadConfig();
const builds = localBuilds();

/** A page load of a host page as `viewer`. */
interface Visit {
  readonly page: EnginePage;
  readonly viewer: string;
  /** What reached the distribution for this viewer since the load began (the access log, fixtures/widget-page.ts). */
  readonly requests: () => readonly ServedResponse[];
}

/** The build a viewer's entry names, fetched as a host page's script would be. */
async function buildOf(local: LocalDistribution, viewer: string): Promise<string> {
  const text = await (await fetch(`${local.url}/assets/index.js?viewer=${viewer}`)).text();
  return /\/assets\/([0-9a-f]{16})\//.exec(text)![1]!;
}

describe.each(enginesUnderTest())('%s', (engine) => {
  const screenshots = path.join(PROJECT_ROOT, 'build', 'screenshots', engine);
  let browser: EngineBrowser;
  let harness: Promise<SignalHarness> | undefined;
  /**
   * The release tests' harness, started by whichever asks first: the one-build tests do once their
   * distribution is up, so its start (0.9 s, this process's CPU) overlaps them, which mostly wait on
   * the browser. Never beside another distribution's start: each points the bundles' seams
   * (process.env) at its own servers before it loads them.
   */
  function releaseHarness(): Promise<SignalHarness> {
    if (!harness) {
      harness = startSignalHarness(config, { alarm: judgedOnFewViewers(config.alarms) });
      // A failure is the release tests' to report: their beforeAll awaits it.
      harness.catch(() => undefined);
    }
    return harness;
  }

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    browser = await launchEngine(engine);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await (await harness?.catch(() => undefined))?.stop();
  });

  /**
   * A load of `local`'s host page as `viewer`: in `profile` (one browser profile, with its HTTP cache) when given, else
   * a fresh one.
   */
  async function visit(
    local: LocalDistribution,
    log: AccessLog,
    viewer: string,
    profile?: EngineProfile,
  ): Promise<Visit> {
    const requests = log.from(viewer);
    const page = profile ? await profile.newPage() : await browser.newPage();
    await page.goto(`${local.hostUrl}?viewer=${viewer}`);
    return { page, viewer, requests };
  }

  /** A healthy load: index.js, then its own build's chunks, and nothing else (no request under /api/ at all). */
  function expectOwnBuildOnly(view: Visit, buildId: string): void {
    const requests = view.requests().map(pathOf);
    expect(requests[0]).toBe('/assets/index.js');
    expect(requests.filter((p) => p.startsWith('/api/'))).toEqual([]);
    const rest = requests.slice(1);
    expect(rest.length).toBeGreaterThanOrEqual(2);
    for (const request of rest)
      expect(`${request}: ${request.startsWith(`/assets/${buildId}/`)}`).toBe(`${request}: true`);
  }

  /** The requests under /api/ that reached the distribution for `viewer`: method, whole URL, status. */
  function reports(local: LocalDistribution, view: Visit) {
    return reportsIn(view.requests(), local.url);
  }

  /**
   * Clicks the widget's "Raise an error" link; returns once its error boundary shows the error and its report reached
   * the distribution.
   */
  async function raiseError(local: LocalDistribution, log: AccessLog, view: Visit): Promise<void> {
    await clickInWidget(view.page, { testId: 'boom-link' });
    await expect(alertText(view.page)).resolves.toBe(`Widget error: ${BOOM}`);
    await pollUntil('the error report to be answered', () => reports(local, view).length > 0, 10_000, 50);
    await log.quiet(view.viewer);
  }

  describe('one build', () => {
    let local: LocalDistribution;
    let log: AccessLog;
    beforeAll(async () => {
      local = await startLocalDistribution({ config, buildDir: builds.stable.dir, tickMs: 0 });
      log = accessLog(local.emulator);
      void releaseHarness();
    });
    afterAll(async () => {
      await local?.stop();
    });

    it(
      'renders the widget on the host page, loading index.js then chunks of its own build only, and ' +
        'sends nothing else',
      async () => {
        const view = await visit(local, log, '203.0.113.7');
        const { page } = view;
        await waitForWidgetText(page, STABLE_HEADLINE);
        await expect(
          page.evaluate(() => document.body.textContent?.includes('Content after the widget.')),
        ).resolves.toBe(true);
        await log.quiet(view.viewer);
        expectOwnBuildOnly(view, builds.stable.buildId);
        await page.screenshot({ file: path.join(screenshots, '1-stable.png') });
        await page.close();
      },
    );

    it(
      'reports a client error with one GET /api/e naming the build it runs and the message, ' +
        'answered 204 at the edge',
      async () => {
        const view = await visit(local, log, '203.0.113.9');
        await waitForWidgetText(view.page, STABLE_HEADLINE);
        await log.quiet(view.viewer);
        expect(reports(local, view)).toEqual([]);
        await raiseError(local, log, view);
        const expected = errorReportUrl(`${local.url}/assets/index.js`, builds.stable.buildId, BOOM);
        expect(new URL(expected).pathname).toBe(ERROR_REPORT_PATH);
        expect(reports(local, view)).toEqual([{ method: 'GET', url: expected, status: 204 }]);
        await view.page.close();
      },
    );
  });

  describe('a release, judged by the release signal', () => {
    let h: SignalHarness;
    let log: AccessLog;
    beforeAll(async () => {
      h = await releaseHarness();
      log = accessLog(h.local.emulator);
    }, 120_000);

    it(
      'splits 200 viewers by the weight, shows the canary ' + 'to its viewers, and rolls back on their errors',
      async () => {
        const { local } = h;
        const base = h.clock.now();
        const released = await local.release(builds.canary.dir);
        // Linear, 10% a minute; with so few viewers the judge cannot find a step healthy, so the first
        // step (10 %) holds. A viewer the canary has keeps it while the weight does not move.
        await h.period(base, async () => undefined);
        let canaryViewer = '';
        const second = await h.period(base + h.periodMs, async () => {
          for (let i = 1; !canaryViewer && i < 250; i += 1)
            if ((await buildOf(local, `203.0.114.${i}`)) === builds.canary.buildId) canaryViewer = `203.0.114.${i}`;
        });
        expect(parseRolloutState(second.state)?.weight).toBe(1000);
        expect(canaryViewer).not.toBe('');

        // 200 viewers fetch the entry from inside a host page, through the browser's own network stack.
        let seen: string[] = [];
        const third = await h.period(base + 2 * h.periodMs, async () => {
          const host = await visit(local, log, '203.0.113.8');
          // All at once, as 200 viewers would load: the browser queues what its connections cannot carry, and the
          // distribution's work overlaps the browser's (one at a time, 0.6 s more here).
          seen = await host.page.evaluate(
            (distribution) =>
              Promise.all(
                Array.from({ length: 200 }, async (_, i) => {
                  const text = await (
                    await fetch(`${distribution}/assets/index.js?viewer=100.64.${i >> 4}.${(i * 16) % 256}`)
                  ).text();
                  return /\/assets\/([0-9a-f]{16})\//.exec(text)![1]!;
                }),
              ),
            local.url,
          );
          await host.page.close();
        });
        expect(parseRolloutState(third.state)).toMatchObject({
          canary: builds.canary.buildId,
          weight: 1000,
          salt: released.deploymentId,
        });
        const canaries = seen.filter((id) => id === builds.canary.buildId).length;
        expect(seen.filter((id) => id !== builds.canary.buildId && id !== builds.stable.buildId)).toEqual([]);
        // Binomial(200, 0.1): mean 20, sd 4.2; ±4.5 sd.
        expect(canaries).toBeGreaterThanOrEqual(2);
        expect(canaries).toBeLessThanOrEqual(39);

        // The next period, the canary viewer alone: it renders the canary, opens the route that throws
        // (the widget's own "Raise an error" link), and its one report names the canary build.
        // This viewer keeps one browser profile throughout: its HTTP cache holds the canary's entry.
        const profile = await browser.newProfile();
        const fourth = base + 3 * h.periodMs;
        let canary!: Visit;
        await h.period(fourth, async () => {
          canary = await visit(local, log, canaryViewer, profile);
          await waitForWidgetText(canary.page, CANARY_HEADLINE);
          await log.quiet(canaryViewer);
          expectOwnBuildOnly(canary, builds.canary.buildId);
          await canary.page.screenshot({ file: path.join(screenshots, '2-canary.png') });
          const loaded = canary.requests().length;
          await raiseError(local, log, canary);
          expect(reports(local, canary)).toEqual([
            {
              method: 'GET',
              url: errorReportUrl(`${local.url}/assets/index.js`, builds.canary.buildId, BOOM),
              status: 204,
            },
          ]);
          // Opening the route loads its chunk of the same build; the report is the one other request.
          expect(
            canary
              .requests()
              .slice(loaded)
              .map(pathOf)
              .filter((p) => !p.startsWith(`/assets/${builds.canary.buildId}/`)),
          ).toEqual([ERROR_REPORT_PATH]);
          await canary.page.screenshot({ file: path.join(screenshots, '3-error.png') });
          // Four more canary viewers err too: with the browser's, enough evidence against a few hundred clean viewers.
          // A second later, as in life: the rollback these errors lead to is then stamped after the
          // browser's records, which stay the canary's whenever the consumer reads them. Stamped at
          // the same local instant, a record read after the rollback could be either state's, and
          // counts for neither.
          await h.at(h.clock.now() + 1_000);
          await canaryErrors(h, builds.canary.buildId, 4, '203.0.116');
          // The judge looks at every batch, the open period's included: no need to wait for it to close.
          await pollUntil(
            'the judge to roll the canary back',
            () => local.controlPlane.status().deployment?.status !== 'InProgress',
            10_000,
            20,
          );
        });
        // Counted from the real-time log once the period is whole: the five viewers and their errors,
        // the browser's among them.
        const closed = await h.closePeriod(fourth);
        expect(closed).toMatchObject({ unjudged: null, counts: { canary: { viewers: 5, erroring: 5 } } });
        expectDocumented(
          engine,
          browser.version,
          'errorReport',
          closed?.counts.canary.erroring === 5 ? 'sent, answered 204, counted' : 'not counted',
        );
        const status = local.controlPlane.tick();
        expect(status.unjudgedAlarm?.state).toBe('OK');
        expect(status.judgment).toMatchObject({
          salt: released.deploymentId,
          failure: expect.stringMatching(/^failing: /),
        });
        expect(status.deployment).toMatchObject({
          id: released.deploymentId,
          status: expect.stringMatching(/^(Failed|Stopped)$/),
        });
        expect(status.state).toBe(formatRolloutState(steadyState(builds.stable.buildId)));
        await canary.page.close();

        // The same viewer's next load, from the same browser: its cached entry (no-cache) is revalidated,
        // the function assigns it the stable build, and the ETag no longer matches.
        const after = await visit(local, log, canaryViewer, profile);
        await waitForWidgetText(after.page, STABLE_HEADLINE);
        await log.quiet(canaryViewer);
        expectOwnBuildOnly(after, builds.stable.buildId);
        expect(after.requests()[0]).toMatchObject({ method: 'GET', status: 200 });
        await expect(widgetText(after.page)).resolves.not.toContain(CANARY_HEADLINE);
        await after.page.screenshot({ file: path.join(screenshots, '4-rolled-back.png') });
        await after.page.close();
        await profile.close();
      },
    );

    it(
      'shows the release on the dashboard page: error shares and viewers per period, the weight, the signal, the ' +
        'judge with its evidence',
      async () => {
        const page = await openDashboard(browser, h.local.dashboardUrl);
        const drawn = await page.evaluate(() => {
          const panels = [...document.querySelectorAll('.panel')];
          const series = (panel: Element | undefined, label: string) =>
            panel?.querySelectorAll(`polyline.series[data-label="${label}"]`).length ?? 0;
          return {
            count: panels.length,
            titles: panels.map((panel) => panel.querySelector('h2')?.textContent ?? ''),
            canaryShare: series(panels[0], 'canary'),
            threshold: panels[0]?.querySelectorAll('line.threshold').length ?? 0,
            canaryViewers: series(panels[1], 'canary'),
            weight: series(panels[2], 'weight'),
            failing: series(panels[3], 'failing'),
            alarms: document.querySelector('#alarms')?.textContent ?? '',
            judge: document.querySelector('#judge')?.textContent ?? '',
          };
        });
        expect(drawn).toMatchObject({
          count: 6,
          canaryShare: 1,
          threshold: 1,
          canaryViewers: 1,
          weight: 1,
          failing: 1,
        });
        expect(drawn.titles[0]).toBe('Share of viewers reporting an error, per period (%)');
        expect(drawn.titles[5]).toBe(SIGNAL_HEALTH_PANEL);
        expect(drawn.alarms).toMatch(/client errors: (OK|ALARM)/);
        expect(drawn.alarms).toContain('signal unjudged: OK');
        // The judge's last look: its verdict, both shares with the range the evidence leaves, and why.
        expect(drawn.judge).toContain('judge: failing');
        expect(drawn.judge).toMatch(
          new RegExp(
            'canary [\\d.]+ % of \\d+ viewers erred \\(plausibly [\\d.]+ % to [\\d.]+ %\\); stable [\\d.]+ % of ' +
              '\\d+ viewers erred',
          ),
        );
        expect(drawn.judge).toMatch(/failing: the canary errs at least/);
        const png = await page.screenshot({ file: path.join(screenshots, '5-dashboard.png'), fullPage: true });
        // A PNG of a drawn page: the signature, and more than a blank page's few hundred bytes.
        expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
        expect(png.length).toBeGreaterThan(10_000);
        await page.close();
      },
    );
  });
});

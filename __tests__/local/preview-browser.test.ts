/**
 * A preview as a browser sees it, on every engine the run asks for (fixtures/engines.ts: Chromium
 * in `npm test`): with a build published and no release running, `local:release -- preview add
 * <buildId>` (its default viewer: this machine's own browser, 127.0.0.1 to the local distribution)
 * makes the host page, opened as it is (no `?viewer=`), show that build's widget and load only its
 * files, while a hundred other viewers of the same page get the stable build; the dashboard page
 * lists the preview. Made to end a minute ahead through the control endpoint, it ends then, by the
 * local clock (the local edge's): the same browser profile, reloading the page, shows the canary
 * one second before that time and the stable widget at it. What the page did is read from its own
 * DOM, what reached the distribution from the emulator's access log.
 */
import { dashboardList, openDashboard } from '../fixtures/dashboard-page';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { callControl, startControlServer, type ControlServer } from '../../local/control-server';
import type { DashboardData } from '../../local/dashboard-page';
import { runLocalRelease } from '../fixtures/local-release';
import { enginesUnderTest, launchEngine, settledAll, type EngineBrowser } from '../fixtures/engines';
import {
  CANARY_HEADLINE,
  localBuilds,
  STABLE_HEADLINE,
  startSignalHarness,
  type SignalHarness,
} from '../fixtures/local';
import { pollUntil } from '../fixtures/poll';
import { accessLog, pathOf, waitForWidgetText, widgetText, type AccessLog } from '../fixtures/widget-page';

const config = loadConfig();
const builds = localBuilds();
/** What the local distribution sees for a browser on this machine: it listens on 127.0.0.1 only. */
const OWN_BROWSER = '127.0.0.1';

describe.each(enginesUnderTest())('%s', (engine) => {
  let browser: EngineBrowser;
  let h: SignalHarness;
  let log: AccessLog;
  let control: ControlServer;
  let dir: string;

  beforeAll(async () => {
    // Side by side: the browser starts in processes of its own while the harness starts in this one.
    await settledAll([
      launchEngine(engine).then((launched) => (browser = launched)),
      startSignalHarness(config).then((started) => (h = started)),
    ]);
    log = accessLog(h.local.emulator);
    dir = mkdtempSync(path.join(tmpdir(), 'preview-browser-'));
    control = await startControlServer(h.local, { addressFile: path.join(dir, 'control.json') });
  }, 120_000);
  afterAll(async () => {
    await control?.close();
    await h?.stop();
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    "a preview shows its build on this browser's host page while 100 other viewers get the stable build, and " +
      'ends at its time: the page, reloaded, then shows the stable widget',
    async () => {
      const { local } = h;
      const canary = builds.canary.buildId;
      // Published, then stopped: no viewer gets the canary but through a preview.
      await callControl(control.address, 'POST', '/release', { buildDir: builds.canary.dir });
      await callControl(control.address, 'POST', '/stop');
      expect(local.status().canary).toBeNull();

      const { code, out } = await runLocalRelease(['preview', 'add', canary], path.join(dir, 'control.json'));
      expect({ code, out: out.slice(-1) }).toEqual({
        code: 0,
        out: [`open ${local.hostUrl} in a browser on this machine (no ?viewer=): that is ${OWN_BROWSER}`],
      });

      // This browser, on the host page as it is: the canary's widget, only the canary's files.
      const profile = await browser.newProfile();
      const page = await profile.newPage();
      const requests = log.from(OWN_BROWSER);
      await page.goto(local.hostUrl);
      await waitForWidgetText(page, CANARY_HEADLINE);
      await log.quiet(OWN_BROWSER);
      const loaded = requests().map((response) => `${response.status} ${pathOf(response)}`);
      expect(loaded[0]).toBe('200 /assets/index.js');
      expect(loaded.slice(1).filter((line) => !line.startsWith(`200 /assets/${canary}/`))).toEqual([]);
      expect(loaded.length).toBeGreaterThan(1);

      // A hundred other viewers of the same page: the stable build.
      const others = Array.from({ length: 100 }, (_, i) => `198.51.${100 + (i >> 6)}.${(i * 4) % 256}`);
      const got = await Promise.all(others.map((viewer) => h.load(viewer, { referer: local.hostUrl })));
      expect(got.filter((load) => load.status !== 200 || load.buildId !== builds.stable.buildId)).toEqual([]);

      // The dashboard page lists it under its own heading.
      const dashboard = await openDashboard(browser, local.dashboardUrl);
      const listed = await dashboardList(dashboard, 'previews');
      expect(listed).toEqual({
        heading: 'Previews in force',
        items: [expect.stringMatching(new RegExp(`^${canary} for viewers in 127\\.0\\.0\\.1/32 until .* left\\)$`))],
      });
      await dashboard.close();

      // The same preview, made to end a minute ahead through the control endpoint. The local edge ends it by the local
      // clock (the harness's, moved by hand here): in force one second before its time, over at it.
      const until = Math.floor(h.clock.now() / 1000) + 60;
      await callControl(control.address, 'POST', '/preview', {
        action: 'add',
        build: canary,
        viewer: OWN_BROWSER,
        until,
      });
      const shown = async (): Promise<'canary' | 'stable'> => {
        await page.goto(local.hostUrl);
        const text = await pollUntil(
          'the widget to render',
          async () => {
            const rendered = (await widgetText(page).catch(() => null)) ?? '';
            return rendered.includes(CANARY_HEADLINE) || rendered.includes(STABLE_HEADLINE) ? rendered : null;
          },
          15_000,
          25,
        );
        return text.includes(CANARY_HEADLINE) ? 'canary' : 'stable';
      };
      h.clock.set(until * 1000 - 1000);
      expect(await shown()).toBe('canary');
      h.clock.set(until * 1000);
      expect(await shown()).toBe('stable');
      await log.quiet(OWN_BROWSER);
      await page.close();
      await profile.close();
      const data = (await (await fetch(new URL('data.json', local.dashboardUrl))).json()) as DashboardData;
      expect(data.previews).toEqual([]);
    },
  );
});

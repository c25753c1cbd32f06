/**
 * How the browser suites find their engines (fixtures/browser.ts, fixtures/engines.ts), and the
 * engine table of docs/host-integration.md they keep (fixtures/engine-table.ts): no browser starts here.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { findChromium, systemBrowsers } from '../fixtures/browser';
import { BEHAVIOURS, committedTable, renderTable, tableVersion, type Behaviour } from '../fixtures/engine-table';
import { ENGINES, enginesUnderTest, findFirefox, findWebKit } from '../fixtures/engines';

const only =
  (...files: string[]) =>
  (file: string) =>
    files.includes(file);

it(
  'finds Chromium in the documented order: CHROMIUM_PATH, a system browser, then @sparticuz/chromium ' +
    'on Linux x64 only',
  async () => {
    // Unpacks only when it is the one chosen (global setup unpacks through findChromium).
    const packaged = jest.fn(async () => '/cache/chromium');
    const system = systemBrowsers()[0]!;
    await expect(
      findChromium({ env: { CHROMIUM_PATH: '/opt/c' }, exists: only('/opt/c', system), packaged }),
    ).resolves.toEqual({ executablePath: '/opt/c', source: 'CHROMIUM_PATH' });
    await expect(
      findChromium({ env: { CHROMIUM_PATH: '/opt/missing' }, exists: only(system), packaged }),
    ).rejects.toThrow('CHROMIUM_PATH=/opt/missing does not exist');
    await expect(findChromium({ env: {}, exists: only(system), packaged })).resolves.toEqual({
      executablePath: system,
      source: 'system',
    });
    const mac = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
    await expect(
      findChromium({ env: {}, exists: only(mac), platform: 'darwin', arch: 'arm64', packaged }),
    ).resolves.toEqual({ executablePath: mac, source: 'system' });
    expect(packaged).not.toHaveBeenCalled();
    await expect(findChromium({ env: {}, exists: only(), platform: 'linux', arch: 'x64', packaged })).resolves.toEqual({
      executablePath: '/cache/chromium',
      source: '@sparticuz/chromium',
    });
    await expect(findChromium({ env: {}, exists: only(), platform: 'linux', arch: 'arm64', packaged })).rejects.toThrow(
      /apt install chromium, or set CHROMIUM_PATH/,
    );
    await expect(
      findChromium({ env: {}, exists: only(), platform: 'darwin', arch: 'arm64', packaged }),
    ).rejects.toThrow(/install Google Chrome, or set CHROMIUM_PATH/);
  },
);

it('finds Firefox from FIREFOX_PATH, then the system, and names the package when there is none', () => {
  expect(findFirefox({ env: { FIREFOX_PATH: '/opt/ff' }, exists: only('/opt/ff', '/usr/bin/firefox-esr') })).toBe(
    '/opt/ff',
  );
  expect(() => findFirefox({ env: { FIREFOX_PATH: '/opt/gone' }, exists: only('/usr/bin/firefox-esr') })).toThrow(
    'FIREFOX_PATH=/opt/gone does not exist',
  );
  expect(findFirefox({ env: {}, exists: only('/usr/bin/firefox', '/usr/bin/firefox-esr') })).toBe(
    '/usr/bin/firefox-esr',
  );
  expect(() => findFirefox({ env: {}, exists: only() })).toThrow(
    /^no firefox found: apt install firefox-esr, or set FIREFOX_PATH/,
  );
});

it(
  'finds WebKitWebDriver and a display: DISPLAY when set, ' + 'else Xvfb; names the packages when either is missing',
  () => {
    const driver = '/usr/bin/WebKitWebDriver';
    expect(findWebKit({ env: { DISPLAY: ':5' }, exists: only(driver) })).toEqual({
      driver,
      display: ':5',
      xvfb: undefined,
    });
    expect(findWebKit({ env: {}, exists: only(driver, '/usr/bin/Xvfb') })).toEqual({
      driver,
      display: undefined,
      xvfb: '/usr/bin/Xvfb',
    });
    expect(
      findWebKit({ env: { WEBKIT_DRIVER_PATH: '/opt/wd', XVFB_PATH: '/opt/x' }, exists: only('/opt/wd', '/opt/x') }),
    ).toEqual({ driver: '/opt/wd', display: undefined, xvfb: '/opt/x' });
    expect(() => findWebKit({ env: {}, exists: only('/usr/bin/Xvfb') })).toThrow(
      /^no webkit found: apt install webkit2gtk-driver xvfb, or set WEBKIT_DRIVER_PATH/,
    );
    expect(() => findWebKit({ env: {}, exists: only(driver) })).toThrow(
      /^no webkit found: apt install webkit2gtk-driver xvfb, or set XVFB_PATH/,
    );
  },
);

it('runs Chromium alone unless BROWSER_ENGINES asks for more; refuses an engine it does not know', () => {
  expect(enginesUnderTest({})).toEqual(['chromium']);
  expect(enginesUnderTest({ BROWSER_ENGINES: 'all' })).toEqual(ENGINES);
  expect(enginesUnderTest({ BROWSER_ENGINES: 'webkit, firefox,webkit' })).toEqual(['webkit', 'firefox']);
  expect(() => enginesUnderTest({ BROWSER_ENGINES: 'chromium,safari' })).toThrow(
    'BROWSER_ENGINES: unknown engine safari (known: chromium, firefox, webkit, or all)',
  );
});

describe('the engine table of docs/host-integration.md', () => {
  const guide = readFileSync(path.join(__dirname, '..', '..', 'docs', 'host-integration.md'), 'utf8');

  it('has a cell for every engine and behaviour, and a version for every engine', () => {
    const table = committedTable(guide);
    expect(table).toBeDefined();
    for (const engine of ENGINES) {
      expect(table!.versions[engine]).toMatch(/^\d+(\.\d+)?$/);
      expect(Object.keys(table!.cells[engine] ?? {}).sort()).toEqual(Object.keys(BEHAVIOURS).sort());
    }
  });

  it('renders back to itself from the observations it shows', () => {
    const table = committedTable(guide)!;
    const observations = ENGINES.flatMap((engine) =>
      (Object.keys(BEHAVIOURS) as Behaviour[]).map((behaviour) => ({
        engine,
        version: `${table.versions[engine]}.0`,
        behaviour,
        observed: table.cells[engine]![behaviour]!,
      })),
    );
    expect(guide).toContain(renderTable(observations));
    expect(() => renderTable(observations.slice(1))).toThrow(
      /^no observation of chromium renders in build\/engines: run npm run test:browsers first/,
    );
  });

  it('shows major versions, and major.minor for WebKitGTK', () => {
    expect(tableVersion('chromium', '147.0.7727.0')).toBe('147');
    expect(tableVersion('firefox', 'firefox/140.12.0')).toBe('140');
    expect(tableVersion('webkit', '2.50.6')).toBe('2.50');
  });
});

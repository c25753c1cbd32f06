import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { build, PROJECT_ROOT, type SharedBuildWork } from '../publish/build';
import { loadConfig } from '../config';
import { MANIFEST_FILE } from '../contracts/build-manifest';
import { ensureLocalBuild, LOCAL_BUILDS_DIR, sourceFingerprint, webappVariant } from '../local/local-distribution';
import { findChromium } from './fixtures/browser';
import { CANARY_HEADLINE, LOCAL_BUILDS_FILE, STABLE_HEADLINE } from './fixtures/local';
import { startRunTmpdir } from './fixtures/run-tmpdir';

const BUILD_DIR = path.join(PROJECT_ROOT, 'build');
/** The fingerprint of the sources and config build/ was made from. */
const SOURCES_FILE = path.join(BUILD_DIR, '.sources');

/**
 * One build of the default config into build/, shared by every suite that reads it; and two local
 * builds (the app as it is, and with a changed headline) for the local-mode suites. Each is made
 * only when its sources changed since it was last made: a second `jest` run starts in seconds.
 * And the browser the browser suites drive, looked up as they do (fixtures/browser.ts): when that
 * is the packaged one, it is unpacked here, once, before any worker starts.
 */
export default async function globalSetup(): Promise<void> {
  // First, so that what the builds below leave in it counts too.
  startRunTmpdir();
  const config = loadConfig();
  const fingerprint = createHash('sha256')
    .update(sourceFingerprint(config))
    .update(JSON.stringify(config))
    .digest('hex');
  const current =
    existsSync(SOURCES_FILE) &&
    existsSync(path.join(BUILD_DIR, MANIFEST_FILE)) &&
    readFileSync(SOURCES_FILE, 'utf8') === fingerprint;
  mkdirSync(LOCAL_BUILDS_DIR, { recursive: true });
  // At once, sharing their work: the default build and the local stable one compile the same app, so
  // webpack runs once for both; the canary's compile differs in one page, so terser minifies only that
  // chunk and the entry again; the regional functions' bundles and zips are made once for all three, the
  // assets compressed once for the two of one app. On a fresh clone that is ~8 s CPU less than three
  // builds sharing only the compile (21 s → 13 s, same bytes); and a build waits on esbuild much of its
  // time, which the others use.
  const sharedWork: SharedBuildWork = new Map();
  const [stable, canary] = await Promise.all([
    ensureLocalBuild(config, { sharedWork }),
    ensureLocalBuild(config, {
      sharedWork,
      webappDir: webappVariant('canary', (source) => source.replace(STABLE_HEADLINE, CANARY_HEADLINE)),
    }),
    current
      ? undefined
      : build({ config, outDir: BUILD_DIR, sharedWork }).then(() => writeFileSync(SOURCES_FILE, fingerprint)),
    // Its errors (no browser for this platform, say) are the browser suites' to report: they look
    // it up again, and every other suite runs without one.
    findChromium().catch(() => undefined),
  ]);
  writeFileSync(LOCAL_BUILDS_FILE, JSON.stringify({ stable: stable.buildDir, canary: canary.buildDir }));
}

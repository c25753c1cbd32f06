import { mkdirSync, writeFileSync } from 'node:fs';
import { build } from '../scripts/build';
import { loadConfig } from '../config';
import { ensureLocalBuild, LOCAL_BUILDS_DIR, webappVariant } from '../local/local-distribution';
import { CANARY_HEADLINE, LOCAL_BUILDS_FILE, STABLE_HEADLINE } from './fixtures/local';

/**
 * One build of the default config into build/, shared by every suite that reads it; and two local
 * builds (the app as it is, and with a changed headline) for the local-mode suites.
 */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  await build({ config });
  mkdirSync(LOCAL_BUILDS_DIR, { recursive: true });
  const stable = await ensureLocalBuild(config);
  const canary = await ensureLocalBuild(config, { webappDir: webappVariant('canary', (source) => source.replace(STABLE_HEADLINE, CANARY_HEADLINE)) });
  writeFileSync(LOCAL_BUILDS_FILE, JSON.stringify({ stable: stable.buildDir, canary: canary.buildDir }));
}

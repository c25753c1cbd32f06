import { build } from '../scripts/build';
import { loadConfig } from '../config';

/** One build of the default config into build/, shared by every suite that reads it. */
export default async function globalSetup(): Promise<void> {
  await build({ config: loadConfig() });
}

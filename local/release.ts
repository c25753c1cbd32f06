/**
 * `npm run local:release`: builds the app as it is now and releases it into the running `npm start`
 * (publish to the local buckets, new entry-router version, simulated deployment), as a deploy does
 * in AWS. `-- --stop` stops the running deployment with rollback; `-- --status` prints the state;
 * `-- ring add|remove <origin>` edits the ring, as `npm run rollout -- ring` does in AWS.
 *
 *   npm run local:release -- [--config deploy.config.json] [--stop | --status | ring add|remove <origin>]
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { callControl, controlFile, readControlAddress } from './control-server';
import { ensureLocalBuild, LOCAL_BUILDS_DIR } from './local-distribution';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { config: { type: 'string' }, stop: { type: 'boolean', default: false }, status: { type: 'boolean', default: false } } });
  const address = readControlAddress(controlFile(LOCAL_BUILDS_DIR));
  if (positionals[0] === 'ring') {
    const [, action, origin] = positionals;
    if ((action !== 'add' && action !== 'remove') || !origin || positionals.length !== 3) throw new Error('usage: npm run local:release -- ring add|remove <origin>, e.g. ring add http://127.0.0.1:8081');
    const { ring } = (await callControl(address, 'POST', '/ring', { action, origin })) as { ring: string[] };
    console.log(`ring: ${ring.length > 0 ? ring.join(', ') : '(empty)'}; pages on these origins get the canary whatever the weight`);
    return;
  }
  if (positionals.length > 0) throw new Error(`unknown command ${positionals.join(' ')}; use --stop, --status or ring add|remove <origin>`);
  if (values.stop) {
    console.log(JSON.stringify(await callControl(address, 'POST', '/stop'), null, 2));
    return;
  }
  if (values.status) {
    console.log(JSON.stringify(await callControl(address, 'GET', '/status'), null, 2));
    return;
  }
  const config = loadConfig(values.config);
  const { buildDir, built } = await ensureLocalBuild(config, { log: (line) => console.log(`  ${line}`) });
  console.log(built ? `built ${buildDir}` : `sources unchanged since that build: ${buildDir}`);
  const status = (await callControl(address, 'GET', '/status')) as { stable: { buildId: string }; canary: { buildId: string } | null };
  const buildId = path.basename(buildDir);
  if (status.stable.buildId === buildId || status.canary?.buildId === buildId) {
    throw new Error(`build ${buildId} is already what the local distribution serves; change the app (webapp/src) and run this again`);
  }
  const released = (await callControl(address, 'POST', '/release', { buildDir })) as { buildId: string; version: string; deploymentId: string };
  console.log(`released ${released.buildId} as version ${released.version}: deployment ${released.deploymentId} is shifting viewers (watch the status line, or open ${address.hostPage})`);
}

main().catch((error: Error) => {
  console.error(error instanceof ConfigError ? error.message : `local:release: ${error.message}`);
  process.exit(1);
});

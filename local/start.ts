/**
 * `npm start`: the whole distribution on this machine. Builds when the sources changed, publishes
 * the build into the local buckets, serves the host page, prints the addresses, and keeps one
 * status line up to date until Ctrl-C.
 *
 *   npm start -- [--config deploy.config.json] [--time-scale 60] [--port 8080] [--host-port 8081]
 *                [--nearest-region eu-west-1] [--min-viewers 1] [--rebuild]
 *
 * Then, after changing the app, in another terminal: `npm run local:release` (and
 * `npm run local:release -- --stop` to roll it back by hand).
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { controlFile, startControlServer } from './control-server';
import { ensureLocalBuild, LOCAL_BUILDS_DIR, startLocalDistribution } from './local-distribution';
import { formatStatusLine } from './status-line';

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number; got ${JSON.stringify(text)}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'time-scale': { type: 'string' },
      port: { type: 'string' },
      'host-port': { type: 'string' },
      'nearest-region': { type: 'string' },
      'min-viewers': { type: 'string' },
      rebuild: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(values.config);
  const timeScale = positiveNumber('time-scale', values['time-scale'], 60);
  if (values['nearest-region'] && !config.regions.includes(values['nearest-region'])) {
    throw new Error(`--nearest-region must be one of the configured regions (${config.regions.join(', ')}); got ${values['nearest-region']}`);
  }
  mkdirSync(LOCAL_BUILDS_DIR, { recursive: true });
  const { buildDir, built } = await ensureLocalBuild(config, { rebuild: values.rebuild, log: (line) => console.log(`  ${line}`) });
  console.log(built ? `built ${buildDir}` : `sources unchanged: using ${buildDir}`);

  const distribution = await startLocalDistribution({
    config,
    buildDir,
    timeScale,
    nearestRegion: values['nearest-region'],
    // The alarm's minimum of canary viewers per period, lowered so one person's clicks can trip it.
    alarm: values['min-viewers'] ? { ...config.alarms, minViewers: positiveNumber('min-viewers', values['min-viewers'], config.alarms.minViewers) } : undefined,
    ports: { distribution: values.port ? positiveNumber('port', values.port, 0) : 0, host: values['host-port'] ? positiveNumber('host-port', values['host-port'], 0) : 0 },
    log: (line) => {
      if (line.trim()) console.log(`${process.stdout.isTTY ? '\r\x1b[2K' : ''}${line}`);
    },
  });
  const control = await startControlServer(distribution, { addressFile: controlFile(LOCAL_BUILDS_DIR) });

  console.log(`
Local distribution (no AWS; CloudFront, S3, Route53, CodeDeploy and the alarm played on loopback)
  host page     ${distribution.hostUrl}            (?viewer=<ip> loads the widget as that viewer)
  script tag    <script src="${distribution.url}/assets/index.js"></script>
  buckets       ${Object.entries(distribution.buckets).map(([region, bucket]) => `${region}: ${bucket}`).join(', ')}
  dashboard     ${distribution.dashboardUrl}            (error rates and viewers per period, weight, alarms)
  metrics API   ${distribution.api.url}${config.metrics.endpoint}   (its own endpoint: refuses what did not come through the distribution)
  time          ${timeScale}× (a one-minute rollout step takes ${(60 / timeScale).toFixed(1)} s)
  release       change the app, then \`npm run local:release\` in another terminal (\`-- --stop\` rolls back)
`);

  const tty = process.stdout.isTTY;
  let last = '';
  let lastPrinted = 0;
  const timer = setInterval(() => {
    const line = formatStatusLine(distribution.status(), distribution.emulator.stats());
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (line !== last && Date.now() - lastPrinted >= 1000) {
      console.log(line);
      last = line;
      lastPrinted = Date.now();
    }
  }, 250);

  const shutdown = async () => {
    clearInterval(timer);
    if (tty) process.stdout.write('\n');
    await control.close();
    await distribution.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((error: Error) => {
  console.error(error instanceof ConfigError ? error.message : `npm start: ${error.message}`);
  process.exit(1);
});

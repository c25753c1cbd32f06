/**
 * `npm start`: the whole distribution on this machine. Builds when the sources changed, publishes
 * the build into the local buckets, serves the host page, runs the release signal (the local
 * CloudFront's real-time logs into a loopback Kinesis stream, read by the signal consumer's own
 * code), prints the addresses, and keeps one status line up to date until stopped (Ctrl-C, SIGTERM, SIGHUP, or npm
 * going away; shutdown.ts),
 * which closes every server and removes the temporary buckets.
 *
 * Then, after changing the app, in another terminal: `npm run local:release` (release.ts).
 */
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import type { DeployConfig } from '../config';
import { ERROR_REPORT_PATH } from '../contracts/error-report';
import { defineCommand, quietSdkNodeVersionWarning, runCommand, UsageError, wholeNumber } from './lib/cli';
import { commandContext } from './lib/command-context';
import { controlFileOption, runningDistribution, shownPath, startControlServer } from '../local/control-server';
import { ensureLocalBuild, LOCAL_BUILDS_DIR, stagingDir, startLocalDistribution } from '../local/local-distribution';
import { Shutdown, StopRequested } from '../local/shutdown';
import { DEFAULT_TIME_SCALE, describeTimeScale, formatStatusLine, READY_LINE } from '../local/status-line';

interface StartFlags {
  readonly config?: string;
  readonly timeScale: number;
  readonly port?: number;
  readonly hostPort?: number;
  readonly nearestRegion?: string;
  readonly minViewers?: number;
  readonly rebuild: boolean;
  readonly controlFile: string;
}

export function startCommand(): Command {
  return defineCommand({
    name: 'npm start --',
    summary:
      'Run the whole distribution on this machine (CloudFront, S3, Route53, Kinesis, CodeDeploy and the alarms ' +
      'on loopback; no AWS) until Ctrl-C.',
    examples: [
      'npm start',
      'npm start -- --time-scale 60                  # a minute of rollout per second: the default rollout in 9 s',
      'npm start -- --time-scale 1                   # real time',
      'npm start -- --port 8080 --host-port 8081     # fixed ports, e.g. for a bookmarked host page',
      'npm start -- --min-viewers 1                  # a step may be judged on one canary viewer',
      "npm start -- --nearest-region eu-west-1       # the routers read from that region's bucket first",
    ],
  })
    .addOption(new Option('--config <file>', 'the deploy config (default: $DEPLOY_CONFIG, else deploy.config.json)'))
    .addOption(
      new Option('--time-scale <n>', 'simulated minutes per real minute, a whole number from 1 to 3600')
        .argParser(wholeNumber(1, 3600))
        .default(DEFAULT_TIME_SCALE, `${DEFAULT_TIME_SCALE}, the default config's rollout in 90 s`),
    )
    .addOption(
      new Option('--port <n>', "the distribution's port (default: a free one)").argParser(wholeNumber(1, 65535)),
    )
    .addOption(
      new Option('--host-port <n>', "the host page's port (default: a free one)").argParser(wholeNumber(1, 65535)),
    )
    .addOption(
      new Option(
        '--nearest-region <region>',
        "the region the routers' nearest-bucket lookup answers (default: the primary region)",
      ),
    )
    .addOption(
      new Option(
        '--min-viewers <n>',
        'canary viewers a step needs before the judge can find it healthy, lowered so a few visits can move a ' +
          "release on (default: the config's)",
      ).argParser(wholeNumber(1)),
    )
    .addOption(
      new Option('--rebuild', 'build even when the sources have not changed since the last build').default(false),
    )
    .addOption(
      controlFileOption('where `npm run local:release` finds this distribution; a second one at a time needs its own'),
    )
    .action(async (flags: StartFlags, command: Command) => {
      quietSdkNodeVersionWarning();
      const context = commandContext(command, flags);
      const { config, out } = context;
      if (flags.nearestRegion !== undefined && !config.regions.includes(flags.nearestRegion)) {
        throw new UsageError(
          `--nearest-region must be one of the configured regions (${config.regions.join(', ')}); got ` +
            `${flags.nearestRegion}.`,
        );
      }
      const addressFile = path.resolve(flags.controlFile);
      const other = runningDistribution(addressFile);
      if (other !== null)
        throw new Error(
          `a local distribution is already running (pid ${other.pid}, host page ${other.hostPage}): stop it ` +
            `with Ctrl-C in its terminal, or give this one its own --control-file`,
        );

      const shutdown = new Shutdown({ say: out });
      let failure: unknown = null;
      await serve(config, flags, addressFile, shutdown, out).catch((error: unknown) => (failure = error));
      await shutdown.close();
      if (failure instanceof StopRequested) out('stopped before it was up: nothing left running');
      else if (failure === null) out('stopped: every server closed, the temporary buckets removed');
      else if ((failure as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new Error(
          `port ${(failure as { port?: number }).port} is in use: pick another with --port / --host-port, or ` +
            `leave them out for free ones`,
        );
      else throw failure;
    });
}

/** Starts everything, then waits for the stop. */
async function serve(
  config: DeployConfig,
  flags: StartFlags,
  addressFile: string,
  shutdown: Shutdown,
  out: (line: string) => void,
): Promise<void> {
  mkdirSync(LOCAL_BUILDS_DIR, { recursive: true });
  // A stop during the build does not wait for it: the half-made build goes.
  shutdown.removeAtExit(() => rmSync(stagingDir(LOCAL_BUILDS_DIR), { recursive: true, force: true }));
  const { buildDir, built } = await shutdown.step(
    ensureLocalBuild(config, { rebuild: flags.rebuild, log: (line) => out(`  ${line}`) }),
  );
  out(built ? `built ${buildDir}` : `sources unchanged: using ${buildDir}`);

  const tty = process.stdout.isTTY;
  const distribution = await shutdown.step(
    startLocalDistribution({
      config,
      buildDir,
      timeScale: flags.timeScale,
      nearestRegion: flags.nearestRegion,
      alarm: flags.minViewers !== undefined ? { ...config.alarms, minViewers: flags.minViewers } : undefined,
      ports: { distribution: flags.port ?? 0, host: flags.hostPort ?? 0 },
      log: (line) => {
        if (line.trim()) out(`${tty ? '\r\x1b[2K' : ''}${line}`);
      },
    }),
    (started) => started.stop(),
  );
  // The buckets' folder, should the stop be cut short (a second Ctrl-C) before the S3 server removes it.
  shutdown.removeAtExit(() => rmSync(distribution.s3.directory, { recursive: true, force: true }));
  const control = await shutdown.step(startControlServer(distribution, { addressFile }), (started) => started.close());

  const { kinesis } = distribution.signal;
  out(`
Local distribution ready (no AWS: CloudFront, S3, Route53, Kinesis, CodeDeploy and the alarms played on loopback)
  host page     ${distribution.hostUrl}            (?viewer=<ip> loads the widget as that viewer)
  script tag    <script async src="${distribution.url}/assets/index.js"></script>
  errors        ${distribution.url}${ERROR_REPORT_PATH}?b=<buildId>&m=<message>   (one GET per error, answered 204 at the edge; a healthy load sends nothing but the entry request)
  signal        ${kinesis.endpoint} (Kinesis API, in memory): stream ${kinesis.streamName}, CloudFront's real-time log records of the entry and ${ERROR_REPORT_PATH}, counted per period by the signal consumer ${config.metrics.latenessSeconds} s (simulated) after the period ends
  buckets       ${distribution.s3.endpoint} (S3 API, path-style): ${Object.entries(distribution.buckets)
    .map(([region, bucket]) => `${region}: ${bucket}`)
    .join(', ')}
  dashboard     ${distribution.dashboardUrl}            (error shares and viewers per period, weight, alarms, the signal's health)
  control       ${control.url}   (npm run local:release talks to it, found through ${shownPath(addressFile)})
  time          ${describeTimeScale(config, flags.timeScale)}   (--time-scale changes it)
  release       change the app, then \`npm run local:release\` in another terminal (\`-- --stop\` rolls back, \`-- --status\` shows where it is)
${READY_LINE}
`);

  let last = '';
  let lastPrinted = 0;
  const timer = setInterval(() => {
    const line = formatStatusLine(distribution.status(), distribution.emulator.stats());
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (line !== last && Date.now() - lastPrinted >= 1000) {
      out(line);
      last = line;
      lastPrinted = Date.now();
    }
  }, 250);
  shutdown.add(() => clearInterval(timer));
  await shutdown.requested;
}

if (require.main === module) runCommand(startCommand());

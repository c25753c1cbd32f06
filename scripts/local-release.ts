/**
 * `npm run local:release`: builds the app as it is now and releases it into the running `npm start`
 * (publish to the local buckets, new entry-router version, simulated deployment), as a deploy does
 * in AWS. `--stop` stops the running deployment with rollback, `--status` says where it is,
 * `ring add|remove <origin>` edits the ring, as `npm run rollout -- ring` does in AWS, and
 * `revoke <buildId> --reason <why>` takes a build away for good, as `npm run rollout -- revoke` does.
 *
 * Each says so and exits 1 when there is nothing to act on: no `npm start` running, no release
 * under way to stop, the app unchanged since what is served, a build it cannot revoke (one it
 * never published, the stable one).
 */
import * as path from 'node:path';
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { defineCommand, defineSubcommand, runCommand } from './lib/cli';
import { commandContext } from './lib/command-context';
import type { EmulatorStats } from '../loopback/cloudfront-emulator';
import type { ControlPlaneStatus } from '../local/control-plane';
import { callControl, controlFileOption, readControlAddress, type ControlAddress } from '../local/control-server';
import { ensureLocalBuild } from '../local/local-distribution';
import { formatStatusLine } from '../local/status-line';
import { isBuildId } from '../contracts/build-id';
import { MAX_REASON_LENGTH, reasonProblem } from '../contracts/revocation';
import { normalizeOrigin, parseRolloutState } from '../contracts/rollout-state';
import type { LocalRevocation } from '../local/local-distribution';

export interface ReleaseIo {
  /** @default stdout */
  readonly out?: (line: string) => void;
}

interface ReleaseFlags {
  readonly config?: string;
  readonly stop: boolean;
  readonly status: boolean;
  readonly json: boolean;
  readonly controlFile: string;
}

type ServedStatus = ControlPlaneStatus & { readonly served: EmulatorStats };

export function localReleaseCommand(io: ReleaseIo = {}): Command {
  const command = defineCommand({
    name: 'npm run local:release --',
    summary:
      'Release the app as it is now into the running `npm start` (as a deploy does in AWS), stop that release ' +
      'with rollback, show where it is, edit the ring, or revoke a build.',
    examples: [
      'npm run local:release                                   # build the changed app and start its rollout',
      'npm run local:release -- --status                       # where the rollout is',
      'npm run local:release -- --stop                         # stop it: every viewer back on the stable build',
      'npm run local:release -- ring add http://127.0.0.1:8081  # pages on this origin get the canary ' +
        'whatever the weight',
      'npm run local:release -- ring remove http://127.0.0.1:8081',
      'npm run local:release -- revoke 5dd3488d0c1e2f3a --reason "CVE-2026-1234: XSS in the search page"',
    ],
  })
    .addOption(
      new Option(
        '--config <file>',
        'the deploy config the build is made with (default: $DEPLOY_CONFIG, else deploy.config.json)',
      ),
    )
    .addOption(new Option('--stop', 'stop the release under way, with rollback').default(false).conflicts('status'))
    .addOption(
      new Option('--status', 'say where the release is: the builds, the weight, the deployment, the alarms').default(
        false,
      ),
    )
    .addOption(
      new Option(
        '--json',
        'with --status: the whole state, as JSON; with ring add|remove: {action, origin, ring}; with revoke: ' +
          '{revocation, already, stopped}',
      ).default(false),
    )
    .addOption(controlFileOption('where the running `npm start` left its address (its own --control-file)'))
    .action(async (flags: ReleaseFlags, self: Command) => {
      const context = commandContext(self, flags, { out: io.out });
      const { out } = context;
      const address = readControlAddress(path.resolve(flags.controlFile));
      if (flags.stop) {
        const stopped = (await callControl(address, 'POST', '/stop')) as ControlPlaneStatus;
        out(
          `stopped ${stopped.deployment?.id ?? 'the release'}: every viewer's next load gets the stable build ` +
            `${stopped.stable.buildId} (v${stopped.stable.version})`,
        );
        return;
      }
      const status = (await callControl(address, 'GET', '/status')) as ServedStatus;
      if (flags.status) {
        if (flags.json) context.printJson(status);
        else for (const line of describeStatus(status, address)) out(line);
        return;
      }
      const { config } = context;
      const { buildDir, built } = await ensureLocalBuild(config, { log: (line) => out(`  ${line}`) });
      out(built ? `built ${buildDir}` : `sources unchanged since that build: ${buildDir}`);
      const buildId = path.basename(buildDir);
      if (status.stable.buildId === buildId || status.canary?.buildId === buildId) {
        throw new Error(
          `build ${buildId} is already what the local distribution serves; change the app (webapp/src) ` +
            `and run this again`,
        );
      }
      const released = (await callControl(address, 'POST', '/release', { buildDir })) as {
        buildId: string;
        version: string;
        deploymentId: string;
      };
      out(
        `released ${released.buildId} as version ${released.version}: deployment ${released.deploymentId} is ` +
          `shifting viewers (watch the status line, or open ${address.hostPage})`,
      );
    });

  const ring = defineSubcommand(command, 'ring', {
    summary: 'Edit the ring: host pages on these origins get the canary at any weight.',
  });
  for (const action of ['add', 'remove'] as const) {
    defineSubcommand(ring, action, {
      summary:
        action === 'add'
          ? 'Give pages on <origin> the canary whatever the weight.'
          : 'Put pages on <origin> back under the weight.',
      examples: [`npm run local:release -- ring ${action} http://127.0.0.1:8081`],
    })
      .addArgument(
        new Argument('<origin>', 'a page origin: scheme://host[:port], e.g. http://127.0.0.1:8081').argParser(
          ringOrigin,
        ),
      )
      .action(async (origin: string, _flags: unknown, self: Command) => {
        // --control-file is the top command's, wherever on the line it was given.
        const flags = self.optsWithGlobals() as ReleaseFlags;
        const context = commandContext(self, flags, { out: io.out });
        const { out } = context;
        const address = readControlAddress(path.resolve(flags.controlFile));
        const { ring: after } = (await callControl(address, 'POST', '/ring', { action, origin })) as { ring: string[] };
        if (flags.json) {
          context.printJson({ action, origin, ring: after });
          return;
        }
        out(
          `ring: ${after.length > 0 ? after.join(', ') : '(empty)'}; pages on these origins get the canary ` +
            `whatever the weight`,
        );
      });
  }

  defineSubcommand(command, 'revoke', {
    summary:
      'Take a build away for good: a canary loses its viewers at once (its deployment stops with rollback), ' +
      'its entry answers 410 however it is asked for, and its cached copies are invalidated. The stable build ' +
      'cannot be revoked here: release another build and let it finish first.',
    examples: [
      'npm run local:release -- revoke 5dd3488d0c1e2f3a --reason "CVE-2026-1234: XSS in the search page"',
      'npm run local:release -- --json revoke 5dd3488d0c1e2f3a --reason "leaks the host page\'s cookies"',
    ],
  })
    .addArgument(new Argument('<buildId>', 'the build: 16 hex digits, as --status shows it').argParser(buildIdArgument))
    .addOption(
      new Option('--reason <why>', `why, in one line of at most ${MAX_REASON_LENGTH} characters (a CVE, a link)`)
        .argParser(reasonArgument)
        .makeOptionMandatory(),
    )
    .action(async (buildId: string, _flags: unknown, self: Command) => {
      const flags = self.optsWithGlobals() as ReleaseFlags & { readonly reason: string };
      const context = commandContext(self, flags, { out: io.out });
      const { out } = context;
      const address = readControlAddress(path.resolve(flags.controlFile));
      const revoked = (await callControl(address, 'POST', '/revoke', {
        buildId,
        reason: flags.reason,
      })) as LocalRevocation;
      const { revocation, already, stopped } = revoked;
      if (flags.json) {
        context.printJson({ revocation, already, stopped });
        return;
      }
      const when = revocation.at === null ? '' : ` at ${new Date(revocation.at).toISOString()}`;
      if (already) {
        out(`build ${buildId} was revoked already${when} (${revocation.reason}): that record stands`);
        return;
      }
      out(`revoked ${buildId}${when}: ${revocation.reason}`);
      if (stopped)
        out(
          `stopped ${stopped}: every viewer's next load gets the stable build ${revoked.status.stable.buildId} ` +
            `(v${revoked.status.stable.version})`,
        );
      out(`/assets/${buildId}/index.js answers 410 from now on; /assets/${buildId}/* was invalidated`);
    });
  return command;
}

/** A build id as the command line gave it, or why it is not one. */
function buildIdArgument(text: string): string {
  if (!isBuildId(text))
    throw new InvalidArgumentError(
      `expected a build id, 16 hex digits as \`--status\` shows it, got ${JSON.stringify(text)}.`,
    );
  return text;
}

/** A reason `rollout revoke` would keep, or why it would not. */
function reasonArgument(text: string): string {
  const problem = reasonProblem(text);
  if (problem !== null) throw new InvalidArgumentError(`the reason ${problem}.`);
  return text;
}

/** An origin as the ring keeps it, or why the text is not one. */
function ringOrigin(text: string): string {
  const origin = normalizeOrigin(text);
  if (origin === null)
    throw new InvalidArgumentError(
      `expected scheme://host[:port] with no path, e.g. http://127.0.0.1:8081 (what a page's Referer starts ` +
        `with), got ${JSON.stringify(text)}.`,
    );
  return origin;
}

/** `--status` for a person: the status line, then what it does not say. */
function describeStatus(status: ServedStatus, address: ControlAddress): string[] {
  const state = parseRolloutState(status.state);
  const lines = [formatStatusLine(status, status.served)];
  if (status.deployment === null) lines.push('no release yet: change the app, then `npm run local:release`');
  else if (status.deployment.status === 'InProgress') {
    lines.push(
      `${status.deployment.id} is shifting viewers to ${status.canary?.buildId ?? '?'}; ` +
        `\`npm run local:release -- --stop\` rolls it back`,
    );
    if (status.release?.hold)
      lines.push(
        `held at ${(status.release.weight / 100).toFixed(0)}% since ` +
          `${new Date(status.release.hold.since).toISOString()}: ${status.release.hold.reason}`,
      );
    if (status.judgment?.last) lines.push(`the judge: ${status.judgment.last.reason}`);
  } else
    lines.push(
      `${status.deployment.id} ` +
        `${status.deployment.status.toLowerCase()}${status.deployment.error ? `: ${status.deployment.error}` : ''}`,
    );
  if (state !== null && state.ring.length > 0) lines.push(`ring: ${state.ring.join(', ')}`);
  for (const { buildId, at, reason } of status.revocations)
    lines.push(`revoked ${buildId}${at === null ? '' : ` at ${new Date(at).toISOString()}`}: ${reason}`);
  lines.push(`host page ${address.hostPage}`);
  return lines;
}

if (require.main === module) runCommand(localReleaseCommand());

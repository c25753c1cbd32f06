/**
 * `npm run local:release`: builds the app as it is now and releases it into the running `npm start`
 * (publish to the local buckets, new entry-router version, simulated deployment), as a deploy does
 * in AWS. `--stop` stops the running deployment with rollback, `--status` says where it is,
 * `ring add|remove <origin>` edits the ring, as `npm run rollout -- ring` does in AWS,
 * `revoke <buildId> --reason <why>` takes a build away for good, as `npm run rollout -- revoke` does,
 * and `preview add|list|remove` shows a build to some viewers only, as `npm run rollout -- preview` does.
 *
 * Each says so and exits 1 when there is nothing to act on: no `npm start` running, no release
 * under way to stop, the app unchanged since what is served, a build it cannot revoke (one it
 * never published, the stable one) or preview (one it never published, a revoked one). A command
 * line that is wrong (a bad build id, prefix or duration) exits 2, and sends nothing.
 */
import * as path from 'node:path';
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { defineCommand, defineSubcommand, parseDuration, runCommand, UsageError } from './lib/cli';
import { commandContext } from './lib/command-context';
import type { EmulatorStats } from '../loopback/cloudfront-emulator';
import type { ControlPlaneStatus } from '../local/control-plane';
import { callControl, controlFileOption, readControlAddress, type ControlAddress } from '../local/control-server';
import { ensureLocalBuild } from '../local/local-distribution';
import { formatStatusLine, timeLeft } from '../local/status-line';
import { isBuildId } from '../contracts/build-id';
import { MAX_REASON_LENGTH, reasonProblem } from '../contracts/revocation';
import {
  livePreviews,
  normalizeOrigin,
  parseRolloutState,
  PREVIEW_DEFAULT_MS,
  PREVIEW_LONGEST_MS,
  PREVIEW_SHORTEST_MS,
  type Preview,
} from '../contracts/rollout-state';
import { addressGroups, inViewerPrefix, normalizeViewerPrefix, viewerPrefixProblem } from '../contracts/viewer-address';
import type { LocalPreviews, LocalRevocation, PreviewRequest } from '../local/local-distribution';

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
      'npm run local:release -- preview add 5dd3488d0c1e2f3a --viewer 127.0.0.1  # your own browser gets that ' +
        'build for an hour',
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
          '{revocation, already, stopped}, and previewsEnded when it ended any; with preview list: {previews, ' +
          'bytes, limitBytes}; with preview add: {action, preview, replaced, previews}; with preview remove: ' +
          '{action, removed, previews} (a preview: {build, viewer, until}, until in epoch seconds)',
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
        const { previewsEnded } = revoked;
        context.printJson({ revocation, already, stopped, ...(previewsEnded.length > 0 ? { previewsEnded } : {}) });
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
      for (const preview of revoked.previewsEnded)
        out(`ended the preview of ${buildId} for ${preview.viewer}: its viewers get what the rollout gives them`);
      out(`/assets/${buildId}/index.js answers 410 from now on; /assets/${buildId}/* was invalidated`);
    });
  definePreview(command, io);
  return command;
}

/** The viewer `preview add` names when not told: a browser on this machine, as the local distribution sees it. */
const OWN_BROWSER = '127.0.0.1';
const VIEWER_HELP =
  'an address (203.0.113.7) or a prefix of at least /24 for IPv4, /48 for IPv6 (203.0.113.0/24, 2001:db8:7::/48)';

/** `preview list|add|remove`, as `npm run rollout -- preview` in AWS. */
function definePreview(command: Command, io: ReleaseIo): void {
  const preview = defineSubcommand(command, 'preview', {
    summary:
      'Show a build to some viewers only: viewers inside a prefix get a build this `npm start` published, on every ' +
      'host page, whatever the weight and with no release running, until the preview ends (by the real clock, not ' +
      'the scaled one). Counted apart by the signal, never judged. Your own browser on this machine is 127.0.0.1 ' +
      '(the local distribution listens there only), the default viewer; a host page opened with ?viewer=<ip> is ' +
      'that viewer instead.',
    examples: [
      'npm run local:release -- preview add 5dd3488d0c1e2f3a                     # your own browser, for an hour',
      'npm run local:release -- preview add 5dd3488d0c1e2f3a --viewer 203.0.113.0/24 --for 2h',
      'npm run local:release -- preview list',
      'npm run local:release -- preview remove --viewer 127.0.0.1',
      'npm run local:release -- preview remove --build 5dd3488d0c1e2f3a',
    ],
  });
  /** Runs `request` against the running `npm start`, then prints what `show` makes of the answer. */
  const run =
    (action: 'list' | 'add' | 'remove', request: (flags: PreviewFlags, buildId?: string) => PreviewRequest) =>
    async (...args: unknown[]) => {
      const self = args.at(-1) as Command;
      const flags = self.optsWithGlobals() as ReleaseFlags & PreviewFlags;
      const context = commandContext(self, flags, { out: io.out });
      const body = request(flags, typeof args[0] === 'string' ? args[0] : undefined);
      const address = readControlAddress(path.resolve(flags.controlFile));
      const answer = (await callControl(address, 'POST', '/preview', { action, ...body })) as LocalPreviews;
      if (flags.json) context.printJson(previewJson(answer));
      else for (const line of describePreviews(answer, body, address, answer.now)) context.out(line);
    };

  defineSubcommand(preview, 'list', {
    isDefault: true,
    summary: 'The previews in force: which build, for which viewers, until when.',
    examples: ['npm run local:release -- preview list', 'npm run local:release -- --json preview list'],
  }).action(run('list', () => ({})));

  defineSubcommand(preview, 'add', {
    summary:
      'Give the viewers inside --viewer build <buildId> until --for has passed, replacing a preview of the ' +
      'same prefix. Refused (exit 1) for a build this `npm start` never published, a revoked build, or no room ' +
      'left in the rollout state.',
    examples: [
      'npm run local:release -- preview add 5dd3488d0c1e2f3a',
      'npm run local:release -- preview add 5dd3488d0c1e2f3a --viewer 127.0.0.1 --for 30m',
      'npm run local:release -- preview add 5dd3488d0c1e2f3a --viewer 203.0.113.9  # open the host page with ' +
        '?viewer=203.0.113.9',
    ],
  })
    .addArgument(new Argument('<buildId>', 'the build: 16 hex digits, as --status shows it').argParser(buildIdArgument))
    .addOption(
      new Option(
        '--viewer <ip|prefix>',
        `${VIEWER_HELP}; ${OWN_BROWSER} is your own browser on this machine (a host page opened with ` +
          '?viewer=<ip> is <ip>)',
      )
        .argParser(viewerArgument)
        .default(`${OWN_BROWSER}/32`, OWN_BROWSER),
    )
    .addOption(
      new Option('--for <duration>', 'how long: 1m to 7d (90s, 30m, 2h, 1d)')
        .argParser(previewDuration)
        .default(PREVIEW_DEFAULT_MS, '1h'),
    )
    .action(
      run('add', (flags, buildId) => ({
        build: buildId,
        viewer: flags.viewer,
        seconds: Math.round((flags.for ?? 3_600_000) / 1000),
      })),
    );

  defineSubcommand(preview, 'remove', {
    summary:
      'End a preview now: the one of --viewer (its prefix, as `preview list` shows it; an address alone is that ' +
      'one address, a /32 or /128), or every preview of --build. When none matches, it says so, writes nothing ' +
      'and exits 0, as `npm run rollout -- preview remove` does.',
    examples: [
      'npm run local:release -- preview remove --viewer 127.0.0.1',
      'npm run local:release -- preview remove --viewer 203.0.113.0/24',
      'npm run local:release -- preview remove --build 5dd3488d0c1e2f3a',
    ],
  })
    .addOption(new Option('--viewer <ip|prefix>', `the preview's viewers: ${VIEWER_HELP}`).argParser(viewerArgument))
    .addOption(
      new Option('--build <buildId>', 'every preview of this build').argParser(buildIdArgument).conflicts('viewer'),
    )
    .action(
      run('remove', (flags) => {
        if (flags.viewer === undefined && flags.build === undefined)
          throw new UsageError('say which preview to remove: --viewer <ip|prefix> or --build <buildId>');
        return flags.viewer === undefined ? { build: flags.build } : { viewer: flags.viewer };
      }),
    );
}

interface PreviewFlags {
  readonly viewer?: string;
  readonly build?: string;
  /** --for, in ms. */
  readonly for?: number;
}

/** A preview as --json prints it. */
const previewOf = ({ build, viewer, until }: Preview) => ({ build, viewer, until });

function previewJson(answer: LocalPreviews): Record<string, unknown> {
  const previews = answer.previews.map(previewOf);
  if (answer.action === 'list') return { previews, bytes: answer.bytes, limitBytes: answer.limitBytes };
  if (answer.action === 'add')
    return {
      action: 'add',
      preview: previewOf(answer.changed[0]!),
      replaced: answer.replaced && previewOf(answer.replaced),
      previews,
    };
  return { action: 'remove', removed: answer.changed.map(previewOf), previews };
}

/** `preview` for a person. */
function describePreviews(
  answer: LocalPreviews,
  request: PreviewRequest,
  address: ControlAddress,
  now: number,
): string[] {
  const until = (preview: Preview) =>
    `until ${new Date(preview.until * 1000).toISOString()} (${timeLeft(preview.until, now)} left)`;
  const listed = answer.previews.map((preview) => `  ${preview.build} for ${preview.viewer} ${until(preview)}`);
  if (answer.action === 'list')
    return answer.previews.length === 0
      ? ['no preview in force: every viewer gets what the rollout gives them']
      : [
          `previews in force (${answer.previews.length}; with the ring, ${answer.bytes} of the ${answer.limitBytes} ` +
            'bytes they may share):',
          ...listed,
        ];
  if (answer.action === 'remove' && answer.changed.length === 0) {
    const { viewer, build } = request;
    const holding =
      viewer === undefined
        ? []
        : answer.previews.filter((preview) => {
            const groups = addressGroups(viewer.split('/')[0] ?? '');
            return groups !== null && inViewerPrefix(groups, preview.viewer);
          });
    return [
      viewer === undefined
        ? `not previewed: no preview in force shows build ${build}; nothing removed`
        : `not previewed: no preview in force is for ${viewer}; nothing removed` +
          (holding.length === 0
            ? ''
            : ` (${holding.map((preview) => `${preview.viewer}, build ${preview.build}`).join('; ')} holds it: ` +
              'remove that prefix with --viewer)'),
      `previews in force: ${answer.previews.length === 0 ? 'none' : answer.previews.length}`,
    ];
  }
  if (answer.action === 'remove')
    return [
      ...answer.changed.map(
        (preview) =>
          `removed the preview of ${preview.build} for ${preview.viewer}: its viewers get what the rollout gives ` +
          'them from their next load',
      ),
      `previews in force: ${answer.previews.length === 0 ? 'none' : answer.previews.length}`,
    ];
  const added = answer.changed[0]!;
  const lines = [
    `preview: viewers in ${added.viewer} get build ${added.build} on every host page, whatever the weight, ` +
      until(added),
  ];
  const { replaced } = answer;
  if (replaced) lines.push(`it replaces the preview of ${replaced.build} for ${replaced.viewer}`);
  lines.push(
    added.viewer === `${OWN_BROWSER}/32`
      ? `open ${address.hostPage} in a browser on this machine (no ?viewer=): that is ${OWN_BROWSER}`
      : `open ${address.hostPage}?viewer=<an address in ${added.viewer}> to be one of its viewers`,
  );
  return lines;
}

/** An address or prefix a preview can name, in its stored form, or why the text is not one. */
function viewerArgument(text: string): string {
  const prefix = normalizeViewerPrefix(text);
  if (prefix === null) throw new InvalidArgumentError(`${viewerPrefixProblem(text) ?? 'not a viewer prefix'}.`);
  return prefix;
}

/**
 * `--for`: a duration from 1m to 7d, in ms. Takes what every command's durations take (90s, 30m,
 * 2h) and whole or decimal days (1d, 1.5d).
 */
function previewDuration(text: string): number {
  let ms = Number.NaN;
  try {
    ms = parseDuration(text);
  } catch {
    // said below, with the bounds
  }
  if (!(ms >= PREVIEW_SHORTEST_MS && ms <= PREVIEW_LONGEST_MS))
    throw new InvalidArgumentError(
      `expected how long the preview lasts, from 1m to 7d (90s, 30m, 2h, 1d), got ${JSON.stringify(text)}.`,
    );
  return Math.round(ms);
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
  // The distribution's clock, which its edge ends previews by (`--time-scale` runs it ahead of this machine's).
  const now = status.now;
  for (const preview of state === null ? [] : livePreviews(state, now))
    lines.push(
      `preview: ${preview.build} for ${preview.viewer} until ${new Date(preview.until * 1000).toISOString()} ` +
        `(${timeLeft(preview.until, now)} left)`,
    );
  for (const { buildId, at, reason } of status.revocations)
    lines.push(`revoked ${buildId}${at === null ? '' : ` at ${new Date(at).toISOString()}`}: ${reason}`);
  lines.push(`host page ${address.hostPage}`);
  return lines;
}

if (require.main === module) runCommand(localReleaseCommand());

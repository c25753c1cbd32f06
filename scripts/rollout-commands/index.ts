/**
 * `npm run rollout -- <command>`: the command layer. Clients, config, output and the clock are
 * injected (scripts/rollout.ts passes the real ones, tests pass mocked SDK clients); what to show
 * and what to choose is in scripts/lib/rollout-view.ts; starting a deployment is the release function's own
 * code path (rollout-control/release.ts); waiting for a deploy's rollout is in
 * scripts/lib/rollout-wait.ts.
 *
 * Exit codes: 0 done, 1 failed (AWS, credentials, missing resources, nothing to act on, a rollout
 * rolled back), 2 usage. `--help` on every command and subcommand, with examples.
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../../config';
import {
  buildOption,
  commaList,
  configOption,
  defineCommand,
  defineSubcommand,
  durationWithin,
  formatDuration,
  invoke,
  ReportedFailure,
  UsageError,
  wholeNumber,
  type SubcommandSpec,
} from '../lib/cli';
import { errorMessage } from '../../rollout-control/aws-errors';
import { isBuildId } from '../../contracts/build-id';
import { reasonProblem } from '../../contracts/revocation';
import { viewerPrefixProblem } from '../../contracts/viewer-address';
import { checkLiveCommand, RECHECK_MS, type CheckLiveFlags } from './check-live';
import { createContext, type CommandHandler, type Invocation, type RolloutCliDeps } from './context';
import { PREVIEW_DEFAULT_MS } from '../../contracts/rollout-state';
import { previewCommand, previewDuration } from './preview';
import { promoteCommand } from './promote';
import { revokeCommand } from './revoke';
import { ringCommand } from './ring';
import { rollbackCommand } from './rollback';
import { startCommand } from './start';
import { statusCommand } from './status';
import { stopCommand } from './stop';
import { waitCommand, type WaitFlags } from './wait';

export { ROLLOUT_REGION, type RolloutClients, type RolloutCliDeps } from './context';

type RolloutCommand = 'status' | 'start' | 'stop' | 'rollback' | 'promote' | 'ring' | 'preview' | 'revoke';

/** `npm run rollout -- <command>`, with `deps` for config, AWS, output and the clock. Build one per run. */
export function rolloutCommand(deps: RolloutCliDeps): Command {
  const program = defineCommand({
    name: 'npm run rollout --',
    summary:
      'Watch, start, stop, roll back or promote a release of the entry router, edit the ring, preview a build, ' +
      "revoke one, wait for a deploy's rollout to end, or check what the live distribution serves. Everything " +
      'lives in us-east-1.',
    examples: [
      'npm run rollout -- status',
      'npm run rollout -- start --version 8',
      'npm run rollout -- rollback',
      'npm run rollout -- wait --baseline "$RUNNER_TEMP/rollout-baseline" --timeout 40m',
      'npm run rollout -- check-live',
    ],
  });
  const leaf = (parent: Command, name: string, spec: SubcommandSpec) =>
    defineSubcommand(parent, name, spec)
      .addOption(configOption())
      .addOption(
        new Option('--json', 'print the result as JSON on stdout (an error too: {"error": …})').default(false),
      );
  const versionOption = (what: string) =>
    new Option(
      '--version <n>',
      `the published entry-router version to ${what}, a whole number (default: ` +
        `${what === 'release' ? 'the newest' : 'the one before the current build'})`,
    ).argParser(wholeNumber(1));
  const act = (command: RolloutCommand, invocation: (flags: RolloutFlags, args: readonly string[]) => Invocation) =>
    async function (this: Command, ...args: unknown[]) {
      const flags = this.opts<RolloutFlags>();
      await execute(
        deps,
        command,
        invocation(
          flags,
          args.filter((arg): arg is string => typeof arg === 'string'),
        ),
      );
    };
  const common = (flags: RolloutFlags): Invocation => ({ config: flags.config, json: flags.json });

  leaf(program, 'status', {
    summary:
      'Alias weights, the rollout state at the edges, the current or last deployment, and the alarms. Exits 1 ' +
      'when it lists problems.',
    examples: ['npm run rollout -- status', 'npm run rollout -- status --json | jq .deployment'],
  }).action(act('status', common));
  leaf(program, 'start', {
    summary:
      'Deploy the newest published entry-router version (or --version N) with the configured rollout; refused ' +
      'when its build is missing from any bucket.',
    examples: ['npm run rollout -- start', 'npm run rollout -- start --version 8'],
  })
    .addOption(versionOption('release'))
    .action(act('start', (flags) => ({ ...common(flags), version: flags.version?.toString() })));
  leaf(program, 'stop', {
    summary: 'Stop the running deployment and roll it back to the version it started from.',
    examples: ['npm run rollout -- stop'],
  }).action(act('stop', common));
  leaf(program, 'rollback', {
    summary:
      'Stop the running deployment and roll it back; with none running, deploy the previous build (or ' +
      '--version N) all at once, with alarms off for that deployment.',
    examples: ['npm run rollout -- rollback', 'npm run rollout -- rollback --version 6'],
  })
    .addOption(versionOption('roll back to'))
    .action(act('rollback', (flags) => ({ ...common(flags), version: flags.version?.toString() })));
  leaf(program, 'promote', {
    summary:
      'Finish the running deployment now: stop it without rollback and move the alias fully to its target (no ' +
      'alarm rolls it back afterwards). Refused while the client-error alarm is in ALARM, unless --force.',
    examples: ['npm run rollout -- promote', 'npm run rollout -- promote --force   # even while the alarm fires'],
  })
    .addOption(new Option('--force', 'promote even while the client-error alarm is in ALARM').default(false))
    .action(act('promote', (flags) => ({ ...common(flags), force: flags.force })));

  const ring = defineSubcommand(program, 'ring', {
    summary: 'The ring: host page origins that get the canary whatever the weight. Without a subcommand, lists it.',
    examples: [
      'npm run rollout -- ring',
      'npm run rollout -- ring add https://demo.example.com',
      'npm run rollout -- ring remove https://demo.example.com',
    ],
  });
  const list = act('ring', (flags) => ({ ...common(flags), ring: { action: 'list' } }));
  leaf(ring, 'list', {
    summary: 'List the origins in the ring, and the bytes they take of its budget.',
    examples: ['npm run rollout -- ring list --json'],
    isDefault: true,
  })
    // As the default, `list` receives whatever follows `ring` that names no subcommand: `ring drop x`.
    .allowExcessArguments(true)
    .action(async function (this: Command, ...args: unknown[]) {
      if (this.args.length > 0)
        throw new UsageError(
          `${JSON.stringify(this.args.join(' '))} is not a ring command; use list, add <origin> or remove <origin>.`,
        );
      await list.apply(this, args);
    });
  for (const action of ['add', 'remove'] as const) {
    leaf(ring, `${action} <origin>`, {
      summary:
        action === 'add'
          ? "Add a host page's origin (scheme, host and port, e.g. https://demo.example.com) to the ring."
          : 'Remove an origin from the ring.',
      examples: [`npm run rollout -- ring ${action} https://demo.example.com`],
    }).action(act('ring', (flags, [origin]) => ({ ...common(flags), ring: { action, origin } })));
  }

  const preview = defineSubcommand(program, 'preview', {
    summary:
      'Previews: viewers inside an address prefix (yours, an office) get a build of your choosing on every host ' +
      'page, whatever the rollout, until a time; counted apart, never judged. Without a subcommand, lists them.',
    examples: [
      'npm run rollout -- preview',
      'npm run rollout -- preview add 0c1d2e3f4a5b6c7d --viewer 203.0.113.7',
      'npm run rollout -- preview add 0c1d2e3f4a5b6c7d --viewer 2001:db8:7::/48 --for 2d',
      'npm run rollout -- preview remove --viewer 203.0.113.7',
    ],
  });
  const listPreviews = act('preview', (flags) => ({ ...common(flags), preview: { action: 'list' } }));
  leaf(preview, 'list', {
    summary:
      'List the previews in force, with the time each has left, and apart those that ended but are still stored.',
    examples: ['npm run rollout -- preview list --json'],
    isDefault: true,
  })
    // As the default, `list` receives whatever follows `preview` that names no subcommand.
    .allowExcessArguments(true)
    .action(async function (this: Command, ...args: unknown[]) {
      if (this.args.length > 0)
        throw new UsageError(
          `${JSON.stringify(this.args.join(' '))} is not a preview command; use list, add <buildId> --viewer ` +
            '<address> or remove --viewer <address>.',
        );
      await listPreviews.apply(this, args);
    });
  const viewerOption = (what: string) =>
    new Option(
      '--viewer <address>',
      `${what}: an IP address (203.0.113.7, 2001:db8::1) or a prefix of at least /24 (IPv4) or /48 (IPv6), ` +
        'e.g. 203.0.113.0/24 or 2001:db8:7::/64 (privacy addresses change their last 64 bits)',
    );
  const usableViewer = (text: string) => {
    const problem = viewerPrefixProblem(text);
    if (problem !== null) throw new UsageError(`--viewer ${problem}`);
    return text;
  };
  const buildIdArgument = (what: string, text: string) => {
    if (!isBuildId(text))
      throw new UsageError(
        `${what} ${JSON.stringify(text)} is not a build id (16 lowercase hex digits, as X-Build-Id shows)`,
      );
    return text;
  };
  leaf(preview, 'add <buildId>', {
    summary:
      'Show <buildId> to the viewers in --viewer until --for from now (default 1h, from 1m to 7d): on their next ' +
      'load of /assets/index.js, within seconds. Refused for a build a bucket lacks, a revoked build, or when the ' +
      'state has no room for another preview. A preview of the same prefix is replaced.',
    examples: [
      'npm run rollout -- preview add 0c1d2e3f4a5b6c7d --viewer 203.0.113.7            # this machine, for an hour',
      'npm run rollout -- preview add 0c1d2e3f4a5b6c7d --viewer 203.0.113.0/24 --for 30m',
      'npm run rollout -- preview add 0c1d2e3f4a5b6c7d --viewer 2001:db8:7::/48 --for 2d --json',
    ],
  })
    .addOption(viewerOption('who sees the build').makeOptionMandatory())
    .addOption(
      new Option('--for <duration>', 'how long from now, e.g. 30m, 2h, 1d (from 1m to 7d)')
        .argParser(previewDuration)
        .default(PREVIEW_DEFAULT_MS, '1h'),
    )
    .action(
      act('preview', (flags, [build]) => ({
        ...common(flags),
        preview: {
          action: 'add',
          build: buildIdArgument('the build', build!),
          viewer: usableViewer(flags.viewer!),
          forMs: flags.for ?? PREVIEW_DEFAULT_MS,
        },
      })),
    );
  leaf(preview, 'remove', {
    summary:
      'End a preview now: the one of --viewer (the prefix as added; an address means its /32 or /128), or every ' +
      'preview of --build. Nothing to end is not a failure: it says so and writes nothing.',
    examples: [
      'npm run rollout -- preview remove --viewer 203.0.113.7',
      'npm run rollout -- preview remove --build 0c1d2e3f4a5b6c7d',
    ],
  })
    .addOption(viewerOption('whose preview ends').conflicts('build'))
    .addOption(new Option('--build <buildId>', 'end every preview of this build'))
    .action(
      act('preview', (flags) => {
        if (flags.viewer === undefined && flags.build === undefined)
          throw new UsageError('name what to end: --viewer <address> or --build <buildId>');
        return {
          ...common(flags),
          preview:
            flags.viewer === undefined
              ? { action: 'remove', build: buildIdArgument('--build', flags.build!) }
              : { action: 'remove', viewer: usableViewer(flags.viewer) },
        };
      }),
    );

  leaf(program, 'revoke <buildId>', {
    summary:
      'Take a build away for good (a security hole, say): its entry answers 410 at every edge, it can never again ' +
      'be stable, canary or a rollback target, a canary is rolled back at once, and its cached copies are ' +
      'invalidated. The stable build needs --to, the build that replaces it, deployed all at once. Its chunks stay ' +
      'until cleanup unless --purge.',
    examples: [
      'npm run rollout -- revoke 5e0aeadce1c93934 --reason "CVE-2026-0001: XSS in the comment box"',
      'npm run rollout -- revoke 5e0aeadce1c93934 --reason "CVE-2026-0001" --to 0c1d2e3f4a5b6c7d',
      'npm run rollout -- revoke 5e0aeadce1c93934 --reason "leaked a token in a chunk" --purge',
    ],
  })
    .addOption(
      new Option(
        '--reason <text>',
        'why, in one line (a CVE, an incident, a link); kept with it',
      ).makeOptionMandatory(),
    )
    .addOption(new Option('--to <buildId>', 'for the stable build: the build that replaces it, deployed all at once'))
    .addOption(
      new Option(
        '--purge',
        'also delete its objects from every bucket now (pages already open lose its chunks)',
      ).default(false),
    )
    .action(
      act('revoke', (flags, [buildId]) => {
        const reason = flags.reason ?? '';
        if (!isBuildId(buildId))
          throw new UsageError(
            `${JSON.stringify(buildId)} is not a build id (16 lowercase hex digits, as X-Build-Id shows)`,
          );
        if (flags.to !== undefined && !isBuildId(flags.to))
          throw new UsageError(`--to ${JSON.stringify(flags.to)} is not a build id (16 lowercase hex digits)`);
        if (flags.to === buildId)
          throw new UsageError('--to names the build being revoked: name the one that replaces it');
        const problem = reasonProblem(reason);
        if (problem !== null) throw new UsageError(`--reason ${problem}`);
        return { ...common(flags), revoke: { buildId, reason, to: flags.to, purge: flags.purge ?? false } };
      }),
    );

  leaf(program, 'wait', {
    summary:
      "The deploy job's last step: with --save-baseline (before `cdktf deploy`) note the newest deployment; " +
      'with --baseline (after it) wait until a newer one ends. Exits 1 when it rolled back, or did not end in ' +
      'time; passes when the deploy started none (the status shows the baseline for the settle time).',
    examples: [
      'npm run rollout -- wait --save-baseline "$RUNNER_TEMP/rollout-baseline"',
      'npm run rollout -- wait --baseline "$RUNNER_TEMP/rollout-baseline"',
      'npm run rollout -- wait --baseline baseline.json --timeout 1h --interval 30s',
    ],
  })
    .addOption(
      new Option(
        '--save-baseline <file>',
        'note the newest deployment (or that there is none) in <file>, then exit',
      ).conflicts('baseline'),
    )
    .addOption(
      new Option(
        '--baseline <file>',
        'wait for a deployment newer than the one <file> names (default: wait for the newest deployment to ' +
          'end, whichever deploy started it)',
      ),
    )
    .addOption(
      new Option(
        '--timeout <duration>',
        "give up after this long, e.g. 40m (default: the configured rollout's length + the alarm window + 15m)",
      ).argParser(durationWithin(60_000, 24 * 3_600_000)),
    )
    .addOption(
      new Option('--interval <duration>', 'between two status reads (and two tries at --save-baseline)')
        .argParser(durationWithin(1000, 3_600_000))
        .default(20_000, '20s'),
    )
    .addOption(
      new Option(
        '--settle <duration>',
        'how long the baseline may stay newest before concluding this deploy started no deployment',
      )
        .argParser(durationWithin(1000, 3_600_000))
        .default(120_000, '2m'),
    )
    .action(async (flags: WaitFlags) => {
      try {
        await waitCommand(deps, flags);
      } catch (error) {
        if (error instanceof ReportedFailure) throw error;
        deps.err(error instanceof ConfigError ? error.message : `rollout wait: ${errorMessage(error)}`);
        throw new ReportedFailure();
      }
    });

  leaf(program, 'check-live', {
    summary:
      'After a deploy: fetch the live entry /assets/index.js as two viewers and check it against the rollout ' +
      "(X-Build-Id stable or canary, the body that build's published entry, Cache-Control, ETag and Vary as " +
      'designed, 304 to If-None-Match), one chunk of that build (encoding, immutable), /api/e (as the ' +
      "error-report function answers) and a made-up build's entry (404). Exits 1 naming each failure. Against " +
      "real CloudFront both viewers come from this machine's address and differ only by User-Agent, Referer " +
      'and Accept-Encoding; against `npm start` (--local) --viewer-ip makes them two addresses.',
    examples: [
      'npm run rollout -- check-live                                   ' +
        '# https://<domain> (customDomain), checked against AWS',
      'npm run rollout -- check-live --url https://d1234abcd.cloudfront.net',
      'npm run rollout -- check-live --within 3m                       ' +
        '# after a deploy: until the edges serve the rollout',
      'npm run rollout -- check-live --json | jq .failures',
      'npm run rollout -- check-live --local                           ' +
        "# the running `npm start`, both viewers from this machine's address",
      'npm run rollout -- check-live --local --viewer-ip 192.0.2.10,198.51.100.20 --timeout 2s',
    ],
  })
    .addOption(
      new Option(
        '--url <url>',
        'the distribution to check, scheme://host[:port] (default: https://<domain> when customDomain is true; ' +
          "with --local, the running `npm start`'s)",
      ),
    )
    .addOption(
      new Option(
        '--local',
        'take the rollout state and the builds from the running `npm start` (its control file) instead of AWS',
      ).default(false),
    )
    .addOption(
      new Option(
        '--control-file <file>',
        'with --local: where the running `npm start` left its address (default: the one it writes, ' +
          'build/local/control.json)',
      ),
    )
    .addOption(
      new Option(
        '--viewer-ip <a,b>',
        "the two viewers' client addresses, sent in the local CloudFront's client-IP header, so that the local " +
          'distribution assigns them as two viewers; real CloudFront ignores the header (default: none sent)',
      ).argParser(commaList),
    )
    .addOption(
      new Option(
        '--timeout <duration>',
        'how long each request may take, connecting included, before it counts as failed',
      )
        .argParser(durationWithin(100, 120_000))
        .default(5000, '5s'),
    )
    .addOption(
      new Option(
        '--within <duration>',
        `until every check passes or this long has passed, check again every ${formatDuration(RECHECK_MS)}, ` +
          `reading the rollout again each time (the edges follow a new state within seconds); prints the last ` +
          `run (default: check once)`,
      ).argParser(durationWithin(1000, 3_600_000)),
    )
    .addOption(
      buildOption(
        'against AWS: the build deployed last, as `npm run build` writes it; /api/e must answer as its ' +
          'error-report function does',
      ),
    )
    .addOption(
      new Option(
        '--allow-previews',
        'take a build a preview in force shows (`rollout preview`) as one the rollout serves: for a machine ' +
          'inside a previewed prefix (never in CI, where it would hide a preview served to everyone)',
      ).default(false),
    )
    .action(async (flags: CheckLiveFlags) => checkLiveCommand(deps, flags));
  return program;
}

interface RolloutFlags {
  readonly config?: string;
  readonly json: boolean;
  readonly version?: number;
  readonly force?: boolean;
  readonly reason?: string;
  readonly to?: string;
  readonly purge?: boolean;
  readonly viewer?: string;
  readonly for?: number;
  readonly build?: string;
}

/** Runs the command line; returns the exit code (0 done, 1 failed, 2 usage). */
export function runRolloutCli(argv: readonly string[], deps: RolloutCliDeps): Promise<number> {
  const line = (write: (line: string) => void) => (text: string) => write(text.replace(/\n$/, ''));
  return invoke(rolloutCommand(deps), argv, { out: line(deps.out), error: line(deps.err) });
}

/** Prints the result (or the error, as JSON too with --json); a failure has been reported when it throws. */
async function execute(deps: RolloutCliDeps, command: RolloutCommand, invocation: Invocation): Promise<void> {
  let code: number;
  try {
    const context = await createContext(deps, invocation.config);
    const result = await COMMAND_HANDLERS[command](context, invocation);
    if (invocation.json) deps.out(JSON.stringify(result.json, null, 2));
    else for (const line of result.lines) deps.out(line);
    code = result.exitCode ?? 0;
  } catch (error) {
    deps.err(error instanceof ConfigError ? error.message : `rollout ${command}: ${errorMessage(error)}`);
    if (invocation.json) deps.out(JSON.stringify({ error: errorMessage(error) }, null, 2));
    code = 1;
  }
  if (code !== 0) throw new ReportedFailure(code);
}

const COMMAND_HANDLERS: Record<RolloutCommand, CommandHandler> = {
  status: statusCommand,
  start: startCommand,
  stop: stopCommand,
  rollback: rollbackCommand,
  promote: promoteCommand,
  ring: ringCommand,
  preview: previewCommand,
  revoke: revokeCommand,
};

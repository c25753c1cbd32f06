/**
 * Reads `deploy.config.json` into the one typed configuration of a distribution: validated once,
 * defaults applied, frozen. Everything else (stacks, build, edge bundles, scripts, local mode)
 * takes a `DeployConfig` and never re-reads or re-validates the file.
 *
 * A bad file fails here, before anything is built or synthesized, with one line per mistake that
 * names the field and says how to fix it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { describeFileIssues, fileIssueWords } from '../contracts/schema-issues';
import { parseJsonText } from './json-text';
import { findRegion, distanceKm } from './regions';
import { routerTimeoutProblem } from './router-bounds';
import { MAX_CODEDEPLOY_INTERVAL_MINUTES, RELEASE_WINDOW_MARGIN_MINUTES, rolloutSteps } from './rollout';
import { longestReleaseMs } from '../contracts/release-progress';
import { capacityProblem } from '../contracts/signal-capacity';
import { configSchema, REMOVED_SETTINGS, type BackendConfig, type ParsedConfig } from './schema';

export type DeployConfig = DeepReadonly<
  Omit<ParsedConfig, 'failoverRegion' | '$schema'> & {
    /** The secondary origin's region, or undefined with a single region. */
    failoverRegion: string | undefined;
  }
>;

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    // A problem may carry more lines (the JSON excerpt): they sit under its bullet.
    const listed = problems.map((problem) => `  - ${problem.replace(/\n/g, '\n    ')}`).join('\n');
    super(`${source} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${listed}`);
    this.name = 'ConfigError';
  }
}

interface CrossFieldCheck {
  /** The settings it reads: it runs only when every one of them is valid on its own. */
  readonly reads: readonly (readonly string[])[];
  readonly check: (config: ParsedConfig, report: (path: readonly (string | number)[], message: string) => void) => void;
}

/**
 * Rules between settings. Each waits until the settings it reads are valid, so one mistake gives
 * one message: `rollout.percent: 150` is over the maximum, not also "a partial last step".
 */
const CROSS_FIELD_CHECKS: readonly CrossFieldCheck[] = [
  {
    reads: [['regions']],
    check: (config, report) => {
      config.regions.forEach((code, index) => {
        if (config.regions.indexOf(code) !== index)
          report(['regions', index], `"${code}" is listed twice; list each region once.`);
      });
    },
  },
  {
    reads: [['primaryRegion'], ['regions']],
    check: (config, report) => {
      if (!config.regions.includes(config.primaryRegion)) {
        report(
          ['primaryRegion'],
          `"${config.primaryRegion}" is not among regions [${config.regions.join(', ')}]; add it to regions or ` +
            `pick one of them.`,
        );
      }
    },
  },
  {
    reads: [['failoverRegion'], ['primaryRegion'], ['regions']],
    check: (config, report) => {
      const failover = config.failoverRegion;
      if (failover === undefined || (config.regions.includes(failover) && failover !== config.primaryRegion)) return;
      const secondaries = config.regions.filter((region) => region !== config.primaryRegion);
      report(
        ['failoverRegion'],
        `"${failover}" must be one of regions other than the primary ` +
          `(${secondaries.join(', ') || 'add a second region first'}).`,
      );
    },
  },
  {
    reads: [['domain'], ['hostedZone', 'name']],
    check: (config, report) => {
      const zone = config.hostedZone.name;
      if (config.domain === zone || config.domain.endsWith(`.${zone}`)) return;
      report(
        ['hostedZone', 'name'],
        `"${zone}" does not contain domain "${config.domain}"; use the zone the domain belongs to ` +
          `(e.g. ${config.domain.split('.').slice(-2).join('.')}).`,
      );
    },
  },
  {
    reads: [
      ['rollout', 'strategy'],
      ['rollout', 'percent'],
    ],
    check: (config, report) => {
      if (config.rollout.strategy !== 'linear' || 100 % config.rollout.percent === 0) return;
      report(
        ['rollout', 'percent'],
        `is ${config.rollout.percent}, which leaves a partial last step; for linear rollouts use a divisor of ` +
          `100 (5, 10, 20, 25, 50).`,
      );
    },
  },
  {
    // The routers' bounds in the order their code waits them out (router-bounds.ts) must fit their timeout.
    reads: [
      ['edge', 'timeoutSeconds'],
      ['edge', 'storeTimeoutMs'],
      ['edge', 'dnsTimeoutMs'],
      ['edge', 'bucketTimeoutMs'],
      ['regions'],
      ['primaryRegion'],
      ['failoverRegion'],
    ],
    check: (config, report) => {
      const failoverRegion = config.failoverRegion ?? nearestOther(config.primaryRegion, config.regions);
      const problem = routerTimeoutProblem({
        ...config.edge,
        regions: config.regions,
        primaryRegion: config.primaryRegion,
        failoverRegion,
      });
      if (problem !== null) report(['edge'], problem);
    },
  },
  {
    // One shard takes the signal's peak (contracts/signal-capacity.ts).
    reads: [
      ['metrics', 'expectedLoadsPerDay'],
      ['metrics', 'peakToAverage'],
      ['metrics', 'samplingPercent'],
    ],
    check: (config, report) => {
      const problem = capacityProblem(config.metrics);
      if (problem !== null) report(['metrics', 'samplingPercent'], problem);
    },
  },
  {
    reads: [
      ['alarms', 'datapointsToAlarm'],
      ['alarms', 'evaluationPeriods'],
    ],
    check: (config, report) => {
      const { datapointsToAlarm, evaluationPeriods } = config.alarms;
      if (datapointsToAlarm <= evaluationPeriods) return;
      report(
        ['alarms', 'datapointsToAlarm'],
        `is ${datapointsToAlarm} but evaluationPeriods is ${evaluationPeriods}; datapointsToAlarm must not ` +
          `exceed evaluationPeriods.`,
      );
    },
  },
  {
    reads: [
      ['alarms', 'toleratedExcessPercent'],
      ['alarms', 'excessErrorPercent'],
    ],
    check: (config, report) => {
      const { toleratedExcessPercent, excessErrorPercent } = config.alarms;
      if (toleratedExcessPercent < excessErrorPercent) return;
      report(
        ['alarms', 'toleratedExcessPercent'],
        `is ${toleratedExcessPercent} but excessErrorPercent is ${excessErrorPercent}; a canary must be rolled ` +
          `back before it is as bad as the excess a step must rule out, so make it smaller (2 with the default 5).`,
      );
    },
  },
  {
    // CodeDeploy holds the release's deployment open for its longest run (stacks/constructs/alias-deployment.ts).
    reads: [['rollout'], ['alarms', 'holdMinutes']],
    check: (config, report) => {
      const longest = longestReleaseMs(rolloutSteps(config.rollout), config.alarms.holdMinutes * 60_000) / 60_000;
      if (longest + RELEASE_WINDOW_MARGIN_MINUTES <= MAX_CODEDEPLOY_INTERVAL_MINUTES) return;
      report(
        ['alarms', 'holdMinutes'],
        `is ${config.alarms.holdMinutes}, so a release could run ${longest} minutes (the steps, and every step ` +
          `waiting its whole hold), past the ${MAX_CODEDEPLOY_INTERVAL_MINUTES - RELEASE_WINDOW_MARGIN_MINUTES} ` +
          `CodeDeploy allows one deployment to wait (${MAX_CODEDEPLOY_INTERVAL_MINUTES} minutes, less a ` +
          `${RELEASE_WINDOW_MARGIN_MINUTES}-minute margin for rollout sync to roll it back first); lower it or ` +
          `use fewer steps.`,
      );
    },
  },
];

const validatedSchema = CROSS_FIELD_CHECKS.reduce(
  (schema, { reads, check }) =>
    schema.superRefine(
      (config, ctx) => check(config, (at, message) => ctx.addIssue({ code: 'custom', path: [...at], message })),
      {
        when: (payload) =>
          !payload.issues.some((issue) => issuePaths(issue).some((at) => reads.some((read) => overlaps(at, read)))),
      },
    ),
  configSchema,
);

/** Where an issue is; an unknown key is at the key, not at the object that holds it. */
function issuePaths(issue: z.core.$ZodRawIssue): readonly PropertyKey[][] {
  const at = issue.path ?? [];
  return issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...at, key]) : [at];
}

/** One path within the other: an issue at `regions` spoils `regions[1]`, and one at `regions[1]` spoils `regions`. */
function overlaps(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** Validates a parsed config object; `source` names it in errors. */
export function parseConfig(
  input: unknown,
  source = 'deploy config',
  env: Readonly<Record<string, string | undefined>> = {},
): DeployConfig {
  const result = validatedSchema.safeParse(input, { error: fileIssueWords });
  if (!result.success) {
    throw new ConfigError(
      source,
      describeFileIssues(result.error.issues, input, {
        root: 'top level',
        schema: configSchema,
        removedKeys: REMOVED_SETTINGS,
      }),
    );
  }
  // `$schema` is for editors only.
  const { $schema: _editorsOnly, ...parsed } = result.data;
  const failoverRegion = parsed.failoverRegion ?? nearestOther(parsed.primaryRegion, parsed.regions);
  const backend = resolveBackend(parsed, env, source);
  return deepFreeze({ ...parsed, failoverRegion, backend });
}

/** Reads and validates a config file (default: DEPLOY_CONFIG or ./deploy.config.json). */
export function loadConfig(
  file?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DeployConfig {
  const resolved = path.resolve(file ?? env.DEPLOY_CONFIG ?? path.join(__dirname, '..', 'deploy.config.json'));
  const source = path.relative(process.cwd(), resolved) || resolved;
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new ConfigError(source, [
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); create it or point ` +
        `DEPLOY_CONFIG at your config file.`,
    ]);
  }
  const json = parseJsonText(text);
  if (!json.ok) throw new ConfigError(source, [`is not JSON at ${json.problem}`]);
  return parseConfig(json.value, source, env);
}

function resolveBackend(
  parsed: Omit<ParsedConfig, '$schema'>,
  env: Readonly<Record<string, string | undefined>>,
  source: string,
): BackendConfig {
  const backend = parsed.backend;
  if (backend.type !== 'cloud') return backend;
  // CI systems often export a variable empty rather than not at all: empty means unset.
  const fromEnv = (name: string) => env[name]?.trim() || undefined;
  const organization = backend.organization ?? fromEnv('TF_CLOUD_ORGANIZATION');
  if (!organization) {
    throw new ConfigError(source, [
      'backend.organization: is missing for the Terraform Cloud backend; set it in the config or export ' +
        'TF_CLOUD_ORGANIZATION.',
    ]);
  }
  return {
    type: 'cloud',
    organization,
    workspacePrefix: backend.workspacePrefix ?? fromEnv('TF_WORKSPACE_PREFIX') ?? parsed.name,
    hostname: backend.hostname ?? fromEnv('TF_CLOUD_HOSTNAME') ?? 'app.terraform.io',
  };
}

function nearestOther(primary: string, regions: readonly string[]): string | undefined {
  const from = findRegion(primary)!;
  const others = regions.filter((code) => code !== primary);
  if (others.length === 0) return undefined;
  return others.reduce((best, code) =>
    distanceKm(from, findRegion(code)!) < distanceKm(from, findRegion(best)!) ? code : best,
  );
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

/**
 * `npm run rollout -- wait`, the deploy job's last step: reads the rollout status (what `rollout
 * status` shows, in this process) until the CodeDeploy deployment the deploy started ends; fails
 * when it rolled back (failed or stopped), or when it does not end in time.
 *
 *   rollout wait --save-baseline <file>   before `cdktf deploy`: note the newest deployment
 *   rollout wait --baseline <file>        after it: wait for a newer one to end
 *
 * With a baseline, a deploy that published no new entry-router version (so started no deployment)
 * passes once the status has shown the baseline deployment for the settle time.
 *
 * The baseline file names the newest deployment, or says that none has ever run (the entry router
 * or its alias does not exist yet, or CodeDeploy never deployed it), in so many words. So a
 * baseline that could not be saved, or is missing, unreadable or broken, stops the job: were it
 * taken for "none", the deployment from before this deploy would pass for this deploy's.
 *
 * The command is wired in scripts/rollout-commands/wait.ts; here is what it decides, with the status reads, the
 * clock and the sleeps injected.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { rolloutSteps, type DeployConfig } from '../../config';
import { longestReleaseMs } from '../../contracts/release-progress';
import { formatDuration } from './cli';
import type { RolloutStatus } from './rollout-view';

/**
 * What the wait reads of a status: the newest deployment of the entry router's group, if any, and the judge's view of
 * it.
 */
export type DeploymentStatus = Pick<RolloutStatus, 'deployment'> & { readonly judgment?: RolloutStatus['judgment'] };

export type Outcome =
  /** `started`: a deployment newer than the baseline exists (and has not ended). */
  | { readonly state: 'waiting'; readonly started: boolean; readonly detail: string }
  | { readonly state: 'succeeded' | 'rolled-back'; readonly deploymentId: string; readonly detail: string }
  | { readonly state: 'no-new-deployment'; readonly detail: string };

const ENDED_OK = new Set(['Succeeded']);
const ROLLED_BACK = new Set(['Failed', 'Stopped']);

/**
 * The status says nothing is deployed yet (the entry router or its alias does not exist): so
 * there is no deployment either.
 */
export class NotDeployedError extends Error {
  override readonly name = 'NotDeployed';
}

/** Pure: what one status says about the deployment started after `baseline` (null: none existed). */
export function rolloutOutcome(status: DeploymentStatus, baseline: string | null): Outcome {
  const deployment = status.deployment;
  if (!deployment || deployment.id === baseline) {
    return {
      state: 'waiting',
      started: false,
      detail: deployment
        ? `newest is still ${deployment.id} (${deployment.status}), from before this deploy`
        : 'no deployment yet',
    };
  }
  if (ENDED_OK.has(deployment.status))
    return { state: 'succeeded', deploymentId: deployment.id, detail: `${deployment.id} succeeded` };
  if (ROLLED_BACK.has(deployment.status))
    return {
      state: 'rolled-back',
      deploymentId: deployment.id,
      detail: `${deployment.id} ended ${deployment.status}: the rollout was rolled back`,
    };
  // The judge decides before CodeDeploy's window ends: everyone on the new build is done (the
  // window stays open, still watched), and a failed or unjudged release is as good as rolled back.
  const judged = status.judgment?.deploymentId === deployment.id ? status.judgment : null;
  if (judged?.outcome === 'complete')
    return {
      state: 'succeeded',
      deploymentId: deployment.id,
      detail:
        `${deployment.id} reached every viewer, each step judged healthy (CodeDeploy still watches it until ` +
        `its window ends)`,
    };
  if (judged?.outcome === 'failed' || judged?.outcome === 'not-enough-evidence') {
    return {
      state: 'rolled-back',
      deploymentId: deployment.id,
      detail:
        `${deployment.id} ${
          judged.outcome === 'failed' ? 'failed: the judge found the canary failing' : 'ended for want of evidence'
        } ` + `(${judged.reason}); the rollout is being rolled back`,
    };
  }
  return { state: 'waiting', started: true, detail: `${deployment.id} ${deployment.status}` };
}

/**
 * The longest a release may take before the judge ends it (the steps, and every step waiting its whole hold), and 15
 * minutes' margin.
 */
export function defaultTimeoutMs(config: DeployConfig): number {
  return longestReleaseMs(rolloutSteps(config.rollout), config.alarms.holdMinutes * 60_000) + 15 * 60_000;
}

export interface AwaitOptions {
  readonly readStatus: () => Promise<DeploymentStatus>;
  readonly baseline: string | null;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** How long the baseline may stay newest before we conclude no deployment was started. */
  readonly settleMs: number;
  /** Consecutive failed status reads tolerated. @default 5 */
  readonly maxReadFailures?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<unknown>;
  readonly log?: (line: string) => void;
}

export async function awaitRollout(options: AwaitOptions): Promise<Outcome> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const start = now();
  let failures = 0;
  let last = '';
  for (;;) {
    let outcome: Outcome | null = null;
    try {
      outcome = rolloutOutcome(await options.readStatus(), options.baseline);
      failures = 0;
    } catch (error) {
      failures += 1;
      options.log?.(`status unreadable (${failures}/${options.maxReadFailures ?? 5}): ${(error as Error).message}`);
      if (failures >= (options.maxReadFailures ?? 5)) throw error;
    }
    if (outcome) {
      if (outcome.state !== 'waiting') return outcome;
      if (outcome.detail !== last) options.log?.(outcome.detail);
      last = outcome.detail;
      if (!outcome.started && now() - start >= options.settleMs)
        return {
          state: 'no-new-deployment',
          detail:
            `no deployment newer than ${options.baseline ?? 'none'} after ${formatDuration(now() - start)}: this ` +
            `deploy started none`,
        };
    }
    if (now() - start >= options.timeoutMs)
      throw new Error(
        `the rollout did not end within ${formatDuration(options.timeoutMs)} (last: ${last || 'no status'}); ` +
          `see \`npm run rollout -- status\`.`,
      );
    await wait(options.intervalMs);
  }
}

const baselineSchema = z.union([
  z.strictObject({
    schema: z.literal(1),
    deployment: z.string().min(1),
    status: z.string().min(1),
    savedAt: z.iso.datetime(),
  }),
  /** `why`: what showed there was none, e.g. the alias not existing yet (the first deploy). */
  z.strictObject({ schema: z.literal(1), deployment: z.null(), why: z.string().min(1), savedAt: z.iso.datetime() }),
]);

/** The newest deployment before a deploy, or, said explicitly, that there was none. */
export type Baseline = z.infer<typeof baselineSchema>;

export interface SaveBaselineOptions {
  readonly file: string;
  readonly readStatus: () => Promise<DeploymentStatus>;
  /** Status reads before giving up. @default 2 */
  readonly attempts?: number;
  /** Between two reads. @default 20000 */
  readonly retryMs?: number;
  readonly sleep?: (ms: number) => Promise<unknown>;
  readonly log?: (line: string) => void;
}

/** `--save-baseline`: writes the file, or throws saying why there is none (and leaves no file). */
export async function saveBaseline(options: SaveBaselineOptions): Promise<Baseline> {
  const { file } = options;
  let fd: number;
  try {
    // Opened before AWS is asked, so that a file that cannot be written fails the step at once.
    fd = openSync(file, 'w');
  } catch (error) {
    throw new Error(
      `cannot write the baseline file ${file} (${(error as Error).message}); the step after the deploy needs ` +
        `it to tell the deployment that deploy starts from an older one.`,
    );
  }
  // Nothing half written stays behind: the next step then says "does not exist", not "broken".
  const discard = () => {
    closeSync(fd);
    rmSync(file, { force: true });
  };
  let baseline: Baseline;
  try {
    baseline = await newestDeployment(options);
  } catch (error) {
    discard();
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(baseline)}\n`);
  } catch (error) {
    discard();
    throw new Error(`cannot write the baseline file ${file} (${(error as Error).message}).`);
  }
  closeSync(fd);
  return baseline;
}

async function newestDeployment(options: SaveBaselineOptions): Promise<Baseline> {
  const attempts = options.attempts ?? 2;
  const savedAt = new Date().toISOString();
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { deployment } = await options.readStatus();
      if (deployment) return { schema: 1, deployment: deployment.id, status: deployment.status, savedAt };
      return { schema: 1, deployment: null, why: 'the deployment group has no deployment yet', savedAt };
    } catch (error) {
      if (error instanceof NotDeployedError)
        return {
          schema: 1,
          deployment: null,
          why: `nothing is deployed yet, the first deploy (${error.message})`,
          savedAt,
        };
      const message = (error as Error).message;
      if (attempt >= attempts) {
        throw new Error(
          `cannot read the rollout status (${message}): no baseline saved. Without one, the deployment from ` +
            `before this deploy would pass for this deploy's; fix that and run this step again.`,
        );
      }
      options.log?.(`status unreadable (${attempt}/${attempts}): ${message}`);
      await (options.sleep ?? sleep)(options.retryMs ?? 20_000);
    }
  }
}

/** `--baseline`: what `--save-baseline` wrote; throws naming the file when it is missing, unreadable or broken. */
export function readBaseline(file: string): Baseline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `baseline file ${file} does not exist: run \`npm run rollout -- wait --save-baseline ${file}\` before ` +
          `\`cdktf deploy\`. Without it, the deployment from before this deploy could pass for this deploy's.`,
      );
    }
    throw new Error(`cannot read the baseline file ${file} (${(error as Error).message}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const result = baselineSchema.safeParse(json);
  if (!result.success) {
    throw new Error(
      `baseline file ${file} is not a baseline --save-baseline wrote ` +
        `(${JSON.stringify(text.trim().slice(0, 80))}); save it again before the deploy.`,
    );
  }
  return result.data;
}

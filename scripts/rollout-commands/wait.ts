/**
 * `rollout wait`'s action; what it decides, with the status reads and the baseline, is in scripts/lib/rollout-wait.ts.
 */
import { formatDuration, ReportedFailure } from '../lib/cli';
import { errorMessage } from '../../rollout-control/aws-errors';
import {
  awaitRollout,
  defaultTimeoutMs,
  NotDeployedError,
  readBaseline,
  saveBaseline,
  type DeploymentStatus,
} from '../lib/rollout-wait';
import type { RolloutStatus } from '../lib/rollout-view';
import { createContext, type CommandResult, type Context, type RolloutCliDeps } from './context';
import { statusCommand } from './status';

export interface WaitFlags {
  readonly config?: string;
  readonly json: boolean;
  readonly saveBaseline?: string;
  readonly baseline?: string;
  readonly timeout?: number;
  readonly interval: number;
  readonly settle: number;
}

/** `rollout wait`: the status is read in this process, as `rollout status` reads it. */
export async function waitCommand(deps: RolloutCliDeps, flags: WaitFlags): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let context: Context | undefined;
  const readStatus = async (): Promise<DeploymentStatus> => {
    context ??= await createContext(deps, flags.config);
    let result: CommandResult;
    try {
      result = await statusCommand(context);
    } catch (error) {
      // The alias or the function missing: nothing is deployed, so no deployment either.
      if (/ not found: deploy the stacks first/.test(errorMessage(error)))
        throw new NotDeployedError(errorMessage(error));
      throw error;
    }
    const status = result.json as RolloutStatus;
    // Problems beside a readable deployment (say, the rollout state not yet written after the first
    // deploy) leave the wait to go on; without a deployment they may mean it could not be read, which
    // must not pass for "this deploy started none".
    if ((result.exitCode ?? 0) !== 0 && status.deployment === null)
      throw new Error(`the rollout status lists problems and no deployment: ${status.problems.join('; ')}`);
    return status;
  };

  if (flags.saveBaseline !== undefined) {
    const baseline = await saveBaseline({
      file: flags.saveBaseline,
      readStatus,
      retryMs: flags.interval,
      sleep,
      log: deps.err,
    });
    deps.out(
      baseline.deployment !== null
        ? `baseline deployment: ${baseline.deployment} (${baseline.status})`
        : `baseline: no deployment (${baseline.why}); any deployment counts`,
    );
    return;
  }
  const baseline = flags.baseline === undefined ? null : readBaseline(flags.baseline);
  const timeoutMs = flags.timeout ?? defaultTimeoutMs(deps.loadConfig(flags.config));
  const what =
    baseline === null
      ? 'the newest deployment to end (no --baseline: whichever deploy started it)'
      : baseline.deployment !== null
        ? `a deployment newer than ${baseline.deployment} to end`
        : `the first deployment to end (baseline: ${baseline.why})`;
  deps.out(`waiting up to ${formatDuration(timeoutMs)} for ${what}`);
  const outcome = await awaitRollout({
    readStatus,
    baseline: baseline?.deployment ?? null,
    timeoutMs,
    intervalMs: flags.interval,
    settleMs: flags.settle,
    sleep,
    now: deps.now,
    log: (line) => deps.out(`${new Date().toISOString()}  ${line}`),
  });
  deps.out(outcome.detail);
  if (outcome.state === 'rolled-back') {
    if (process.env.GITHUB_ACTIONS) deps.out(`::error title=Rollout rolled back::${outcome.detail}`);
    throw new ReportedFailure();
  }
}

/**
 * `npm run await-rollout`: the deploy job's last step. Polls `npm run rollout -- status --json`
 * until the CodeDeploy deployment the deploy started ends; exits 1 when it rolled back (failed or
 * stopped), or when it does not end in time.
 *
 *   npm run await-rollout -- --save-baseline <file>   before `cdktf deploy`: note the newest deployment
 *   npm run await-rollout -- --baseline <file>        after it: wait for a newer one to end
 *
 * With a baseline, a deploy that published no new entry-router version (so started no deployment)
 * passes once the status has shown the baseline deployment for `--settle-seconds`.
 *
 * The baseline file names the newest deployment, or says that none has ever run (the entry router
 * or its alias does not exist yet, or CodeDeploy never deployed it), in so many words. So a
 * baseline that could not be saved, or is missing, unreadable or broken, stops the job: were it
 * taken for "none", the deployment from before this deploy would pass for this deploy's.
 *
 * `--timeout-minutes`, `--interval-seconds` and `--settle-seconds` take whole numbers: `10m` is
 * refused, not read as NaN (a wait that never ends).
 *
 * What it reads from `status --json`: `deployment`, null or `{ id, status }` with `status` one of
 * CodeDeploy's deployment statuses (Created, Queued, InProgress, Baking, Ready, Succeeded, Failed,
 * Stopped), describing the newest deployment of the entry router's deployment group.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig, rolloutSteps, type DeployConfig } from '../config';
import { runMain } from './lib/cli';

const PROJECT_ROOT = path.resolve(__dirname, '..');

const statusSchema = z.looseObject({
  deployment: z.looseObject({ id: z.string().min(1), status: z.string().min(1) }).nullable(),
});

export type RolloutStatus = z.infer<typeof statusSchema>;

export type Outcome =
  /** `started`: a deployment newer than the baseline exists (and has not ended). */
  | { readonly state: 'waiting'; readonly started: boolean; readonly detail: string }
  | { readonly state: 'succeeded' | 'rolled-back'; readonly deploymentId: string; readonly detail: string }
  | { readonly state: 'no-new-deployment'; readonly detail: string };

const ENDED_OK = new Set(['Succeeded']);
const ROLLED_BACK = new Set(['Failed', 'Stopped']);

export function parseStatus(json: string): RolloutStatus {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`\`rollout status --json\` printed no JSON: ${json.trim().slice(0, 200) || '(nothing)'}`);
  }
  const result = statusSchema.safeParse(value);
  if (!result.success) throw new Error(`\`rollout status --json\` has no deployment {id, status}: ${JSON.stringify(value).slice(0, 200)}`);
  return result.data;
}

/**
 * What `rollout status --json` answers when the entry router or its alias does not exist: nothing
 * has been deployed yet, so there is no deployment either.
 */
export class NotDeployedError extends Error {
  override readonly name = 'NotDeployed';
}

/** The rollout CLI's `{"error": "alias live of function … not found: deploy the stacks first …"}`. */
function notDeployedReason(stdout: string): string | null {
  try {
    const { error } = JSON.parse(stdout) as { error?: unknown };
    return typeof error === 'string' && / not found: deploy the stacks first/.test(error) ? error : null;
  } catch {
    return null;
  }
}

/**
 * What one run of `rollout status --json` says. Exit 1 with a full model means "problems listed"
 * (say, the rollout record not yet written right after the first deploy): the deployment is still
 * readable, so waiting goes on. Without a deployment, though, exit 1 may mean the deployments could
 * not be read, which must not pass for "this deploy started none".
 */
export function statusFromCli(code: number | null, stdout: string, stderr: string): RolloutStatus {
  const failed = () => new Error(`\`npm run rollout -- status --json\` exited with ${code}: ${stderr.trim().split('\n').slice(-2).join(' ') || stdout.trim().slice(0, 300)}`);
  let status: RolloutStatus;
  try {
    status = parseStatus(stdout);
  } catch (error) {
    if (code === 0) throw error;
    const notDeployed = notDeployedReason(stdout);
    throw notDeployed ? new NotDeployedError(notDeployed) : failed();
  }
  if (code !== 0 && status.deployment === null) throw failed();
  return status;
}

/** Pure: what one status says about the deployment started after `baseline` (null: none existed). */
export function rolloutOutcome(status: RolloutStatus, baseline: string | null): Outcome {
  const deployment = status.deployment;
  if (!deployment || deployment.id === baseline) {
    return { state: 'waiting', started: false, detail: deployment ? `newest is still ${deployment.id} (${deployment.status}), from before this deploy` : 'no deployment yet' };
  }
  if (ENDED_OK.has(deployment.status)) return { state: 'succeeded', deploymentId: deployment.id, detail: `${deployment.id} succeeded` };
  if (ROLLED_BACK.has(deployment.status)) return { state: 'rolled-back', deploymentId: deployment.id, detail: `${deployment.id} ended ${deployment.status}: the rollout was rolled back` };
  return { state: 'waiting', started: true, detail: `${deployment.id} ${deployment.status}` };
}

/** A rollout's own length, the alarm's evaluation window, and a margin. */
export function defaultTimeoutMinutes(config: DeployConfig): number {
  const steps = rolloutSteps(config.rollout);
  const alarmMinutes = Math.ceil((config.alarms.periodSeconds * config.alarms.evaluationPeriods) / 60);
  return steps[steps.length - 1].atMinute + alarmMinutes + 15;
}

export interface AwaitOptions {
  readonly readStatus: () => Promise<RolloutStatus>;
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
      if (!outcome.started && now() - start >= options.settleMs) return { state: 'no-new-deployment', detail: `no deployment newer than ${options.baseline ?? 'none'} after ${Math.round((now() - start) / 1000)} s: this deploy started none` };
    }
    if (now() - start >= options.timeoutMs) throw new Error(`the rollout did not end within ${Math.round(options.timeoutMs / 60000)} minutes (last: ${last || 'no status'}); see \`npm run rollout -- status\`.`);
    await wait(options.intervalMs);
  }
}

const baselineSchema = z.union([
  z.strictObject({ schema: z.literal(1), deployment: z.string().min(1), status: z.string().min(1), savedAt: z.iso.datetime() }),
  /** `why`: what showed there was none, e.g. the alias not existing yet (the first deploy). */
  z.strictObject({ schema: z.literal(1), deployment: z.null(), why: z.string().min(1), savedAt: z.iso.datetime() }),
]);

/** The newest deployment before a deploy, or, said explicitly, that there was none. */
export type Baseline = z.infer<typeof baselineSchema>;

export interface SaveBaselineOptions {
  readonly file: string;
  readonly readStatus: () => Promise<RolloutStatus>;
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
    throw new Error(`cannot write the baseline file ${file} (${(error as Error).message}); the step after the deploy needs it to tell the deployment that deploy starts from an older one.`);
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
      if (error instanceof NotDeployedError) return { schema: 1, deployment: null, why: `nothing is deployed yet, the first deploy (${error.message})`, savedAt };
      const message = (error as Error).message;
      if (attempt >= attempts) {
        throw new Error(`cannot read the rollout status (${message}): no baseline saved. Without one, the deployment from before this deploy would pass for this deploy's; fix that and run this step again.`);
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
      throw new Error(`baseline file ${file} does not exist: run \`npm run await-rollout -- --save-baseline ${file}\` before \`cdktf deploy\`. Without it, the deployment from before this deploy could pass for this deploy's.`);
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
    throw new Error(`baseline file ${file} is not a baseline --save-baseline wrote (${JSON.stringify(text.trim().slice(0, 80))}); save it again before the deploy.`);
  }
  return result.data;
}

/**
 * `--settle-seconds 120`: digits only and within bounds, so that `10m`, `1.5` or `1e3` are refused
 * rather than read as NaN or another number. The bounds keep a wait finite and within setTimeout.
 */
export function wholeNumberFlag(flag: string, value: string, unit: string, min: number, max: number): number {
  const number = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) throw new Error(`${flag} takes a whole number of ${unit} from ${min} to ${max}; got ${JSON.stringify(value)}.`);
  return number;
}

function readStatusFromCli(configFile: string | undefined): Promise<RolloutStatus> {
  return new Promise((resolve, reject) => {
    // The same config as ours; npm runs the script from the project root, so the path goes absolute.
    const args = ['run', '--silent', 'rollout', '--', 'status', '--json', ...(configFile ? ['--config', path.resolve(configFile)] : [])];
    const child = spawn('npm', args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(statusFromCli(code, stdout, stderr));
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'save-baseline': { type: 'string' },
      baseline: { type: 'string' },
      'timeout-minutes': { type: 'string' },
      'interval-seconds': { type: 'string', default: '20' },
      'settle-seconds': { type: 'string', default: '120' },
    },
  });
  const intervalSeconds = wholeNumberFlag('--interval-seconds', values['interval-seconds'] ?? '20', 'seconds', 1, 3600);
  const settleSeconds = wholeNumberFlag('--settle-seconds', values['settle-seconds'] ?? '120', 'seconds', 1, 3600);
  const timeoutFlag = values['timeout-minutes'] === undefined ? undefined : wholeNumberFlag('--timeout-minutes', values['timeout-minutes'], 'minutes', 1, 1440);
  const readStatus = () => readStatusFromCli(values.config);
  if (values['save-baseline'] !== undefined && values.baseline !== undefined) {
    throw new Error('--save-baseline (before the deploy) and --baseline (after it) are two steps: give one.');
  }
  if (values['save-baseline'] !== undefined) {
    const baseline = await saveBaseline({ file: values['save-baseline'], readStatus, retryMs: intervalSeconds * 1000, log: (line) => console.error(line) });
    console.log(baseline.deployment !== null ? `baseline deployment: ${baseline.deployment} (${baseline.status})` : `baseline: no deployment (${baseline.why}); any deployment counts`);
    return;
  }
  const baseline = values.baseline === undefined ? null : readBaseline(values.baseline);
  const config = loadConfig(values.config);
  const timeoutMinutes = timeoutFlag ?? defaultTimeoutMinutes(config);
  const what =
    baseline === null
      ? 'the newest deployment to end (no --baseline: whichever deploy started it)'
      : baseline.deployment !== null
        ? `a deployment newer than ${baseline.deployment} to end`
        : `the first deployment to end (baseline: ${baseline.why})`;
  console.log(`waiting up to ${timeoutMinutes} min for ${what}`);
  const outcome = await awaitRollout({
    readStatus,
    baseline: baseline?.deployment ?? null,
    timeoutMs: timeoutMinutes * 60000,
    intervalMs: intervalSeconds * 1000,
    settleMs: settleSeconds * 1000,
    log: (line) => console.log(`${new Date().toISOString()}  ${line}`),
  });
  console.log(outcome.detail);
  if (outcome.state === 'rolled-back') {
    if (process.env.GITHUB_ACTIONS) console.log(`::error title=Rollout rolled back::${outcome.detail}`);
    process.exitCode = 1;
  }
}

if (require.main === module) runMain(main);

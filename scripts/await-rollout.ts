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
 * What it reads from `status --json`: `deployment`, null or `{ id, status }` with `status` one of
 * CodeDeploy's deployment statuses (Created, Queued, InProgress, Baking, Ready, Succeeded, Failed,
 * Stopped), describing the newest deployment of the entry router's deployment group.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
    throw code === 0 ? error : failed();
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

function readStatusFromCli(): Promise<RolloutStatus> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'rollout', '--', 'status', '--json'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const config = loadConfig(values.config);
  if (values['save-baseline']) {
    // Before the very first deploy there is no entry router to ask: no baseline.
    const id = await readStatusFromCli().then(
      (status) => status.deployment?.id ?? 'none',
      (error: Error) => (console.error(`no baseline (${error.message}); any deployment counts`), 'none'),
    );
    writeFileSync(values['save-baseline'], `${id}\n`);
    console.log(`baseline deployment: ${id}`);
    return;
  }
  const baselineText = values.baseline && existsSync(values.baseline) ? readFileSync(values.baseline, 'utf8').trim() : 'none';
  const timeoutMinutes = values['timeout-minutes'] ? Number(values['timeout-minutes']) : defaultTimeoutMinutes(config);
  console.log(`waiting up to ${timeoutMinutes} min for the rollout after ${baselineText} to end`);
  const outcome = await awaitRollout({
    readStatus: readStatusFromCli,
    baseline: baselineText === 'none' ? null : baselineText,
    timeoutMs: timeoutMinutes * 60000,
    intervalMs: Number(values['interval-seconds']) * 1000,
    settleMs: Number(values['settle-seconds']) * 1000,
    log: (line) => console.log(`${new Date().toISOString()}  ${line}`),
  });
  console.log(outcome.detail);
  if (outcome.state === 'rolled-back') {
    if (process.env.GITHUB_ACTIONS) console.log(`::error title=Rollout rolled back::${outcome.detail}`);
    process.exitCode = 1;
  }
}

if (require.main === module) runMain(main);

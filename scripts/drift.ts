/**
 * `npm run drift` (after `cdktf synth`): for each stack, `terraform plan -detailed-exitcode` in
 * cdktf.out/stacks/<stack>, and a report naming every resource that would change. Everything
 * changed at run time by design (alias weights, the rollout record, bucket objects) is outside
 * state or under ignore_changes, so a plan after a finished rollout is empty; anything else is
 * drift, or a deploy that did not finish. Exits 1 on drift or on a plan that fails.
 *
 * In GitHub Actions it also writes an error annotation per drifted stack and a job summary.
 *
 *   npm run drift -- [--stacks a,b] [--out cdktf.out] [--skip-init] [--config <file>]   (`--help` for more)
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { resourceNames, type DeployConfig } from '../config';
import {
  commaList,
  configOption,
  defineCommand,
  ReportedFailure,
  runCommand,
  UsageError,
  jsonOption,
  withJsonErrors,
} from './lib/cli';
import { commandContext } from './lib/command-context';
import { describeChanges, parsePlan, type PlannedChange } from './lib/terraform-plan';

const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `terraform <args>` in `cwd`. */
export type TerraformRunner = (args: readonly string[], cwd: string) => Promise<CommandResult>;

export interface DriftOptions {
  readonly config: DeployConfig;
  /** @default the replicas stack, then the delivery stack */
  readonly stacks?: readonly string[];
  /** cdktf's output folder. @default <project>/cdktf.out */
  readonly outDir?: string;
  /** Run `terraform init` first (cdktf synth does not). @default true */
  readonly init?: boolean;
  /** @default spawns terraform, echoing its output to stderr */
  readonly terraform?: TerraformRunner;
}

export interface StackDrift {
  readonly stack: string;
  readonly status: 'clean' | 'drift' | 'error';
  readonly changes: readonly PlannedChange[];
  readonly changedOutside: readonly string[];
  readonly outputsChanged: boolean;
  readonly summaryLine: string | null;
  readonly error?: string;
}

export function defaultStacks(config: DeployConfig): string[] {
  const names = resourceNames(config);
  return [names.replicaStack, names.deliveryStack];
}

export async function detectDrift(options: DriftOptions): Promise<StackDrift[]> {
  const outDir = path.resolve(options.outDir ?? path.join(PROJECT_ROOT, 'cdktf.out'));
  const terraform = options.terraform ?? spawnTerraform;
  const results: StackDrift[] = [];
  for (const stack of options.stacks ?? defaultStacks(options.config)) {
    const dir = path.join(outDir, 'stacks', stack);
    const failed = (error: string): StackDrift => ({
      stack,
      status: 'error',
      changes: [],
      changedOutside: [],
      outputsChanged: false,
      summaryLine: null,
      error,
    });
    if (!existsSync(path.join(dir, 'cdk.tf.json'))) {
      results.push(
        failed(`${path.relative(process.cwd(), dir) || dir}/cdk.tf.json is missing: run \`npx cdktf synth\` first.`),
      );
      continue;
    }
    if (options.init ?? true) {
      const init = await terraform(['init', '-input=false', '-no-color'], dir);
      if (init.code !== 0) {
        results.push(failed(`terraform init failed: ${errorText(init)}`));
        continue;
      }
    }
    const plan = await terraform(['plan', '-detailed-exitcode', '-input=false', '-no-color'], dir);
    results.push(judgePlan(stack, plan));
  }
  return results;
}

/** Exit code 0: no changes, 2: changes, anything else: the plan failed. */
export function judgePlan(stack: string, plan: CommandResult): StackDrift {
  const summary = parsePlan(plan.stdout);
  const base = {
    stack,
    changes: summary.changes,
    changedOutside: summary.changedOutside,
    outputsChanged: summary.outputsChanged,
    summaryLine: summary.summaryLine,
  };
  if (plan.code !== 0 && plan.code !== 2)
    return { ...base, status: 'error', error: `terraform plan exited with ${plan.code}: ${errorText(plan)}` };
  // The exit code decides; the text is a second opinion, for a backend that loses the exit code.
  const drifted = plan.code === 2 || (!summary.noChanges && (summary.changes.length > 0 || summary.outputsChanged));
  return { ...base, status: drifted ? 'drift' : 'clean' };
}

/** The `Error: …` lines Terraform printed, or the last lines of its output. */
function errorText(result: CommandResult): string {
  const text = `${result.stderr}\n${result.stdout}`;
  const errors = text
    .split('\n')
    .filter((line) => /^\s*(│\s*)?Error: /.test(line))
    .map((line) => line.replace(/^\s*(│\s*)?/, ''));
  if (errors.length > 0) return [...new Set(errors)].join('; ');
  const tail = text.trim().split('\n').slice(-3).join(' ').trim();
  return tail || 'no output';
}

export function formatReport(results: readonly StackDrift[]): string[] {
  const lines: string[] = [];
  for (const result of results) {
    if (result.status === 'clean') {
      lines.push(`${result.stack}: no drift`);
      continue;
    }
    if (result.status === 'error') {
      lines.push(`${result.stack}: PLAN FAILED: ${result.error}`);
      continue;
    }
    const count = result.changes.length;
    lines.push(
      `${result.stack}: DRIFT: ${count} resource change${count === 1 ? '' : 's'}` +
        `${result.outputsChanged ? ' and changed outputs' : ''}${result.summaryLine ? ` (${result.summaryLine})` : ''}`,
    );
    lines.push(...describeChanges(result.changes).map((line) => `  ${line}`));
    if (result.changedOutside.length > 0)
      lines.push(`  changed outside Terraform: ${result.changedOutside.join(', ')}`);
  }
  return lines;
}

/** Annotations and a job summary, for GitHub Actions. */
export function githubReport(results: readonly StackDrift[]): { annotations: string[]; summary: string } {
  const escapeCommandValue = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const annotations = results
    .filter((result) => result.status !== 'clean')
    .map((result) =>
      result.status === 'error'
        ? `::error title=Plan failed for ${result.stack}::${escapeCommandValue(result.error ?? '')}`
        : `::error title=Drift in ${result.stack}::${escapeCommandValue(
            result.changes.map((c) => `${c.action} ${c.address}`).join(', ') || 'outputs changed',
          )}`,
    );
  const rows = results.map((result) => {
    const what =
      result.status === 'clean'
        ? 'no drift'
        : result.status === 'error'
          ? `plan failed: ${result.error}`
          : result.changes.map((c) => `\`${c.action}\` ${c.address}`).join('<br>') || 'outputs changed';
    return `| ${result.stack} | ${result.status} | ${what.replace(/\|/g, '\\|')} |`;
  });
  const summary = [
    '### Drift detection',
    '',
    '| Stack | Status | Resources |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  return { annotations, summary };
}

const spawnTerraform: TerraformRunner = (args, cwd) =>
  new Promise((resolve, reject) => {
    const child = spawn('terraform', [...args], {
      cwd,
      env: { ...process.env, TF_IN_AUTOMATION: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('error', (error) =>
      reject(new Error(`cannot run terraform (${error.message}); install Terraform ≥ 1.10.`)),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

interface DriftFlags {
  readonly config?: string;
  readonly stacks?: readonly string[];
  readonly out?: string;
  readonly skipInit?: boolean;
  readonly json: boolean;
}

export interface DriftCliDeps {
  /** @default spawns terraform, echoing its output to stderr */
  readonly terraform?: TerraformRunner;
  /** GITHUB_ACTIONS and GITHUB_STEP_SUMMARY are read from it. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function driftCommand(deps: DriftCliDeps = {}): Command {
  return defineCommand({
    name: 'npm run drift --',
    summary:
      'After `cdktf synth`: `terraform plan -detailed-exitcode` per stack, naming every resource that would ' +
      'change. Exits 1 on drift or on a plan that fails.',
    examples: [
      'npx cdktf synth && npm run drift',
      'npm run drift -- --stacks edge-widget-delivery',
      'npm run drift -- --skip-init   # terraform init already ran in cdktf.out',
      'npm run drift -- --json        # the result as one JSON object',
    ],
  })
    .addOption(configOption())
    .addOption(
      new Option(
        '--stacks <list>',
        "comma-separated stacks to check (default: the config's replicas stack, then its delivery stack)",
      ).argParser(commaList),
    )
    .addOption(
      new Option('--out <dir>', "cdktf's output folder, where `cdktf synth` wrote the stacks (default: cdktf.out)"),
    )
    .addOption(new Option('--skip-init', 'do not run `terraform init` first').default(false))
    .addOption(
      jsonOption(
        '{ok, stacks: [{stack, status (clean|drift|error), changes: [{address, action, to}], changedOutside, ' +
          "outputsChanged, summaryLine, error}]}; Terraform's own output stays on stderr, and in GitHub Actions " +
          'the annotations go there too',
      ),
    )
    .action(async (flags: DriftFlags, command: Command) => {
      const context = commandContext(command, flags);
      const { out, err } = context;
      const env = deps.env ?? process.env;
      const results = await withJsonErrors(flags.json, out, async () => {
        const { config } = context;
        const known = defaultStacks(config);
        const unknown = flags.stacks?.filter((stack) => !known.includes(stack)) ?? [];
        if (unknown.length > 0)
          throw new UsageError(`${unknown.join(', ')}: not a stack of this config (${known.join(', ')}).`);
        return detectDrift({
          config,
          stacks: flags.stacks,
          outDir: flags.out,
          init: !flags.skipInit,
          terraform: deps.terraform,
        });
      });
      const ok = results.every((result) => result.status === 'clean');
      if (flags.json) context.printJson({ ok, stacks: results });
      else for (const line of formatReport(results)) out(line);
      if (env.GITHUB_ACTIONS) {
        const { annotations, summary } = githubReport(results);
        // The runner reads workflow commands on stderr as well: under --json stdout stays the JSON.
        for (const annotation of annotations) (flags.json ? err : out)(annotation);
        if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, summary);
      }
      if (!ok) throw new ReportedFailure();
    });
}

if (require.main === module) runCommand(driftCommand());

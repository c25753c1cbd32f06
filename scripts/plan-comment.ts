/**
 * `npm run plan-comment -- --plans <dir> --out <file>`: the pull request's plan comment, from the
 * outputs of `cdktf plan <stack> --no-color` the workflow saved as `<dir>/<stack>.txt` (and its exit
 * code as `<dir>/<stack>.exit`). One table of stacks, then each plan (cleaned of cdktf's stack
 * column and escapes) in a collapsed block, cut to fit GitHub's comment size. The first line is
 * the marker the workflow finds its own comment by, to update it instead of adding one per push.
 * `--help` for every option and examples.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { configOption, defineCommand, runCommand } from './lib/cli';
import { commandContext } from './lib/command-context';
import { cleanPlanOutput, describeChanges, parsePlan } from './lib/terraform-plan';
import { defaultStacks } from './drift';

export const PLAN_COMMENT_MARKER = '<!-- cdktf-plan-comment -->';
/** GitHub refuses comments over 65536 characters. */
const MAX_COMMENT = 60000;
/** Changes listed per stack above its plan text. */
const MAX_LISTED = 50;

export interface StackPlan {
  readonly stack: string;
  /** Exit code of `cdktf plan`; null when the plan did not run. */
  readonly exitCode: number | null;
  readonly output: string;
}

export function planComment(plans: readonly StackPlan[], heading: string): string {
  const rows = plans.map((plan) => {
    const summary = parsePlan(plan.output);
    const result =
      plan.exitCode === null
        ? 'not run'
        : plan.exitCode !== 0
          ? `**plan failed** (exit ${plan.exitCode})`
          : summary.noChanges
            ? 'no changes'
            : (summary.summaryLine ?? (summary.outputsChanged ? 'outputs change' : 'see plan'));
    return `| \`${plan.stack}\` | ${result} |`;
  });
  const budget = Math.floor((MAX_COMMENT - 2000) / Math.max(1, plans.length)) - MAX_LISTED * 120;
  const sections = plans.map((plan) => {
    const summary = parsePlan(plan.output);
    const text = relevantPart(cleanPlanOutput(plan.output)).trim();
    const shown =
      text.length > budget ? `${text.slice(0, budget)}\n… cut here; the whole plan is in the job log.` : text;
    const listed = describeChanges(summary.changes.slice(0, MAX_LISTED)).map((line) => `    ${line}`);
    if (summary.changes.length > MAX_LISTED) listed.push(`    … and ${summary.changes.length - MAX_LISTED} more`);
    const changes = listed.length > 0 ? `\n${listed.join('\n')}\n` : '';
    return [
      `<details><summary><code>${plan.stack}</code>: ${summary.changes.length} resource ` +
        `change${summary.changes.length === 1 ? '' : 's'}</summary>`,
      changes,
      '```text',
      shown.replace(/```/g, "``'"),
      '```',
      '</details>',
    ].join('\n');
  });
  return [
    PLAN_COMMENT_MARKER,
    `### ${heading}`,
    '',
    '| Stack | Plan |',
    '| --- | --- |',
    ...rows,
    '',
    ...sections,
    '',
  ].join('\n');
}

/** From the actions (or the "No changes." verdict, or the first error) on; the refresh lines are noise here. */
function relevantPart(text: string): string {
  const markers = [
    'Terraform will perform the following actions:',
    'Note: Objects have changed outside of Terraform',
    'No changes.',
    'Changes to Outputs:',
    'Error: ',
  ];
  const starts = markers.map((marker) => text.indexOf(marker)).filter((index) => index >= 0);
  return starts.length > 0 ? text.slice(Math.min(...starts)) : text;
}

export function readPlans(dir: string, stacks: readonly string[]): StackPlan[] {
  return stacks.map((stack) => {
    const output = path.join(dir, `${stack}.txt`);
    const exit = path.join(dir, `${stack}.exit`);
    if (!existsSync(output)) return { stack, exitCode: null, output: '' };
    return {
      stack,
      exitCode: existsSync(exit) ? Number(readFileSync(exit, 'utf8').trim()) : null,
      output: readFileSync(output, 'utf8'),
    };
  });
}

export function planCommentCommand(): Command {
  return defineCommand({
    name: 'npm run plan-comment --',
    summary:
      "The pull request's plan comment (markdown), from the `cdktf plan` outputs the workflow saved as " +
      '<plans>/<stack>.txt and <stack>.exit.',
    examples: [
      'npm run plan-comment -- --plans plans --out comment.md',
      'npm run plan-comment -- --plans /tmp/plans   # to stdout',
    ],
  })
    .addOption(configOption())
    .addOption(
      new Option(
        '--plans <dir>',
        'the folder holding <stack>.txt (plan output) and <stack>.exit (its exit code) per stack',
      ).default('plans'),
    )
    .addOption(new Option('--out <file>', 'write the comment here (default: stdout)'))
    .action((flags: { readonly config?: string; readonly plans: string; readonly out?: string }, command: Command) => {
      const { config } = commandContext(command, flags);
      const sha = process.env.GITHUB_SHA ? ` for ${process.env.GITHUB_SHA.slice(0, 7)}` : '';
      const body = planComment(readPlans(flags.plans, defaultStacks(config)), `\`cdktf plan\`${sha}`);
      if (flags.out) writeFileSync(flags.out, body);
      else process.stdout.write(body);
    });
}

if (require.main === module) runCommand(planCommentCommand());

/**
 * `npm run plan-comment -- --plans <dir> --out <file>`: the pull request's plan comment, from the
 * outputs of `cdktf plan <stack> --no-color` the workflow saved as `<dir>/<stack>.txt` (and its exit
 * code as `<dir>/<stack>.exit`). One table of stacks, then each plan (cleaned of cdktf's stack
 * column and escapes) in a collapsed block, cut to fit GitHub's comment size. The first line is
 * the marker the workflow finds its own comment by, to update it instead of adding one per push.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { runMain } from './lib/cli';
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
    const shown = text.length > budget ? `${text.slice(0, budget)}\n… cut here; the whole plan is in the job log.` : text;
    const listed = describeChanges(summary.changes.slice(0, MAX_LISTED)).map((line) => `    ${line}`);
    if (summary.changes.length > MAX_LISTED) listed.push(`    … and ${summary.changes.length - MAX_LISTED} more`);
    const changes = listed.length > 0 ? `\n${listed.join('\n')}\n` : '';
    return [`<details><summary><code>${plan.stack}</code>: ${summary.changes.length} resource change${summary.changes.length === 1 ? '' : 's'}</summary>`, changes, '```text', shown.replace(/```/g, "``'"), '```', '</details>'].join('\n');
  });
  return [PLAN_COMMENT_MARKER, `### ${heading}`, '', '| Stack | Plan |', '| --- | --- |', ...rows, '', ...sections, ''].join('\n');
}

/** From the actions (or the "No changes." verdict, or the first error) on; the refresh lines are noise here. */
function relevantPart(text: string): string {
  const markers = ['Terraform will perform the following actions:', 'Note: Objects have changed outside of Terraform', 'No changes.', 'Changes to Outputs:', 'Error: '];
  const starts = markers.map((marker) => text.indexOf(marker)).filter((index) => index >= 0);
  return starts.length > 0 ? text.slice(Math.min(...starts)) : text;
}

export function readPlans(dir: string, stacks: readonly string[]): StackPlan[] {
  return stacks.map((stack) => {
    const output = path.join(dir, `${stack}.txt`);
    const exit = path.join(dir, `${stack}.exit`);
    if (!existsSync(output)) return { stack, exitCode: null, output: '' };
    return { stack, exitCode: existsSync(exit) ? Number(readFileSync(exit, 'utf8').trim()) : null, output: readFileSync(output, 'utf8') };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, plans: { type: 'string', default: 'plans' }, out: { type: 'string' } } });
  const config = loadConfig(values.config);
  const sha = process.env.GITHUB_SHA ? ` for ${process.env.GITHUB_SHA.slice(0, 7)}` : '';
  const body = planComment(readPlans(values.plans!, defaultStacks(config)), `\`cdktf plan\`${sha}`);
  if (values.out) writeFileSync(values.out, body);
  else process.stdout.write(body);
}

if (require.main === module) runMain(main);

/**
 * Policy and drift rules over synthesized Terraform JSON. `checkStacks` runs them all;
 * `checkSynthOutput(dir)` reads a `cdktf synth` output folder first.
 */
import { designedIgnoreChangesOnly } from './drift';
import { POLICY_RULES } from './rules';
import { readSynthOutput, type SynthStack, type Violation } from './terraform-json';

export { designedIgnoreChangesOnly, ignoredChanges } from './drift';
export { POLICY_RULES } from './rules';
export type { SynthStack, Violation } from './terraform-json';

export function checkStacks(stacks: readonly SynthStack[]): Violation[] {
  return stacks.flatMap((stack) => [
    ...Object.values(POLICY_RULES).flatMap((rule) => rule(stack)),
    ...designedIgnoreChangesOnly(stack),
  ]);
}

export function checkSynthOutput(outdir: string): Violation[] {
  return checkStacks(readSynthOutput(outdir));
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.stack} ${v.address} [${v.rule}] ${v.message}`).join('\n');
}

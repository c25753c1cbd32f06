/**
 * Drift detection runs `cdktf plan` and expects nothing after a finished rollout. That holds only
 * if what changes at run time by design is ignored, and nothing else is: this rule lists every
 * `lifecycle.ignore_changes` in a synth and accepts exactly the designed ones.
 */
import { VIEWER_ASSIGNMENT_CHECK_SUFFIX } from '../constructs/distribution';
import { CODEDEPLOY_OWNED_ALIAS_ATTRIBUTES } from '../constructs/live-alias';
import { ROLLOUT_SYNC_OWNED_STATE_ATTRIBUTES } from '../constructs/rollout-store';
import { resources, single, strings, type Element, type SynthStack, type Violation } from './terraform-json';

export interface DesignedIgnore {
  readonly type: string;
  /** Which resources of the type may ignore: all when absent. */
  readonly applies?: (element: Element) => boolean;
  readonly attributes: readonly string[];
  readonly owner: string;
}

export const DESIGNED_IGNORE_CHANGES: readonly DesignedIgnore[] = [
  { type: 'aws_lambda_alias', attributes: CODEDEPLOY_OWNED_ALIAS_ATTRIBUTES, owner: 'CodeDeploy shifts the alias' },
  {
    type: 'aws_cloudfrontkeyvaluestore_key',
    attributes: ROLLOUT_SYNC_OWNED_STATE_ATTRIBUTES,
    owner: 'rollout sync writes the rollout state',
  },
  {
    type: 'aws_cloudfront_function',
    applies: (element) => String(element.body.name).endsWith(VIEWER_ASSIGNMENT_CHECK_SUFFIX),
    attributes: ['code'],
    owner: "npm run verify-edge tests the next deploy's code in the check function",
  },
];

/** Every ignore_changes in the stack, as declared. */
export function ignoredChanges(stack: SynthStack): { address: string; attributes: string[] | 'all' }[] {
  return resources(stack.json).flatMap((element) => {
    const ignore = single(element.body.lifecycle)?.ignore_changes;
    if (ignore === undefined) return [];
    return [{ address: element.address, attributes: ignore === 'all' ? ('all' as const) : strings(ignore) }];
  });
}

export function designedIgnoreChangesOnly(
  stack: SynthStack,
  designed: readonly DesignedIgnore[] = DESIGNED_IGNORE_CHANGES,
): Violation[] {
  return resources(stack.json).flatMap((element) => {
    const ignore = single(element.body.lifecycle)?.ignore_changes;
    if (ignore === undefined) return [];
    const v = (message: string): Violation[] => [
      { rule: 'designed-ignore-changes', stack: stack.name, address: element.address, message },
    ];
    if (ignore === 'all') return v('ignores all changes; a plan could no longer show drift');
    const declared = [...strings(ignore)].sort();
    const match = designed.find((d) => d.type === element.type && (d.applies?.(element) ?? true));
    if (!match) return v(`ignores ${declared.join(', ')}, which nothing changes at run time by design`);
    const expected = [...match.attributes].sort();
    if (declared.join(',') !== expected.join(',')) {
      return v(
        `ignores ${declared.join(', ') || 'nothing'}; by design exactly ${expected.join(', ')} (${match.owner})`,
      );
    }
    return [];
  });
}

/** `rollout ring list|add|remove`: the host page origins that get the canary whatever the weight. */
import { errorMessage } from '../../rollout-control/aws-errors';
import { readRolloutState } from '../../rollout-control/rollout-state-store';
import { withoutRingOrigin, withRingOrigin, sharedBudget, type RolloutState } from '../../contracts/rollout-state';
import {
  editableState,
  editRolloutState,
  requestSync,
  RolloutError,
  rolloutStoreArn,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';

export const RING_ACTIONS = ['list', 'add', 'remove'] as const;
export type RingAction = (typeof RING_ACTIONS)[number];

/**
 * `ring list|add|remove`: edits the ring in the rollout state with the same conditional write as
 * rollout sync (If-Match the store's ETag), so an edit never undoes a state rollout sync wrote in
 * between, and rollout sync never drops an edit (it carries the ring over).
 */
export async function ringCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const { action, origin } = invocation.ring!;
  const arn = await rolloutStoreArn(context);
  if (action === 'list') {
    const current = editableState(context, await readRolloutState(context.clients.kvs, arn), 'edit the ring');
    const budget = sharedBudget(current);
    return {
      json: { ring: current.ring, bytes: budget.used, limitBytes: budget.limit },
      lines:
        current.ring.length === 0
          ? ['The ring is empty: every viewer is assigned by weight.']
          : [
              `Ring (${current.ring.length} origins, ${budget.used} of ${budget.limit} bytes), canary ` +
                `whatever the weight:`,
              ...current.ring.map((o) => `  ${o}`),
            ],
    };
  }
  const { result } = await editRolloutState(context, arn, async (read) => {
    const current = editableState(context, read, 'edit the ring');
    let next: RolloutState;
    try {
      next = action === 'add' ? withRingOrigin(current, origin!) : withoutRingOrigin(current, origin!);
    } catch (error) {
      throw new RolloutError(errorMessage(error));
    }
    const changed = next.ring.length !== current.ring.length;
    return { next: changed ? next : null, result: { current, next, changed } };
  });
  const { current, next, changed } = result;
  // Rollout sync carries the ring over from the store; have it look now rather than within a minute.
  const syncRequested = changed ? await requestSync(context) : false;
  const subject = action === 'add' ? (next.ring.find((o) => !current.ring.includes(o)) ?? origin!) : origin!;
  const verb =
    action === 'add' ? (changed ? 'Added' : 'Already in the ring:') : changed ? 'Removed' : 'Not in the ring:';
  const canary = next.canary
    ? `it gets the canary (build ${next.canary}) on its next load`
    : 'it gets the canary of the next rollout from its start';
  return {
    json: { action, origin: subject, changed, ring: next.ring, syncRequested },
    lines: [
      `${verb} ${subject}.${action === 'add' ? ` A page on that origin loading the widget: ${canary}.` : ''}`,
      `The ring has ${next.ring.length} origin${next.ring.length === 1 ? '' : 's'}.`,
    ],
  };
}

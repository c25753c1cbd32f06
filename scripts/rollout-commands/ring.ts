/** `rollout ring list|add|remove`: the host page origins that get the canary whatever the weight. */
import { errorMessage } from '../../rollout-control/aws-errors';
import { readRolloutState, StaleStoreError, writeRolloutState } from '../../rollout-control/rollout-state-store';
import { announceState } from '../../rollout-control/signal-table';
import { statePropagationMs } from '../../contracts/release-signal';
import {
  formatRolloutState,
  withoutRingOrigin,
  withRingOrigin,
  sharedBudget,
  type RolloutState,
} from '../../contracts/rollout-state';
import {
  requestSync,
  RolloutError,
  rolloutStoreArn,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';

export const RING_ACTIONS = ['list', 'add', 'remove'] as const;
export type RingAction = (typeof RING_ACTIONS)[number];

/** Attempts of a ring edit whose conditional write finds the store changed (rollout sync wrote meanwhile). */
const RING_EDIT_ATTEMPTS = 5;

/**
 * `ring list|add|remove`: edits the ring in the rollout state with the same conditional write as
 * rollout sync (If-Match the store's ETag), so an edit never undoes a state rollout sync wrote in
 * between, and rollout sync never drops an edit (it carries the ring over).
 */
export async function ringCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const { action, origin } = invocation.ring!;
  const arn = await rolloutStoreArn(context);
  for (let attempt = 1; ; attempt += 1) {
    const { etag, stored } = await readRolloutState(context.clients.kvs, arn);
    if (!stored?.state) {
      throw new RolloutError(
        `the rollout store ${context.names.rolloutStore} holds no valid rollout state ` +
          `${stored ? '(its value does not parse)' : '(no key)'}; rollout sync writes one within a minute of a ` +
          `deploy, then edit the ring`,
      );
    }
    const current = stored.state;
    const budget = sharedBudget(current);
    if (action === 'list') {
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
    let next: RolloutState;
    try {
      next = action === 'add' ? withRingOrigin(current, origin!) : withoutRingOrigin(current, origin!);
    } catch (error) {
      throw new RolloutError(errorMessage(error));
    }
    const changed = next.ring.length !== current.ring.length;
    if (changed) {
      try {
        await writeRolloutState(context.clients.kvs, arn, formatRolloutState(next), etag, (text) =>
          announceState(context.clients.dynamodb, context.names.signalTable, text, Date.now(), {
            propagationMs: statePropagationMs(context.config.edge),
          }),
        );
      } catch (error) {
        if (error instanceof StaleStoreError && attempt < RING_EDIT_ATTEMPTS) continue;
        throw error;
      }
    }
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
}

/**
 * The timeline of rollout states, locally: what the release-signal table's `rollout-timeline` item
 * is in AWS (rollout-control/signal-table.ts `announceState`, `readTimeline`), kept in
 * memory with the same rules. Every writer of the rollout state (rollout sync's core in the
 * control plane, the ring edits) announces a state here before it writes it to the store; the
 * signal consumer counts a record only where every state the edges may have served at its time
 * agrees (`statesAt` in regional-function/signal-consumer/core.ts).
 *
 *   a new state    previous.until = at + propagationMs, new.from = at
 *   seenOnly       a state found in the store that nobody announced: served since the state
 *                  before it began (new.from = previous.from)
 *   the same text  as the current state: nothing changes
 *
 * Times are the local mode's clock (ms).
 */
import { parseRolloutState } from '../contracts/rollout-state';
import type { TimedState } from '../contracts/release-signal';
import { TIMELINE_LENGTH } from '../rollout-control/signal-table';

interface Entry {
  readonly text: string;
  readonly from: number;
  readonly until: number | null;
}

export class LocalTimeline {
  private entries: Entry[] = [];

  announce(text: string, at: number, options: { readonly propagationMs: number; readonly seenOnly?: boolean }): void {
    const current = this.entries.at(-1);
    if (current && current.until === null && current.text === text) return;
    const from = options.seenOnly ? (current?.from ?? 0) : at;
    this.entries = [
      ...this.entries.slice(0, -1),
      ...(current ? [{ ...current, until: current.until ?? at + options.propagationMs }] : []),
      { text, from, until: null },
    ].slice(-TIMELINE_LENGTH);
  }

  /** The timeline as the consumer reads it: a text that does not parse is left out. */
  read(): TimedState[] {
    return this.entries.flatMap((entry) => {
      const state = parseRolloutState(entry.text);
      return state === null ? [] : [{ state, from: entry.from, until: entry.until }];
    });
  }
}

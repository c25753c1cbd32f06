/**
 * The rollout state as the metrics API judges beacons by: read at most once per `freshMs` per
 * container (concurrent requests share one read). A failed read keeps the last good state for
 * up to `staleMs` more; past that the read's error reaches the request, which is answered 503
 * rather than judged against a state that may have moved on (a rollback, say).
 */
import type { RolloutState } from '../../contracts/rollout-state';

export interface StateCacheOptions {
  readonly read: () => Promise<RolloutState | null>;
  readonly freshMs: number;
  readonly staleMs: number;
  readonly now?: () => number;
}

export function cachedState(options: StateCacheOptions): () => Promise<RolloutState | null> {
  const now = options.now ?? Date.now;
  let good: { readonly state: RolloutState | null; readonly at: number } | null = null;
  let pending: Promise<RolloutState | null> | null = null;
  return () => {
    const at = now();
    if (good !== null && at - good.at < options.freshMs) return Promise.resolve(good.state);
    pending ??= options
      .read()
      .then((state) => {
        good = { state, at: now() };
        return state;
      })
      .catch((error: unknown) => {
        if (good !== null && now() - good.at < options.freshMs + options.staleMs) return good.state;
        throw error;
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };
}

/**
 * A value a router reads from elsewhere (a DNS record, the rollout state through the KeyValueStore
 * API): fetched at most once at a time, cached, refreshed in the background, bounded when a
 * request has to wait, and never worse than the last good value.
 *
 * For a value of age `a` (time since the last successful lookup), a read:
 *
 *   a < freshMs                 returns the cached value; no lookup.
 *   freshMs ≤ a < staleMs       returns the cached value and starts a refresh in the background
 *                               (stale-while-revalidate: a busy edge never waits for DNS).
 *   a ≥ staleMs, or no value    waits for a lookup, until waitMs after it started, then returns
 *                               what it has.
 *                               This is the cold start, and an edge that sat idle long enough for
 *                               its value to be too old to trust without asking (a rollback may
 *                               have happened meanwhile).
 *
 * Only one lookup runs at a time: concurrent reads share it. A lookup that fails (an error, a
 * timeout, or an answer `fetch` found unacceptable: missing, malformed, oversized) keeps the last good value
 * and schedules the next try `retryMs` later, in the background: after a failure no request
 * waits for DNS again until a lookup has succeeded, so a broken resolver costs one bounded wait,
 * not one per request. A waiting request that runs out of `waitMs` leaves the lookup running; its
 * answer serves the requests after it.
 *
 * `keepLastGood` decides what a value older than `staleMs` is worth when it cannot be refreshed:
 * the rollout state keeps it (a state that was current is a better guess than none), the
 * nearest-bucket answer drops it (the health check may have taken that region out).
 *
 * Lambda freezes an execution environment between invocations: a refresh started by one request
 * may complete only when the next one thaws it. Nothing here depends on a timer firing on time
 * for correctness; a lookup that has not settled after `STUCK_LOOKUP_MS` is abandoned.
 */
export interface CachedReaderOptions<T> {
  /** What is read, for logs: a record name, a store key. */
  readonly name: string;
  /** One lookup: the value, or null when the answer is not acceptable; rejects on failure. */
  readonly fetch: () => Promise<T | null>;
  /** Age below which the cached value is used without a lookup. */
  readonly freshMs: number;
  /** Age from which a read waits for a lookup instead of returning the cached value at once (≥ freshMs). */
  readonly staleMs: number;
  /** Whether a value older than staleMs is still returned when no lookup succeeds. */
  readonly keepLastGood: boolean;
  /** Longest a read waits for a lookup. */
  readonly waitMs: number;
  /** @default min(freshMs, 5 s) */
  readonly retryMs?: number;
  /** Told when lookups start failing and when they recover (not on every failure). @default nothing */
  readonly onHealthChange?: (healthy: boolean, detail: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Lookups that have not settled after this long are given up on (c-ares and the SDK settle far sooner). */
export const STUCK_LOOKUP_MS = 30_000;
const MAX_RETRY_MS = 5_000;

interface Lookup {
  readonly startedAt: number;
  readonly done: Promise<void>;
}

export class CachedReader<T> {
  private value: T | null = null;
  private fetchedAt = -Infinity;
  private nextAttemptAt = -Infinity;
  /** Outcome of the last settled lookup; true before the first, so the cold start waits. */
  private lastLookupOk = true;
  private healthy = true;
  private inflight: Lookup | null = null;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: CachedReaderOptions<T>) {
    this.retryMs = options.retryMs ?? Math.min(options.freshMs, MAX_RETRY_MS);
    this.now = options.now ?? Date.now;
  }

  /** The value to use now; a promise only when this read has to wait (bounded) for a lookup. */
  read(): T | null | Promise<T | null> {
    const now = this.now();
    const age = now - this.fetchedAt;
    if (age < this.options.freshMs) return this.value;
    if (this.inflight && now - this.inflight.startedAt >= STUCK_LOOKUP_MS) this.inflight = null;
    if (!this.inflight && now >= this.nextAttemptAt) this.inflight = this.startLookup(now);
    if (this.inflight && this.lastLookupOk && (this.value === null || age >= this.options.staleMs)) {
      // A lookup is worth waiting for during its first waitMs only: requests that arrive while a
      // slow lookup runs on get what there is at once, rather than another full wait each.
      const remaining = this.inflight.startedAt + this.options.waitMs - now;
      if (remaining > 0) return this.wait(this.inflight, remaining);
    }
    return this.usable(now);
  }

  private usable(now: number): T | null {
    return this.options.keepLastGood || now - this.fetchedAt < this.options.staleMs ? this.value : null;
  }

  private startLookup(startedAt: number): Lookup {
    let fetched: Promise<T | null>;
    try {
      fetched = this.options.fetch();
    } catch (error) {
      fetched = Promise.reject(error);
    }
    const lookup: Lookup = {
      startedAt,
      done: fetched
        .then((parsed) => {
          if (parsed === null) throw new Error('unacceptable answer');
          return parsed;
        })
        .then(
          (parsed) => this.settle(lookup, parsed, null),
          (error: unknown) => this.settle(lookup, null, error),
        ),
    };
    return lookup;
  }

  private settle(lookup: Lookup, parsed: T | null, error: unknown): void {
    if (this.inflight === lookup) this.inflight = null;
    const now = this.now();
    if (parsed !== null) {
      // An abandoned lookup may settle after a newer one: keep the newest answer.
      if (lookup.startedAt >= this.fetchedAt || this.value === null) {
        this.value = parsed;
        this.fetchedAt = now;
      }
      this.lastLookupOk = true;
      this.nextAttemptAt = this.fetchedAt + this.options.freshMs;
    } else {
      this.lastLookupOk = false;
      this.nextAttemptAt = now + this.retryMs;
    }
    if (this.healthy !== this.lastLookupOk) {
      this.healthy = this.lastLookupOk;
      const detail = this.healthy ? 'answers again' : describe(error);
      this.options.onHealthChange?.(this.healthy, `${this.options.name}: ${detail}`);
    }
  }

  private wait(lookup: Lookup, ms: number): Promise<T | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.usable(this.now())), ms);
      void lookup.done.then(() => {
        clearTimeout(timer);
        resolve(this.usable(this.now()));
      });
    });
  }
}

function describe(error: unknown): string {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string') return code;
    if (typeof message === 'string') return message;
  }
  return String(error);
}

/**
 * Which viewers have been counted, per build and period: the metrics API asks once per beacon,
 * and only the first sighting of a viewer (and its first error) becomes a metric. In AWS this is a
 * DynamoDB table (regional-function/shared/signal-table.ts: one conditional UpdateItem per beacon,
 * items expire by TTL); the local mode and the tests use `MemoryViewerLedger`, which answers the
 * same way, including under concurrent sightings of one viewer.
 */

export interface ViewerSighting {
  /** ledgerKey(period, buildId, viewer) */
  readonly key: string;
  /** The beacon reports an error. */
  readonly erroring: boolean;
  /** Epoch seconds after which the entry is of no use (DynamoDB TTL). */
  readonly expiresAt: number;
}

export interface SightingResult {
  /** First beacon of this viewer for this build in this period. */
  readonly newViewer: boolean;
  /** First error of this viewer for this build in this period (false when the beacon has none). */
  readonly newErroring: boolean;
}

export interface ViewerLedger {
  record(sighting: ViewerSighting): Promise<SightingResult>;
}

/** In memory, for the local mode and tests; expired entries are dropped as time passes. */
export class MemoryViewerLedger implements ViewerLedger {
  private readonly entries = new Map<string, { erroring: boolean; expiresAt: number }>();
  private prunedAt = -Infinity;

  constructor(private readonly nowSeconds: () => number = () => Date.now() / 1000) {}

  async record(sighting: ViewerSighting): Promise<SightingResult> {
    this.prune();
    const entry = this.entries.get(sighting.key);
    if (entry === undefined) {
      this.entries.set(sighting.key, { erroring: sighting.erroring, expiresAt: sighting.expiresAt });
      return { newViewer: true, newErroring: sighting.erroring };
    }
    const newErroring = sighting.erroring && !entry.erroring;
    entry.erroring ||= sighting.erroring;
    return { newViewer: false, newErroring };
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.nowSeconds();
    if (now - this.prunedAt < 1) return;
    this.prunedAt = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt < now) this.entries.delete(key);
  }
}

/**
 * Progress of work spread over a few lanes (one per region): on a terminal, one bar per lane redrawn
 * in place; in CI or any non-terminal, plain lines at each quarter, which read well in a log.
 */
import type { Writable } from 'node:stream';

import type { LaneState } from '../../publish/upload';

export interface ProgressOptions {
  readonly lanes: readonly string[];
  /** @default process.stderr */
  readonly stream?: Writable & { isTTY?: boolean };
  /** @default isInteractive(stream) */
  readonly interactive?: boolean;
}

/** A terminal a person is watching: a TTY, outside CI. */
export function isInteractive(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  return Boolean(stream.isTTY) && !env.CI;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 80;

export class ProgressBoard {
  private readonly stream: Writable;
  private readonly interactive: boolean;
  private readonly states = new Map<string, LaneState>();
  private readonly reportedQuarter = new Map<string, number>();
  private readonly labelWidth: number;
  private drawn = 0;
  private lastDraw = 0;

  constructor(options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.interactive = options.interactive ?? isInteractive(options.stream ?? process.stderr);
    this.labelWidth = Math.max(...options.lanes.map((lane) => lane.length));
    for (const lane of options.lanes) this.states.set(lane, { done: 0, total: 0, bytes: 0 });
  }

  update(lane: string, state: LaneState): void {
    const previous = this.states.get(lane);
    this.states.set(lane, state);
    if (this.interactive) {
      if (Date.now() - this.lastDraw >= REDRAW_MS || state.done === state.total) this.draw();
      return;
    }
    const quarter = state.total === 0 ? 0 : Math.floor((state.done / state.total) * 4);
    const noteChanged = state.note !== undefined && state.note !== previous?.note;
    if (quarter > (this.reportedQuarter.get(lane) ?? 0) || noteChanged) {
      this.reportedQuarter.set(lane, quarter);
      this.stream.write(`${this.describe(lane, state)}\n`);
    }
  }

  /** A line above the bars (or just a line, outside a terminal). */
  log(line: string): void {
    if (!this.interactive) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.erase();
    this.stream.write(`${line}\n`);
    this.draw();
  }

  /** Draws the final state; later output starts below the bars. */
  finish(): void {
    if (this.interactive) this.draw();
    this.drawn = 0;
  }

  private describe(lane: string, state: LaneState): string {
    const percent = state.total === 0 ? 0 : Math.floor((state.done / state.total) * 100);
    return (
      `${lane.padEnd(this.labelWidth)}  ${String(percent).padStart(3)}%  ${state.done}/${state.total} objects  ` +
      `${formatBytes(state.bytes)}${state.note ? `  ${state.note}` : ''}`
    );
  }

  private draw(): void {
    this.erase();
    const lines = [...this.states].map(([lane, state]) => {
      const filled = state.total === 0 ? 0 : Math.round((state.done / state.total) * BAR_WIDTH);
      const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
      return (
        `${lane.padEnd(this.labelWidth)}  ${bar}  ${state.done}/${state.total}  ` +
        `${formatBytes(state.bytes)}${state.note ? `  ${state.note}` : ''}`
      );
    });
    this.stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
    this.lastDraw = Date.now();
  }

  private erase(): void {
    // Cursor up over the bars drawn last time, clearing to the end of the screen.
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`;
}

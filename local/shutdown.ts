/**
 * How `npm start` ends, whichever way it is told to: Ctrl-C (SIGINT), SIGTERM, SIGHUP (the terminal
 * closed), or the process that started it going away without passing anything on (npm killed
 * with SIGHUP or SIGKILL: npm forwards only SIGINT and SIGTERM). Each closes what was started, last
 * first, removes the temporary folders, says so in one line, and exits 0.
 *
 * Why each path needs handling:
 *   - A Ctrl-C in a terminal reaches every process of the foreground group, and npm forwards the
 *     same signal to its child: one press arrives twice, a moment apart. A repeat within
 *     REPEAT_WINDOW_MS is that echo, not a second press.
 *   - A second press (later than that) while stopping exits at once with 128 + the signal number,
 *     still removing the temporary folders (synchronously).
 *   - A signal while the build is running need not wait for it: the stop goes ahead, and whatever
 *     still holds the process a moment after "stopped" is cut short.
 *   - Writing to a terminal that has gone (SIGHUP) fails; that must not turn into a crash halfway.
 */
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The same signal again within this long is npm's forwarded copy of the first. */
export const REPEAT_WINDOW_MS = 500;

/** Thrown by `Shutdown.step` when a stop was asked for before the step finished. */
export class StopRequested extends Error {
  override readonly name = 'StopRequested';
  constructor(readonly reason: string) {
    super(`stop requested: ${reason}`);
  }
}

export interface ShutdownOptions {
  /** Where the one-line messages go. */
  readonly say: (line: string) => void;
  /** How often to look whether the parent process is still there; 0 never looks. @default 500 */
  readonly parentCheckMs?: number;
  /** Closing that takes longer than this is abandoned: folders removed, exit 1. @default 10_000 */
  readonly graceMs?: number;
  /** After closing, how long anything else may keep the process before it exits anyway. @default 1000 */
  readonly lingerMs?: number;
}

export class Shutdown {
  private readonly closers: (() => Promise<void>)[] = [];
  private readonly removers: (() => void)[] = [];
  private readonly parentWatch: NodeJS.Timeout | null;
  private firstSignalAt = 0;
  private closing: Promise<void> | null = null;
  private resolveRequest!: (reason: string) => void;
  /** Resolves with why, when a stop is asked for. */
  readonly requested: Promise<string> = new Promise((resolve) => (this.resolveRequest = resolve));
  private reason: string | null = null;

  constructor(private readonly options: ShutdownOptions) {
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
    process.once('exit', this.removeFolders);
    // A terminal or pipe that has gone: the messages are lost, the stop must not be.
    process.stdout.on('error', ignore);
    process.stderr.on('error', ignore);
    const parent = process.ppid;
    const every = options.parentCheckMs ?? 500;
    this.parentWatch =
      every > 0
        ? setInterval(
            () => process.ppid !== parent && this.request(`the process that started it (pid ${parent}) is gone`),
            every,
          ).unref()
        : null;
  }

  /** Asks for the stop (once; later asks change nothing). */
  request(reason: string): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.options.say(`\n${reason}: stopping the local distribution…`);
    this.resolveRequest(reason);
  }

  get stopRequested(): boolean {
    return this.reason !== null;
  }

  /** Runs on close, the last added first. */
  add(close: () => Promise<void> | void): void {
    this.closers.push(async () => close());
  }

  /** Runs synchronously on close and at exit, however the process exits: for folders that must not outlive it. */
  removeAtExit(remove: () => void): void {
    this.removers.push(remove);
  }

  /**
   * Awaits one step of starting up, unless a stop is asked for first (then throws StopRequested
   * at once). What the step starts is closed on close, even when it finishes after the stop.
   */
  async step<T>(starting: Promise<T>, close?: (started: T) => Promise<void> | void): Promise<T> {
    if (close) {
      this.add(async () => {
        let started: T;
        try {
          started = await starting;
        } catch {
          return; // it failed to start: it cleaned up after itself, and the step said why
        }
        await close(started);
      });
    }
    const stop = this.requested.then((reason) => Promise.reject(new StopRequested(reason)));
    stop.catch(ignore);
    return Promise.race([starting, stop]);
  }

  /** Closes everything added, then removes the folders. Resolves once; later calls get the same promise. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    if (this.parentWatch) clearInterval(this.parentWatch);
    const grace = this.options.graceMs ?? 10_000;
    const overdue = setTimeout(
      () => this.exitNow(`could not stop everything within ${grace / 1000} s; exiting anyway`, 1),
      grace,
    );
    for (const close of this.closers.splice(0).reverse()) {
      await close().catch((error: Error) => this.options.say(`while stopping: ${error.message}`));
    }
    clearTimeout(overdue);
    this.removeFolders();
    // Whatever still holds the process (a build still running, a socket someone left open) is not worth waiting for.
    setTimeout(() => process.exit(), this.options.lingerMs ?? 1000).unref();
  }

  private readonly onSignal = (signal: StopSignal): void => {
    const now = Date.now();
    if (this.reason === null) {
      this.firstSignalAt = now;
      this.request(signal === 'SIGINT' ? 'Ctrl-C' : signal === 'SIGHUP' ? 'SIGHUP (the terminal closed)' : signal);
      return;
    }
    if (now - this.firstSignalAt < REPEAT_WINDOW_MS) return;
    this.exitNow(
      `${signal === 'SIGINT' ? 'Ctrl-C' : signal} again: exiting now, without waiting for the servers`,
      128 + constants.signals[signal],
    );
  };

  private exitNow(message: string, code: number): never {
    this.options.say(message);
    this.removeFolders();
    process.exit(code);
  }

  private readonly removeFolders = (): void => {
    for (const remove of this.removers.splice(0)) {
      try {
        remove();
      } catch {
        // Best effort: the process is on its way out.
      }
    }
  };
}

function ignore(): void {
  // deliberately nothing
}

/**
 * The local mode's time: real, scaled, or moved by hand in tests (local/control-plane.ts makes
 * each). The loopback servers read it where AWS would stamp a time of its own, such as a
 * real-time log record's.
 */
export interface Clock {
  /** ms on the local mode's (simulated) time line. */
  now(): number;
  /**
   * The local time at a real instant (`Date.now()` scale): where the signal's runner places a
   * record's arrival at the stream. Without it, the clock is taken to run at real speed.
   */
  at?(realMs: number): number;
}

/**
 * The signal consumer, pure part: CloudFront real-time log records in, distinct voices per period
 * and role out. It is a function of (the records, what it held before, the rollout states the
 * edges were using, the clock); the handler (index.ts) does the reading and the writing.
 *
 * What counts (contracts/release-signal.ts says who a voice is and which role the rule gives it):
 *
 *   a load    GET of the entry (`/assets/index.js`, or `/assets/<id>/index.js` should the log
 *             carry the rewritten path), answered 200 or 304: its voice is a viewer of its role;
 *   an error  GET of `/api/e?b=<buildId>&m=…` answered 204 (contracts/error-report.ts), naming
 *             the build the rule assigned that viewer: its voice is a viewer with an error. The
 *             message is kept once per voice and period, cut to a bounded length.
 *
 * Each voice counts once per period and role, however many requests it makes: a flood from one
 * address is one viewer. A request counts only when every rollout state the edges may have been
 * serving at its time agrees on its voice's role and build (`judgeUnderEach`): right after a state
 * change, a viewer the change moved is not counted for a while rather than counted in a role it
 * may not have had.
 *
 * Periods are aligned to the epoch (contracts/release-signal.ts `periodStart`). One closes when
 * the stream has carried a record that arrived `lateness` after the period's end: records reach
 * the stream in arrival order (one shard, read in order), so everything that arrived earlier has
 * been read. A period is unjudged, never reported as counts, when the consumer did not see it
 * whole: it started (or lost its place in the stream) after the period began, a record in it fell
 * in no known rollout state, or records of it arrive after it closed (they are counted as late,
 * which the unjudged alarm reads too). CloudFront delivers real-time logs on a best-effort basis:
 * what it drops falls on both roles alike, and the counts are compared as shares.
 */
import {
  parseRecord,
  REALTIME_LOG_FIELDS,
  type RealtimeLogField,
  type RealtimeLogRecord,
} from '../../contracts/realtime-log';
import { ERROR_REPORT_PATH, MAX_MESSAGE_LENGTH, parseErrorReport } from '../../contracts/error-report';
import { BUILD_ID_PATTERN } from '../../contracts/build-id';
import { judge, judgeUnderEach, periodStart, type Role, type TimedState } from '../../contracts/release-signal';
import { refererOrigin, type RolloutState } from '../../contracts/rollout-state';

export const ENTRY_PATH = '/assets/index.js';
const REWRITTEN_ENTRY = /^\/assets\/([0-9a-f]{16})\/index\.js$/;
export const ROLES_COUNTED: readonly Role[] = ['canary', 'stable', 'ring', 'preview'];

export interface ConsumerOptions {
  readonly periodSeconds: number;
  /** The order CloudFront writes the fields in (GetRealtimeLogConfig's `Fields`). @default REALTIME_LOG_FIELDS */
  readonly fields?: readonly RealtimeLogField[];
  /** How long after a period's end its records may still arrive before it closes, ms. */
  readonly latenessMs: number;
}

/** One record as the stream gives it: its data, when it reached the stream, its place. */
export interface StreamRecord {
  readonly data: string;
  /** Kinesis's approximateArrivalTimestamp, ms. */
  readonly arrivedAt: number;
  readonly sequenceNumber: string;
}

interface PeriodTally {
  readonly start: number;
  readonly viewers: Record<Role, Set<string>>;
  readonly erroring: Record<Role, Set<string>>;
  /** Canary voices as the newest state assigns them, agreed or not (see `CanaryEvidence`). */
  readonly newestCanary: { readonly viewers: Set<string>; readonly erroring: Set<string> };
  /** Canary voices every candidate state agrees on, role and weight alike, by weight. */
  readonly canaryAtWeight: Map<number, Set<string>>;
  /** The first message of each erroring voice, with its role and build. */
  readonly messages: Map<string, { readonly role: Role; readonly build: string; readonly message: string }>;
  /** Why the period cannot be judged, once something made it so. */
  unjudged: string | null;
}

export interface ConsumerState {
  readonly periods: ReadonlyMap<number, PeriodTally>;
  /** Periods up to (excluding) this start have closed; null before the first record. */
  readonly closedBefore: number | null;
  /** The first period this consumer saw from its start; earlier ones are unjudged. */
  readonly firstWhole: number | null;
}

export function initialState(): ConsumerState {
  return { periods: new Map(), closedBefore: null, firstWhole: null };
}

export interface RoleCounts {
  readonly viewers: number;
  readonly erroring: number;
}

/**
 * What the judge reads of a period besides the agreed counts:
 *   newestCanary   canary voices as the newest state assigns them, whether or not the state
 *                  before agrees, and their errors naming the canary. Right after a state change
 *                  the agreed counts leave out every viewer the change moved, for as long as the
 *                  edges may serve the old state (a minute or more). An error names the build that
 *                  ran, so an erring canary viewer is certain; a viewer the newest state gives the
 *                  canary but whose edge still served the stable build is counted as a clean canary
 *                  viewer, which can only lower the canary's share: the judge may use these to find
 *                  a canary failing sooner, never to find one healthy.
 *   canaryAtWeight canary voices every candidate state gives the canary at that same weight: what
 *                  a step needs to be judged at its weight.
 */
export interface CanaryEvidence {
  readonly newestCanary: RoleCounts;
  /** Weight (basis points, as a string) → voices. */
  readonly canaryAtWeight: Readonly<Record<string, number>>;
}

export interface ClosedPeriod extends CanaryEvidence {
  readonly start: number;
  /** Null when the period is judged; else why not. */
  readonly unjudged: string | null;
  /** Distinct voices per role; zeros for an unjudged period (it reports no counts). */
  readonly counts: Readonly<Record<Role, RoleCounts>>;
  /** The messages kept: once per erroring voice (no address), for the log. */
  readonly messages: readonly { readonly role: Role; readonly build: string; readonly message: string }[];
}

export interface BatchResult {
  readonly state: ConsumerState;
  readonly closed: readonly ClosedPeriod[];
  /** Records of periods that had closed already. */
  readonly late: number;
  /** What was read but counts for nothing, by reason: for the log, never as a voice. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** The states the edges may have been serving at `at`. */
export function statesAt(timeline: readonly TimedState[], at: number): RolloutState[] {
  return timeline
    .filter((timed) => timed.from <= at && (timed.until === null || at < timed.until))
    .map((timed) => timed.state);
}

function emptyTally(start: number): PeriodTally {
  const sets = () => ({
    canary: new Set<string>(),
    stable: new Set<string>(),
    ring: new Set<string>(),
    preview: new Set<string>(),
  });
  return {
    start,
    viewers: sets(),
    erroring: sets(),
    newestCanary: { viewers: new Set(), erroring: new Set() },
    canaryAtWeight: new Map(),
    messages: new Map(),
    unjudged: null,
  };
}

/** What one record is: a load, an error of a build, or nothing the signal counts. */
type Reading =
  | { kind: 'load'; build: string | null }
  | { kind: 'error'; build: string; message: string }
  | { kind: 'skip'; reason: string };

function read(record: RealtimeLogRecord): Reading {
  if (record.method !== 'GET') return { kind: 'skip', reason: 'method' };
  if (record.uri === ERROR_REPORT_PATH) {
    if (record.status !== 204) return { kind: 'skip', reason: 'status' };
    const report = parseErrorReport(record.query);
    return report
      ? { kind: 'error', build: report.buildId, message: report.message }
      : { kind: 'skip', reason: 'error without a build' };
  }
  const rewritten = REWRITTEN_ENTRY.exec(record.uri);
  if (record.uri !== ENTRY_PATH && !rewritten) return { kind: 'skip', reason: 'path' };
  if (record.status !== 200 && record.status !== 304) return { kind: 'skip', reason: 'status' };
  const named = rewritten?.[1];
  return { kind: 'load', build: named !== undefined && BUILD_ID_PATTERN.test(named) ? named : null };
}

/**
 * Takes a batch of records. The tallies of `previous` are extended in place (a period may hold
 * hundreds of thousands of voices: copying them for every batch would cost more than the batch);
 * the handler keeps only the returned state. `resumed` is false when this consumer has not read the records just
 * before these (a new container, or another one read meanwhile): then every period already open,
 * or starting before this batch's first record, is unjudged.
 */
export function consume(
  previous: ConsumerState,
  records: readonly StreamRecord[],
  timeline: readonly TimedState[],
  options: ConsumerOptions,
  resumed: boolean,
): BatchResult {
  const periodMs = options.periodSeconds * 1000;
  const periods = new Map(previous.periods);
  let { closedBefore, firstWhole } = previous;
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  let late = 0;

  if (!resumed || firstWhole === null) {
    // Whatever came before these records was not seen here: only periods after the first one
    // this batch touches can be whole.
    for (const tally of periods.values()) tally.unjudged ??= 'the consumer lost its place in the stream';
    const first = records.length > 0 ? Math.min(...records.map((r) => r.arrivedAt)) : null;
    if (first !== null) firstWhole = periodStart(first, options.periodSeconds) + periodMs;
  }

  let newestArrival = -Infinity;
  for (const item of records) {
    newestArrival = Math.max(newestArrival, item.arrivedAt);
    const record = parseRecord(item.data, options.fields ?? REALTIME_LOG_FIELDS);
    if (record === null) {
      skip('not a record of the configured fields');
      continue;
    }
    const reading = read(record);
    if (reading.kind === 'skip') {
      skip(reading.reason);
      continue;
    }
    const start = periodStart(record.at, options.periodSeconds);
    if (closedBefore !== null && start < closedBefore) {
      late += 1;
      continue;
    }
    let tally = periods.get(start);
    if (!tally) {
      tally = emptyTally(start);
      if (firstWhole !== null && start < firstWhole) tally.unjudged = 'the consumer started after the period began';
      periods.set(start, tally);
    }
    const states = statesAt(timeline, record.at);
    const newestState = states.at(-1);
    if (newestState === undefined) {
      tally.unjudged ??= 'a record fell in no known rollout state';
      skip('no known rollout state');
      continue;
    }
    const origin = refererOrigin(record.referer ?? undefined);
    const judgment = judgeUnderEach(states, record.clientIp, origin, record.at);
    // The newest state's view: the agreed one when there is only one state (the usual case).
    const newest = states.length === 1 ? judgment : judge(newestState, record.clientIp, origin, record.at);
    if (newest !== null && newest.role === 'canary' && (reading.build === null || reading.build === newest.build)) {
      tally.newestCanary.viewers.add(newest.voice);
      if (reading.kind === 'error') tally.newestCanary.erroring.add(newest.voice);
    }
    if (judgment === null) {
      skip('no agreed voice');
      continue;
    }
    // A load whose path names its build (a rewritten entry) must be that build; an error must name it.
    if (reading.build !== null && reading.build !== judgment.build) {
      skip('build not the one the rule assigns');
      continue;
    }
    tally.viewers[judgment.role].add(judgment.voice);
    if (judgment.role === 'canary' && states.every((state) => state.weight === newestState.weight)) {
      const atWeight = tally.canaryAtWeight.get(newestState.weight) ?? new Set<string>();
      tally.canaryAtWeight.set(newestState.weight, atWeight);
      atWeight.add(judgment.voice);
    }
    if (reading.kind === 'error') {
      tally.erroring[judgment.role].add(judgment.voice);
      if (!tally.messages.has(judgment.voice))
        tally.messages.set(judgment.voice, {
          role: judgment.role,
          build: judgment.build,
          message: reading.message.slice(0, MAX_MESSAGE_LENGTH),
        });
    }
  }

  const closed: ClosedPeriod[] = [];
  if (newestArrival > -Infinity) {
    // Everything that arrived before newestArrival has been read: a period whose end plus the
    // lateness is past it is whole.
    const closeBefore = periodStart(newestArrival - options.latenessMs, options.periodSeconds);
    for (const start of [...periods.keys()].sort((a, b) => a - b)) {
      if (start >= closeBefore) continue;
      const tally = periods.get(start)!;
      periods.delete(start);
      closed.push(closedPeriod(tally));
    }
    closedBefore = Math.max(closedBefore ?? closeBefore, closeBefore);
  }
  return { state: { periods, closedBefore, firstWhole }, closed, late, skipped };
}

function closedPeriod(tally: PeriodTally): ClosedPeriod {
  const counts = Object.fromEntries(
    ROLES_COUNTED.map((role) => [
      role,
      tally.unjudged === null
        ? { viewers: tally.viewers[role].size, erroring: tally.erroring[role].size }
        : { viewers: 0, erroring: 0 },
    ]),
  ) as Record<Role, RoleCounts>;
  const evidence =
    tally.unjudged === null ? canaryEvidence(tally) : { newestCanary: { viewers: 0, erroring: 0 }, canaryAtWeight: {} };
  return {
    start: tally.start,
    unjudged: tally.unjudged,
    counts,
    ...evidence,
    messages: tally.unjudged === null ? [...tally.messages.values()] : [],
  };
}

function canaryEvidence(tally: PeriodTally): CanaryEvidence {
  return {
    newestCanary: { viewers: tally.newestCanary.viewers.size, erroring: tally.newestCanary.erroring.size },
    canaryAtWeight: Object.fromEntries(
      [...tally.canaryAtWeight].map(([weight, voices]) => [String(weight), voices.size]),
    ),
  };
}

/** The counts so far of the periods still open and not (yet) unjudged: what the judge may act on before they close. */
export function openPeriodCounts(
  state: ConsumerState,
): ({ readonly start: number; readonly counts: Readonly<Record<Role, RoleCounts>> } & CanaryEvidence)[] {
  return [...state.periods.values()]
    .filter((tally) => tally.unjudged === null)
    .map((tally) => ({
      start: tally.start,
      counts: Object.fromEntries(
        ROLES_COUNTED.map((role) => [role, { viewers: tally.viewers[role].size, erroring: tally.erroring[role].size }]),
      ) as Record<Role, RoleCounts>,
      ...canaryEvidence(tally),
    }));
}

/**
 * The signal consumer's core and its I/O part, on records in CloudFront's real-time log format:
 * distinct voices per period and role, each voice in the role the rule gives it, never counted
 * for a build it did not get; periods closed once the stream is past them, unjudged when not seen
 * whole; late records counted.
 */
import { newJudgmentRecord } from '../../contracts/release-progress';
import { formatRecord, type RealtimeLogRecord } from '../../contracts/realtime-log';
import { assignBuild } from '../../contracts/assignment';
import { judge, PREVIEW_END_MARGIN_MS } from '../../contracts/release-signal';
import { steadyState, type RolloutState } from '../../contracts/rollout-state';
import { createSignalConsumer, stepDueAt } from '../../regional-function/signal-consumer/consumer';
import {
  consume,
  initialState,
  statesAt,
  type ConsumerOptions,
  type StreamRecord,
} from '../../regional-function/signal-consumer/core';
import type { TimedState } from '../../contracts/release-signal';
import { functionMetrics, periodDocuments } from '../../regional-function/shared/observability';

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const PERIOD = 60_000;
const T0 = 1_800_000_000_000; // a period boundary
const OPTIONS: ConsumerOptions = { periodSeconds: 60, latenessMs: 20_000 };
const STEPS = [
  { atMinute: 0, weight: 1000 },
  { atMinute: 5, weight: 10000 },
];
const JUDGED = {
  ...OPTIONS,
  rule: { excessErrorPercent: 5, toleratedExcessPercent: 2, falseRollbackRate: 0.001, minViewers: 50 },
  steps: STEPS,
};
const rollout = (weight: number, ring: string[] = []): RolloutState => ({
  stable: STABLE,
  canary: CANARY,
  weight,
  salt: 'd-SIGNAL0001',
  ring,
});
const always = (state: RolloutState): TimedState[] => [{ state, from: 0, until: null }];

let sequence = 0;
function record(
  partial: Partial<RealtimeLogRecord> & { ip: string; at: number },
  arrivedAt = partial.at + 1000,
): StreamRecord {
  const full: RealtimeLogRecord = {
    at: partial.at,
    clientIp: partial.ip,
    method: partial.method ?? 'GET',
    uri: partial.uri ?? '/assets/index.js',
    query: partial.query ?? '',
    status: partial.status ?? 200,
    referer: partial.referer ?? 'https://shop.example.com/page',
  };
  sequence += 1;
  return { data: formatRecord(full), arrivedAt, sequenceNumber: String(sequence).padStart(20, '0') };
}
const load = (ip: string, at: number, arrivedAt?: number) => record({ ip, at }, arrivedAt);
const error = (ip: string, at: number, build: string, message = 'TypeError: boom') =>
  record({ ip, at, uri: '/api/e', status: 204, query: `b=${build}&m=${encodeURIComponent(message)}` });
/** A record far enough after `start`'s period to close it. */
const closer = (start: number) => load('192.0.2.250', start + PERIOD + OPTIONS.latenessMs + 1);

/** IPv4 addresses the rule puts on `build` under `state`. */
function addressesOn(state: RolloutState, build: string, count: number): string[] {
  const found: string[] = [];
  for (let i = 1; found.length < count; i += 1) {
    const ip = `198.51.${(i >> 8) & 0xff}.${i & 0xff}`;
    if (assignBuild(state, ip, null, 0) === build) found.push(ip);
  }
  return found;
}

describe('the consumer core', () => {
  it(
    'counts each voice once per period and role, however many requests, and an error only for the build ' +
      'the rule gave it',
    () => {
      const state = rollout(5000);
      const canary = addressesOn(state, CANARY, 3);
      const stable = addressesOn(state, STABLE, 4);
      const records = [
        ...canary.flatMap((ip) => [load(ip, T0 + 1000), load(ip, T0 + 2000), load(ip, T0 + 3000)]),
        ...stable.map((ip) => load(ip, T0 + 1000)),
        // A flood of errors from one canary address: one erroring viewer.
        ...Array.from({ length: 50 }, (_, i) => error(canary[0]!, T0 + 4000 + i, CANARY)),
        error(stable[0]!, T0 + 5000, STABLE),
        // A stable viewer reporting the canary build did not run it: not counted.
        error(stable[1]!, T0 + 5000, CANARY),
        closer(T0),
      ];
      const result = consume(initialState(), records, always(state), OPTIONS, false);
      const first = result.closed.find((p) => p.start === T0);
      // The consumer started with this batch: the period holding its first record is not whole.
      expect(first?.unjudged).toBe('the consumer started after the period began');
      // Whole from the next period on: the same traffic one period later is judged.
      const next = consume(
        result.state,
        records.slice(0, -1).map((r) => ({
          ...r,
          data: r.data.replace(/^\d+\.\d+/, (t) => ((Number(t) * 1000 + PERIOD) / 1000).toFixed(3)),
          arrivedAt: r.arrivedAt + PERIOD,
        })),
        always(state),
        OPTIONS,
        true,
      );
      const later = consume(next.state, [closer(T0 + PERIOD)], always(state), OPTIONS, true);
      const period = later.closed.find((p) => p.start === T0 + PERIOD)!;
      expect(period.unjudged).toBeNull();
      expect(period.counts.canary).toEqual({ viewers: 3, erroring: 1 });
      // The four, and the address whose load closed the period before (it fell in this one).
      expect(period.counts.stable).toEqual({ viewers: 5, erroring: 1 });
      expect(period.messages).toEqual(
        expect.arrayContaining([
          { role: 'canary', build: CANARY, message: 'TypeError: boom' },
          { role: 'stable', build: STABLE, message: 'TypeError: boom' },
        ]),
      );
      expect(period.messages).toHaveLength(2);
      expect(next.skipped['build not the one the rule assigns']).toBe(1);
    },
  );

  it('closes a period only once the stream carried a record that arrived past its end plus the lateness', () => {
    const state = steadyState(STABLE);
    const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], always(state), OPTIONS, false).state;
    const open = consume(
      warm,
      [load('192.0.2.2', T0 + 1000, T0 + PERIOD + OPTIONS.latenessMs - 1)],
      always(state),
      OPTIONS,
      true,
    );
    expect(open.closed.map((p) => p.start)).not.toContain(T0);
    const closed = consume(
      open.state,
      [load('192.0.2.3', T0 + PERIOD + 5, T0 + PERIOD + OPTIONS.latenessMs)],
      always(state),
      OPTIONS,
      true,
    );
    expect(closed.closed.find((p) => p.start === T0)).toMatchObject({
      unjudged: null,
      counts: { stable: { viewers: 1, erroring: 0 } },
    });
    // A record of a closed period is late, and counted as such, not as a viewer.
    const late = consume(
      closed.state,
      [load('192.0.2.4', T0 + 2000, T0 + PERIOD + OPTIONS.latenessMs + 10)],
      always(state),
      OPTIONS,
      true,
    );
    expect(late.late).toBe(1);
  });

  it('judges a period unjudged when a record in it falls in no known state, or the consumer lost its place', () => {
    const state = steadyState(STABLE);
    const timeline: TimedState[] = [{ state, from: T0 + 30_000, until: null }];
    const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], timeline, OPTIONS, false).state;
    const batch = consume(
      warm,
      [load('192.0.2.2', T0 + 1000), load('192.0.2.3', T0 + 40_000), closer(T0)],
      timeline,
      OPTIONS,
      true,
    );
    expect(batch.closed.find((p) => p.start === T0)).toMatchObject({
      unjudged: 'a record fell in no known rollout state',
      counts: { stable: { viewers: 0, erroring: 0 } },
    });
    const again = consume(
      consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], always(state), OPTIONS, false).state,
      [load('192.0.2.2', T0 + 1000)],
      always(state),
      OPTIONS,
      true,
    );
    const lost = consume(again.state, [closer(T0)], always(state), OPTIONS, false);
    expect(lost.closed.find((p) => p.start === T0)?.unjudged).toBe('the consumer lost its place in the stream');
  });

  it('counts a viewer the new state moved only where every state the edges may serve agrees', () => {
    const before = rollout(1000);
    const after = rollout(3000);
    const moved = addressesOn(after, CANARY, 200).filter((ip) => assignBuild(before, ip, null, 0) === STABLE)[0]!;
    const stayed = addressesOn(before, CANARY, 1)[0]!;
    const timeline: TimedState[] = [
      { state: before, from: 0, until: T0 + 10_000 + 40_000 },
      { state: after, from: T0 + 10_000, until: null },
    ];
    expect(statesAt(timeline, T0 + 20_000)).toEqual([before, after]);
    expect(statesAt(timeline, T0 + 55_000)).toEqual([after]);
    const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], timeline, OPTIONS, false).state;
    const result = consume(
      warm,
      [load(moved, T0 + 20_000), load(stayed, T0 + 20_000), load(moved, T0 + 55_000), closer(T0)],
      timeline,
      OPTIONS,
      true,
    );
    const period = result.closed.find((p) => p.start === T0)!;
    // `moved` is canary only from 55 s; `stayed` was canary under both.
    expect(period.counts.canary).toEqual({ viewers: 2, erroring: 0 });
    expect(result.skipped['no agreed voice']).toBe(1);
  });

  it(
    'keeps, for the judge, the canary as the newest state has it (sooner, never more erring), and canary viewers ' +
      'by the weight every state agrees on',
    () => {
      const before = rollout(1000);
      const after = rollout(3000);
      const moved = addressesOn(after, CANARY, 200).filter((ip) => assignBuild(before, ip, null, 0) === STABLE);
      const stayed = addressesOn(before, CANARY, 1)[0]!;
      const timeline: TimedState[] = [
        { state: before, from: 0, until: T0 + 10_000 + 40_000 },
        { state: after, from: T0 + 10_000, until: null },
      ];
      const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], timeline, OPTIONS, false).state;
      const result = consume(
        warm,
        [
          // While both states may be served: moved[0] ran the canary and says so; moved[1] still got the
          // stable build from a stale edge and reports an error naming it; `stayed` is canary under both.
          load(moved[0]!, T0 + 20_000),
          error(moved[0]!, T0 + 21_000, CANARY),
          load(moved[1]!, T0 + 20_000),
          error(moved[1]!, T0 + 21_000, STABLE),
          load(stayed, T0 + 20_000),
          // Once only the new state is served: moved[2] is agreed on, at 30 %.
          load(moved[2]!, T0 + 55_000),
          closer(T0),
        ],
        timeline,
        OPTIONS,
        true,
      );
      const period = result.closed.find((p) => p.start === T0)!;
      expect(period.counts.canary).toEqual({ viewers: 2, erroring: 0 });
      // The newest state's canary: all four, but only the error that named the canary. moved[1]'s
      // stale stable load counts as a clean canary viewer: it can only lower the canary's share.
      expect(period.newestCanary).toEqual({ viewers: 4, erroring: 1 });
      // `stayed` was canary under both, but at two weights; moved[2] at 30 % alone.
      expect(period.canaryAtWeight).toEqual({ 3000: 1 });
    },
  );

  it(
    'checks a rewritten entry path against the build the rule assigns, and skips what is not a load ' +
      'or an error report',
    () => {
      const state = rollout(5000);
      const canaryIp = addressesOn(state, CANARY, 1)[0]!;
      const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], always(state), OPTIONS, false).state;
      const result = consume(
        warm,
        [
          record({ ip: canaryIp, at: T0 + 1000, uri: `/assets/${STABLE}/index.js` }),
          record({ ip: canaryIp, at: T0 + 1000, uri: `/assets/${CANARY}/index.js`, status: 304 }),
          record({ ip: '192.0.2.9', at: T0 + 1000, uri: '/assets/index.js', status: 503 }),
          record({ ip: '192.0.2.9', at: T0 + 1000, method: 'POST', uri: '/api/e', status: 405 }),
          record({ ip: '192.0.2.9', at: T0 + 1000, uri: `/assets/${STABLE}/chunk.js` }),
          record({ ip: '192.0.2.9', at: T0 + 1000, uri: '/api/e', status: 204, query: 'b=not-a-build' }),
          { data: 'garbage without tabs', arrivedAt: T0 + 1000, sequenceNumber: 'x' },
          closer(T0),
        ],
        always(state),
        OPTIONS,
        true,
      );
      const period = result.closed.find((p) => p.start === T0)!;
      expect(period.counts.canary.viewers).toBe(1);
      expect(result.skipped).toEqual({
        'build not the one the rule assigns': 1,
        status: 1,
        method: 1,
        path: 1,
        'error without a build': 1,
        'not a record of the configured fields': 1,
      });
    },
  );

  it('counts ring pages as ring, never judged, and an IPv6 /48 as one voice in the role its own hash gives it', () => {
    const state = rollout(5000, ['https://demo.example.com']);
    const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], always(state), OPTIONS, false).state;
    // Every /64 of one /48 is the /48's one voice, in the role the rule gives the /48.
    const prefix = '2001:db8:77';
    const sixtyFours = Array.from({ length: 40 }, (_, i) => `${prefix}:${i.toString(16)}::1`);
    const role = judge(state, sixtyFours[0]!, null, 0)!.role;
    const result = consume(
      warm,
      [
        ...sixtyFours.map((ip) => load(ip, T0 + 1000)),
        ...sixtyFours.map((ip) => error(ip, T0 + 2000, role === 'canary' ? CANARY : STABLE)),
        record({ ip: '192.0.2.77', at: T0 + 1000, referer: 'https://demo.example.com/x' }),
        closer(T0),
      ],
      always(state),
      OPTIONS,
      true,
    );
    const period = result.closed.find((p) => p.start === T0)!;
    expect(period.counts[role]).toEqual({ viewers: 1, erroring: 1 });
    expect(period.counts[role === 'canary' ? 'stable' : 'canary'].viewers).toBe(0);
    expect(period.counts.ring.viewers).toBe(1);
  });
});

describe('previewed viewers', () => {
  const PREVIEW = 'abcdefabcdefabcd';
  const UNTIL = (T0 + 10 * PERIOD) / 1000;
  /** Everyone else on the canary, so that a previewed viewer counted by the weight would show as canary evidence. */
  const previewing = (build = PREVIEW): RolloutState => ({
    ...rollout(10000),
    previews: [{ build, viewer: '203.0.113.0/24', until: UNTIL }],
  });
  const previewed = Array.from({ length: 5 }, (_, i) => `203.0.113.${i + 1}`);
  const others = ['198.51.100.1', '198.51.100.2'];

  /** The closed period at T0 after `records`, under `timeline`. */
  function period(records: StreamRecord[], timeline: TimedState[]) {
    const warm = consume(initialState(), [load('192.0.2.1', T0 - PERIOD)], timeline, OPTIONS, false).state;
    const result = consume(warm, [...records, closer(T0)], timeline, OPTIONS, true);
    return { result, period: result.closed.find((p) => p.start === T0)! };
  }

  it(
    'counts their loads and error reports under preview, never as canary or stable, and never as canary ' +
      'evidence, even of a preview of the canary build',
    () => {
      for (const build of [PREVIEW, CANARY, STABLE]) {
        const { result, period: closed } = period(
          [
            ...previewed.map((ip) => load(ip, T0 + 1000)),
            // A rewritten entry of the preview's build, and error reports naming it.
            record({ ip: previewed[0]!, at: T0 + 1500, uri: `/assets/${build}/index.js` }),
            error(previewed[0]!, T0 + 2000, build),
            error(previewed[1]!, T0 + 2000, build),
            // One naming another build did not run it.
            error(previewed[2]!, T0 + 2000, build === CANARY ? STABLE : CANARY),
            // A ring page changes nothing for a previewed viewer.
            record({ ip: previewed[3]!, at: T0 + 2500, referer: 'https://demo.example.com/' }),
            ...others.map((ip) => load(ip, T0 + 1000)),
            error(others[0]!, T0 + 3000, CANARY),
          ],
          always({ ...previewing(build), ring: ['https://demo.example.com'] }),
        );
        expect(closed.unjudged).toBeNull();
        expect(closed.counts.preview).toEqual({ viewers: 5, erroring: 2 });
        // Only the others are canary; nobody is stable, no ring page counted.
        expect(closed.counts.canary).toEqual({ viewers: 2, erroring: 1 });
        expect(closed.counts.stable).toEqual({ viewers: 0, erroring: 0 });
        expect(closed.counts.ring).toEqual({ viewers: 0, erroring: 0 });
        expect(closed.newestCanary).toEqual({ viewers: 2, erroring: 1 });
        expect(closed.canaryAtWeight).toEqual({ 10000: 2 });
        expect(result.skipped['build not the one the rule assigns']).toBe(1);
        expect(closed.messages).toContainEqual({ role: 'preview', build, message: 'TypeError: boom' });
      }
    },
  );

  it('counts a viewer for nothing for a minute after its preview ended, then the way the rule does', () => {
    const endedAt = (ms: number) => ({
      ...rollout(10000),
      previews: [{ build: PREVIEW, viewer: '203.0.113.0/24', until: ms / 1000 }],
    });
    // Ended a second before the loads: the edge may have chosen under it.
    const { period: justOver } = period(
      previewed.map((ip) => load(ip, T0 + 1000)),
      always(endedAt(T0)),
    );
    expect(justOver.counts.preview).toEqual({ viewers: 0, erroring: 0 });
    expect(justOver.counts.canary.viewers).toBe(0);
    // Ended a minute before: the canary, as the rule gives it at weight 10000.
    const { period: closed } = period(
      previewed.map((ip) => load(ip, T0 + 1000)),
      always(endedAt(T0 + 1000 - PREVIEW_END_MARGIN_MS)),
    );
    expect(closed.counts.preview).toEqual({ viewers: 0, erroring: 0 });
    expect(closed.counts.canary.viewers).toBe(5);
  });

  it('counts no voice while the edges may serve a state with the preview or one without, nor canary evidence', () => {
    const timeline: TimedState[] = [
      { state: rollout(10000), from: 0, until: T0 + 40_000 },
      { state: previewing(), from: T0 + 10_000, until: null },
    ];
    const { result, period: closed } = period(
      [
        ...previewed.map((ip) => load(ip, T0 + 20_000)),
        load(previewed[0]!, T0 + 45_000),
        // Canary under both states.
        load(others[0]!, T0 + 20_000),
      ],
      timeline,
    );
    expect(result.skipped['no agreed voice']).toBe(5);
    expect(closed.counts.preview).toEqual({ viewers: 1, erroring: 0 });
    expect(closed.counts.canary.viewers).toBe(1);
    // The newest state previews them: no canary evidence from them, however the older state had it.
    expect(closed.newestCanary).toEqual({ viewers: 1, erroring: 0 });
  });

  it('emits their viewers as a Viewers document of Role preview, without erroring viewers, beside the others', () => {
    const quiet = () => undefined;
    const metrics = functionMetrics('Acme/Widget', 'signal-consumer', {
      debug: quiet,
      info: quiet,
      warn: quiet,
      error: quiet,
    });
    const { period: closed } = period(
      [
        ...previewed.map((ip) => load(ip, T0 + 1000)),
        error(previewed[0]!, T0 + 2000, PREVIEW),
        load(others[0]!, T0 + 1000),
      ],
      always(previewing()),
    );
    const documents = periodDocuments(metrics, closed) as Record<string, unknown>[];
    const byRole = (role: string) => documents.filter((document) => document.Role === role);
    expect(documents.map((document) => document.Role)).toEqual(['canary', 'stable', 'ring', 'preview']);
    expect(byRole('preview')).toEqual([
      {
        _aws: {
          Timestamp: T0,
          CloudWatchMetrics: [
            { Namespace: 'Acme/Widget', Dimensions: [['Role']], Metrics: [{ Name: 'Viewers', Unit: 'Count' }] },
          ],
        },
        Role: 'preview',
        Viewers: 5,
      },
    ]);
    // Judged roles carry their erroring viewers; the preview's error stays out of every metric.
    expect(byRole('canary')[0]).toMatchObject({ Viewers: 1, ErroringViewers: 0 });
    expect(byRole('stable')[0]).toMatchObject({ Viewers: 0, ErroringViewers: 0 });
  });
});

describe('the consumer with its I/O', () => {
  function deps(overrides: Partial<Parameters<typeof createSignalConsumer>[1]> = {}) {
    const emitted: { start: number; unjudged: string | null }[] = [];
    const lates: number[] = [];
    const logged: Record<string, unknown>[] = [];
    return {
      emitted,
      lates,
      logged,
      deps: {
        timeline: async () => always(steadyState(STABLE)),
        advanceCheckpoint: async (from: string | null) => from !== null,
        emit: (closed: readonly { start: number; unjudged: string | null }[], late: number) => {
          emitted.push(...closed.map((p) => ({ start: p.start, unjudged: p.unjudged })));
          if (late > 0) lates.push(late);
        },
        log: (_message: string, details: Record<string, unknown>) => logged.push(details),
        now: () => T0,
        judgments: { read: async () => null, write: async () => undefined },
        emitVerdict: () => undefined,
        requestSync: async () => undefined,
        ...overrides,
      },
    };
  }

  it('keeps its tallies across batches while the checkpoint says it read the records before', async () => {
    const io = deps();
    const consumer = createSignalConsumer(JUDGED, io.deps);
    await consumer([load('192.0.2.1', T0 - PERIOD)]);
    await consumer([load('192.0.2.2', T0 + 1000), error('192.0.2.2', T0 + 2000, STABLE, 'm')]);
    const summary = await consumer([closer(T0)]);
    expect(summary.resumed).toBe(true);
    expect(io.emitted).toContainEqual({ start: T0, unjudged: null });
    // The message is logged with its role and build, never the address.
    expect(io.logged).toContainEqual({
      period: new Date(T0).toISOString(),
      role: 'stable',
      buildId: STABLE,
      errorMessage: 'm',
    });
    expect(JSON.stringify(io.logged)).not.toContain('192.0.2.2');
  });

  it('tells rollout sync, once, the moment a step judged healthy before its time is due', async () => {
    const release = rollout(1000);
    const requests: string[] = [];
    let now = T0 + 4 * PERIOD;
    const record = {
      ...newJudgmentRecord({ salt: release.salt!, stable: STABLE, canary: CANARY }),
      healthyAt: { 1000: T0 + PERIOD },
    };
    const io = deps({
      // The release's first step was written at T0: the next is due five minutes later.
      timeline: async () => [{ state: release, from: T0, until: null }],
      judgments: { read: async () => record, write: async () => undefined },
      requestSync: async (why: string) => {
        requests.push(why);
      },
      now: () => now,
    });
    const consumer = createSignalConsumer(JUDGED, io.deps);
    await consumer([load('192.0.2.1', now - 1000)]);
    expect(requests).toEqual([]);
    now = T0 + 5 * PERIOD + 1;
    await consumer([load('192.0.2.2', now - 1000)]);
    await consumer([load('192.0.2.3', now)]);
    expect(requests).toEqual(['the step after 10 % is due']);
    expect(stepDueAt(STEPS, 1000, T0)).toBe(T0 + 5 * PERIOD);
    expect(stepDueAt(STEPS, 10000, T0)).toBeNull();
    expect(stepDueAt(STEPS, 2500, T0)).toBeNull();
  });

  it(
    "reads the release's record again when it lost its place (another container may have judged), and keeps none " +
      'it could not write',
    async () => {
      const release = rollout(1000);
      const stored = newJudgmentRecord(
        { salt: release.salt!, stable: STABLE, canary: CANARY },
        { viewers: 6000, erroring: 60 },
      );
      let reads = 0;
      let failWrites = 1;
      const requests: string[] = [];
      let resumed = true;
      const io = deps({
        timeline: async () => [{ state: release, from: T0 - PERIOD, until: null }],
        advanceCheckpoint: async (from: string | null) => from !== null && resumed,
        judgments: {
          read: async () => {
            reads += 1;
            return stored;
          },
          write: async () => {
            if (failWrites-- > 0) throw new Error('ProvisionedThroughputExceededException');
          },
        },
        requestSync: async (why: string) => {
          requests.push(why);
        },
      });
      const consumer = createSignalConsumer(JUDGED, io.deps);
      await consumer([load('192.0.2.1', T0)]);
      await consumer([load('192.0.2.2', T0 + 1000)]);
      expect(reads).toBe(1);
      // Another container read meanwhile: this one's record may be stale.
      resumed = false;
      await consumer([load('192.0.2.3', T0 + 2000)]);
      expect(reads).toBe(2);
      resumed = true;
      // Canary viewers all erring: failing. The write fails, so the batch fails and nothing is kept...
      const failing = addressesOn(release, CANARY, 12);
      // (In the next period: this consumer saw that one from its start.)
      const batch = failing.flatMap((ip, i) => [
        load(ip, T0 + PERIOD + 1000 + i),
        error(ip, T0 + PERIOD + 1000 + i, CANARY),
      ]);
      await expect(consumer(batch)).rejects.toThrow('ProvisionedThroughputExceededException');
      expect(requests).toEqual([]);
      // ...the retry starts from the table's record (its periods unjudged: a retried batch may count twice)...
      await consumer(batch);
      expect(reads).toBe(3);
      expect(requests).toEqual([]);
      // ...and the next period's failing viewers are judged on it: written, and rollout sync woken.
      const next = addressesOn(release, CANARY, 30).slice(12);
      await consumer(
        next.flatMap((ip, i) => [load(ip, T0 + 2 * PERIOD + 1000 + i), error(ip, T0 + 2 * PERIOD + 1000 + i, CANARY)]),
      );
      expect(requests).toEqual([`the judge found canary ${CANARY} failing`]);
    },
  );

  it('starts afresh after a failed batch, so a retry cannot count twice', async () => {
    let fail = false;
    const io = deps({
      timeline: async () => {
        if (fail) throw new Error('the table is unreachable');
        return always(steadyState(STABLE));
      },
    });
    const consumer = createSignalConsumer(JUDGED, io.deps);
    await consumer([load('192.0.2.1', T0 - PERIOD)]);
    await consumer([load('192.0.2.2', T0 + 1000)]);
    fail = true;
    await expect(consumer([load('192.0.2.3', T0 + 2000)])).rejects.toThrow('the table is unreachable');
    fail = false;
    await consumer([load('192.0.2.3', T0 + 2000), closer(T0)]);
    expect(io.emitted.find((p) => p.start === T0)?.unjudged).toBe('the consumer started after the period began');
  });
});

/**
 * The release signal's contracts: the real-time log record, the error report, who a voice is and
 * which role the rule gives it (no /64 of a /48 can pick it), the stream's sizing, the unjudged
 * alarm's metric math.
 */
import { errorReportUrl, MAX_MESSAGE_LENGTH, parseErrorReport } from '../../contracts/error-report';
import { evaluateQueries } from '../../contracts/metric-math';
import { fieldOrder, formatRecord, parseRecord, REALTIME_LOG_FIELDS } from '../../contracts/realtime-log';
import {
  judge,
  judgeUnderEach,
  PREVIEW_END_MARGIN_MS,
  statePropagationMs,
  unjudgedAlarmQueries,
} from '../../contracts/release-signal';
import { assignBuild, viewerKey } from '../../contracts/assignment';
import { steadyState, type RolloutState } from '../../contracts/rollout-state';
import { capacityProblem, signalCapacity } from '../../contracts/signal-capacity';

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const rollout = (weight: number, salt = 'd-VOICE0001'): RolloutState => ({
  stable: STABLE,
  canary: CANARY,
  weight,
  salt,
  ring: ['https://demo.example.com'],
});

describe('a real-time log record', () => {
  it('is the configured fields, tab-separated, `-` for none, and reads back as written', () => {
    expect(REALTIME_LOG_FIELDS).toEqual([
      'timestamp',
      'c-ip',
      'cs-method',
      'cs-uri-stem',
      'cs-uri-query',
      'sc-status',
      'cs-referer',
    ]);
    const record = {
      at: 1_800_000_000_123,
      clientIp: '2001:db8::1',
      method: 'GET',
      uri: '/api/e',
      query: 'b=0123456789abcdef&m=x',
      status: 204,
      referer: null,
    };
    const text = formatRecord(record);
    expect(text).toBe('1800000000.123\t2001:db8::1\tGET\t/api/e\tb=0123456789abcdef&m=x\t204\t-\n');
    expect(parseRecord(text)).toEqual(record);
    expect(parseRecord(formatRecord({ ...record, query: '' }))?.query).toBe('');
  });

  it(
    'reads the fields in the order CloudFront reports it writes them in, and refuses a ' +
      'configuration of other fields',
    () => {
      const record = {
        at: 1_800_000_000_123,
        clientIp: '198.51.100.7',
        method: 'GET',
        uri: '/assets/index.js',
        query: '',
        status: 304,
        referer: 'https://shop.example.com/',
      };
      const order = fieldOrder([
        'sc-status',
        'cs-referer',
        'timestamp',
        'cs-uri-query',
        'c-ip',
        'cs-uri-stem',
        'cs-method',
      ]);
      const text = formatRecord(record, order);
      expect(text.split('\t')[0]).toBe('304');
      expect(parseRecord(text, order)).toEqual(record);
      // Read in the stacks' order instead, the same bytes are no record at all.
      expect(parseRecord(text)).toBeNull();
      expect(() => fieldOrder([...REALTIME_LOG_FIELDS, 'sc-bytes'])).toThrow(
        /sends timestamp, .*sc-bytes; the signal consumer reads exactly timestamp/,
      );
      expect(() => fieldOrder(REALTIME_LOG_FIELDS.slice(1))).toThrow(/reads exactly/);
    },
  );

  it('refuses what is not one: other fields, a bad time or status, no address', () => {
    for (const bad of [
      '',
      'a\tb',
      '1800000000.123\t1.2.3.4\tGET\t/\t-\t200',
      'soon\t1.2.3.4\tGET\t/\t-\t200\t-',
      '1800000000.123\t-\tGET\t/\t-\t200\t-',
      '1800000000.123\t1.2.3.4\tGET\t/\t-\tOK\t-',
    ]) {
      expect([bad, parseRecord(bad)]).toEqual([bad, null]);
    }
  });
});

describe('an error report', () => {
  it('is one GET to /api/e of the distribution naming the build and at most 120 characters of the message', () => {
    const url = errorReportUrl('https://widget.example.com/assets/index.js', STABLE, `x&y=${'m'.repeat(300)}`);
    expect(url.startsWith('https://widget.example.com/api/e?b=0123456789abcdef&m=x%26y%3D')).toBe(true);
    const report = parseErrorReport(new URL(url).search.slice(1));
    expect(report).toEqual({ buildId: STABLE, message: `x&y=${'m'.repeat(MAX_MESSAGE_LENGTH - 4)}` });
    expect(parseErrorReport('m=only-a-message')).toBeNull();
    expect(parseErrorReport('b=NOTABUILD')).toBeNull();
    expect(parseErrorReport(`b=${STABLE}`)).toEqual({ buildId: STABLE, message: '' });
  });
});

describe('a voice, and the role the rule gives it', () => {
  it('is the unit assigned: an IPv4 address, or an IPv6 /48', () => {
    expect(viewerKey('203.0.113.9')).toBe('203.0.113.9');
    expect(viewerKey('2001:db8:1234:5678::1')).toBe('2001:db8:1234::/48');
    expect(viewerKey('2001:0db8:1234:ffff:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1234::/48');
    expect(viewerKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(viewerKey('not an address')).toBeNull();
    expect(judge(rollout(5000), '2001:db8:1234:5678::1', null, 0)?.voice).toBe('2001:db8:1234::/48');
  });

  it('gives an IPv4 viewer the role of the build it was assigned', () => {
    const state = rollout(3000);
    for (let i = 1; i <= 500; i += 1) {
      const ip = `198.51.100.${i % 256}`;
      const judgment = judge(state, ip, null, 0)!;
      expect(judgment.build).toBe(assignBuild(state, ip, null, 0));
      expect(judgment.role).toBe(judgment.build === CANARY ? 'canary' : 'stable');
    }
    expect(judge(steadyState(STABLE), '198.51.100.1', null, 0)).toEqual({
      voice: '198.51.100.1',
      role: 'stable',
      build: STABLE,
    });
    expect(judge(state, '198.51.100.1', 'https://demo.example.com', 0)).toEqual({
      voice: '198.51.100.1',
      role: 'ring',
      build: CANARY,
    });
  });

  it(
    'gives a /48 one role and one build: every /64 of it ' + 'is the same voice, in the role the rule gives the /48',
    () => {
      for (let n = 0; n < 200; n += 1) {
        const state = rollout(2000 + (n % 6) * 1000, `d-PROBE${n}`);
        const prefix = `2001:db8:${n.toString(16)}`;
        const judgments = Array.from(
          { length: 64 },
          (_, i) => judge(state, `${prefix}:${i.toString(16)}::1`, null, 0)!,
        );
        expect(new Set(judgments.map((j) => `${j.voice} ${j.role} ${j.build}`)).size).toBe(1);
        expect(judgments[0]!.voice).toBe(`${prefix}::/48`);
        expect(judgments[0]!.build).toBe(assignBuild(state, `${prefix}:ffff::1`, null, 0));
      }
    },
  );

  it('leaves a /48 no way to vote in both roles, or the one it wants, by probing its /64s', () => {
    // Over many deployments (salts), a /48 is canary about as often as the weight says, whatever it probes.
    const weight = 2000;
    let canary = 0;
    const trials = 1500;
    for (let n = 0; n < trials; n += 1) {
      const state = rollout(weight, `d-SALT${n}`);
      const roles = new Set(
        Array.from({ length: 32 }, (_, i) => judge(state, `2001:db8:aa:${i.toString(16)}::1`, null, 0)?.role).filter(
          Boolean,
        ),
      );
      expect(roles.size).toBeLessThanOrEqual(1);
      if (roles.has('canary')) canary += 1;
    }
    expect(canary / trials).toBeGreaterThan(0.16);
    expect(canary / trials).toBeLessThan(0.24);
  });

  it('counts a request only where every state the edges may serve agrees', () => {
    const before = rollout(1000);
    const after = rollout(5000);
    let agreed = 0;
    let moved = 0;
    for (let i = 1; i <= 1000; i += 1) {
      const ip = `203.0.${i >> 8}.${i & 0xff}`;
      const a = judge(before, ip, null, 0)!;
      const b = judge(after, ip, null, 0)!;
      const both = judgeUnderEach([before, after], ip, null, 0);
      if (a.role === b.role) {
        expect(both).toEqual(a);
        agreed += 1;
      } else {
        expect(both).toBeNull();
        moved += 1;
      }
    }
    // Raising the weight from 10 % to 50 % moves about 40 % of viewers; the rest keep their role.
    expect(moved).toBeGreaterThan(300);
    expect(agreed).toBeGreaterThan(500);
    expect(statePropagationMs({ stateCacheSeconds: 60 })).toBe(100_000);
  });
});

describe('a previewed viewer', () => {
  const PREVIEW = 'abcdefabcdefabcd';
  const AT = 1_800_000_000_000;
  const UNTIL = AT / 1000 + 600;
  const previewing = (state: RolloutState, viewer = '203.0.113.0/24', build = PREVIEW): RolloutState => ({
    ...state,
    previews: [{ build, viewer, until: UNTIL }],
  });

  it("counts as preview, for the preview's build, in the voice the rule keys it by, whatever else it says", () => {
    for (const state of [rollout(0), rollout(5000), rollout(10000), steadyState(STABLE)])
      for (const origin of [null, 'https://demo.example.com'])
        expect(judge(previewing(state), '203.0.113.9', origin, AT)).toEqual({
          voice: '203.0.113.9',
          role: 'preview',
          build: PREVIEW,
        });
    // A preview of the canary or the stable build is a preview all the same: never a canary or stable voice.
    expect(judge(previewing(rollout(10000), '203.0.113.0/24', CANARY), '203.0.113.9', null, AT)?.role).toBe('preview');
    expect(judge(previewing(rollout(0), '203.0.113.0/24', STABLE), '203.0.113.9', null, AT)?.role).toBe('preview');
    // An IPv6 /64 preview: the voice is still the viewer's /48; an IPv4-mapped viewer is its IPv4 address.
    expect(judge(previewing(rollout(5000), '2001:db8:7:42::/64'), '2001:db8:7:42::1', null, AT)).toEqual({
      voice: '2001:db8:7::/48',
      role: 'preview',
      build: PREVIEW,
    });
    expect(judge(previewing(rollout(5000)), '::ffff:203.0.113.9', null, AT)?.voice).toBe('203.0.113.9');
    // A viewer outside: the role the rule gives it; no address: no voice.
    const outside = '198.51.100.9';
    expect(judge(previewing(rollout(5000)), outside, null, AT)).toEqual(judge(rollout(5000), outside, null, AT));
    expect(judge(previewing(rollout(5000)), 'not an address', null, AT)).toBeNull();
  });

  it(
    "is over by `at`, and counts for nothing for a minute after its end (the edge chose before the record's " +
      'time); then the usual role',
    () => {
      const state = previewing(rollout(5000, 'd-VOICE0001'));
      const end = UNTIL * 1000;
      expect(judge(state, '203.0.113.9', null, end - 1)?.role).toBe('preview');
      for (const at of [end, end + 1000, end + PREVIEW_END_MARGIN_MS - 1])
        expect(judge(state, '203.0.113.9', null, at)).toBeNull();
      const after = judge(state, '203.0.113.9', null, end + PREVIEW_END_MARGIN_MS)!;
      expect(after).toEqual(judge(rollout(5000), '203.0.113.9', null, end + PREVIEW_END_MARGIN_MS));
      expect(after.role).not.toBe('preview');
      expect(judge(state, '203.0.113.9', 'https://demo.example.com', end + PREVIEW_END_MARGIN_MS)?.role).toBe('ring');
      // Viewers the preview never held are counted through its end as ever.
      expect(judge(state, '198.51.100.9', null, end)).toEqual(judge(rollout(5000), '198.51.100.9', null, end));
    },
  );

  it('counts only where every state the edges may serve agrees: a preview in one and not the other is none', () => {
    const without = rollout(5000);
    for (const build of [PREVIEW, STABLE, CANARY]) {
      const withIt = previewing(without, '203.0.113.0/24', build);
      for (let i = 0; i < 50; i += 1) {
        const ip = `203.0.113.${i}`;
        expect(judgeUnderEach([without, withIt], ip, null, AT)).toBeNull();
        expect(judgeUnderEach([withIt, without], ip, 'https://demo.example.com', AT)).toBeNull();
      }
      // In both: a preview; once it ended in both, the states agree again.
      expect(judgeUnderEach([withIt, withIt], '203.0.113.9', null, AT)).toEqual({
        voice: '203.0.113.9',
        role: 'preview',
        build,
      });
      const over = UNTIL * 1000 + PREVIEW_END_MARGIN_MS;
      expect(judgeUnderEach([without, withIt], '203.0.113.9', null, over)).toEqual(
        judge(without, '203.0.113.9', null, over),
      );
    }
    // Two previews of the same viewer, of other builds: no agreement either.
    expect(
      judgeUnderEach([previewing(without), previewing(without, '203.0.113.9/32', CANARY)], '203.0.113.9', null, AT),
    ).toBeNull();
  });
});

describe('the stream, sized', () => {
  it('samples everything while one shard takes the peak, and less beyond it', () => {
    expect(signalCapacity({ expectedLoadsPerDay: 1_000_000, peakToAverage: 3 })).toMatchObject({
      samplingPercent: 100,
      shards: 1,
    });
    expect(signalCapacity({ expectedLoadsPerDay: 100_000_000, peakToAverage: 3 }).samplingPercent).toBe(23);
    expect(
      signalCapacity({ expectedLoadsPerDay: 100_000_000, peakToAverage: 3 }).peakRecordsPerSecond,
    ).toBeLessThanOrEqual(800);
    expect(capacityProblem({ expectedLoadsPerDay: 100_000_000, peakToAverage: 3, samplingPercent: 50 })).toMatch(
      /set metrics.samplingPercent to at most 23/,
    );
    expect(capacityProblem({ expectedLoadsPerDay: 100_000_000, peakToAverage: 3, samplingPercent: 20 })).toBeNull();
  });
});

describe('the unjudged alarm', () => {
  const queries = unjudgedAlarmQueries(
    { latenessSeconds: 20 },
    { consumerFunction: 'w-signal-consumer', stream: 'w-signal' },
  );
  const evaluate = (inputs: Record<string, number | null>) =>
    evaluateQueries(queries.expressions, inputs)[queries.resultId];

  it(
    'breaches on an unjudged period or late records (one metric), a consumer error, records the full shard ' +
      'refused, or a reader behind, and has no value when nothing reads the stream',
    () => {
      const quiet = { unjudged_raw: null, failures_raw: null, age: 0, throttled_raw: null };
      expect(evaluate(quiet)).toBe(0);
      expect(evaluate({ ...quiet, unjudged_raw: 1 })).toBeGreaterThan(queries.threshold);
      expect(evaluate({ ...quiet, failures_raw: 1 })).toBeGreaterThan(queries.threshold);
      expect(evaluate({ ...quiet, throttled_raw: 12 })).toBe(1);
      expect(evaluate({ ...quiet, throttled_raw: 0 })).toBe(0);
      expect(evaluate({ ...quiet, age: 20_001 })).toBeGreaterThan(queries.threshold);
      expect(evaluate({ ...quiet, age: 20_000 })).toBe(0);
      expect(evaluate({ ...quiet, age: null })).toBeNull();
    },
  );
});

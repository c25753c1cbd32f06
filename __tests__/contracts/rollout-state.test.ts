import {
  formatRolloutState,
  livePreviews,
  MAX_STATE_BYTES,
  normalizeOrigin,
  parseRolloutState,
  refererOrigin,
  sharedBudget,
  stateBytes,
  steadyState,
  withoutPreview,
  withoutPreviewsOf,
  withoutRingOrigin,
  withPreview,
  withRingOrigin,
  type RolloutState,
} from '../../contracts/rollout-state';

const A = '0123456789abcdef';
const B = 'fedcba9876543210';
const rolling: RolloutState = {
  stable: A,
  canary: B,
  weight: 2500,
  salt: 'd-ABCDEF123',
  ring: ['https://demo.example.com'],
};

describe('rollout state', () => {
  it('round-trips a rollout and a settled state, in a fixed field order', () => {
    expect(formatRolloutState(rolling)).toBe(
      `{"v":1,"stable":"${A}","canary":"${B}","weight":2500,"salt":"d-ABCDEF123","ring":["https://demo.example.com"]}`,
    );
    expect(parseRolloutState(formatRolloutState(rolling))).toEqual(rolling);
    expect(parseRolloutState(formatRolloutState(steadyState(A)))).toEqual({
      stable: A,
      canary: null,
      weight: 0,
      salt: null,
      ring: [],
    });
  });

  const valid = JSON.parse(formatRolloutState(rolling)) as Record<string, unknown>;
  it.each<[string, unknown]>([
    ['empty', ''],
    ['not JSON', '{"v":1,'],
    ['an array', '[]'],
    ['null', 'null'],
    ['another version', { ...valid, v: 2 }],
    ['an unknown field', { ...valid, extra: 1 }],
    ['a missing field', (({ ring: _ring, ...rest }) => rest)(valid)],
    ['weight over 10000', { ...valid, weight: 10001 }],
    ['a negative weight', { ...valid, weight: -1 }],
    ['a fractional weight', { ...valid, weight: 1.5 }],
    ['a weight as text', { ...valid, weight: '100' }],
    ['weight without canary', { ...valid, canary: null, salt: null, weight: 10 }],
    ['a canary without salt', { ...valid, salt: null }],
    ['no canary but a salt', { ...valid, canary: null, weight: 0 }],
    ['the canary being the stable build', { ...valid, canary: A }],
    ['a path in a build id', { ...valid, stable: '../../etc/passwd' }],
    ['an uppercase build id', { ...valid, stable: A.toUpperCase() }],
    ['a salt with a space', { ...valid, salt: 'd-ABC 1' }],
    ['a ring that is not a list', { ...valid, ring: 'https://demo.example.com' }],
    ['a ring origin with a path', { ...valid, ring: ['https://demo.example.com/page'] }],
    ['a ring origin not normalized', { ...valid, ring: ['https://Demo.example.com:443'] }],
    ['a ring origin twice', { ...valid, ring: ['https://demo.example.com', 'https://demo.example.com'] }],
    ['over the value quota', `${JSON.stringify(valid)}${' '.repeat(MAX_STATE_BYTES)}`],
  ])('rejects %s', (_case, value) => {
    expect(parseRolloutState(typeof value === 'string' ? value : JSON.stringify(value))).toBeNull();
  });

  it('rejects what is not a string at all', () => {
    expect(parseRolloutState(undefined)).toBeNull();
    expect(parseRolloutState(42)).toBeNull();
  });

  it('refuses to format what it would not parse', () => {
    expect(() => formatRolloutState({ ...rolling, weight: 20000 })).toThrow(/not a valid rollout state/);
    expect(() => formatRolloutState({ ...rolling, ring: ['nope'] })).toThrow(/not a valid rollout state/);
  });
});

describe('host origins', () => {
  it.each([
    ['https://demo.example.com', 'https://demo.example.com'],
    ['HTTPS://Demo.Example.COM', 'https://demo.example.com'],
    ['https://demo.example.com:443', 'https://demo.example.com'],
    ['http://demo.example.com:80', 'http://demo.example.com'],
    ['https://demo.example.com:8443', 'https://demo.example.com:8443'],
    ['http://127.0.0.1:8081', 'http://127.0.0.1:8081'],
  ])('normalizes %s to %s', (text, origin) => {
    expect(normalizeOrigin(text)).toBe(origin);
  });

  it.each([
    'demo.example.com',
    'ftp://demo.example.com',
    'https://demo.example.com/',
    'https://user@demo.example.com',
    'https://[::1]',
    'https://demo.example.com.',
    'https://demo.example.com:0',
    'https://demo.example.com:65536',
    'https://-demo.example.com',
    '',
  ])('refuses %j', (text) => {
    expect(normalizeOrigin(text)).toBeNull();
  });

  it('takes the page origin from a Referer, the way a host page sends it', () => {
    expect(refererOrigin('https://shop.example.com/products/42?ref=mail#top')).toBe('https://shop.example.com');
    // strict-origin-when-cross-origin: a cross-origin script request carries the origin only.
    expect(refererOrigin('https://shop.example.com/')).toBe('https://shop.example.com');
    expect(refererOrigin('http://127.0.0.1:8081/?viewer=1.2.3.4')).toBe('http://127.0.0.1:8081');
    expect(refererOrigin(undefined)).toBeNull();
    expect(refererOrigin('')).toBeNull();
    expect(refererOrigin('android-app://com.example')).toBeNull();
    expect(refererOrigin('https://user:pass@shop.example.com/')).toBeNull();
    expect(refererOrigin(`https://shop.example.com/${'a'.repeat(5000)}`)).toBeNull();
  });
});

describe('the ring and the store value quota', () => {
  const origin = (n: number) => `https://customer-${String(n).padStart(3, '0')}.example.com`;

  it('adds and removes origins, normalized and once', () => {
    let state = withRingOrigin(steadyState(A), 'https://Demo.example.com:443');
    state = withRingOrigin(state, 'https://demo.example.com');
    expect(state.ring).toEqual(['https://demo.example.com']);
    expect(withoutRingOrigin(state, 'HTTPS://DEMO.EXAMPLE.COM').ring).toEqual([]);
    expect(() => withRingOrigin(state, 'demo.example.com/page')).toThrow(/is not a host origin/);
  });

  it('fills up to what leaves room for the largest rollout, then refuses with the bytes', () => {
    let state = steadyState(A);
    let added = 0;
    for (;;) {
      try {
        state = withRingOrigin(state, origin(added));
      } catch (error) {
        expect((error as Error).message).toMatch(
          new RegExp(
            'would take \\d+ of the \\d+ bytes the ring and previews may use .*1024 bytes, CloudFront ' +
              "KeyValueStore's value quota",
          ),
        );
        break;
      }
      added += 1;
    }
    // 32-character origins: the README's figure.
    expect(added).toBe(24);
    expect(sharedBudget(state).used).toBeLessThanOrEqual(sharedBudget(steadyState(state.stable)).limit);
    // Whatever rollout comes later still fits beside that ring.
    const largest: RolloutState = { ...state, canary: B, weight: 10000, salt: 'x'.repeat(64) };
    expect(stateBytes(formatRolloutState(largest))).toBeLessThanOrEqual(MAX_STATE_BYTES);
    expect(parseRolloutState(formatRolloutState(largest))).toEqual(largest);
  });

  it('refuses to format a state over the quota, saying how big it would be', () => {
    const ring = Array.from({ length: 40 }, (_, n) => origin(n));
    expect(() => formatRolloutState({ ...rolling, ring })).toThrow(
      /would be \d+ bytes, over the 1024-byte value quota .*remove ring origins \(40 now\)/,
    );
  });
});

describe('previews in the rollout state', () => {
  const NOW = 1_800_000_000_000;
  /** An hour after NOW, in epoch seconds. */
  const UNTIL = NOW / 1000 + 3600;
  const previewing: RolloutState = {
    ...rolling,
    previews: [
      { build: B, viewer: '203.0.113.0/24', until: UNTIL },
      { build: A, viewer: '2001:db8:7::/48', until: UNTIL + 60 },
    ],
  };

  it('round-trips a state with previews, after the ring, as [build, viewer, until] tuples', () => {
    const text = formatRolloutState(previewing);
    expect(text).toBe(
      `{"v":1,"stable":"${A}","canary":"${B}","weight":2500,"salt":"d-ABCDEF123","ring":["https://demo.example.com"],` +
        `"previews":[["${B}","203.0.113.0/24",${UNTIL}],["${A}","2001:db8:7::/48",${UNTIL + 60}]]}`,
    );
    expect(parseRolloutState(text)).toEqual(previewing);
    // With no rollout at all, too.
    const steady: RolloutState = { ...steadyState(A), previews: [{ build: B, viewer: '198.51.100.7/32', until: 1 }] };
    expect(parseRolloutState(formatRolloutState(steady))).toEqual(steady);
  });

  it('formats a state without previews byte for byte as before, with no previews key', () => {
    const before =
      `{"v":1,"stable":"${A}","canary":"${B}","weight":2500,"salt":"d-ABCDEF123",` +
      `"ring":["https://demo.example.com"]}`;
    expect(formatRolloutState(rolling)).toBe(before);
    expect(formatRolloutState({ ...rolling, previews: [] })).toBe(before);
    expect(formatRolloutState({ ...rolling, previews: undefined })).toBe(before);
    // What an earlier reader parses has no previews field at all, not an empty one.
    expect(Object.keys(parseRolloutState(before)!)).toEqual(['stable', 'canary', 'weight', 'salt', 'ring']);
    // Removing the last preview gives the state without the field.
    const removed = withoutPreview(
      withPreview(rolling, { build: B, viewer: '203.0.113.7', until: UNTIL }, NOW),
      '203.0.113.7',
      NOW,
    );
    expect(removed).toStrictEqual(rolling);
    expect(formatRolloutState(removed)).toBe(before);
  });

  const valid = JSON.parse(formatRolloutState(previewing)) as Record<string, unknown>;
  const previewOf = (entry: unknown) => ({ ...valid, previews: [entry] });
  it.each<[string, unknown]>([
    ['an empty previews list', { ...valid, previews: [] }],
    ['previews that are not a list', { ...valid, previews: { build: B, viewer: '203.0.113.0/24', until: UNTIL } }],
    ['previews of null', { ...valid, previews: null }],
    ['a preview as an object', previewOf({ build: B, viewer: '203.0.113.0/24', until: UNTIL })],
    ['a preview of two', previewOf([B, '203.0.113.0/24'])],
    ['a preview of four', previewOf([B, '203.0.113.0/24', UNTIL, 0])],
    ['a preview of a bad build id', previewOf(['../../etc/passwd', '203.0.113.0/24', UNTIL])],
    ['a preview of an uppercase build id', previewOf([B.toUpperCase(), '203.0.113.0/24', UNTIL])],
    ['a preview of no build', previewOf([null, '203.0.113.0/24', UNTIL])],
    ['a viewer with host bits set', previewOf([B, '203.0.113.7/24', UNTIL])],
    ['a viewer shorter than a /24', previewOf([B, '203.0.112.0/23', UNTIL])],
    ['a viewer shorter than a /48', previewOf([B, '2001:db8::/47', UNTIL])],
    ['an address without its length', previewOf([B, '203.0.113.7', UNTIL])],
    ['an uppercase IPv6 prefix', previewOf([B, '2001:DB8:7::/48', UNTIL])],
    ['an IPv6 prefix with a zero group written out', previewOf([B, '2001:db8:7:0::/48', UNTIL])],
    ['an IPv6 prefix with leading zeros', previewOf([B, '2001:0db8:7::/48', UNTIL])],
    ['an IPv4-mapped prefix', previewOf([B, '::ffff:203.0.113.0/120', UNTIL])],
    ['a viewer that is no address', previewOf([B, 'garbage', UNTIL])],
    ['a viewer as a number', previewOf([B, 3405803776, UNTIL])],
    [
      'the same prefix twice',
      {
        ...valid,
        previews: [
          [B, '203.0.113.0/24', UNTIL],
          [A, '203.0.113.0/24', UNTIL + 1],
        ],
      },
    ],
    [
      'the same address twice',
      {
        ...valid,
        previews: [
          [B, '203.0.113.7/32', UNTIL],
          [A, '203.0.113.7', UNTIL],
        ],
      },
    ],
    ['a fractional until', previewOf([B, '203.0.113.0/24', UNTIL + 0.5])],
    ['an until of zero', previewOf([B, '203.0.113.0/24', 0])],
    ['a negative until', previewOf([B, '203.0.113.0/24', -1])],
    ['an until past 2286 (eleven digits)', previewOf([B, '203.0.113.0/24', 10_000_000_000])],
    ['an until in milliseconds', previewOf([B, '203.0.113.0/24', NOW])],
    ['an until as text', previewOf([B, '203.0.113.0/24', String(UNTIL)])],
    ['an until of null', previewOf([B, '203.0.113.0/24', null])],
    ['an unknown field beside the previews', { ...valid, extra: 1 }],
    ['previews in place of the ring', (({ ring: _ring, ...rest }) => rest)(valid)],
    ['previews in place of the ring, and an unknown field', { ...(({ ring: _ring, ...rest }) => rest)(valid), x: 1 }],
  ])('rejects %s', (_case, value) => {
    expect(parseRolloutState(JSON.stringify(value))).toBeNull();
  });

  it('takes the latest until it allows, the last ten-digit epoch second', () => {
    expect(parseRolloutState(JSON.stringify(previewOf([B, '203.0.113.0/24', 9_999_999_999])))).not.toBeNull();
  });

  it('refuses to format previews it would not parse', () => {
    for (const previews of [
      [
        { build: B, viewer: '203.0.113.0/24', until: UNTIL },
        { build: A, viewer: '203.0.113.0/24', until: UNTIL },
      ],
      [{ build: B, viewer: '203.0.112.0/23', until: UNTIL }],
      [{ build: B, viewer: '203.0.113.0/24', until: 1.5 }],
      [{ build: 'nope', viewer: '203.0.113.0/24', until: UNTIL }],
    ])
      expect(() => formatRolloutState({ ...rolling, previews })).toThrow(/not a valid rollout state/);
  });

  describe('withPreview and withoutPreview', () => {
    it('adds a preview in its stored form, and replaces one of the same prefix however it is written', () => {
      let state = withPreview(rolling, { build: B, viewer: '203.0.113.77/24', until: UNTIL }, NOW);
      expect(state.previews).toEqual([{ build: B, viewer: '203.0.113.0/24', until: UNTIL }]);
      state = withPreview(state, { build: A, viewer: '2001:DB8:7:1::1/48', until: UNTIL }, NOW);
      state = withPreview(state, { build: A, viewer: '203.0.113.0/24', until: UNTIL + 600 }, NOW);
      expect(state.previews).toEqual([
        { build: A, viewer: '2001:db8:7::/48', until: UNTIL },
        { build: A, viewer: '203.0.113.0/24', until: UNTIL + 600 },
      ]);
      // The rest of the state as it was, and the original untouched.
      expect({ ...state, previews: undefined }).toEqual({ ...rolling, previews: undefined });
      expect(rolling.previews).toBeUndefined();
      expect(parseRolloutState(formatRolloutState(state))).toEqual(state);
      expect(withoutPreview(state, '2001:db8:7:ffff::/48', NOW).previews).toEqual([
        { build: A, viewer: '203.0.113.0/24', until: UNTIL + 600 },
      ]);
      // Removing one there is not: the state as it was.
      expect(withoutPreview(state, '198.51.100.0/24', NOW)).toEqual(state);
    });

    it("removes every preview of a build, keeping other builds' and dropping the ended ones", () => {
      const state: RolloutState = {
        ...rolling,
        previews: [
          { build: A, viewer: '203.0.113.0/24', until: UNTIL },
          { build: B, viewer: '198.51.100.0/24', until: UNTIL },
          { build: A, viewer: '2001:db8:7::/48', until: UNTIL },
          { build: B, viewer: '198.51.101.0/24', until: NOW / 1000 },
        ],
      };
      expect(withoutPreviewsOf(state, A, NOW).previews).toEqual([
        { build: B, viewer: '198.51.100.0/24', until: UNTIL },
      ]);
      // None left: no `previews` field at all, as a state that never had one.
      expect(withoutPreviewsOf(withoutPreviewsOf(state, A, NOW), B, NOW)).toEqual(rolling);
    });

    it('drops the previews that ended when it writes, at their until exactly', () => {
      const state: RolloutState = {
        ...rolling,
        previews: [
          { build: B, viewer: '198.51.100.0/24', until: NOW / 1000 },
          { build: B, viewer: '198.51.101.0/24', until: NOW / 1000 + 1 },
        ],
      };
      expect(livePreviews(state, NOW)).toEqual([{ build: B, viewer: '198.51.101.0/24', until: NOW / 1000 + 1 }]);
      expect(livePreviews(state, NOW - 1)).toHaveLength(2);
      expect(livePreviews(state, NOW + 1000)).toEqual([]);
      expect(livePreviews(rolling, NOW)).toEqual([]);
      expect(withPreview(state, { build: A, viewer: '203.0.113.7', until: UNTIL }, NOW).previews).toEqual([
        { build: B, viewer: '198.51.101.0/24', until: NOW / 1000 + 1 },
        { build: A, viewer: '203.0.113.7/32', until: UNTIL },
      ]);
      expect(withoutPreview(state, '203.0.113.7', NOW).previews).toEqual([
        { build: B, viewer: '198.51.101.0/24', until: NOW / 1000 + 1 },
      ]);
      // All of them ended: no previews field.
      expect(withoutPreview(state, '203.0.113.7', NOW + 1000)).toStrictEqual(rolling);
    });

    it('refuses a time that is not ahead of now, or not a whole epoch second the parser takes', () => {
      for (const until of [NOW / 1000, NOW / 1000 - 1, 1])
        expect(() => withPreview(rolling, { build: B, viewer: '203.0.113.7', until }, NOW)).toThrow(
          new RangeError(`a preview must end in the future; ${until} (epoch seconds) is not ahead of now`),
        );
      for (const until of [NOW / 1000 + 0.5, 10_000_000_000, Number.NaN, Infinity])
        expect(() => withPreview(rolling, { build: B, viewer: '203.0.113.7', until }, NOW)).toThrow(RangeError);
      expect(withPreview(rolling, { build: B, viewer: '203.0.113.7', until: NOW / 1000 + 1 }, NOW).previews).toEqual([
        { build: B, viewer: '203.0.113.7/32', until: NOW / 1000 + 1 },
      ]);
    });

    it('refuses a viewer a preview cannot name, saying why, and a build that is not one', () => {
      expect(() => withPreview(rolling, { build: B, viewer: '203.0.112.0/23', until: UNTIL }, NOW)).toThrow(
        /"203\.0\.112\.0\/23" is not a prefix a preview can name: an IPv4 prefix is \/24 to \/32/,
      );
      expect(() => withPreview(rolling, { build: B, viewer: 'office', until: UNTIL }, NOW)).toThrow(
        /"office" is not an IP address or prefix/,
      );
      expect(() => withPreview(rolling, { build: 'nope', viewer: '203.0.113.7', until: UNTIL }, NOW)).toThrow(
        'not a build id: "nope"',
      );
    });
  });

  describe('the budget the ring and the previews share', () => {
    const origin = (n: number) => `https://customer-${String(n).padStart(3, '0')}.example.com`;
    /** Distinct /32s, each preview the same size. */
    const viewer = (n: number) => `198.51.${100 + (n >> 8)}.${n & 0xff}`;

    /** `state` with as many previews as fit, and the error that refused the next. */
    function fill(state: RolloutState): { state: RolloutState; added: number; error: Error } {
      // A thousand bytes hold about twenty: a budget that never refuses fails here, not after a long loop.
      for (let added = 0; added < 100; added += 1) {
        try {
          state = withPreview(state, { build: B, viewer: viewer(added), until: UNTIL }, NOW);
        } catch (error) {
          return { state, added, error: error as Error };
        }
      }
      throw new Error('a hundred previews fit: the budget never refused one');
    }

    it('counts what the ring and previews add to the stored value, against what the largest rollout leaves', () => {
      const limit = sharedBudget(steadyState(A)).limit;
      expect(sharedBudget(steadyState(A))).toEqual({ used: 0, limit });
      const largest = { ...rolling, canary: B, weight: 10000, salt: 'x'.repeat(64), ring: [] };
      expect(limit).toBe(MAX_STATE_BYTES - stateBytes(formatRolloutState(largest)));
      // Used: exactly the bytes they add to the stored value.
      for (const state of [rolling, previewing, { ...previewing, ring: [] }]) {
        const bare = { ...state, ring: [], previews: undefined };
        expect(sharedBudget(state).used).toBe(
          stateBytes(formatRolloutState(state)) - stateBytes(formatRolloutState(bare)),
        );
        expect(sharedBudget(state).limit).toBe(limit);
      }
      expect(sharedBudget({ ring: [], previews: [] }).used).toBe(0);
    });

    it('refuses a preview past the budget with a RangeError naming the counts and the bytes', () => {
      const { state, added, error } = fill(steadyState(A));
      expect(error).toBeInstanceOf(RangeError);
      const { limit } = sharedBudget(state);
      const match = new RegExp(
        '^the rollout state cannot take another preview: (\\d+) previews and 0 ring origins would take (\\d+) of ' +
          "the (\\d+) bytes they may share \\(a rollout state is at most 1024 bytes, CloudFront KeyValueStore's " +
          'value quota\\); remove a preview or a ring origin first$',
      ).exec(error.message);
      expect(match).not.toBeNull();
      expect(Number(match![1])).toBe(added + 1);
      expect(Number(match![2])).toBeGreaterThan(limit);
      expect(Number(match![3])).toBe(limit);
      expect(added).toBeGreaterThan(10);
      expect(sharedBudget(state).used).toBeLessThanOrEqual(limit);
      // Whatever rollout comes later still fits beside them.
      const largest: RolloutState = { ...state, canary: B, weight: 10000, salt: 'x'.repeat(64) };
      expect(stateBytes(formatRolloutState(largest))).toBeLessThanOrEqual(MAX_STATE_BYTES);
      expect(parseRolloutState(formatRolloutState(largest))).toEqual(largest);
      // Replacing a preview already there needs no room; an expired one gives its room back.
      expect(withPreview(state, { build: A, viewer: viewer(0), until: UNTIL }, NOW).previews).toHaveLength(added);
      const later = NOW + 3600 * 1000;
      expect(withPreview(state, { build: A, viewer: viewer(added), until: UNTIL + 7200 }, later).previews).toEqual([
        { build: A, viewer: `${viewer(added)}/32`, until: UNTIL + 7200 },
      ]);
    });

    it('leaves fewer previews room when ring origins take part of the budget, and says how many of each', () => {
      let ringed = steadyState(A);
      for (let n = 0; n < 10; n += 1) ringed = withRingOrigin(ringed, origin(n));
      const alone = fill(steadyState(A));
      const beside = fill(ringed);
      expect(beside.added).toBeLessThan(alone.added);
      expect(beside.added).toBeGreaterThan(0);
      expect(beside.error.message).toMatch(
        new RegExp(`^the rollout state cannot take another preview: ${beside.added + 1} previews and 10 ring origins `),
      );
      expect(sharedBudget(beside.state).used).toBeLessThanOrEqual(sharedBudget(beside.state).limit);
    });

    it('refuses a ring origin when the previews took the budget, naming both', () => {
      const { state, added } = fill(steadyState(A));
      // Longer than a preview: what the last refused preview left cannot hold it.
      const long = `https://${'a'.repeat(60)}.example.com`;
      expect(() => withRingOrigin(state, long)).toThrow(RangeError);
      expect(() => withRingOrigin(state, long)).toThrow(
        new RegExp(
          `^the ring cannot take ${long.replace(/\./g, '\\.')}: its 1 origins and ${added} previews would take ` +
            '\\d+ of the \\d+ bytes the ring and previews may use .*; remove an origin or a preview first$',
        ),
      );
      // Without them, the same origin fits.
      expect(withRingOrigin(steadyState(A), long).ring).toEqual([long]);
    });
  });
});

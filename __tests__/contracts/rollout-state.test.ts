import {
  formatRolloutState,
  MAX_STATE_BYTES,
  normalizeOrigin,
  parseRolloutState,
  refererOrigin,
  sharedBudget,
  stateBytes,
  steadyState,
  withoutRingOrigin,
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
          /would take \d+ of the \d+ bytes the ring and previews may use .*1024 bytes, CloudFront KeyValueStore's value quota/,
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

import fc from 'fast-check';
import { assignBuild, murmur3, previewBuild, viewerBucket, viewerKey } from '../../contracts/assignment';
import {
  formatRolloutState,
  parseRolloutState,
  steadyState,
  WEIGHT_SCALE,
  type Preview,
  type RolloutState,
} from '../../contracts/rollout-state';
// A small deterministic generator (mulberry32), independent of the hash under test.
import { seededUint32 as random } from '../../bench/events';
import { propertyRuns } from '../fixtures/property';

const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';
const rollout = (weight: number, salt = 'd-ABC123', ring: string[] = []): RolloutState => ({
  stable: STABLE,
  canary: CANARY,
  weight,
  salt,
  ring,
});

/**
 * 100,000 distinct viewers: half random IPv4, a quarter sequential IPv4 (one /16), a quarter IPv6 with distinct /48s.
 */
function syntheticViewers(): string[] {
  const next = random(20261126);
  const viewers = new Set<string>();
  while (viewers.size < 50_000) {
    const n = next();
    viewers.add(`${((n >>> 24) % 223) + 1}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
  }
  for (let i = 0; viewers.size < 75_000; i += 1) viewers.add(`10.77.${(i >>> 8) & 255}.${i & 255}`);
  while (viewers.size < 100_000) {
    const hex = () => (next() & 0xffff).toString(16);
    // Realistic text forms: full, zero-padded and compressed.
    viewers.add(`2a0${next() % 10}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`);
  }
  return [...viewers];
}

describe('murmur3', () => {
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 1234, 0xfaf6cdb3],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ])('matches the reference MurmurHash3_x86_32 for %j seed %d', (text, seed, expected) => {
    expect(murmur3(text, seed)).toBe(expected);
  });
});

describe('viewerKey', () => {
  it('keys IPv4 viewers by their address', () => {
    expect(viewerKey('203.0.113.178')).toBe('203.0.113.178');
    expect(viewerKey('0.0.0.0')).toBe('0.0.0.0');
    expect(viewerKey('255.255.255.255')).toBe('255.255.255.255');
  });

  it('keys IPv6 viewers by their /48, whatever the text form', () => {
    const key = '2001:db8:85a3::/48';
    expect(viewerKey('2001:db8:85a3::8a2e:370:7334')).toBe(key);
    expect(viewerKey('2001:0DB8:85A3:0000:1111:8a2e:0370:7334')).toBe(key);
    expect(viewerKey('2001:db8:85a3:0:ffff:ffff:ffff:ffff')).toBe(key);
    expect(viewerKey('2001:db8:85a3::')).toBe(key);
    expect(viewerKey('2001:db8:85a3:1::1')).toBe(key);
    expect(viewerKey('2001:db8:85a4::1')).not.toBe(key);
    expect(viewerKey('::1')).toBe('0:0:0::/48');
    expect(viewerKey('1:2:3:4:5:6:1.2.3.4')).toBe('1:2:3::/48');
  });

  it('keys an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(viewerKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(viewerKey('::ffff:c000:201')).toBe('192.0.2.1');
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4 ',
    'localhost',
    '2001:db8::1::2',
    '1.2.3.4::',
    '::1.2.3.4:1',
    'fe80::1%eth0',
    '12345::',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    'g::1',
    'x'.repeat(100),
  ])('refuses %j', (ip) => {
    expect(viewerKey(ip)).toBeNull();
  });
});

describe('assignBuild', () => {
  it('serves stable with no canary or weight 0, the canary at 10000, stable to a viewer without an address', () => {
    expect(assignBuild({ stable: STABLE, canary: null, weight: 0, salt: null, ring: [] }, '203.0.113.1', null, 0)).toBe(
      STABLE,
    );
    expect(assignBuild(rollout(0), '203.0.113.1', null, 0)).toBe(STABLE);
    expect(assignBuild(rollout(WEIGHT_SCALE), '203.0.113.1', null, 0)).toBe(CANARY);
    expect(assignBuild(rollout(9999), 'not-an-ip', null, 0)).toBe(STABLE);
  });

  it('gives a ring host the canary whatever the weight, and only while there is a canary', () => {
    const ring = ['https://demo.example.com'];
    for (const weight of [0, 1, 5000, 10000])
      expect(assignBuild(rollout(weight, 'd-ABC123', ring), '203.0.113.1', 'https://demo.example.com', 0)).toBe(CANARY);
    // Not another origin, not a viewer without an origin, and never after a rollback (no canary).
    expect(assignBuild(rollout(0, 'd-ABC123', ring), '203.0.113.1', 'https://other.example.com', 0)).toBe(STABLE);
    expect(assignBuild(rollout(0, 'd-ABC123', ring), '203.0.113.1', null, 0)).toBe(STABLE);
    expect(
      assignBuild(
        { stable: STABLE, canary: null, weight: 0, salt: null, ring },
        '203.0.113.1',
        'https://demo.example.com',
        0,
      ),
    ).toBe(STABLE);
  });

  it('follows the bucket: canary exactly when hash(salt, key) mod 10000 < weight', () => {
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.integer({ min: 1, max: 9999 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        (ip, weight, salt) => {
          const expected = viewerBucket(salt, viewerKey(ip)!) < weight ? CANARY : STABLE;
          expect(assignBuild(rollout(weight, salt), ip, null, 0)).toBe(expected);
        },
      ),
    );
  });

  it('is monotone: a viewer on the canary stays there at every higher weight', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6()),
        fc.integer({ min: 0, max: 10000 }),
        fc.integer({ min: 0, max: 10000 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        (ip, a, b, salt) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          if (assignBuild(rollout(low, salt), ip, null, 0) === CANARY)
            expect(assignBuild(rollout(high, salt), ip, null, 0)).toBe(CANARY);
        },
      ),
      { numRuns: propertyRuns(2000) },
    );
  });
});

describe('previews', () => {
  /** A build that is neither the stable one nor the canary. */
  const PREVIEW = 'abcdefabcdefabcd';
  const NOW = 1_800_000_000_000;
  const UNTIL = NOW / 1000 + 3600;
  const RING = 'https://demo.example.com';
  const previewed = (state: RolloutState, previews: Preview[]): RolloutState => ({ ...state, previews });
  const one = (viewer: string, build = PREVIEW, until = UNTIL): Preview => ({ build, viewer, until });

  it('gives a previewed viewer its build whatever the weight, the ring, or with no canary at all', () => {
    const previews = [one('203.0.113.0/24')];
    for (const state of [
      rollout(0),
      rollout(1),
      rollout(5000),
      rollout(WEIGHT_SCALE),
      rollout(0, 'd-ABC123', [RING]),
      rollout(WEIGHT_SCALE, 'd-ABC123', [RING]),
      steadyState(STABLE),
      steadyState(STABLE, [RING]),
    ]) {
      for (const origin of [null, RING, 'https://shop.example.com'])
        for (const ip of ['203.0.113.0', '203.0.113.77', '203.0.113.255'])
          expect(assignBuild(previewed(state, previews), ip, origin, NOW)).toBe(PREVIEW);
      expect(previewBuild(previewed(state, previews), '203.0.113.77', NOW)).toBe(PREVIEW);
    }
    // A preview of the stable build holds a viewer the weight would give the canary; of the canary, one on stable.
    expect(
      assignBuild(previewed(rollout(WEIGHT_SCALE), [one('203.0.113.0/24', STABLE)]), '203.0.113.9', null, NOW),
    ).toBe(STABLE);
    expect(assignBuild(previewed(rollout(0), [one('203.0.113.0/24', CANARY)]), '203.0.113.9', null, NOW)).toBe(CANARY);
  });

  it('ends at until exactly: in force before until × 1000 ms, over from it', () => {
    const state = previewed(rollout(0), [one('203.0.113.0/24', PREVIEW, UNTIL)]);
    expect(assignBuild(state, '203.0.113.9', null, UNTIL * 1000 - 1)).toBe(PREVIEW);
    expect(assignBuild(state, '203.0.113.9', null, UNTIL * 1000)).toBe(STABLE);
    expect(assignBuild(state, '203.0.113.9', null, UNTIL * 1000 + 1)).toBe(STABLE);
    expect(previewBuild(state, '203.0.113.9', UNTIL * 1000 - 1)).toBe(PREVIEW);
    expect(previewBuild(state, '203.0.113.9', UNTIL * 1000)).toBeNull();
  });

  it('gives the build of the longest prefix in force when previews overlap, in whatever order they are stored', () => {
    const wide = one('203.0.113.0/24', PREVIEW);
    const narrow = one('203.0.113.128/25', CANARY);
    const host = one('203.0.113.200/32', STABLE);
    for (const previews of [
      [wide, narrow, host],
      [host, narrow, wide],
      [narrow, host, wide],
    ]) {
      const state = previewed(rollout(5000), previews);
      expect(assignBuild(state, '203.0.113.200', null, NOW)).toBe(STABLE);
      expect(assignBuild(state, '203.0.113.201', null, NOW)).toBe(CANARY);
      expect(assignBuild(state, '203.0.113.127', null, NOW)).toBe(PREVIEW);
    }
    // A longer one that ended gives way to the shorter still in force.
    const ended = previewed(rollout(0), [one('203.0.113.200/32', CANARY, NOW / 1000), wide]);
    expect(assignBuild(ended, '203.0.113.200', null, NOW)).toBe(PREVIEW);
    // IPv6: a /64 inside a /48.
    const six = previewed(rollout(0), [one('2001:db8:7:42::/64', CANARY), one('2001:db8:7::/48', PREVIEW)]);
    expect(assignBuild(six, '2001:db8:7:42::1', null, NOW)).toBe(CANARY);
    expect(assignBuild(six, '2001:db8:7:43::1', null, NOW)).toBe(PREVIEW);
  });

  it('gives the longest prefix for every state the parser takes, however its prefixes are written', () => {
    // Stored forms the function might be handed: the longest prefix must still win, or the parser refuse them.
    for (const wide of ['203.0.113.0/24', '::ffff:203.0.113.0/120', '0:0:0:0:0:ffff:cb00:7100/120']) {
      for (const narrow of ['203.0.113.7/32', '203.0.113.7', '::ffff:203.0.113.7/128']) {
        const base = JSON.parse(formatRolloutState(rollout(0))) as Record<string, unknown>;
        const text = JSON.stringify({
          ...base,
          previews: [
            [CANARY, narrow, UNTIL],
            [PREVIEW, wide, UNTIL],
          ],
        });
        const state = parseRolloutState(text);
        if (state === null) continue;
        expect([wide, narrow, assignBuild(state, '203.0.113.7', null, NOW)]).toEqual([wide, narrow, CANARY]);
        expect([wide, narrow, assignBuild(state, '203.0.113.8', null, NOW)]).toEqual([wide, narrow, PREVIEW]);
      }
    }
  });

  it('previews an IPv6 /64 without the rest of its /48, and an IPv4-mapped viewer by its IPv4 preview', () => {
    const state = previewed(rollout(5000), [one('2001:db8:7:42::/64'), one('198.51.100.7/32')]);
    expect(assignBuild(state, '2001:db8:7:42::1', null, NOW)).toBe(PREVIEW);
    expect(assignBuild(state, '2001:DB8:7:42:FFFF:FFFF:FFFF:FFFF', null, NOW)).toBe(PREVIEW);
    // The other /64s of the /48 keep the /48's own build, all of them the same.
    const others = new Set(
      Array.from({ length: 64 }, (_, i) => assignBuild(state, `2001:db8:7:${(i + 0x43).toString(16)}::1`, null, NOW)),
    );
    expect(others).toEqual(new Set([assignBuild(rollout(5000), '2001:db8:7:1::1', null, NOW)]));
    expect(assignBuild(state, '::ffff:198.51.100.7', null, NOW)).toBe(PREVIEW);
    expect(assignBuild(state, '::ffff:c633:6407', null, NOW)).toBe(PREVIEW);
    expect(assignBuild(state, '::ffff:198.51.100.8', null, NOW)).toBe(
      assignBuild(rollout(5000), '198.51.100.8', null, NOW),
    );
    // An IPv6 viewer whose first 32 bits spell the previewed IPv4 address is not it.
    expect(previewBuild(state, 'c633:6407::1', NOW)).toBeNull();
    expect(previewBuild(state, 'not-an-ip', NOW)).toBeNull();
    expect(assignBuild(state, 'not-an-ip', null, NOW)).toBe(STABLE);
  });

  it('leaves every viewer outside the previews to the usual rule', () => {
    const previews = [one('203.0.113.0/24'), one('2001:db8:7::/48'), one('198.51.100.7/32', CANARY, NOW / 1000)];
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('198.51.100.7')),
        fc.integer({ min: 0, max: 10000 }),
        fc.constantFrom(null, RING, 'https://shop.example.com'),
        (ip, weight, origin) => {
          const state = rollout(weight, 'd-ABC123', [RING]);
          const inside = ip.startsWith('203.0.113.') || viewerKey(ip) === '2001:db8:7::/48';
          expect(previewBuild(previewed(state, previews), ip, NOW)).toBe(inside ? PREVIEW : null);
          if (!inside)
            expect(assignBuild(previewed(state, previews), ip, origin, NOW)).toBe(assignBuild(state, ip, origin, NOW));
        },
      ),
      { numRuns: propertyRuns(20_000) },
    );
  });
});

describe('assignment over 100,000 synthetic viewers (IPv4 and IPv6)', () => {
  const viewers = syntheticViewers();
  const keys = viewers.map((ip) => viewerKey(ip)!);
  const WEIGHTS = [100, 1000, 2500, 5000, 9000];
  const cohort = (salt: string, weight: number) => new Set(keys.filter((key) => viewerBucket(salt, key) < weight));

  it('has 100,000 distinct viewers', () => {
    expect(new Set(keys).size).toBe(100_000);
    expect(keys.filter((key) => key.endsWith('/48'))).toHaveLength(25_000);
  });

  it.each(WEIGHTS)('puts within 1 percentage point of %d bp on the canary, in every address family', (weight) => {
    const share = (list: readonly string[]) =>
      list.filter((key) => viewerBucket('d-ABC123', key) < weight).length / list.length;
    expect(Math.abs(share(keys) - weight / WEIGHT_SCALE)).toBeLessThan(0.01);
    // Each kind on its own too: sequential addresses in one /16 must not cluster.
    expect(Math.abs(share(keys.slice(0, 50_000)) - weight / WEIGHT_SCALE)).toBeLessThan(0.01);
    expect(Math.abs(share(keys.slice(50_000, 75_000)) - weight / WEIGHT_SCALE)).toBeLessThan(0.01);
    expect(Math.abs(share(keys.slice(75_000)) - weight / WEIGHT_SCALE)).toBeLessThan(0.01);
  });

  it('moves nobody off the canary as the weight rises', () => {
    let previous = new Set<string>();
    for (const weight of WEIGHTS) {
      const onCanary = new Set(viewers.filter((ip) => assignBuild(rollout(weight), ip, null, 0) === CANARY));
      const left = [...previous].filter((ip) => !onCanary.has(ip));
      expect(left).toEqual([]);
      expect(onCanary.size).toBeGreaterThan(previous.size);
      previous = onCanary;
    }
  });

  it('draws an independent cohort for a new salt: overlap near w², not w', () => {
    for (const weight of [1000, 2500, 5000]) {
      const first = cohort('d-FIRST00', weight);
      const second = cohort('d-SECOND0', weight);
      const overlap = [...first].filter((key) => second.has(key)).length / keys.length;
      const w = weight / WEIGHT_SCALE;
      expect(Math.abs(overlap - w * w)).toBeLessThan(0.01);
      expect(overlap).toBeLessThan(w * 0.75);
    }
  });

  it(
    'keeps every address of one IPv6 /48 on the same build (privacy addresses rotate the low 64 bits; a /48 ' +
      'probing its /64s finds one build)',
    () => {
      const next = random(7);
      for (let i = 0; i < 200; i += 1) {
        const prefix =
          `2a02:${(next() & 0xffff).toString(16)}:` +
          `${(next() & 0xffff).toString(16)}:${(next() & 0xffff).toString(16)}`;
        const builds = new Set(
          Array.from({ length: 5 }, () =>
            assignBuild(
              rollout(5000),
              `${prefix}:${(next() & 0xffff).toString(16)}:` +
                `${(next() & 0xffff).toString(16)}::${(next() & 0xffff).toString(16)}`,
              null,
              0,
            ),
          ),
        );
        expect(builds.size).toBe(1);
      }
    },
  );
});

/**
 * The viewer addresses and prefixes a preview names (contracts/viewer-address.ts): the one stored
 * form, the prefixes refused (shorter than a /24 or a /48, not an address), the words an operator
 * gets, and which addresses a prefix holds, at its edges and in each family only.
 */
import fc from 'fast-check';
import {
  addressGroups,
  inViewerPrefix,
  MIN_PREFIX_IPV4,
  MIN_PREFIX_IPV6,
  normalizeViewerPrefix,
  parseViewerPrefix,
  viewerPrefixProblem,
} from '../../contracts/viewer-address';
import { propertyRuns } from '../fixtures/property';

/** Whether the address `ip` is inside the stored `prefix`, through the function's own path. */
const inside = (ip: string, prefix: string) => {
  const groups = addressGroups(ip);
  if (groups === null) throw new Error(`${ip} is not an address`);
  return inViewerPrefix(groups, prefix);
};

/** An address's bits as one number (BigInt), from its 16-bit groups, independently of the module's masking. */
const bitsOf = (groups: readonly number[]) => groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
const masked = (groups: readonly number[], length: number) => {
  const width = BigInt(groups.length * 16);
  return (bitsOf(groups) >> (width - BigInt(length))) << (width - BigInt(length));
};
/** `groups` with bit `bit` (0: the most significant) flipped. */
const flipped = (groups: readonly number[], bit: number) =>
  groups.map((group, i) => (i === bit >> 4 ? group ^ (1 << (15 - (bit & 15))) : group));
const ipv4Text = (groups: readonly number[]) =>
  `${groups[0]! >>> 8}.${groups[0]! & 0xff}.${groups[1]! >>> 8}.${groups[1]! & 0xff}`;
/** The full, uncompressed text form, in either case. */
const ipv6Text = (groups: readonly number[], upper = false) => {
  const text = groups.map((group) => group.toString(16).padStart(4, '0')).join(':');
  return upper ? text.toUpperCase() : text;
};
const isMapped = (groups: readonly number[]) => groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;

describe('normalizeViewerPrefix: the one stored form', () => {
  it.each([
    // An address alone is its own /32 or /128.
    ['203.0.113.7', '203.0.113.7/32'],
    ['203.0.113.7/32', '203.0.113.7/32'],
    // Host bits are masked off.
    ['203.0.113.7/24', '203.0.113.0/24'],
    ['203.0.113.255/25', '203.0.113.128/25'],
    ['203.0.113.127/25', '203.0.113.0/25'],
    ['203.0.113.0/24', '203.0.113.0/24'],
    // IPv6: lowercase groups without leading zeros, trailing zero groups as `::`.
    ['2001:db8:7::/48', '2001:db8:7::/48'],
    ['2001:DB8:7::/48', '2001:db8:7::/48'],
    ['2001:0db8:0007:0000:0000:0000:0000:0000/48', '2001:db8:7::/48'],
    ['2001:db8:7:1:2:3:4:5/48', '2001:db8:7::/48'],
    ['2001:db8:7:ff:1:2:3:4/60', '2001:db8:7:f0::/60'],
    ['2001:db8:7:42:1::/64', '2001:db8:7:42::/64'],
    // Zero groups that do not end the address are written out, not compressed.
    ['2001:db8:0:1::/64', '2001:db8:0:1::/64'],
    ['2001:0:0:0:0:0:0:1', '2001:0:0:0:0:0:0:1/128'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6/128'],
    ['2001:db8:1:2:3:4:5:0', '2001:db8:1:2:3:4:5::/128'],
    ['2001:db8:1:2:3:4:5::/128', '2001:db8:1:2:3:4:5::/128'],
    ['::/48', '::/48'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304/128'],
    // An IPv4-mapped IPv6 address or prefix is the IPv4 one.
    ['::ffff:198.51.100.7', '198.51.100.7/32'],
    ['::FFFF:C633:6407', '198.51.100.7/32'],
    ['0:0:0:0:0:ffff:c633:6407', '198.51.100.7/32'],
    ['::ffff:198.51.100.7/128', '198.51.100.7/32'],
    ['::ffff:198.51.100.7/120', '198.51.100.0/24'],
  ])('%s → %s', (text, stored) => {
    expect(normalizeViewerPrefix(text)).toBe(stored);
    // The stored form is its own normal form, and what the function parses.
    expect(normalizeViewerPrefix(stored)).toBe(stored);
    expect(parseViewerPrefix(stored)).not.toBeNull();
  });

  it.each([
    ['an IPv4 prefix shorter than a /24', '203.0.112.0/23'],
    ['an IPv6 prefix shorter than a /48', '2001:db8::/47'],
    ['a mapped prefix shorter than an IPv4 /24', '::ffff:198.51.100.0/119'],
    ['a /0', '0.0.0.0/0'],
    ['an IPv4 length past 32', '203.0.113.7/33'],
    ['an IPv6 length past 128', '2001:db8::1/129'],
    ['a mapped length past 128', '::ffff:198.51.100.7/129'],
    ['a length with a leading zero', '203.0.113.0/024'],
    ['a signed length', '203.0.113.0/+24'],
    ['a negative length', '203.0.113.0/-24'],
    ['an empty length', '203.0.113.0/'],
    ['a length alone', '/24'],
    ['two lengths', '203.0.113.0/24/32'],
    ['three slashes', '203.0.113.0///24'],
    ['an octet with a leading zero', '203.0.113.07'],
    ['a first octet with a leading zero', '023.0.113.7/32'],
    ['an octet over 255', '203.0.113.256'],
    ['three octets', '203.0.113/24'],
    ['garbage', 'garbage'],
    ['a host name', 'example.com/24'],
    ['nothing', ''],
    ['a space', ' 203.0.113.7'],
    ['two ::', '2001:db8::1::/64'],
    ['nine groups', '1:2:3:4:5:6:7:8:9/128'],
    ['a zone', 'fe80::1%eth0/64'],
    ['a five-digit group', '2001:db8:7:10000::/64'],
    ['too long to be one', `2001:db8:7::/48${' '.repeat(40)}`],
  ])('refuses %s (%j)', (_case, text) => {
    expect(normalizeViewerPrefix(text)).toBeNull();
    expect(parseViewerPrefix(text)).toBeNull();
    expect(viewerPrefixProblem(text)).not.toBeNull();
  });

  it('names the shortest prefix of each family as the module says', () => {
    expect([MIN_PREFIX_IPV4, MIN_PREFIX_IPV6]).toEqual([24, 48]);
    expect(normalizeViewerPrefix('203.0.113.0/24')).toBe('203.0.113.0/24');
    expect(normalizeViewerPrefix('2001:db8:7::/48')).toBe('2001:db8:7::/48');
  });

  it('masks any IPv4 address to any length from /24 to /32, into a form that is its own normal form', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })),
        fc.integer({ min: MIN_PREFIX_IPV4, max: 32 }),
        ([high, low], length) => {
          const groups = [high, low];
          const stored = normalizeViewerPrefix(`${ipv4Text(groups)}/${length}`)!;
          expect(stored).toMatch(/^(?:(?:0|[1-9]\d{0,2})\.){3}(?:0|[1-9]\d{0,2})\/\d+$/);
          expect(normalizeViewerPrefix(stored)).toBe(stored);
          const parsed = parseViewerPrefix(stored)!;
          expect(parsed.length).toBe(length);
          expect(bitsOf(parsed.groups)).toBe(masked(groups, length));
          // Written as an IPv4-mapped IPv6 prefix: the same.
          expect(normalizeViewerPrefix(`::ffff:${ipv4Text(groups)}/${length + 96}`)).toBe(stored);
        },
      ),
      { numRuns: propertyRuns(20_000) },
    );
  });

  it('masks any IPv6 address to any length from /48 to /128: lowercase, no leading zeros, trailing zeros as ::', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: MIN_PREFIX_IPV6, max: 128 }),
        fc.boolean(),
        (groups, length, upper) => {
          fc.pre(!isMapped(groups));
          const stored = normalizeViewerPrefix(`${ipv6Text(groups, upper)}/${length}`)!;
          expect(stored).toMatch(/^[0-9a-f:]+\/\d+$/);
          // No group with a leading zero, no zero group left at the end, at most one `::`, and only at the end.
          expect(stored).not.toMatch(/(?:^|:)0[0-9a-f]/);
          expect(stored).not.toMatch(/:0(?:::)?\//);
          expect(stored.split('::').length).toBeLessThanOrEqual(2);
          if (stored.includes('::')) expect(stored).toMatch(/::\/\d+$/);
          expect(normalizeViewerPrefix(stored)).toBe(stored);
          const parsed = parseViewerPrefix(stored)!;
          expect(parsed.length).toBe(length);
          expect(bitsOf(parsed.groups)).toBe(masked(groups, length));
        },
      ),
      { numRuns: propertyRuns(20_000) },
    );
  });
});

describe('viewerPrefixProblem: what an operator reads', () => {
  it('says nothing of what a preview can name', () => {
    for (const text of ['203.0.113.7', '203.0.113.7/24', '2001:db8:7::/48', '::ffff:198.51.100.7'])
      expect(viewerPrefixProblem(text)).toBeNull();
  });

  it('says what is not an address, with examples of what is', () => {
    for (const text of ['garbage', '', '01.2.3.4', '203.0.113.0/24/32', '/24', '2001:db8::1::'])
      expect(viewerPrefixProblem(text)).toBe(
        `${JSON.stringify(text)} is not an IP address or prefix: write 203.0.113.7, 203.0.113.0/24 or 2001:db8:7::/48`,
      );
  });

  it('says which lengths a family allows, and why not shorter', () => {
    const why = '(a shorter one names a crowd, not the people checking a build)';
    for (const text of ['203.0.112.0/23', '203.0.113.7/33', '203.0.113.0/024'])
      expect(viewerPrefixProblem(text)).toBe(
        `${JSON.stringify(text)} is not a prefix a preview can name: an IPv4 prefix is /24 to /32 ${why}`,
      );
    for (const text of ['2001:db8::/47', '2001:db8::1/129', '2001:db8::/32'])
      expect(viewerPrefixProblem(text)).toBe(
        `${JSON.stringify(text)} is not a prefix a preview can name: an IPv6 prefix is /48 to /128 ${why}`,
      );
  });
});

describe('parseViewerPrefix: what the function reads', () => {
  it('gives the network and the length of a stored prefix', () => {
    expect(parseViewerPrefix('203.0.113.0/24')).toEqual({ groups: [0xcb00, 0x7100], length: 24 });
    expect(parseViewerPrefix('2001:db8:7::/48')).toEqual({ groups: [0x2001, 0xdb8, 7, 0, 0, 0, 0, 0], length: 48 });
  });

  it.each(['203.0.113.7/24', '203.0.113.128/24', '203.0.113.1/31', '2001:db8:7::1/48', '2001:db8:7:8000::/48'])(
    'refuses %s: bits set past the length',
    (text) => {
      expect(parseViewerPrefix(text)).toBeNull();
      // The same network, written without them, is one.
      expect(parseViewerPrefix(normalizeViewerPrefix(text)!)).not.toBeNull();
    },
  );
});

describe('inViewerPrefix', () => {
  it('holds the first and last address of an IPv4 prefix, and not one either side', () => {
    expect(inside('203.0.113.0', '203.0.113.0/24')).toBe(true);
    expect(inside('203.0.113.255', '203.0.113.0/24')).toBe(true);
    expect(inside('203.0.112.255', '203.0.113.0/24')).toBe(false);
    expect(inside('203.0.114.0', '203.0.113.0/24')).toBe(false);
    expect(inside('203.0.113.128', '203.0.113.128/25')).toBe(true);
    expect(inside('203.0.113.127', '203.0.113.128/25')).toBe(false);
    expect(inside('203.0.113.7', '203.0.113.7/32')).toBe(true);
    expect(inside('203.0.113.6', '203.0.113.7/32')).toBe(false);
    expect(inside('203.0.113.8', '203.0.113.7/32')).toBe(false);
  });

  it('holds the first and last address of an IPv6 /48 and /64, and not one either side', () => {
    const first48 = '2001:db8:7::';
    const last48 = '2001:db8:7:ffff:ffff:ffff:ffff:ffff';
    expect(inside(first48, '2001:db8:7::/48')).toBe(true);
    expect(inside(last48, '2001:db8:7::/48')).toBe(true);
    expect(inside('2001:db8:6:ffff:ffff:ffff:ffff:ffff', '2001:db8:7::/48')).toBe(false);
    expect(inside('2001:db8:8::', '2001:db8:7::/48')).toBe(false);
    expect(inside('2001:db8:7:42::', '2001:db8:7:42::/64')).toBe(true);
    expect(inside('2001:DB8:7:42:FFFF:FFFF:FFFF:FFFF', '2001:db8:7:42::/64')).toBe(true);
    expect(inside('2001:db8:7:41:ffff:ffff:ffff:ffff', '2001:db8:7:42::/64')).toBe(false);
    expect(inside('2001:db8:7:43::', '2001:db8:7:42::/64')).toBe(false);
    // Another /64 of the same /48 is not inside the /64.
    expect(inside('2001:db8:7:1::1', '2001:db8:7:42::/64')).toBe(false);
  });

  it('never puts an IPv4 viewer in an IPv6 prefix, nor an IPv6 viewer in an IPv4 one', () => {
    // 2001:db8:: begins with the bits of 32.1.13.184; ::/48 holds the IPv4-compatible ::203.0.113.7.
    expect(inside('2001:db8::1', '32.1.13.184/32')).toBe(false);
    expect(inside('2001:db8::', '32.1.13.0/24')).toBe(false);
    expect(inside('::cb00:7107', '203.0.113.0/24')).toBe(false);
    expect(inside('203.0.113.7', '::/48')).toBe(false);
    expect(inside('0.0.0.1', '::/48')).toBe(false);
    expect(inside('::1', '::/48')).toBe(true);
  });

  it('puts an IPv4-mapped viewer in the IPv4 prefix of its address', () => {
    expect(inside('::ffff:203.0.113.9', '203.0.113.0/24')).toBe(true);
    expect(inside('::ffff:cb00:7109', '203.0.113.9/32')).toBe(true);
    expect(inside('::ffff:203.0.114.9', '203.0.113.0/24')).toBe(false);
    expect(inside('::ffff:203.0.113.9', '::/48')).toBe(false);
  });

  it('holds nothing for a prefix that is not a stored one', () => {
    for (const prefix of ['203.0.113.7/24', '203.0.112.0/23', 'garbage', '', '2001:db8:7::1/48'])
      expect(inside('203.0.113.7', prefix) || inside('2001:db8:7::1', prefix)).toBe(false);
  });

  it('holds exactly the addresses that share the prefix bits, in each family', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 2 }),
          fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
        ),
        fc.integer({ min: 0, max: 127 }),
        fc.integer({ min: 0, max: 127 }),
        (groups, lengthDraw, bitDraw) => {
          fc.pre(!(groups.length === 8 && isMapped(groups)));
          const width = groups.length * 16;
          const shortest = groups.length === 2 ? MIN_PREFIX_IPV4 : MIN_PREFIX_IPV6;
          const length = shortest + (lengthDraw % (width - shortest + 1));
          const text = groups.length === 2 ? ipv4Text(groups) : ipv6Text(groups);
          const prefix = normalizeViewerPrefix(`${text}/${length}`)!;
          expect(inViewerPrefix(groups, prefix)).toBe(true);
          const bit = bitDraw % width;
          // A bit inside the prefix changed: outside; a host bit changed: still inside.
          expect(inViewerPrefix(flipped(groups, bit), prefix)).toBe(bit >= length);
          // The other family never.
          expect(inViewerPrefix(groups.length === 2 ? [...groups, 0, 0, 0, 0, 0, 0] : groups.slice(0, 2), prefix)).toBe(
            false,
          );
        },
      ),
      { numRuns: propertyRuns(20_000) },
    );
  });
});

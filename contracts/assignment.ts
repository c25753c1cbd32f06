/**
 * Which build a viewer gets: the one rule the viewer-assignment CloudFront Function, the entry
 * router's fallback and the signal consumer all apply, from this one source.
 *
 *   ring host   the page's origin is in state.ring  →  canary (whatever the weight)
 *   otherwise   bucket = murmur3_32(salt + " " + viewerKey(ip)) mod 10000
 *               canary  ⇔  bucket < weight                      (weight in basis points)
 *   no canary   stable
 *
 * Sticky: the same viewer and salt give the same bucket on every edge and every version.
 * Monotone: a viewer on the canary at weight w has bucket < w ≤ w', so it stays there as the
 * weight grows. A new deployment has a new salt, so it draws a fresh, independent cohort (two
 * cohorts of share w overlap by about w², not w).
 *
 * MurmurHash3 x86_32 (Austin Appleby's public-domain reference, seed 0) over the low byte of each
 * character of the key (the key is ASCII: a salt and an address): a few multiply-rotate rounds per
 * 4 bytes and a full-avalanche finalizer, so neighbouring addresses land in unrelated buckets;
 * cheap enough for every request. `mod 10000` of a 32-bit hash is biased by at most 2.3e-6.
 *
 * Viewer key: an IPv4 address as is; an IPv6 address by its /48 prefix. The key is also the unit
 * the release signal counts (contracts/release-signal.ts): one voice per key, in the role this
 * rule gives it. A /48 is what one site or customer is typically given, so an attacker holding one
 * has one key, not the 65,536 /64s it could probe for the build it wants; and privacy addresses
 * (RFC 8981), which rotate the low 64 bits daily or more often, stay on their build. Viewers behind
 * one IPv4 NAT or in one /48 share a build. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is keyed
 * as its IPv4 address. An address that is not one gets the stable build.
 *
 * Runs in the viewer-assignment CloudFront Function: written in the language subset of
 * cloudfront-js-2.0, and with `codePointAt` rather than `charCodeAt`, which that runtime does not
 * list (edge-code/cloudfront-function.ts checks the bundle and the harness enforces both).
 */
import { WEIGHT_SCALE, type RolloutState } from './rollout-state';

// Looked up once: in a vm context (jest's, the local CloudFront harness's) every lookup of a global
// such as Math costs about 150 ns, twenty times the hash itself.
const imul = Math.imul;

export function murmur3(text: string, seed: number): number {
  const length = text.length;
  const tail = length & 3;
  const blocks = length - tail;
  let h = seed | 0;
  let i = 0;
  while (i < blocks) {
    let k =
      (text.codePointAt(i)! & 0xff) |
      ((text.codePointAt(i + 1)! & 0xff) << 8) |
      ((text.codePointAt(i + 2)! & 0xff) << 16) |
      ((text.codePointAt(i + 3)! & 0xff) << 24);
    i += 4;
    k = imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (imul(h, 5) + 0xe6546b64) | 0;
  }
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (text.codePointAt(i + 2)! & 0xff) << 16;
    if (tail >= 2) k ^= (text.codePointAt(i + 1)! & 0xff) << 8;
    k ^= text.codePointAt(i)! & 0xff;
    k = imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** The key a viewer is assigned by, or null when `ip` is not an IP address. */
export function viewerKey(ip: string): string | null {
  if (typeof ip !== 'string' || ip.length > 45) return null; // longest IPv6 text form (with an embedded IPv4)
  if (ip.indexOf(':') < 0) return IPV4.test(ip) ? ip : null;
  const hextets = parseIpv6(ip);
  if (hextets === null) return null;
  if (
    hextets[0] === 0 &&
    hextets[1] === 0 &&
    hextets[2] === 0 &&
    hextets[3] === 0 &&
    hextets[4] === 0 &&
    hextets[5] === 0xffff
  ) {
    return (hextets[6] >>> 8) + '.' + (hextets[6] & 0xff) + '.' + (hextets[7] >>> 8) + '.' + (hextets[7] & 0xff);
  }
  return hextets[0].toString(16) + ':' + hextets[1].toString(16) + ':' + hextets[2].toString(16) + '::/48';
}

/** The eight 16-bit groups of an IPv6 address, in order. */
type Ipv6Groups = [number, number, number, number, number, number, number, number];

/** The eight 16-bit groups of an IPv6 address in text form (RFC 4291 §2.2), or null. */
export function parseIpv6(text: string): Ipv6Groups | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  // split gives at least one part.
  const before = halves[0]!;
  const after = halves[1];
  const compressed = after !== undefined;
  // An embedded IPv4 address may only end the address.
  const head = parseGroups(before, !compressed);
  const tail = compressed ? parseGroups(after, true) : [];
  if (head === null || tail === null) return null;
  if (!compressed) return head.length === 8 ? (head as Ipv6Groups) : null;
  if (head.length + tail.length > 7) return null;
  const groups = head.slice();
  while (groups.length + tail.length < 8) groups.push(0);
  return groups.concat(tail) as Ipv6Groups;
}

function parseGroups(text: string, ipv4AtEnd: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let index = 0; index < parts.length; index += 1) {
    const part = parts[index]!;
    if (HEXTET.test(part)) {
      groups.push(parseInt(part, 16));
    } else if (ipv4AtEnd && index === parts.length - 1 && IPV4.test(part)) {
      // IPV4 matched, so there are four octets.
      const octets = part.split('.') as [string, string, string, string];
      groups.push(
        (parseInt(octets[0], 10) << 8) | parseInt(octets[1], 10),
        (parseInt(octets[2], 10) << 8) | parseInt(octets[3], 10),
      );
    } else {
      return null;
    }
  }
  return groups;
}

/** The viewer's position in [0, 10000) for this salt. */
export function viewerBucket(salt: string, key: string): number {
  return murmur3(salt + ' ' + key, 0) % WEIGHT_SCALE;
}

/**
 * The build for a viewer at `ip` on a page of `origin` (null when unknown). No canary: stable;
 * a ring host: canary; weight 10000: canary; otherwise the viewer's bucket decides.
 */
export function assignBuild(state: RolloutState, ip: string, origin: string | null): string {
  if (state.canary === null || state.salt === null) return state.stable;
  if (origin !== null && state.ring.indexOf(origin) >= 0) return state.canary;
  if (state.weight <= 0) return state.stable;
  if (state.weight >= WEIGHT_SCALE) return state.canary;
  const key = viewerKey(ip);
  if (key === null) return state.stable;
  return viewerBucket(state.salt, key) < state.weight ? state.canary : state.stable;
}

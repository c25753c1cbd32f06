/**
 * Viewer addresses as the edge sees them (`event.viewer.ip`), and the prefixes a preview names:
 * parsing IPv4 and IPv6 text, and whether an address is inside a prefix.
 *
 * A preview names a viewer by address or prefix, at least a /24 (IPv4) or a /48 (IPv6): the
 * assignment keys an IPv6 viewer by its /48 (contracts/assignment.ts), and a shorter prefix would
 * name a crowd, not a person checking a build. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * its IPv4 address, as for the assignment.
 *
 * Stored prefixes are in one form, which `normalizeViewerPrefix` gives: the address masked to its
 * length, IPv4 dotted, IPv6 in lowercase hex groups without leading zeros and with trailing zero
 * groups written as `::`, then `/` and the length ("203.0.113.0/24", "2001:db8:7::/48",
 * "198.51.100.7/32").
 *
 * Runs in the viewer-assignment CloudFront Function: written in the language subset of
 * cloudfront-js-2.0 (edge-code/cloudfront-function.ts checks the bundle).
 */
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

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

/** The shortest prefix a preview may name, by family. */
export const MIN_PREFIX_IPV4 = 24;
export const MIN_PREFIX_IPV6 = 48;

/**
 * An address as 16-bit groups: two for IPv4 (and an IPv4-mapped IPv6 address), eight for IPv6;
 * null when `ip` is not an address.
 */
export function addressGroups(ip: string): number[] | null {
  if (typeof ip !== 'string' || ip.length > 45) return null;
  if (ip.indexOf(':') < 0) {
    if (!IPV4.test(ip)) return null;
    const octets = ip.split('.');
    return [
      (parseInt(octets[0]!, 10) << 8) | parseInt(octets[1]!, 10),
      (parseInt(octets[2]!, 10) << 8) | parseInt(octets[3]!, 10),
    ];
  }
  const groups = parseIpv6(ip);
  if (groups === null) return null;
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  )
    return [groups[6], groups[7]];
  return groups;
}

/** `group` (the 16 bits from bit `at` of an address) with the bits past a prefix `length` long cleared. */
function maskGroup(group: number, at: number, length: number): number {
  const keep = length - at;
  if (keep >= 16) return group;
  if (keep <= 0) return 0;
  return group & ((0xffff << (16 - keep)) & 0xffff);
}

/** An address or prefix as text: its address's groups (not masked) and its length, in range for its family; or null. */
function prefixParts(text: string): { groups: number[]; length: number } | null {
  if (typeof text !== 'string' || text.length > 49) return null;
  const parts = text.split('/');
  if (parts.length > 2) return null;
  const address = addressGroups(parts[0]!);
  if (address === null) return null;
  let bits = address.length * 16;
  if (parts.length === 2) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(parts[1]!)) return null;
    // An IPv4-mapped prefix (::ffff:a.b.c.0/120) is the IPv4 prefix it maps.
    bits = parseInt(parts[1]!, 10) - (address.length === 2 && parts[0]!.indexOf(':') >= 0 ? 96 : 0);
  }
  if (bits > address.length * 16 || bits < (address.length === 2 ? MIN_PREFIX_IPV4 : MIN_PREFIX_IPV6)) return null;
  // Named apart from the fields: the bundle must not use shorthand properties (cloudfront-js-2.0).
  return { groups: address, length: bits };
}

/** A prefix's network, as its address's 16-bit groups, and its length in bits. */
export interface ViewerNetwork {
  readonly groups: readonly number[];
  readonly length: number;
}

/**
 * Prefixes parsed so far, by their text: a load checks each preview's prefix when it parses the
 * state and again when it matches the viewer, and a runtime that keeps its context between loads
 * sees the same few prefixes on every one. Emptied when it reaches PARSED_PREFIXES_KEPT, so a
 * store rewritten with new prefixes over months never grows it without bound.
 */
let parsedPrefixes: Record<string, ViewerNetwork> = Object.create(null);
let parsedPrefixCount = 0;
const PARSED_PREFIXES_KEPT = 64;

/** The text of a network whose groups are masked to its length: the one stored form (see above). */
function formatNetwork(groups: readonly number[], length: number): string {
  if (groups.length === 2)
    return (
      (groups[0]! >>> 8) +
      '.' +
      (groups[0]! & 0xff) +
      '.' +
      (groups[1]! >>> 8) +
      '.' +
      (groups[1]! & 0xff) +
      '/' +
      length
    );
  let last = groups.length;
  while (last > 0 && groups[last - 1] === 0) last -= 1;
  let text = '';
  for (let i = 0; i < last; i += 1) text += (i > 0 ? ':' : '') + groups[i]!.toString(16);
  return text + (last < groups.length ? '::' : '') + '/' + length;
}

/**
 * A stored prefix's network, or null when `text` is not a prefix in its one stored form (what
 * normalizeViewerPrefix gives): a length out of range for its family, bits set past the length, an
 * address without its length, another spelling of the same network. The parser of the rollout
 * state refuses a preview whose prefix this refuses, so that one network has one text (the
 * duplicate check compares texts). The answer is shared: callers must not change it.
 */
export function parseViewerPrefix(text: string): ViewerNetwork | null {
  if (typeof text !== 'string') return null;
  const known = parsedPrefixes[text];
  if (known !== undefined) return known;
  const parts = prefixParts(text);
  if (parts === null) return null;
  for (let i = 0; i < parts.groups.length; i += 1)
    if (maskGroup(parts.groups[i]!, i * 16, parts.length) !== parts.groups[i]) return null;
  if (formatNetwork(parts.groups, parts.length) !== text) return null;
  if (parsedPrefixCount >= PARSED_PREFIXES_KEPT) {
    parsedPrefixes = Object.create(null);
    parsedPrefixCount = 0;
  }
  parsedPrefixes[text] = parts;
  parsedPrefixCount += 1;
  return parts;
}

/**
 * The one stored form of a viewer address or prefix (see above), the address masked to its length;
 * null when `text` is not an address, has a length out of range for its family, or is shorter than
 * a /24 or a /48.
 */
export function normalizeViewerPrefix(text: string): string | null {
  const parts = prefixParts(text);
  if (parts === null) return null;
  return formatNetwork(
    parts.groups.map((group, i) => maskGroup(group, i * 16, parts.length)),
    parts.length,
  );
}

/**
 * Why `text` cannot name a preview's viewer, in words an operator can act on; null when it can.
 * (For the commands; the function needs only parseViewerPrefix.)
 */
export function viewerPrefixProblem(text: string): string | null {
  if (normalizeViewerPrefix(text) !== null) return null;
  const parts = String(text).split('/');
  const groups = parts.length <= 2 ? addressGroups(parts[0] ?? '') : null;
  if (groups === null)
    return (
      `${JSON.stringify(text)} is not an IP address or prefix: write 203.0.113.7, 203.0.113.0/24 ` +
      'or 2001:db8:7::/48'
    );
  const family = groups.length === 2 ? 'IPv4' : 'IPv6';
  const shortest = groups.length === 2 ? MIN_PREFIX_IPV4 : MIN_PREFIX_IPV6;
  return (
    `${JSON.stringify(text)} is not a prefix a preview can name: an ${family} prefix is /${shortest} to ` +
    `/${groups.length * 16} (a shorter one names a crowd, not the people checking a build)`
  );
}

/** Whether the address `groups` (addressGroups) is inside `network`. */
export function inViewerNetwork(groups: readonly number[], network: ViewerNetwork): boolean {
  if (network.groups.length !== groups.length) return false;
  for (let i = 0; i < groups.length && i * 16 < network.length; i += 1)
    if (maskGroup(groups[i]!, i * 16, network.length) !== network.groups[i]) return false;
  return true;
}

/** Whether the address `groups` (addressGroups) is inside the stored `prefix` (false for a text that is not one). */
export function inViewerPrefix(groups: readonly number[], prefix: string): boolean {
  const network = parseViewerPrefix(prefix);
  return network !== null && inViewerNetwork(groups, network);
}

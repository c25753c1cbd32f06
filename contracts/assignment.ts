/**
 * Which build a viewer gets: the one rule the viewer-assignment CloudFront Function, the entry
 * router's fallback and the signal consumer all apply, from this one source.
 *
 *   preview     the viewer's address is inside a preview's prefix, before its time  →  that build
 *               (the longest prefix of those in force; whatever the weight, canary or none)
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
import { addressGroups, inViewerNetwork, parseViewerPrefix } from './viewer-address';

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

/** The key a viewer is assigned by, or null when `ip` is not an IP address. */
export function viewerKey(ip: string): string | null {
  const groups = addressGroups(ip);
  if (groups === null) return null;
  if (groups.length === 2)
    return (groups[0]! >>> 8) + '.' + (groups[0]! & 0xff) + '.' + (groups[1]! >>> 8) + '.' + (groups[1]! & 0xff);
  return groups[0]!.toString(16) + ':' + groups[1]!.toString(16) + ':' + groups[2]!.toString(16) + '::/48';
}

/** The viewer's position in [0, 10000) for this salt. */
export function viewerBucket(salt: string, key: string): number {
  return murmur3(salt + ' ' + key, 0) % WEIGHT_SCALE;
}

/**
 * The build a preview shows the viewer at `ip` at `nowMs` (epoch ms), or null: of the previews
 * still in force whose prefix holds the address, the one with the longest prefix.
 */
export function previewBuild(state: RolloutState, ip: string, nowMs: number): string | null {
  const previews = state.previews;
  if (previews === undefined || previews.length === 0) return null;
  const groups = addressGroups(ip);
  if (groups === null) return null;
  let build = null;
  let longest = -1;
  for (let i = 0; i < previews.length; i += 1) {
    const preview = previews[i]!;
    if (preview.until * 1000 <= nowMs) continue;
    const network = parseViewerPrefix(preview.viewer);
    if (network === null || !inViewerNetwork(groups, network)) continue;
    if (network.length > longest) {
      longest = network.length;
      build = preview.build;
    }
  }
  return build;
}

/**
 * The build for a viewer at `ip` on a page of `origin` (null when unknown) at `nowMs` (epoch ms,
 * the reader's clock: previews end by it). A preview in force: its build; no canary: stable; a
 * ring host: canary; weight 10000: canary; otherwise the viewer's bucket decides.
 */
export function assignBuild(state: RolloutState, ip: string, origin: string | null, nowMs: number): string {
  const previewed = previewBuild(state, ip, nowMs);
  return previewed !== null ? previewed : ruleBuild(state, ip, origin);
}

/**
 * The build the rule gives a viewer, previews aside: what a viewer whose preview cannot be served gets.
 * `key`, when the caller has it, is viewerKey(ip): the address is then not parsed again (the edge
 * parses it only when the weight leaves the choice to the bucket).
 */
export function ruleBuild(state: RolloutState, ip: string, origin: string | null, key?: string | null): string {
  if (state.canary === null || state.salt === null) return state.stable;
  if (origin !== null && state.ring.indexOf(origin) >= 0) return state.canary;
  if (state.weight <= 0) return state.stable;
  if (state.weight >= WEIGHT_SCALE) return state.canary;
  if (key === undefined) key = viewerKey(ip);
  if (key === null) return state.stable;
  return viewerBucket(state.salt, key) < state.weight ? state.canary : state.stable;
}

/**
 * TXT lookups for the edge routers, through c-ares (`node:dns` Resolver): no query cache of its
 * own, so what a router caches is decided by `CachedReader` alone.
 */
import { Resolver } from 'node:dns';
import { DNS_SERVER } from './seams';

/** Resolves a name's TXT records: one array of character-strings per record. Rejects on any DNS error. */
export type TxtLookup = (name: string) => Promise<string[][]>;

/**
 * Lookup through the system resolver: in AWS the Lambda resolver of the edge's own region, which
 * is what makes the latency record `_bucket.<domain>` answer "the bucket nearest to this edge"
 * (or `EDGE_DNS_SERVER`, see seams.ts; a value that is not an address fails the load). The first
 * try waits `firstTryMs`; c-ares then retries twice with doubling waits, so one lookup settles
 * within about 7 × firstTryMs.
 * Callers bound how long a request waits on their own (`CachedReader`), and let a lookup that
 * outlives that bound finish in the background: its answer still serves the next requests.
 */
export function resolverTxtLookup(firstTryMs: number): TxtLookup {
  const resolver = new Resolver({ timeout: Math.max(1, Math.round(firstTryMs)), tries: 3 });
  if (DNS_SERVER) resolver.setServers([DNS_SERVER]);
  return (name) =>
    new Promise((resolve, reject) => {
      resolver.resolveTxt(name, (error, records) => (error ? reject(error) : resolve(records)));
    });
}

/**
 * The one record of an answer, its character-strings joined as resolvers do; null when the name
 * has several records (which one would win is undefined, so neither does).
 */
export function singleTxtValue(records: readonly (readonly string[])[]): string | null {
  return records.length === 1 ? records[0]!.join('') : null;
}

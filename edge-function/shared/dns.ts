/**
 * TXT lookups for the edge routers, through c-ares (`node:dns` Resolver): no query cache of its
 * own, so what a router caches is decided by `TxtRecordReader` alone.
 */
import { Resolver } from 'node:dns';

/** Resolves a name's TXT records: one array of character-strings per record. Rejects on any DNS error. */
export type TxtLookup = (name: string) => Promise<string[][]>;

/**
 * DNS seam. Lambda@Edge has no environment variables, so in production this is unset and the
 * routers ask the system resolver: the Lambda resolver of the edge's own region, which is what
 * makes the latency record `_bucket.<domain>` answer "the bucket nearest to this edge". Edge tests
 * and the local mode set `EDGE_DNS_SERVER=127.0.0.1:<port>` to their loopback DNS server
 * (scripts/local/dns-server.ts). Read once, when the bundle loads: `loadBundledHandler` loads a
 * fresh module per call, so each loaded handler keeps the server it was loaded with. A value that
 * is not an address fails the load (`setServers` throws) rather than silently asking the wrong server.
 */
const DNS_SERVER = process.env.EDGE_DNS_SERVER;

/**
 * Lookup through the system resolver (or `EDGE_DNS_SERVER`). The first try waits `firstTryMs`;
 * c-ares then retries twice with doubling waits, so one lookup settles within about 7 × firstTryMs.
 * Callers bound how long a request waits on their own (`TxtRecordReader`), and let a lookup that
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

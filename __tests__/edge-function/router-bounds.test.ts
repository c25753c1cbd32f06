/**
 * The entry router's longest request, as config/router-bounds.ts counts it for the loader's check
 * against edge.timeoutSeconds, held against the router as it ships (a zip bundled like the build's):
 * the state read through the KeyValueStore API assigns another build, DNS never answers, and every
 * bucket holds the read far past its bound. The router must try exactly as many buckets as the
 * chain counts, wait out each bound, and answer within the chain.
 */
import type { CloudFrontResultResponse } from 'aws-lambda';
import { parseConfig, resourceNames } from '../../config';
import { longestRouterChain, routerChains, type RouterBoundsSettings } from '../../config/router-bounds';
import { ROLLOUT_STORE_HEADER, type EdgeConfig } from '../../contracts/edge-config';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer, type KvsServer } from '../../loopback/kvs-server';
import { startS3Server, type S3Server } from '../../loopback/s3-server';
import { edgeConfigFor } from '../../edge-code/edge-config';
import { defaultBuild } from '../fixtures/build';
import { pollUntil } from '../fixtures/poll';
import {
  config,
  defaultEdgeConfig,
  edgeEvent,
  edgeZipWith,
  loadEdgeHandler,
  names,
  OTHER_BUILD,
} from '../fixtures/edge';

/** The chain's settings as the bundle has them baked in. */
function boundsOf(edge: EdgeConfig): RouterBoundsSettings {
  return {
    regions: Object.keys(edge.bucketNames),
    primaryRegion: edge.primaryRegion,
    failoverRegion: edge.failoverRegion,
    dnsTimeoutMs: edge.dnsTimeoutMs,
    storeTimeoutMs: edge.storeTimeoutMs,
    bucketTimeoutMs: edge.bucketTimeoutMs,
  };
}

/** Timers fire a little early or late; the lower bounds below allow this much. */
const TIMER_SLOP_MS = 30;
/**
 * The store read is not what is measured here (its bound has its own test, with the shipped zip,
 * in entry-router.test.ts): a patient one, so a loaded machine's slow cold SigV4A read does not
 * send the router to its own build before it reaches the buckets.
 */
const PATIENT_STORE_MS = 5000;
/**
 * The Lambda@Edge region the router runs in: its static nearest bucket is then ap-southeast-2's, neither the primary
 * nor the failover.
 */
const EXECUTION_REGION = 'ap-southeast-2';

describe("the entry router's longest request (config/router-bounds.ts), run by the bundled router", () => {
  let dns: DnsServer;
  let s3: S3Server;
  let kvs: KvsServer;
  /** Buckets asked for the assigned build's entry, in order. */
  let attempts: string[];
  let warn: jest.SpyInstance;
  /** Routers loaded: each asks for the silent record once, and says so when that lookup fails. */
  let routers = 0;

  beforeAll(async () => {
    // The router reports the silent DNS record and the held reads, as it should: kept out of the output.
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    dns = await startDnsServer();
    s3 = await startS3Server({ buckets: config.regions.map((region) => names.bucket(region)) });
    kvs = await startKvsServer({ store: new LocalKeyValueStore() });
  });
  afterAll(async () => {
    // The routers' lookups of the silent record outlive their requests (c-ares retries: about 7 ×
    // the first try, says resolverTxtLookup); they settle, and say so, before the servers go.
    // Waited for until each has said so: a fixed 7 × 200 ms was idle after the first router and
    // short for the last (its lookups, first try 100 ms, settled 1.7-1.9 s after they started).
    const failing = () =>
      warn.mock.calls.filter(([line]) => String(line).startsWith('entry-router DNS failing: ')).length;
    await pollUntil(`the ${routers} routers' DNS lookups to fail`, () => failing() === routers, 10_000, 20);
    await Promise.all([dns.close(), s3.stop(), kvs.close()]);
    jest.restoreAllMocks();
  });
  beforeEach(() => {
    attempts = [];
    // Every read of the entry is held far past any bound; the timer is unref'd so a held read keeps no worker alive.
    s3.setHook((request) => {
      if (request.method !== 'GET' || request.key !== `assets/${OTHER_BUILD}/index.js`) return undefined;
      attempts.push(request.bucket ?? '');
      return new Promise((resolve) => setTimeout(() => resolve(undefined), 60_000).unref());
    });
    dns.setFault(names.bucketRecord, { kind: 'drop' });
    kvs.store.put(ROLLOUT_STATE_KEY, formatRolloutState(steadyState(OTHER_BUILD)));
  });
  afterEach(() => {
    s3.setHook(null);
    // The request has been answered: a lookup still retrying settles at its next try (answered, no such record),
    // not after every try has timed out.
    dns.setFault(names.bucketRecord, null);
  });

  /** Runs the fallback path once on a router bundled with `edge`; what it answered, how long it took. */
  async function longestRequest(edge: EdgeConfig): Promise<{ result: CloudFrontResultResponse; elapsedMs: number }> {
    const zip = await edgeZipWith('entry-router', edge);
    const handler = loadEdgeHandler('entry-router', {
      dnsServer: dns.address,
      s3Endpoint: s3.endpoint,
      kvsEndpoint: kvs.endpoint,
      awsRegion: EXECUTION_REGION,
      zip,
    });
    routers += 1;
    // Loaded before the clock starts: the chain is the request's, the cold start has its own allowance.
    const started = performance.now();
    const result = (await handler(
      edgeEvent({ originCustomHeaders: { [ROLLOUT_STORE_HEADER]: kvs.arn } }),
    )) as CloudFrontResultResponse;
    return { result, elapsedMs: performance.now() - started };
  }

  it(
    'with the shipped bounds and three regions: nearest, primary, failover, each once, each bounded, within the ' +
      'chain and the timeout',
    async () => {
      const edge: EdgeConfig = { ...defaultEdgeConfig(), storeTimeoutMs: PATIENT_STORE_MS };
      const chain = longestRouterChain(boundsOf(edge));
      expect(chain.router).toBe('entry router');
      const { result, elapsedMs } = await longestRequest(edge);
      // No bucket answered: 503, never cached, never another build.
      expect(result.status).toBe('503');
      expect(result.headers?.['cache-control']?.[0]?.value).toBe('no-store');
      expect(attempts).toEqual([
        names.bucket(EXECUTION_REGION),
        names.bucket(config.primaryRegion),
        names.bucket(config.failoverRegion!),
      ]);
      expect(attempts).toHaveLength(chain.bucketReads);
      // It waited out the DNS bound and every bucket's, one after the other ...
      expect(elapsedMs).toBeGreaterThanOrEqual(
        edge.dnsTimeoutMs + chain.bucketReads * edge.bucketTimeoutMs - TIMER_SLOP_MS,
      );
      // ... and answered within the chain the loader checks (the cold start allowance is this machine's slack).
      expect(elapsedMs).toBeLessThanOrEqual(chain.totalMs);
      // With the store's shipped bound, that chain fits the routers' timeout.
      const shipped = longestRouterChain(boundsOf(defaultEdgeConfig()));
      expect(shipped.bucketReads).toBe(chain.bucketReads);
      expect(shipped.totalMs).toBeLessThanOrEqual(config.edge.timeoutSeconds * 1000);
    },
  );

  it.each([
    ['two regions', ['us-east-1', 'eu-west-1']],
    ['one region', ['us-east-1']],
  ])('with %s, tries as many buckets as the chain counts', async (_case, regions) => {
    const narrowed = parseConfig({
      name: config.name,
      domain: config.domain,
      hostedZone: config.hostedZone,
      primaryRegion: 'us-east-1',
      regions,
    });
    expect(resourceNames(narrowed).bucket('us-east-1')).toBe(names.bucket('us-east-1'));
    // Short bounds: the count is what is checked here, the shipped bounds' time above.
    const edge: EdgeConfig = {
      ...edgeConfigFor(narrowed, defaultBuild().buildId),
      dnsTimeoutMs: 100,
      bucketTimeoutMs: 300,
      storeTimeoutMs: PATIENT_STORE_MS,
    };
    const chain = longestRouterChain(boundsOf(edge));
    expect(chain.bucketReads).toBe(regions.length);
    const { result, elapsedMs } = await longestRequest(edge);
    expect(result.status).toBe('503');
    expect(attempts).toHaveLength(chain.bucketReads);
    expect(new Set(attempts)).toEqual(new Set(regions.map((region) => names.bucket(region))));
    expect(elapsedMs).toBeGreaterThanOrEqual(
      edge.dnsTimeoutMs + chain.bucketReads * edge.bucketTimeoutMs - TIMER_SLOP_MS,
    );
    expect(elapsedMs).toBeLessThanOrEqual(chain.totalMs);
  });

  it('counts the chunk router as the DNS bound alone, never longer than the entry router', () => {
    const [entry, chunk] = routerChains(boundsOf(defaultEdgeConfig()));
    expect(chunk).toMatchObject({ router: 'chunk router', bucketReads: 0 });
    expect(chunk!.totalMs).toBeLessThan(entry!.totalMs);
  });
});

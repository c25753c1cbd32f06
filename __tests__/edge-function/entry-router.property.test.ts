/**
 * Generated CloudFront events through the shipped entry router: it never throws, and every result
 * is one CloudFront accepts, on both paths (rewritten by the viewer-assignment function, and the
 * unrewritten fallback), for its own build and for another one read from a bucket.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { formatRolloutState, ROLLOUT_STATE_KEY } from '../../contracts/rollout-state';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { compress } from '../../publish/build';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer, type KvsServer } from '../../loopback/kvs-server';
import { startS3Server, type S3Server } from '../../loopback/s3-server';
import { defaultBuild } from '../fixtures/build';
import { brokenEvents, plausibleEvents, snapshot, type EventShape } from '../fixtures/cloudfront-arbitraries';
import {
  BUCKET_DOMAINS,
  config,
  loadEdgeHandler,
  names,
  OTHER_BUILD,
  PRIMARY_DOMAIN,
  type EdgeHandler,
} from '../fixtures/edge';
import { propertyRuns } from '../fixtures/property';

const OWN = defaultBuild().buildId;

describe('entry router (bundled) on generated events', () => {
  let dns: DnsServer;
  let s3: S3Server;
  let kvs: KvsServer;
  let handler: EdgeHandler;
  let shape: EventShape;

  beforeAll(async () => {
    // A loaded store under this much load times out now and then; the router's warnings say so.
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    dns = await startDnsServer({ records: { [names.bucketRecord]: 'eu-west-1' } });
    s3 = await startS3Server({ buckets: config.regions.map((region) => names.bucket(region)) });
    const entry = Buffer.from('(()=>{})();\n');
    for (const [suffix, bytes] of [
      ['', entry],
      ['.gz', compress(entry, 'gzip')],
      ['.br', compress(entry, 'br')],
    ] as const) {
      await s3.client('eu-west-1').send(
        new PutObjectCommand({
          Bucket: names.bucket('eu-west-1'),
          Key: `assets/${OTHER_BUILD}/index.js${suffix}`,
          Body: bytes,
        }),
      );
    }
    // Half the viewers on the router's own build (inlined), half on another one (read from a bucket).
    kvs = await startKvsServer({
      store: new LocalKeyValueStore({
        [ROLLOUT_STATE_KEY]: formatRolloutState({
          stable: OTHER_BUILD,
          canary: OWN,
          weight: 5000,
          salt: 'd-PROPERTY',
          ring: [],
        }),
      }),
    });
    handler = loadEdgeHandler('entry-router', {
      dnsServer: dns.address,
      s3Endpoint: s3.endpoint,
      kvsEndpoint: kvs.endpoint,
      awsRegion: 'eu-central-1',
    });
    shape = {
      uris: fc.oneof(
        { weight: 5, arbitrary: fc.constant('/assets/index.js') },
        { weight: 4, arbitrary: fc.constantFrom(`/assets/${OWN}/index.js`, `/assets/${OTHER_BUILD}/index.js`) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '/assets/index.js/',
            '/ASSETS/index.js',
            '/assets/../index.js',
            '/',
            `/assets/${OTHER_BUILD}/main.js`,
            '/assets/index.js%00',
            '/assets//index.js',
          ),
        },
        { weight: 1, arbitrary: fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)) },
      ),
      bucketDomains: [PRIMARY_DOMAIN, ...BUCKET_DOMAINS.filter((domain) => domain !== PRIMARY_DOMAIN)],
      originCustomHeaders: { [ROLLOUT_STORE_HEADER]: kvs.arn },
    };
  });
  afterAll(async () => {
    await Promise.all([dns.close(), s3.stop(), kvs.close()]);
    jest.restoreAllMocks();
  });

  /** Runs the handler on `event` and throws what CloudFront would object to in its result. */
  async function check(event: unknown): Promise<Awaited<ReturnType<EdgeHandler>>> {
    const original = snapshot(event);
    const result = await handler(event as never);
    const problems = cloudFrontResultProblems(original, result, { uriPrefix: '/assets/', s3Domains: BUCKET_DOMAINS });
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\nresult: ${JSON.stringify(result).slice(0, 500)}`);
    return result;
  }

  it('answers plausible events with valid results, serving both builds', async () => {
    const served: Record<string, number> = {};
    const runs = propertyRuns(70_000);
    await fc.assert(
      fc.asyncProperty(plausibleEvents(shape), async (event) => {
        const result = await check(event);
        const build =
          result && 'status' in result && result.status === '200'
            ? result.headers?.['x-build-id']?.[0]?.value
            : undefined;
        if (build) served[build] = (served[build] ?? 0) + 1;
      }),
      { numRuns: runs },
    );
    expect(served[OWN]).toBeGreaterThan(runs / 20);
    expect(served[OTHER_BUILD]).toBeGreaterThan(runs / 20);
  }, 180_000);

  it('answers broken events with valid results', async () => {
    await fc.assert(
      fc.asyncProperty(brokenEvents(shape), async (event) => {
        await check(event);
      }),
      { numRuns: propertyRuns(30_000) },
    );
  }, 180_000);

  it('asked the store and DNS a bounded number of times, and read the other build once', () => {
    // The state is cached for its cache time; the nearest bucket for its own.
    expect(kvs.requests.length).toBeLessThan(20);
    expect(s3.log.filter((entry) => entry.method === 'GET').length).toBeLessThanOrEqual(3);
  });
});

/**
 * Generated CloudFront events (100,000 in a full run) through the shipped chunk router: it never
 * throws, and every result is one CloudFront accepts.
 */
import fc from 'fast-check';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { defaultBuild } from '../fixtures/build';
import { brokenEvents, plausibleEvents, snapshot, type EventShape } from '../fixtures/cloudfront-arbitraries';
import { BUCKET_DOMAINS, loadEdgeHandler, names, PRIMARY_DOMAIN, type EdgeHandler } from '../fixtures/edge';
import { propertyRuns } from '../fixtures/property';

const PLAUSIBLE_RUNS = propertyRuns(70_000);
const BROKEN_RUNS = propertyRuns(30_000);
const BUILD_FILES = defaultBuild().assets.map((asset) => `/${asset.key}`);
const SHAPE: EventShape = {
  uris: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...BUILD_FILES) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.stringMatching(/^[0-9a-f]{16}$/),
          fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,40}$/), fc.string({ maxLength: 30 })),
        )
        .map(([build, file]) => `/assets/${build}/${file}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/assets/index.js',
        '/',
        '/assets/',
        `${BUILD_FILES[0]}/../../x`,
        `${BUILD_FILES[0]}%2F..`,
        '/assets/0123456789abcdef/..',
        '/assets/0123456789abcdef/a/b.js',
      ),
    },
    { weight: 1, arbitrary: fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)) },
  ),
  bucketDomains: [PRIMARY_DOMAIN, ...BUCKET_DOMAINS.filter((domain) => domain !== PRIMARY_DOMAIN)],
};

describe('chunk router (bundled) on generated events', () => {
  let dns: DnsServer;
  let handler: EdgeHandler;

  beforeAll(async () => {
    dns = await startDnsServer({ records: { [names.bucketRecord]: 'ap-southeast-2' } });
    handler = loadEdgeHandler('chunk-router', { dnsServer: dns.address, awsRegion: 'eu-central-1' });
  });
  afterAll(() => dns.close());

  /** Runs the handler on `event` and throws what CloudFront would object to in its result. */
  async function check(event: unknown): Promise<Awaited<ReturnType<EdgeHandler>>> {
    const original = snapshot(event);
    const result = await handler(event as never);
    const problems = cloudFrontResultProblems(original, result, { uriPrefix: '/assets/', s3Domains: BUCKET_DOMAINS });
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\nresult: ${JSON.stringify(result).slice(0, 500)}`);
    return result;
  }

  it(`answers ${PLAUSIBLE_RUNS.toLocaleString('en')} plausible events with valid results`, async () => {
    let forwarded = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(plausibleEvents(SHAPE), async (event) => {
        const result = await check(event);
        if (result && 'uri' in result) forwarded += 1;
        else refused += 1;
      }),
      { numRuns: PLAUSIBLE_RUNS },
    );
    // Both outcomes well represented (at the full count: over 20,000 and 5,000).
    expect(forwarded).toBeGreaterThan((PLAUSIBLE_RUNS * 2) / 7);
    expect(refused).toBeGreaterThan(PLAUSIBLE_RUNS / 14);
  }, 180_000);

  it(`answers ${BROKEN_RUNS.toLocaleString('en')} broken events with valid results`, async () => {
    await fc.assert(
      fc.asyncProperty(brokenEvents(SHAPE), async (event) => {
        await check(event);
      }),
      { numRuns: BROKEN_RUNS },
    );
  }, 180_000);

  it('asked DNS once for the whole run', () => {
    expect(dns.queries(names.bucketRecord)).toHaveLength(1);
  });
});

/**
 * 100,000 generated CloudFront events through the shipped entry router: it never throws, and
 * every result is one CloudFront accepts.
 */
import fc from 'fast-check';
import { formatRolloutRecord } from '../../edge-function/shared/rollout-record';
import { cloudFrontResultProblems } from '../../scripts/lib/cloudfront-validation';
import { startDnsServer, type DnsServer } from '../../scripts/local/dns-server';
import { defaultBuild } from '../fixtures/build';
import { brokenEvents, plausibleEvents, snapshot, type EventShape } from '../fixtures/cloudfront-arbitraries';
import { BUCKET_DOMAINS, loadEdgeHandler, names, OTHER_BUILD, PRIMARY_DOMAIN, type EdgeHandler } from '../fixtures/edge';

const OWN = defaultBuild().buildId;
const SHAPE: EventShape = {
  uris: fc.oneof(
    { weight: 8, arbitrary: fc.constant('/assets/index.js') },
    { weight: 1, arbitrary: fc.constantFrom('/assets/index.js/', '/ASSETS/index.js', '/assets/../index.js', '/', `/assets/${OTHER_BUILD}/index.js`, '/assets/index.js%00', '/assets//index.js') },
    { weight: 1, arbitrary: fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)) },
  ),
  bucketDomains: [PRIMARY_DOMAIN, ...BUCKET_DOMAINS.filter((domain) => domain !== PRIMARY_DOMAIN)],
};

describe('entry router (bundled) on generated events', () => {
  let dns: DnsServer;
  let handler: EdgeHandler;

  beforeAll(async () => {
    // Half the viewers on the router's own build (inlined), half rewritten to S3: both paths run.
    dns = await startDnsServer({
      records: {
        [names.rolloutRecord]: formatRolloutRecord({ stable: OTHER_BUILD, canary: OWN, weight: 5000, salt: 'd-PROPERTY' }),
        [names.bucketRecord]: 'eu-west-1',
      },
    });
    handler = loadEdgeHandler('entry-router', { dnsServer: dns.address, awsRegion: 'eu-central-1' });
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

  it('answers 70,000 plausible events with valid results', async () => {
    let inlined = 0;
    let rewritten = 0;
    await fc.assert(
      fc.asyncProperty(plausibleEvents(SHAPE), async (event) => {
        const result = await check(event);
        if (result && 'status' in result && result.status === '200') inlined += 1;
        if (result && 'uri' in result) rewritten += 1;
      }),
      { numRuns: 70_000 },
    );
    // Both paths ran a meaningful number of times.
    expect(inlined).toBeGreaterThan(10_000);
    expect(rewritten).toBeGreaterThan(10_000);
  }, 180_000);

  it('answers 30,000 broken events with valid results', async () => {
    await fc.assert(
      fc.asyncProperty(brokenEvents(SHAPE), async (event) => {
        await check(event);
      }),
      { numRuns: 30_000 },
    );
  }, 180_000);

  it('asked DNS once per record for the whole run', () => {
    expect(dns.queries(names.rolloutRecord)).toHaveLength(1);
    expect(dns.queries(names.bucketRecord)).toHaveLength(1);
  });
});

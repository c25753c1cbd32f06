/**
 * The chunk router as it ships (the zip), against a real DNS server on loopback.
 */
import type { CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { defaultBuild } from '../fixtures/build';
import {
  BUCKET_DOMAINS,
  edgeEvent,
  edgeZipWith,
  loadEdgeHandler,
  names,
  PRIMARY_DOMAIN,
  removeEdgeScratch,
  type EdgeHandler,
} from '../fixtures/edge';

const DNS_TIMEOUT_MS = 200; // the default build's edge.dnsTimeoutMs
const SLACK_MS = 400;
const CHUNK = defaultBuild().assets.find((asset) => asset.key.includes('/react.'))!.key;
const chunkEvent = (options: Parameters<typeof edgeEvent>[0] = {}) =>
  edgeEvent({ uri: `/${CHUNK}`, headers: { 'Accept-Encoding': 'br,gzip' }, ...options });

function origin(result: unknown): string | undefined {
  return (result as CloudFrontRequest).origin?.s3?.domainName;
}

describe('chunk router (bundled)', () => {
  let dns: DnsServer;
  const load = (awsRegion?: string, zip?: string): EdgeHandler =>
    loadEdgeHandler('chunk-router', { dnsServer: dns.address, awsRegion, zip });
  const expectValid = (event: unknown, result: unknown) =>
    expect(cloudFrontResultProblems(event, result, { uriPrefix: '/assets/', s3Domains: BUCKET_DOMAINS })).toEqual([]);

  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
    removeEdgeScratch();
  });
  beforeEach(() => {
    dns.clearQueries();
    dns.setTxt(names.bucketRecord, 'ap-southeast-2');
    dns.setFault(names.bucketRecord, null);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('sends a cache miss to the bucket the latency record names, pre-compressed, and caches the answer', async () => {
    const handler = load('eu-central-1');
    for (const [accept, suffix] of [
      ['br,gzip', '.br'],
      ['gzip', '.gz'],
      ['', ''],
    ]) {
      const event = chunkEvent({ headers: accept ? { 'Accept-Encoding': accept } : {} });
      const result = (await handler(event)) as CloudFrontRequest;
      expectValid(event, result);
      expect(result.uri).toBe(`/${CHUNK}${suffix}`);
      expect(result.origin?.s3).toMatchObject({
        domainName: names.bucketDomain('ap-southeast-2'),
        region: 'ap-southeast-2',
      });
      expect(result.headers.host![0]!.value).toBe(names.bucketDomain('ap-southeast-2'));
    }
    expect(dns.queries(names.bucketRecord)).toHaveLength(1);
  });

  it.each<[string, () => void, string | undefined, string]>([
    [
      'a region without a bucket of ours',
      () => dns.setTxt(names.bucketRecord, 'us-west-2'),
      'eu-central-1',
      'eu-west-1',
    ],
    ['no record (NXDOMAIN)', () => dns.deleteRecord(names.bucketRecord), 'ap-northeast-1', 'ap-southeast-2'],
    ['several records', () => dns.setTxt(names.bucketRecord, 'eu-west-1', 'us-east-1'), 'eu-central-1', 'eu-west-1'],
    ['an oversized answer', () => dns.setTxt(names.bucketRecord, 'eu-west-1'.repeat(500)), 'eu-central-1', 'eu-west-1'],
    ['SERVFAIL', () => dns.setFault(names.bucketRecord, { kind: 'servfail' }), 'eu-central-1', 'eu-west-1'],
    ['a garbage answer', () => dns.setFault(names.bucketRecord, { kind: 'garbage' }), 'eu-central-1', 'eu-west-1'],
    ['no usable answer and no execution region', () => dns.deleteRecord(names.bucketRecord), undefined, 'us-east-1'],
    [
      'no usable answer and an execution region the table does not know',
      () => dns.deleteRecord(names.bucketRecord),
      'xx-nowhere-1',
      'us-east-1',
    ],
  ])('falls back to the static table on %s (then to the primary)', async (_case, arrange, awsRegion, expected) => {
    arrange();
    const event = chunkEvent();
    const result = await load(awsRegion)(event);
    expectValid(event, result);
    expect(origin(result)).toBe(names.bucketDomain(expected));
  });

  it('falls back within the DNS timeout when the record never answers', async () => {
    dns.setFault(names.bucketRecord, { kind: 'drop' });
    const handler = load('eu-central-1');
    const started = performance.now();
    const result = await handler(chunkEvent());
    expect(performance.now() - started).toBeLessThan(DNS_TIMEOUT_MS + SLACK_MS);
    expect(origin(result)).toBe(names.bucketDomain('eu-west-1'));
  });

  it('leaves a failover attempt on its secondary origin, without asking DNS', async () => {
    const secondary = names.bucketDomain('eu-west-1');
    const event = chunkEvent({ originDomain: secondary });
    const result = (await load('ap-northeast-1')(event)) as CloudFrontRequest;
    expectValid(event, result);
    expect(origin(result)).toBe(secondary);
    expect(result.headers.host).toEqual(event.Records[0]!.cf.request.headers.host);
    expect(result.uri).toBe(`/${CHUNK}.br`);
    expect(dns.queries(names.bucketRecord)).toHaveLength(0);
  });

  it('sends a request for an origin that is not ours to the primary bucket', async () => {
    const event = chunkEvent({ originDomain: 'someone-else.s3.us-east-1.amazonaws.com' });
    const result = await load('eu-central-1')(event);
    expectValid(event, result);
    expect(origin(result)).toBe(PRIMARY_DOMAIN);
  });

  it(
    'answers 404 for paths that are not build files (nor an entry as stored), 405 for other methods, ' +
      '400 for broken events',
    async () => {
      const handler = load();
      for (const [event, status] of [
        [chunkEvent({ uri: '/index.html' }), '404'],
        [chunkEvent({ uri: `/assets/${defaultBuild().buildId}/../../secret.txt` }), '404'],
        // A build's entry as stored, compressed: only the entry router reads it, never through this behaviour
        // (a revoked build's entry would bypass its gate here).
        [chunkEvent({ uri: `/assets/${defaultBuild().buildId}/index.js.br` }), '404'],
        [chunkEvent({ uri: `/assets/${defaultBuild().buildId}/index.js.gz` }), '404'],
        [chunkEvent({ method: 'POST' }), '405'],
        [{ Records: [null] }, '400'],
      ] as const) {
        const result = (await handler(event as never)) as CloudFrontResultResponse;
        expect(result.status).toBe(status);
        expectValid(event, result);
      }
      expect(dns.queries()).toHaveLength(0);
    },
  );

  describe('as the latency answer changes (a build with 100 ms bucket cache)', () => {
    let zip: string;
    beforeAll(async () => {
      zip = await edgeZipWith('chunk-router', { bucketCacheMs: 100 });
    });

    async function eventuallyOrigin(handler: EdgeHandler, expected: string): Promise<string | undefined> {
      let seen: string | undefined;
      for (let attempt = 0; attempt < 20 && seen !== expected; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = origin(await handler(chunkEvent()));
      }
      return seen;
    }

    it(
      'moves to the new nearest region, and to the table when the record drops the region, not forever ' +
        'on the old answer',
      async () => {
        const handler = load('eu-central-1', zip);
        expect(origin(await handler(chunkEvent()))).toBe(names.bucketDomain('ap-southeast-2'));
        dns.setTxt(names.bucketRecord, 'us-east-1');
        expect(await eventuallyOrigin(handler, names.bucketDomain('us-east-1'))).toBe(names.bucketDomain('us-east-1'));
        // The health check takes every region out: the old answer is dropped (past twice the cache
        // time at the latest) and the static table answers.
        dns.deleteRecord(names.bucketRecord);
        const dropped = performance.now();
        expect(await eventuallyOrigin(handler, names.bucketDomain('eu-west-1'))).toBe(names.bucketDomain('eu-west-1'));
        expect(performance.now() - dropped).toBeLessThan(200 + SLACK_MS);
      },
    );
  });
});

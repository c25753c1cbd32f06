import type { CloudFrontResultResponse } from 'aws-lambda';
import {
  checkChunkRequest,
  chunkUri,
  isChunkPath,
  routeChunk,
  type ChunkRequest,
} from '../../edge-function/chunk-router/route';
import {
  bucketRegionFromTxt,
  chooseBucketRegion,
  NearestBucket,
  originRole,
} from '../../edge-function/shared/nearest-bucket';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { originRequestEvent } from '../fixtures/cloudfront';

const BUILD = '0123456789abcdef';
const domain = (region: string) => `edge-widget-${region}-12345678.s3.${region}.amazonaws.com`;
const CONFIG = {
  primaryRegion: 'us-east-1',
  buckets: {
    'us-east-1': domain('us-east-1'),
    'eu-west-1': domain('eu-west-1'),
    'ap-southeast-2': domain('ap-southeast-2'),
  },
  regionFallback: {
    'us-east-1': 'us-east-1',
    'eu-central-1': 'eu-west-1',
    'ap-northeast-1': 'ap-southeast-2',
    'sa-east-1': 'nowhere-1',
  },
};
const EU = { region: 'eu-west-1', domainName: domain('eu-west-1') };

function chunk(options: Parameters<typeof originRequestEvent>[0] = {}): ChunkRequest {
  const result = checkChunkRequest(
    originRequestEvent({ originDomain: domain('us-east-1'), uri: `/assets/${BUILD}/react.002fbe17a8.js`, ...options }),
  );
  if (!('request' in result)) throw new Error(`refused: ${result.status}`);
  return result;
}

describe('chunk paths', () => {
  it.each([
    `/assets/${BUILD}/index.js`,
    `/assets/${BUILD}/react.002fbe17a8.js`,
    `/assets/${BUILD}/274.525e975342.js.br`,
    `/assets/${BUILD}/logo_2-x.png`,
  ])('accepts %s', (uri) => {
    expect(isChunkPath(uri)).toBe(true);
  });

  it.each([
    '/assets/index.js',
    `/assets/${BUILD}/`,
    `/assets/${BUILD}/../../secret`,
    `/assets/${BUILD}/a..js`,
    `/assets/${BUILD}/.hidden`,
    `/assets/${BUILD}/%2e%2e/x.js`,
    `/assets/${BUILD}/sub/x.js`,
    `/assets/${BUILD.toUpperCase()}/x.js`,
    `/assets/${BUILD}0/x.js`,
    '/assets/0123456789abcde/x.js',
    `/assets/${BUILD}/x.js?y`,
    `/assets/${BUILD}/x y.js`,
    `/assets/${BUILD}/${'a'.repeat(201)}`,
    `/other/${BUILD}/x.js`,
    '/',
  ])('refuses %s', (uri) => {
    expect(isChunkPath(uri)).toBe(false);
  });
});

describe('checkChunkRequest', () => {
  it('asks for the pre-compressed variant the viewer accepts, for text files only', () => {
    expect(chunk({ headers: { 'Accept-Encoding': 'br,gzip' } }).uri).toBe(`/assets/${BUILD}/react.002fbe17a8.js.br`);
    expect(chunk({ headers: { 'Accept-Encoding': 'gzip' } }).uri).toBe(`/assets/${BUILD}/react.002fbe17a8.js.gz`);
    expect(chunk({ headers: {} }).uri).toBe(`/assets/${BUILD}/react.002fbe17a8.js`);
    expect(chunk({ uri: `/assets/${BUILD}/logo.png`, headers: { 'Accept-Encoding': 'br' } }).uri).toBe(
      `/assets/${BUILD}/logo.png`,
    );
    // A failover attempt that already asks for a variant is not suffixed twice.
    expect(chunk({ uri: `/assets/${BUILD}/a.js.br`, headers: { 'Accept-Encoding': 'br' } }).uri).toBe(
      `/assets/${BUILD}/a.js.br`,
    );
    expect(chunk({ method: 'OPTIONS', headers: { 'Accept-Encoding': 'br' } }).uri).toBe(
      `/assets/${BUILD}/react.002fbe17a8.js`,
    );
  });

  it.each<[string, unknown, string, string]>([
    ['a broken event', { Records: 'x' }, '400', 'no-store'],
    ['PUT', originRequestEvent({ uri: `/assets/${BUILD}/a.js`, method: 'PUT' }), '405', 'no-store'],
    ['a path outside the builds', originRequestEvent({ uri: '/etc/passwd' }), '404', 'public, max-age=60'],
  ])('refuses %s with %s', (_case, event, status, cacheControl) => {
    const result = checkChunkRequest(event) as CloudFrontResultResponse;
    expect(result.status).toBe(status);
    expect(result.headers!['cache-control']![0]!.value).toBe(cacheControl);
    expect(cloudFrontResultProblems(event, result)).toEqual([]);
  });

  it('refuses headers CloudFront would not take back with 400', () => {
    const event = originRequestEvent({ uri: `/assets/${BUILD}/a.js` });
    (event.Records[0]!.cf.request.headers as Record<string, unknown>)['x-bad'] = [{ key: 'Other', value: 'x' }];
    expect((checkChunkRequest(event) as CloudFrontResultResponse).status).toBe('400');
  });

  it('leaves non-text files alone', () => {
    expect(chunkUri('/assets/x/a.woff2', 'br')).toBe('/assets/x/a.woff2');
  });
});

describe('routeChunk', () => {
  it('moves a request for the primary bucket to the target and keeps a failover attempt where it is', () => {
    const primary = chunk({ headers: { 'Accept-Encoding': 'br' } });
    const routed = routeChunk(primary, 'primary', EU);
    expect(routed.origin?.s3).toMatchObject({ domainName: EU.domainName, region: 'eu-west-1' });
    expect(routed.headers.host).toEqual([{ key: 'Host', value: EU.domainName }]);
    expect(routed.uri).toBe(`/assets/${BUILD}/react.002fbe17a8.js.br`);

    const failover = chunk({ originDomain: domain('ap-southeast-2') });
    const kept = routeChunk(failover, 'replica', EU);
    expect(kept.origin).toEqual(failover.request.origin);
    expect(kept.headers.host).toEqual(failover.request.headers.host);
    expect(kept.headers.host![0]!.value).toBe(domain('ap-southeast-2'));
  });
});

describe('nearest bucket', () => {
  it('accepts only a single answer naming a configured bucket region', () => {
    expect(bucketRegionFromTxt([['eu-west-1']], CONFIG.buckets)).toBe('eu-west-1');
    expect(bucketRegionFromTxt([[' eu-west-1 ']], CONFIG.buckets)).toBe('eu-west-1');
    expect(bucketRegionFromTxt([['eu-', 'west-1']], CONFIG.buckets)).toBe('eu-west-1');
    expect(bucketRegionFromTxt([['us-west-2']], CONFIG.buckets)).toBeNull();
    expect(bucketRegionFromTxt([['eu-west-1'], ['us-east-1']], CONFIG.buckets)).toBeNull();
    expect(bucketRegionFromTxt([['constructor']], CONFIG.buckets)).toBeNull();
    expect(bucketRegionFromTxt([], CONFIG.buckets)).toBeNull();
  });

  it('falls back from the answer to the static table to the primary', () => {
    expect(chooseBucketRegion('ap-southeast-2', 'eu-central-1', CONFIG)).toBe('ap-southeast-2');
    expect(chooseBucketRegion(null, 'eu-central-1', CONFIG)).toBe('eu-west-1');
    expect(chooseBucketRegion('us-west-2', 'ap-northeast-1', CONFIG)).toBe('ap-southeast-2');
    expect(chooseBucketRegion(null, 'sa-east-1', CONFIG)).toBe('us-east-1'); // table names no bucket of ours
    expect(chooseBucketRegion(null, 'toString', CONFIG)).toBe('us-east-1');
    expect(chooseBucketRegion(null, undefined, CONFIG)).toBe('us-east-1');
  });

  it('tells the primary bucket, the other replicas and strangers apart', () => {
    expect(originRole(chunk().request, CONFIG)).toBe('primary');
    expect(originRole(chunk({ originDomain: domain('eu-west-1') }).request, CONFIG)).toBe('replica');
    expect(originRole(chunk({ originDomain: 'elsewhere.s3.us-east-1.amazonaws.com' }).request, CONFIG)).toBe('unknown');
    expect(originRole({ ...chunk().request, origin: undefined }, CONFIG)).toBe('unknown');
    expect(originRole({ ...chunk().request, origin: { s3: null } } as never, CONFIG)).toBe('unknown');
  });

  it('resolves through the latency record, then the table when DNS has no usable answer', async () => {
    let answer: string[][] | Error = [['ap-southeast-2']];
    const nearest = new NearestBucket(
      { ...CONFIG, bucketRecord: '_bucket.example.com', bucketCacheMs: 60_000, dnsTimeoutMs: 50 },
      async () => {
        if (answer instanceof Error) throw answer;
        return answer;
      },
      'eu-central-1',
    );
    expect(await nearest.read()).toEqual({ region: 'ap-southeast-2', domainName: domain('ap-southeast-2') });
    expect(nearest.primary()).toEqual({ region: 'us-east-1', domainName: domain('us-east-1') });

    answer = new Error('ENOTFOUND');
    const cold = new NearestBucket(
      { ...CONFIG, bucketRecord: '_bucket.example.com', bucketCacheMs: 60_000, dnsTimeoutMs: 50 },
      async () => {
        throw answer;
      },
      'eu-central-1',
    );
    expect(await cold.read()).toEqual(EU);
  });
});

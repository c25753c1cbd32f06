import type { CloudFrontResultResponse } from 'aws-lambda';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  checkEntryRequest,
  entryUri,
  inlinedEntryResponse,
  prepareEntry,
  rewriteToBuild,
  type EntryRequest,
} from '../../edge-function/entry-router/route';
import type { InlinedEntry } from '../../edge-function/shared/edge-config';
import { compress } from '../../scripts/build';
import { cloudFrontResultProblems } from '../../scripts/lib/cloudfront-validation';
import { originRequestEvent } from '../fixtures/cloudfront';

const PRIMARY = 'edge-widget-us-east-1-12345678.s3.us-east-1.amazonaws.com';
const NEAREST = { region: 'eu-west-1', domainName: 'edge-widget-eu-west-1-12345678.s3.eu-west-1.amazonaws.com' };
const SOURCE = Buffer.from('(()=>{console.log("entry")})();\n');

function inlined(identity: Buffer = SOURCE): InlinedEntry {
  return {
    buildId: 'aaaaaaaaaaaaaaaa',
    etag: '"0123456789abcdef0123456789abcdef"',
    identity: identity.toString('utf8'),
    gzip: compress(identity, 'gzip').toString('base64'),
    br: compress(identity, 'br').toString('base64'),
  };
}

function checked(options: Parameters<typeof originRequestEvent>[0] = {}): EntryRequest {
  const result = checkEntryRequest(originRequestEvent({ originDomain: PRIMARY, ...options }));
  if (!('request' in result)) throw new Error(`refused: ${result.status}`);
  return result;
}

describe('checkEntryRequest', () => {
  it('takes GET and HEAD of /assets/index.js with the encoding the viewer prefers', () => {
    expect(checked({ headers: { 'Accept-Encoding': 'gzip, deflate, br' } })).toMatchObject({ method: 'GET', encoding: 'br' });
    expect(checked({ method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } })).toMatchObject({ method: 'HEAD', encoding: 'gzip' });
    expect(checked({ headers: {} }).encoding).toBeNull();
    expect(checked({ headers: { 'Accept-Encoding': `br;q=0,${' '.repeat(2000)}gzip` } }).encoding).toBeNull();
  });

  it.each<[string, unknown, string]>([
    ['a broken event', { Records: [{ cf: {} }] }, '400'],
    ['POST', originRequestEvent({ method: 'POST' }), '405'],
    ['another path', originRequestEvent({ uri: '/assets/index.js/../secret' }), '404'],
    ['a build path', originRequestEvent({ uri: '/assets/0123456789abcdef/index.js' }), '404'],
  ])('refuses %s with %s', (_case, event, status) => {
    const result = checkEntryRequest(event) as CloudFrontResultResponse;
    expect(result.status).toBe(status);
    expect(cloudFrontResultProblems(event, result)).toEqual([]);
  });

  it('names the allowed methods on a 405', () => {
    const result = checkEntryRequest(originRequestEvent({ method: 'DELETE' })) as CloudFrontResultResponse;
    expect(result.headers?.allow).toEqual([{ key: 'Allow', value: 'GET, HEAD' }]);
  });
});

describe('inlined entry response', () => {
  const entry = prepareEntry(inlined());
  const bodyOf = (response: CloudFrontResultResponse) => Buffer.from(response.body!, response.bodyEncoding === 'base64' ? 'base64' : 'utf8');

  it('serves the same bytes in every encoding, each with its own etag, never cacheable', () => {
    const plain = inlinedEntryResponse(entry, 'GET', null);
    const br = inlinedEntryResponse(entry, 'GET', 'br');
    const gzip = inlinedEntryResponse(entry, 'GET', 'gzip');
    expect(bodyOf(plain).equals(SOURCE)).toBe(true);
    expect(brotliDecompressSync(bodyOf(br)).equals(SOURCE)).toBe(true);
    expect(gunzipSync(bodyOf(gzip)).equals(SOURCE)).toBe(true);
    expect(br.headers!['content-encoding']).toEqual([{ key: 'Content-Encoding', value: 'br' }]);
    expect(plain.headers!['content-encoding']).toBeUndefined();
    expect(new Set([plain, br, gzip].map((r) => r.headers!.etag[0].value)).size).toBe(3);
    for (const response of [plain, br, gzip]) {
      expect(response.status).toBe('200');
      expect(response.headers!['cache-control'][0].value).toBe('no-store');
      expect(response.headers!.vary[0].value).toBe('Accept-Encoding');
      expect(response.headers!['x-build-id'][0].value).toBe('aaaaaaaaaaaaaaaa');
      expect(response.headers!['content-type'][0].value).toBe('application/javascript; charset=utf-8');
      expect(cloudFrontResultProblems(originRequestEvent(), response)).toEqual([]);
    }
  });

  it('answers HEAD with the headers and no body', () => {
    const head = inlinedEntryResponse(entry, 'HEAD', 'gzip');
    expect(head.body).toBeUndefined();
    expect(head.headers).toEqual(inlinedEntryResponse(entry, 'GET', 'gzip').headers);
  });

  it('gives each response its own header objects', () => {
    const first = inlinedEntryResponse(entry, 'GET', null);
    first.headers!['x-build-id'][0].value = 'tampered';
    expect(inlinedEntryResponse(entry, 'GET', null).headers!['x-build-id'][0].value).toBe('aaaaaaaaaaaaaaaa');
  });

  it('refuses to inline an entry over the 1 MB generated-response limit', () => {
    expect(entry.inlinable).toBe(true);
    // Any representation over the limit is enough: the plain one here.
    expect(prepareEntry({ ...inlined(), identity: 'x'.repeat(1024 * 1024) }).inlinable).toBe(false);
  });
});

describe('rewriteToBuild', () => {
  it('fetches another build from the nearest bucket, pre-compressed when accepted', () => {
    const entry = checked({ headers: { 'Accept-Encoding': 'br' }, querystring: 'v=1' });
    const request = rewriteToBuild(entry, '0123456789abcdef', 'primary', NEAREST)!;
    expect(request.uri).toBe('/assets/0123456789abcdef/index.js.br');
    expect(request.origin?.s3).toMatchObject({ domainName: NEAREST.domainName, region: 'eu-west-1' });
    expect(request.querystring).toBe('');
    expect(cloudFrontResultProblems(originRequestEvent({ originDomain: PRIMARY, headers: { 'Accept-Encoding': 'br' }, querystring: 'v=1' }), request, { uriPrefix: '/assets/' })).toEqual([]);
  });

  it('keeps the origin of a failover attempt on another replica', () => {
    const replica = 'edge-widget-eu-west-1-12345678.s3.eu-west-1.amazonaws.com';
    const entry = checked({ originDomain: replica });
    const request = rewriteToBuild(entry, '0123456789abcdef', 'replica', NEAREST)!;
    expect(request.uri).toBe('/assets/0123456789abcdef/index.js');
    expect(request.origin).toEqual(entry.request.origin);
    expect(request.headers.host).toEqual(entry.request.headers.host);
  });

  it('returns null for headers CloudFront would not take back', () => {
    const entry = checked();
    const broken = { ...entry, request: { ...entry.request, headers: { ...entry.request.headers, Bad: [{ value: 'x' }] } } };
    expect(rewriteToBuild(broken, '0123456789abcdef', 'primary', NEAREST)).toBeNull();
  });

  it('names the variant key the upload stores', () => {
    expect(entryUri('0123456789abcdef', null)).toBe('/assets/0123456789abcdef/index.js');
    expect(entryUri('0123456789abcdef', 'gzip')).toBe('/assets/0123456789abcdef/index.js.gz');
  });
});

import type { CloudFrontResultResponse } from 'aws-lambda';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  checkEntryRequest,
  entryBody,
  entryObjectKey,
  entryResponse,
  prepareEntry,
  unavailableResponse,
} from '../../edge-function/entry-router/route';
import { IMMUTABLE_CACHE_CONTROL, UNCACHED } from '../../contracts/distribution-paths';
import type { InlinedEntry } from '../../contracts/edge-config';
import { compress, md5Etag } from '../../publish/build';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { originRequestEvent } from '../fixtures/cloudfront';

const PRIMARY = 'edge-widget-us-east-1-12345678.s3.us-east-1.amazonaws.com';
const SOURCE = Buffer.from('(()=>{console.log("entry")})();\n');

function inlined(identity: Buffer = SOURCE): InlinedEntry {
  const gzip = compress(identity, 'gzip');
  const br = compress(identity, 'br');
  return {
    buildId: 'aaaaaaaaaaaaaaaa',
    etags: { identity: md5Etag(identity), gzip: md5Etag(gzip), br: md5Etag(br) },
    identity: identity.toString('utf8'),
    gzip: gzip.toString('base64'),
    br: br.toString('base64'),
  };
}

function checked(options: Parameters<typeof originRequestEvent>[0] = {}) {
  const result = checkEntryRequest(originRequestEvent({ originDomain: PRIMARY, ...options }));
  if (!('request' in result)) throw new Error(`refused: ${result.status}`);
  return result;
}

describe('checkEntryRequest', () => {
  it(
    'takes GET and HEAD of /assets/index.js (no build chosen) and of /assets/<buildId>/index.js, with the ' +
      'encoding the viewer prefers',
    () => {
      expect(checked({ headers: { 'Accept-Encoding': 'gzip, deflate, br' } })).toMatchObject({
        method: 'GET',
        encoding: 'br',
        buildId: null,
      });
      expect(checked({ uri: '/assets/0123456789abcdef/index.js' })).toMatchObject({ buildId: '0123456789abcdef' });
      expect(checked({ method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } })).toMatchObject({
        method: 'HEAD',
        encoding: 'gzip',
      });
      expect(checked({ headers: {} }).encoding).toBeNull();
      expect(checked({ headers: { 'Accept-Encoding': `br;q=0,${' '.repeat(2000)}gzip` } }).encoding).toBeNull();
    },
  );

  it.each<[string, unknown, string]>([
    ['a broken event', { Records: [{ cf: {} }] }, '400'],
    ['POST', originRequestEvent({ method: 'POST' }), '405'],
    ['another path', originRequestEvent({ uri: '/assets/index.js/../secret' }), '404'],
    ['a build path of no build', originRequestEvent({ uri: '/assets/0123456789ABCDEF/index.js' }), '404'],
    ['a chunk path', originRequestEvent({ uri: '/assets/0123456789abcdef/main.js' }), '404'],
    ['a longer build path', originRequestEvent({ uri: '/assets/0123456789abcdef/index.js/x' }), '404'],
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

describe('entry responses', () => {
  const entry = prepareEntry(inlined());
  const bodyOf = (response: CloudFrontResultResponse) =>
    Buffer.from(response.body!, response.bodyEncoding === 'base64' ? 'base64' : 'utf8');

  it('serves the same bytes in every encoding, each with the MD5 of its bytes as a strong ETag', () => {
    const served = (encoding: 'identity' | 'br' | 'gzip') =>
      entryResponse(entry.bodies[encoding], 'GET', IMMUTABLE_CACHE_CONTROL);
    const [plain, br, gzip] = [served('identity'), served('br'), served('gzip')];
    expect(bodyOf(plain).equals(SOURCE)).toBe(true);
    expect(brotliDecompressSync(bodyOf(br)).equals(SOURCE)).toBe(true);
    expect(gunzipSync(bodyOf(gzip)).equals(SOURCE)).toBe(true);
    expect(br.headers!['content-encoding']).toEqual([{ key: 'Content-Encoding', value: 'br' }]);
    expect(plain.headers!['content-encoding']).toBeUndefined();
    for (const response of [plain, br, gzip]) {
      expect(response.headers!.etag![0]!.value).toBe(md5Etag(bodyOf(response)));
      expect(response.status).toBe('200');
      expect(response.headers!['cache-control']![0]!.value).toBe('public, max-age=31536000, immutable');
      expect(response.headers!.vary![0]!.value).toBe('Accept-Encoding');
      expect(response.headers!['x-build-id']![0]!.value).toBe('aaaaaaaaaaaaaaaa');
      expect(response.headers!['content-type']![0]!.value).toBe('application/javascript; charset=utf-8');
      expect(cloudFrontResultProblems(originRequestEvent(), response)).toEqual([]);
    }
  });

  it("says no-store for the router's own assignments, and builds the same response from bucket bytes", () => {
    const fromBucket = entryBody('bbbbbbbbbbbbbbbb', 'gzip', compress(SOURCE, 'gzip'), '"s3-etag"');
    const response = entryResponse(fromBucket, 'GET', UNCACHED);
    expect(response.headers!['cache-control']![0]!.value).toBe('no-store');
    expect(response.headers!.etag![0]!.value).toBe('"s3-etag"');
    expect(response.headers!['x-build-id']![0]!.value).toBe('bbbbbbbbbbbbbbbb');
    expect(gunzipSync(bodyOf(response)).equals(SOURCE)).toBe(true);
  });

  it('answers HEAD with the headers and no body', () => {
    const head = entryResponse(entry.bodies.gzip, 'HEAD', UNCACHED);
    expect(head.body).toBeUndefined();
    expect(head.headers).toEqual(entryResponse(entry.bodies.gzip, 'GET', UNCACHED).headers);
  });

  it('gives each response its own header objects', () => {
    const first = entryResponse(entry.bodies.identity, 'GET', UNCACHED);
    first.headers!['x-build-id']![0]!.value = 'tampered';
    expect(entryResponse(entry.bodies.identity, 'GET', UNCACHED).headers!['x-build-id']![0]!.value).toBe(
      'aaaaaaaaaaaaaaaa',
    );
  });

  it('refuses to inline an entry over the 1 MB generated-response limit', () => {
    expect(entry.inlinable).toBe(true);
    expect(prepareEntry({ ...inlined(), identity: 'x'.repeat(1024 * 1024) }).inlinable).toBe(false);
  });

  it('names the variant key the upload stores, and refuses unavailable builds uncached', () => {
    expect(entryObjectKey('0123456789abcdef', null)).toBe('assets/0123456789abcdef/index.js');
    expect(entryObjectKey('0123456789abcdef', 'gzip')).toBe('assets/0123456789abcdef/index.js.gz');
    expect(entryObjectKey('0123456789abcdef', 'br')).toBe('assets/0123456789abcdef/index.js.br');
    const refusal = unavailableResponse('GET');
    expect(refusal.status).toBe('503');
    expect(refusal.headers!['cache-control']![0]!.value).toBe('no-store');
  });
});

import type { CloudFrontRequest } from 'aws-lambda';
import {
  errorResponse,
  generatedResponseBytes,
  hasWellFormedHeaders,
  headerValue,
  originRequestOf,
  toCloudFrontHeaders,
  toS3Origin,
} from '../../edge-function/shared/cloudfront';
import { cloudFrontResultProblems } from '../../edge-code/cloudfront-validation';
import { originRequestEvent } from '../fixtures/cloudfront';

const BUCKET = 'edge-widget-eu-west-1-12345678.s3.eu-west-1.amazonaws.com';
const PRIMARY = 'edge-widget-us-east-1-12345678.s3.us-east-1.amazonaws.com';

function requestOf(event = originRequestEvent({ originDomain: PRIMARY })): CloudFrontRequest {
  return originRequestOf(event)!;
}

describe('originRequestOf', () => {
  it('returns the request of a CloudFront origin-request event', () => {
    const event = originRequestEvent({ originDomain: PRIMARY });
    expect(originRequestOf(event)).toBe(event.Records[0]!.cf.request);
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['no Records', {}],
    ['two records', { Records: [{}, {}] }],
    ['no request', { Records: [{ cf: {} }] }],
    ['a uri without /', { Records: [{ cf: { request: { ...requestOf(), uri: 'assets/index.js' } } }] }],
    ['a numeric method', { Records: [{ cf: { request: { ...requestOf(), method: 1 } } }] }],
    ['no querystring', { Records: [{ cf: { request: { ...requestOf(), querystring: undefined } } }] }],
    ['headers as an array', { Records: [{ cf: { request: { ...requestOf(), headers: [] } } }] }],
    ['a giant uri', { Records: [{ cf: { request: { ...requestOf(), uri: `/${'a'.repeat(9000)}` } } }] }],
  ])('refuses an event with %s', (_case, event) => {
    expect(originRequestOf(event)).toBeNull();
  });
});

describe('headerValue', () => {
  it('joins repeated entries like an HTTP list header', () => {
    expect(
      headerValue(
        { 'accept-encoding': [{ value: 'gzip' }, { key: 'Accept-Encoding', value: 'br' }] },
        'accept-encoding',
      ),
    ).toBe('gzip, br');
  });

  it('treats absent, malformed, giant and endlessly repeated headers as absent', () => {
    expect(headerValue({}, 'accept-encoding')).toBeUndefined();
    expect(headerValue({ 'accept-encoding': [] }, 'accept-encoding')).toBeUndefined();
    expect(headerValue({ 'accept-encoding': [{ value: 5 }] } as never, 'accept-encoding')).toBeUndefined();
    expect(headerValue({ 'accept-encoding': [{ value: 'br'.repeat(600) }] }, 'accept-encoding')).toBeUndefined();
    expect(
      headerValue({ 'accept-encoding': Array.from({ length: 17 }, () => ({ value: 'br' })) }, 'accept-encoding'),
    ).toBeUndefined();
    expect(headerValue(JSON.parse('{"__proto__": [{"value": "br"}]}'), '__proto__')).toBe('br');
    expect(headerValue({}, 'constructor')).toBeUndefined();
  });
});

describe('hasWellFormedHeaders', () => {
  it('accepts what CloudFront sends and refuses what it would not take back', () => {
    expect(hasWellFormedHeaders(requestOf().headers)).toBe(true);
    expect(hasWellFormedHeaders({ host: [{ value: 'x' }] })).toBe(true);
    expect(hasWellFormedHeaders({ Host: [{ value: 'x' }] })).toBe(false);
    expect(hasWellFormedHeaders({ host: [] })).toBe(false);
    expect(hasWellFormedHeaders({ host: [{ key: 'Accept', value: 'x' }] })).toBe(false);
    expect(hasWellFormedHeaders({ host: [{ key: 'HOST', value: 'x' }] })).toBe(true);
    expect(hasWellFormedHeaders({ host: [null] })).toBe(false);
    expect(hasWellFormedHeaders({ '': [{ value: 'x' }] })).toBe(false);
    expect(hasWellFormedHeaders(null)).toBe(false);
  });
});

describe('toS3Origin', () => {
  it('names the bucket in origin, region and host, drops the query string, leaves the event alone', () => {
    const request = requestOf(
      originRequestEvent({ originDomain: PRIMARY, querystring: 'response-content-type=text/html' }),
    );
    const before = JSON.stringify(request);
    const routed = toS3Origin(request, '/assets/0123456789abcdef/a.js', { region: 'eu-west-1', domainName: BUCKET });
    expect(routed).toMatchObject({
      uri: '/assets/0123456789abcdef/a.js',
      querystring: '',
      headers: { host: [{ key: 'Host', value: BUCKET }] },
      origin: { s3: { domainName: BUCKET, region: 'eu-west-1', authMethod: 'origin-access-identity', path: '' } },
    });
    expect(JSON.stringify(request)).toBe(before);
  });
});

describe('generated responses', () => {
  it('builds plain-text refusals, bodiless for HEAD', () => {
    expect(errorResponse('404', 'GET', 'no-store')).toEqual({
      status: '404',
      statusDescription: 'Not Found',
      headers: {
        'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
        'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
      },
      body: 'Not Found\n',
      bodyEncoding: 'text',
    });
    expect(errorResponse('405', 'HEAD', 'no-store', [['Allow', 'GET, HEAD']]).body).toBeUndefined();
  });

  it('counts body and header bytes the way the limit check needs', () => {
    expect(generatedResponseBytes(toCloudFrontHeaders([['X-A', 'bc']]), 'héllo', 'text')).toBe(6 + 3 + 2 + 4);
    expect(generatedResponseBytes({}, 'aGVsbG8=', 'base64')).toBe(8);
  });
});

describe('cloudFrontResultProblems (the validator the edge tests rely on)', () => {
  const event = originRequestEvent({
    originDomain: PRIMARY,
    headers: { 'Accept-Encoding': 'gzip', Via: '2.0 abc.cloudfront.net' },
  });
  const valid = () =>
    toS3Origin(requestOf(event), '/assets/0123456789abcdef/a.js', { region: 'eu-west-1', domainName: BUCKET });

  it('accepts a rewritten request and a well-formed generated response', () => {
    expect(cloudFrontResultProblems(event, valid(), { uriPrefix: '/assets/' })).toEqual([]);
    expect(cloudFrontResultProblems(event, errorResponse('404', 'GET', 'no-store'))).toEqual([]);
    expect(cloudFrontResultProblems(event, { status: '200', body: 'aGk=', bodyEncoding: 'base64' })).toEqual([]);
  });

  it.each<[string, (request: CloudFrontRequest) => unknown, RegExp]>([
    [
      'a changed read-only header',
      (r) => ({ ...r, headers: { ...r.headers, 'accept-encoding': [{ key: 'Accept-Encoding', value: 'br' }] } }),
      /accept-encoding: read-only/,
    ],
    [
      'a removed read-only header',
      (r) => ({ ...r, headers: Object.fromEntries(Object.entries(r.headers).filter(([name]) => name !== 'via')) }),
      /via: read-only/,
    ],
    [
      'an added disallowed header',
      (r) => ({ ...r, headers: { ...r.headers, 'x-edge-foo': [{ value: '1' }] } }),
      /x-edge-foo: disallowed/,
    ],
    [
      'an uppercase header name',
      (r) => ({ ...r, headers: { ...r.headers, Foo: [{ value: '1' }] } }),
      /not a lowercase header name/,
    ],
    [
      'a header key that names another header',
      (r) => ({ ...r, headers: { ...r.headers, foo: [{ key: 'Bar', value: '1' }] } }),
      /does not spell foo/,
    ],
    [
      'a header value with a newline',
      (r) => ({ ...r, headers: { ...r.headers, foo: [{ value: 'a\r\nb: c' }] } }),
      /CR, LF or NUL/,
    ],
    ['a changed client IP', (r) => ({ ...r, clientIp: '1.1.1.1' }), /clientIp: read-only/],
    ['a changed method', (r) => ({ ...r, method: 'POST' }), /method: read-only/],
    ['a uri outside /assets/', (r) => ({ ...r, uri: '/index.html' }), /outside \/assets\//],
    ['a uri that climbs out', (r) => ({ ...r, uri: '/assets/../secret' }), /outside its path/],
    ['two origins', (r) => ({ ...r, origin: { ...r.origin, custom: {} } }), /exactly one of s3 or custom/],
    [
      'a host that is not the origin',
      (r) => ({ ...r, headers: { ...r.headers, host: [{ key: 'Host', value: PRIMARY }] } }),
      /does not name the S3 origin/,
    ],
    [
      'a region that is not the bucket region',
      (r) => ({ ...r, origin: { s3: { ...r.origin!.s3!, region: 'us-west-2' } } }),
      /not the region of/,
    ],
    ['an unknown field', (r) => ({ ...r, extra: 1 }), /unexpected field extra/],
  ])('flags a request with %s', (_case, mutate, problem) => {
    const problems = cloudFrontResultProblems(event, mutate(valid()), { uriPrefix: '/assets/' });
    expect(problems.join('\n')).toMatch(problem);
  });

  it.each<[string, unknown, RegExp]>([
    ['no result', undefined, /neither a request nor a response/],
    ['a numeric status', { status: 200 }, /not an HTTP status code string/],
    ['invalid base64', { status: '200', body: '***', bodyEncoding: 'base64' }, /not valid base64/],
    ['an unknown body encoding', { status: '200', body: 'x', bodyEncoding: 'gzip' }, /neither text nor base64/],
    ['a 204 with a body', { status: '204', body: 'x' }, /carries no body/],
    ['a header CloudFront sets itself', { status: '200', headers: { via: [{ value: 'x' }] } }, /set by CloudFront/],
    ['a disallowed header', { status: '200', headers: { 'x-amz-cf-id': [{ value: 'x' }] } }, /disallowed/],
    ['a body over 1 MB', { status: '200', body: 'a'.repeat(1024 * 1024 + 1) }, /exceed the origin-request limit/],
  ])('flags a response with %s', (_case, response, problem) => {
    expect(cloudFrontResultProblems(event, response).join('\n')).toMatch(problem);
  });

  it('flags a request returned for an event that holds none', () => {
    expect(cloudFrontResultProblems({ Records: [] }, valid()).join('\n')).toMatch(/carries no valid request/);
  });

  it('holds viewer-request responses to 40 KB', () => {
    expect(
      cloudFrontResultProblems(
        event,
        { status: '200', body: 'a'.repeat(41 * 1024) },
        { eventType: 'viewer-request' },
      ).join('\n'),
    ).toMatch(/viewer-request limit/);
  });
});

/**
 * The error-report CloudFront Function, as published: the exact file the build wrote and the stack
 * uploads, run in the harness that offers only what cloudfront-js-2.0 offers. It answers every
 * request the behaviour lets through at once, reads nothing a client could use to make it do more,
 * and stays within the runtime's language and quota.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERROR_REPORT_PATH } from '../../contracts/error-report';
import {
  CLOUDFRONT_FUNCTION_MAX_BYTES,
  cloudFrontFunctionProblems,
  loadCloudFrontFunction,
  type CloudFrontFunctionViewerEvent,
} from '../../edge-code/cloudfront-function';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';

const published = () =>
  readFileSync(path.join(BUILD_DIR, defaultBuild().cloudFrontFunctions['error-report'].file), 'utf8');

function event(
  method: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
): CloudFrontFunctionViewerEvent {
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'test',
    },
    viewer: { ip: '192.0.2.1' },
    request: {
      method,
      uri: ERROR_REPORT_PATH,
      querystring: Object.fromEntries(Object.entries(query).map(([k, value]) => [k, { value }])),
      headers: Object.fromEntries(Object.entries(headers).map(([k, value]) => [k, { value }])),
      cookies: {},
    },
  };
}

it('is within the 10 KB quota and the runtime language, and uses no KeyValueStore', () => {
  const code = published();
  expect(Buffer.byteLength(code)).toBeLessThanOrEqual(CLOUDFRONT_FUNCTION_MAX_BYTES);
  expect(cloudFrontFunctionProblems(code)).toEqual([]);
  // Nothing imported: the stack associates no store with it, so it could not read one.
  expect(code).not.toMatch(/\bimport\b/);
});

it('answers GET and HEAD with an empty 204 nobody caches, whatever the report says', async () => {
  const handler = loadCloudFrontFunction(published());
  const reports = [
    event('GET', { b: '0123456789abcdef', m: 'TypeError: x is undefined' }),
    event('GET'),
    event('GET', { b: 'x'.repeat(5000) }, { origin: 'https://evil.example', cookie: 'a=b' }),
    event('HEAD', { b: '0123456789abcdef' }),
  ];
  for (const report of reports) {
    expect(await handler(report)).toEqual({
      statusCode: 204,
      statusDescription: 'No Content',
      headers: { 'cache-control': { value: 'no-store' } },
    });
  }
});

it(
  'answers any other method 405, naming the two it takes (CloudFront refuses them first; this is the function ' +
    'not relying on it)',
  async () => {
    const handler = loadCloudFrontFunction(published());
    for (const method of ['POST', 'OPTIONS', 'DELETE', 'get', '']) {
      expect(await handler(event(method))).toEqual({
        statusCode: 405,
        statusDescription: 'Method Not Allowed',
        headers: { allow: { value: 'GET, HEAD' }, 'cache-control': { value: 'no-store' } },
      });
    }
  },
);

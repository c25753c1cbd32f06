import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import { preferredEncoding } from '../shared/encoding';
import '../shared/edge-config';

// Placeholder until the entry router lands: always serves the inlined build.
export async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
  const encoding = preferredEncoding(event.Records[0].cf.request.headers['accept-encoding']?.[0]?.value);
  const headers = {
    'content-type': [{ key: 'Content-Type', value: 'application/javascript; charset=utf-8' }],
    'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
    'x-build-id': [{ key: 'X-Build-Id', value: __INLINED_ENTRY__.buildId }],
  };
  if (!encoding) return { status: '200', headers, body: __INLINED_ENTRY__.identity };
  return {
    status: '200',
    headers: { ...headers, 'content-encoding': [{ key: 'Content-Encoding', value: encoding }] },
    body: encoding === 'br' ? __INLINED_ENTRY__.br : __INLINED_ENTRY__.gzip,
    bodyEncoding: 'base64',
  };
}

/**
 * Error reports: the CloudFront Function (cloudfront-js-2.0, viewer-request) on `/api/e`. It
 * answers 204 at once, with no origin behind it and nothing cached, and that is all it does:
 * CloudFront's real-time logs carry the request (the address it came from, its path and query,
 * the time) to the signal consumer, which decides whether it counts (contracts/error-report.ts).
 * It reads nothing but the method, so nothing a client sends can make it do more. The behaviour
 * lets only GET and HEAD through (CloudFront answers anything else 403); HEAD gets GET's answer,
 * as HTTP asks, and the consumer counts only GET.
 *
 * Bundled by the build into build/functions/error-report.js, checked against the runtime's
 * language subset and the 10 KB quota, and published as it is.
 */

interface ErrorReportRequest {
  method: string;
}

interface ErrorReportEvent {
  request: ErrorReportRequest;
}

interface ErrorReportResponse {
  statusCode: number;
  statusDescription: string;
  headers: Record<string, { value: string }>;
}

export function handler(event: ErrorReportEvent): ErrorReportResponse {
  if (event.request.method !== 'GET' && event.request.method !== 'HEAD') {
    return {
      statusCode: 405,
      statusDescription: 'Method Not Allowed',
      headers: { allow: { value: 'GET, HEAD' }, 'cache-control': { value: 'no-store' } },
    };
  }
  return { statusCode: 204, statusDescription: 'No Content', headers: { 'cache-control': { value: 'no-store' } } };
}

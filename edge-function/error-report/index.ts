/**
 * Error reports: the CloudFront Function (cloudfront-js-2.0, viewer-request) on `/api/e`. It
 * answers 204 at once, with no origin behind it and nothing cached, and that is all it does:
 * CloudFront's real-time logs carry the request (the address it came from, its path and query,
 * the time) to the signal consumer, which decides whether it counts (contracts/error-report.ts).
 * Nothing here reads the request, so nothing a client sends can make it do more.
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
  if (event.request.method !== 'GET') return { statusCode: 405, statusDescription: 'Method Not Allowed', headers: { allow: { value: 'GET' }, 'cache-control': { value: 'no-store' } } };
  return { statusCode: 204, statusDescription: 'No Content', headers: { 'cache-control': { value: 'no-store' } } };
}

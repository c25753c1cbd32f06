/**
 * How the widget reports an error: one GET to the distribution, `/api/e?b=<buildId>&m=<message>`,
 * which a CloudFront Function answers 204 at the edge, with no origin behind it. CloudFront's
 * real-time logs carry the request to the signal consumer, which counts it when the build it names
 * is the build the rule assigns that viewer. A healthy load sends nothing: the entry request
 * itself, which the browser revalidates on every page view, is the viewer's presence.
 *
 * The webapp builds the URL with `errorReportUrl` (a tiny function, bundled into the entry), the
 * consumer reads the query with `parseErrorReport`; both from here.
 */
import { BUILD_ID_PATTERN } from './build-id';

/** The path the error-report function answers. */
export const ERROR_REPORT_PATH = '/api/e';
/** Characters of an error message the widget sends and the consumer keeps (once per viewer and period). */
export const MAX_MESSAGE_LENGTH = 120;

/**
 * `https://<distribution>/api/e?b=<buildId>&m=<message cut to MAX_MESSAGE_LENGTH>`, resolved against the script's own
 * URL.
 */
export function errorReportUrl(scriptUrl: string, buildId: string, message: string): string {
  const url = new URL(ERROR_REPORT_PATH, scriptUrl);
  url.searchParams.set('b', buildId);
  const text = message.slice(0, MAX_MESSAGE_LENGTH);
  if (text !== '') url.searchParams.set('m', text);
  return url.href;
}

export interface ErrorReport {
  readonly buildId: string;
  /** Cut to MAX_MESSAGE_LENGTH; '' when none was sent. */
  readonly message: string;
}

/** The report a query string (without `?`) carries, or null when it names no build. */
export function parseErrorReport(query: string): ErrorReport | null {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return null;
  }
  const buildId = params.get('b');
  if (buildId === null || !BUILD_ID_PATTERN.test(buildId)) return null;
  return { buildId, message: (params.get('m') ?? '').slice(0, MAX_MESSAGE_LENGTH) };
}

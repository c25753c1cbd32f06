/**
 * Error reports: when this build fails in a viewer's browser, one GET to the distribution that
 * served it, `/api/e?b=<buildId>&m=<message, first 120 characters>` (contracts/error-report.ts),
 * which a CloudFront Function answers 204 at the edge. A healthy load sends nothing: the entry
 * request itself is the viewer's presence. This lives in the entry so that a chunk that fails to
 * load is still reported.
 *
 * A GET in no-cors mode without credentials is a simple request: no preflight, no cookies, and
 * nothing to read from the answer. keepalive lets it leave even while the page unloads; no-store
 * keeps the browser from answering a repeat from its cache. Bounded per page load: at most
 * MAX_REPORTS reports, and an identical one once, so a page that errors in a loop cannot flood the
 * distribution or the viewer's network. It never throws into the host page.
 */
import { errorReportUrl } from '../../contracts/error-report';

/** Reports one page load sends at most. */
const MAX_REPORTS = 5;

/** index.js's own URL: reports go to its origin, whatever page embeds it. Unknown, nothing is sent. */
let scriptUrl: string | undefined;
/** The URLs already sent this page load. */
const sent: string[] = [];

export function setReportBase(url: string): void {
  scriptUrl = url;
}

export function reportError(message: string): void {
  try {
    if (scriptUrl === undefined || sent.length >= MAX_REPORTS) return;
    const url = errorReportUrl(scriptUrl, __BUILD_ID__, message);
    if (sent.includes(url)) return;
    sent.push(url);
    fetch(url, { method: 'GET', mode: 'no-cors', credentials: 'omit', keepalive: true, cache: 'no-store' }).catch(
      () => undefined,
    );
  } catch {
    // A report must never break the host page (fetch missing, a URL it refuses).
  }
}

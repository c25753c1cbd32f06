/**
 * The entry (index.js): webpack's runtime plus this bootstrap, nothing else. Everything the
 * widget renders is an async chunk under /assets/<buildId>/, so the entry stays small enough to
 * be inlined in the edge function and a page never mixes two builds.
 */
import { reportError, setReportBase } from './error-report';

const script = document.currentScript as HTMLScriptElement | null;
if (script?.src) {
  // publicPath is /assets/<buildId>/; host pages live on other origins, so anchor it to the
  // distribution that served this script, and send error reports there too.
  __webpack_public_path__ = new URL(__webpack_public_path__, script.src).href;
  setReportBase(script.src);
}

addEventListener('error', (event) => {
  // Only errors thrown by this build's own files count; the host page's errors are not ours.
  if (event.filename?.startsWith(__webpack_public_path__)) reportError(event.message);
});

import('./mount').then(
  (widget) => widget.mount(script),
  (error: Error) => reportError(`chunk load failed: ${error.message}`),
);

/**
 * The entry (index.js): webpack's runtime plus this bootstrap, nothing else. Everything the
 * widget renders is an async chunk under /assets/<buildId>/, so the entry stays small enough to
 * be inlined in the edge function and a page never mixes two builds.
 */
import { report, setBeaconBase } from './beacon';

const script = document.currentScript as HTMLScriptElement | null;
if (script?.src) {
  // publicPath is /assets/<buildId>/; host pages live on other origins, so anchor it to the
  // distribution that served this script.
  __webpack_public_path__ = new URL(__webpack_public_path__, script.src).href;
  setBeaconBase(script.src);
}

addEventListener('error', (event) => {
  // Only errors thrown by this build's own files count; the host page's errors are not ours.
  if (event.filename?.startsWith(__webpack_public_path__)) report('error', event.message);
});

import('./mount').then(
  (widget) => widget.mount(script),
  (error: Error) => report('error', `chunk load failed: ${error.message}`),
);

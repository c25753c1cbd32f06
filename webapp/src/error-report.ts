/**
 * Client beacon: tells the metrics API that this build loaded, or failed, in a viewer's browser.
 * It lives in the entry so that a chunk that fails to load is still reported. Beacons go out as
 * text/plain through sendBeacon: a CORS-safelisted request, so no preflight on the host page.
 */
// Type-only: the metrics API's schema defines the payload, and none of it is bundled here.
import type { Beacon, BeaconEventName } from '../../contracts/beacon';

export type { BeaconEventName };
export type BeaconPayload = Beacon;

let endpoint = __METRICS_ENDPOINT__;

/** Resolves the beacon URL against the origin that served index.js (the distribution). */
export function setBeaconBase(scriptUrl: string): void {
  endpoint = new URL(__METRICS_ENDPOINT__, scriptUrl).href;
}

export function report(name: BeaconEventName, message?: string): void {
  const payload: BeaconPayload = { v: 1, buildId: __BUILD_ID__, events: [message ? { name, message: message.slice(0, 200) } : { name }] };
  const body = JSON.stringify(payload);
  try {
    if (!navigator.sendBeacon(endpoint, body)) fetch(endpoint, { method: 'POST', body, keepalive: true, mode: 'no-cors' });
  } catch {
    // A beacon must never break the host page.
  }
}

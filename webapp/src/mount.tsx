import { createRoot } from 'react-dom/client';
import { App, styles } from './App';

/**
 * Renders the widget next to its script tag, inside a shadow root so the host page's styles and
 * ours cannot leak into each other. A tag in <head> renders at the end of <body>.
 */
export function mount(script: HTMLScriptElement | null): void {
  const parent = script?.parentNode && script.parentNode !== document.head ? script.parentNode : null;
  if (parent === null && document.readyState === 'loading') {
    // An async tag in <head> may run before <body> exists, or while it is still arriving (a
    // streamed page): wait for the whole body, so "the end of <body>" is the end.
    document.addEventListener('DOMContentLoaded', () => mount(script), { once: true });
    return;
  }
  const host = document.createElement('div');
  host.setAttribute('data-edge-widget', __BUILD_ID__);
  if (parent !== null) parent.insertBefore(host, script!.nextSibling);
  else document.body.appendChild(host);
  const root = host.attachShadow({ mode: 'open' });
  adoptStyles(root);
  const container = document.createElement('div');
  root.appendChild(container);
  createRoot(container).render(<App />);
}

/**
 * A constructed stylesheet rather than a <style> element: a host page's Content-Security-Policy
 * blocks inline <style> (in shadow roots too) unless its style-src allows 'unsafe-inline', but it
 * does not govern stylesheets built through the CSSOM. Browsers without constructable stylesheets
 * (Safari before 16.4) get the <style> element, which such a policy blocks: unstyled, still working.
 */
function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(styles);
    root.adoptedStyleSheets = [sheet];
    return;
  }
  const style = document.createElement('style');
  style.textContent = styles;
  root.appendChild(style);
}

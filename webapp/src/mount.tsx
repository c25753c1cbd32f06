import { createRoot } from 'react-dom/client';
import { App } from './App';
import { report } from './beacon';

/**
 * Renders the widget next to its script tag, inside a shadow root so the host page's styles and
 * ours cannot leak into each other.
 */
export function mount(script: HTMLScriptElement | null): void {
  const host = document.createElement('div');
  host.setAttribute('data-edge-widget', __BUILD_ID__);
  if (script?.parentNode && script.parentNode !== document.head) script.parentNode.insertBefore(host, script.nextSibling);
  else document.body.appendChild(host);
  const root = host.attachShadow({ mode: 'open' });
  const container = document.createElement('div');
  root.appendChild(container);
  createRoot(container).render(<App onReady={() => report('load')} />);
}

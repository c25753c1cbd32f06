/**
 * Content types and pre-compressed variants of build assets. One rule for everyone: the build
 * writes `<file>.br` and `<file>.gz` next to every text asset, the upload stores them with their
 * Content-Encoding, and the routers pick the variant the viewer accepts.
 */

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: 'application/javascript; charset=utf-8',
  mjs: 'application/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
  txt: 'text/plain; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  woff2: 'font/woff2',
};

/** Extensions that get .br and .gz variants (already-compressed formats gain nothing). */
const COMPRESSIBLE = new Set(['js', 'mjs', 'css', 'json', 'map', 'html', 'svg', 'txt']);

export const ENCODINGS = ['br', 'gzip'] as const;
export type Encoding = (typeof ENCODINGS)[number];
export const ENCODING_SUFFIX: Readonly<Record<Encoding, string>> = { br: '.br', gzip: '.gz' };

function extension(key: string): string {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

export function contentTypeFor(key: string): string {
  return CONTENT_TYPES[extension(key)] ?? 'application/octet-stream';
}

export function isCompressible(key: string): boolean {
  return COMPRESSIBLE.has(extension(key));
}

/**
 * The best encoding the viewer accepts, brotli first. Honours q=0 (refusal) and ignores
 * anything malformed; a header longer than any browser sends is treated as absent.
 */
export function preferredEncoding(acceptEncoding: string | undefined): Encoding | null {
  if (!acceptEncoding || acceptEncoding.length > 1024) return null;
  let br = false;
  let gzip = false;
  for (const part of acceptEncoding.split(',')) {
    const [rawName = '', ...params] = part.split(';');
    const name = rawName.trim().toLowerCase();
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (!(weight > 0)) continue;
    if (name === 'br') br = true;
    else if (name === 'gzip' || name === 'x-gzip') gzip = true;
  }
  return br ? 'br' : gzip ? 'gzip' : null;
}

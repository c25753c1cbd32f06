/**
 * Which host pages may send beacons: `Origin` header against the allow-list (config
 * `metrics.allowedOrigins`, env ALLOWED_ORIGINS). One grammar, one matcher:
 *
 *   pattern = scheme "://" [ "*." ] host [ ":" ( port / "*" ) ]
 *   scheme  = "http" / "https"
 *   host    = label *( "." label )      label = 1..63 of a-z 0-9 "-", not starting or ending with "-"
 *   port    = 1..65535, no leading zero
 *
 * - `*.` stands for one or more whole labels: `https://*.example.com` matches `https://a.example.com`
 *   and `https://a.b.example.com`, never `https://example.com` (list it too) nor
 *   `https://evil-example.com` or `https://example.com.evil.net`.
 * - No port means the scheme's default port (an origin never spells it: `https://a.com:443` is
 *   `https://a.com`); `:*` means any port, the default included; `:8080` means exactly that.
 * - Scheme, host and port must all match; hosts compare case-insensitively; anything that is not a
 *   serialized origin (`null`, a path, credentials, a trailing dot, IPv6) matches nothing.
 */
export interface OriginPattern {
  readonly scheme: 'http' | 'https';
  /** Host, or for a wildcard the suffix after `*.`. */
  readonly host: string;
  readonly anySubdomain: boolean;
  /** null: the scheme's default port only; '*': any port. */
  readonly port: number | '*' | null;
}

interface Origin {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  /** null for the scheme's default port. */
  readonly port: number | null;
}

const LABEL = '(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)';
const HOST = `${LABEL}(?:\\.${LABEL})*`;
const PORT = '(?:[1-9][0-9]{0,4})';
const PATTERN = new RegExp(`^(https?)://(\\*\\.)?(${HOST})(?::(${PORT}|\\*))?$`);
const ORIGIN = new RegExp(`^(https?)://(${HOST})(?::(${PORT}))?$`);
const DEFAULT_PORT = { http: 80, https: 443 } as const;

function port(scheme: 'http' | 'https', text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  if (value > 65535) return NaN;
  return value === DEFAULT_PORT[scheme] ? null : value;
}

/** Parses one allow-list entry; throws saying what is wrong with it. */
export function parseOriginPattern(pattern: string): OriginPattern {
  const match = PATTERN.exec(pattern);
  const parsedPort = match && match[4] !== '*' ? port(match[1] as 'http' | 'https', match[4]) : null;
  if (!match || Number.isNaN(parsedPort) || match[3].length > 253) {
    throw new Error(`${JSON.stringify(pattern)} is not an origin pattern: write scheme://host[:port] in lowercase, e.g. https://widget.example.com, https://*.example.com or http://localhost:*`);
  }
  return { scheme: match[1] as 'http' | 'https', anySubdomain: match[2] !== undefined, host: match[3], port: match[4] === '*' ? '*' : parsedPort };
}

/** Parses an Origin header value; null when it is not an http(s) origin this API can allow. */
export function parseOrigin(value: string): Origin | null {
  const match = ORIGIN.exec(value.toLowerCase());
  if (!match || match[2].length > 253) return null;
  const scheme = match[1] as 'http' | 'https';
  const parsedPort = port(scheme, match[3]);
  if (Number.isNaN(parsedPort)) return null;
  return { scheme, host: match[2], port: parsedPort };
}

export function originMatches(pattern: OriginPattern, origin: Origin): boolean {
  if (pattern.scheme !== origin.scheme) return false;
  if (pattern.port !== '*' && pattern.port !== origin.port) return false;
  if (!pattern.anySubdomain) return origin.host === pattern.host;
  // A whole-label suffix with at least one label in front: "a.example.com", not "evil-example.com".
  return origin.host.length > pattern.host.length + 1 && origin.host.endsWith(`.${pattern.host}`);
}

export type OriginMatcher = (origin: string | undefined) => boolean;

/** One matcher for the whole allow-list; throws on the first bad pattern. */
export function originMatcher(patterns: readonly string[]): OriginMatcher {
  const parsed = patterns.map(parseOriginPattern);
  return (value) => {
    if (value === undefined) return false;
    const origin = parseOrigin(value);
    return origin !== null && parsed.some((pattern) => originMatches(pattern, origin));
  };
}

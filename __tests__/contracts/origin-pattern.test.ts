import * as fc from 'fast-check';
import { originMatcher, parseOrigin, parseOriginPattern } from '../../contracts/origin-pattern';
import { loadConfig } from '../../config';

describe('origin patterns', () => {
  it('parses the three forms the config documents', () => {
    expect(parseOriginPattern('https://widget.example.com')).toEqual({ scheme: 'https', host: 'widget.example.com', anySubdomain: false, port: null });
    expect(parseOriginPattern('https://*.example.com')).toEqual({ scheme: 'https', host: 'example.com', anySubdomain: true, port: null });
    expect(parseOriginPattern('http://127.0.0.1:*')).toEqual({ scheme: 'http', host: '127.0.0.1', anySubdomain: false, port: '*' });
    expect(parseOriginPattern('http://localhost:8080')).toEqual({ scheme: 'http', host: 'localhost', anySubdomain: false, port: 8080 });
    // The default port is no port.
    expect(parseOriginPattern('https://a.com:443')).toEqual({ scheme: 'https', host: 'a.com', anySubdomain: false, port: null });
  });

  it('accepts every pattern of the default config', () => {
    for (const pattern of loadConfig().metrics.allowedOrigins) expect(() => parseOriginPattern(pattern)).not.toThrow();
  });

  it.each([
    'example.com',
    'ftp://example.com',
    'https://example.com/',
    'https://example.com/path',
    'https://*example.com',
    'https://a.*.example.com',
    'https://*.*.example.com',
    'https://*',
    'https://Example.com',
    'https://example.com.',
    'https://-a.example.com',
    'https://a-.example.com',
    'https://user@example.com',
    'https://example.com:0',
    'https://example.com:080',
    'https://example.com:65536',
    'https://[::1]',
    ' https://example.com',
    '*',
  ])('refuses %j, saying how to write a pattern', (pattern) => {
    expect(() => parseOriginPattern(pattern)).toThrow(`${JSON.stringify(pattern)} is not an origin pattern: write scheme://host[:port] in lowercase`);
  });
});

describe('origin matcher', () => {
  const allowed = originMatcher(['https://*.example.com', 'https://example.com', 'http://127.0.0.1:*', 'http://localhost:3000', 'https://shop.test:8443']);

  it.each([
    'https://a.example.com',
    'https://a.b.c.example.com',
    'https://example.com',
    'https://example.com:443',
    'HTTPS://A.EXAMPLE.COM',
    'http://127.0.0.1',
    'http://127.0.0.1:1',
    'http://127.0.0.1:65535',
    'http://localhost:3000',
    'https://shop.test:8443',
  ])('allows %s', (origin) => {
    expect(allowed(origin)).toBe(true);
  });

  it.each([
    ['a look-alike whose name ends in the domain', 'https://evil-example.com'],
    ['a look-alike with no dot', 'https://evilexample.com'],
    ['the domain as a subdomain of another', 'https://example.com.evil.net'],
    ['the domain as a label inside another', 'https://a.example.com.evil.net'],
    ['the wrong scheme', 'http://a.example.com'],
    ['an explicit non-default port', 'https://a.example.com:8443'],
    ['a port not listed', 'http://localhost:3001'],
    ['no port when one is required', 'http://localhost'],
    ['the default port when another is required', 'https://shop.test'],
    ['another loopback address', 'http://127.0.0.2:80'],
    ['the opaque origin', 'null'],
    ['no origin', undefined],
    ['an empty origin', ''],
    ['a trailing dot', 'https://a.example.com.'],
    ['a path', 'https://a.example.com/'],
    ['credentials', 'https://user@a.example.com'],
    ['credentials hiding the host', 'https://a.example.com@evil.net'],
    ['a leading space', ' https://a.example.com'],
    ['two origins', 'https://a.example.com https://b.example.com'],
    ['an empty label', 'https://a..example.com'],
    ['an empty subdomain', 'https://.example.com'],
    ['a port with a leading zero', 'http://127.0.0.1:0080'],
    ['a port out of range', 'http://127.0.0.1:65536'],
    ['IPv6', 'http://[::1]:3000'],
    ['a wildcard in the origin itself', 'https://*.example.com'],
  ])('refuses %s (%j)', (_why, origin) => {
    expect(allowed(origin)).toBe(false);
  });

  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
  const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));

  it('matches *.host exactly when the origin adds whole labels in front of host', () => {
    fc.assert(
      fc.property(host, host, (suffix, candidate) => {
        const matches = originMatcher([`https://*.${suffix}`]);
        const expected = candidate.endsWith(`.${suffix}`);
        expect(matches(`https://${candidate}`)).toBe(expected);
        // Gluing anything to the front of the suffix without a dot never matches.
        expect(matches(`https://${candidate}${suffix}`)).toBe(`${candidate}${suffix}`.endsWith(`.${suffix}`));
        expect(matches(`https://${candidate}.${suffix}`)).toBe(true);
        expect(matches(`https://${suffix}`)).toBe(false);
        expect(matches(`https://${suffix}.${candidate}`)).toBe(`${suffix}.${candidate}`.endsWith(`.${suffix}`));
      }),
    );
  });

  it('never matches an exact pattern with any other host, scheme or port', () => {
    fc.assert(
      fc.property(host, host, fc.constantFrom('http', 'https'), fc.integer({ min: 1, max: 65535 }), (a, b, scheme, port) => {
        const matches = originMatcher([`https://${a}`]);
        expect(matches(`https://${b}`)).toBe(a === b);
        expect(matches(`${scheme}://${a}:${port}`)).toBe(scheme === 'https' && port === 443);
      }),
    );
  });

  it('reads origins the way browsers serialize them', () => {
    expect(parseOrigin('https://a.example.com')).toEqual({ scheme: 'https', host: 'a.example.com', port: null });
    expect(parseOrigin('http://a.example.com:80')).toEqual({ scheme: 'http', host: 'a.example.com', port: null });
    expect(parseOrigin('http://a.example.com:8080')).toEqual({ scheme: 'http', host: 'a.example.com', port: 8080 });
    expect(parseOrigin('file://')).toBeNull();
  });

  it('fails to build from a bad list, naming the bad pattern', () => {
    expect(() => originMatcher(['https://ok.com', 'https://bad.com/'])).toThrow('"https://bad.com/" is not an origin pattern');
  });
});

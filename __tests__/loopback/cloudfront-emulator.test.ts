/**
 * How the emulator picks a behaviour: the distribution's path patterns, first match wins, as
 * CloudFront matches them (stacks/constructs/distribution.ts orders them the same way).
 */
import { behaviourOf, loggedQuery, pathPatternMatches } from '../../loopback/cloudfront-emulator';
import { BUILD_ENTRY_PATTERN } from '../../contracts/distribution-paths';

const BUILD = '0123456789abcdef';

describe('CloudFront path patterns', () => {
  it('match `*` across slashes and `?` as one character, case-sensitively, whole path only', () => {
    expect(pathPatternMatches('/assets/*/index.js', `/assets/${BUILD}/index.js`)).toBe(true);
    expect(pathPatternMatches('/assets/*/index.js', '/assets/a/b/index.js')).toBe(true);
    expect(pathPatternMatches('/assets/*/index.js', '/assets/index.js')).toBe(false);
    expect(pathPatternMatches('/assets/*/index.js', `/assets/${BUILD}/index.js.br`)).toBe(false);
    expect(pathPatternMatches('/assets/*/index.js', `/ASSETS/${BUILD}/index.js`)).toBe(false);
    expect(pathPatternMatches('/assets/*/index.js', `/assets/${BUILD}/indexXjs`)).toBe(false);
    expect(pathPatternMatches('/a?c', '/abc')).toBe(true);
    expect(pathPatternMatches('/a?c', '/ac')).toBe(false);
  });

  it("send the entry, a build's entry by its own URL, the error reports and everything else to their behaviours", () => {
    expect(behaviourOf('/assets/index.js')).toBe('entry');
    expect(pathPatternMatches(BUILD_ENTRY_PATTERN, `/assets/${BUILD}/index.js`)).toBe(true);
    expect(behaviourOf(`/assets/${BUILD}/index.js`)).toBe('build-entry');
    expect(behaviourOf(`/assets/${BUILD}/main.3f2a.js`)).toBe('chunks');
    expect(behaviourOf(`/assets/${BUILD}/index.js.map`)).toBe('chunks');
    expect(behaviourOf('/api/e')).toBe('error-report');
    expect(behaviourOf('/api/e/')).toBe('chunks');
    expect(behaviourOf('/api/metrics')).toBe('chunks');
    expect(behaviourOf('/apis')).toBe('chunks');
    expect(behaviourOf('/')).toBe('chunks');
  });

  it("log the query as the viewer sent it, less the local client-IP seam (it stands for CloudFront's TCP peer address)", () => {
    expect(loggedQuery('/api/e?b=0123456789abcdef&m=a%20b+c&viewer=1.2.3.4')).toBe('b=0123456789abcdef&m=a%20b+c');
    expect(loggedQuery('/assets/index.js?viewer=2001%3Adb8%3A%3A1')).toBe('');
    expect(loggedQuery('/assets/index.js?vi%65wer=1.2.3.4&viewers=2&x')).toBe('viewers=2&x');
    expect(loggedQuery('/assets/index.js')).toBe('');
    expect(loggedQuery('/assets/index.js?')).toBe('');
  });
});

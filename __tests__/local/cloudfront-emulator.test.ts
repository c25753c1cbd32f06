/**
 * How the emulator picks a behaviour: the distribution's path patterns, first match wins, as
 * CloudFront matches them (stacks/constructs/distribution.ts orders them the same way).
 */
import { behaviourOf, pathPatternMatches } from '../../local/cloudfront-emulator';
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

  it("send the entry, a build's entry by its own URL, the API and everything else to their behaviours", () => {
    expect(behaviourOf('/assets/index.js')).toBe('entry');
    expect(pathPatternMatches(BUILD_ENTRY_PATTERN, `/assets/${BUILD}/index.js`)).toBe(true);
    expect(behaviourOf(`/assets/${BUILD}/index.js`)).toBe('build-entry');
    expect(behaviourOf(`/assets/${BUILD}/main.3f2a.js`)).toBe('chunks');
    expect(behaviourOf(`/assets/${BUILD}/index.js.map`)).toBe('chunks');
    expect(behaviourOf('/api/metrics')).toBe('api');
    expect(behaviourOf('/apis')).toBe('chunks');
    expect(behaviourOf('/')).toBe('chunks');
  });
});

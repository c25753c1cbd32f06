/**
 * The distribution's table holds only what CloudFront accepts, which Terraform would find out only
 * at apply time: the method sets a behaviour may have, TTLs in order, one behaviour per pattern,
 * an origin group only behind reads.
 */
import { DISTRIBUTION_RULES } from '../../contracts/distribution-rules';

const behaviours = [...DISTRIBUTION_RULES.ordered, DISTRIBUTION_RULES.default];
const sorted = (methods: readonly string[]) => [...methods].sort().join(',');

describe('the distribution rules', () => {
  it.each(behaviours.map((rule) => [rule.name, rule] as const))(
    'give %s method sets CloudFront takes, TTLs in order and nothing cached it does not allow',
    (_name, rule) => {
      // The only sets the API takes (CloudFront API reference, AllowedMethods and CachedMethods).
      expect(['GET,HEAD', 'GET,HEAD,OPTIONS', 'DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT']).toContain(
        sorted(rule.allowedMethods),
      );
      expect(['GET,HEAD', 'GET,HEAD,OPTIONS']).toContain(sorted(rule.cachedMethods));
      expect(rule.cachedMethods.every((method) => rule.allowedMethods.includes(method))).toBe(true);
      const { ttl } = rule.cachePolicy;
      expect(0 <= ttl.min && ttl.min <= ttl.default && ttl.default <= ttl.max).toBe(true);
      // An origin group serves only GET, HEAD and OPTIONS ("Optimize high availability with CloudFront origin
      // failover").
      if (rule.origin === 'replicas')
        expect(rule.allowedMethods.every((method) => ['GET', 'HEAD', 'OPTIONS'].includes(method))).toBe(true);
    },
  );

  it('name every path pattern once, and every policy by one name', () => {
    const patterns = DISTRIBUTION_RULES.ordered.map((rule) => rule.pathPattern);
    expect(new Set(patterns).size).toBe(patterns.length);
    const byName = new Map<string, unknown>();
    for (const rule of behaviours) {
      for (const [kind, policy] of [
        ['cache', rule.cachePolicy],
        ['origin request', rule.originRequestPolicy],
        ['response headers', rule.responseHeadersPolicy],
      ] as const) {
        if (policy === undefined) continue;
        const key = `${kind}:${policy.name}`;
        // The construct makes one resource per policy object, named by the prefix and this name.
        expect(byName.get(key) ?? policy).toBe(policy);
        byName.set(key, policy);
      }
    }
  });

  it('fail over on status codes an origin group takes', () => {
    // Developer guide, "Create an origin group": any of these, and no other.
    const accepted = [400, 403, 404, 416, 500, 502, 503, 504];
    expect(DISTRIBUTION_RULES.origins.failoverStatusCodes.filter((status) => !accepted.includes(status))).toEqual([]);
  });
});

/**
 * Whether Terraform's AWS provider tags a resource type, read from the provider bindings
 * themselves (a type with a `tags` argument gets the providers' `default_tags`), not from a list
 * kept here: only resources that carry the distribution's tag can be narrowed by it.
 */
const cache = new Map<string, boolean>();

export function isTaggable(type: string): boolean {
  let taggable = cache.get(type);
  if (taggable === undefined) {
    taggable = false;
    if (type.startsWith('aws_')) {
      // `aws_cloudfront_distribution` → @cdktf/provider-aws/lib/cloudfront-distribution (one submodule, not the
      // package root).
      const binding = require(`@cdktf/provider-aws/lib/${type.slice(4).replace(/_/g, '-')}`) as Record<string, unknown>;
      const construct = Object.values(binding).find(
        (value): value is { prototype: object; tfResourceType: string } =>
          typeof value === 'function' && (value as { tfResourceType?: unknown }).tfResourceType === type,
      );
      if (!construct) throw new Error(`@cdktf/provider-aws has no resource ${type}`);
      taggable = Object.getOwnPropertyDescriptor(construct.prototype, 'tags') !== undefined;
    }
    cache.set(type, taggable);
  }
  return taggable;
}

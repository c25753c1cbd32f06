'use strict';
/**
 * A reproduction, for the benchmark only, of the chunk handler of the reference design this
 * project started from (not its code: its behaviour, written plainly, as
 * reference-entry-router.js does for its entry handler). The reference's chunk function
 * "redirect[s] the origin request to the closest aws region + replicated bucket" found through a
 * Route53 latency TXT record: like its entry handler, it looks `_bucket.<domain>` up on the first
 * request and keeps the answer for the life of the instance; every request then goes to that
 * region's bucket, path unchanged (no path check, no pre-compressed variant, no failover
 * handling).
 *
 * `__REFERENCE_CONFIG__` is replaced by the benchmark with { bucketRecord, primaryRegion, buckets }.
 * The only addition is the EDGE_DNS_SERVER seam, so that it can ask the benchmark's loopback DNS
 * server like the routers do.
 */
const { Resolver } = require('node:dns').promises;

const CONFIG = __REFERENCE_CONFIG__;
const resolver = new Resolver();
if (process.env.EDGE_DNS_SERVER) resolver.setServers([process.env.EDGE_DNS_SERVER]);

let region;

exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (!region) {
    try {
      const records = await resolver.resolveTxt(CONFIG.bucketRecord);
      region = records[0].join('');
    } catch (error) {
      region = CONFIG.primaryRegion;
    }
  }
  const domainName = CONFIG.buckets[region] || CONFIG.buckets[CONFIG.primaryRegion];
  request.origin = { s3: { authMethod: 'origin-access-identity', customHeaders: {}, domainName, path: '', region } };
  request.headers.host = [{ key: 'host', value: domainName }];
  return request;
};

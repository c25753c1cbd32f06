'use strict';
/**
 * A reproduction, for the benchmark only, of the entry handler of the reference design this
 * project started from (not its code: its behaviour, written plainly). On the first request it
 * looks up the `_bucket.<domain>` TXT record once and keeps the answer for the life of the
 * instance; every request is then rewritten so that CloudFront fetches
 * /assets/<buildId>/index.js from that region's bucket: one S3 request per page load, and one
 * build for everybody (its alias-based rollout never reaches viewers).
 *
 * `__REFERENCE_CONFIG__` is replaced by the benchmark with { bucketRecord, buildId,
 * primaryRegion, buckets }. The only addition is the EDGE_DNS_SERVER seam, so that it can ask the
 * benchmark's loopback DNS server like the routers do.
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
  request.uri = `/assets/${CONFIG.buildId}/index.js`;
  request.origin = { s3: { authMethod: 'origin-access-identity', customHeaders: {}, domainName, path: '', region } };
  request.headers.host = [{ key: 'host', value: domainName }];
  return request;
};

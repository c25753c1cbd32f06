/**
 * Chunk router: Lambda@Edge on origin-request of the default behaviour (cache misses under
 * /assets/<buildId>/). Sends the request to the nearest healthy replica bucket, in the
 * pre-compressed variant the viewer accepts. Never an error of its own: whatever goes wrong
 * inside, the request goes to the primary bucket as CloudFront would have sent it.
 */
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import { errorResponse } from '../shared/cloudfront';
import { resolverTxtLookup } from '../shared/dns';
import { NearestBucket, originRole } from '../shared/nearest-bucket';
import { checkChunkRequest, routeChunk, type ChunkRequest } from './route';

const config = __EDGE_CONFIG__;
// Lambda sets AWS_REGION to the region the replica runs in; read once, it never changes.
const nearest = new NearestBucket(config, resolverTxtLookup(config.dnsTimeoutMs), process.env.AWS_REGION, {
  onHealthChange: (healthy, detail) =>
    (healthy ? console.log : console.warn)(`chunk-router DNS ${healthy ? 'ok' : 'failing'}: ${detail}`),
});

export async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
  let chunk: ChunkRequest | null = null;
  try {
    const checked = checkChunkRequest(event);
    if (!('request' in checked)) return checked;
    chunk = checked;
    const role = originRole(chunk.request, config);
    const resolved = role === 'primary' ? nearest.read() : nearest.primary();
    return routeChunk(chunk, role, resolved instanceof Promise ? await resolved : resolved);
  } catch (error) {
    console.error('chunk-router: internal failure, passing the request to the primary bucket', error);
    return primaryFallback(chunk);
  }
}

function primaryFallback(chunk: ChunkRequest | null): CloudFrontRequestResult {
  if (chunk === null) return errorResponse('400', 'GET', 'no-store');
  try {
    return routeChunk(chunk, 'unknown', nearest.primary());
  } catch {
    return chunk.request; // as CloudFront sent it: to the origin it chose
  }
}

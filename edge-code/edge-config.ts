import { bucketRegionFallback, resourceNames, type DeployConfig } from '../config';
import type { EdgeConfig } from '../contracts/edge-config';

/** The part of the deploy config the edge functions need, in the shape they read. */
export function edgeConfigFor(config: DeployConfig, buildId: string): EdgeConfig {
  const names = resourceNames(config);
  return {
    buildId,
    bucketRecord: names.bucketRecord,
    primaryRegion: config.primaryRegion,
    failoverRegion: config.failoverRegion ?? null,
    buckets: Object.fromEntries(config.regions.map((region) => [region, names.bucketDomain(region)])),
    bucketNames: Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)])),
    regionFallback: bucketRegionFallback(config),
    bucketCacheMs: config.edge.bucketCacheSeconds * 1000,
    dnsTimeoutMs: config.edge.dnsTimeoutMs,
    stateCacheMs: config.edge.stateCacheSeconds * 1000,
    storeTimeoutMs: config.edge.storeTimeoutMs,
    bucketTimeoutMs: config.edge.bucketTimeoutMs,
  };
}

/**
 * The deploy config's public entry point: the schema (schema.ts), the loader (loader.ts) and what
 * is derived from a loaded config (names, rollout steps, regions). Importers name only this file.
 */
import { nearestRegionTable } from './regions';
import type { DeployConfig } from './loader';

export { REGIONAL_EDGE_CACHE_REGIONS } from './regions';
export { EDGE_RUNTIMES, type AlarmsConfig, type BackendConfig, type RolloutConfig } from './schema';
export { ConfigError, loadConfig, parseConfig, type DeployConfig } from './loader';

/** Static fallback for the chunk router: execution region → nearest configured bucket region. */
export function bucketRegionFallback(config: DeployConfig): Record<string, string> {
  return nearestRegionTable(config.regions);
}

export * from './names';
export * from './rollout';

/**
 * What the operational scripts' command lines share: `--regions a,b` checked against the config,
 * and a main that turns any error into its message and exit code 1 (no stack trace for a user
 * mistake).
 */
import type { DeployConfig } from '../../config';

/** The regions to work on: all configured ones, or the listed subset (a string is `a,b`). */
export function selectRegions(config: Pick<DeployConfig, 'regions'>, requested: readonly string[] | string | undefined): readonly string[] {
  if (requested === undefined) return config.regions;
  const list = typeof requested === 'string' ? requested.split(',').map((region) => region.trim()).filter(Boolean) : requested;
  if (list.length === 0) throw new Error(`--regions is empty; name some of the configured regions: ${config.regions.join(', ')}.`);
  const unknown = list.filter((region) => !config.regions.includes(region));
  if (unknown.length > 0) throw new Error(`${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not among the configured regions (${config.regions.join(', ')}).`);
  return [...new Set(list)];
}

export function runMain(main: () => Promise<void>): void {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}

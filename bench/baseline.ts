/**
 * This project's previous design, kept as a second baseline beside the reference design: its
 * entry router (baselines/dns-entry-router.ts), bundled the way the build bundles the shipped
 * routers, with the defaults it shipped with.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DeployConfig } from '../config';
import { bundleFunction, readInlinedEntry } from '../publish/build';
import { edgeConfigFor } from '../edge-code/edge-config';
import type { BuildManifest } from '../contracts/build-manifest';
import { createZip } from '../edge-code/zip';

/** What the previous design's config defaulted to: the `_rollout` record's TTL and the routers' refresh interval. */
export const PREVIOUS_DESIGN = { rolloutRecordTtlS: 30, rolloutRefreshS: 30 } as const;

/** The `_rollout.<domain>` TXT record the previous design's routers read. */
export function previousRolloutRecord(config: DeployConfig): string {
  return `_rollout.${config.domain}`;
}

/** Writes the previous design's entry router, inlining this build, as `<dir>/previous-entry-router.zip`. */
export async function writeBaselineZip(
  dir: string,
  config: DeployConfig,
  manifest: BuildManifest,
  buildDir: string,
): Promise<string> {
  const entryAsset = manifest.assets.find((asset) => asset.key === manifest.entry.key)!;
  const bundle = await bundleFunction(
    { kind: 'edge', entry: 'bench/baselines/dns-entry-router.ts' },
    {
      edgeConfig: edgeConfigFor(config, manifest.buildId),
      inlinedEntry: readInlinedEntry(buildDir, manifest.buildId, entryAsset),
    },
    {
      __DNS_BASELINE__: {
        rolloutRecord: previousRolloutRecord(config),
        rolloutRefreshMs: PREVIOUS_DESIGN.rolloutRefreshS * 1000,
      },
    },
  );
  const zip = path.join(dir, 'previous-entry-router.zip');
  writeFileSync(zip, createZip([{ name: 'index.js', data: bundle }]));
  return zip;
}

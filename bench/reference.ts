/**
 * The reference design's two edge handlers (reference-entry-router.js, reference-chunk-router.js),
 * zipped the way Lambda would receive them, with the distribution's names baked in.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { resourceNames, type DeployConfig } from '../config';
import { createZip } from '../edge-code/zip';

export interface ReferenceZips {
  readonly entry: string;
  readonly chunk: string;
}

/**
 * Writes both zips into `dir`. The reference entry handler serves one build, `buildId`: its
 * alias-based rollout never reaches a viewer, so every load gets the build its version carries.
 */
export function writeReferenceZips(dir: string, config: DeployConfig, buildId: string): ReferenceZips {
  const names = resourceNames(config);
  const common = {
    bucketRecord: names.bucketRecord,
    primaryRegion: config.primaryRegion,
    buckets: Object.fromEntries(config.regions.map((region) => [region, names.bucketDomain(region)])),
  };
  return {
    entry: writeZip(dir, 'reference-entry-router', { ...common, buildId }),
    chunk: writeZip(dir, 'reference-chunk-router', common),
  };
}

function writeZip(dir: string, name: string, config: Record<string, unknown>): string {
  const template = readFileSync(path.join(__dirname, `${name}.js`), 'utf8');
  const placeholder = 'const CONFIG = __REFERENCE_CONFIG__;';
  if (!template.includes(placeholder)) throw new Error(`${name}.js lost its config placeholder`);
  const source = template.replace(placeholder, `const CONFIG = ${JSON.stringify(config)};`);
  const zip = path.join(dir, `${name}.zip`);
  writeFileSync(zip, createZip([{ name: 'index.js', data: Buffer.from(source) }]));
  return zip;
}

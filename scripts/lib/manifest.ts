/**
 * The build manifest (build/manifest.json): what one `npm run build` produced. The stacks read the
 * zips from it, the upload copies its assets to every bucket, tests and the benchmark read its
 * sizes. Deterministic: no timestamps, sorted lists.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Encoding } from '../../edge-function/shared/encoding';
import type { CloudFrontFunctionName, FunctionKind, FunctionName } from './functions';

export const MANIFEST_FILE = 'manifest.json';
/** 2: with cloudFrontFunctions. */
export const MANIFEST_SCHEMA = 2;
export const BUILD_ID_PATTERN = /^[0-9a-f]{16}$/;

export interface AssetFile {
  /** Object key in every replica bucket, e.g. assets/<buildId>/index.js; also its path under the build folder. */
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType: string;
  /** Pre-compressed siblings (`<key>.br`, `<key>.gz`). */
  readonly variants: Readonly<Partial<Record<Encoding, { readonly key: string; readonly bytes: number; readonly sha256: string }>>>;
}

export interface FunctionZip {
  readonly kind: FunctionKind;
  /** Relative to the build folder. */
  readonly zip: string;
  readonly bytes: number;
  readonly sha256: string;
  /** base64 sha256 of the zip: Terraform's source_code_hash. */
  readonly sourceCodeHash: string;
  readonly handler: string;
  /** Size of the bundled index.js inside the zip. */
  readonly bundleBytes: number;
}

export interface CloudFrontFunctionFile {
  /** Relative to the build folder: the code, exactly as published. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface BuildManifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  readonly buildId: string;
  readonly entry: {
    readonly key: string;
    readonly bytes: number;
    readonly gzipBytes: number;
    readonly brotliBytes: number;
    readonly sha256: string;
  };
  readonly assets: readonly AssetFile[];
  readonly chunkCount: number;
  readonly functions: Readonly<Record<FunctionName, FunctionZip>>;
  readonly cloudFrontFunctions: Readonly<Record<CloudFrontFunctionName, CloudFrontFunctionFile>>;
}

export function readManifest(buildDir: string): BuildManifest {
  const file = path.join(buildDir, MANIFEST_FILE);
  let manifest: BuildManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as BuildManifest;
  } catch (error) {
    throw new Error(`No build at ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): run \`npm run build\` first.`);
  }
  if (manifest.schema !== MANIFEST_SCHEMA || !BUILD_ID_PATTERN.test(manifest.buildId)) {
    throw new Error(`${file} is not a build manifest this version understands: run \`npm run build\` again.`);
  }
  return manifest;
}

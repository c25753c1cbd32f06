/**
 * The build manifest (build/manifest.json): what one `npm run build` produced. The stacks read the
 * zips from it, the upload copies its assets to every bucket, the local mode and the benchmark
 * read its files and sizes. Deterministic: no timestamps, sorted lists. Validated on read with the
 * schema below, so a build from another version (or a hand-edited one) stops with a reason, not
 * half way through a synth or an upload.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { BUILD_ID_PATTERN } from './build-id';
import { ENCODINGS } from './encoding';

export const MANIFEST_FILE = 'manifest.json';
/** 2: with cloudFrontFunctions. */
export const MANIFEST_SCHEMA = 2;

/** The Lambda functions the build zips, by name, and where each runs. */
export const FUNCTION_NAMES = ['entry-router', 'chunk-router', 'rollout-sync', 'release', 'signal-consumer'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];
export type FunctionKind = 'edge' | 'regional';
/** The CloudFront Functions the build bundles. */
export const CLOUDFRONT_FUNCTION_NAMES = ['viewer-assignment', 'error-report'] as const;
export type CloudFrontFunctionName = (typeof CLOUDFRONT_FUNCTION_NAMES)[number];
/** Every zip holds index.js, exporting `handler`. */
export const HANDLER = 'index.handler';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const bytes = z.number().int().min(0);
const relativePath = z
  .string()
  .min(1)
  .refine(
    (value) => !path.isAbsolute(value) && !value.split('/').includes('..'),
    'must be a path inside the build folder',
  );

const assetFileSchema = z.strictObject({
  /** Object key in every replica bucket, e.g. assets/<buildId>/index.js; also its path under the build folder. */
  key: relativePath,
  bytes,
  sha256,
  contentType: z.string().min(1),
  /** Pre-compressed siblings (`<key>.br`, `<key>.gz`). */
  variants: z.partialRecord(z.enum(ENCODINGS), z.strictObject({ key: relativePath, bytes, sha256 })),
});

const functionZipSchema = z.strictObject({
  kind: z.enum(['edge', 'regional']),
  /** Relative to the build folder. */
  zip: relativePath,
  bytes,
  sha256,
  /** base64 sha256 of the zip: Terraform's source_code_hash. */
  sourceCodeHash: z.string().min(1),
  handler: z.literal(HANDLER),
  /** Size of the bundled index.js inside the zip. */
  bundleBytes: bytes,
});

const cloudFrontFunctionFileSchema = z.strictObject({
  /** Relative to the build folder: the code, exactly as published. */
  file: relativePath,
  bytes,
  sha256,
});

export const buildManifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA),
  buildId: z.string().regex(BUILD_ID_PATTERN),
  entry: z.strictObject({ key: relativePath, bytes, gzipBytes: bytes, brotliBytes: bytes, sha256 }),
  assets: z.array(assetFileSchema),
  chunkCount: z.number().int().min(0),
  functions: z.strictObject(
    Object.fromEntries(FUNCTION_NAMES.map((name) => [name, functionZipSchema])) as Record<
      FunctionName,
      typeof functionZipSchema
    >,
  ),
  cloudFrontFunctions: z.strictObject(
    Object.fromEntries(CLOUDFRONT_FUNCTION_NAMES.map((name) => [name, cloudFrontFunctionFileSchema])) as Record<
      CloudFrontFunctionName,
      typeof cloudFrontFunctionFileSchema
    >,
  ),
});

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export type BuildManifest = DeepReadonly<z.infer<typeof buildManifestSchema>>;
export type AssetFile = BuildManifest['assets'][number];
export type FunctionZip = BuildManifest['functions'][FunctionName];
export type CloudFrontFunctionFile = BuildManifest['cloudFrontFunctions'][CloudFrontFunctionName];

/** Reads and validates `<buildDir>/manifest.json`; throws saying what to do. */
export function readManifest(buildDir: string): BuildManifest {
  const file = path.join(buildDir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(
      `No build at ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): run ` +
        `\`npm run build\` first.`,
    );
  }
  const parsed = buildManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const why = issue ? `${issue.path.join('.') || 'top level'}: ${issue.message}` : parsed.error.message;
    throw new Error(`${file} is not a build manifest this version understands (${why}): run \`npm run build\` again.`);
  }
  return parsed.data;
}

/**
 * The build (`npm run build`, scripts/build.ts): the webapp, then every Lambda bundle, in a straight line.
 *
 *   webpack   webapp → index.js + async chunks, publicPath /assets/<placeholder>/
 *   buildId   sha256 of everything webpack emitted (same source ⇒ same id; any change ⇒ new id)
 *   assets    placeholder → buildId, written to build/assets/<buildId>/ with .br and .gz variants
 *   esbuild   one bundle per function; edge bundles get the config and (entry router) index.js baked in
 *   zip       deterministic zips in build/functions/
 *   function  the viewer-assignment CloudFront Function, checked against its runtime and quota
 *   manifest  build/manifest.json, last
 *
 *   npm run build -- [--out <dir>] [--config <file>]   (`--help` for more)
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import webpack from 'webpack';
import type { DeployConfig } from '../config';
import { contentTypeFor, ENCODING_SUFFIX, isCompressible, type Encoding } from '../contracts/encoding';
import type { EdgeConfig, InlinedEntry } from '../contracts/edge-config';
import { BUILD_ID_PLACEHOLDER, webappConfig } from '../webapp/webpack.config';
import { edgeConfigFor } from '../edge-code/edge-config';
import { bundleCloudFrontFunction } from '../edge-code/cloudfront-function';
import { CLOUDFRONT_FUNCTIONS, FUNCTIONS, type FunctionSpec } from '../edge-code/functions';
import {
  HANDLER,
  MANIFEST_FILE,
  MANIFEST_SCHEMA,
  type CloudFrontFunctionName,
  type FunctionName,
  type AssetFile,
  type BuildManifest,
  type CloudFrontFunctionFile,
  type FunctionZip,
} from '../contracts/build-manifest';
import { createZip } from '../edge-code/zip';

export const MODULES_FILE = 'modules.json';
export const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface BuildOptions {
  readonly config: DeployConfig;
  /** @default <project>/build */
  readonly outDir?: string;
  /** Folder holding the webapp's src/ (tests build modified copies). @default <project>/webapp */
  readonly webappDir?: string;
  /** @default no output */
  readonly log?: (line: string) => void;
  /**
   * Work shared by builds made at once in one process (the test setup makes three): a build of the
   * same app folder reuses the webpack compile already under way instead of compiling again (no
   * config setting reaches the webapp); and every step whose bytes follow from its inputs alone is
   * done once for all of them: terser on a chunk, a function's bundle and zip from its source and
   * build-time constants, an asset's compressed variants. Only for builds started together: a
   * compile's key is the folder, not its content. @default none: every build does all its work
   */
  readonly sharedWork?: SharedBuildWork;
}

/** See `BuildOptions.sharedWork`: each piece of work's promise, by what it is made from. */
export type SharedBuildWork = Map<string, Promise<unknown>>;

/** `make()`, or the promise of the same work another build of `shared` started (under the same `key`). */
function shareWork<T>(shared: SharedBuildWork | undefined, key: string, make: () => Promise<T>): Promise<T> {
  const known = shared?.get(key) as Promise<T> | undefined;
  if (known !== undefined) return known;
  const made = make();
  shared?.set(key, made);
  return made;
}

export interface BuildResult {
  readonly outDir: string;
  readonly manifest: BuildManifest;
  /** Every webpack module (by name) → the chunks it was bundled into. */
  readonly moduleChunks: Readonly<Record<string, readonly string[]>>;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const outDir = path.resolve(options.outDir ?? path.join(PROJECT_ROOT, 'build'));
  const webappDir = path.resolve(options.webappDir ?? path.join(PROJECT_ROOT, 'webapp'));
  const log = options.log ?? (() => undefined);

  // Everything is written to a stage beside the output and moved in at the end, manifest last, so
  // a reader of outDir (a test, an upload, a second build at the same time) never sees a build
  // half written or half deleted.
  mkdirSync(outDir, { recursive: true });
  const stage = mkdtempSync(path.join(outDir, '.stage-'));
  try {
    const result = await buildInto(stage, webappDir, options.config, log, options.sharedWork);
    publishStage(stage, outDir);
    return { ...result, outDir };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The build's outputs, in the order they are replaced in the output folder: the manifest last. */
const OUTPUTS = ['assets', 'functions', MODULES_FILE, MANIFEST_FILE] as const;

function publishStage(stage: string, outDir: string): void {
  for (const name of OUTPUTS) {
    const target = path.join(outDir, name);
    if (name === MANIFEST_FILE || name === MODULES_FILE) {
      renameSync(path.join(stage, name), target); // a file replaces a file in one step
      continue;
    }
    const previous = path.join(stage, `previous-${name}`);
    if (existsSync(target)) renameSync(target, previous);
    renameSync(path.join(stage, name), target);
  }
}

async function buildInto(
  outDir: string,
  webappDir: string,
  config: DeployConfig,
  log: (line: string) => void,
  sharedWork?: SharedBuildWork,
): Promise<Omit<BuildResult, 'outDir'>> {
  const options = { config };
  mkdirSync(path.join(outDir, 'functions'), { recursive: true });
  const webapp = await shareWork(sharedWork, `webpack\0${webappDir}`, () =>
    compileWebapp(webappDir, path.join(outDir, '.webpack'), sharedWork),
  );
  const buildId = contentHash(webapp.files);
  // The buildId is a hash of the files: the same id, the same assets.
  const assets = writeAssets(
    outDir,
    await shareWork(sharedWork, `assets\0${buildId}`, async () => assetFiles(buildId, webapp.files)),
  );
  const entryKey = `assets/${buildId}/index.js`;
  const entryAsset = assets.find((asset) => asset.key === entryKey);
  if (!entryAsset) throw new Error('webpack emitted no index.js');
  const inlinedEntry = readInlinedEntry(outDir, buildId, entryAsset);
  const edgeConfig = edgeConfigFor(options.config, buildId);

  const functions = {} as Record<FunctionName, FunctionZip>;
  for (const spec of FUNCTIONS) {
    const baked = { edgeConfig, inlinedEntry };
    // Keyed by the spec and everything esbuild is given (its lazy modules' options follow from the same two): a
    // bundle no constant of this build reaches (a regional function's) is made once for every build.
    const inputs = JSON.stringify([spec, bundleOptions(spec, baked)]);
    const packaged = await shareWork(sharedWork, `function\0${inputs}`, async () => {
      const files = await functionFiles(spec, baked);
      return { files, zip: createZip(files) };
    });
    functions[spec.name] = writeFunctionZip(spec, outDir, packaged);
  }

  const cloudFrontFunctions = {} as Record<CloudFrontFunctionName, CloudFrontFunctionFile>;
  for (const spec of CLOUDFRONT_FUNCTIONS) {
    const code = await shareWork(sharedWork, `cloudfront-function\0${spec.entry}`, async () =>
      Buffer.from(await bundleCloudFrontFunction(path.join(PROJECT_ROOT, spec.entry), PROJECT_ROOT), 'utf8'),
    );
    const relative = `functions/${spec.name}.js`;
    writeFileSync(path.join(outDir, relative), code);
    cloudFrontFunctions[spec.name] = { file: relative, bytes: code.length, sha256: sha256(code) };
  }

  const manifest: BuildManifest = {
    schema: MANIFEST_SCHEMA,
    buildId,
    entry: {
      key: entryKey,
      bytes: entryAsset.bytes,
      gzipBytes: entryAsset.variants.gzip!.bytes,
      brotliBytes: entryAsset.variants.br!.bytes,
      sha256: entryAsset.sha256,
    },
    assets,
    chunkCount: assets.filter((asset) => asset.key.endsWith('.js') && asset.key !== entryKey).length,
    functions,
    cloudFrontFunctions,
  };
  // Which chunk holds which module: for size work, and for the no-duplicate-module check.
  writeFileSync(path.join(outDir, MODULES_FILE), `${JSON.stringify(webapp.moduleChunks, null, 2)}\n`);
  writeFileSync(path.join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  summarize(manifest, log);
  return { manifest, moduleChunks: webapp.moduleChunks };
}

export interface CompiledWebapp {
  /** Emitted file name → bytes, still holding the buildId placeholder. */
  readonly files: Map<string, Buffer>;
  readonly moduleChunks: Record<string, string[]>;
}

async function compileWebapp(
  webappDir: string,
  outputDir: string,
  minified: SharedBuildWork | undefined,
): Promise<CompiledWebapp> {
  const compiler = webpack(
    webappConfig({ webappDir, outputDir, nodeModules: path.join(PROJECT_ROOT, 'node_modules'), minified }),
  );
  const stats = await new Promise<webpack.Stats>((resolve, reject) => {
    compiler.run((error, result) => {
      compiler.close(() => undefined);
      if (error) reject(error);
      else if (!result) reject(new Error('webpack returned no stats'));
      else if (result.hasErrors()) reject(new Error(`webpack failed:\n${result.toString('errors-only')}`));
      else resolve(result);
    });
  });
  const json = stats.toJson({
    all: false,
    modules: true,
    nestedModules: true,
    chunks: true,
    ids: true,
    chunkRelations: false,
  });
  const chunkNames = new Map((json.chunks ?? []).map((chunk) => [chunk.id, chunk.names?.[0] ?? String(chunk.id)]));
  const moduleChunks: Record<string, string[]> = {};
  for (const module of json.modules ?? []) {
    if (module.moduleType === 'runtime') continue;
    const chunks = (module.chunks ?? []).map((id) => chunkNames.get(id) ?? String(id));
    // A concatenated module lists its parts; they live wherever the concatenation lives.
    const parts = module.modules?.length ? module.modules : [module];
    for (const part of parts) {
      if (!part.name) continue;
      moduleChunks[part.name] = [...new Set([...(moduleChunks[part.name] ?? []), ...chunks])];
    }
  }
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(outputDir).sort()) files.set(name, readFileSync(path.join(outputDir, name)));
  rmSync(outputDir, { recursive: true, force: true });
  return { files, moduleChunks };
}

/** 16 hex characters of sha256 over every emitted file's name and bytes, in name order. */
function contentHash(files: ReadonlyMap<string, Buffer>): string {
  const hash = createHash('sha256');
  for (const [name, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    hash.update(name).update('\0').update(String(data.length)).update('\0').update(data);
  }
  return hash.digest('hex').slice(0, 16);
}

/** An asset as it is written: its bytes, and its compressed variants' (by file key). */
interface AssetBytes {
  readonly asset: AssetFile;
  readonly files: ReadonlyMap<string, Buffer>;
}

/** Every emitted file with the buildId stamped in, and for text its .br and .gz variants. */
function assetFiles(buildId: string, files: ReadonlyMap<string, Buffer>): AssetBytes[] {
  const assets: AssetBytes[] = [];
  for (const [name, raw] of files) {
    const key = `assets/${buildId}/${name}`;
    const data = isCompressible(name)
      ? Buffer.from(raw.toString('utf8').replaceAll(BUILD_ID_PLACEHOLDER, buildId))
      : raw;
    const written = new Map([[key, data]]);
    const variants: Partial<Record<Encoding, { key: string; bytes: number; sha256: string }>> = {};
    if (isCompressible(name)) {
      for (const encoding of ['br', 'gzip'] as const) {
        const compressed = compress(data, encoding);
        const variantKey = key + ENCODING_SUFFIX[encoding];
        written.set(variantKey, compressed);
        variants[encoding] = { key: variantKey, bytes: compressed.length, sha256: sha256(compressed) };
      }
    }
    const asset = { key, bytes: data.length, sha256: sha256(data), contentType: contentTypeFor(name), variants };
    assets.push({ asset, files: written });
  }
  return assets;
}

function writeAssets(outDir: string, assets: readonly AssetBytes[]): AssetFile[] {
  for (const { files } of assets) {
    for (const [key, data] of files) {
      mkdirSync(path.dirname(path.join(outDir, key)), { recursive: true });
      writeFileSync(path.join(outDir, key), data);
    }
  }
  // A copy: builds that share the work do not share the manifest's objects.
  return assets.map(({ asset }) => structuredClone(asset)).sort((a, b) => (a.key < b.key ? -1 : 1));
}

export function compress(data: Buffer, encoding: Encoding): Buffer {
  return encoding === 'br'
    ? brotliCompressSync(data, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
          [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      })
    : gzipSync(data, { level: 9 });
}

/**
 * The entry router's index.js as it is inlined: plain, and the build's gzip and brotli bytes in base64, each with its
 * MD5 ETag.
 */
export function readInlinedEntry(outDir: string, buildId: string, entryAsset: AssetFile): InlinedEntry {
  const identity = readFileSync(path.join(outDir, entryAsset.key));
  const gzip = readFileSync(path.join(outDir, entryAsset.variants.gzip!.key));
  const br = readFileSync(path.join(outDir, entryAsset.variants.br!.key));
  return {
    buildId,
    etags: { identity: md5Etag(identity), gzip: md5Etag(gzip), br: md5Etag(br) },
    identity: identity.toString('utf8'),
    gzip: gzip.toString('base64'),
    br: br.toString('base64'),
  };
}

/** The ETag S3 gives an object uploaded in one part without SSE-KMS: its MD5, quoted. */
export function md5Etag(data: Buffer): string {
  return `"${createHash('md5').update(data).digest('hex')}"`;
}

export interface BakedIn {
  /** Baked into edge bundles as `__EDGE_CONFIG__`. */
  readonly edgeConfig: EdgeConfig;
  /** Baked into the entry router as `__INLINED_ENTRY__`. */
  readonly inlinedEntry: InlinedEntry;
}

/**
 * One function's index.js, exactly as it ships. Exported so tests can bundle an edge function
 * with another edge config (e.g. short refresh intervals) the same way the build does, and the
 * benchmark its baseline router. `extraDefine`: more build-time constants (name → value).
 */
/** The files of a function's zip: index.js, then each lazy module's own file. */
export async function functionFiles(spec: FunctionSpec, baked: BakedIn): Promise<{ name: string; data: Buffer }[]> {
  const files = [{ name: 'index.js', data: await bundleFunction(spec, baked) }];
  for (const lazy of spec.lazyModules ?? [])
    files.push({
      name: lazyModuleFile(lazy),
      data: await bundleFunction({ ...spec, entry: lazy, lazyModules: [] }, baked),
    });
  return files;
}

/** The file a lazy module is bundled to beside index.js: `edge-function/shared/x.ts` → `x.js`. */
export function lazyModuleFile(source: string): string {
  return `${path.basename(source, '.ts')}.js`;
}

export async function bundleFunction(
  spec: Pick<FunctionSpec, 'kind' | 'entry' | 'bundledSdk' | 'lazyModules'>,
  baked: BakedIn,
  extraDefine: Readonly<Record<string, unknown>> = {},
): Promise<Buffer> {
  const result = await esbuild.build(bundleOptions(spec, baked, extraDefine));
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`${spec.entry}: esbuild gave no bundle`);
  return Buffer.from(output.contents);
}

/**
 * Everything esbuild is given for a function's bundle. The build shares a bundle between builds
 * whose options here are the same (`sharedWork`), so nothing of a build may reach the bundle
 * but through them: the plugin below depends on the spec alone.
 */
function bundleOptions(
  spec: Pick<FunctionSpec, 'kind' | 'entry' | 'bundledSdk' | 'lazyModules'>,
  baked: BakedIn,
  extraDefine: Readonly<Record<string, unknown>> = {},
): esbuild.BuildOptions & { write: false } {
  const lazy = new Map(
    (spec.lazyModules ?? []).map((source) => [path.basename(source, '.ts'), lazyModuleFile(source)]),
  );
  const define: Record<string, string> = {};
  // esbuild replaces only what a bundle mentions: the chunk router never carries the entry.
  if (spec.kind === 'edge') {
    define.__EDGE_CONFIG__ = JSON.stringify(baked.edgeConfig);
    define.__INLINED_ENTRY__ = JSON.stringify(baked.inlinedEntry);
  }
  for (const [name, value] of Object.entries(extraDefine)) define[name] = JSON.stringify(value);
  const bundledSdk = new Set(spec.bundledSdk ?? []);
  return {
    entryPoints: [path.join(PROJECT_ROOT, spec.entry)],
    bundle: true,
    platform: 'node',
    // Lambda@Edge runs nodejs22.x at most; the regional runtime is at least as new.
    target: 'node22',
    format: 'cjs',
    // import() of a module loaded on first use becomes a deferred require(), which any CommonJS
    // host runs (Lambda does, and so does a test's VM).
    supported: { 'dynamic-import': false },
    minify: true,
    legalComments: 'none',
    sourcemap: false,
    // The Lambda runtime provides SDK v3; bundling it would only grow the zip. Packages in
    // bundledSdk are the exception, and with them everything they import.
    plugins: [
      {
        name: 'runtime-sdk',
        setup(pluginBuild) {
          // A lazy module stays a require() of its own file beside index.js.
          pluginBuild.onResolve({ filter: /^\.\.?\// }, (args) => {
            const file = lazy.get(path.basename(args.path, '.ts'));
            return file === undefined ? undefined : { path: `./${file}`, external: true };
          });
          pluginBuild.onResolve({ filter: /^@aws-sdk\// }, (args) => {
            const fromDependency = args.importer.includes(`${path.sep}node_modules${path.sep}`);
            return fromDependency || bundledSdk.has(args.path) ? undefined : { path: args.path, external: true };
          });
        },
      },
    ],
    define,
    write: false,
    logLevel: 'silent',
    absWorkingDir: PROJECT_ROOT,
  };
}

function writeFunctionZip(
  spec: FunctionSpec,
  outDir: string,
  { files, zip }: { readonly files: readonly { name: string; data: Buffer }[]; readonly zip: Buffer },
): FunctionZip {
  // functionFiles puts the handler's bundle first.
  const [bundle] = files;
  if (bundle === undefined) throw new Error(`${spec.name}: a function zip needs its bundle`);
  const relative = `functions/${spec.name}.zip`;
  mkdirSync(path.join(outDir, 'functions'), { recursive: true });
  writeFileSync(path.join(outDir, relative), zip);
  const digest = createHash('sha256').update(zip).digest();
  return {
    kind: spec.kind,
    zip: relative,
    bytes: zip.length,
    sha256: digest.toString('hex'),
    sourceCodeHash: digest.toString('base64'),
    handler: HANDLER,
    bundleBytes: bundle.data.length,
  };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function summarize(manifest: BuildManifest, log: (line: string) => void): void {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  log(`buildId      ${manifest.buildId}`);
  log(
    `entry        index.js ${manifest.entry.bytes} B raw, ${manifest.entry.gzipBytes} B gzip, ` +
      `${manifest.entry.brotliBytes} B brotli`,
  );
  const chunks = manifest.assets.filter((asset) => asset.key.endsWith('.js') && asset.key !== manifest.entry.key);
  log(
    `chunks       ${manifest.chunkCount} (${kb(chunks.reduce((sum, c) => sum + c.bytes, 0))} raw, ` +
      `${kb(chunks.reduce((sum, c) => sum + (c.variants.br?.bytes ?? c.bytes), 0))} brotli)`,
  );
  for (const [name, fn] of Object.entries(manifest.functions))
    log(`zip          ${name.padEnd(13)} ${kb(fn.bytes)} (${fn.kind})`);
  for (const [name, fn] of Object.entries(manifest.cloudFrontFunctions))
    log(`function     ${name} ${fn.bytes} B of CloudFront's 10240 (cloudfront-js-2.0)`);
}

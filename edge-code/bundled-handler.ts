/**
 * Loads a function exactly as Lambda would: its zip unpacked, index.js in a module instance of its
 * own. Tests and the local mode use it so that what they exercise is what ships, not the source.
 *
 * The one place a zip is unpacked to disk (`unpackZip`): every entry name is checked before
 * anything is written, so a zip cannot write outside its folder (zip-slip); and a caller that knows
 * the zip's sha256 (the build manifest's) passes it, and the very bytes that were hashed are the
 * ones unpacked and run.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readZip, type ReadZipEntry } from './zip';

/** The Lambda runtime provides SDK v3 (bundles leave `@aws-sdk/*` external); here the project's copy stands in. */
export const RUNTIME_SDK = path.resolve(__dirname, '..', 'node_modules', '@aws-sdk');

export type LambdaHandler<E = unknown, R = unknown> = (event: E, context?: unknown) => Promise<R>;

export interface LoadOptions {
  /**
   * Folder the copy of index.js is written under (one new subfolder per load). Callers that load
   * many handlers (the benchmark) pass a scratch folder they remove afterwards.
   * @default one folder per process in the OS temporary folder, removed when the process exits
   */
  readonly tmpRoot?: string;
  /**
   * The folder that plays the Lambda runtime's `@aws-sdk`: tests pass one without a package to
   * prove a bundle carries it itself. @default the project's node_modules/@aws-sdk
   */
  readonly runtimeSdk?: string;
  /**
   * The zip's sha256 (hex) as the build manifest records it (`FunctionZip.sha256`): a zip whose
   * bytes differ is refused before anything of it is unpacked or run. @default not checked
   */
  readonly sha256?: string;
}

let processRoot: string | undefined;

/** Copies stay loadable for the process's life (modules are read lazily), then go. */
function defaultRoot(): string {
  if (!processRoot) {
    const root = mkdtempSync(path.join(tmpdir(), 'bundled-handlers-'));
    processRoot = root;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return processRoot;
}

/**
 * Removes the copies made in the default folder; the next load makes a new one. The 'exit' hook
 * does this for a plain process, but a jest test file sees a copy of `process` that never emits
 * 'exit', so the test setup calls this after each file.
 */
export function removeBundledHandlerCopies(): void {
  if (processRoot) rmSync(processRoot, { recursive: true, force: true });
  processRoot = undefined;
}

/** Throws, naming the zip, unless `zip`'s sha256 is `expected` (hex, as the build manifest has it). */
export function checkZipSha256(zip: Buffer, expected: string, zipPath: string): void {
  const actual = createHash('sha256').update(zip).digest('hex');
  if (actual !== expected.toLowerCase()) {
    throw new Error(
      `${zipPath}: sha256 ${actual} is not the build manifest's ${expected}: the zip was changed after the ` +
        `build; refusing to load it (build again)`,
    );
  }
}

/** Why `name` may not be unpacked under `dir`, or null when it stays inside it. */
function unsafeEntryName(name: string, dir: string): string | null {
  if (name === '') return 'has an empty name';
  if (name.includes('\0')) return 'has a NUL byte in its name';
  if (name.includes('\\')) return 'has a backslash in its name';
  if (path.posix.isAbsolute(name) || path.win32.isAbsolute(name) || /^[A-Za-z]:/.test(name))
    return 'is an absolute path';
  if (name.split('/').includes('..')) return 'has a .. segment';
  const relative = path.relative(dir, path.resolve(dir, name));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return 'resolves outside its folder';
  return null;
}

/**
 * Unpacks `zip` into `dir` (a folder that is new and empty), as Lambda unpacks a function's zip.
 * Every entry name is checked first, and nothing is written when one is refused: no absolute
 * name, no `..` segment, no backslash, nothing whose resolved path leaves `dir`. Files are
 * created, never overwritten (no entry can replace another, or write through a link). Errors name
 * `zipPath` and the entry.
 */
export function unpackZip(zip: Buffer, dir: string, zipPath: string): ReadZipEntry[] {
  let entries: ReadZipEntry[];
  try {
    entries = readZip(zip);
  } catch (error) {
    throw new Error(`${zipPath}: ${(error as Error).message}`);
  }
  const root = path.resolve(dir);
  for (const entry of entries) {
    const why = unsafeEntryName(entry.name, root);
    if (why !== null)
      throw new Error(`${zipPath}: zip entry ${JSON.stringify(entry.name)} ${why}; refusing to unpack the zip`);
  }
  for (const entry of entries) {
    const target = path.resolve(root, entry.name);
    if (entry.name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, entry.data, { flag: 'wx' });
    } catch (error) {
      throw new Error(
        `${zipPath}: zip entry ${JSON.stringify(entry.name)} could not be unpacked ` +
          `(${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
  }
  return entries;
}

export function loadBundledHandler<E = unknown, R = unknown>(
  zipPath: string,
  options: LoadOptions = {},
): LambdaHandler<E, R> {
  // Read once: what is hashed is what is unpacked.
  const zip = readFileSync(zipPath);
  if (options.sha256 !== undefined) checkZipSha256(zip, options.sha256, zipPath);
  const name = path.basename(zipPath, '.zip');
  // A fresh folder per load: Node caches modules by path, and each load must start cold.
  const dir = mkdtempSync(path.join(options.tmpRoot ?? defaultRoot(), `${name}-`));
  // The code goes where a dependency's would, under node_modules: tools treat it as library code,
  // so jest reports a failure inside it at the caller's line instead of printing a code frame of
  // the minified bundle (one line: the whole bundle).
  const codeDir = path.join(dir, 'node_modules', name);
  // Every file of the zip, as Lambda unpacks it: index.js may require the others lazily.
  const entries = unpackZip(zip, codeDir, zipPath);
  if (!entries.some((entry) => entry.name === 'index.js')) throw new Error(`${zipPath} has no index.js`);
  const file = path.join(codeDir, 'index.js');
  symlinkSync(options.runtimeSdk ?? RUNTIME_SDK, path.join(dir, 'node_modules', '@aws-sdk'), 'dir');
  const loaded = require(file) as { handler?: LambdaHandler<E, R> };
  if (typeof loaded.handler !== 'function') throw new Error(`${zipPath}: index.js exports no handler`);
  return loaded.handler;
}

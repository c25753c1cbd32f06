/**
 * Loads a function exactly as Lambda would: its zip unpacked, index.js in a module instance of its
 * own. Tests and the local mode use it so that what they exercise is what ships, not the source.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readZip } from './zip';

/** The Lambda runtime provides SDK v3 (bundles leave `@aws-sdk/*` external); here the project's copy stands in. */
export const RUNTIME_SDK = path.resolve(__dirname, '..', '..', 'node_modules', '@aws-sdk');

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

export function loadBundledHandler<E = unknown, R = unknown>(zipPath: string, options: LoadOptions = {}): LambdaHandler<E, R> {
  const entries = readZip(readFileSync(zipPath));
  if (!entries.some((entry) => entry.name === 'index.js')) throw new Error(`${zipPath} has no index.js`);
  const name = path.basename(zipPath, '.zip');
  // A fresh folder per load: Node caches modules by path, and each load must start cold.
  const dir = mkdtempSync(path.join(options.tmpRoot ?? defaultRoot(), `${name}-`));
  // The code goes where a dependency's would, under node_modules: tools treat it as library code,
  // so jest reports a failure inside it at the caller's line instead of printing a code frame of
  // the minified bundle (one line: the whole bundle).
  const codeDir = path.join(dir, 'node_modules', name);
  // Every file of the zip, as Lambda unpacks it: index.js may require the others lazily.
  for (const entry of entries) {
    const target = path.join(codeDir, entry.name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, entry.data);
  }
  const file = path.join(codeDir, 'index.js');
  symlinkSync(options.runtimeSdk ?? RUNTIME_SDK, path.join(dir, 'node_modules', '@aws-sdk'), 'dir');
  const loaded = require(file) as { handler?: LambdaHandler<E, R> };
  if (typeof loaded.handler !== 'function') throw new Error(`${zipPath}: index.js exports no handler`);
  return loaded.handler;
}

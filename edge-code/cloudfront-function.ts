/**
 * CloudFront Functions (cloudfront-js-2.0), as this project builds and tests them.
 *
 * Build: esbuild bundles the TypeScript source into one ES module whose only import is
 * `import cf from "cloudfront"`, identifiers kept (the console shows readable code), and the
 * trailing `export{handler}` removed: CloudFront calls a top-level `handler`. The result is what
 * the stack publishes, byte for byte.
 *
 * Check (`cloudFrontFunctionProblems`), at build time and in tests: the runtime's 10 KB quota;
 * no `${` or `%{` (the code is a string in Terraform JSON, where those start an interpolation);
 * and the language subset the runtime documents (CloudFront developer guide, "JavaScript runtime
 * 2.0 features", read 2026-11): ES 5.1 plus let/const, arrow functions, rest parameters, template
 * literals, `**` and async/await in the top-level handler only ("async arguments and closures are
 * not supported"). Classes, destructuring, spread, for-of, default parameters, optional chaining,
 * `??`, generators, shorthand properties and regex lookbehind are refused, as are
 * `String.prototype.charCodeAt` (not among the listed string methods; `codePointAt` is) and
 * Node's globals.
 *
 * Run (`loadCloudFrontFunction`): the exact published text in a fresh V8 context holding only the
 * language's own built-ins, minus what the runtime does not offer (no eval or Function
 * constructor, no timers, no `charCodeAt`, no WebAssembly or Intl), a `console` with `log` only,
 * and the `cloudfront` module's `kvs()` backed by the caller's store. The module import line is
 * the one thing rewritten: a plain script cannot `import`, so it becomes a binding to the module.
 */
import * as vm from 'node:vm';
import * as acorn from 'acorn';
import * as esbuild from 'esbuild';

/** CloudFront's quota on a function's code (not adjustable). */
export const CLOUDFRONT_FUNCTION_MAX_BYTES = 10 * 1024;
export const CLOUDFRONT_MODULE_IMPORT = 'import cf from"cloudfront";';
const EXPORT_SUFFIX = /export\{handler\};\s*$/;

/**
 * Bundles `entry` (absolute path) into the code CloudFront runs; throws with the problems when it is not publishable.
 */
export async function bundleCloudFrontFunction(entry: string, workingDir: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    // async/await stays (the runtime has it); anything newer is lowered or refused by the check.
    target: 'es2017',
    external: ['cloudfront'],
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
    absWorkingDir: workingDir,
  });
  const bundled = result.outputFiles[0]?.text;
  if (bundled === undefined) throw new Error(`${entry}: esbuild gave no bundle`);
  if (!EXPORT_SUFFIX.test(bundled))
    throw new Error(`${entry}: the bundle must end with export{handler}; got …${bundled.slice(-80)}`);
  const code = `${await shortenLocals(bundled.replace(EXPORT_SUFFIX, '').trimEnd())}\n`;
  const problems = cloudFrontFunctionProblems(code);
  if (problems.length > 0)
    throw new Error(
      `${entry} cannot be published as a CloudFront Function:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  return code;
}

/**
 * The bundle with its local names (parameters, variables inside functions) shortened, its
 * top-level names kept: run as a script, not a module, esbuild may rename only what no other
 * script could see. So the published code still reads by its functions' names in CloudFront's
 * console, `handler` is still the function the runtime calls, and the locals cost a third less of
 * the 10 KB, which a full rollout state inlined by verify-edge's compute check also needs.
 */
async function shortenLocals(code: string): Promise<string> {
  const imports = code.startsWith(CLOUDFRONT_MODULE_IMPORT);
  const script = imports ? code.slice(CLOUDFRONT_MODULE_IMPORT.length) : code;
  const shortened = await esbuild.transform(script, {
    minifyIdentifiers: true,
    minifyWhitespace: true,
    minifySyntax: true,
    target: 'es2017',
    legalComments: 'none',
    charset: 'utf8',
  });
  return (imports ? CLOUDFRONT_MODULE_IMPORT : '') + shortened.code.trimEnd();
}

const NODE_GLOBALS = new Set([
  'require',
  'process',
  'Buffer',
  'global',
  'module',
  'exports',
  '__dirname',
  '__filename',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'queueMicrotask',
  'TextEncoder',
  'TextDecoder',
  'URL',
  'URLSearchParams',
  'fetch',
  'structuredClone',
  'eval',
  'Function',
]);
const REFUSED_NODES: Readonly<Record<string, string>> = {
  ClassDeclaration: 'classes',
  ClassExpression: 'classes',
  ForOfStatement: 'for-of',
  SpreadElement: 'spread',
  ObjectPattern: 'destructuring',
  ArrayPattern: 'destructuring',
  AssignmentPattern: 'default parameters',
  ChainExpression: 'optional chaining',
  YieldExpression: 'generators',
  ImportExpression: 'dynamic import',
  MetaProperty: 'import.meta / new.target',
  TaggedTemplateExpression: 'tagged templates',
  ExportNamedDeclaration: 'exports',
  ExportDefaultDeclaration: 'exports',
  ExportAllDeclaration: 'exports',
};

type Node = acorn.Node & Record<string, unknown>;

/** Why `code` cannot be published as a cloudfront-js-2.0 function; empty when it can. */
export function cloudFrontFunctionProblems(code: string): string[] {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(code, 'utf8');
  if (bytes > CLOUDFRONT_FUNCTION_MAX_BYTES)
    problems.push(`${bytes} bytes, over CloudFront's ${CLOUDFRONT_FUNCTION_MAX_BYTES}-byte quota`);
  for (const sequence of ['${', '%{']) {
    if (code.includes(sequence))
      problems.push(`contains "${sequence}", which Terraform would read as an interpolation in the function's code`);
  }
  let program: Node;
  try {
    program = acorn.parse(code, { ecmaVersion: 2022, sourceType: 'module' }) as unknown as Node;
  } catch (error) {
    return [...problems, `does not parse: ${(error as Error).message}`];
  }
  const body = program.body as Node[];
  const handler = body.find(
    (node) => node.type === 'FunctionDeclaration' && (node.id as Node | null)?.name === 'handler',
  );
  if (!handler) problems.push('has no top-level function handler(event)');
  const refuse = (node: Node, what: string) =>
    problems.push(
      `${what} at offset ${node.start} ` +
        `(${JSON.stringify(code.slice(node.start, Math.min(node.end, node.start + 40)))})`,
    );

  const visit = (node: Node, parent: Node | null, depth: number): void => {
    const refused = REFUSED_NODES[node.type];
    if (refused) refuse(node, `${refused} are not in cloudfront-js-2.0`);
    switch (node.type) {
      case 'ImportDeclaration': {
        const specifiers = node.specifiers as Node[];
        const source = (node.source as Node).value;
        if (source !== 'cloudfront' || specifiers.length !== 1 || specifiers[0]?.type !== 'ImportDefaultSpecifier')
          refuse(node, 'the only import allowed is the cloudfront module, as a default import');
        break;
      }
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (node.generator) refuse(node, 'generators are not in cloudfront-js-2.0');
        if (node.async && !(node === handler && depth === 1))
          refuse(node, 'async functions other than the top-level handler (async closures are not supported)');
        break;
      case 'LogicalExpression':
        if (node.operator === '??') refuse(node, '?? is not in cloudfront-js-2.0');
        break;
      case 'AssignmentExpression':
        if (['??=', '||=', '&&='].includes(node.operator as string))
          refuse(node, `${String(node.operator)} is not in cloudfront-js-2.0`);
        break;
      case 'Property':
        if (node.shorthand || node.method || node.computed)
          refuse(node, 'shorthand, method and computed properties are not in cloudfront-js-2.0');
        break;
      case 'Literal': {
        if (typeof node.bigint === 'string') refuse(node, 'BigInt literals are not in cloudfront-js-2.0');
        const regex = node.regex as { pattern: string; flags: string } | undefined;
        if (regex && (/[^gim]/.test(regex.flags) || /\(\?<[=!]/.test(regex.pattern)))
          refuse(node, 'regular expression flags other than g, i, m, and lookbehind, are not in cloudfront-js-2.0');
        break;
      }
      case 'MemberExpression': {
        const property = node.property as Node;
        if (!node.computed && property.name === 'charCodeAt')
          refuse(node, 'String.prototype.charCodeAt is not among cloudfront-js-2.0 string methods; use codePointAt');
        break;
      }
      case 'Identifier': {
        const isPropertyName =
          parent !== null &&
          ((parent.type === 'MemberExpression' && parent.property === node && !parent.computed) ||
            (parent.type === 'Property' && parent.key === node));
        if (!isPropertyName && NODE_GLOBALS.has(node.name as string))
          refuse(node, `${String(node.name)} is not a cloudfront-js-2.0 global`);
        break;
      }
    }
    for (const key of Object.keys(node)) {
      const child = node[key];
      if (Array.isArray(child)) {
        for (const item of child)
          if (item && typeof item === 'object' && typeof (item as Node).type === 'string')
            visit(item as Node, node, depth + 1);
      } else if (child && typeof child === 'object' && typeof (child as Node).type === 'string') {
        visit(child as Node, node, depth + 1);
      }
    }
  };
  for (const statement of body) visit(statement, program, 1);
  return problems;
}

/** The store handle the published code takes, once, when it loads. */
const STORE_HANDLE = 'cf.kvs()';

/**
 * The published `code` with its store read answered by `value`, whatever the store holds: for a
 * TestFunction case that needs a state the real store must not hold (viewers read it). The real
 * read still runs first, so its cost stays in what CloudFront measures; only its answer is
 * replaced. Throws when the code does not take its store handle exactly once as `cf.kvs()`.
 */
export function withStoreValue(code: string, value: string): string {
  const at = code.indexOf(STORE_HANDLE);
  if (!code.startsWith(CLOUDFRONT_MODULE_IMPORT) || at < 0 || code.indexOf(STORE_HANDLE, at + 1) >= 0) {
    throw new Error(
      `the function code must start with ${CLOUDFRONT_MODULE_IMPORT} and take its store handle once, ` +
        `as ${STORE_HANDLE}`,
    );
  }
  // A plain function (cloudfront-js-2.0 has no async closures); the handler awaits what get() returns.
  const answered =
    `function storeAnswering(store){var value=${JSON.stringify(value)};return{get:function(key,options){return ` +
    `store.get(key,options).then(function(){return value},function(){return value})}}}`;
  return (
    `${CLOUDFRONT_MODULE_IMPORT}${answered}${code.slice(CLOUDFRONT_MODULE_IMPORT.length, at)}` +
    `storeAnswering(${STORE_HANDLE})${code.slice(at + STORE_HANDLE.length)}`
  );
}

/** What the `cloudfront` module's kvs() handle reads from. */
export interface FunctionKeyValueStore {
  /** The value of `key`; rejects when the key does not exist (as the runtime's get() does) or the store fails. */
  get(key: string): Promise<string>;
}

export interface CloudFrontFunctionViewerEvent {
  readonly version: '1.0';
  readonly context: {
    readonly distributionDomainName: string;
    readonly distributionId: string;
    readonly eventType: 'viewer-request';
    readonly requestId: string;
  };
  readonly viewer: { readonly ip: string };
  readonly request: {
    method: string;
    uri: string;
    querystring: Record<string, { value: string }>;
    headers: Record<string, { value: string }>;
    cookies: Record<string, { value: string }>;
  };
}

export type CloudFrontFunctionResult =
  | CloudFrontFunctionViewerEvent['request']
  | { statusCode: number; statusDescription?: string; headers?: Record<string, { value: string }> };

export type CloudFrontFunctionHandler = (event: CloudFrontFunctionViewerEvent) => Promise<CloudFrontFunctionResult>;

/** Language built-ins a fresh V8 context has that cloudfront-js-2.0 does not offer. */
const ABSENT_GLOBALS = [
  'WebAssembly',
  'SharedArrayBuffer',
  'Atomics',
  'FinalizationRegistry',
  'WeakRef',
  'Intl',
  'Proxy',
  'Reflect',
  'eval',
];

/** The store a function with no KeyValueStore associated has: none, so every read fails. */
const NO_STORE: FunctionKeyValueStore = {
  get: () => Promise.reject(new Error('this function has no KeyValueStore associated')),
};

/**
 * The published code as a callable handler in a context with only what cloudfront-js-2.0 offers.
 * Code that imports the `cloudfront` module (for its KeyValueStore) gets it bound to `store`; code
 * that imports nothing runs as it is. `log` receives console.log lines (the runtime's only console
 * method). `now` is the edge's clock, what `Date.now()` gives the code (the local mode's scaled
 * clock there, so that a preview ends by the same time line the release signal stamps records
 * with); the real one without it.
 */
export function loadCloudFrontFunction(
  code: string,
  store: FunctionKeyValueStore = NO_STORE,
  log: (line: string) => void = () => undefined,
  options: { readonly now?: () => number } = {},
): CloudFrontFunctionHandler {
  const imports = code.startsWith(CLOUDFRONT_MODULE_IMPORT);
  const body = imports ? code.slice(CLOUDFRONT_MODULE_IMPORT.length) : code;
  if (/^\s*import\b/.test(body))
    throw new Error(
      `a published function imports only the cloudfront module, as ${CLOUDFRONT_MODULE_IMPORT}; got ` +
        `${JSON.stringify(code.slice(0, 60))}`,
    );
  const context = vm.createContext(Object.create(null), {
    codeGeneration: { strings: false, wasm: false },
    name: 'cloudfront-js-2.0',
  });
  const kvs = (): { get: (key: string, options?: { format?: string }) => Promise<unknown> } => ({
    get: async (key, options) => {
      const value = await store.get(key);
      return options?.format === 'json' ? JSON.parse(value) : value;
    },
  });
  const module = vm.runInContext('({kvs: undefined})', context) as { kvs: unknown };
  module.kvs = vm.runInContext('(host) => function kvs() { return host(); }', context)(kvs);
  const globals = vm.runInContext('globalThis', context) as Record<string, unknown>;
  for (const name of ABSENT_GLOBALS) delete globals[name];
  delete (vm.runInContext('String.prototype', context) as Record<string, unknown>).charCodeAt;
  globals.console = vm.runInContext('(host) => ({ log: function log(line) { host(String(line)); } })', context)(log);
  if (options.now !== undefined)
    (globals.Date as { now: () => number }).now = vm.runInContext(
      '(host) => function now() { return host(); }',
      context,
    )(options.now);
  globals.__cloudfront = module;
  // `cf` exists only for code that imports it, as in the runtime.
  const script = `"use strict";${imports ? 'var cf=__cloudfront;' : ''}${body}\n;handler`;
  const handler = new vm.Script(script, { filename: 'cloudfront-function.js' }).runInContext(
    context,
  ) as CloudFrontFunctionHandler;
  delete globals.__cloudfront;
  return handler;
}

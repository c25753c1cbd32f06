/**
 * The Lambda functions this project ships: what the build bundles and zips, what the stacks deploy.
 * Edge functions run in CloudFront's regional edge caches (config baked in); regional ones run in
 * us-east-1 next to the entry router they manage (config by environment variables).
 */
export type FunctionKind = 'edge' | 'regional';

export interface FunctionSpec {
  readonly name: FunctionName;
  readonly kind: FunctionKind;
  /** Source entry, relative to the project root. */
  readonly entry: string;
}

export type FunctionName = 'entry-router' | 'chunk-router' | 'rollout-sync' | 'release' | 'metrics-api';

export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'entry-router', kind: 'edge', entry: 'edge-function/entry-router/index.ts' },
  { name: 'chunk-router', kind: 'edge', entry: 'edge-function/chunk-router/index.ts' },
  { name: 'rollout-sync', kind: 'regional', entry: 'regional-function/rollout-sync/index.ts' },
  { name: 'release', kind: 'regional', entry: 'regional-function/release/index.ts' },
  { name: 'metrics-api', kind: 'regional', entry: 'regional-function/metrics-api/index.ts' },
];

/** Every zip holds one file, index.js, exporting `handler`. */
export const HANDLER = 'index.handler';

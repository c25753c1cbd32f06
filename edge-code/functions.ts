/**
 * The functions this project ships: what the build bundles, what the stacks deploy.
 *
 * Lambda functions: edge ones run in CloudFront's regional edge caches (config baked in); regional
 * ones run in us-east-1 next to the entry router they manage (config by environment variables).
 * Their bundles leave the AWS SDK to the Lambda runtime, except the packages in `bundledSdk` (and
 * what those import): the KeyValueStore client and its SigV4A signer, which the runtime's SDK is
 * not guaranteed to carry (the JS signer is an opt-in package).
 *
 * CloudFront Functions: viewer-assignment and error-report (cloudfront-js-2.0), each bundled to a
 * plain script the stack publishes as it is (edge-code/cloudfront-function.ts).
 */
import type { CloudFrontFunctionName, FunctionKind, FunctionName } from '../contracts/build-manifest';

export interface FunctionSpec {
  readonly name: FunctionName;
  readonly kind: FunctionKind;
  /** Source entry, relative to the project root. */
  readonly entry: string;
  /** SDK packages bundled into the zip rather than taken from the Lambda runtime. @default none */
  readonly bundledSdk?: readonly string[];
  /**
   * Modules (source paths) bundled into files of their own beside index.js, which index.js
   * requires only when it first needs them: code a cold start should not have to parse. The
   * source requires each as `./<file name without .ts>`. @default none
   */
  readonly lazyModules?: readonly string[];
}

/** The store's client and the signer its API demands. */
const ROLLOUT_STORE_SDK = ['@aws-sdk/client-cloudfront-keyvaluestore', '@aws-sdk/signature-v4a'] as const;

export const FUNCTIONS: readonly FunctionSpec[] = [
  // The store client (its fallback only) is half a megabyte: parsed on first use, not at every cold start.
  {
    name: 'entry-router',
    kind: 'edge',
    entry: 'edge-function/entry-router/index.ts',
    bundledSdk: ROLLOUT_STORE_SDK,
    lazyModules: ['edge-function/shared/rollout-store-client.ts'],
  },
  { name: 'chunk-router', kind: 'edge', entry: 'edge-function/chunk-router/index.ts' },
  {
    name: 'rollout-sync',
    kind: 'regional',
    entry: 'regional-function/rollout-sync/index.ts',
    bundledSdk: ROLLOUT_STORE_SDK,
  },
  { name: 'release', kind: 'regional', entry: 'regional-function/release/index.ts' },
  { name: 'signal-consumer', kind: 'regional', entry: 'regional-function/signal-consumer/index.ts' },
];

export interface CloudFrontFunctionSpec {
  readonly name: CloudFrontFunctionName;
  readonly entry: string;
}

export const CLOUDFRONT_FUNCTIONS: readonly CloudFrontFunctionSpec[] = [
  { name: 'viewer-assignment', entry: 'edge-function/viewer-assignment/index.ts' },
  { name: 'error-report', entry: 'edge-function/error-report/index.ts' },
];

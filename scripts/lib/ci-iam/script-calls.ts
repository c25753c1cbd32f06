/**
 * What the scripts the CI roles run call in AWS: `npm run upload`, `backfill`, `cleanup`,
 * `verify-edge -- --cloudfront-only`, `rollout wait` and `rollout check-live` (the deploy role, in
 * deploy.yml), and `rollout check-live` alone (the live-check role, in drift.yml's nightly run). The
 * list is not kept by hand: script-calls.json is written from the calls those commands make in their
 * tests (__tests__/scripts/script-calls.test.ts records them at the SDK and fails when this file
 * differs), and here each call's target, a kind of resource, becomes this distribution's ARNs.
 */
import type { DeployConfig } from '../../../config';
import { resourceNames } from '../../../config';
import { ASSETS_PREFIX, BUILDS_PREFIX } from '../../../contracts/bucket-layout';
import { ACCOUNT_PLACEHOLDER, type Grant, PARTITION } from './grants';
import recorded from './script-calls.json';

export type CiScript = 'upload' | 'rollout wait' | 'rollout check-live' | 'cleanup' | 'backfill' | 'verify-edge';

/**
 * Where the rollout CLI and cleanup look (ROLLOUT_REGION, cleanup's Lambda client): the entry router, CodeDeploy, the
 * alarms.
 */
export const SCRIPTS_REGION = 'us-east-1';

/** The kinds of resource the scripts touch, each as this distribution's ARN patterns. */
export interface ScriptTargets {
  readonly buckets: readonly string[];
  readonly assetObjects: readonly string[];
  readonly manifestObjects: readonly string[];
  /** The entry router, its alias and its versions. */
  readonly entryRouter: readonly string[];
  readonly rolloutStore: readonly string[];
  readonly deploymentGroup: readonly string[];
  readonly alarms: readonly string[];
  /** The viewer-assignment function's twin verify-edge tests code in. */
  readonly checkFunction: readonly string[];
  /** The release-signal table: `rollout wait` (through status) reads the judge's record of a release. */
  readonly signalTable: readonly string[];
}

export type ScriptTarget = keyof ScriptTargets;

export interface ScriptCall {
  /** `service:Action`, as IAM authorizes the call. */
  readonly action: string;
  readonly target: ScriptTarget;
  readonly scripts: readonly CiScript[];
}

export const SCRIPT_CALLS: readonly ScriptCall[] = recorded.calls as ScriptCall[];

export function scriptTargets(
  config: Pick<DeployConfig, 'name' | 'domain' | 'regions'>,
  account: string = ACCOUNT_PLACEHOLDER,
): ScriptTargets {
  const names = resourceNames(config);
  const s3 = (name: string) => `arn:${PARTITION}:s3:::${name}`;
  // Objects of every replica bucket in one pattern: `<name>-*-<domain hash>` is this distribution's
  // naming scheme only (its access-log bucket ends `-access-logs` and stays out), and one pattern
  // instead of two per region keeps the policy under IAM's size limit.
  const objectsOf = s3(names.bucket('*'));
  const arn = (service: string, region: string, resource: string) =>
    `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;
  const entryRouter = arn('lambda', SCRIPTS_REGION, `function:${names.entryRouter}`);
  return {
    buckets: config.regions.map((region) => s3(names.bucket(region))),
    assetObjects: [`${objectsOf}/${ASSETS_PREFIX}*`],
    manifestObjects: [`${objectsOf}/${BUILDS_PREFIX}*`],
    // The alias and the versions are qualified ARNs of the same function.
    entryRouter: [entryRouter, `${entryRouter}:*`],
    // Its id is CloudFront's: any store (the data plane knows no tags; see the deploy guide).
    rolloutStore: [arn('cloudfront', '', 'key-value-store/*')],
    deploymentGroup: [
      arn('codedeploy', SCRIPTS_REGION, `deploymentgroup:${names.codeDeployApplication}/${names.deploymentGroup}`),
    ],
    alarms: [names.clientErrorAlarm, names.signalUnjudgedAlarm, names.edgeErrorAlarm].map((alarm) =>
      arn('cloudwatch', SCRIPTS_REGION, `alarm:${alarm}`),
    ),
    checkFunction: [arn('cloudfront', '', `function/${names.viewerAssignmentCheck}`)],
    signalTable: [arn('dynamodb', SCRIPTS_REGION, `table/${names.signalTable}`)],
  };
}

/** The recorded calls `script` makes. */
export function callsOf(script: CiScript, calls: readonly ScriptCall[] = SCRIPT_CALLS): ScriptCall[] {
  return calls.filter((call) => call.scripts.includes(script));
}

/** Grants for the scripts' calls (every recorded call, unless `calls` says which) on a deployed distribution. */
export function scriptGrants(
  config: Pick<DeployConfig, 'name' | 'domain' | 'regions'>,
  account: string = ACCOUNT_PLACEHOLDER,
  calls: readonly ScriptCall[] = SCRIPT_CALLS,
): Grant[] {
  const targets = scriptTargets(config, account);
  return calls.map((call) => ({ phases: { update: [call.action] }, resources: targets[call.target] }));
}

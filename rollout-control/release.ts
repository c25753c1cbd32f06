/**
 * Release, I/O part: reads the alias, the version's build and the group's active deployment,
 * decides (core.ts), and starts the CodeDeploy deployment. The release function (invoked by
 * Terraform on every new entry-router version) and the rollout CLI (`start`, `rollback`) both go
 * through `release`, so a deployment is only ever started one way.
 */
import { CreateDeploymentCommand, type CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { aliasStateFrom, findBuildIdOfVersion, getAlias, type VersionBuildCache } from './alias-state';
import { errorMessage, errorName } from './aws-errors';
import { buildPresence, type Buckets } from './build-presence';
import {
  findActiveDeploymentId,
  getDeploymentSummary,
  groupError,
  lambdaAppSpec,
  type DeploymentSummary,
} from './deployments';
import { ALL_AT_ONCE_CONFIG } from '../contracts/deployment-config';
import type { ReleaseEnvironment } from '../contracts/function-environment';
import { decideRelease, ReleaseError, type ReleaseState } from './release-decision';
import { readRevocation, RevokedBuildError } from './revocations';

export const RELEASE_VARIABLES = [
  'ENTRY_ROUTER_FUNCTION',
  'LIVE_ALIAS',
  'CODEDEPLOY_APPLICATION',
  'CODEDEPLOY_DEPLOYMENT_GROUP',
  'BUCKETS',
  'ROLLOUT_STORE_ARN',
] as const satisfies readonly (keyof ReleaseEnvironment)[];

export interface ReleaseTarget {
  readonly functionName: string;
  readonly aliasName: string;
  readonly application: string;
  readonly deploymentGroup: string;
  /** Every replica bucket: a build is released only when its manifest is in each. */
  readonly buckets: Buckets;
  /** The rollout store: a build revoked there (contracts/revocation.ts) is never released. */
  readonly storeArn: string;
}

export interface ReleaseClients {
  readonly lambda: LambdaClient;
  readonly codedeploy: CodeDeployClient;
  /** An S3 client for a bucket's region. */
  readonly s3For: (region: string) => S3Client;
  /** The rollout store's data plane: whether the build is revoked. */
  readonly kvs: CloudFrontKeyValueStoreClient;
}

export interface ReleaseOptions {
  /**
   * Deployment config for this deployment only.
   * @default the deployment group's config; CodeDeployDefault.LambdaAllAtOnce when the build does not change
   */
  readonly deploymentConfigName?: string;
  /**
   * Turn off the group's alarms for this deployment: a rollback to a known-good version must not be
   * stopped (and rolled back to the bad version) by the alarm the bad version raised. Needs
   * codedeploy:UpdateDeploymentGroup besides codedeploy:CreateDeployment.
   * @default false
   */
  readonly disableAlarms?: boolean;
  /** @default "release build <buildId>: version <from> → <to>" */
  readonly description?: string;
  /** @default no cache */
  readonly versionBuilds?: VersionBuildCache;
}

export interface ReleaseResult {
  readonly action: 'started' | 'unchanged';
  readonly deploymentId?: string;
  readonly reason: string;
  readonly fromVersion?: string;
  readonly toVersion: string;
  readonly buildId: string;
  readonly deploymentConfigName?: string;
}

export async function release(
  request: { readonly version: string; readonly buildId: string },
  target: ReleaseTarget,
  clients: ReleaseClients,
  options: ReleaseOptions = {},
): Promise<ReleaseResult> {
  const { functionName, aliasName } = target;
  const group = { application: target.application, deploymentGroup: target.deploymentGroup };
  const alias = aliasStateFrom(await getAlias(clients.lambda, functionName, aliasName));
  const versionBuildId = await findBuildIdOfVersion(
    clients.lambda,
    functionName,
    request.version,
    options.versionBuilds,
  );
  const stableBuildId =
    alias.stableVersion === request.version
      ? versionBuildId
      : await findBuildIdOfVersion(clients.lambda, functionName, alias.stableVersion, options.versionBuilds).catch(
          () => null,
        );
  const activeDeployment = await readActiveDeployment(clients.codedeploy, group);
  const state: ReleaseState = {
    functionName,
    aliasName,
    deploymentGroup: target.deploymentGroup,
    version: request.version,
    buildId: request.buildId,
    alias,
    versionBuildId,
    stableBuildId,
    activeDeployment,
  };
  const decision = decideRelease(state);
  if (decision.action === 'unchanged')
    return { action: 'unchanged', reason: decision.reason, toVersion: request.version, buildId: request.buildId };

  // A revoked build never gets viewers again, whoever asks: a deploy of the same source, a person.
  const revocation = await readRevocation(clients.kvs, target.storeArn, request.buildId);
  if (revocation !== null) throw new ReleaseError(new RevokedBuildError(revocation, 'released').message);
  // Viewers shifted to a build a region lacks would get 403 from that region's bucket: refuse first.
  const presence = await buildPresence(clients.s3For, target.buckets, request.buildId);
  if (presence.missing.length > 0) {
    throw new ReleaseError(
      `build ${request.buildId} is not in every bucket: its manifest is missing from ` +
        `${presence.missing.map((region) => `${target.buckets[region]} (${region})`).join(', ')}. ` +
        'Upload it there first (npm run upload; npm run backfill for a region added since), then release again.',
    );
  }
  const deploymentConfigName = options.deploymentConfigName ?? (decision.sameBuild ? ALL_AT_ONCE_CONFIG : undefined);
  const revision = lambdaAppSpec({
    functionName,
    alias: aliasName,
    currentVersion: decision.fromVersion,
    targetVersion: decision.toVersion,
  });
  let deploymentId: string | undefined;
  try {
    const created = await clients.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: target.application,
        deploymentGroupName: target.deploymentGroup,
        revision: { revisionType: 'AppSpecContent', appSpecContent: revision },
        description:
          options.description ??
          `release build ${request.buildId}: version ${decision.fromVersion} → ${decision.toVersion}`,
        ...(deploymentConfigName ? { deploymentConfigName } : {}),
        ...(options.disableAlarms ? { overrideAlarmConfiguration: { enabled: false, alarms: [] } } : {}),
      }),
    );
    deploymentId = created.deploymentId;
  } catch (error) {
    if (errorName(error) === 'DeploymentLimitExceededException') {
      // Another deployment started between our read and our create: decide again against it.
      const raced = decideRelease({
        ...state,
        activeDeployment: await readActiveDeployment(clients.codedeploy, group),
      });
      if (raced.action === 'unchanged')
        return { action: 'unchanged', reason: raced.reason, toVersion: request.version, buildId: request.buildId };
    }
    if (errorName(error) === 'DeploymentConfigDoesNotExistException') {
      throw new ReleaseError(`CodeDeploy has no deployment config ${deploymentConfigName}: ${errorMessage(error)}`);
    }
    const missing = groupError(error, group);
    if (missing) throw missing;
    throw new ReleaseError(
      `CodeDeploy refused the deployment of version ${decision.toVersion} to ${target.deploymentGroup}: ` +
        `${errorName(error) || 'error'}: ${errorMessage(error)}`,
    );
  }
  if (!deploymentId)
    throw new ReleaseError(
      `CodeDeploy accepted the deployment of version ${decision.toVersion} but returned no deployment id`,
    );
  return {
    action: 'started',
    deploymentId,
    reason: decision.reason,
    fromVersion: decision.fromVersion,
    toVersion: decision.toVersion,
    buildId: request.buildId,
    ...(deploymentConfigName ? { deploymentConfigName } : {}),
  };
}

async function readActiveDeployment(
  codedeploy: CodeDeployClient,
  group: { application: string; deploymentGroup: string },
): Promise<DeploymentSummary | null> {
  const id = await findActiveDeploymentId(codedeploy, group);
  return id ? getDeploymentSummary(codedeploy, id) : null;
}

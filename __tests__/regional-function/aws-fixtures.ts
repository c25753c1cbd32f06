/**
 * AWS responses as the SDK returns them, for the regional functions' and the rollout CLI's tests.
 * Only the SDK boundary is mocked (aws-sdk-client-mock); everything above it is the real code.
 */
import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { lambdaAppSpec } from '../../rollout-control/deployments';
import { versionDescription } from '../../contracts/version-description';

export const BUILD_A = '0123456789abcdef';
export const BUILD_B = 'fedcba9876543210';
export const BUILD_C = 'aaaaaaaaaaaaaaaa';

export const NAMES = {
  functionName: 'edge-widget-entry-router',
  alias: 'live',
  application: 'edge-widget',
  deploymentGroup: 'edge-widget-entry-router',
  record: '_rollout.widget.example.com',
  zoneId: 'Z0123456789ABCDEFGHIJ',
} as const;

export function versionConfiguration(buildId: string | null) {
  return { Description: buildId ? versionDescription(buildId) : 'published by hand' };
}

/** A Lambda deployment of the entry router from one version to another, as GetDeployment returns it. */
export function lambdaDeployment(options: {
  from: string;
  to: string;
  status?: DeploymentInfo['status'];
  config?: string;
  creator?: DeploymentInfo['creator'];
  createTime?: Date;
  completeTime?: Date;
  error?: string;
}): {
  deploymentInfo: DeploymentInfo;
} {
  return {
    deploymentInfo: {
      applicationName: NAMES.application,
      deploymentGroupName: NAMES.deploymentGroup,
      status: options.status ?? 'InProgress',
      deploymentConfigName: options.config ?? 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
      creator: options.creator ?? 'user',
      createTime: options.createTime ?? new Date('2026-11-26T10:00:00Z'),
      ...(options.completeTime ? { completeTime: options.completeTime } : {}),
      ...(options.error ? { errorInformation: { code: 'ALARM_ACTIVE', message: options.error } } : {}),
      computePlatform: 'Lambda',
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: lambdaAppSpec({
          functionName: NAMES.functionName,
          alias: NAMES.alias,
          currentVersion: options.from,
          targetVersion: options.to,
        }),
      },
    },
  };
}

/** The rollout TXT record set as ListResourceRecordSets returns it. */
export function rolloutRecordSet(text: string, name: string = NAMES.record, ttl = 30): ResourceRecordSet {
  return { Name: `${name}.`, Type: 'TXT', TTL: ttl, ResourceRecords: [{ Value: `"${text}"` }] };
}

/**
 * The distribution as the rollout CLI needs it: found by the real-time log configuration only it
 * uses (the stacks name that configuration after the distribution, config/names.ts), and its
 * cache invalidated for one build's paths. Both calls are CloudFront's control plane, global.
 */
import {
  CreateInvalidationCommand,
  ListDistributionsByRealtimeLogConfigCommand,
  type CloudFrontClient,
} from '@aws-sdk/client-cloudfront';
import { buildAssetsPrefix } from '../contracts/bucket-layout';

export interface DistributionRef {
  readonly id: string;
  /** CloudFront's own domain (d1234.cloudfront.net). */
  readonly domainName: string;
}

/** The one distribution logging to `realtimeLogConfigName`; throws saying so when there is none or several. */
export async function findDistribution(
  cloudfront: CloudFrontClient,
  realtimeLogConfigName: string,
): Promise<DistributionRef> {
  const answer = await cloudfront.send(
    new ListDistributionsByRealtimeLogConfigCommand({ RealtimeLogConfigName: realtimeLogConfigName }),
  );
  const found = answer.DistributionList?.Items ?? [];
  if (found.length !== 1 || !found[0]?.Id || !found[0].DomainName)
    throw new Error(
      `expected one distribution logging to the real-time log configuration ${realtimeLogConfigName}, found ` +
        `${found.length}: deploy the stacks first`,
    );
  return { id: found[0].Id, domainName: found[0].DomainName };
}

/** The invalidation paths of one build: everything under its folder, entry and chunks. */
export function buildInvalidationPaths(buildId: string): string[] {
  return [`/${buildAssetsPrefix(buildId)}*`];
}

/** Invalidates one build's paths; returns the invalidation's id. `reference` makes a retry the same request. */
export async function invalidateBuild(
  cloudfront: CloudFrontClient,
  distributionId: string,
  buildId: string,
  reference: string,
): Promise<string> {
  const paths = buildInvalidationPaths(buildId);
  const answer = await cloudfront.send(
    new CreateInvalidationCommand({
      DistributionId: distributionId,
      InvalidationBatch: { CallerReference: reference, Paths: { Quantity: paths.length, Items: paths } },
    }),
  );
  return answer.Invalidation?.Id ?? 'unknown';
}

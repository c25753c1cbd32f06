/**
 * Rollout sync, I/O part: reads the alias, the current record and (only while a canary is live)
 * the deployment shifting it; writes the record only when its text changes; publishes the canary
 * weight. Two runs at once read the same state and write the same text, which is harmless.
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { readAliasBuilds, type VersionBuildCache } from '../shared/alias-state';
import { errorMessage } from '../shared/aws-errors';
import { findActiveDeploymentId, getDeploymentSummary, type DeploymentSummary } from '../shared/deployments';
import type { RolloutSyncEnvironment } from '../shared/environment';
import { METRIC_ROLLOUT_WEIGHT } from '../shared/metric-names';
import { readStoredRolloutRecord, upsertRolloutRecord } from '../shared/rollout-record-store';
import { effectiveCanary, planSync, syncTriggerFrom, type SaltSource, type SyncEvent, type SyncTrigger } from './core';

export const ROLLOUT_SYNC_VARIABLES = [
  'ENTRY_ROUTER_FUNCTION',
  'LIVE_ALIAS',
  'HOSTED_ZONE_ID',
  'ROLLOUT_RECORD_NAME',
  'ROLLOUT_RECORD_TTL',
  'METRICS_NAMESPACE',
  'CODEDEPLOY_APPLICATION',
  'CODEDEPLOY_DEPLOYMENT_GROUP',
] as const satisfies readonly (keyof RolloutSyncEnvironment)[];

export interface RolloutSyncClients {
  readonly lambda: LambdaClient;
  readonly route53: Route53Client;
  readonly codedeploy: CodeDeployClient;
  readonly cloudwatch: CloudWatchClient;
}

export interface SyncSummary {
  readonly action: 'written' | 'unchanged';
  readonly trigger: SyncTrigger['kind'];
  /** The record text now in Route53. */
  readonly record: string;
  /** What was there before; null when there was no record. */
  readonly previous: string | null;
  readonly weight: number;
  readonly saltSource: SaltSource;
}

export interface RolloutSync {
  (event: SyncEvent): Promise<SyncSummary>;
}

export function createRolloutSync(env: RolloutSyncEnvironment, clients: RolloutSyncClients): RolloutSync {
  const ttl = Number(env.ROLLOUT_RECORD_TTL);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400) {
    throw new Error(`ROLLOUT_RECORD_TTL must be a whole number of seconds (1..86400), got "${env.ROLLOUT_RECORD_TTL}"`);
  }
  const group = { application: env.CODEDEPLOY_APPLICATION, deploymentGroup: env.CODEDEPLOY_DEPLOYMENT_GROUP };
  // Published versions never change: remember their builds for the life of the container.
  const versionBuilds: VersionBuildCache = new Map();

  return async (event) => {
    const trigger = syncTriggerFrom(event, group);
    const builds = await readAliasBuilds(clients.lambda, env.ENTRY_ROUTER_FUNCTION, env.LIVE_ALIAS, versionBuilds);
    const stored = await readStoredRolloutRecord(clients.route53, env.HOSTED_ZONE_ID, env.ROLLOUT_RECORD_NAME);

    let deployment: DeploymentSummary | null = null;
    if (effectiveCanary(builds)) {
      // Only a live canary needs a salt, and only then is CodeDeploy asked which deployment it is.
      const id = trigger.startedDeploymentId ?? (await findActiveDeploymentId(clients.codedeploy, group));
      if (id) deployment = await getDeploymentSummary(clients.codedeploy, id);
    }

    const plan = planSync(builds, deployment, stored);
    if (plan.write) await upsertRolloutRecord(clients.route53, env.HOSTED_ZONE_ID, env.ROLLOUT_RECORD_NAME, plan.text, ttl);

    try {
      await clients.cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: env.METRICS_NAMESPACE,
          MetricData: [{ MetricName: METRIC_ROLLOUT_WEIGHT, Value: plan.record.weight, Unit: 'None' }],
        }),
      );
    } catch (error) {
      throw new Error(
        `rollout record ${env.ROLLOUT_RECORD_NAME} is up to date (${plan.write ? 'written' : 'unchanged'}: ${plan.text}), but publishing ${METRIC_ROLLOUT_WEIGHT} to ${env.METRICS_NAMESPACE} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }

    return {
      action: plan.write ? 'written' : 'unchanged',
      trigger: trigger.kind,
      record: plan.text,
      previous: stored?.text ?? null,
      weight: plan.record.weight,
      saltSource: plan.saltSource,
    };
  };
}

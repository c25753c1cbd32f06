import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readEnvironment, type RolloutSyncEnvironment } from '../shared/environment';
import { parseSyncEvent } from './core';
import { createRolloutSync, ROLLOUT_SYNC_VARIABLES, type RolloutSync, type SyncSummary } from './sync';

// One set of clients and one version cache per container, made on the first event (not at
// import, so a missing variable is reported as such, by the invocation that needs it).
let sync: RolloutSync | undefined;

export async function handler(event: unknown): Promise<SyncSummary> {
  const parsed = parseSyncEvent(event);
  sync ??= createRolloutSync(readEnvironment<RolloutSyncEnvironment>(ROLLOUT_SYNC_VARIABLES), {
    lambda: new LambdaClient({}),
    route53: new Route53Client({}),
    codedeploy: new CodeDeployClient({}),
    cloudwatch: new CloudWatchClient({}),
  });
  const summary = await sync(parsed);
  console.log(JSON.stringify(summary));
  return summary;
}

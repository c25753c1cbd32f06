// The KeyValueStore API takes SigV4A only; the signer registers itself with the SDK when loaded.
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { rolloutStoreClientConfig } from '../../contracts/rollout-store';
import { readEnvironment, type RolloutSyncEnvironment } from '../../contracts/function-environment';
import { regionalS3 } from '../../rollout-control/build-presence';
import { addMissingBuilds, addRolloutWeight, functionLogger, functionMetrics } from '../shared/observability';
import { parseSyncEvent } from '../../rollout-control/sync-plan';
import {
  createRolloutSync,
  ROLLOUT_SYNC_VARIABLES,
  type RolloutSync,
  type SyncSummary,
} from '../../rollout-control/rollout-sync';

const logger = functionLogger('rollout-sync');

// One set of clients and one version cache per container, made on the first event (not at
// import, so a missing variable is reported as such, by the invocation that needs it).
let runtime: { readonly sync: RolloutSync; readonly metrics: ReturnType<typeof functionMetrics> } | undefined;

export async function handler(event: unknown): Promise<SyncSummary> {
  const parsed = parseSyncEvent(event);
  if (!runtime) {
    const env = readEnvironment<RolloutSyncEnvironment>(ROLLOUT_SYNC_VARIABLES);
    runtime = {
      sync: createRolloutSync(env, {
        lambda: new LambdaClient({}),
        // ROLLOUT_STORE_ENDPOINT: tests only (a loopback store); the stacks never set it.
        kvs: new CloudFrontKeyValueStoreClient(
          rolloutStoreClientConfig({ endpoint: process.env.ROLLOUT_STORE_ENDPOINT || undefined }),
        ),
        codedeploy: new CodeDeployClient({}),
        cloudwatch: new CloudWatchClient({}),
        dynamodb: new DynamoDBClient({}),
        s3For: regionalS3((region) => new S3Client({ region })),
        sns: new SNSClient({}),
      }),
      metrics: functionMetrics(env.METRICS_NAMESPACE, 'rollout-sync'),
    };
  }
  try {
    const summary = await runtime.sync(parsed);
    logger.info('rollout sync', { ...summary });
    if (summary.stopFailure)
      logger.error(
        'the canary is held, but stopping its deployment failed: CodeDeploy rolls back when it next sees the alarm',
        { failure: summary.stopFailure },
      );
    const now = Date.now();
    if (summary.notification?.failure)
      logger.error('the release notification was not published', { ...summary.notification });
    addRolloutWeight(runtime.metrics, summary.weight, now);
    runtime.metrics.publishStoredMetrics();
    // One document per region: each is its own dimension value, which the region's health alarm reads.
    for (const [region, missing] of Object.entries(summary.missingBuilds)) {
      if (missing.length > 0)
        logger.warn('a region lacks a build viewers are assigned: it is kept out of the nearest-bucket answers', {
          region,
          missing,
        });
      addMissingBuilds(runtime.metrics, region, missing.length, now);
      runtime.metrics.publishStoredMetrics();
    }
    return summary;
  } catch (error) {
    logger.error('rollout sync failed', { error: error as Error });
    throw error;
  }
}

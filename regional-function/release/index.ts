// The KeyValueStore API takes SigV4A only; the signer registers itself with the SDK when loaded.
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { rolloutStoreClientConfig } from '../../contracts/rollout-store';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { bucketsFrom, regionalS3 } from '../../rollout-control/build-presence';
import { readEnvironment, type ReleaseEnvironment } from '../../contracts/function-environment';
import { functionLogger } from '../shared/observability';
import { parseReleaseInput } from '../../rollout-control/release-decision';
import { release, RELEASE_VARIABLES, type ReleaseClients } from '../../rollout-control/release';

/** What Terraform's aws_lambda_invocation records as `result`. */
export interface ReleaseOutput {
  readonly action: 'started' | 'unchanged';
  readonly deploymentId?: string;
  readonly reason: string;
}

const logger = functionLogger('release');

// Made on the first invocation, then kept for the container's life.
let clients: ReleaseClients | undefined;

export async function handler(event: unknown): Promise<ReleaseOutput> {
  const input = parseReleaseInput(event);
  if (input.tf?.action === 'delete') {
    return {
      action: 'unchanged',
      reason: `Terraform is destroying the release of version ${input.version}; a release is never undone by a destroy`,
    };
  }
  const env = readEnvironment<ReleaseEnvironment>(RELEASE_VARIABLES);
  clients ??= {
    lambda: new LambdaClient({}),
    codedeploy: new CodeDeployClient({}),
    s3For: regionalS3((region) => new S3Client({ region })),
    // ROLLOUT_STORE_ENDPOINT: tests only (a loopback store); the stacks never set it.
    kvs: new CloudFrontKeyValueStoreClient(
      rolloutStoreClientConfig({ endpoint: process.env.ROLLOUT_STORE_ENDPOINT || undefined }),
    ),
  };
  const result = await release(
    input,
    {
      functionName: env.ENTRY_ROUTER_FUNCTION,
      aliasName: env.LIVE_ALIAS,
      application: env.CODEDEPLOY_APPLICATION,
      deploymentGroup: env.CODEDEPLOY_DEPLOYMENT_GROUP,
      buckets: bucketsFrom(env.BUCKETS),
      storeArn: env.ROLLOUT_STORE_ARN,
    },
    clients,
  );
  logger.info('release', { ...result });
  return {
    action: result.action,
    ...(result.deploymentId ? { deploymentId: result.deploymentId } : {}),
    reason: result.reason,
  };
}

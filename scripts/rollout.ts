/**
 * `npm run rollout -- status|start|stop|rollback|promote|ring|preview|revoke|wait|check-live [options]`:
 * watch, start, stop, roll back or promote a release of the entry router, edit the ring, preview a
 * build to some viewers, revoke a build, wait for a deploy's rollout to end, or check what the live
 * distribution serves (docs/operations.md; `--help` on any command for its options and examples).
 * The commands are in scripts/rollout-commands/, one file each; this file only wires the real
 * config, AWS clients and console.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import '@aws-sdk/signature-v4a';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { rolloutStoreClientConfig } from '../contracts/rollout-store';
import { regionalS3 } from '../rollout-control/build-presence';
import { runCommand } from './lib/cli';
import { ROLLOUT_REGION, rolloutCommand, type RolloutClients } from './rollout-commands';

/**
 * The AWS clients every rollout command is given; `bucketClient` makes the buckets' (a loopback
 * server's in tests). @default an S3 client in the bucket's region
 */
export function rolloutClients(
  bucketClient: (region: string) => S3Client = (bucketRegion) => new S3Client({ region: bucketRegion }),
): RolloutClients {
  const region = ROLLOUT_REGION;
  return {
    lambda: new LambdaClient({ region }),
    codedeploy: new CodeDeployClient({ region }),
    cloudfront: new CloudFrontClient({ region }),
    kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()),
    cloudwatch: new CloudWatchClient({ region }),
    sts: new STSClient({ region }),
    s3For: regionalS3(bucketClient),
    dynamodb: new DynamoDBClient({ region }),
    sns: new SNSClient({ region }),
  };
}

/** The rollout command on the real config, AWS (clients made only once a command runs) and console. */
export function rolloutMainCommand(): Command {
  return rolloutCommand({
    loadConfig: (file) => loadConfig(file),
    createClients: () => rolloutClients(),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
}

if (require.main === module) runCommand(rolloutMainCommand());

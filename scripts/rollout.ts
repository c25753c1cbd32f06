/**
 * `npm run rollout -- status|start|stop|rollback|promote|ring [--version N] [--json] [--config <file>]`:
 * watch, start, stop, roll back or promote a release of the entry router, or edit the ring (see README, "Releasing
 * and rolling back"). The commands are in scripts/lib/rollout-cli.ts; this file only wires the
 * real config, AWS clients and console.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import '@aws-sdk/signature-v4a';
import { loadConfig } from '../config';
import { rolloutStoreClientConfig } from '../contracts/rollout-store';
import { regionalS3 } from '../regional-function/shared/build-presence';
import { ROLLOUT_REGION, runRolloutCli } from './lib/rollout-cli';

if (require.main === module) {
  const region = ROLLOUT_REGION;
  runRolloutCli(process.argv.slice(2), {
    loadConfig: (file) => loadConfig(file),
    createClients: () => ({
      lambda: new LambdaClient({ region }),
      codedeploy: new CodeDeployClient({ region }),
      cloudfront: new CloudFrontClient({ region }),
      kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()),
      cloudwatch: new CloudWatchClient({ region }),
      sts: new STSClient({ region }),
      s3For: regionalS3((bucketRegion) => new S3Client({ region: bucketRegion })),
    }),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(error.stack ?? error.message);
      process.exitCode = 1;
    },
  );
}

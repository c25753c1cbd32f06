/**
 * `npm run rollout -- status|start|stop|rollback|promote [--version N] [--json] [--config <file>]`:
 * watch, start, stop, roll back or promote a release of the entry router (see README, "Releasing
 * and rolling back"). The commands are in scripts/lib/rollout-cli.ts; this file only wires the
 * real config, AWS clients and console.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Route53Client } from '@aws-sdk/client-route-53';
import { STSClient } from '@aws-sdk/client-sts';
import { loadConfig } from '../config';
import { ROLLOUT_REGION, runRolloutCli } from './lib/rollout-cli';

if (require.main === module) {
  const region = ROLLOUT_REGION;
  runRolloutCli(process.argv.slice(2), {
    loadConfig: (file) => loadConfig(file),
    createClients: () => ({
      lambda: new LambdaClient({ region }),
      codedeploy: new CodeDeployClient({ region }),
      route53: new Route53Client({ region }),
      cloudwatch: new CloudWatchClient({ region }),
      sts: new STSClient({ region }),
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

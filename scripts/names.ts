/**
 * `npm run names`: every name derived from the config (stacks, functions, buckets, records), so a
 * person writing an IAM policy or a workflow step never derives one by hand.
 *
 *   npm run names                      a table
 *   npm run names -- --json            one JSON object
 *   npm run names -- --github-output   key=value lines appended to $GITHUB_OUTPUT (for workflow steps)
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, resourceNames, type DeployConfig } from '../config';
import { runMain } from './lib/cli';

export function namesOf(config: DeployConfig): Record<string, string> {
  const names = resourceNames(config);
  return {
    name: config.name,
    replicas_stack: names.replicaStack,
    delivery_stack: names.deliveryStack,
    entry_router: names.entryRouter,
    chunk_router: names.chunkRouter,
    rollout_sync: names.rolloutSync,
    release: names.release,
    metrics_api: names.metricsApi,
    codedeploy_application: names.codeDeployApplication,
    deployment_group: names.deploymentGroup,
    live_alias: names.liveAlias,
    rollout_store: names.rolloutStore,
    viewer_assignment: names.viewerAssignment,
    bucket_record: names.bucketRecord,
    signal_table: names.signalTable,
    dashboard: names.dashboard,
    client_error_alarm: names.clientErrorAlarm,
    edge_error_alarm: names.edgeErrorAlarm,
    web_acl: names.webAcl,
    buckets: config.regions.map((region) => names.bucket(region)).join(','),
    ...Object.fromEntries(config.regions.map((region) => [`bucket_${region.replace(/-/g, '_')}`, names.bucket(region)])),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, 'github-output': { type: 'boolean', default: false } } });
  const names = namesOf(loadConfig(values.config));
  if (values['github-output']) {
    const file = process.env.GITHUB_OUTPUT;
    if (!file) throw new Error('--github-output needs GITHUB_OUTPUT (set by GitHub Actions in every step).');
    appendFileSync(file, Object.entries(names).map(([key, value]) => `${key}=${value}\n`).join(''));
    return;
  }
  if (values.json) {
    console.log(JSON.stringify(names, null, 2));
    return;
  }
  const width = Math.max(...Object.keys(names).map((key) => key.length));
  for (const [key, value] of Object.entries(names)) console.log(`${key.padEnd(width)}  ${value}`);
}

if (require.main === module) runMain(main);

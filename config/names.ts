/**
 * Every name derived from the config, in one place, so the stacks, the edge bundles (which have
 * no environment variables and must know bucket names at build time), the upload and rollout
 * scripts and the local mode all agree without anyone copying an id by hand.
 */
import { createHash } from 'node:crypto';
import { rolloutStoreName } from '../contracts/rollout-store';
import type { DeployConfig } from './loader';

export const LIVE_ALIAS = 'live';

export interface ResourceNames {
  readonly replicaStack: string;
  readonly deliveryStack: string;
  readonly entryRouter: string;
  readonly chunkRouter: string;
  readonly rolloutSync: string;
  readonly release: string;
  readonly codeDeployApplication: string;
  readonly deploymentGroup: string;
  readonly liveAlias: string;
  /** The CloudFront KeyValueStore holding the rollout state. */
  readonly rolloutStore: string;
  /** The viewer-assignment CloudFront Function. */
  readonly viewerAssignment: string;
  /** Its twin, associated with nothing: verify-edge tests the next deploy's code there first. */
  readonly viewerAssignmentCheck: string;
  /** `_bucket.<domain>`: latency-routed TXT naming the nearest healthy bucket region. */
  readonly bucketRecord: string;
  readonly clientErrorAlarm: string;
  readonly edgeErrorAlarm: string;
  /** Entry loads the viewer-assignment function passed to the router because it could not read the state. */
  readonly assignmentFallbackAlarm: string;
  /** DynamoDB table of the release signal: the timeline of rollout states and the signal consumer's checkpoint. */
  readonly signalTable: string;
  /** CloudWatch dashboard of releases: error rates, viewers, weight, alarms, edge errors. */
  readonly dashboard: string;
  /** The SNS topic every release notification goes to. */
  readonly notificationTopic: string;
  /** The Kinesis data stream CloudFront's real-time logs of the entry and the error reports go to. */
  readonly signalStream: string;
  /** The real-time log configuration (fields, sampling) of those behaviours. */
  readonly realtimeLogConfig: string;
  /** The Lambda that counts viewers per role from the stream. */
  readonly signalConsumer: string;
  /** The alarm on periods the signal consumer could not see whole (a judge that cannot see). */
  readonly signalUnjudgedAlarm: string;
  /** The CloudFront Function that answers error reports 204 at the edge. */
  readonly errorReport: string;
  /**
   * The customer managed policy every role the stacks create carries as its permissions boundary.
   * Made with the CI roles (`npm run names -- --iam`), outside the stacks: a role they write can
   * never change it.
   */
  readonly permissionsBoundary: string;
  /** S3 bucket name of the replica in `region`. */
  bucket(region: string): string;
  /** The bucket's regional REST endpoint, as CloudFront's S3 origin names it. */
  bucketDomain(region: string): string;
}

export function resourceNames(config: Pick<DeployConfig, 'name' | 'domain'>): ResourceNames {
  const { name, domain } = config;
  // Bucket names are global across all AWS accounts: a short hash of the domain keeps two
  // distributions with the same name apart and stays the same on every synth.
  const suffix = createHash('sha256').update(domain).digest('hex').slice(0, 8);
  const bucket = (region: string) => `${name}-${region}-${suffix}`;
  return {
    replicaStack: `${name}-replicas`,
    deliveryStack: `${name}-delivery`,
    entryRouter: `${name}-entry-router`,
    chunkRouter: `${name}-chunk-router`,
    rolloutSync: `${name}-rollout-sync`,
    release: `${name}-release`,
    codeDeployApplication: name,
    deploymentGroup: `${name}-entry-router`,
    liveAlias: LIVE_ALIAS,
    rolloutStore: rolloutStoreName(name),
    viewerAssignment: `${name}-viewer-assignment`,
    viewerAssignmentCheck: `${name}-viewer-assignment-check`,
    bucketRecord: `_bucket.${domain}`,
    clientErrorAlarm: `${name}-client-error-rate`,
    edgeErrorAlarm: `${name}-edge-function-errors`,
    assignmentFallbackAlarm: `${name}-assignment-fallback`,
    signalTable: `${name}-release-signal`,
    dashboard: `${name}-releases`,
    notificationTopic: `${name}-releases`,
    permissionsBoundary: `${name}-permissions-boundary`,
    signalStream: `${name}-signal`,
    realtimeLogConfig: `${name}-signal`,
    signalConsumer: `${name}-signal-consumer`,
    signalUnjudgedAlarm: `${name}-signal-unjudged`,
    errorReport: `${name}-error-report`,
    bucket,
    bucketDomain: (region: string) => `${bucket(region)}.s3.${region}.amazonaws.com`,
  };
}

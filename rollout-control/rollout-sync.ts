/**
 * Rollout sync, I/O part: reads the store (its ETag first, then the state), the alias and (only
 * while a canary is live) the deployment shifting it; writes the state only when it changes, and
 * then only conditionally:
 *
 *   1. the alias is read again just before the write, and a change since the first read starts
 *      the run over: a run that was slow (a cold start, throttling) never writes what it saw a
 *      while ago;
 *   2. the write carries the store's ETag from before any of this was read: if anyone (another
 *      run, the rollout CLI editing the ring) wrote since, it fails and the run starts over.
 *
 * So of two runs at once, the one that read the older alias cannot overwrite the newer state, and
 * a third, scheduled run a minute later repairs anything a failure left. It also publishes the
 * canary weight as a metric.
 *
 * The store's API is billed per call ($1 per 1,000; the function's reads at the edge are cheap),
 * so a container remembers what it last read or wrote, with the store's ETag, and a run whose
 * alias still gives that state makes no store call at all. What it remembers is checked against
 * the store every VERIFY_INTERVAL_MS, and whenever a write is due (the write's If-Match is the
 * remembered ETag: a store changed since, by the rollout CLI's ring edit, say, makes it read
 * again). So a state deleted or broken by hand is rewritten within that interval: until then the
 * edges fall back to the entry router, which costs far more per load. A manual sync (the rollout
 * CLI's, after `promote` or a ring edit) always reads the store.
 *
 * Every run also announces the state it found to the signal consumer's timeline when nobody had
 * (rollout-control/signal-table.ts), and reports the weight it leaves, which the handler
 * emits as a metric.
 *
 * It also checks that every build viewers are assigned (stable, canary) is in every replica bucket
 * and reports what is missing where; the handler emits it per region, and a region missing one
 * drops out of the nearest-bucket answers (stacks/constructs/bucket-health.ts) until it is filled.
 *
 * A canary whose build is revoked (contracts/revocation.ts) is held as one whose alarm fires is.
 *
 * When the client-error alarm is in ALARM while a deployment shifts the alias to the canary, it
 * holds the canary (core.ts), and once the hold is in the store it stops that deployment with
 * rollback (a stop that fails is logged, never thrown: the hold stands): CodeDeploy would do the same
 * when it next looks at the alarm, but AWS documents no interval for that, and an alarm that goes
 * back to OK before then (the held canary has no viewers left to fail) would let it go on.
 */
import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { StopDeploymentCommand, type CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  notificationKind,
  releaseFacts,
  releaseNotification,
  snsPublication,
  type DeploymentEventState,
  type ReleaseEvent,
} from '../contracts/release-notification';
import type { RolloutState } from '../contracts/rollout-state';
import { buildIdOfVersion, readAliasBuilds, type AliasBuilds, type VersionBuildCache } from './alias-state';
import { errorMessage, errorName } from './aws-errors';
import { buildPresence, bucketsFrom } from './build-presence';
import { findActiveDeploymentId, getDeploymentSummary, rolledBackTo, type DeploymentSummary } from './deployments';
import type { RolloutSyncEnvironment } from '../contracts/function-environment';
import { readRolloutState, StaleStoreError, writeRolloutState, type StoreRead } from './rollout-state-store';
import type { Revocation } from '../contracts/revocation';
import { readRevocation } from './revocations';
import { announceState, readJudgment, readTimeline, recordNotification } from './signal-table';
import {
  releaseProgress,
  type JudgmentRecord,
  type ReleaseOutcome,
  type ReleaseStep,
} from '../contracts/release-progress';
import {
  effectiveCanary,
  planSync,
  syncTriggerFrom,
  type JudgedRelease,
  type SaltSource,
  type SyncEvent,
  type SyncPlan,
  type SyncTrigger,
} from './sync-plan';

export const ROLLOUT_SYNC_VARIABLES = [
  'ENTRY_ROUTER_FUNCTION',
  'LIVE_ALIAS',
  'ROLLOUT_STORE_ARN',
  'METRICS_NAMESPACE',
  'CODEDEPLOY_APPLICATION',
  'CODEDEPLOY_DEPLOYMENT_GROUP',
  'CLIENT_ERROR_ALARM',
  'SIGNAL_TABLE',
  'BUCKETS',
  'SIGNAL_UNJUDGED_ALARM',
  'STATE_PROPAGATION_MS',
  'ROLLOUT_STEPS',
  'HOLD_MINUTES',
  'NOTIFICATION_TOPIC_ARN',
  'DISTRIBUTION_NAME',
  'DASHBOARD_URL',
] as const satisfies readonly (keyof RolloutSyncEnvironment)[];

/**
 * How far back a stopped or failed deployment to the alias's canary keeps that canary held (CodeDeploy's rollback takes
 * minutes).
 */
export const ROLLED_BACK_LOOKBACK_MS = 24 * 3_600_000;

/** Runs that find the store or the alias moved under them before giving up (the next run repairs). */
export const MAX_SYNC_ATTEMPTS = 4;
/** How long a container trusts the state it last read or wrote without asking the store. */
export const VERIFY_INTERVAL_MS = 10 * 60_000;

export interface RolloutSyncClients {
  readonly lambda: LambdaClient;
  readonly kvs: CloudFrontKeyValueStoreClient;
  readonly codedeploy: CodeDeployClient;
  readonly cloudwatch: CloudWatchClient;
  readonly dynamodb: DynamoDBClient;
  /** An S3 client for a replica bucket's region. */
  readonly s3For: (region: string) => S3Client;
  readonly sns: SNSClient;
}

export interface SyncSummary {
  readonly action: 'written' | 'unchanged';
  readonly trigger: SyncTrigger['kind'];
  /** The state now in the store. */
  readonly state: string;
  /** What was there before; null when there was no state. */
  readonly previous: string | null;
  readonly weight: number;
  readonly saltSource: SaltSource;
  /** Runs of the read-decide-write cycle this took (more than 1: something moved underneath). */
  readonly attempts: number;
  /** Whether the store was read (else the container's memory of it was used). */
  readonly storeRead: boolean;
  /** The canary has no viewers: its alarm is in ALARM, or the judge found it failing, or its hold ran out. */
  readonly held: boolean;
  /** The weight is held below what the steps would give by now: why, and since when (ms). */
  readonly hold: SyncPlan['hold'];
  /**
   * The judged release's outcome so far (contracts/release-progress.ts); null when no deployment is shifting the alias.
   */
  readonly outcome: ReleaseOutcome | null;
  /** The deployment this run stopped with rollback because the alarm fired, if it did. */
  readonly stoppedDeployment: string | null;
  /**
   * Why stopping it failed (the canary is held all the same, and CodeDeploy rolls back on the
   * alarm when it next looks); null when no stop was due or it worked.
   */
  readonly stopFailure: string | null;
  /**
   * Region → the assigned builds (stable, canary) its bucket lacks, or could not be asked about;
   * an empty list where it holds them all. Every configured region is listed.
   */
  readonly missingBuilds: Readonly<Record<string, readonly string[]>>;
  /**
   * The message this run published for the deployment or alarm state change it handled: its
   * subject, or why publishing failed (the state is written all the same); null when the event was
   * not one (a schedule, a manual sync, a state nobody needs to hear about, another group's).
   */
  readonly notification: { readonly subject: string; readonly failure: string | null } | null;
}

export type RolloutSync = (event: SyncEvent) => Promise<SyncSummary>;

function sameBuilds(a: AliasBuilds, b: AliasBuilds): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function createRolloutSync(
  env: RolloutSyncEnvironment,
  clients: RolloutSyncClients,
  options: { readonly now?: () => number } = {},
): RolloutSync {
  const group = { application: env.CODEDEPLOY_APPLICATION, deploymentGroup: env.CODEDEPLOY_DEPLOYMENT_GROUP };
  const storeArn = env.ROLLOUT_STORE_ARN;
  const buckets = bucketsFrom(env.BUCKETS);
  const now = options.now ?? Date.now;
  const steps = JSON.parse(env.ROLLOUT_STEPS) as ReleaseStep[];
  const holdMs = Number(env.HOLD_MINUTES) * 60_000;
  // Published versions never change: remember their builds for the life of the container.
  const versionBuilds: VersionBuildCache = new Map();
  const aliasBuilds = () => readAliasBuilds(clients.lambda, env.ENTRY_ROUTER_FUNCTION, env.LIVE_ALIAS, versionBuilds);
  /** The store as this container last saw it (read, or written by it). */
  let known: (StoreRead & { readonly at: number }) | null = null;

  return async (event) => {
    const trigger = syncTriggerFrom(event, group);
    for (let attempt = 1; ; attempt += 1) {
      const fromMemory =
        attempt === 1 && trigger.kind !== 'manual' && known !== null && now() - known.at < VERIFY_INTERVAL_MS;
      if (!fromMemory) known = { ...(await readRolloutState(clients.kvs, storeArn, known)), at: now() };
      const { etag, stored } = known!;
      // A state in the store nobody announced (Terraform created the key, a write from elsewhere)
      // goes into the timeline as possibly served since the state before it: before anything is
      // written over it, so the signal consumer knows what the edges served until then.
      if (!fromMemory && stored !== null)
        await announceState(clients.dynamodb, env.SIGNAL_TABLE, stored.text, now(), {
          propagationMs: Number(env.STATE_PROPAGATION_MS),
          seenOnly: true,
        });
      const builds = await aliasBuilds();
      let deployment: DeploymentSummary | null = null;
      let firing = { clientErrors: false, unjudged: false };
      let judged: JudgedRelease | null = null;
      let judgment: JudgmentRecord | null = null;
      let rollingBack = false;
      let revokedCanary: Revocation | null = null;
      const canary = effectiveCanary(builds);
      if (canary) {
        // Only a live canary needs a salt, and only then is CodeDeploy asked which deployment it
        // is, the alarms whether it should have viewers at all, and the judge how many.
        const id = trigger.startedDeploymentId ?? (await findActiveDeploymentId(clients.codedeploy, group));
        if (id) deployment = await getDeploymentSummary(clients.codedeploy, id);
        firing = await alarmsFiring();
        // A revoked build gets no viewers, whatever the alias or the judge say (one read per run
        // while a canary is live).
        revokedCanary = await readRevocation(clients.kvs, storeArn, canary.buildId);
        // A canary no deployment is shifting to may be one that was just rolled back, whose alias
        // CodeDeploy has not moved back yet: it gets no viewers again, under any salt.
        if (!(deployment?.active && deployment.toVersion === canary.version)) {
          rollingBack =
            (deployment?.active === true && deployment.toVersion !== canary.version) ||
            (await rolledBackTo(clients.codedeploy, group, canary.version, new Date(now() - ROLLED_BACK_LOOKBACK_MS)));
        }
        if (deployment?.active && deployment.toVersion === canary.version && deployment.createTime) {
          judgment = await readJudgment(clients.dynamodb, env.SIGNAL_TABLE, deployment.id);
          const progress = releaseProgress(
            steps,
            {
              startedAt: deployment.createTime.getTime(),
              healthyAt: judgment?.healthyAt ?? {},
              failedAt: judgment?.failedAt ?? null,
            },
            holdMs,
            now(),
          );
          judged = { progress, blind: firing.unjudged, verdictReason: judgment?.last?.reason ?? null };
        }
      }
      const plan = planSync(
        builds,
        deployment,
        stored,
        firing.clientErrors || rollingBack || revokedCanary !== null,
        judged,
      );
      const shifting = deployment?.active === true && deployment.toVersion === builds.canary?.version;
      const summary = {
        trigger: trigger.kind,
        state: plan.text,
        previous: stored?.text ?? null,
        weight: plan.state.weight,
        saltSource: plan.saltSource,
        attempts: attempt,
        storeRead: !fromMemory || attempt > 1,
        held: plan.held,
        hold: plan.hold,
        outcome: judged?.progress.outcome ?? null,
      };

      let written = false;
      if (plan.write) {
        const newEtag = sameBuilds(builds, await aliasBuilds()) ? await tryWrite(plan.text, etag) : null;
        if (newEtag === null) {
          if (attempt >= MAX_SYNC_ATTEMPTS) {
            throw new Error(
              `rollout store ${storeArn}: the alias or the store kept changing during ${attempt} attempts; the ` +
                `next run will write the state`,
            );
          }
          known = null;
          continue;
        }
        known = { etag: newEtag, stored: { text: plan.text, state: plan.state }, at: now() };
        written = true;
      }
      // The hold is in the store now (written, or there already): only then is the deployment
      // stopped, so a stop that fails (throttled, denied) never keeps viewers on the canary.
      const stop =
        plan.held && shifting ? await stopWithRollback(deployment!.id) : { stoppedDeployment: null, stopFailure: null };
      const missingBuilds = await assignedBuildsMissing([
        plan.state.stable,
        ...(plan.state.canary ? [plan.state.canary] : []),
      ]);
      // Last: what the message says (the build, its weight) is what the store now holds.
      const notification = await notify(event, plan.state, {
        clientErrors: firing.clientErrors,
        hold: plan.hold?.reason ?? null,
        aliasCanary: canary?.buildId ?? null,
        revoked: revokedCanary === null ? null : `build ${revokedCanary.buildId} revoked: ${revokedCanary.reason}`,
      });
      return { action: written ? 'written' : 'unchanged', ...summary, ...stop, missingBuilds, notification };
    }
  };

  /**
   * Publishes the message for a deployment state change of this group or an alarm state change
   * (contracts/release-notification.ts). Never throws: a topic that cannot be reached costs the
   * message, never the state. The release's build and the judge's words come from the judgment
   * record the deployment left (its salt is the deployment id); a deployment the judge never saw
   * (all at once, a rollback) is known by its AppSpec's versions.
   */
  async function notify(
    event: SyncEvent,
    state: RolloutState,
    seen: {
      readonly clientErrors: boolean;
      readonly hold: string | null;
      readonly aliasCanary: string | null;
      readonly revoked: string | null;
    },
  ): Promise<SyncSummary['notification']> {
    let happened: ReleaseEvent;
    let canary: string | null = null;
    let reason: string | null = null;
    try {
      if (event.source === 'aws.codedeploy') {
        const { detail } = event;
        if (detail.application !== group.application || detail.deploymentGroup !== group.deploymentGroup) return null;
        if (
          notificationKind({
            kind: 'deployment',
            state: detail.state as DeploymentEventState,
            deploymentId: '',
            rollback: false,
          }) === null
        )
          return null;
        const deployment = await getDeploymentSummary(clients.codedeploy, detail.deploymentId);
        const rollback = deployment.creator === 'codeDeployRollback' || deployment.rollbackOf !== null;
        happened = {
          kind: 'deployment',
          state: detail.state as DeploymentEventState,
          deploymentId: detail.deploymentId,
          rollback,
        };
        const judgment = rollback ? null : await readJudgment(clients.dynamodb, env.SIGNAL_TABLE, detail.deploymentId);
        const version = rollback ? deployment.fromVersion : deployment.toVersion;
        canary =
          judgment?.canary ??
          (version === null
            ? null
            : await buildIdOfVersion(clients.lambda, env.ENTRY_ROUTER_FUNCTION, version, versionBuilds));
        if (detail.state === 'STOP' || detail.state === 'FAILURE')
          reason =
            judgment?.failure ??
            seen.revoked ??
            (seen.clientErrors ? `the client-error alarm ${env.CLIENT_ERROR_ALARM} fired` : null) ??
            seen.hold ??
            deployment.error ??
            'stopped by a person or by CodeDeploy (no verdict recorded)';
      } else if (event.source === 'aws.cloudwatch') {
        const { detail } = event;
        happened = {
          kind: 'alarm',
          alarm: detail.alarmName,
          state: detail.state.value,
          reason: detail.state.reason ?? null,
        };
        // The release the alarm is about: the alias still names its canary while CodeDeploy rolls back.
        canary = seen.aliasCanary;
      } else return null;
      const message = releaseNotification(
        happened,
        releaseFacts(state, await readTimeline(clients.dynamodb, env.SIGNAL_TABLE), canary, reason),
        { distribution: env.DISTRIBUTION_NAME, dashboard: env.DASHBOARD_URL, at: now() },
      );
      if (message === null) return null;
      let failure: string | null = null;
      try {
        await clients.sns.send(
          new PublishCommand({ TopicArn: env.NOTIFICATION_TOPIC_ARN, ...snsPublication(message) }),
        );
      } catch (error) {
        failure = `${errorName(error) || 'Error'}: ${errorMessage(error)}`;
      }
      // Kept for `rollout status`, delivered or not; a log that cannot be written costs the entry only.
      try {
        await recordNotification(clients.dynamodb, env.SIGNAL_TABLE, { at: now(), subject: message.subject, failure });
      } catch (error) {
        console.warn(`rollout-sync: could not keep the notification in the log: ${errorMessage(error)}`);
      }
      return { subject: message.subject, failure };
    } catch (error) {
      return { subject: '(not composed)', failure: `${errorName(error) || 'Error'}: ${errorMessage(error)}` };
    }
  }

  /** Per region, which of `builds` its bucket does not hold; a bucket that cannot be asked lacks them. */
  async function assignedBuildsMissing(builds: readonly string[]): Promise<Record<string, string[]>> {
    const lacking = await Promise.all(
      Object.entries(buckets).map(async ([region, bucket]): Promise<[string, string[]]> => {
        const lacks: string[] = [];
        for (const buildId of builds) {
          try {
            if ((await buildPresence(clients.s3For, { [region]: bucket }, buildId)).missing.length > 0)
              lacks.push(buildId);
          } catch {
            // Not known to be there is as good as missing: nobody should be sent there on a guess.
            lacks.push(buildId);
          }
        }
        return [region, lacks];
      }),
    );
    return Object.fromEntries(lacking);
  }

  /**
   * Stops the canary's deployment with rollback. Never throws: the canary is held already, and
   * CodeDeploy rolls back on the same alarm when it next looks; a failure is reported for the log.
   */
  async function stopWithRollback(
    deploymentId: string,
  ): Promise<Pick<SyncSummary, 'stoppedDeployment' | 'stopFailure'>> {
    try {
      await clients.codedeploy.send(new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: true }));
      return { stoppedDeployment: deploymentId, stopFailure: null };
    } catch (error) {
      // Another run, CodeDeploy itself or a person stopped it first: the rollback is under way.
      if (errorName(error) === 'DeploymentAlreadyCompletedException')
        return { stoppedDeployment: null, stopFailure: null };
      return { stoppedDeployment: null, stopFailure: `${errorName(error) || 'Error'}: ${errorMessage(error)}` };
    }
  }

  /**
   * The canary's verdict (the client-error alarm: it takes the canary's viewers away) and the
   * judge's blindness (the unjudged alarm: periods the signal consumer could not see whole; the
   * weight may not rise while it fires).
   */
  async function alarmsFiring(): Promise<{ readonly clientErrors: boolean; readonly unjudged: boolean }> {
    const described = await clients.cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: [env.CLIENT_ERROR_ALARM, env.SIGNAL_UNJUDGED_ALARM],
        AlarmTypes: ['MetricAlarm'],
      }),
    );
    const inAlarm = (name: string) =>
      (described.MetricAlarms ?? []).some((alarm) => alarm.AlarmName === name && alarm.StateValue === 'ALARM');
    return { clientErrors: inAlarm(env.CLIENT_ERROR_ALARM), unjudged: inAlarm(env.SIGNAL_UNJUDGED_ALARM) };
  }

  /** The store's new ETag, or null when it changed since `etag` (someone wrote meanwhile). */
  async function tryWrite(text: string, etag: string): Promise<string | null> {
    try {
      // Announced first: the signal consumer counts a viewer only where every state the edges may
      // be serving agrees, and a state it has not heard of would be counted under the old one.
      return await writeRolloutState(clients.kvs, storeArn, text, etag, (next) =>
        announceState(clients.dynamodb, env.SIGNAL_TABLE, next, now(), {
          propagationMs: Number(env.STATE_PROPAGATION_MS),
        }),
      );
    } catch (error) {
      if (error instanceof StaleStoreError) return null;
      throw error;
    }
  }
}

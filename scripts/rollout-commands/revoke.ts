/**
 * `rollout revoke <buildId> --reason "..." [--to <buildId>] [--purge]`: take a build away for good.
 *
 * In this order, each step safe to run again (a second revoke finishes what an interrupted one
 * began):
 *
 *   1. refuse what cannot be done: an unknown build; the stable build without `--to` (nothing
 *      would replace it), or with a `--to` that is revoked, unknown to the router, or while a
 *      deployment runs (stop it first);
 *   2. write `revoked/<buildId>` to the rollout store: from here the viewer-assignment function
 *      answers 410 for its entry by its own URL at every edge (before any cache), the entry
 *      router's fallback refuses it, the release function and these commands refuse to release it,
 *      `rollout preview add` refuses to preview it, and rollout sync gives it no viewers as a
 *      canary; then end its previews in the state (conditional write, as `preview remove`): the
 *      viewer-assignment function would otherwise keep rewriting a previewed viewer's entry to it;
 *   3. the canary: stop its deployment with rollback, and ask rollout sync to write the state now;
 *      the stable build: deploy `--to` all at once (alarms off, as `rollback` does). Until the
 *      state names neither (seconds for a canary, the all-at-once deployment for a stable build),
 *      loads of /assets/index.js may still be assigned it: the viewer-assignment function reads
 *      only the state on that path, one store read a load, which is what the entry costs;
 *   4. invalidate `/assets/<buildId>/*` in CloudFront, so no cached copy is served on the entry path;
 *   5. with `--purge`, delete its objects (entry, chunks, manifest) from every bucket; without it
 *      they stay until cleanup, which deletes revoked builds first, so pages already open keep
 *      loading their chunks;
 *   6. publish the revocation to the release notifications topic.
 */
import { recordNotification } from '../../rollout-control/signal-table';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { buildAssetsPrefix, publishedBuildKey } from '../../contracts/bucket-layout';
import { ALL_AT_ONCE_CONFIG } from '../../contracts/deployment-config';
import { releaseNotification, snsPublication } from '../../contracts/release-notification';
import { dashboardUrl } from '../../contracts/release-dashboard';
import type { Revocation } from '../../contracts/revocation';
import { errorMessage } from '../../rollout-control/aws-errors';
import { buildPresence } from '../../rollout-control/build-presence';
import { findDistribution, invalidateBuild } from '../../rollout-control/distribution';
import { release } from '../../rollout-control/release';
import { readRevocation, RevokedBuildError, writeRevocation } from '../../rollout-control/revocations';
import { readRolloutState } from '../../rollout-control/rollout-state-store';
import { STORE_PROPAGATION_MS } from '../../contracts/release-signal';
import { endPreviewsOf } from './preview';
import { deleteObjects, listObjects } from '../../rollout-control/s3';
import {
  activeDeployment,
  listVersions,
  readAliasView,
  releaseTarget,
  requestSync,
  RolloutError,
  rolloutStoreArn,
  ROLLOUT_REGION,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';
import { stopWithRollback } from './stop';

export interface RevokeRequest {
  readonly buildId: string;
  readonly reason: string;
  /** The build that replaces a revoked stable one, deployed all at once. */
  readonly to?: string;
  readonly purge: boolean;
}

export async function revokeCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const request = invocation.revoke!;
  const { buildId } = request;
  const { kvs } = context.clients;
  const storeArn = await rolloutStoreArn(context);
  const previous = await readRevocation(kvs, storeArn, buildId);
  const [alias, versions, deployment, stored, presence] = await Promise.all([
    readAliasView(context),
    listVersions(context),
    activeDeployment(context),
    readRolloutState(kvs, storeArn),
    buildPresence(context.clients.s3For, context.target.buckets, buildId),
  ]);
  const state = stored.stored?.state ?? null;
  const regions = Object.keys(context.target.buckets);
  const known =
    previous !== null ||
    presence.missing.length < regions.length ||
    versions.some((v) => v.buildId === buildId) ||
    (state?.previews ?? []).some((preview) => preview.build === buildId);
  if (!known)
    throw new RolloutError(
      `unknown build ${buildId}: no bucket holds its manifest and no version of ${context.names.entryRouter} ` +
        'names it; nothing to revoke (the id is the one `rollout status` and X-Build-Id show)',
    );
  const deploymentBuild = deployment?.toVersion
    ? (versions.find((v) => v.version === deployment.toVersion)?.buildId ?? null)
    : null;
  const stable = alias.stable.buildId === buildId || state?.stable === buildId;
  const canary =
    !stable && (state?.canary === buildId || alias.canary?.buildId === buildId || deploymentBuild === buildId);

  // 1. What cannot be done is refused before anything is written.
  let replacement: { version: string; buildId: string } | null = null;
  if (request.to !== undefined && !stable)
    throw new RolloutError(
      `--to names what replaces the stable build; ${buildId} is not the stable build ` +
        `(${alias.stable.buildId ?? 'unknown'})`,
    );
  // Whether revoked before or not: while it is still the stable build, it is replaced (a run that
  // wrote the key but whose deployment failed is finished by running it again with --to).
  if (stable) {
    if (request.to === undefined)
      throw new RolloutError(
        `build ${buildId} is the stable build: every viewer gets it. Name the build that replaces it with ` +
          '--to <buildId> (deployed all at once); to go back to the build before it, that is the one ' +
          '`rollout status` lists below it',
      );
    const toRevocation = await readRevocation(kvs, storeArn, request.to);
    if (toRevocation !== null) throw new RevokedBuildError(toRevocation, 'what replaces a revoked build');
    const target = versions
      .filter((v) => v.buildId === request.to)
      .sort((a, b) => Number(b.version) - Number(a.version))[0];
    if (!target)
      throw new RolloutError(
        `no version of ${context.names.entryRouter} serves build ${request.to}: deploy it first, or name a build ` +
          'a published version serves (`rollout status`)',
      );
    if (deployment)
      throw new RolloutError(
        `deployment ${deployment.id} is in progress: stop it first (npm run rollout -- stop), then revoke ` +
          `${buildId} with --to again`,
      );
    // Before anything is written: a replacement a region lacks would be refused after the key.
    const toPresence = await buildPresence(context.clients.s3For, context.target.buckets, request.to);
    if (toPresence.missing.length > 0)
      throw new RolloutError(
        `build ${request.to} is not in every bucket (its manifest is missing from ${toPresence.missing.join(', ')}): ` +
          'upload it there first (npm run backfill), then revoke again',
      );
    replacement = { version: target.version, buildId: request.to };
  }

  // 2. Revoked: every gate refuses it from here on.
  const revocation = await writeRevocation(kvs, storeArn, { buildId, at: context.now(), reason: request.reason });
  const lines = [
    previous === null
      ? `Revoked build ${buildId}: ${revocation.reason}.`
      : `Build ${buildId} was already revoked${describeTime(previous)}: ${previous.reason}. Finishing the steps again.`,
  ];
  const steps: Record<string, unknown> = {};

  // No preview of it left in the state. The edge already gives a previewed viewer the rollout's build
  // once it sees the revocation (the function reads a previewed build's key), so a failure here is
  // told, and the run goes on to the steps that take the build off viewers.
  let previewsLeft: string | null = null;
  try {
    const ended = await endPreviewsOf(context, storeArn, buildId);
    steps.previewsEnded = ended;
    if (ended.length > 0)
      lines.push(
        `Ended its preview${ended.length === 1 ? '' : 's'} for ${ended.map((p) => p.viewer).join(', ')}: ` +
          `those viewers' next load gets the build the rollout gives them, within ${STORE_PROPAGATION_MS / 1000} s.`,
      );
  } catch (error) {
    previewsLeft = errorMessage(error);
    steps.previewsEnded = { error: previewsLeft };
    lines.push(
      `Could not remove its previews from the rollout state (${previewsLeft}): the edges give those viewers the ` +
        "rollout's build all the same (they check a previewed build's revocation); run the same revoke again " +
        'to remove them.',
    );
  }

  // 3. Off every viewer.
  if (canary && deployment) {
    try {
      const stopped = await stopWithRollback(context, deployment);
      steps.stopped = stopped.json;
      lines.push(...stopped.lines);
    } catch (error) {
      // It finished first: the revoked build may be the stable one now, which only --to replaces.
      throw new RolloutError(
        `build ${buildId} is revoked (its own URL answers 410), but stopping deployment ${deployment.id} failed ` +
          `(${errorMessage(error)}); if it has become the stable build, run revoke again with --to <buildId>`,
      );
    }
  }
  if (replacement !== null) {
    const result = await release(replacement, await releaseTarget(context), context.clients, {
      deploymentConfigName: ALL_AT_ONCE_CONFIG,
      disableAlarms: true,
      description: `revoke build ${buildId}: all at once to build ${replacement.buildId} (rollout CLI)`,
    });
    steps.replaced = result;
    lines.push(
      result.action === 'started'
        ? `Deploying build ${replacement.buildId} (version ${replacement.version}) all at once as ` +
            `${result.deploymentId}: its own URL answers 410 already; loads of /assets/index.js get it ` +
            'until the alias has moved and rollout sync has written the state (npm run bench: revocation reach).'
        : `Build ${replacement.buildId}: ${result.reason}.`,
    );
  }
  const synced = await requestSync(context);
  lines.push(
    synced
      ? 'Asked rollout sync to write the state now; the edges follow within seconds.'
      : 'Could not ask rollout sync to write the state now: it does within a minute.',
  );

  // 4. No cached copy.
  try {
    const distribution = await findDistribution(context.clients.cloudfront, context.names.realtimeLogConfig);
    // A reference of this run's own: a second run invalidates again (a cache refilled meanwhile).
    const id = await invalidateBuild(
      context.clients.cloudfront,
      distribution.id,
      buildId,
      `revoke-${buildId}-${context.now()}`,
    );
    steps.invalidation = {
      distributionId: distribution.id,
      invalidationId: id,
      paths: [`/${buildAssetsPrefix(buildId)}*`],
    };
    lines.push(`Invalidating /${buildAssetsPrefix(buildId)}* in ${distribution.id} (${id}).`);
  } catch (error) {
    throw new RolloutError(
      `build ${buildId} is revoked (every edge answers 410 for it), but invalidating its cached copies failed: ` +
        `${errorMessage(error)}. Run the same revoke again to retry`,
    );
  }

  // 5. Its objects, only when asked.
  if (request.purge) {
    const deleted = await purge(context, buildId);
    steps.purged = deleted;
    lines.push(
      `Deleted ${Object.values(deleted).reduce((sum, count) => sum + count, 0)} objects of ${buildId} from ` +
        `${regions.length} buckets.`,
    );
  } else {
    lines.push(
      'Its chunks stay until cleanup (which deletes revoked builds first), so pages already open keep working; ' +
        'run again with --purge to delete them now.',
    );
  }

  // 6. Heard.
  // The stable build viewers get once the state has moved: the replacement, or the stable one as it is.
  const published = await notify(context, revocation, replacement?.buildId ?? alias.stable.buildId ?? buildId);
  if (published !== null) lines.push(`Could not publish the notification: ${published}.`);
  return {
    json: { revocation, already: previous !== null, stable, canary, ...steps, notified: published === null },
    lines,
    // Revoked and off every viewer, but the state still names it in a preview: not done.
    ...(previewsLeft === null ? {} : { exitCode: 1 }),
  };
}

function describeTime(revocation: Revocation): string {
  return revocation.at === null ? '' : ` at ${new Date(revocation.at).toISOString()}`;
}

/** Every object of the build in every bucket: its entry, chunks and variants, then its manifest. */
async function purge(context: Context, buildId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [region, bucket] of Object.entries(context.target.buckets)) {
    const client = context.clients.s3For(region);
    const objects = await listObjects(client, bucket, buildAssetsPrefix(buildId));
    const keys = [...objects.map((object) => object.key), publishedBuildKey(buildId)];
    counts[region] = await deleteObjects(client, bucket, keys);
  }
  return counts;
}

/** Publishes the revocation; null when it was published, else why not (the revocation stands either way). */
async function notify(context: Context, revocation: Revocation, stable: string): Promise<string | null> {
  const message = releaseNotification(
    { kind: 'revocation', buildId: revocation.buildId, reason: revocation.reason },
    { stable, canary: null, weight: 0, reason: null },
    { distribution: context.config.name, dashboard: dashboardUrl(context.names.dashboard), at: context.now() },
  );
  if (message === null) return 'nothing to say';
  let failure: string | null = null;
  try {
    const sns = context.clients.sns ?? new SNSClient({ region: ROLLOUT_REGION });
    await sns.send(
      new PublishCommand({
        TopicArn: `arn:aws:sns:${ROLLOUT_REGION}:${context.account}:${context.names.notificationTopic}`,
        ...snsPublication(message),
      }),
    );
  } catch (error) {
    failure = errorMessage(error);
  }
  // Kept where `rollout status` shows the last messages, as rollout sync keeps its own.
  try {
    await recordNotification(context.clients.dynamodb, context.names.signalTable, {
      at: context.now(),
      subject: message.subject,
      failure,
    });
  } catch (error) {
    failure ??= `published, but not kept for rollout status: ${errorMessage(error)}`;
  }
  return failure;
}

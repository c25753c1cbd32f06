/** `rollout promote`: finish the running deployment now and move the alias fully to its target. */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { aliasStateFrom, findBuildIdOfVersion, getAlias } from '../../rollout-control/alias-state';
import { errorName } from '../../rollout-control/aws-errors';
import { getDeploymentSummary, withGroupErrors } from '../../rollout-control/deployments';
import { refuseRevoked } from '../../rollout-control/revocations';
import { percent } from '../lib/rollout-view';
import {
  activeDeployment,
  nothingRunning,
  requestSync,
  RolloutError,
  rolloutStoreArn,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';

const PROMOTE_POLL_MS = 3000;
const PROMOTE_TIMEOUT_MS = 120_000;

/**
 * CodeDeploy cannot skip a Lambda canary's wait (ContinueDeployment is for EC2/ECS blue/green
 * wait times). So: stop the deployment without rollback, wait until it has stopped (so CodeDeploy
 * no longer writes the alias), then move the alias fully to the target version ourselves, guarded
 * by the alias's RevisionId.
 */
export async function promoteCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (!deployment) throw await nothingRunning(context, 'promote', 'Start one with `npm run rollout -- start`.');
  // Promoting is the one way past the alarms: not by accident while one says the canary is failing,
  // or that the signal cannot see it.
  const watched = [
    { name: context.names.clientErrorAlarm, what: 'client-error alarm' },
    { name: context.names.signalUnjudgedAlarm, what: 'unjudged alarm (the release signal cannot see the canary)' },
  ];
  const described =
    (
      await context.clients.cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNames: watched.map((w) => w.name), AlarmTypes: ['MetricAlarm'] }),
      )
    ).MetricAlarms ?? [];
  const firing = watched.flatMap((w) => {
    const alarm = described.find((a) => a.AlarmName === w.name);
    return alarm?.StateValue === 'ALARM'
      ? [`its ${w.what} ${w.name} is in ALARM (${alarm.StateReason ?? 'no reason given'})`]
      : [];
  });
  if (firing.length > 0 && !invocation.force) {
    throw new RolloutError(
      `not promoting deployment ${deployment.id}: ${firing.join('; ')}, so CodeDeploy is about to roll it ` +
        `back. If you are sure the canary is fine, run \`npm run rollout -- promote --force\`.`,
    );
  }
  const { lambda, codedeploy } = context.clients;
  const { entryRouter, liveAlias } = context.names;
  const targetVersion =
    deployment.toVersion ?? aliasStateFrom(await getAlias(lambda, entryRouter, liveAlias)).canaryVersion;
  if (!targetVersion)
    throw new RolloutError(
      `cannot tell which version deployment ${deployment.id} moves to (its AppSpec names none and the alias ` +
        `has no second version)`,
    );

  // A revoked build never becomes stable, --force or not.
  const targetBuild = await findBuildIdOfVersion(lambda, entryRouter, targetVersion);
  if (targetBuild !== null)
    await refuseRevoked(context.clients.kvs, await rolloutStoreArn(context), [targetBuild], 'promoted');
  await withGroupErrors(context.group, () =>
    codedeploy.send(new StopDeploymentCommand({ deploymentId: deployment.id, autoRollbackEnabled: false })),
  );
  let final = await getDeploymentSummary(codedeploy, deployment.id);
  for (let waited = 0; final.active; waited += PROMOTE_POLL_MS) {
    if (waited >= PROMOTE_TIMEOUT_MS) {
      throw new RolloutError(
        `deployment ${deployment.id} is still ${final.status} ${PROMOTE_TIMEOUT_MS / 1000} s after the stop ` +
          `request; run \`npm run rollout -- promote\` again once it has stopped`,
      );
    }
    await context.sleep(PROMOTE_POLL_MS);
    final = await getDeploymentSummary(codedeploy, deployment.id);
  }
  if (final.status === 'Failed') {
    throw new RolloutError(
      `deployment ${deployment.id} failed before it could be promoted (${final.error ?? 'no reason given'}); ` +
        `CodeDeploy rolls it back. See \`npm run rollout -- status\`.`,
    );
  }

  const alias = await getAlias(lambda, entryRouter, liveAlias);
  const state = aliasStateFrom(alias);
  const buildId = await findBuildIdOfVersion(lambda, entryRouter, targetVersion).catch(() => null);
  let moved = false;
  if (state.stableVersion !== targetVersion || state.canaryVersion !== null) {
    if (final.status === 'Succeeded')
      throw new RolloutError(
        `deployment ${deployment.id} succeeded, but alias ${liveAlias} is on version ${state.stableVersion}; ` +
          `see \`npm run rollout -- status\``,
      );
    try {
      await lambda.send(
        new UpdateAliasCommand({
          FunctionName: entryRouter,
          Name: liveAlias,
          FunctionVersion: targetVersion,
          RoutingConfig: { AdditionalVersionWeights: {} },
          RevisionId: alias.RevisionId,
        }),
      );
    } catch (error) {
      if (errorName(error) === 'PreconditionFailedException')
        throw new RolloutError(
          `alias ${liveAlias} changed while promoting; check \`npm run rollout -- status\` and run promote ` +
            `again if still needed`,
        );
      throw error;
    }
    moved = true;
  }

  // Ask rollout sync to publish the change now rather than at its next minute; it does either way.
  const syncRequested = await requestSync(context);
  return {
    json: {
      action: 'promoted',
      deploymentId: deployment.id,
      deploymentStatus: final.status,
      version: targetVersion,
      buildId,
      aliasMoved: moved,
      syncRequested,
    },
    lines: [
      `Promoted deployment ${deployment.id}: alias ${liveAlias} sends ${percent(10000)} of viewers to version ` +
        `${targetVersion}${buildId ? ` (build ${buildId})` : ''}.`,
      `The deployment is ${final.status} in CodeDeploy, so no alarm rolls this release back any more; if it ` +
        `misbehaves, run \`npm run rollout -- rollback\`.`,
      syncRequested
        ? 'Rollout sync was asked to update the rollout state now.'
        : `Could not invoke ${context.names.rolloutSync}; it updates the rollout state within a minute anyway.`,
    ],
  };
}

/**
 * `rollout rollback`: stop the running deployment with rollback, or with none running, deploy the previous build all at
 * once.
 */
import { release } from '../../rollout-control/release';
import { ALL_AT_ONCE_CONFIG } from '../../contracts/deployment-config';
import { previousReleaseVersion } from '../lib/rollout-view';
import {
  activeDeployment,
  listVersions,
  readAliasView,
  releaseLines,
  releaseTarget,
  RolloutError,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';
import { stopWithRollback } from './stop';

export async function rollbackCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (deployment) {
    if (invocation.version)
      throw new RolloutError(
        `deployment ${deployment.id} is in progress; \`rollback\` stops it and rolls it back by itself, ` +
          `without --version`,
      );
    return stopWithRollback(context, deployment);
  }
  const alias = await readAliasView(context);
  const versions = await listVersions(context);
  const target = invocation.version
    ? versions.find((v) => v.version === invocation.version)
    : previousReleaseVersion(versions, alias.stable);
  if (!target) {
    throw new RolloutError(
      invocation.version
        ? `${context.names.entryRouter} has no version ${invocation.version}`
        : `no version below ${alias.stable.version} serves another build than ` +
            `${alias.stable.buildId ?? 'the current one'}: nothing to roll back to (name one with --version N)`,
    );
  }
  if (!target.buildId)
    throw new RolloutError(
      `${context.names.entryRouter} version ${target.version} names no buildId in its description; pick ` +
        `another with --version N`,
    );
  const result = await release(
    { version: target.version, buildId: target.buildId },
    await releaseTarget(context),
    context.clients,
    {
      deploymentConfigName: ALL_AT_ONCE_CONFIG,
      // The alarm that fired for the bad build must not stop (and undo) the way back.
      disableAlarms: true,
      description:
        `rollback to build ${target.buildId}: version ` + `${alias.stable.version} → ${target.version} (rollout CLI)`,
    },
  );
  return { json: result, lines: releaseLines(result, 'roll back') };
}

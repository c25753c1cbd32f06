/** `rollout stop`: stop the running deployment and roll it back (`rollback` does the same while one runs). */
import { StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { withGroupErrors, type DeploymentSummary } from '../../rollout-control/deployments';
import { activeDeployment, nothingRunning, type CommandResult, type Context } from './context';

export async function stopWithRollback(context: Context, deployment: DeploymentSummary): Promise<CommandResult> {
  const stopped = await withGroupErrors(context.group, () =>
    context.clients.codedeploy.send(
      new StopDeploymentCommand({ deploymentId: deployment.id, autoRollbackEnabled: true }),
    ),
  );
  const back = deployment.fromVersion ? `version ${deployment.fromVersion}` : 'the version it started from';
  return {
    json: {
      action: 'stopped',
      deploymentId: deployment.id,
      rollback: true,
      fromVersion: deployment.fromVersion,
      toVersion: deployment.toVersion,
      status: stopped.status ?? null,
      message: stopped.statusMessage ?? null,
    },
    lines: [
      `Stopping deployment ${deployment.id}${
        deployment.fromVersion && deployment.toVersion
          ? ` (version ${deployment.fromVersion} → ${deployment.toVersion})`
          : ''
      } ` + `with rollback: ${stopped.statusMessage ?? stopped.status ?? 'requested'}.`,
      `CodeDeploy moves alias ${context.names.liveAlias} back to ${back}; rollout sync writes weight 0 to the ` +
        `rollout store at once (state change) or within a minute, and every edge follows within ` +
        `seconds of that write.`,
    ],
  };
}

export async function stopCommand(context: Context): Promise<CommandResult> {
  const deployment = await activeDeployment(context);
  if (!deployment)
    throw await nothingRunning(context, 'stop', 'To go back to the previous build, run `npm run rollout -- rollback`.');
  return stopWithRollback(context, deployment);
}

/**
 * `rollout status`: the alias, the rollout state at the edges (its ring and the previews in force), the current or
 * last deployment, the alarms, the judgment and the revoked builds.
 */
import type { NotificationLogEntry } from '../../contracts/release-notification';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { rolloutSteps } from '../../config';
import { errorMessage } from '../../rollout-control/aws-errors';
import { findCurrentOrLastDeployment, type DeploymentSummary } from '../../rollout-control/deployments';
import { readRolloutState } from '../../rollout-control/rollout-state-store';
import { listRevocations } from '../../rollout-control/revocations';
import type { Revocation } from '../../contracts/revocation';
import { livePreviews } from '../../contracts/rollout-state';
import { readJudgment, readNotifications } from '../../rollout-control/signal-table';
import { dashboardUrl } from '../../contracts/release-dashboard';
import {
  deploymentView,
  formatStatus,
  judgmentView,
  previewViews,
  stateMatchesAlias,
  type AlarmView,
  type JudgmentView,
  type RolloutStatus,
  type StateView,
} from '../lib/rollout-view';
import { readAliasView, rolloutStoreArn, type CommandResult, type Context } from './context';

export async function statusCommand(context: Context): Promise<CommandResult> {
  const problems: string[] = [];
  const alias = await readAliasView(context);
  for (const v of [alias.stable, ...(alias.canary ? [alias.canary] : [])]) {
    if (v.buildId === null)
      problems.push(`version ${v.version} of ${alias.functionName} names no buildId in its description`);
  }

  let state: StateView = {
    store: context.names.rolloutStore,
    arn: null,
    text: null,
    parsed: null,
    matchesAlias: false,
  };
  try {
    const arn = await rolloutStoreArn(context);
    const { stored } = await readRolloutState(context.clients.kvs, arn);
    state = {
      ...state,
      arn,
      text: stored?.text ?? null,
      parsed: stored?.state ?? null,
      matchesAlias: stateMatchesAlias(alias, stored?.state ?? null),
    };
    if (!stored)
      problems.push(
        `the rollout state is missing from ${state.store}: the edges fall back to the entry router; deploy the ` +
          `stacks to recreate the key, and rollout sync fills it within a minute`,
      );
    else if (!stored.state)
      problems.push(
        `the value in ${state.store} is not a valid rollout state: the edges fall back to the entry router; ` +
          `rollout sync rewrites it within a minute`,
      );
  } catch (error) {
    problems.push(`cannot read the rollout state from ${state.store}: ${errorMessage(error)}`);
  }

  let deployment = null;
  let deploymentSummary: DeploymentSummary | null = null;
  try {
    const summary = await findCurrentOrLastDeployment(context.clients.codedeploy, context.group);
    deploymentSummary = summary;
    deployment = summary ? deploymentView(summary, alias) : null;
  } catch (error) {
    problems.push(`cannot read deployments: ${errorMessage(error)}`);
  }

  // The two that hold and roll back a release (client errors, a signal that cannot see), and the edge functions'
  // errors.
  const alarmNames = [context.names.clientErrorAlarm, context.names.signalUnjudgedAlarm, context.names.edgeErrorAlarm];
  let alarms: AlarmView[] = alarmNames.map((name) => ({ name, state: null, reason: null, updated: null }));
  try {
    const described = await context.clients.cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: alarmNames, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    const found = [...(described.MetricAlarms ?? []), ...(described.CompositeAlarms ?? [])];
    alarms = alarmNames.map((name) => {
      const alarm = found.find((a) => a.AlarmName === name);
      if (!alarm) problems.push(`alarm ${name} does not exist: deploy the stacks first`);
      return {
        name,
        state: alarm?.StateValue ?? null,
        reason: alarm?.StateReason ?? null,
        updated: alarm?.StateUpdatedTimestamp?.toISOString() ?? null,
      };
    });
  } catch (error) {
    problems.push(`cannot read alarms: ${errorMessage(error)}`);
  }

  let judgment: JudgmentView | null = null;
  if (deploymentSummary) {
    try {
      const record = await readJudgment(context.clients.dynamodb, context.names.signalTable, deploymentSummary.id);
      judgment = judgmentView(
        deploymentSummary,
        record,
        rolloutSteps(context.config.rollout),
        context.config.alarms.holdMinutes * 60_000,
        context.now(),
      );
    } catch (error) {
      problems.push(`cannot read the judgment of ${deploymentSummary.id}: ${errorMessage(error)}`);
    }
  }

  let revocations: Revocation[] = [];
  if (state.arn !== null) {
    try {
      revocations = await listRevocations(context.clients.kvs, state.arn);
    } catch (error) {
      problems.push(`cannot list the revoked builds in ${state.store}: ${errorMessage(error)}`);
    }
  }

  let notifications: NotificationLogEntry[] = [];
  try {
    notifications = await readNotifications(context.clients.dynamodb, context.names.signalTable);
  } catch (error) {
    problems.push(`cannot read the last notifications: ${errorMessage(error)}`);
  }

  const status: RolloutStatus = {
    account: context.account,
    alias,
    state,
    deployment,
    alarms,
    judgment,
    dashboard: dashboardUrl(context.names.dashboard),
    revocations,
    // Those in force: the edges ignore the rest by their time.
    previews: state.parsed ? previewViews(livePreviews(state.parsed, context.now()), context.now()) : [],
    notifications,
    problems,
  };
  return { json: status, lines: formatStatus(status), exitCode: problems.length > 0 ? 1 : 0 };
}

/** `rollout start`: deploy the newest published entry-router version (or --version N) with the configured rollout. */
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { rolloutSteps } from '../../config';
import { release } from '../../rollout-control/release';
import { errorMessage } from '../../rollout-control/aws-errors';
import {
  DIMENSION_ROLE,
  METRIC_ERRORING_VIEWERS,
  METRIC_VIEWERS,
  statePropagationMs,
} from '../../contracts/release-signal';
import { judgeRule } from '../../contracts/canary-judge';
import { evidenceWarnings, newestVersion } from '../lib/rollout-view';
import {
  listVersions,
  releaseLines,
  releaseTarget,
  RolloutError,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';

export async function startCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const versions = await listVersions(context);
  const chosen = invocation.version ? versions.find((v) => v.version === invocation.version) : newestVersion(versions);
  if (!chosen) {
    throw new RolloutError(
      invocation.version
        ? `${context.names.entryRouter} has no version ${invocation.version} (published: ` +
            `${versions.map((v) => v.version).join(', ') || 'none'})`
        : `${context.names.entryRouter} has no published version: deploy the stacks first`,
    );
  }
  if (!chosen.buildId)
    throw new RolloutError(
      `${context.names.entryRouter} version ${chosen.version} names no buildId in its description; only ` +
        `versions published by the stacks can be released`,
    );
  const result = await release(
    { version: chosen.version, buildId: chosen.buildId },
    await releaseTarget(context),
    context.clients,
  );
  const warnings = result.action === 'unchanged' ? [] : await startWarnings(context);
  return {
    json: { ...result, warnings },
    lines: [...releaseLines(result, 'start'), ...warnings.map((warning) => `Warning: ${warning}`)],
  };
}

/**
 * Whether the configured steps can be judged in time, from the last day's entry traffic as the
 * signal consumer counted it (its Viewers and ErroringViewers metrics, an hour at a time). A
 * warning, never a refusal: the judge holds what it cannot judge either way.
 */
async function startWarnings(context: Context): Promise<string[]> {
  const end = new Date(Math.floor(context.now() / 3_600_000) * 3_600_000);
  const start = new Date(end.getTime() - 24 * 3_600_000);
  const hourly = async (metricName: string, role: string) => {
    const answer = await context.clients.cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: context.config.metrics.namespace,
        MetricName: metricName,
        Dimensions: [{ Name: DIMENSION_ROLE, Value: role }],
        StartTime: start,
        EndTime: end,
        Period: 3600,
        Statistics: ['Sum'],
      }),
    );
    const byHour = new Map((answer.Datapoints ?? []).map((point) => [point.Timestamp?.getTime(), point.Sum ?? 0]));
    return Array.from({ length: 24 }, (_, hour) => byHour.get(start.getTime() + hour * 3_600_000) ?? 0);
  };
  try {
    const [stable, canary, ring, erring] = await Promise.all([
      hourly(METRIC_VIEWERS, 'stable'),
      hourly(METRIC_VIEWERS, 'canary'),
      hourly(METRIC_VIEWERS, 'ring'),
      hourly(METRIC_ERRORING_VIEWERS, 'stable'),
    ]);
    const stableViewers = stable.reduce((sum, v) => sum + v, 0);
    const traffic = {
      hourlyViewers: stable.map((v, hour) => v + (canary[hour] ?? 0) + (ring[hour] ?? 0)),
      stableShare: stableViewers > 0 ? erring.reduce((sum, v) => sum + v, 0) / stableViewers : null,
    };
    const { alarms } = context.config;
    return evidenceWarnings(rolloutSteps(context.config.rollout), traffic, {
      rule: judgeRule(alarms),
      holdMinutes: alarms.holdMinutes,
      periodSeconds: alarms.periodSeconds,
      latenessSeconds: context.config.metrics.latenessSeconds,
      propagationMs: statePropagationMs(context.config.edge),
    });
  } catch (error) {
    return [`could not read the last day's traffic to check the steps can be judged in time: ${errorMessage(error)}`];
  }
}

/**
 * The release's two alarms, locally: the stack's own metric queries (contracts/release-signal.ts),
 * evaluated period by period with contracts/metric-math.ts over the local metric store, and
 * CloudWatch's M-of-N rule on top:
 *
 *   client errors  the judge's verdict (the consumer's CanaryFailing, Maximum per 10 s, ALARM on
 *                  one breaching period); missing data is not breaching, as the stack configures
 *   unjudged       periods the signal consumer could not see whole, records that came after their
 *                  period closed, the consumer's errors, the stream's reader behind by more than
 *                  the lateness (unjudgedAlarmQueries); missing data is breaching: a judge that
 *                  reports nothing sees nothing
 *
 *   ALARM  when at least datapointsToAlarm of the last evaluationPeriods periods breach
 *
 * Pure but for the store it reads. Periods are aligned to multiples of the period from the epoch
 * of the clock that stamped the points, as CloudWatch aligns them; the one still running counts,
 * so a burst of errors is seen within one evaluation and not a period later. A period still
 * running whose data has not come yet is not taken as missing (its datapoints may still arrive:
 * the stream's iterator age is reported on the reader's next poll); a period that has ended is.
 */
import type { AlarmsConfig } from '../config';
import { evaluateQueries } from '../contracts/metric-math';
import {
  DIMENSION_ROLE,
  DIMENSION_SIGNAL,
  METRIC_CANARY_FAILING,
  periodStart,
  releaseAlarmQueries,
  SIGNAL_ENTRY,
  unjudgedAlarmQueries,
  VERDICT_PERIOD_SECONDS,
  type ExpressionQuery,
  type HealthMetricQuery,
} from '../contracts/release-signal';
import type { LocalMetricStore } from './metric-store';

export type AlarmState = 'OK' | 'ALARM';

export interface PeriodFigures {
  /** Start of the period, ms. */
  readonly start: number;
  /** Every query's value in the period (the metrics' statistics, the expressions' results). */
  readonly values: Readonly<Record<string, number | null>>;
  /** The alarm's value: the result expression. */
  readonly result: number | null;
  readonly breaching: boolean;
}

export interface AlarmVerdict {
  readonly state: AlarmState;
  /** Oldest first. */
  readonly periods: readonly PeriodFigures[];
  readonly reason: string;
}

/** The config's alarms as the local mode runs them: the judge's rule, its hold, and the unjudged alarm's periods. */
export type AlarmRule = Pick<
  AlarmsConfig,
  | 'excessErrorPercent'
  | 'toleratedExcessPercent'
  | 'falseRollbackRate'
  | 'minViewers'
  | 'holdMinutes'
  | 'periodSeconds'
  | 'evaluationPeriods'
  | 'datapointsToAlarm'
>;

/** One alarm as CloudWatch holds it: its metric queries (read per period), its expressions, its threshold. */
export interface AlarmDefinition {
  /** Each metric query's statistic over [start, end), null when it has no datapoint. */
  readonly inputs: (start: number, end: number) => Record<string, number | null>;
  /** In dependency order. */
  readonly expressions: readonly ExpressionQuery[];
  readonly resultId: string;
  /** Breaching when the result is greater than this. */
  readonly threshold: number;
  /** Whether a period without a result breaches (CloudWatch's treat-missing-data `breaching`). */
  readonly missingBreaches: boolean;
  /** What a breaching period means, for the verdict's reason: "… of the last 3 periods <what>". */
  readonly breachingMeans: string;
}

/** Every query of `alarm` for the period starting at `start`; `running`: the period has not ended yet. */
export function periodFigures(alarm: AlarmDefinition, periodMs: number, start: number, running = false): PeriodFigures {
  const values = evaluateQueries(alarm.expressions, alarm.inputs(start, start + periodMs));
  const result = values[alarm.resultId] ?? null;
  const breaching = result === null ? alarm.missingBreaches && !running : result > alarm.threshold;
  return { start, values, result, breaching };
}

/** CloudWatch's M-of-N over the last `evaluationPeriods` periods, the one holding `now` last. */
export function evaluateAlarm(
  alarm: AlarmDefinition,
  rule: Pick<AlarmRule, 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm'>,
  now: number,
): AlarmVerdict {
  const periodMs = rule.periodSeconds * 1000;
  const current = periodStart(now, rule.periodSeconds);
  const periods: PeriodFigures[] = [];
  for (let i = rule.evaluationPeriods - 1; i >= 0; i -= 1)
    periods.push(periodFigures(alarm, periodMs, current - i * periodMs, i === 0));
  const breaching = periods.filter((p) => p.breaching).length;
  if (breaching >= rule.datapointsToAlarm)
    return {
      state: 'ALARM',
      periods,
      reason: `${breaching} of the last ${rule.evaluationPeriods} periods ${alarm.breachingMeans}`,
    };
  return {
    state: 'OK',
    periods,
    reason: `${breaching} of ${rule.evaluationPeriods} periods breaching, ${rule.datapointsToAlarm} needed`,
  };
}

/**
 * The client-error alarm over the local store: the judge's verdict, Maximum over 10-second periods, as the stack
 * defines it.
 */
export function clientErrorAlarm(store: LocalMetricStore, namespace: string): AlarmDefinition {
  return {
    inputs: (start, end) => ({
      failing_raw: store.maximum(namespace, METRIC_CANARY_FAILING, { [DIMENSION_SIGNAL]: SIGNAL_ENTRY }, start, end),
    }),
    expressions: [{ id: 'failing', expression: 'FILL(failing_raw, 0)', label: 'The judge found the canary failing' }],
    resultId: 'failing',
    // GreaterThanOrEqualToThreshold 1, as "greater than" on a 0/1 verdict.
    threshold: 0.5,
    missingBreaches: false,
    breachingMeans: 'with the judge finding the canary failing',
  };
}

/**
 * The canary's and the stable build's share of erroring viewers per period, by the old alarm's
 * metric math (releaseAlarmQueries): what the dashboard draws beside the judge, who decides on
 * the evidence summed over the release instead.
 */
export function periodShares(store: LocalMetricStore, namespace: string, rule: AlarmRule): AlarmDefinition {
  const queries = releaseAlarmQueries(rule);
  return {
    inputs: (start, end) =>
      Object.fromEntries(
        queries.metrics.map((q) => [
          q.id,
          store.sum(namespace, q.metric.metricName, { [DIMENSION_ROLE]: q.metric.role }, start, end),
        ]),
      ),
    expressions: queries.expressions,
    resultId: queries.resultId,
    threshold: queries.threshold,
    missingBreaches: false,
    breachingMeans: `with the canary's error share more than ${rule.excessErrorPercent} points above stable`,
  };
}

/** The client-error alarm's M of N: one 10-second period (stacks/constructs/rollout-alarms.ts). */
export const CLIENT_ERROR_ALARM_RULE = {
  periodSeconds: VERDICT_PERIOD_SECONDS,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
} as const;

/** The unjudged alarm over the local store: `names` are the consumer's function and the stream (resourceNames). */
export function unjudgedAlarm(
  store: LocalMetricStore,
  namespace: string,
  latenessSeconds: number,
  names: { readonly consumerFunction: string; readonly stream: string },
): AlarmDefinition {
  const queries = unjudgedAlarmQueries({ latenessSeconds }, names);
  const statistic = (q: HealthMetricQuery, start: number, end: number) => {
    const ns = q.namespace === 'signal' ? namespace : q.namespace;
    return q.stat === 'Sum'
      ? store.sum(ns, q.metricName, q.dimensions, start, end)
      : store.maximum(ns, q.metricName, q.dimensions, start, end);
  };
  return {
    inputs: (start, end) => Object.fromEntries(queries.metrics.map((q) => [q.id, statistic(q, start, end)])),
    expressions: queries.expressions,
    resultId: queries.resultId,
    threshold: queries.threshold,
    missingBreaches: true,
    breachingMeans:
      'the signal could not judge (unjudged periods, late records, consumer errors, the reader behind, records ' +
      'the full shard refused, or nothing read at all)',
  };
}

export function evaluateReleaseAlarm(store: LocalMetricStore, namespace: string, now: number): AlarmVerdict {
  return evaluateAlarm(clientErrorAlarm(store, namespace), CLIENT_ERROR_ALARM_RULE, now);
}

/**
 * The client error alarm, locally: the stack's own metric queries (contracts/release-signal.ts),
 * evaluated period by period with contracts/metric-math.ts over the metrics the local metrics API
 * emitted, and CloudWatch's M-of-N rule on top:
 *
 *   ALARM  when at least datapointsToAlarm of the last evaluationPeriods periods have a result
 *          above the threshold (missing data is not breaching, as the stack configures)
 *
 * Pure but for the store it reads. Periods are aligned to multiples of the period from the epoch
 * of the clock that stamped the points, as CloudWatch aligns them; the one still running counts,
 * so a burst of errors is seen within one evaluation and not a period later.
 */
import type { AlarmsConfig } from '../config';
import { evaluateQueries } from '../contracts/metric-math';
import { DIMENSION_ROLE, periodStart, releaseAlarmQueries, type ReleaseAlarmQueries } from '../contracts/release-signal';
import type { LocalMetricStore } from './metric-store';

export type AlarmState = 'OK' | 'ALARM';

export interface PeriodFigures {
  /** Start of the period, ms. */
  readonly start: number;
  /** Every query's value in the period (the metrics' sums, the expressions' results). */
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

export type AlarmRule = Pick<AlarmsConfig, 'excessErrorPercent' | 'minViewers' | 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm'>;

/** Every query of the alarm for the period starting at `start`. */
export function periodFigures(store: LocalMetricStore, namespace: string, queries: ReleaseAlarmQueries, periodMs: number, start: number): PeriodFigures {
  const inputs = Object.fromEntries(queries.metrics.map((q) => [q.id, store.sum(namespace, q.metric.metricName, { [DIMENSION_ROLE]: q.metric.role }, start, start + periodMs)]));
  const values = evaluateQueries(queries.expressions, inputs);
  const result = values[queries.resultId] ?? null;
  return { start, values, result, breaching: result !== null && result > queries.threshold };
}

export function evaluateReleaseAlarm(store: LocalMetricStore, namespace: string, rule: AlarmRule, now: number): AlarmVerdict {
  const queries = releaseAlarmQueries(rule);
  const periodMs = rule.periodSeconds * 1000;
  const current = periodStart(now, rule.periodSeconds);
  const periods: PeriodFigures[] = [];
  for (let i = rule.evaluationPeriods - 1; i >= 0; i -= 1) periods.push(periodFigures(store, namespace, queries, periodMs, current - i * periodMs));
  const breaching = periods.filter((p) => p.breaching).length;
  if (breaching >= rule.datapointsToAlarm) {
    return { state: 'ALARM', periods, reason: `${breaching} of the last ${rule.evaluationPeriods} periods with the canary's error share more than ${rule.excessErrorPercent} points above stable` };
  }
  return { state: 'OK', periods, reason: `${breaching} of ${rule.evaluationPeriods} periods breaching, ${rule.datapointsToAlarm} needed` };
}

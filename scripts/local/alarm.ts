/**
 * The client error alarm, locally: the same rule the stacks give CloudWatch
 * (stacks/constructs/rollout-alarms.ts), evaluated over the metrics the local metrics API keeps.
 *
 *   rate(period) = loads >= minLoads ? 100 * errors / loads : 0
 *   ALARM        when at least datapointsToAlarm of the last evaluationPeriods periods have
 *                rate > errorRatePercent
 *
 * Pure: points and a time in, a verdict out. Periods are aligned to multiples of the period from
 * the epoch of the clock that stamped the points, as CloudWatch aligns them; the one still running
 * counts, so a burst of errors is seen within one evaluation and not a period later.
 */
import type { AlarmsConfig } from '../../config';
import { METRIC_ERRORS, METRIC_LOADS } from '../../regional-function/shared/metric-names';

export interface MetricSample {
  /** When it was published, on the local mode's (simulated) clock, in ms. */
  readonly at: number;
  readonly metricName: typeof METRIC_LOADS | typeof METRIC_ERRORS;
  readonly buildId: string;
  readonly value: number;
}

export type AlarmState = 'OK' | 'ALARM';

export interface PeriodFigures {
  /** Start of the period, ms. */
  readonly start: number;
  readonly loads: number;
  readonly errors: number;
  /** The alarm's metric: 0 below the minimum sample. */
  readonly rate: number;
  readonly breaching: boolean;
}

export interface AlarmVerdict {
  readonly state: AlarmState;
  /** Oldest first. */
  readonly periods: readonly PeriodFigures[];
  readonly reason: string;
}

export type AlarmRule = Pick<AlarmsConfig, 'errorRatePercent' | 'minLoads' | 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm'>;

/** The alarm for one build (the canary being rolled out), at time `now`. */
export function evaluateErrorAlarm(samples: readonly MetricSample[], buildId: string, rule: AlarmRule, now: number): AlarmVerdict {
  const periodMs = rule.periodSeconds * 1000;
  const current = Math.floor(now / periodMs) * periodMs;
  const periods: PeriodFigures[] = [];
  for (let i = rule.evaluationPeriods - 1; i >= 0; i -= 1) {
    const start = current - i * periodMs;
    let loads = 0;
    let errors = 0;
    for (const sample of samples) {
      if (sample.buildId !== buildId || sample.at < start || sample.at >= start + periodMs) continue;
      if (sample.metricName === METRIC_LOADS) loads += sample.value;
      else errors += sample.value;
    }
    const rate = loads >= rule.minLoads && loads > 0 ? (100 * errors) / loads : 0;
    periods.push({ start, loads, errors, rate, breaching: rate > rule.errorRatePercent });
  }
  const breaching = periods.filter((p) => p.breaching).length;
  if (breaching >= rule.datapointsToAlarm) {
    return { state: 'ALARM', periods, reason: `${breaching} of the last ${rule.evaluationPeriods} periods above ${rule.errorRatePercent}% client errors (build ${buildId})` };
  }
  // The stack's expression FILLs missing data with 0, so an alarm with no traffic is OK, not missing.
  return { state: 'OK', periods, reason: `${breaching} of ${rule.evaluationPeriods} periods above ${rule.errorRatePercent}%, ${rule.datapointsToAlarm} needed` };
}

/**
 * Logs and metrics of the regional functions, through Powertools for AWS Lambda: JSON log lines
 * (Logger), and metrics as CloudWatch embedded metric format (Metrics): a log line CloudWatch
 * turns into datapoints, so no function makes a PutMetricData call, and none needs a permission
 * for it. What each metric is, and the dimensions it has, is contracts/release-signal.ts's.
 *
 * Powertools adds a `service` dimension to every metric by default; these metrics have exactly
 * the dimensions the alarm and the dashboard query (Role), so it is cleared.
 */
import type { GenericLogger } from '@aws-lambda-powertools/commons/types';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricResolution, Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  DIMENSION_REGION,
  DIMENSION_ROLE,
  DIMENSION_SIGNAL,
  METRIC_CANARY_FAILING,
  METRIC_ERRORING_VIEWERS,
  METRIC_MISSING_BUILDS,
  METRIC_ROLLOUT_WEIGHT,
  METRIC_UNJUDGED_PERIODS,
  METRIC_VIEWERS,
  ROLES,
  SIGNAL_ENTRY,
  type Role,
} from '../../contracts/release-signal';

export function functionLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/**
 * `logger` takes Powertools' own warnings (a timestamp CloudWatch would refuse, say); the local mode, whose clock runs
 * fast, passes a quiet one.
 */
export function functionMetrics(namespace: string, serviceName: string, logger?: GenericLogger): Metrics {
  const metrics = new Metrics({ namespace, serviceName, ...(logger ? { logger } : {}) });
  metrics.clearDefaultDimensions();
  return metrics;
}

/**
 * One closed period of the signal consumer, as EMF documents (one per dimension set), timestamped
 * at the period's start so CloudWatch files them in that period: when judged, the distinct viewers
 * and erroring viewers of the two judged roles, and the ring's viewers for the dashboard (nothing
 * judges ring viewers, so their errors stay in the log: a custom metric is billed every month it
 * exists); when not, UnjudgedPeriods = 1 and no counts.
 */
export function periodDocuments(
  metrics: Metrics,
  period: {
    readonly start: number;
    readonly unjudged: string | null;
    readonly counts: Readonly<Record<Role, { readonly viewers: number; readonly erroring: number }>>;
  },
): unknown[] {
  if (period.unjudged !== null) return [unjudgedDocument(metrics, period.start, period.unjudged)];
  const roleDocument = (role: Role, withErrors: boolean) => {
    metrics.setTimestamp(period.start);
    metrics.addDimension(DIMENSION_ROLE, role);
    metrics.addMetric(METRIC_VIEWERS, MetricUnit.Count, period.counts[role].viewers);
    if (withErrors) metrics.addMetric(METRIC_ERRORING_VIEWERS, MetricUnit.Count, period.counts[role].erroring);
    return takeMetrics(metrics);
  };
  return [
    ...ROLES.map((role) => roleDocument(role, true)),
    roleDocument('ring', false),
    roleDocument('preview', false),
  ];
}

/**
 * What one batch of the consumer emits: the documents of each period it closed, and for records of
 * periods it had closed already, UnjudgedPeriods = 1 at `at` (when they arrived), so the unjudged
 * alarm sees that what was judged was not whole. The Lambda prints them; the local mode ingests them.
 */
export function batchDocuments(
  metrics: Metrics,
  closed: readonly Parameters<typeof periodDocuments>[1][],
  late: number,
  at: number,
): unknown[] {
  const documents = closed.flatMap((period) => periodDocuments(metrics, period));
  if (late > 0)
    documents.push(
      unjudgedDocument(metrics, at, `${late} records of a period already counted arrived after it closed`),
    );
  return documents;
}

function unjudgedDocument(metrics: Metrics, at: number, reason: string): unknown {
  metrics.setTimestamp(at);
  metrics.addDimension(DIMENSION_SIGNAL, SIGNAL_ENTRY);
  metrics.addMetric(METRIC_UNJUDGED_PERIODS, MetricUnit.Count, 1);
  metrics.addMetadata('reason', reason);
  return takeMetrics(metrics);
}

/**
 * The judge's verdict at one look (contracts/release-signal.ts METRIC_CANARY_FAILING), high resolution: the
 * client-error alarm reads it in 10-second periods.
 */
export function verdictDocument(metrics: Metrics, failing: boolean, at: number): unknown {
  metrics.setTimestamp(at);
  metrics.addDimension(DIMENSION_SIGNAL, SIGNAL_ENTRY);
  metrics.addMetric(METRIC_CANARY_FAILING, MetricUnit.Count, failing ? 1 : 0, MetricResolution.High);
  return takeMetrics(metrics);
}

/** The canary's weight, dimension Role=canary: a metric with no dimension set is one EMF readers treat differently. */
export function addRolloutWeight(metrics: Metrics, weight: number, at: number): void {
  metrics.setTimestamp(at);
  metrics.addDimension(DIMENSION_ROLE, 'canary');
  metrics.addMetric(METRIC_ROLLOUT_WEIGHT, MetricUnit.NoUnit, weight);
}

/** How many of the builds viewers are assigned a region's bucket lacks (0 when it holds them all). */
export function addMissingBuilds(metrics: Metrics, region: string, count: number, at: number): void {
  metrics.setTimestamp(at);
  metrics.addDimension(DIMENSION_REGION, region);
  metrics.addMetric(METRIC_MISSING_BUILDS, MetricUnit.Count, count);
}

/** The EMF document for what was added, and a clean instance for the next one (the local mode's publish). */
export function takeMetrics(metrics: Metrics): ReturnType<Metrics['serializeMetrics']> {
  const document = metrics.serializeMetrics();
  metrics.clearMetrics();
  metrics.clearDimensions();
  metrics.clearMetadata();
  return document;
}

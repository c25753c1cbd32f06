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
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  DIMENSION_REGION,
  DIMENSION_ROLE,
  DIMENSION_SIGNAL,
  METRIC_ERRORING_VIEWERS,
  METRIC_LATE_RECORDS,
  METRIC_MISSING_BUILDS,
  METRIC_ROLLOUT_WEIGHT,
  METRIC_UNJUDGED_PERIODS,
  METRIC_VIEWERS,
  SIGNAL_ENTRY,
  type Role,
} from '../../contracts/release-signal';

export function functionLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/** `logger` takes Powertools' own warnings (a timestamp CloudWatch would refuse, say); the local mode, whose clock runs fast, passes a quiet one. */
export function functionMetrics(namespace: string, serviceName: string, logger?: GenericLogger): Metrics {
  const metrics = new Metrics({ namespace, serviceName, ...(logger ? { logger } : {}) });
  metrics.clearDefaultDimensions();
  return metrics;
}

/** What a counted beacon adds; false when it added nothing (a repeat within the period). */
export function addCountedViewer(metrics: Metrics, counted: { readonly role: Role; readonly buildId: string; readonly newViewer: boolean; readonly newErroring: boolean }, at: number): boolean {
  if (!counted.newViewer && !counted.newErroring) return false;
  metrics.setTimestamp(at);
  metrics.addDimension(DIMENSION_ROLE, counted.role);
  if (counted.newViewer) metrics.addMetric(METRIC_VIEWERS, MetricUnit.Count, 1);
  if (counted.newErroring) metrics.addMetric(METRIC_ERRORING_VIEWERS, MetricUnit.Count, 1);
  // Not a dimension (that would make metrics per build again), but searchable in the log line.
  metrics.addMetadata('buildId', counted.buildId);
  return true;
}

/**
 * One closed period of the signal consumer, as EMF documents (one per dimension set): a judged
 * period's distinct viewers and erroring viewers per role, timestamped at the period's start so
 * CloudWatch files them in that period; an unjudged one as UnjudgedPeriods = 1 and no counts.
 */
export function periodDocuments(metrics: Metrics, period: { readonly start: number; readonly unjudged: string | null; readonly counts: Readonly<Record<Role, { readonly viewers: number; readonly erroring: number }>> }): unknown[] {
  const documents: unknown[] = [];
  metrics.setTimestamp(period.start);
  if (period.unjudged !== null) {
    metrics.addDimension(DIMENSION_SIGNAL, SIGNAL_ENTRY);
    metrics.addMetric(METRIC_UNJUDGED_PERIODS, MetricUnit.Count, 1);
    metrics.addMetadata('reason', period.unjudged);
    return [takeMetrics(metrics)];
  }
  for (const [role, counts] of Object.entries(period.counts)) {
    metrics.setTimestamp(period.start);
    metrics.addDimension(DIMENSION_ROLE, role);
    metrics.addMetric(METRIC_VIEWERS, MetricUnit.Count, counts.viewers);
    metrics.addMetric(METRIC_ERRORING_VIEWERS, MetricUnit.Count, counts.erroring);
    documents.push(takeMetrics(metrics));
  }
  return documents;
}

/** Records that reached the consumer after their period had closed, at the time they did. */
export function lateRecordsDocument(metrics: Metrics, late: number, at: number): unknown {
  metrics.setTimestamp(at);
  metrics.addDimension(DIMENSION_SIGNAL, SIGNAL_ENTRY);
  metrics.addMetric(METRIC_LATE_RECORDS, MetricUnit.Count, late);
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

/**
 * CloudWatch's metrics, locally: it takes the embedded-metric-format documents the regional
 * functions' code emits (Powertools' serialization, regional-function/shared/observability.ts)
 * and keeps their datapoints, as CloudWatch Logs does when it reads such a line, and the datapoints
 * AWS's own services would publish (the stream's iterator age, the consumer's errors, edge
 * function errors); the alarms and the dashboard page read sums and maxima per period from here.
 */

export interface Datapoint {
  readonly namespace: string;
  readonly metricName: string;
  /** The dimension set the datapoint was emitted with, names sorted. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  /** ms */
  readonly at: number;
}

interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/** The datapoints CloudWatch extracts from one EMF document (one per metric and dimension set). */
export function datapointsOf(document: unknown): Datapoint[] {
  const emf = document as EmfDocument;
  const directives = emf?._aws?.CloudWatchMetrics;
  if (!Array.isArray(directives) || typeof emf._aws.Timestamp !== 'number')
    throw new Error('not an embedded metric format document (no _aws.CloudWatchMetrics)');
  const points: Datapoint[] = [];
  for (const directive of directives) {
    const dimensionSets = directive.Dimensions.length > 0 ? directive.Dimensions : [[]];
    for (const metric of directive.Metrics) {
      const value = emf[metric.Name];
      if (typeof value !== 'number') continue;
      for (const set of dimensionSets) {
        const dimensions = Object.fromEntries([...set].sort().map((name) => [name, String(emf[name])]));
        points.push({
          namespace: directive.Namespace,
          metricName: metric.Name,
          dimensions,
          value,
          at: emf._aws.Timestamp,
        });
      }
    }
  }
  return points;
}

/** One series: a metric with exactly one dimension set. */
function seriesKey(namespace: string, metricName: string, dimensions: Readonly<Record<string, string>>): string {
  return JSON.stringify([
    namespace,
    metricName,
    Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
}

export class LocalMetricStore {
  /** Datapoints by series, each in the order they came. */
  private series = new Map<string, Datapoint[]>();
  private count = 0;

  ingest(document: unknown): void {
    for (const point of datapointsOf(document)) this.add(point);
  }

  add(point: Datapoint): void {
    const key = seriesKey(point.namespace, point.metricName, point.dimensions);
    const points = this.series.get(key);
    if (points) points.push(point);
    else this.series.set(key, [point]);
    this.count += 1;
  }

  /** Datapoints of one metric with exactly these dimensions in [start, end). */
  select(
    namespace: string,
    metricName: string,
    dimensions: Readonly<Record<string, string>>,
    start: number,
    end: number,
  ): number[] {
    return (this.series.get(seriesKey(namespace, metricName, dimensions)) ?? [])
      .filter((p) => p.at >= start && p.at < end)
      .map((p) => p.value);
  }

  /** Sum over the range; null when there is no datapoint (CloudWatch's missing data). */
  sum(
    namespace: string,
    metricName: string,
    dimensions: Readonly<Record<string, string>>,
    start: number,
    end: number,
  ): number | null {
    const values = this.select(namespace, metricName, dimensions, start, end);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
  }

  maximum(
    namespace: string,
    metricName: string,
    dimensions: Readonly<Record<string, string>>,
    start: number,
    end: number,
  ): number | null {
    const values = this.select(namespace, metricName, dimensions, start, end);
    return values.length === 0 ? null : values.reduce((a, b) => Math.max(a, b), -Infinity);
  }

  /** Drops datapoints older than `before` (ms). */
  prune(before: number): void {
    this.count = 0;
    for (const [key, points] of this.series) {
      const kept = points.filter((p) => p.at >= before);
      if (kept.length === 0) this.series.delete(key);
      else this.series.set(key, kept);
      this.count += kept.length;
    }
  }

  get size(): number {
    return this.count;
  }
}

/**
 * A CloudWatch dashboard per distribution, for watching a release: the panels of
 * contracts/release-dashboard.ts drawn from the client-error alarm's own queries, the weight
 * rollout sync emits, the edge functions' errors, the entry loads that took the fallback path; then
 * the release signal's own health, from the unjudged alarm's metrics (periods the consumer could
 * not judge, records that came late, the consumer's errors, records the full shard refused, how
 * far behind it reads the stream); and the alarms' states. The local mode's page draws the
 * contract's panels and its own health panel from the same alarm's figures.
 */
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { releasePanels, type Panel, type PanelSeries } from '../../contracts/release-dashboard';
import {
  DIMENSION_ROLE,
  DIMENSION_SIGNAL,
  METRIC_CANARY_FAILING,
  METRIC_ROLLOUT_WEIGHT,
  SIGNAL_ENTRY,
  type ReleaseAlarmQueries,
  type UnjudgedAlarmQueries,
} from '../../contracts/release-signal';
import { METRIC_ASSIGNMENT_FALLBACKS } from './rollout-alarms';
import { healthNamespace } from './signal-unjudged-alarm';

export interface ReleaseDashboardProps {
  readonly dashboardName: string;
  readonly namespace: string;
  readonly queries: ReleaseAlarmQueries;
  /** The unjudged alarm's queries (contracts/release-signal.ts unjudgedAlarmQueries): the signal's health. */
  readonly signalQueries: UnjudgedAlarmQueries;
  /** config metrics.latenessSeconds: how far behind the consumer may read before a period is unjudged. */
  readonly latenessSeconds: number;
  readonly periodSeconds: number;
  readonly alarmArns: readonly string[];
  readonly distributionId: string;
  /** The viewer-assignment CloudFront Function's name. */
  readonly viewerAssignmentName: string;
  readonly provider: AwsProvider;
}

export class ReleaseDashboard extends Construct {
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: ReleaseDashboardProps) {
    super(scope, id);
    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      provider: props.provider,
      dashboardName: props.dashboardName,
      dashboardBody: JSON.stringify(releaseDashboardBody(props)),
    });
  }

  get dashboardName(): string {
    return this.dashboard.dashboardName;
  }
}

type MetricRow = (string | Record<string, unknown>)[];

/** The panels only the AWS dashboard draws: the release signal's health, by the unjudged alarm's metrics. */
export interface SignalHealthPanel {
  readonly title: string;
  /** Ids of the unjudged alarm's metric queries drawn, each with its label. */
  readonly metrics: readonly { readonly id: string; readonly label: string }[];
  readonly threshold?: { readonly label: string; readonly value: number };
}

export function signalHealthPanels(latenessSeconds: number): SignalHealthPanel[] {
  return [
    {
      title:
        'Release signal: periods not judged or records late, consumer errors, records the full shard refused ' +
        '(any holds the canary)',
      metrics: [
        { id: 'unjudged_raw', label: 'periods the consumer did not see whole, and late records' },
        { id: 'failures_raw', label: 'consumer errors' },
        { id: 'throttled_raw', label: 'log records the full shard refused' },
      ],
    },
    {
      title: 'Release signal: how far behind the consumer reads the stream (ms)',
      metrics: [{ id: 'age', label: 'iterator age, maximum' }],
      threshold: { label: 'unjudged above (the lateness)', value: latenessSeconds * 1000 },
    },
  ];
}

type DashboardInput = Omit<ReleaseDashboardProps, 'provider' | 'dashboardName'>;

/** The dashboard's JSON (CloudWatch dashboard body structure), pure. */
export function releaseDashboardBody(props: DashboardInput): { widgets: Record<string, unknown>[] } {
  const panels = releasePanels(props.queries);
  const widget = (
    index: number,
    title: string,
    metrics: MetricRow[],
    threshold?: { label: string; value: number },
  ) => ({
    type: 'metric',
    x: (index % 2) * 12,
    y: Math.floor(index / 2) * 6,
    width: 12,
    height: 6,
    properties: {
      title,
      region: 'us-east-1',
      view: 'timeSeries',
      stacked: false,
      period: props.periodSeconds,
      metrics,
      ...(threshold ? { annotations: { horizontal: [{ label: threshold.label, value: threshold.value }] } } : {}),
      yAxis: { left: { min: 0 } },
    },
  });
  const widgets: Record<string, unknown>[] = panels.map((panel, index) =>
    widget(index, panel.title, panelRows(panel, props), panel.threshold),
  );
  const health = signalHealthPanels(props.latenessSeconds);
  for (const [i, panel] of health.entries())
    widgets.push(widget(panels.length + i, panel.title, healthRows(panel, props), panel.threshold));
  const metricPanels = panels.length + health.length;
  widgets.push({
    type: 'alarm',
    x: 0,
    y: Math.ceil(metricPanels / 2) * 6,
    width: 24,
    height: 3,
    properties: {
      title: 'Alarms (the client-error and the unjudged alarm roll a release back)',
      alarms: [...props.alarmArns],
    },
  });
  return { widgets };
}

function healthRows(panel: SignalHealthPanel, props: DashboardInput): MetricRow[] {
  return panel.metrics.map(({ id, label }) => {
    const query = props.signalQueries.metrics.find((metric) => metric.id === id);
    if (!query) throw new Error(`the unjudged alarm has no metric ${id}`);
    return [
      healthNamespace(query, props.namespace),
      query.metricName,
      ...Object.entries(query.dimensions).flat(),
      { stat: query.stat, label },
    ];
  });
}

function panelRows(panel: Panel, props: DashboardInput): MetricRow[] {
  const needsAlarmQueries = panel.series.some((series) => series.kind === 'alarm-query');
  const shown = new Map(
    panel.series
      .filter((s): s is Extract<PanelSeries, { kind: 'alarm-query' }> => s.kind === 'alarm-query')
      .map((s) => [s.id, s.label]),
  );
  const rows: MetricRow[] = [];
  if (needsAlarmQueries) {
    // Every query of the alarm, so each expression finds what it reads; only the panel's are drawn.
    for (const query of props.queries.metrics) {
      rows.push([
        props.namespace,
        query.metric.metricName,
        DIMENSION_ROLE,
        query.metric.role,
        { id: query.id, stat: 'Sum', visible: false },
      ]);
    }
    for (const query of props.queries.expressions) {
      rows.push([
        {
          expression: query.expression,
          id: query.id,
          label: shown.get(query.id) ?? query.label,
          visible: shown.has(query.id),
        },
      ]);
    }
  }
  for (const series of panel.series) {
    if (series.kind === 'metric')
      rows.push([
        props.namespace,
        series.metricName,
        DIMENSION_ROLE,
        series.role,
        { stat: 'Sum', label: series.label },
      ]);
    if (series.kind === 'weight')
      rows.push([
        props.namespace,
        METRIC_ROLLOUT_WEIGHT,
        DIMENSION_ROLE,
        'canary',
        { stat: 'Maximum', label: series.label },
      ]);
    if (series.kind === 'verdict')
      rows.push([
        props.namespace,
        METRIC_CANARY_FAILING,
        DIMENSION_SIGNAL,
        SIGNAL_ENTRY,
        { stat: 'Maximum', label: series.label },
      ]);
    if (series.kind === 'edge-errors') {
      rows.push([
        'AWS/CloudFront',
        'LambdaExecutionError',
        'DistributionId',
        props.distributionId,
        'Region',
        'Global',
        { stat: 'Sum', label: 'Lambda@Edge execution errors' },
      ]);
      rows.push([
        'AWS/CloudFront',
        'LambdaValidationError',
        'DistributionId',
        props.distributionId,
        'Region',
        'Global',
        { stat: 'Sum', label: 'Lambda@Edge validation errors' },
      ]);
      rows.push([
        'AWS/CloudFront',
        'FunctionExecutionErrors',
        'FunctionName',
        props.viewerAssignmentName,
        'Region',
        'Global',
        { stat: 'Sum', label: 'viewer-assignment function errors' },
      ]);
    }
    if (series.kind === 'assignment-fallbacks')
      rows.push([props.namespace, METRIC_ASSIGNMENT_FALLBACKS, { stat: 'Sum', label: series.label }]);
  }
  return rows;
}

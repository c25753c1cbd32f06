/**
 * A CloudWatch dashboard per distribution, for watching a release: the panels of
 * contracts/release-dashboard.ts drawn from the client-error alarm's own queries, the weight
 * rollout sync emits, the edge functions' errors, the entry loads that took the fallback path, and
 * the alarms' states.
 */
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { releasePanels, type Panel, type PanelSeries } from '../../contracts/release-dashboard';
import { DIMENSION_ROLE, METRIC_ROLLOUT_WEIGHT, type ReleaseAlarmQueries } from '../../contracts/release-signal';
import { METRIC_ASSIGNMENT_FALLBACKS } from './rollout-alarms';

export interface ReleaseDashboardProps {
  readonly dashboardName: string;
  readonly namespace: string;
  readonly queries: ReleaseAlarmQueries;
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

/** The dashboard's JSON (CloudWatch dashboard body structure), pure. */
export function releaseDashboardBody(props: Omit<ReleaseDashboardProps, 'provider' | 'dashboardName'>): { widgets: Record<string, unknown>[] } {
  const panels = releasePanels(props.queries);
  const widgets: Record<string, unknown>[] = panels.map((panel, index) => ({
    type: 'metric',
    x: (index % 2) * 12,
    y: Math.floor(index / 2) * 6,
    width: 12,
    height: 6,
    properties: {
      title: panel.title,
      region: 'us-east-1',
      view: 'timeSeries',
      stacked: false,
      period: props.periodSeconds,
      metrics: panelRows(panel, props),
      ...(panel.threshold ? { annotations: { horizontal: [{ label: panel.threshold.label, value: panel.threshold.value }] } } : {}),
      yAxis: { left: { min: 0 } },
    },
  }));
  widgets.push({
    type: 'alarm',
    x: 0,
    y: Math.ceil(panels.length / 2) * 6,
    width: 24,
    height: 3,
    properties: { title: 'Alarms (only the client-error alarm rolls a release back)', alarms: [...props.alarmArns] },
  });
  return { widgets };
}

function panelRows(panel: Panel, props: Omit<ReleaseDashboardProps, 'provider' | 'dashboardName'>): MetricRow[] {
  const needsAlarmQueries = panel.series.some((series) => series.kind === 'alarm-query');
  const shown = new Map(panel.series.filter((s): s is Extract<PanelSeries, { kind: 'alarm-query' }> => s.kind === 'alarm-query').map((s) => [s.id, s.label]));
  const rows: MetricRow[] = [];
  if (needsAlarmQueries) {
    // Every query of the alarm, so each expression finds what it reads; only the panel's are drawn.
    for (const query of props.queries.metrics) {
      rows.push([props.namespace, query.metric.metricName, DIMENSION_ROLE, query.metric.role, { id: query.id, stat: 'Sum', visible: false }]);
    }
    for (const query of props.queries.expressions) {
      rows.push([{ expression: query.expression, id: query.id, label: shown.get(query.id) ?? query.label, visible: shown.has(query.id) }]);
    }
  }
  for (const series of panel.series) {
    if (series.kind === 'metric') rows.push([props.namespace, series.metricName, DIMENSION_ROLE, series.role, { stat: 'Sum', label: series.label }]);
    if (series.kind === 'weight') rows.push([props.namespace, METRIC_ROLLOUT_WEIGHT, DIMENSION_ROLE, 'canary', { stat: 'Maximum', label: series.label }]);
    if (series.kind === 'edge-errors') {
      rows.push(['AWS/CloudFront', 'LambdaExecutionError', 'DistributionId', props.distributionId, 'Region', 'Global', { stat: 'Sum', label: 'Lambda@Edge execution errors' }]);
      rows.push(['AWS/CloudFront', 'LambdaValidationError', 'DistributionId', props.distributionId, 'Region', 'Global', { stat: 'Sum', label: 'Lambda@Edge validation errors' }]);
      rows.push(['AWS/CloudFront', 'FunctionExecutionErrors', 'FunctionName', props.viewerAssignmentName, 'Region', 'Global', { stat: 'Sum', label: 'viewer-assignment function errors' }]);
    }
    if (series.kind === 'assignment-fallbacks') rows.push([props.namespace, METRIC_ASSIGNMENT_FALLBACKS, { stat: 'Sum', label: series.label }]);
  }
  return rows;
}

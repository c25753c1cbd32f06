/**
 * What a person looks at during a release, as panels: the CloudWatch dashboard the delivery stack
 * creates (stacks/constructs/release-dashboard.ts) and the local mode's page draw the same panels:
 * the per-period shares (releaseAlarmQueries, contracts/release-signal.ts), the weight, and the
 * judge's verdict. The ranges the judge weighs and why the weight holds are in the judge's record
 * (`rollout status`, the local page's judge line): CloudWatch draws no such ranges.
 */
import { METRIC_VIEWERS, type ReleaseAlarmQueries, type Role, type SignalMetric } from './release-signal';

export type PanelSeries =
  /** A query of the release alarm, by id. */
  | { readonly kind: 'alarm-query'; readonly id: string; readonly label: string }
  /** One signal metric of one role, summed per period. */
  | { readonly kind: 'metric'; readonly metricName: SignalMetric; readonly role: Role; readonly label: string }
  /** Rollout sync's weight metric (basis points). */
  | { readonly kind: 'weight'; readonly label: string }
  /** The judge's verdict (CanaryFailing, Maximum per period): 1 once it found the canary failing. */
  | { readonly kind: 'verdict'; readonly label: string }
  /** Errors of the edge functions (CloudFront's per-distribution Lambda@Edge and function metrics). */
  | { readonly kind: 'edge-errors'; readonly label: string }
  /**
   * Entry loads the viewer-assignment function passed to the entry router because it could not
   * read or parse the rollout state (counted from the function's log line in AWS).
   */
  | { readonly kind: 'assignment-fallbacks'; readonly label: string };

export interface Panel {
  readonly title: string;
  readonly series: readonly PanelSeries[];
  /** A horizontal line: the alarm's threshold. */
  readonly threshold?: { readonly label: string; readonly value: number };
}

export function releasePanels(queries: ReleaseAlarmQueries): Panel[] {
  return [
    {
      title: 'Share of viewers reporting an error, per period (%)',
      series: [
        { kind: 'alarm-query', id: 'canary_rate', label: 'canary' },
        { kind: 'alarm-query', id: 'stable_rate', label: 'stable' },
        { kind: 'alarm-query', id: queries.resultId, label: 'canary above stable (points)' },
      ],
      // The judge decides on the release's evidence summed (with ranges: `rollout status`); the line is the excess a
      // step must rule out.
      threshold: { label: 'the excess a step must rule out', value: queries.threshold },
    },
    {
      title: 'Distinct viewers per period',
      series: [
        { kind: 'alarm-query', id: 'canary_viewers', label: 'canary' },
        { kind: 'alarm-query', id: 'stable_viewers', label: 'stable' },
        { kind: 'alarm-query', id: 'canary_erroring', label: 'canary, with an error' },
        { kind: 'alarm-query', id: 'stable_erroring', label: 'stable, with an error' },
        { kind: 'metric', metricName: METRIC_VIEWERS, role: 'ring', label: 'ring hosts (not judged)' },
        { kind: 'metric', metricName: METRIC_VIEWERS, role: 'preview', label: 'previews (not judged)' },
      ],
    },
    { title: 'Canary weight (basis points)', series: [{ kind: 'weight', label: 'weight' }] },
    {
      title: "The judge's verdict (1: the canary is failing, rolled back)",
      series: [{ kind: 'verdict', label: 'failing' }],
    },
    {
      title: 'Edge function errors, and entry loads through the fallback',
      series: [
        { kind: 'edge-errors', label: 'errors' },
        { kind: 'assignment-fallbacks', label: 'entry loads through the fallback (state unreadable at the edge)' },
      ],
    },
  ];
}

/** The CloudWatch console's page of a dashboard in us-east-1 (where the delivery stack puts it). */
export function dashboardUrl(name: string): string {
  return `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/${encodeURIComponent(name)}`;
}

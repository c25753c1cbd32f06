/**
 * The release dashboard, locally: the panels of contracts/release-dashboard.ts (the ones the
 * delivery stack puts on its CloudWatch dashboard), computed from the local metric store with the
 * alarm's own queries, plus the signal's health (the unjudged alarm's queries: periods the consumer
 * did not see whole, late records, consumer errors, the reader behind), on a page of its own with a
 * chart per panel, beside the last notifications, the revoked builds and the previews in force.
 * `/data.json` is what the page draws; the page polls it every second.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { releasePanels, type Panel } from '../contracts/release-dashboard';
import {
  DIMENSION_ROLE,
  DIMENSION_SIGNAL,
  METRIC_CANARY_FAILING,
  METRIC_ROLLOUT_WEIGHT,
  periodStart,
  releaseAlarmQueries,
  SIGNAL_ENTRY,
} from '../contracts/release-signal';
import { livePreviews, parseRolloutState } from '../contracts/rollout-state';
import { periodFigures, periodShares, type AlarmVerdict } from './alarm';
import { DASHBOARD_PERIODS, EDGE_ERROR_METRIC, EDGE_ERROR_NAMESPACE, type ControlPlane } from './control-plane';
import { timeLeft } from './status-line';

export interface DashboardSeries {
  readonly label: string;
  /** [period start (ms), value or null], oldest first. */
  readonly points: readonly (readonly [number, number | null])[];
}

export interface DashboardData {
  readonly now: number;
  readonly periodSeconds: number;
  readonly panels: readonly {
    readonly title: string;
    readonly series: readonly DashboardSeries[];
    readonly threshold?: Panel['threshold'];
  }[];
  readonly alarms: readonly { readonly name: string; readonly state: string; readonly reason: string }[];
  readonly rollout: {
    readonly stable: string;
    readonly canary: string | null;
    readonly weight: number;
    readonly deployment: string | null;
  };
  /**
   * The judge at its last look on the running (or last) release: the verdict, why, both shares with their ranges, and
   * why the weight holds.
   */
  readonly judge: {
    readonly verdict: string;
    readonly reason: string;
    readonly canary: {
      readonly share: number;
      readonly lower: number;
      readonly upper: number;
      readonly viewers: number;
    };
    readonly stable: {
      readonly share: number;
      readonly lower: number;
      readonly upper: number;
      readonly viewers: number;
    };
    readonly outcome: string | null;
    readonly hold: { readonly reason: string; readonly since: number } | null;
  } | null;
  /** The last notifications, newest first: when, and the first line of each (what the topic would carry). */
  readonly notifications: readonly { readonly at: string; readonly line: string; readonly kind: string }[];
  /** The revoked builds, oldest first: which, when (ISO 8601; null when the record is unreadable), and why. */
  readonly revocations: readonly { readonly buildId: string; readonly at: string | null; readonly reason: string }[];
  /**
   * The previews in force by the edge's clock, as stored: the build, the viewer prefix, when it
   * ends (ISO 8601), and how long is left then, in seconds and for a person (`59 min`).
   */
  readonly previews: readonly {
    readonly build: string;
    readonly viewer: string;
    readonly until: string;
    readonly secondsLeft: number;
    readonly left: string;
  }[];
}

/** The local page's own panel: the signal's health, from the unjudged alarm's queries. */
export const SIGNAL_HEALTH_PANEL = 'Release signal: reasons a period could not be judged';

/** What the page draws at `now` (the local mode's clock, which the local edge ends previews by too). */
export function dashboardData(controlPlane: ControlPlane, namespace: string, now: number): DashboardData {
  const rule = controlPlane.alarmRule;
  const queries = releaseAlarmQueries(rule);
  const periodMs = rule.periodSeconds * 1000;
  const current = periodStart(now, rule.periodSeconds);
  const starts = Array.from({ length: DASHBOARD_PERIODS }, (_, i) => current - (DASHBOARD_PERIODS - 1 - i) * periodMs);
  const { unjudged } = controlPlane.alarms;
  const shares = periodShares(controlPlane.metrics, namespace, rule);
  const figures = starts.map((start) => periodFigures(shares, periodMs, start));
  const health = starts.map((start) => periodFigures(unjudged, periodMs, start, start === current));
  const panels = releasePanels(queries).map((panel) => ({
    title: panel.title,
    threshold: panel.threshold,
    series: panel.series.map((series): DashboardSeries => {
      /** One value per period of the window, from the local CloudWatch. */
      const perPeriod = (value: (start: number, end: number) => number | null) => ({
        label: series.label,
        points: starts.map((start) => [start, value(start, start + periodMs)] as const),
      });
      const { metrics } = controlPlane;
      switch (series.kind) {
        case 'alarm-query':
          return { label: series.label, points: figures.map((f) => [f.start, f.values[series.id] ?? null] as const) };
        case 'metric':
          return perPeriod((start, end) =>
            metrics.sum(namespace, series.metricName, { [DIMENSION_ROLE]: series.role }, start, end),
          );
        case 'weight':
          return perPeriod((start, end) =>
            metrics.maximum(namespace, METRIC_ROLLOUT_WEIGHT, { [DIMENSION_ROLE]: 'canary' }, start, end),
          );
        case 'verdict':
          return perPeriod((start, end) =>
            metrics.maximum(namespace, METRIC_CANARY_FAILING, { [DIMENSION_SIGNAL]: SIGNAL_ENTRY }, start, end),
          );
        // Counted from CloudWatch Logs in AWS; the local CloudFront keeps no function logs: no line drawn.
        case 'assignment-fallbacks':
          return perPeriod(() => null);
        // 'edge-errors', the one kind left.
        default:
          return perPeriod((start, end) => metrics.sum(EDGE_ERROR_NAMESPACE, EDGE_ERROR_METRIC, {}, start, end) ?? 0);
      }
    }),
  }));
  const healthSeries = (id: string, label: string): DashboardSeries => ({
    label,
    points: health.map((f) => [f.start, f.values[id] ?? null] as const),
  });
  panels.push({
    title: SIGNAL_HEALTH_PANEL,
    threshold: undefined,
    series: [
      healthSeries('unjudged', 'unjudged periods, and late records'),
      healthSeries('failures', 'consumer errors'),
      healthSeries('behind', 'reader behind the lateness'),
      healthSeries('throttled', 'log records the full shard refused'),
      // A period with no value at all (nothing read the stream) breaches too: the alarm's result, missing.
      {
        label: 'breaching (any reason, or nothing read)',
        points: health.map((f) => [f.start, f.breaching ? 1 : 0] as const),
      },
    ],
  });
  const status = controlPlane.status();
  const state = parseRolloutState(status.state);
  const edgeErrors =
    controlPlane.metrics.sum(
      EDGE_ERROR_NAMESPACE,
      EDGE_ERROR_METRIC,
      {},
      current - (rule.evaluationPeriods - 1) * periodMs,
      current + periodMs,
    ) ?? 0;
  const alarm = (name: string, verdict: AlarmVerdict | null) => ({
    name,
    state: verdict?.state ?? 'OK',
    reason: verdict?.reason ?? 'not evaluated yet',
  });
  return {
    now,
    periodSeconds: rule.periodSeconds,
    panels,
    alarms: [
      alarm('client errors', status.alarm),
      alarm('signal unjudged', status.unjudgedAlarm),
      {
        name: 'edge function errors',
        state: edgeErrors > 0 ? 'ERRORS' : 'OK',
        reason: `${edgeErrors} in the last ${rule.evaluationPeriods} periods`,
      },
    ],
    rollout: {
      stable: status.stable.buildId,
      canary: status.canary?.buildId ?? null,
      // What viewers get: the store's weight (the judge's while a release runs), not the alias's.
      weight: state?.weight ?? 0,
      deployment: status.deployment ? `${status.deployment.id} ${status.deployment.status}` : null,
    },
    judge: status.judgment?.last
      ? {
          verdict: status.judgment.last.verdict,
          reason: status.judgment.last.reason,
          canary: status.judgment.last.canary,
          stable: status.judgment.last.stable,
          outcome: status.release?.outcome ?? null,
          hold: status.release?.hold ?? null,
        }
      : null,
    notifications: [...status.notifications]
      .reverse()
      .map((n) => ({ at: n.detail.at, line: n.message.split('\n')[0] ?? '', kind: n.detail.kind })),
    revocations: status.revocations.map(({ buildId, at, reason }) => ({
      buildId,
      at: at === null ? null : new Date(at).toISOString(),
      reason,
    })),
    previews: (state === null ? [] : livePreviews(state, now)).map(({ build, viewer, until }) => ({
      build,
      viewer,
      until: new Date(until * 1000).toISOString(),
      secondsLeft: Math.max(0, Math.ceil(until - now / 1000)),
      left: timeLeft(until, now),
    })),
  };
}

export async function startDashboardPage(options: {
  readonly data: () => DashboardData;
}): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === '/data.json')
      return void res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(options.data()));
    if (url.pathname === '/' || url.pathname === '/index.html')
      return void res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(DASHBOARD_HTML);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The page: no library, an SVG line chart per panel, redrawn from /data.json every second. */
const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Releases (local)</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; color: #16191f; background: #fafafa; }
  h1 { font-size: 18px; margin: 0 0 8px; }
  #rollout { margin-bottom: 12px; }
  #alarms span { display: inline-block; padding: 2px 8px; margin-right: 8px; border-radius: 4px; background: #e9f5e9; }
  #alarms span.bad { background: #fde7e7; }
  #judge { margin: 8px 0 12px; }
  #judge .verdict-failing { color: #d13212; font-weight: 600; }
  #judge .verdict-healthy { color: #1d8102; font-weight: 600; }
  #panels { display: grid; grid-template-columns: repeat(2, minmax(320px, 1fr)); gap: 12px; }
  .panel { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px; }
  .panel h2 { font-size: 14px; margin: 0 0 4px; }
  .legend span { margin-right: 10px; }
  svg { width: 100%; height: 180px; }
</style>
</head>
<body>
<h1>Releases</h1>
<div id="rollout">loading…</div>
<div id="alarms"></div>
<div id="judge"></div>
<h2>Notifications</h2>
<ol id="notifications"></ol>
<h2>Revoked builds</h2>
<ol id="revocations"></ol>
<h2>Previews in force</h2>
<ol id="previews"></ol>
<div id="panels"></div>
<script>
const COLORS = ['#d13212', '#1d8102', '#0073bb', '#8d6605', '#7d3c98'];
function chart(panel) {
  const w = 560, h = 180, pad = 30;
  const all = panel.series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null);
  if (panel.threshold) all.push(panel.threshold.value);
  const max = Math.max(1, ...all);
  const n = panel.series[0] ? panel.series[0].points.length : 0;
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, n - 1);
  const y = (v) => h - pad + 4 - (v * (h - 2 * pad)) / max;
  let svg = '<svg viewBox="0 0 ' + w + ' ' + h + '" data-series="' + panel.series.length + '">';
  svg += '<line x1="' + pad + '" y1="' + y(0) + '" x2="' + (w - pad) + '" y2="' + y(0) + '" stroke="#999"/>';
  svg += '<text x="2" y="' + (y(max) + 4) + '" font-size="10">' + Math.round(max * 10) / 10 + '</text><text x="2" y="' + y(0) + '" font-size="10">0</text>';
  if (panel.threshold) svg += '<line class="threshold" x1="' + pad + '" y1="' + y(panel.threshold.value) + '" x2="' + (w - pad) + '" y2="' + y(panel.threshold.value) + '" stroke="#d13212" stroke-dasharray="4 3"/>';
  panel.series.forEach((s, k) => {
    const d = s.points.map((p, i) => (p[1] === null ? null : x(i) + ',' + y(p[1]))).filter((p) => p !== null).join(' ');
    if (d) svg += '<polyline class="series" data-label="' + s.label + '" fill="none" stroke-width="2" stroke="' + COLORS[k % COLORS.length] + '" points="' + d + '"/>';
  });
  svg += '</svg>';
  const legend = panel.series.map((s, k) => '<span style="color:' + COLORS[k % COLORS.length] + '">■ ' + s.label + '</span>').join('') + (panel.threshold ? '<span style="color:#d13212">┄ ' + panel.threshold.label + ' ' + panel.threshold.value + '</span>' : '');
  return '<div class="panel"><h2>' + panel.title + '</h2>' + svg + '<div class="legend">' + legend + '</div></div>';
}
async function refresh() {
  const data = await (await fetch('data.json', { cache: 'no-store' })).json();
  const r = data.rollout;
  document.getElementById('rollout').textContent = 'stable ' + r.stable + (r.canary ? ' | canary ' + r.canary + ' at ' + r.weight / 100 + ' %' : ' | no canary') + (r.deployment ? ' | deployment ' + r.deployment : '') + ' | period ' + data.periodSeconds + ' s';
  document.getElementById('alarms').innerHTML = data.alarms.map((a) => '<span class="' + (a.state === 'OK' ? '' : 'bad') + '" title="' + a.reason + '">' + a.name + ': ' + a.state + '</span>').join('');
  const j = data.judge;
  const pct = (v) => (v * 100).toFixed(1) + ' %';
  const share = (name, s) => name + ' ' + pct(s.share) + ' of ' + s.viewers + ' viewers erred (plausibly ' + pct(s.lower) + ' to ' + pct(s.upper) + ')';
  document.getElementById('judge').innerHTML = j
    ? '<div>judge: <span class="verdict-' + j.verdict + '">' + j.verdict + '</span>' + (j.outcome ? ' | release ' + j.outcome : '') + '</div>' +
      '<div class="shares">' + share('canary', j.canary) + '; ' + share('stable', j.stable) + '</div>' +
      '<div class="reason"></div>' + (j.hold ? '<div class="hold"></div>' : '')
    : '<div>judge: no release judged yet</div>';
  if (j) document.querySelector('#judge .reason').textContent = j.reason;
  if (j && j.hold) document.querySelector('#judge .hold').textContent = 'weight held since ' + new Date(j.hold.since).toISOString() + ': ' + j.hold.reason;
  const list = document.getElementById('notifications');
  list.replaceChildren(...data.notifications.map((n) => {
    const item = document.createElement('li');
    item.dataset.kind = n.kind;
    item.textContent = n.at + ' ' + n.line;
    return item;
  }));
  if (data.notifications.length === 0) list.textContent = 'none yet';
  const revoked = document.getElementById('revocations');
  revoked.replaceChildren(...data.revocations.map((r) => {
    const item = document.createElement('li');
    item.dataset.build = r.buildId;
    item.textContent = r.buildId + ' revoked ' + (r.at === null ? 'at an unknown time' : r.at) + ': ' + r.reason;
    return item;
  }));
  if (data.revocations.length === 0) revoked.textContent = 'none';
  const previews = document.getElementById('previews');
  previews.replaceChildren(...data.previews.map((p) => {
    const item = document.createElement('li');
    item.dataset.build = p.build;
    item.dataset.viewer = p.viewer;
    item.textContent = p.build + ' for viewers in ' + p.viewer + ' until ' + p.until + ' (' + p.left + ' left)';
    return item;
  }));
  if (data.previews.length === 0) previews.textContent = 'none';
  document.getElementById('panels').innerHTML = data.panels.map(chart).join('');
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;

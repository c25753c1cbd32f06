/**
 * The release signal: what a beacon may count for, who counts as a viewer, which metrics the
 * metrics API emits, and the rule the client-error alarm applies to them. One module, so the
 * metrics API, rollout sync, the stacks (alarm, dashboard), the local mode's alarm and the tests
 * cannot disagree.
 *
 * A beacon counts only when all of these hold (docs/release-signal.md):
 *   1. it came through the distribution (the origin secret, checked by the metrics API);
 *   2. it names a build the rollout serves now: the state's stable or canary build;
 *   3. the rollout assigns the viewer that build (contracts/assignment.ts, ring included), the
 *      viewer being the address in CloudFront-Viewer-Address and the page the beacon's Origin;
 *   4. the viewer has not been counted for that build and period yet (once for being there, once
 *      for having seen an error).
 *
 * Metrics are therefore counts of distinct viewers per period, by role, never by build: a fixed
 * handful of metrics whatever the number of builds, and the alarm never needs to know which build
 * is which. The client-error alarm compares the share of canary viewers that saw an error with the
 * same share among stable viewers, over the same periods.
 *
 * Roles: `canary` and `stable` are the viewers the weight assigns (by a hash of their address,
 * which nobody can choose); `ring` are canary viewers only because their page is on a ring host.
 * A page's origin is whatever the request says (a script sets any Origin or Referer it likes), so
 * ring beacons are counted and shown but never judged: claiming a ring host cannot add a voice
 * to the alarm.
 */
import { parseIpv6 } from './assignment';

export const METRIC_VIEWERS = 'Viewers';
export const METRIC_ERRORING_VIEWERS = 'ErroringViewers';
/** Canary weight in basis points, emitted by rollout sync. */
export const METRIC_ROLLOUT_WEIGHT = 'RolloutWeight';
export const DIMENSION_ROLE = 'Role';
/** Builds viewers are assigned (stable, canary) that a region's bucket lacks, emitted by rollout sync every run. */
export const METRIC_MISSING_BUILDS = 'MissingBuilds';
export const DIMENSION_REGION = 'Region';
/** The roles the alarm judges. */
export const ROLES = ['canary', 'stable'] as const;
export type JudgedRole = (typeof ROLES)[number];
export type Role = JudgedRole | 'ring';
export type SignalMetric = typeof METRIC_VIEWERS | typeof METRIC_ERRORING_VIEWERS;

/** The custom origin header CloudFront adds to every request for the metrics API. */
export const ORIGIN_SECRET_HEADER = 'x-origin-verify';
/** Set by CloudFront (through the API's origin request policy): `ip:port`, IPv6 unbracketed. */
export const VIEWER_ADDRESS_HEADER = 'cloudfront-viewer-address';

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The viewer's IP address from CloudFront-Viewer-Address (`198.51.100.10:46532`,
 * `2001:db8::1:46532`, or bracketed `[2001:db8::1]:46532`); null for anything else.
 */
export function viewerAddressIp(header: string | undefined): string | null {
  if (typeof header !== 'string' || header.length > 64) return null;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(header);
  const colon = header.lastIndexOf(':');
  const ip = bracketed ? bracketed[1] : colon > 0 ? header.slice(0, colon) : '';
  const port = bracketed ? bracketed[2] : colon > 0 ? header.slice(colon + 1) : '';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return null;
  if (IPV4.test(ip)) return ip;
  return ip.includes(':') && parseIpv6(ip) !== null ? ip : null;
}

/**
 * Who counts as one viewer: an IPv4 address, or an IPv6 /48. Coarser than the assignment's /64
 * on purpose: a /48 is what one site or customer is typically given, so one attacker holding a
 * /48 gets one voice, not 65,536. An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function countingKey(ip: string): string | null {
  if (IPV4.test(ip)) return ip;
  const hextets = ip.includes(':') ? parseIpv6(ip) : null;
  if (hextets === null) return null;
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    return `${hextets[6] >>> 8}.${hextets[6] & 0xff}.${hextets[7] >>> 8}.${hextets[7] & 0xff}`;
  }
  return `${hextets
    .slice(0, 3)
    .map((h) => h.toString(16))
    .join(':')}::/48`;
}

/** Start (ms) of the period holding `at`: periods are aligned to the epoch, as CloudWatch aligns them. */
export function periodStart(at: number, periodSeconds: number): number {
  const periodMs = periodSeconds * 1000;
  return Math.floor(at / periodMs) * periodMs;
}

/** The alarm rule's settings (config `alarms`). */
export interface ReleaseAlarmRule {
  /** The canary's share of erroring viewers may exceed the stable build's by this many points. */
  readonly excessErrorPercent: number;
  /** Distinct canary viewers a period needs before it is judged at all. */
  readonly minViewers: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

export interface SignalMetricQuery {
  readonly id: string;
  readonly metric: { readonly metricName: SignalMetric; readonly role: JudgedRole };
}

export interface ExpressionQuery {
  readonly id: string;
  readonly expression: string;
  readonly label: string;
}

export interface ReleaseAlarmQueries {
  readonly metrics: readonly SignalMetricQuery[];
  /** In dependency order; the last one is the alarm's value. */
  readonly expressions: readonly ExpressionQuery[];
  /** Id of the expression the alarm compares with `threshold`. */
  readonly resultId: string;
  /** The alarm fires when the result is greater than this. */
  readonly threshold: number;
}

/**
 * The client-error alarm, as CloudWatch metric math: per period,
 *
 *   canary rate  = 100 × erroring canary viewers / canary viewers
 *   stable rate  = the same for the stable build, or 0 while the stable build has fewer than
 *                  minViewers (too few to trust; the canary is then judged against zero)
 *   excess       = canary rate − stable rate, or 0 while the canary has fewer than minViewers
 *   breaching    ⇔ excess > excessErrorPercent
 *
 * The stacks give these queries to the alarm and the dashboard; the local mode evaluates the same
 * expressions (contracts/metric-math.ts), so the rule exists once, as text CloudWatch runs.
 */
export function releaseAlarmQueries(rule: ReleaseAlarmRule): ReleaseAlarmQueries {
  const min = rule.minViewers;
  const rate = (role: JudgedRole) => `IF(${role}_viewers >= ${min}, 100 * ${role}_erroring / ${role}_viewers, 0)`;
  return {
    metrics: ROLES.flatMap((role): SignalMetricQuery[] => [
      { id: `${role}_viewers_raw`, metric: { metricName: METRIC_VIEWERS, role } },
      { id: `${role}_erroring_raw`, metric: { metricName: METRIC_ERRORING_VIEWERS, role } },
    ]),
    expressions: [
      ...ROLES.flatMap((role): ExpressionQuery[] => [
        { id: `${role}_viewers`, expression: `FILL(${role}_viewers_raw, 0)`, label: `${role} viewers` },
        { id: `${role}_erroring`, expression: `FILL(${role}_erroring_raw, 0)`, label: `${role} viewers with an error` },
        { id: `${role}_rate`, expression: rate(role), label: `${role} error rate (%)` },
      ]),
      { id: 'excess', expression: `IF(canary_viewers >= ${min}, canary_rate - stable_rate, 0)`, label: 'Canary error rate above stable (points)' },
    ],
    resultId: 'excess',
    threshold: rule.excessErrorPercent,
  };
}

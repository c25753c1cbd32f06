/**
 * The release signal: who a viewer is, what each logged request counts for, which metrics the
 * signal consumer emits, and the rules the two release alarms apply to them. One module, so the
 * consumer, rollout sync, the stacks (alarms, dashboard), the local mode's alarms and the tests
 * cannot disagree.
 *
 * The signal is CloudFront's own record of what it served (docs/release-signal.md): a real-time
 * log record of every entry load and every error report (`GET /api/e`), with the address
 * CloudFront saw the request come from. A record counts when:
 *   1. its viewer (the assignment's key: an IPv4 address, or an IPv6 /48) is one the rollout state
 *      of its time assigns a role, under every state the edges may have served then;
 *   2. for an error report, it names the build that state gives the viewer;
 *   3. the viewer has not been counted for that role and period yet (once for being there, once
 *      for having seen an error).
 *
 * Metrics are therefore counts of distinct viewers per period, by role, never by build: a fixed
 * handful of metrics whatever the number of builds, and the alarm never needs to know which build
 * is which. The client-error alarm compares the share of canary viewers that saw an error with the
 * same share among stable viewers, over the same periods; the unjudged alarm fires when periods go
 * uncounted, so a signal that cannot see never lets a rollout advance.
 *
 * Roles: `canary` and `stable` are the viewers the weight assigns (by a hash of their address,
 * which nobody can choose); `ring` are canary viewers only because their page is on a ring host.
 * A page's origin is whatever the request says (a script sets any Referer it likes), so ring
 * viewers are counted and shown but never judged: claiming a ring host cannot add a voice to the
 * alarm. `preview` are viewers an operator showed a build of their choosing (`rollout preview`):
 * counted apart and never judged either, so the people checking a build are neither evidence for
 * it nor against the stable one.
 */
import { previewBuild, ruleBuild, viewerKey } from './assignment';
import type { RolloutState } from './rollout-state';

export const METRIC_VIEWERS = 'Viewers';
export const METRIC_ERRORING_VIEWERS = 'ErroringViewers';
/** Canary weight in basis points, emitted by rollout sync. */
export const METRIC_ROLLOUT_WEIGHT = 'RolloutWeight';
export const DIMENSION_ROLE = 'Role';
/**
 * Periods the consumer could not judge (it did not see them whole), emitted per closed period at
 * the period's start; and 1 at the time records of a period it had closed arrive (their counts
 * went out without them). One metric for both: the alarm needs only to know that something went
 * unseen, and every custom metric is billed a month.
 */
export const METRIC_UNJUDGED_PERIODS = 'UnjudgedPeriods';
/**
 * The judge's verdict (contracts/canary-judge.ts), emitted by the signal consumer at every look
 * while a release runs: 1 once it found the canary failing, else 0. High resolution (1 s), so the
 * client-error alarm, on 10-second periods, fires within seconds of the verdict; CodeDeploy
 * watches that alarm. Dimension Signal=entry.
 */
export const METRIC_CANARY_FAILING = 'CanaryFailing';
/** The client-error alarm's period: the shortest a high-resolution alarm takes. */
export const VERDICT_PERIOD_SECONDS = 10;
/** The one dimension of the consumer's own health metrics (a metric needs a dimension set EMF readers treat alike). */
export const DIMENSION_SIGNAL = 'Signal';
export const SIGNAL_ENTRY = 'entry';
/** Builds viewers are assigned (stable, canary) that a region's bucket lacks, emitted by rollout sync every run. */
export const METRIC_MISSING_BUILDS = 'MissingBuilds';
export const DIMENSION_REGION = 'Region';
/**
 * How long after a preview's end a load of a viewer it held is not counted: a record's time is when
 * CloudFront finished the response, and the edge chose the build when the request arrived. A
 * minute is far more than an entry response takes; a few previewed viewers uncounted for a minute
 * cost the judge nothing.
 */
export const PREVIEW_END_MARGIN_MS = 60_000;
/** The roles the alarm judges. */
export const ROLES = ['canary', 'stable'] as const;
export type JudgedRole = (typeof ROLES)[number];
export type Role = JudgedRole | 'ring' | 'preview';
export type SignalMetric = typeof METRIC_VIEWERS | typeof METRIC_ERRORING_VIEWERS;

/** What one request counts for: a voice, in the role the rule gives it, for the build of that role. */
export interface Judgment {
  readonly voice: string;
  readonly role: Role;
  readonly build: string;
}

/**
 * The voice a request from `ip` (on a page of `origin`, at `at` epoch ms) counts for under one
 * rollout state, or null when `ip` is not an address. A viewer a preview in force holds is
 * `preview`, whatever the rest of the rule would give it. The unit assigned is the unit counted: the assignment's key
 * (contracts/assignment.ts viewerKey: an IPv4 address, or an IPv6 /48) is the voice, and its role
 * is the one the rule gives it, which the viewer does not choose. Every /64 of a /48 gets the /48's
 * build, so probing them finds nothing to pick. A page on a ring host gets the canary whatever the
 * weight: counted as `ring`, shown, never judged (a page's origin is whatever the request says).
 * With no canary every viewer is stable.
 */
export function judge(state: RolloutState, ip: string, origin: string | null, at: number): Judgment | null {
  const voice = viewerKey(ip);
  if (voice === null) return null;
  const previewed = previewBuild(state, ip, at);
  if (previewed !== null) return { voice, role: 'preview', build: previewed };
  // Just ended: the edge may have decided under the preview a moment before the time the record
  // carries (the response's end), so the viewer may have run either build; counted for neither.
  if (previewBuild(state, ip, at - PREVIEW_END_MARGIN_MS) !== null) return null;
  if (state.canary === null || state.salt === null) return { voice, role: 'stable', build: state.stable };
  if (origin !== null && state.ring.indexOf(origin) >= 0) return { voice, role: 'ring', build: state.canary };
  // No preview holds the viewer (above): the rule decides, by the key already parsed.
  return ruleBuild(state, ip, origin, voice) === state.canary
    ? { voice, role: 'canary', build: state.canary }
    : { voice, role: 'stable', build: state.stable };
}

/**
 * The judgment every one of `states` agrees on, or null. While a new state reaches the edges
 * (seconds), a request may have been served by either the old or the new one: it counts only when
 * both would have given its viewer the same role and build, so a viewer who ran the canary is
 * never counted as a stable one, or the other way round.
 */
export function judgeUnderEach(
  states: readonly RolloutState[],
  ip: string,
  origin: string | null,
  at: number,
): Judgment | null {
  let agreed: Judgment | null = null;
  for (const state of states) {
    const judgment = judge(state, ip, origin, at);
    if (judgment === null) return null;
    if (
      agreed !== null &&
      (agreed.role !== judgment.role || agreed.build !== judgment.build || agreed.voice !== judgment.voice)
    )
      return null;
    agreed = judgment;
  }
  return agreed;
}

/**
 * How long the store takes to reach every edge, at most, as this project assumes: AWS says "a few
 * seconds" and publishes no bound (blog post introducing CloudFront KeyValueStore, 2023), so the
 * benchmark's worst case of 20 s is taken, doubled.
 */
export const STORE_PROPAGATION_MS = 40_000;

/**
 * How long after a new state is announced the edges may still serve the one before it: the write
 * and the store's propagation, and the entry router's fallback, which serves from a state it read
 * up to `edge.stateCacheSeconds` before.
 */
export function statePropagationMs(edge: { readonly stateCacheSeconds: number }): number {
  return STORE_PROPAGATION_MS + edge.stateCacheSeconds * 1000;
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
      {
        id: 'excess',
        expression: `IF(canary_viewers >= ${min}, canary_rate - stable_rate, 0)`,
        label: 'Canary error rate above stable (points)',
      },
    ],
    resultId: 'excess',
    threshold: rule.excessErrorPercent,
  };
}

/**
 * A metric an alarm reads that is not one of the signal's per-role counts: the consumer's health, Lambda's, Kinesis's.
 */
export interface HealthMetricQuery {
  readonly id: string;
  /** `signal`: the config's metrics namespace; else an AWS namespace. */
  readonly namespace: 'signal' | 'AWS/Lambda' | 'AWS/Kinesis';
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: 'Sum' | 'Maximum';
}

export interface UnjudgedAlarmQueries {
  readonly metrics: readonly HealthMetricQuery[];
  readonly expressions: readonly ExpressionQuery[];
  readonly resultId: string;
  /**
   * The alarm fires when the result is greater than this; missing data is breaching (a judge that reports nothing sees
   * nothing).
   */
  readonly threshold: number;
}

/**
 * Kinesis's stream metric: how far behind the newest record the stream's reader is (ms), emitted on every read, 0 when
 * caught up.
 */
export const KINESIS_ITERATOR_AGE = 'GetRecords.IteratorAgeMilliseconds';
/** Kinesis's stream metric: records the stream refused because its shard was full (PutRecord and PutRecords alike). */
export const KINESIS_WRITE_THROTTLED = 'WriteProvisionedThroughputExceeded';

/**
 * The unjudged alarm, as CloudWatch metric math: per period, the signal consumer could not see it
 * whole, or records of a closed period arrived, or the consumer failed, or the stream's reader fell
 * further behind than the lateness allowed, or the stream refused records CloudFront wrote:
 *
 *   unjudged   = periods the consumer closed unjudged, and    (UnjudgedPeriods, Sum)
 *                arrivals of records after their period closed
 *   failures   = the consumer's errors                        (AWS/Lambda Errors, Sum)
 *   behind     = 1 when the stream's iterator age (AWS/Kinesis, Maximum) passed the lateness
 *   throttled  = 1 when the shard refused records (AWS/Kinesis WriteProvisionedThroughputExceeded,
 *                Sum): a flood filled it, and whose records were lost nobody knows
 *   blind      = unjudged + failures + behind + throttled   > 0  breaches
 *
 * The iterator age is reported whenever the stream is read, busy or idle, so a period with no
 * traffic is not blind; a period with no iterator age at all (nothing reads the stream) has no
 * value, and the alarm treats missing data as breaching. While it fires, rollout sync gives the
 * canary no viewers, and CodeDeploy (which watches it) rolls the deployment back: a canary the
 * judge cannot see never gains viewers.
 */
export function unjudgedAlarmQueries(
  rule: { readonly latenessSeconds: number },
  names: { readonly consumerFunction: string; readonly stream: string },
): UnjudgedAlarmQueries {
  return {
    metrics: [
      {
        id: 'unjudged_raw',
        namespace: 'signal',
        metricName: METRIC_UNJUDGED_PERIODS,
        dimensions: { [DIMENSION_SIGNAL]: SIGNAL_ENTRY },
        stat: 'Sum',
      },
      {
        id: 'failures_raw',
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: names.consumerFunction },
        stat: 'Sum',
      },
      {
        id: 'age',
        namespace: 'AWS/Kinesis',
        metricName: KINESIS_ITERATOR_AGE,
        dimensions: { StreamName: names.stream },
        stat: 'Maximum',
      },
      {
        id: 'throttled_raw',
        namespace: 'AWS/Kinesis',
        metricName: KINESIS_WRITE_THROTTLED,
        dimensions: { StreamName: names.stream },
        stat: 'Sum',
      },
    ],
    expressions: [
      {
        id: 'unjudged',
        expression: 'FILL(unjudged_raw, 0)',
        label: 'Periods the consumer did not see whole, and late records',
      },
      { id: 'failures', expression: 'FILL(failures_raw, 0)', label: 'Consumer errors' },
      {
        id: 'behind',
        expression: `IF(age > ${rule.latenessSeconds * 1000}, 1, 0)`,
        label: 'Reader behind by more than the lateness',
      },
      {
        id: 'throttled',
        expression: 'IF(FILL(throttled_raw, 0) > 0, 1, 0)',
        label: 'Log records the full shard refused',
      },
      { id: 'blind', expression: 'unjudged + failures + behind + throttled', label: 'Reasons the period is unjudged' },
    ],
    resultId: 'blind',
    threshold: 0,
  };
}

/**
 * A rollout state and when the edges may have served it: from the moment it was announced (just
 * before it was written to the store) until the next state was announced plus the time that one
 * takes to reach every edge. A state found in the store that nobody announced is taken as served
 * since the state before it was (rollout-control/signal-table.ts keeps them).
 */
export interface TimedState {
  readonly state: RolloutState;
  readonly from: number;
  /** Null while it is the current state. */
  readonly until: number | null;
}

// The release-signal table's own items (stacks/constructs/release-signal-table.ts makes the table,
// rollout-control/signal-table.ts reads and writes them).
/** The item holding the timeline: the states the edges may have served, oldest first. */
export const STATE_TIMELINE_KEY = 'rollout-timeline';
/** The item holding the sequence number of the last record the signal consumer read. */
export const CONSUMER_CHECKPOINT_KEY = 'consumer-checkpoint';

/**
 * What a team hears about a release: one message per deployment start, success, stop or failure,
 * per alarm state change, and per revocation. Rollout sync publishes them to the distribution's SNS
 * topic (stacks/constructs/release-notifications.ts) as it handles the EventBridge event that
 * reports the change; the local mode shows the same messages in its status line and on its
 * dashboard page. One formatter serves both, so a message reads the same in a mailbox, a chat
 * channel and a terminal.
 *
 * Each message says what happened to which build at what weight in its subject and again in the
 * first line of its body (email clients show the subject; chat integrations and webhooks, the
 * body), links the dashboard on the second line, and carries the same facts as JSON after a blank
 * line, for anything that parses it.
 *
 * The weight is the canary's share when the event happened: for a rollback, the share it had
 * before it was taken away (the state after a rollback names no canary, and "at 0 %" would say
 * nothing).
 */
import type { TimedState } from './release-signal';
import { WEIGHT_SCALE, type RolloutState } from './rollout-state';

export const NOTIFICATION_VERSION = 1;

/** SNS: a subject is at most 100 printable ASCII characters, no line break (Publish, "Subject"). */
export const MAX_SUBJECT_LENGTH = 100;

/** CodeDeploy's deployment states, as its EventBridge events name them. */
export type DeploymentEventState = 'START' | 'SUCCESS' | 'FAILURE' | 'STOP' | 'READY';

/** What happened, and to what. */
export type ReleaseEvent =
  | {
      readonly kind: 'deployment';
      readonly state: DeploymentEventState;
      readonly deploymentId: string;
      /** CodeDeploy's own rollback deployment (it moves the alias back), not the release itself. */
      readonly rollback: boolean;
    }
  | { readonly kind: 'alarm'; readonly alarm: string; readonly state: string; readonly reason: string | null }
  | { readonly kind: 'revocation'; readonly buildId: string; readonly reason: string };

/** The release the event concerns, as the rollout state and the judge describe it. */
export interface ReleaseFacts {
  readonly stable: string;
  /** The build on trial; null with no release under way (and for a rollback, the build it took away). */
  readonly canary: string | null;
  /** The canary's share when the event happened, in basis points. */
  readonly weight: number;
  /** Why the canary lost its viewers (the judge's verdict, an alarm, a person); null when it did not. */
  readonly reason: string | null;
}

export type NotificationKind =
  | 'release-started'
  | 'release-complete'
  | 'release-stopped'
  | 'release-failed'
  | 'rollback-started'
  | 'rollback-complete'
  | 'alarm'
  | 'alarm-cleared'
  | 'revoked';

/** The JSON part of a message. */
export interface NotificationDetail {
  readonly v: typeof NOTIFICATION_VERSION;
  readonly kind: NotificationKind;
  readonly distribution: string;
  /** ISO 8601. */
  readonly at: string;
  readonly stable: string;
  readonly canary: string | null;
  /** The canary's share, percent (basis points / 100). */
  readonly weightPercent: number;
  readonly reason: string | null;
  readonly deploymentId: string | null;
  readonly alarm: string | null;
  readonly alarmState: string | null;
  readonly buildId: string | null;
  readonly dashboard: string;
}

export interface ReleaseNotification {
  readonly subject: string;
  /** First line: what happened (the subject's sentence, whole); second: the dashboard; then the JSON. */
  readonly message: string;
  readonly detail: NotificationDetail;
}

export interface NotificationContext {
  /** The distribution's name (config.name): one topic may be read beside others'. */
  readonly distribution: string;
  readonly dashboard: string;
  readonly at: number;
}

const percent = (weight: number) => Math.round((weight / WEIGHT_SCALE) * 10000) / 100;

/** The kind of message an event makes; null for a state nobody needs to hear about (CodeDeploy's READY). */
export function notificationKind(event: ReleaseEvent): NotificationKind | null {
  if (event.kind === 'revocation') return 'revoked';
  if (event.kind === 'alarm') {
    if (event.state === 'ALARM') return 'alarm';
    return event.state === 'OK' ? 'alarm-cleared' : null;
  }
  switch (event.state) {
    case 'START':
      return event.rollback ? 'rollback-started' : 'release-started';
    case 'SUCCESS':
      return event.rollback ? 'rollback-complete' : 'release-complete';
    case 'STOP':
      return 'release-stopped';
    case 'FAILURE':
      return 'release-failed';
    default:
      return null;
  }
}

/** The one sentence a message starts with, and its subject says (shortened there to fit). */
function headline(kind: NotificationKind, event: ReleaseEvent, facts: ReleaseFacts): string {
  const at = `at ${percent(facts.weight)} %`;
  const canary = facts.canary ?? 'none';
  const because = facts.reason ? `: ${facts.reason}` : '';
  switch (kind) {
    case 'release-started':
      return `Release started: build ${canary} ${at} of viewers, stable ${facts.stable}`;
    case 'release-complete':
      return `Release complete: build ${facts.stable} serves every viewer`;
    case 'release-stopped':
      return `Rolled back: build ${canary} ${at} taken off every viewer, stable ${facts.stable} stays${because}`;
    case 'release-failed':
      return `Release failed: build ${canary} ${at} rolled back to ${facts.stable}${because}`;
    case 'rollback-started':
      return `Rollback started: build ${canary} leaving, stable ${facts.stable}`;
    case 'rollback-complete':
      return `Rollback complete: build ${facts.stable} serves every viewer`;
    case 'alarm':
      return `Alarm ${(event as { alarm: string }).alarm}: build ${canary} ${at}${because}`;
    case 'alarm-cleared':
      return `Alarm cleared ${(event as { alarm: string }).alarm}: build ${canary} ${at}`;
    case 'revoked':
      return `Revoked: build ${(event as { buildId: string }).buildId}${because}`;
  }
}

/** A subject SNS takes: printable ASCII, one line, at most 100 characters (cut with an ellipsis). */
export function snsSubject(text: string): string {
  const ascii = text.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= MAX_SUBJECT_LENGTH ? ascii : `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

/** The message for an event, or null when the event is not one anybody hears about. */
export function releaseNotification(
  event: ReleaseEvent,
  facts: ReleaseFacts,
  context: NotificationContext,
): ReleaseNotification | null {
  const kind = notificationKind(event);
  if (kind === null) return null;
  const reason =
    event.kind === 'revocation' ? event.reason : event.kind === 'alarm' ? (event.reason ?? facts.reason) : facts.reason;
  const line = headline(kind, event, { ...facts, reason }).replace(/[\r\n]+/g, ' ');
  const detail: NotificationDetail = {
    v: NOTIFICATION_VERSION,
    kind,
    distribution: context.distribution,
    at: new Date(context.at).toISOString(),
    stable: facts.stable,
    canary: facts.canary,
    weightPercent: percent(facts.weight),
    reason,
    deploymentId: event.kind === 'deployment' ? event.deploymentId : null,
    alarm: event.kind === 'alarm' ? event.alarm : null,
    alarmState: event.kind === 'alarm' ? event.state : null,
    buildId: event.kind === 'revocation' ? event.buildId : facts.canary,
    dashboard: context.dashboard,
  };
  return {
    subject: snsSubject(`[${context.distribution}] ${line}`),
    message: `${line}\nDashboard: ${context.dashboard}\n\n${JSON.stringify(detail, null, 2)}\n`,
    detail,
  };
}

/**
 * The facts of a release as the states it went through show them: the stable build now, and the
 * canary (the release's build `canary` when the caller knows it, else the current state's) with
 * the last weight any state gave it. After a rollback the current state names no canary; the
 * timeline still holds the states before it, so the message can say how far the canary had got.
 */
export function releaseFacts(
  current: RolloutState,
  timeline: readonly TimedState[],
  canary: string | null,
  reason: string | null,
): ReleaseFacts {
  const build = canary ?? current.canary;
  if (build === null) return { stable: current.stable, canary: null, weight: 0, reason };
  const last = [...timeline].reverse().find((timed) => timed.state.canary === build);
  const weight = current.canary === build ? current.weight : (last?.state.weight ?? 0);
  return { stable: current.stable, canary: build, weight, reason };
}

/**
 * Amazon Q Developer in chat applications (formerly AWS Chatbot) posts only AWS services' own events
 * and custom notifications in its event schema (its admin guide, "Custom notifications": version
 * "1.0", source "custom", content.description required; metadata.additionalContext, strings). Its
 * channels subscribe over HTTPS, so that protocol gets the message in that schema, and every other
 * protocol (email) the text.
 */
export function chatNotification(notification: ReleaseNotification): Record<string, unknown> {
  const [line = ''] = notification.message.split('\n');
  const { detail } = notification;
  return {
    version: '1.0',
    source: 'custom',
    id: `${detail.distribution}-${detail.kind}-${detail.at}`,
    content: {
      textType: 'client-markdown',
      title: notification.subject,
      description: `${line}\nDashboard: ${detail.dashboard}`,
    },
    metadata: {
      summary: line,
      eventType: detail.kind,
      additionalContext: Object.fromEntries(
        Object.entries(detail).map(([key, value]) => [key, value === null ? '' : String(value)]),
      ),
    },
  };
}

/** What to publish to the topic: the text for email (`default`), the chat schema for HTTPS subscribers. */
export function snsPublication(notification: ReleaseNotification): {
  readonly Subject: string;
  readonly Message: string;
  readonly MessageStructure: 'json';
} {
  return {
    Subject: notification.subject,
    Message: JSON.stringify({
      default: notification.message,
      https: JSON.stringify(chatNotification(notification)),
    }),
    MessageStructure: 'json',
  };
}

/**
 * The release-signal table's item that keeps the last messages published (SNS keeps none), for
 * `rollout status`: rollout sync and `rollout revoke` add to it after each Publish, delivered or not.
 */
export const NOTIFICATION_LOG_KEY = 'release-notifications';
/** Messages the log keeps, newest last. */
export const NOTIFICATION_LOG_LENGTH = 10;

/** One published message, as the log keeps it. */
export interface NotificationLogEntry {
  /** Epoch ms. */
  readonly at: number;
  readonly subject: string;
  /** Why SNS did not take it; null when it did. */
  readonly failure: string | null;
}

/** The log's entries in a stored value; entries that are not one are left out, a value that is not a list is none. */
export function parseNotificationLog(text: string | undefined): NotificationLogEntry[] {
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (entry): entry is NotificationLogEntry =>
      typeof entry?.at === 'number' &&
      typeof entry?.subject === 'string' &&
      (entry.failure === null || typeof entry.failure === 'string'),
  );
}

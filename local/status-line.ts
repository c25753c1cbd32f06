/**
 * The one line `npm start` keeps up to date: which builds, at what weight, how many entries each
 * build served, both alarms, the previews in force and the last notification; and what the time
 * scale means for a rollout. Pure (the time previews end by is a parameter), so its wording is tested.
 */
import type { DeployConfig } from '../config';
import { rolloutSteps } from '../config/rollout';
import { livePreviews, parseRolloutState, type Preview } from '../contracts/rollout-state';
import type { ControlPlaneStatus } from './control-plane';
import type { EmulatorStats } from '../loopback/cloudfront-emulator';

/**
 * Simulated minutes per real minute, unless told otherwise: slow enough to watch a rollout. The
 * default config's (linear, 10 % a minute) reaches everyone 9 simulated minutes after it starts:
 * 90 s here; its alarm's 60-second periods pass every 10 s.
 */
export const DEFAULT_TIME_SCALE = 6;

/** The line `npm start`'s banner ends with: the distribution is up (tests wait for it). */
export const READY_LINE = '  stop          Ctrl-C (closes every server, removes the temporary buckets)';

function short(buildId: string): string {
  return buildId.slice(0, 8);
}

/** A share and its range, in percent: `12.0% (8.1–16.9)`. */
function shareText(range: { readonly share: number; readonly lower: number; readonly upper: number }): string {
  const pct = (share: number) => (share * 100).toFixed(1);
  return `${pct(range.share)}% (${pct(range.lower)}–${pct(range.upper)})`;
}

/** The judge at its last look: the verdict in force, and both shares with the ranges the evidence leaves. */
export function judgeText(status: ControlPlaneStatus): string | null {
  const last = status.judgment?.last;
  if (!last) return null;
  return (
    `judge ${last.verdict}: canary ${shareText(last.canary)} of ${last.canary.viewers} vs stable ` +
    `${shareText(last.stable)} of ${last.stable.viewers}`
  );
}

/** Previews the status line names; more are counted. */
const PREVIEWS_SHOWN = 2;

/**
 * How long until `untilSeconds` (epoch seconds) from `nowMs`, to the second under a minute, else to
 * the nearest minute, hour past a day: `42 s`, `12 min`, `1 h 5 min`, `2 d 3 h`.
 */
export function timeLeft(untilSeconds: number, nowMs: number): string {
  const seconds = Math.max(0, Math.ceil(untilSeconds - nowMs / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60)
    return minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  const hours = Math.round(minutes / 60);
  return hours % 24 === 0 ? `${hours / 24} d` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** One preview for a person: `5dd3488d for 127.0.0.1/32, 59 min left`. */
function previewText(preview: Preview, nowMs: number, buildLength = 8): string {
  return `${preview.build.slice(0, buildLength)} for ${preview.viewer}, ${timeLeft(preview.until, nowMs)} left`;
}

/** The status line; previews in force as of the status's time (the local clock, the local edge's). */
export function formatStatusLine(status: ControlPlaneStatus, served: EmulatorStats): string {
  const parts = [`stable ${short(status.stable.buildId)} (v${status.stable.version})`];
  const state = parseRolloutState(status.state);
  // What viewers get is the store's weight (the judge's while a release runs), not the alias's.
  const edgeWeight = state?.canary === status.canary?.buildId ? (state?.weight ?? 0) : 0;
  parts.push(
    status.canary
      ? `canary ${short(status.canary.buildId)} (v${status.canary.version}) ` +
          `${(edgeWeight / 100).toFixed(0)}%${status.release?.hold ? ' held' : ''}`
      : 'no canary',
  );
  const counts = Object.entries(served.entryByBuild)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([buildId, count]) => `${short(buildId)}×${count}`);
  parts.push(`served ${counts.length > 0 ? counts.join(' ') : 'nothing yet'}`);
  if (status.deployment) parts.push(`${status.deployment.id} ${status.deployment.status}`);
  const judge = status.deployment?.status === 'InProgress' ? judgeText(status) : null;
  if (judge) parts.push(judge);
  parts.push(
    `client-error alarm ${status.alarm?.state ?? 'OK'}`,
    `unjudged alarm ${status.unjudgedAlarm?.state ?? 'OK'}`,
  );
  const previews = state === null ? [] : livePreviews(state, status.now);
  if (previews.length > 0)
    parts.push(
      `preview ${previews
        .slice(0, PREVIEWS_SHOWN)
        .map((preview) => previewText(preview, status.now))
        .join('; ')}${previews.length > PREVIEWS_SHOWN ? ` (+${previews.length - PREVIEWS_SHOWN} more)` : ''}`,
    );
  // The newest notification, as the topic would carry its first line.
  const last = status.notifications.at(-1);
  if (last) parts.push(`last notice: ${last.message.split('\n')[0]}`);
  return parts.join(' | ');
}

/** `90` → `1 min 30 s`, `7.5` → `7.5 s`. */
export function formatWallTime(seconds: number): string {
  const rounded = seconds >= 10 ? Math.round(seconds) : Math.round(seconds * 10) / 10;
  if (rounded < 60) return `${rounded} s`;
  const minutes = Math.floor(rounded / 60);
  const rest = Math.round(rounded - minutes * 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** What `timeScale` means in real time for this config's rollout and alarm, for the start banner. */
export function describeTimeScale(config: Pick<DeployConfig, 'rollout' | 'alarms'>, timeScale: number): string {
  const steps = rolloutSteps(config.rollout);
  const minutes = steps.at(-1)?.atMinute ?? 0;
  const { strategy, percent, intervalMinutes } = config.rollout;
  const shape =
    strategy === 'linear'
      ? `${percent} % more every ${intervalMinutes} min`
      : `${percent} % for ${intervalMinutes} min`;
  const rollout =
    minutes === 0
      ? 'a release (all at once) reaches every viewer at once'
      : `a release (${strategy}, ${shape}) reaches every viewer in ${formatWallTime((minutes * 60) / timeScale)} ` +
        `(${minutes} simulated minutes) at the earliest, each step once the judge found the one before healthy`;
  return (
    `${timeScale}×: ${rollout}; an alarm period (${config.alarms.periodSeconds} s) passes every ` +
    `${formatWallTime(config.alarms.periodSeconds / timeScale)}`
  );
}

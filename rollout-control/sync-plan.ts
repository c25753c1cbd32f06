/**
 * Rollout sync, pure part: which event started this run, and alias state + salt → rollout state.
 *
 * Salt rules (the salt picks which viewers land on the canary; a new deployment must pick afresh,
 * and one deployment must keep its pick while its weight grows, or viewers would flip builds):
 *
 *   1. the id of the CodeDeploy deployment shifting the alias to the canary version: the one named
 *      by a START state-change event, else the group's active deployment; it counts only while it
 *      is active and its AppSpec targets the alias's canary version (a rollback deployment, or a
 *      stale event, does not);
 *   2. else the salt of the current state, when that state describes the same shift (same stable
 *      and canary builds): the cohort stays put while CodeDeploy cannot be asked;
 *   3. else `alias-<stable version>-<canary version>`: deterministic, so concurrent runs agree and
 *      a hand-made split (no deployment at all) still gets a stable cohort of its own.
 *
 * With no canary there is nobody to assign, and the state carries no salt. The ring is not rollout
 * sync's: it is carried over from the current state as it is.
 *
 * Judged: while a deployment shifts the alias to the canary, the canary's weight is what the
 * judge allows (`planSync`'s `judged`), not the alias's. Held: while the release's client-error
 * alarm (the judge's verdict) is in ALARM, or the judge found the canary failing, or a step held
 * past its time ran out of evidence, the state names no canary, whatever the alias still says. The alarm's state change
 * runs rollout sync at once, so viewers leave the
 * canary within seconds of the alarm, without waiting for CodeDeploy to notice it and move the
 * alias back (AWS documents no interval for that); when CodeDeploy does, the state stays the same.
 * An alarm that clears while the deployment still runs lets the canary have its viewers back.
 */
import * as z from 'zod/mini';
import { formatRolloutState, type RolloutState } from '../contracts/rollout-state';
import type { AliasBuilds } from './alias-state';
import type { DeploymentSummary } from './deployments';
import { VERDICT_SYNC_EVENT, type ReleaseProgress } from '../contracts/release-progress';
import { describeIssue } from '../contracts/schema-issues';

export const SCHEDULED_EVENT_TYPE = 'Scheduled Event';
export const DEPLOYMENT_STATE_CHANGE_TYPE = 'CodeDeploy Deployment State-change Notification';
export const ALARM_STATE_CHANGE_TYPE = 'CloudWatch Alarm State Change';

/** What the rollout CLI sends to ask for a sync now (after `promote`). */
export const MANUAL_SYNC_EVENT = { source: 'rollout-cli', 'detail-type': 'Sync Request' } as const;

export const syncEventSchema = z.discriminatedUnion('detail-type', [
  z.object({ source: z.literal('aws.events'), 'detail-type': z.literal(SCHEDULED_EVENT_TYPE) }),
  z.object({
    source: z.literal('aws.codedeploy'),
    'detail-type': z.literal(DEPLOYMENT_STATE_CHANGE_TYPE),
    detail: z.object({
      application: z.string(),
      deploymentGroup: z.string(),
      deploymentId: z.string().check(z.regex(/^d-[A-Z0-9]+$/)),
      /** START, SUCCESS, FAILURE, STOP, READY. */
      state: z.string(),
    }),
  }),
  z.object({
    source: z.literal('aws.cloudwatch'),
    'detail-type': z.literal(ALARM_STATE_CHANGE_TYPE),
    detail: z.object({
      alarmName: z.string(),
      state: z.object({ value: z.string(), reason: z.optional(z.string()) }),
    }),
  }),
  z.object({ source: z.literal(MANUAL_SYNC_EVENT.source), 'detail-type': z.literal(MANUAL_SYNC_EVENT['detail-type']) }),
  z.object({
    source: z.literal(VERDICT_SYNC_EVENT.source),
    'detail-type': z.literal(VERDICT_SYNC_EVENT['detail-type']),
  }),
]);
export type SyncEvent = z.infer<typeof syncEventSchema>;

export interface SyncTrigger {
  readonly kind: 'schedule' | 'deployment' | 'alarm' | 'manual' | 'verdict';
  /** A deployment of our group that has just started: the first candidate for the salt. */
  readonly startedDeploymentId: string | null;
}

/** Validates an invocation event; throws saying what was expected and what came. */
export function parseSyncEvent(event: unknown): SyncEvent {
  const parsed = syncEventSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  const detailType =
    event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
  const got =
    event !== null && typeof event === 'object'
      ? detailType === undefined
        ? 'an object without detail-type'
        : `an object with detail-type ${JSON.stringify(detailType)}`
      : (JSON.stringify(event) ?? 'undefined');
  throw new Error(
    `rollout sync runs on an EventBridge "${SCHEDULED_EVENT_TYPE}", "${DEPLOYMENT_STATE_CHANGE_TYPE}" or ` +
      `"${ALARM_STATE_CHANGE_TYPE}" event, or ${JSON.stringify(MANUAL_SYNC_EVENT)} or ` +
      `${JSON.stringify(VERDICT_SYNC_EVENT)}; got ${got} ` +
      `(${describeIssue(parsed.error.issues[0], event, 'event')})`,
  );
}

/** What started this run; `group` tells our deployments from other groups'. */
export function syncTriggerFrom(
  event: SyncEvent,
  group: { application: string; deploymentGroup: string },
): SyncTrigger {
  if (event.source === 'aws.events') return { kind: 'schedule', startedDeploymentId: null };
  if (event.source === MANUAL_SYNC_EVENT.source) return { kind: 'manual', startedDeploymentId: null };
  if (event.source === VERDICT_SYNC_EVENT.source) return { kind: 'verdict', startedDeploymentId: null };
  if (event.source === 'aws.cloudwatch') return { kind: 'alarm', startedDeploymentId: null };
  const ours = event.detail.application === group.application && event.detail.deploymentGroup === group.deploymentGroup;
  return {
    kind: 'deployment',
    startedDeploymentId: ours && event.detail.state === 'START' ? event.detail.deploymentId : null,
  };
}

/** The canary viewers can be sent to: a second build with a non-zero weight. */
export function effectiveCanary(builds: AliasBuilds): AliasBuilds['canary'] {
  const canary = builds.canary;
  return canary && canary.weight > 0 && canary.buildId !== builds.stable.buildId ? canary : null;
}

export type SaltSource = 'deployment' | 'current-state' | 'alias-versions' | 'none';

export interface SaltChoice {
  readonly salt: string | null;
  readonly source: SaltSource;
}

export function chooseSalt(
  builds: AliasBuilds,
  deployment: DeploymentSummary | null,
  current: RolloutState | null,
): SaltChoice {
  const canary = effectiveCanary(builds);
  if (!canary) return { salt: null, source: 'none' };
  if (deployment?.active && deployment.toVersion === canary.version)
    return { salt: deployment.id, source: 'deployment' };
  if (current?.salt && current.stable === builds.stable.buildId && current.canary === canary.buildId)
    return { salt: current.salt, source: 'current-state' };
  return { salt: `alias-${builds.stable.version}-${canary.version}`, source: 'alias-versions' };
}

/**
 * The state the edges should see for this alias state, keeping `ring` and `previews` (what
 * operators set through the CLI, which rollout sync carries over and never edits: an expired
 * preview stays until the next edit drops it, and the edges ignore it by its time).
 */
export function rolloutStateFor(
  builds: AliasBuilds,
  salt: string | null,
  ring: readonly string[],
  previews: RolloutState['previews'] = undefined,
): RolloutState {
  const canary = effectiveCanary(builds);
  const carried = previews !== undefined && previews.length > 0 ? { ring, previews } : { ring };
  if (!canary) return { stable: builds.stable.buildId, canary: null, weight: 0, salt: null, ...carried };
  if (!salt) throw new Error('a rollout state with a canary needs a salt');
  return { stable: builds.stable.buildId, canary: canary.buildId, weight: canary.weight, salt, ...carried };
}

export interface SyncPlan {
  readonly state: RolloutState;
  /** The stored value. */
  readonly text: string;
  readonly saltSource: SaltSource;
  /** The stored value differs (or there is none): write. */
  readonly write: boolean;
  /** The canary has no viewers: its alarm fired, or the judge found it failing, or its hold ran out. */
  readonly held: boolean;
  /** The weight is held below what the steps would give by now: why, and since when. */
  readonly hold: { readonly reason: string; readonly since: number } | null;
}

/**
 * What the judge allows the deployment's canary: the release's progress (contracts/release-progress.ts), and whether
 * the judge can see.
 */
export interface JudgedRelease {
  readonly progress: ReleaseProgress;
  /** The unjudged alarm fires: the weight may hold or fall, never rise. */
  readonly blind: boolean;
  /** The judge's last words on the release, for the hold's reason. */
  readonly verdictReason: string | null;
}

/**
 * The state for this alias, deployment and judgment. With a release judged (a deployment shifting
 * the alias to the canary), the weight is the release's progress, not the alias's: CodeDeploy holds
 * the alias at the first step, and the judge moves viewers on (config/rollout.ts). A judge that
 * cannot see keeps the weight where the store has it, or lower. `holdCanary`: the canary gets no
 * viewers whatever the alias says (its alarm fires, or its deployment was rolled back and CodeDeploy
 * has not moved the alias back yet).
 */
export function planSync(
  builds: AliasBuilds,
  deployment: DeploymentSummary | null,
  current: { readonly text: string; readonly state: RolloutState | null } | null,
  holdCanary = false,
  judged: JudgedRelease | null = null,
): SyncPlan {
  const canary = effectiveCanary(builds);
  const ended =
    judged !== null && (judged.progress.outcome === 'failed' || judged.progress.outcome === 'not-enough-evidence');
  const held = (holdCanary || ended) && canary !== null;
  let shown: AliasBuilds = held ? { stable: builds.stable, canary: null } : builds;
  let hold: SyncPlan['hold'] = null;
  if (!held && canary !== null && judged !== null) {
    const { progress } = judged;
    const before = current?.state?.canary === canary.buildId ? current.state.weight : 0;
    const weight = judged.blind ? Math.min(progress.weight, before) : progress.weight;
    if (judged.blind && (weight < progress.weight || progress.heldSince !== null)) {
      hold = {
        reason:
          'the judge cannot see: the unjudged alarm fires (late or lost log records, a full stream, the ' +
          'consumer failing)',
        since: progress.heldSince ?? progress.stepSince,
      };
    } else if (progress.heldSince !== null)
      hold = { reason: judged.verdictReason ?? 'no evidence yet: no canary viewer counted', since: progress.heldSince };
    shown =
      weight > 0 ? { stable: builds.stable, canary: { ...canary, weight } } : { stable: builds.stable, canary: null };
  }
  const { salt, source } = chooseSalt(shown, deployment, current?.state ?? null);
  const state = rolloutStateFor(shown, salt, current?.state?.ring ?? [], current?.state?.previews);
  const text = formatRolloutState(state);
  return { state, text, saltSource: source, write: current?.text !== text, held, hold };
}

/**
 * The regional side of the distribution, locally: simulated CodeDeploy (codedeploy-simulator.ts),
 * rollout sync's real core writing the rollout state into the local KeyValueStore after announcing
 * it to the signal's timeline (signal-timeline.ts), and the release's two alarms (alarm.ts: the
 * stack's own metric math) over the local metric store (metric-store.ts), which the signal
 * consumer's runner (signal-runner.ts) fills with what the consumer emits and what Kinesis and
 * Lambda would publish.
 *
 * Time is the local mode's clock: simulated minutes pass `timeScale` times faster than real ones,
 * so the default config's nine-minute linear rollout runs in 90 s at `npm start`'s default scale of
 * 6 (status-line.ts, DEFAULT_TIME_SCALE). `tick()` does what AWS does continuously: moves
 * the deployment on, evaluates both alarms (CodeDeploy rolls the deployment back when either
 * fires), and runs rollout sync, which holds the canary while either fires. In AWS, rollout sync
 * runs on the deployment's state changes, each alarm change and every minute; here it runs on
 * every tick, which is never later than AWS would.
 */
import type { Clock } from '../loopback/clock';
import type { DeployConfig } from '../config';
import { resourceNames } from '../config';
import { releaseWindowMinutes, rolloutSteps } from '../config/rollout';
import { releaseProgress, type JudgmentRecord } from '../contracts/release-progress';
import { statePropagationMs } from '../contracts/release-signal';
import {
  releaseFacts,
  releaseNotification,
  type DeploymentEventState,
  type ReleaseEvent,
  type ReleaseNotification,
} from '../contracts/release-notification';
import type { Revocation } from '../contracts/revocation';
import { parseRolloutState } from '../contracts/rollout-state';
import { planSync, type JudgedRelease, type SyncPlan } from '../rollout-control/sync-plan';
import { addRolloutWeight, functionMetrics, takeMetrics } from '../regional-function/shared/observability';
import {
  CLIENT_ERROR_ALARM_RULE,
  clientErrorAlarm,
  evaluateAlarm,
  unjudgedAlarm,
  type AlarmDefinition,
  type AlarmRule,
  type AlarmVerdict,
} from './alarm';
import {
  advance,
  aliasBuilds,
  deploymentSummary,
  initialState,
  publishVersion,
  rollBack,
  startDeployment,
  type CodeDeployState,
  type SimulatedDeployment,
} from './codedeploy-simulator';
import { LocalMetricStore } from './metric-store';
import { LocalTimeline } from './signal-timeline';

/** Where the local mode counts edge function errors (CloudFront's own metrics in AWS). */
export const EDGE_ERROR_NAMESPACE = 'AWS/CloudFront';
export const EDGE_ERROR_METRIC = 'EdgeFunctionErrors';

/** Periods of history the local dashboard shows. */
export const DASHBOARD_PERIODS = 30;

/** Real time sped up `timeScale` times, starting at the real time of the call. */
export function scaledClock(timeScale: number, realNow: () => number = Date.now): Clock {
  if (!(timeScale > 0)) throw new Error(`time scale must be a positive number; got ${timeScale}`);
  const start = realNow();
  return { now: () => start + (realNow() - start) * timeScale, at: (real) => start + (real - start) * timeScale };
}

/**
 * A clock a test sets by hand: it reads what it was last set to, and remembers when (real time) each setting was made.
 */
export interface ManualClock extends Clock {
  set(local: number): void;
  at(realMs: number): number;
}

export function manualClock(start: number, realNow: () => number = Date.now): ManualClock {
  let now = start;
  /** [real time of the setting, local time set], oldest first. */
  const settings: [[number, number], ...[number, number][]] = [[-Infinity, start]];
  return {
    now: () => now,
    set(local) {
      now = local;
      settings.push([realNow(), local]);
      // Only what a record still in flight can need: a few seconds of history.
      const horizon = realNow() - 60_000;
      while (settings.length > 2 && settings[1]![0] < horizon) settings.shift();
    },
    // Real time has millisecond steps (Kinesis's arrival timestamps too): an arrival in the same
    // millisecond as a setting is taken as before it, since a test sets the clock after what it
    // sent has been answered, and sends what belongs to the new time only after a poll there.
    at(real) {
      let value = settings[0][1];
      for (const [when, local] of settings) if (when < real) value = local;
      return value;
    },
  };
}

export interface ControlPlaneOptions {
  readonly config: DeployConfig;
  readonly initialBuildId: string;
  readonly clock: Clock;
  /**
   * Where the edges read the rollout state: read on every sync (the ring and the previews are edited there too),
   * written when it changes.
   */
  readonly store: { read(): string | undefined; write(text: string): void };
  /** The rule of both alarms (the unjudged alarm takes its period and M of N). @default config.alarms */
  readonly alarm?: AlarmRule;
  /**
   * How long after a state is announced the edges may still serve the one before it. @default
   * statePropagationMs(config.edge)
   */
  readonly statePropagationMs?: number;
  /** What each notification links as the dashboard. @default the dashboard's name, marked local */
  readonly dashboardUrl?: string;
  /** The revoked builds the store holds, oldest first, for the status. @default none */
  readonly revocations?: () => readonly Revocation[];
}

export interface ControlPlaneStatus {
  /** When the status was taken, on the local mode's clock (the one the local edge ends previews by). */
  readonly now: number;
  readonly stable: { readonly version: string; readonly buildId: string };
  readonly canary: { readonly version: string; readonly buildId: string; readonly weight: number } | null;
  readonly deployment: { readonly id: string; readonly status: string; readonly error: string | null } | null;
  /** The rollout state as stored. */
  readonly state: string;
  /** The client-error alarm (the canary's error share against the stable build's); null before the first evaluation. */
  readonly alarm: AlarmVerdict | null;
  /** The unjudged alarm (periods the signal could not judge); null before the first evaluation. */
  readonly unjudgedAlarm: AlarmVerdict | null;
  /** The running (or last) release's judgment, as the consumer keeps it; null before any. */
  readonly judgment: JudgmentRecord | null;
  /**
   * The release's outcome so far and why its weight is held, as rollout sync decided at the last tick; null with no
   * release judged.
   */
  readonly release: { readonly outcome: string; readonly weight: number; readonly hold: SyncPlan['hold'] } | null;
  readonly versions: Readonly<Record<string, string>>;
  /**
   * What the distribution's topic would have heard, newest last (at most NOTIFICATIONS_KEPT): each
   * deployment start, success, stop and failure, each change of the client-error alarm and each
   * revocation, in the words rollout sync publishes them with (contracts/release-notification.ts).
   */
  readonly notifications: readonly ReleaseNotification[];
  /** The revoked builds (contracts/revocation.ts), oldest first: when and why each was revoked. */
  readonly revocations: readonly Revocation[];
}

/** Notifications the local mode keeps for its status line and dashboard. */
export const NOTIFICATIONS_KEPT = 20;

/** The local deployment statuses as CodeDeploy's state-change events name them. */
const EVENT_STATE: Readonly<Record<SimulatedDeployment['status'], DeploymentEventState>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Stopped: 'STOP',
  Failed: 'FAILURE',
};

export class ControlPlane {
  private state: CodeDeployState;
  /** CloudWatch, locally: what the signal consumer and rollout sync emit, and what AWS's services publish. */
  readonly metrics = new LocalMetricStore();
  /**
   * The timeline of rollout states the signal consumer judges by; every state is announced here before it is written.
   */
  readonly timeline = new LocalTimeline();
  /**
   * The release-signal table's judgment records, by salt: the consumer's runner writes them, rollout sync reads them.
   */
  readonly judgments = new Map<string, JudgmentRecord>();
  private lastRelease: ControlPlaneStatus['release'] = null;
  private lastSalt: string | null = null;
  private lastAlarm: AlarmVerdict | null = null;
  private lastUnjudged: AlarmVerdict | null = null;
  private readonly notices: ReleaseNotification[] = [];
  /** The deployment and alarm states the last tick saw: a change since is a notification. */
  private seen: { readonly deployment: string | null; readonly alarm: string | null } = {
    deployment: null,
    alarm: null,
  };
  private readonly rule: AlarmRule;
  private readonly clientErrors: AlarmDefinition;
  private readonly unjudged: AlarmDefinition;
  private readonly propagationMs: number;
  private readonly emitter;
  private readonly listeners: ((status: ControlPlaneStatus) => void)[] = [];

  constructor(private readonly options: ControlPlaneOptions) {
    this.state = initialState(options.initialBuildId);
    this.rule = options.alarm ?? options.config.alarms;
    const { config } = options;
    const names = resourceNames(config);
    this.clientErrors = clientErrorAlarm(this.metrics, config.metrics.namespace);
    this.unjudged = unjudgedAlarm(this.metrics, config.metrics.namespace, config.metrics.latenessSeconds, {
      consumerFunction: names.signalConsumer,
      stream: names.signalStream,
    });
    this.propagationMs = options.statePropagationMs ?? statePropagationMs(config.edge);
    // The simulated clock runs ahead of real time: CloudWatch would refuse such timestamps, and
    // Powertools says so on every metric. Here the local store takes them as they are.
    const quiet = () => undefined;
    this.emitter = functionMetrics(config.metrics.namespace, 'local', {
      debug: quiet,
      info: quiet,
      warn: quiet,
      error: quiet,
    });
    this.sync();
  }

  /** A deploy of a new build: a new entry-router version, then the release function's deployment. */
  release(buildId: string): { version: string; deploymentId: string } {
    const published = publishVersion(this.state, buildId);
    this.state = startDeployment(
      published.state,
      published.version,
      codeDeploySteps(this.options.config.rollout, this.rule.holdMinutes),
      this.options.clock.now(),
    );
    this.tick();
    return { version: published.version, deploymentId: this.state.deployment!.id };
  }

  /** `rollout stop` / `rollout rollback` during a deployment. */
  stop(reason = 'stopped by the user'): void {
    this.state = rollBack(this.state, this.options.clock.now(), reason, 'Stopped');
    this.tick();
  }

  tick(): ControlPlaneStatus {
    const now = this.options.clock.now();
    this.state = advance(this.state, now);
    // CloudWatch evaluates both alarms all the time; CodeDeploy watches the verdict's during a deployment.
    this.lastAlarm = evaluateAlarm(this.clientErrors, CLIENT_ERROR_ALARM_RULE, now);
    this.lastUnjudged = evaluateAlarm(this.unjudged, this.rule, now);
    if (this.state.deployment?.status === 'InProgress' && this.lastAlarm.state === 'ALARM')
      this.state = rollBack(this.state, now, `alarm: ${this.lastAlarm.reason}`, 'Failed');
    this.sync();
    this.notifyChanges(now);
    const status = this.status();
    for (const listener of this.listeners) listener(status);
    return status;
  }

  /**
   * The messages rollout sync would publish for what changed since the last tick: the deployment's
   * status (as CodeDeploy's state-change event) and the client-error alarm's state (as CloudWatch's).
   */
  private notifyChanges(now: number): void {
    const d = this.state.deployment;
    const deployment = d ? `${d.id} ${d.status}` : null;
    const alarm = this.lastAlarm?.state ?? null;
    const events: { event: ReleaseEvent; canary: string | null; reason: string | null }[] = [];
    if (d && deployment !== this.seen.deployment) {
      const startedUnseen = this.seen.deployment === null || !this.seen.deployment.startsWith(`${d.id} `);
      // A deployment that ended before any tick saw it run is reported from its start all the same.
      if (startedUnseen && d.status !== 'InProgress')
        events.push({
          event: { kind: 'deployment', state: 'START', deploymentId: d.id, rollback: false },
          canary: this.state.versions[d.toVersion] ?? null,
          reason: null,
        });
      events.push({
        event: { kind: 'deployment', state: EVENT_STATE[d.status], deploymentId: d.id, rollback: false },
        canary: this.state.versions[d.toVersion] ?? null,
        reason: d.status === 'Stopped' || d.status === 'Failed' ? d.error : null,
      });
    }
    if (alarm !== null && alarm !== this.seen.alarm && (this.seen.alarm !== null || alarm === 'ALARM'))
      events.push({
        event: {
          kind: 'alarm',
          alarm: resourceNames(this.options.config).clientErrorAlarm,
          state: alarm,
          reason: this.lastAlarm?.reason ?? null,
        },
        // The release the alarm is about, whose canary may have lost its viewers already.
        canary: d && d.status !== 'Succeeded' ? (this.state.versions[d.toVersion] ?? null) : null,
        reason: null,
      });
    this.seen = { deployment, alarm };
    this.record(events, now);
  }

  /**
   * A release event from outside the deployment and the alarms (a revocation), recorded as rollout
   * sync publishes it, in the same words as every other notification.
   */
  notify(event: ReleaseEvent): void {
    this.record([{ event, canary: null, reason: null }], this.options.clock.now());
  }

  /** The messages for `events`, over the state the store holds now, kept for the status line and the dashboard. */
  private record(
    events: readonly { event: ReleaseEvent; canary: string | null; reason: string | null }[],
    now: number,
  ): void {
    if (events.length === 0) return;
    const current = parseRolloutState(this.options.store.read());
    if (current === null) return;
    const names = resourceNames(this.options.config);
    for (const { event, canary, reason } of events) {
      const message = releaseNotification(event, releaseFacts(current, this.timeline.read(), canary, reason), {
        distribution: this.options.config.name,
        dashboard: this.options.dashboardUrl ?? `local: ${names.dashboard}`,
        at: now,
      });
      if (message !== null) this.notices.push(message);
    }
    this.notices.splice(0, Math.max(0, this.notices.length - NOTIFICATIONS_KEPT));
  }

  onTick(listener: (status: ControlPlaneStatus) => void): void {
    this.listeners.push(listener);
  }

  /** Datapoints older than the dashboard shows (and so than any alarm window) are of no further use. */
  prune(): void {
    this.metrics.prune(this.options.clock.now() - DASHBOARD_PERIODS * this.rule.periodSeconds * 1000);
  }

  /** An edge function failed (what CloudFront counts as LambdaExecutionError or FunctionExecutionErrors). */
  recordEdgeError(): void {
    this.metrics.add({
      namespace: EDGE_ERROR_NAMESPACE,
      metricName: EDGE_ERROR_METRIC,
      dimensions: {},
      value: 1,
      at: this.options.clock.now(),
    });
  }

  /**
   * A write of the rollout state by another writer (`rollout ring`, `rollout preview`, a
   * revocation ending a build's previews): announced to the timeline first, as every writer does,
   * then written with `write`.
   */
  announceAndWrite(text: string, write: () => void): void {
    this.timeline.announce(text, this.options.clock.now(), { propagationMs: this.propagationMs });
    write();
  }

  get alarmRule(): AlarmRule {
    return this.rule;
  }

  /** The alarms as defined (for the dashboard's panels). */
  get alarms(): { readonly clientErrors: AlarmDefinition; readonly unjudged: AlarmDefinition } {
    return { clientErrors: this.clientErrors, unjudged: this.unjudged };
  }

  status(): ControlPlaneStatus {
    const builds = aliasBuilds(this.state);
    const d = this.state.deployment;
    return {
      now: this.options.clock.now(),
      stable: builds.stable,
      canary: builds.canary,
      deployment: d ? { id: d.id, status: d.status, error: d.error } : null,
      state: this.options.store.read() ?? '',
      alarm: this.lastAlarm,
      unjudgedAlarm: this.lastUnjudged,
      judgment: this.lastSalt === null ? null : (this.judgments.get(this.lastSalt) ?? null),
      release: this.lastRelease,
      versions: this.state.versions,
      notifications: [...this.notices],
      revocations: [...(this.options.revocations?.() ?? [])],
    };
  }

  /**
   * Rollout sync on what the alias, CodeDeploy and the judge say now, over what the store holds:
   * its core (planSync) with the release's progress, as rollout-control/rollout-sync.ts
   * gives it; and, as sync does, a release that failed or ran out of evidence is stopped with
   * rollback once the store holds no canary.
   */
  private sync(): void {
    const now = this.options.clock.now();
    const text = this.options.store.read();
    const builds = aliasBuilds(this.state);
    const deployment = deploymentSummary(this.state);
    let judged: JudgedRelease | null = null;
    if (deployment?.active && builds.canary && deployment.toVersion === builds.canary.version) {
      const record = this.judgments.get(deployment.id) ?? null;
      this.lastSalt = deployment.id;
      const progress = releaseProgress(
        rolloutSteps(this.options.config.rollout),
        {
          startedAt: deployment.createTime!.getTime(),
          healthyAt: record?.healthyAt ?? {},
          failedAt: record?.failedAt ?? null,
        },
        this.rule.holdMinutes * 60_000,
        now,
      );
      judged = { progress, blind: this.lastUnjudged?.state === 'ALARM', verdictReason: record?.last?.reason ?? null };
    }
    const plan = planSync(
      builds,
      deployment,
      text === undefined ? null : { text, state: parseRolloutState(text) },
      this.lastAlarm?.state === 'ALARM',
      judged,
    );
    if (plan.write) {
      // Announced first: the consumer counts a viewer only where every state the edges may serve agrees.
      this.timeline.announce(plan.text, now, { propagationMs: this.propagationMs });
      this.options.store.write(plan.text);
    }
    if (judged !== null)
      this.lastRelease = { outcome: judged.progress.outcome, weight: plan.state.weight, hold: plan.hold };
    if (
      plan.held &&
      judged !== null &&
      (judged.progress.outcome === 'failed' || judged.progress.outcome === 'not-enough-evidence')
    ) {
      const why =
        judged.progress.outcome === 'failed'
          ? `the judge found the canary failing: ${this.judgments.get(deployment!.id)?.failure ?? ''}`
          : 'not enough evidence: a step held past its hold time';
      this.state = rollBack(this.state, now, why, 'Stopped');
    }
    // A state in the store nobody announced (Terraform created the key, a write from elsewhere):
    // into the timeline, as possibly served since the state before it.
    const stored = this.options.store.read();
    if (stored !== undefined)
      this.timeline.announce(stored, now, { propagationMs: this.propagationMs, seenOnly: true });
    addRolloutWeight(this.emitter, plan.state.weight, now);
    this.metrics.ingest(takeMetrics(this.emitter));
  }
}

/**
 * The steps CodeDeploy itself takes (config/rollout.ts): the first step held for the release's window, then everyone;
 * all at once as it is.
 */
export function codeDeploySteps(
  rollout: DeployConfig['rollout'],
  holdMinutes: number,
): { readonly atMinute: number; readonly weight: number }[] {
  const steps = rolloutSteps(rollout);
  const [first, second] = steps;
  if (first === undefined || second === undefined) return steps;
  return [
    { atMinute: 0, weight: first.weight },
    { atMinute: releaseWindowMinutes(rollout, holdMinutes), weight: 10000 },
  ];
}

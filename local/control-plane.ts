/**
 * The regional side of the distribution, locally: simulated CodeDeploy (codedeploy-simulator.ts),
 * the metrics API's real core with an in-memory viewer ledger, emitting its metrics through the
 * same Powertools code as in AWS into a local metric store (metric-store.ts), the client error
 * alarm (alarm.ts: the stack's own metric math), and rollout sync's real core writing the rollout
 * state into the local KeyValueStore.
 *
 * Time is the local mode's clock: simulated minutes pass `timeScale` times faster than real ones,
 * so the default config's nine-minute linear rollout runs in 90 s at `npm start`'s default scale of
 * 6 (local-distribution.ts, DEFAULT_TIME_SCALE). `tick()` does what
 * AWS does continuously: moves the deployment on, evaluates the alarm (and rolls back when it
 * fires), and runs rollout sync. In AWS, rollout sync runs on the deployment's state changes and
 * every minute; here it runs on every tick, which is never later than AWS would.
 */
import type { DeployConfig } from '../config';
import { rolloutSteps } from '../config/rollout';
import { parseRolloutState } from '../contracts/rollout-state';
import { beaconSettingsFrom, handleBeacon, originSecretHash, type BeaconDependencies, type BeaconRequest, type BeaconResponse, type BeaconSettings } from '../regional-function/metrics-api/core';
import { MemoryViewerLedger } from '../regional-function/metrics-api/viewer-ledger';
import { planSync } from '../regional-function/rollout-sync/core';
import { addCountedViewer, addRolloutWeight, functionMetrics, takeMetrics } from '../regional-function/shared/observability';
import { evaluateReleaseAlarm, type AlarmRule, type AlarmVerdict } from './alarm';
import { LocalMetricStore } from './metric-store';
import { advance, aliasBuilds, deploymentSummary, initialState, publishVersion, rollBack, startDeployment, type CodeDeployState } from './codedeploy-simulator';

/** Where the local mode counts edge function errors (CloudFront's own metrics in AWS). */
export const EDGE_ERROR_NAMESPACE = 'AWS/CloudFront';
export const EDGE_ERROR_METRIC = 'EdgeFunctionErrors';

/** Periods of history the local dashboard shows. */
export const DASHBOARD_PERIODS = 30;

export interface Clock {
  /** ms on the local mode's (simulated) time line. */
  now(): number;
}

/** Real time sped up `timeScale` times, starting at the real time of the call. */
export function scaledClock(timeScale: number, realNow: () => number = Date.now): Clock {
  if (!(timeScale > 0)) throw new Error(`time scale must be a positive number; got ${timeScale}`);
  const start = realNow();
  return { now: () => start + (realNow() - start) * timeScale };
}

export interface ControlPlaneOptions {
  readonly config: DeployConfig;
  readonly initialBuildId: string;
  readonly clock: Clock;
  /** Where the edges read the rollout state: read on every sync (the ring is edited there too), written when it changes. */
  readonly store: { read(): string | undefined; write(text: string): void };
  /** The alarm rule. @default config.alarms */
  readonly alarm?: AlarmRule;
  /** What CloudFront sends the metrics API (x-origin-verify); requests without it are refused. */
  readonly originSecret: string;
}

export interface ControlPlaneStatus {
  readonly stable: { readonly version: string; readonly buildId: string };
  readonly canary: { readonly version: string; readonly buildId: string; readonly weight: number } | null;
  readonly deployment: { readonly id: string; readonly status: string; readonly error: string | null } | null;
  /** The rollout state as stored. */
  readonly state: string;
  readonly alarm: AlarmVerdict | null;
  readonly versions: Readonly<Record<string, string>>;
}

export class ControlPlane {
  private state: CodeDeployState;
  /** CloudWatch, locally: what the metrics API and rollout sync emit. */
  readonly metrics = new LocalMetricStore();
  private lastAlarm: AlarmVerdict | null = null;
  private readonly rule: AlarmRule;
  private readonly beaconSettings: BeaconSettings;
  private readonly beaconDeps: BeaconDependencies;
  private readonly emitter;
  private readonly listeners: ((status: ControlPlaneStatus) => void)[] = [];

  constructor(private readonly options: ControlPlaneOptions) {
    this.state = initialState(options.initialBuildId);
    this.rule = options.alarm ?? options.config.alarms;
    const { config, clock } = options;
    this.beaconSettings = beaconSettingsFrom({
      ALLOWED_ORIGINS: JSON.stringify(config.metrics.allowedOrigins),
      MAX_BATCH: String(config.metrics.maxBatch),
      ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash(options.originSecret)]),
      PERIOD_SECONDS: String(this.rule.periodSeconds),
    });
    // The state as the edges read it, at once: in AWS the metrics API reads rollout sync's copy,
    // at most metrics.stateCacheSeconds old; here the copy is the store itself.
    this.beaconDeps = {
      state: async () => {
        const text = options.store.read();
        return text === undefined ? null : parseRolloutState(text);
      },
      ledger: new MemoryViewerLedger(() => clock.now() / 1000),
      now: () => clock.now(),
    };
    // The simulated clock runs ahead of real time: CloudWatch would refuse such timestamps, and
    // Powertools says so on every metric. Here the local store takes them as they are.
    const quiet = () => undefined;
    this.emitter = functionMetrics(config.metrics.namespace, 'local', { debug: quiet, info: quiet, warn: quiet, error: quiet });
    this.sync();
  }

  /** The metrics API, answered by its own core; what it emits lands in the local metric store. */
  readonly metricsApi = async (request: BeaconRequest): Promise<BeaconResponse> => {
    const outcome = await handleBeacon(request, this.beaconSettings, this.beaconDeps);
    if (outcome.counted && addCountedViewer(this.emitter, outcome.counted, this.options.clock.now())) this.metrics.ingest(takeMetrics(this.emitter));
    return outcome.response;
  };

  /** A deploy of a new build: a new entry-router version, then the release function's deployment. */
  release(buildId: string): { version: string; deploymentId: string } {
    const published = publishVersion(this.state, buildId);
    this.state = startDeployment(published.state, published.version, rolloutSteps(this.options.config.rollout), this.options.clock.now());
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
    const running = this.state.deployment?.status === 'InProgress' ? this.state.deployment : null;
    if (running) {
      this.lastAlarm = evaluateReleaseAlarm(this.metrics, this.options.config.metrics.namespace, this.rule, now);
      if (this.lastAlarm.state === 'ALARM') this.state = rollBack(this.state, now, `alarm: ${this.lastAlarm.reason}`, 'Failed');
    }
    this.sync();
    const status = this.status();
    for (const listener of this.listeners) listener(status);
    return status;
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
    this.metrics.add({ namespace: EDGE_ERROR_NAMESPACE, metricName: EDGE_ERROR_METRIC, dimensions: {}, value: 1, at: this.options.clock.now() });
  }

  get alarmRule(): AlarmRule {
    return this.rule;
  }

  status(): ControlPlaneStatus {
    const builds = aliasBuilds(this.state);
    const d = this.state.deployment;
    return {
      stable: builds.stable,
      canary: builds.canary,
      deployment: d ? { id: d.id, status: d.status, error: d.error } : null,
      state: this.options.store.read() ?? '',
      alarm: this.lastAlarm,
      versions: this.state.versions,
    };
  }

  /** Rollout sync's core on what the alias and CodeDeploy say now, over what the store holds. */
  private sync(): void {
    const text = this.options.store.read();
    const firing = this.lastAlarm?.state === 'ALARM';
    const plan = planSync(aliasBuilds(this.state), deploymentSummary(this.state), text === undefined ? null : { text, state: parseRolloutState(text) }, firing);
    if (plan.write) this.options.store.write(plan.text);
    addRolloutWeight(this.emitter, plan.state.weight, this.options.clock.now());
    this.metrics.ingest(takeMetrics(this.emitter));
  }
}

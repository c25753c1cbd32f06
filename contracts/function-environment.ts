/**
 * Environment of each regional function: the stacks set exactly these variables and the handlers
 * read exactly these, so a renamed variable is a compile error on both sides.
 */
export interface RolloutSyncEnvironment {
  /** Name of the entry router function whose alias is mirrored. */
  readonly ENTRY_ROUTER_FUNCTION: string;
  readonly LIVE_ALIAS: string;
  /** ARN of the CloudFront KeyValueStore holding the rollout state. */
  readonly ROLLOUT_STORE_ARN: string;
  readonly METRICS_NAMESPACE: string;
  readonly CODEDEPLOY_APPLICATION: string;
  readonly CODEDEPLOY_DEPLOYMENT_GROUP: string;
  /** The client error alarm: while it is in ALARM, the state names no canary. */
  readonly CLIENT_ERROR_ALARM: string;
  /**
   * The release-signal table: rollout sync announces each state there before it writes it (the signal consumer's
   * timeline).
   */
  readonly SIGNAL_TABLE: string;
  /** JSON object region → replica bucket: each run checks the assigned builds are in every one. */
  readonly BUCKETS: string;
  /**
   * The unjudged alarm (periods the signal consumer could not see whole): while it is in ALARM, the state names no
   * canary either.
   */
  readonly SIGNAL_UNJUDGED_ALARM: string;
  /**
   * How long after a state is announced the edges may still serve the one before it, ms (contracts/release-signal.ts).
   */
  readonly STATE_PROPAGATION_MS: string;
  /** JSON array of the configured steps ({atMinute, weight}: config/rollout.ts rolloutSteps), which the judge paces. */
  readonly ROLLOUT_STEPS: string;
  /** config.alarms.holdMinutes: how long a step may wait for its evidence past its time. */
  readonly HOLD_MINUTES: string;
  /** The distribution's SNS topic: each deployment and alarm state change this run handles is published there. */
  readonly NOTIFICATION_TOPIC_ARN: string;
  /** config.name, which each message names. */
  readonly DISTRIBUTION_NAME: string;
  /** The release dashboard's URL, which each message links. */
  readonly DASHBOARD_URL: string;
}

export interface ReleaseEnvironment {
  readonly ENTRY_ROUTER_FUNCTION: string;
  readonly LIVE_ALIAS: string;
  readonly CODEDEPLOY_APPLICATION: string;
  readonly CODEDEPLOY_DEPLOYMENT_GROUP: string;
  /** JSON object region → replica bucket: a build is released only when it is in each. */
  readonly BUCKETS: string;
  /** The rollout store: a build revoked there is never released. */
  readonly ROLLOUT_STORE_ARN: string;
}

export interface SignalConsumerEnvironment {
  readonly METRICS_NAMESPACE: string;
  /** The release-signal table: the timeline of rollout states and the consumer's checkpoint. */
  readonly SIGNAL_TABLE: string;
  /** The alarm's period in seconds: a voice counts once per period and role. */
  readonly PERIOD_SECONDS: string;
  /** How long after a period's end its records may still arrive, in seconds. */
  readonly LATENESS_SECONDS: string;
  /** The real-time log configuration: the consumer asks CloudFront the order its fields are written in. */
  readonly REALTIME_LOG_CONFIG_ARN: string;
  /** JSON of the judge's rule (contracts/canary-judge.ts JudgeRule: the config's alarms). */
  readonly JUDGE_RULE: string;
  /** Rollout sync's function name: invoked at once when the judge decides, rather than at its next minute. */
  readonly ROLLOUT_SYNC_FUNCTION: string;
  /**
   * JSON array of the configured steps: the consumer asks rollout sync to move on the moment a step judged healthy is
   * due.
   */
  readonly ROLLOUT_STEPS: string;
}

/** The input Terraform's aws_lambda_invocation passes to the release function. */
export interface ReleaseInput {
  /** The entry router version the deploy just published (a number, as a string). */
  readonly version: string;
  readonly buildId: string;
}

/** Reads the variables a handler needs, failing with the names of those missing. */
export function readEnvironment<T extends object>(
  names: readonly (keyof T & string)[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): T {
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`missing environment variables: ${missing.join(', ')}`);
  return Object.fromEntries(names.map((name) => [name, env[name]])) as T;
}

/**
 * The shape of `deploy.config.json`: every setting, its type, limits, default and what it means.
 * It is the one source of the loader's validation, the JSON Schema editors check the file against
 * (deploy.config.schema.json) and the reference (docs/configuration.md), so a description written
 * here is what a user reads everywhere. Checks that relate two settings live in the loader.
 */
import { z } from 'zod';
import { AWS_REGIONS, findRegion, supportsOriginAccessIdentity } from './regions';
import { closest } from '../contracts/schema-issues';

/** Runtimes Lambda@Edge accepts for new functions (CloudFront developer guide, read 2026-11). */
export const EDGE_RUNTIMES = ['nodejs22.x'] as const;
/** Runtimes Lambda no longer creates functions on, with when and what to use instead. */
const RETIRED_RUNTIMES: Readonly<Record<string, string>> = {
  'nodejs20.x':
    'Lambda blocks creating nodejs20.x functions from 2026-08-31 (and a release creates a new function version ' +
    'every deploy); use "nodejs22.x", the newest runtime Lambda@Edge accepts.',
  'nodejs18.x': 'Lambda no longer creates nodejs18.x functions; use "nodejs22.x".',
};
/** CloudFront price classes: which edge locations serve the distribution. */
export const PRICE_CLASSES = ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'] as const;
/** Runtimes for the regional functions (Lambda developer guide, read 2026-11). */
export const REGIONAL_RUNTIMES = ['nodejs24.x', 'nodejs22.x'] as const;
/** Values CloudWatch Logs accepts for retention_in_days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
const BACKEND_TYPES = ['local', 'cloud', 's3'] as const;
/**
 * Lambda@Edge's longest timeout for an origin-request function, in seconds (CloudFront developer guide, "Quotas on
 * Lambda@Edge").
 */
export const EDGE_TIMEOUT_SECONDS_MAX = 30;
/** The shortest bound on one bucket read the config accepts, in milliseconds. */
export const BUCKET_TIMEOUT_MS_MIN = 100;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// `_bucket.` is the longest prefix put in front of the domain; a DNS name is at most 253 characters.
const MAX_DOMAIN_LENGTH = 253 - '_bucket.'.length;

function isDomainName(value: string): boolean {
  const labels = value.split('.');
  return (
    value.length <= MAX_DOMAIN_LENGTH &&
    labels.length >= 2 &&
    labels.every((label) => LABEL.test(label)) &&
    !/^\d+$/.test(labels[labels.length - 1]!)
  );
}

const REGION_CODES = AWS_REGIONS.map((region) => region.code) as [string, ...string[]];
// CloudFront's origin access identity, which the chunk router's origin rewrite needs, cannot read
// S3 in regions opened after December 2022: those cannot hold a replica.
const BUCKET_REGION_CODES = REGION_CODES.filter(supportsOriginAccessIdentity) as [string, ...string[]];

function notARegion(value: unknown): string {
  const hint = typeof value === 'string' ? closest(value, REGION_CODES) : undefined;
  return (
    `${JSON.stringify(value)} is not an AWS region; ` +
    `${hint ? `did you mean "${hint}"?` : 'use a region code such as eu-west-1.'}`
  );
}

/** Any AWS region, by code. */
const awsRegion = z.enum(REGION_CODES, {
  error: (issue) => (issue.input === undefined ? undefined : notARegion(issue.input)),
});

/** A region that can hold a replica bucket. */
const bucketRegion = z.enum(BUCKET_REGION_CODES, {
  error: (issue) => {
    if (issue.input === undefined) return undefined;
    if (typeof issue.input === 'string' && findRegion(issue.input)) {
      return (
        `"${issue.input}" opened after December 2022, where CloudFront's origin access identity cannot read S3, ` +
        `and the chunk router's origin rewrite needs it; choose another region.`
      );
    }
    return notARegion(issue.input);
  },
});

const rolloutSchema = z
  .strictObject({
    strategy: z
      .enum(['canary', 'linear', 'all-at-once'])
      .default('canary')
      .describe(
        'How a new build reaches viewers. canary: `percent` of viewers first, everyone after ' +
          '`intervalMinutes`; linear: `percent` more every `intervalMinutes`; all-at-once: everyone immediately.',
      ),
    percent: z
      .number()
      .int()
      .min(1)
      .max(99)
      .default(10)
      .describe(
        'Share of viewers each step moves to the new build, in percent. A linear rollout needs a divisor of ' +
          '100, so no partial last step remains.',
      ),
    intervalMinutes: z
      .number()
      .int()
      .min(1)
      .max(2880)
      .default(5)
      .describe('Time between steps, in minutes; the alarms watch the canary during it.'),
  })
  .prefault({})
  .describe(
    'How a deployment shifts viewers from the stable build to the new one (a CodeDeploy deployment ' +
      'configuration; the local mode replays the same steps).',
  );

const alarmsSchema = z
  .strictObject({
    excessErrorPercent: z
      .number()
      .gt(0)
      .max(100)
      .default(5)
      .describe(
        "The excess a step must rule out before the weight rises: the evidence must show the canary's share of " +
          "viewers who saw an error at most this many percentage points above the stable build's. Also the old " +
          "per-period alarm's line, on the dashboard.",
      ),
    toleratedExcessPercent: z
      .number()
      .min(0)
      .max(100)
      .default(2)
      .describe(
        'How much worse than the stable build a canary may be, in percentage points, before it is rolled back ' +
          'as failing: it is, once the evidence shows its share of erroring viewers more than this above the ' +
          "stable build's. To fail a release an attacker must hold more than this share of the canary's viewers; " +
          'a few addresses can at most keep the evidence unclear, which holds the release until `holdMinutes` ' +
          'ends it for want of evidence, never pushes it through. Less than `excessErrorPercent`.',
      ),
    falseRollbackRate: z
      .number()
      .gt(0)
      .max(0.1)
      .default(0.001)
      .describe(
        'The most a healthy release may be rolled back by chance, over the whole release however often the ' +
          'judge looks (0.001: one release in a thousand).',
      ),
    holdMinutes: z
      .number()
      .int()
      .min(1)
      .max(1440)
      .default(30)
      .describe(
        'How long a step may wait past its `rollout.intervalMinutes` for the evidence that it is healthy; then ' +
          'the release ends as "not enough evidence" and is rolled back. A quiet widget (few viewers a minute) ' +
          'sets it higher: its steps then last until they are judged, never less than the configured interval.',
      ),
    minViewers: z
      .number()
      .int()
      .min(1)
      .max(100000)
      .default(50)
      .describe(
        'Distinct canary viewers a step needs, counted at its weight, before it can be judged healthy and ' +
          'the weight rises.',
      ),
    periodSeconds: z
      .number()
      .int()
      .min(60)
      .max(3600)
      .multipleOf(60)
      .default(60)
      .describe(
        'Length of one period, in seconds (a whole number of minutes): a viewer counts once a period and role, ' +
          'and the unjudged and edge-error alarms judge periods this long.',
      ),
    evaluationPeriods: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(3)
      .describe('Periods the unjudged and edge-error alarms look back over (the judge reads the whole release).'),
    datapointsToAlarm: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(2)
      .describe(
        'Periods among the last `evaluationPeriods` that must breach before the unjudged or edge-error alarm ' +
          'fires (the unjudged alarm holds the weight); at most `evaluationPeriods`.',
      ),
    edgeFunctionErrors: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe(
        'Lambda@Edge execution errors per period that fire the edge-error alarm (router code reaches every ' +
          'viewer at once; redeploy the previous commit to undo it).',
      ),
  })
  .prefault({})
  .describe(
    'How the judge weighs a canary against the stable build (contracts/canary-judge.ts), how long a step may ' +
      'wait for its evidence, and the alarms around it.',
  );

const retentionSchema = z
  .strictObject({
    keepBuilds: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('Newest builds kept in every bucket besides the stable and canary ones, for rollbacks.'),
    graceDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(7)
      .describe(
        'Days a retired build stays after its last upload, for viewers still running it; also how long S3 ' +
          'keeps noncurrent object versions.',
      ),
    logRetentionDays: z
      .literal(LOG_RETENTION_DAYS, {
        error: (issue) =>
          issue.input === undefined
            ? undefined
            : `must be one of the values CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}.`,
      })
      .default(30)
      .describe('Days CloudWatch Logs keeps the logs of every function; one of the values CloudWatch Logs accepts.'),
  })
  .prefault({})
  .describe('What cleanup keeps and for how long.');

/** An email address as SNS takes it for an email subscription: one address, no display name. */
const EMAIL = /^[^@\s<>(),;:"]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

const notificationsSchema = z
  .strictObject({
    emails: z
      .array(
        z
          .string()
          .regex(EMAIL, { message: 'is not an email address; write one address, like releases@example.com.' })
          .describe('An address that gets every release notification (it confirms the subscription once).'),
      )
      .max(20, { message: 'lists more than 20 addresses; subscribe a mailing list instead.' })
      .default([])
      .describe('Addresses subscribed to the release notifications by email.'),
    webhooks: z
      .array(
        z
          .string()
          .regex(/^https:\/\/[a-z0-9.-]+(?::[0-9]{1,5})?(?:\/[^\s]*)?$/i, {
            message: 'is not an https:// URL; SNS delivers to HTTPS endpoints only (no plain HTTP here).',
          })
          .describe("An HTTPS endpoint that gets every notification as SNS's JSON envelope (it confirms once)."),
      )
      .max(20, { message: 'lists more than 20 endpoints.' })
      .default([])
      .describe('HTTPS endpoints subscribed to the release notifications.'),
  })
  .prefault({})
  .describe(
    'Who hears about releases: one SNS topic per distribution gets a message for every ' +
      'deployment start, success, stop and rollback, and every alarm state change. Chat channels ' +
      'subscribe through Amazon Q Developer in chat applications (docs/deploy-guide.md).',
  );

const metricsSchema = z
  .strictObject({
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, {
        message: 'must be a CloudWatch namespace: 1 to 255 letters, digits and . _ / # : - only.',
      })
      .refine((value) => !value.startsWith('AWS/'), {
        message: 'must not start with AWS/ (reserved for AWS services).',
      })
      .default('EdgeWidget')
      .describe('CloudWatch namespace of the release metrics (views, errors, weight, missing builds).'),
    expectedLoadsPerDay: z
      .number()
      .int()
      .min(1)
      .max(10_000_000_000)
      .default(1_000_000)
      .describe(
        'Entry loads a day you expect (page views of the host pages that carry the widget). It sizes the ' +
          'release signal: CloudFront logs every entry load and error report to one Kinesis shard, read in order ' +
          'by one consumer that counts distinct viewers exactly, so the logs are sampled once the peak would pass ' +
          'what one shard takes (see `metrics.samplingPercent`).',
      ),
    peakToAverage: z
      .number()
      .min(1)
      .max(50)
      .default(3)
      .describe("Ratio of the busiest second's entry loads to the day's average: the shard must take the peak."),
    samplingPercent: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe(
        "Share of entry loads and error reports CloudFront's real-time logs carry, in percent. When absent: " +
          "100, or less when `expectedLoadsPerDay` × `peakToAverage` would pass 80 % of one shard's " +
          '1,000 records a second (about 23 at 100 million loads a day). A lower rate costs less and counts fewer ' +
          'viewers; both builds are sampled alike.',
      ),
    batchWindowSeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(1)
      .describe(
        "How long Lambda gathers the stream's records before it calls the signal consumer, in seconds (the " +
          "event source mapping's batching window). The judge looks at every batch, so this is the longest a " +
          "failing canary's evidence waits; each call costs a little (a checkpoint write, Lambda's own log " +
          'lines): at a million loads a day 5 s costs about $2.70 a month less and 10 s about $3 less, each at up ' +
          'to that many seconds of every rollback.',
      ),
    latenessSeconds: z
      .number()
      .int()
      .min(5)
      .max(300)
      .default(20)
      .describe(
        'How long after a period ends the consumer waits for its records before it counts it, in seconds. ' +
          'CloudFront delivers real-time logs within seconds, on a best-effort basis: a record that comes later ' +
          'than this makes the period it belongs to unjudged, never healthy.',
      ),
  })
  .prefault({})
  .describe(
    'The release signal: the metrics namespace, and how the entry loads and error reports CloudFront logs in ' +
      'real time are sized and counted.',
  );

const edgeSchema = z
  .strictObject({
    runtime: z
      .enum(EDGE_RUNTIMES, { error: (issue) => RETIRED_RUNTIMES[String(issue.input)] })
      .default('nodejs22.x')
      .describe('Lambda runtime of the Lambda@Edge routers; only runtimes Lambda@Edge accepts.'),
    priceClass: z
      .enum(PRICE_CLASSES)
      .default('PriceClass_All')
      .describe(
        'Which edge locations serve the distribution (CloudFront price class); it also decides in which ' +
          'regions Lambda@Edge writes logs.',
      ),
    memoryMb: z.number().int().min(128).max(10240).default(128).describe('Memory of the Lambda@Edge routers, in MB.'),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(EDGE_TIMEOUT_SECONDS_MAX)
      .default(5)
      .describe(
        'Timeout of the Lambda@Edge routers, in seconds; origin-request functions may run at most 30 s. It ' +
          "must hold the entry router's longest request, which the loader checks: `edge.storeTimeoutMs` + " +
          '`edge.dnsTimeoutMs` + `edge.bucketTimeoutMs` for each bucket it tries in turn (the nearest, the ' +
          "primary, the failover region's: up to 3) + 1 s for a cold start. Past it the viewer gets CloudFront's " +
          "function execution error instead of the router's answer.",
      ),
    stateCacheSeconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(60)
      .describe(
        'How long the entry router trusts a rollout state it read through the KeyValueStore API (its fallback ' +
          'when the viewer-assignment function could not read it), in seconds. Each read is an API call, billed ' +
          'at $1 per 1,000.',
      ),
    storeTimeoutMs: z
      .number()
      .int()
      .min(50)
      .max(5000)
      .default(500)
      .describe(
        'Longest an entry request waits for the KeyValueStore read of its fallback (see ' +
          '`edge.stateCacheSeconds`), in milliseconds.',
      ),
    bucketTimeoutMs: z
      .number()
      .int()
      .min(BUCKET_TIMEOUT_MS_MIN)
      .max(10000)
      .default(1000)
      .describe(
        "Longest one read of another build's entry from a bucket takes before the next bucket is tried, in " +
          'milliseconds. The entry router may try three buckets in turn, so with the other defaults its longest ' +
          'request is 0.5 + 0.2 + 3 × 1 s + 1 s of cold start = 4.7 s, inside `edge.timeoutSeconds` (5 s). An ' +
          'entry is a few KB: a healthy read takes tens of milliseconds from a nearby bucket, and 3 to 4 round ' +
          'trips (about 800 ms between Sydney and N. Virginia) on a fresh connection across an ocean. The bound ' +
          'was lowered from 2 s, which did not fit, rather than the timeout raised: a viewer on a cache miss ' +
          'waits out every bound that runs out before getting the build.',
      ),
    bucketCacheSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(60)
      .describe('How long the chunk router trusts the nearest-bucket answer (the `_bucket.` record), in seconds.'),
    dnsTimeoutMs: z
      .number()
      .int()
      .min(10)
      .max(5000)
      .default(200)
      .describe('Bound on one DNS lookup at the edge, in milliseconds; past it the router uses what it already knows.'),
    maxComputeUtilization: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(70)
      .describe(
        'Most of its compute budget the viewer-assignment CloudFront Function may use in any case ' +
          "`npm run verify-edge -- --cloudfront` runs through CloudFront's TestFunction, in percent (TestFunction's " +
          'ComputeUtilization: the time the function took as a share of the most it may take; CloudFront stops or ' +
          'throttles a function that runs over, and the viewer gets an error). The cases include the most work ' +
          'one load can ask for: a full ring and a viewer on none of its origins, and full previews and a viewer ' +
          'inside none of their prefixes. 70 leaves 30 points for the figure varying between runs and edges.',
      ),
  })
  .prefault({})
  .describe(
    'The Lambda@Edge routers (entry and chunk), how they cache what they read and how long they may wait; and ' +
      "the viewer-assignment function's compute budget.",
  );

const dnsSchema = z
  .strictObject({
    bucketRecordTtl: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(60)
      .describe(
        'TTL of the latency-routed `_bucket.<domain>` record naming the nearest healthy bucket region, in seconds.',
      ),
  })
  .prefault({})
  .describe('DNS records the stacks create.');

const backendSchema = z
  .discriminatedUnion(
    'type',
    [
      z
        .strictObject({
          type: z
            .literal('local')
            .describe(
              'State in `terraform.<stack>.tfstate` files in the project directory: for trying things out, not for CI.',
            ),
        })
        .describe('Local state files.'),
      z
        .strictObject({
          type: z.literal('cloud').describe('State in Terraform Cloud (or Terraform Enterprise) workspaces.'),
          organization: z
            .string()
            .min(1)
            .optional()
            .describe('Terraform Cloud organization. Falls back to TF_CLOUD_ORGANIZATION; one of the two is required.'),
          workspacePrefix: z
            .string()
            .regex(/^[A-Za-z0-9_-]+$/, {
              message: 'must be letters, digits, _ and - only (it prefixes workspace names).',
            })
            .optional()
            .describe(
              'Prefix of the workspace names: one workspace per stack, `<prefix>-<stack>`. Falls back to ' +
                'TF_WORKSPACE_PREFIX, then `name`.',
            ),
          hostname: z
            .string()
            .min(1)
            .optional()
            .describe('Terraform Cloud or Enterprise host. Falls back to TF_CLOUD_HOSTNAME, then app.terraform.io.'),
        })
        .describe('Terraform Cloud.'),
      z
        .strictObject({
          type: z.literal('s3').describe('State in an S3 bucket you own.'),
          bucket: z.string().min(3).describe('Name of the existing S3 bucket that holds the state.'),
          region: awsRegion.describe('Region of that bucket.'),
          keyPrefix: z
            .string()
            .regex(/^[A-Za-z0-9!_.*'()/-]*$/, {
              message: "must be an S3 key prefix of letters, digits and ! _ . * ' ( ) / - only.",
            })
            .default('edge-distribution')
            .describe('Key prefix of the state objects: `<prefix>/<stack>.tfstate`.'),
          useLockfile: z
            .boolean()
            .default(true)
            .describe('S3-native state locking (Terraform 1.10 or later); no DynamoDB table needed.'),
        })
        .describe('An S3 bucket.'),
    ],
    {
      error: (issue) => {
        const type =
          issue.code === 'invalid_union' && issue.input !== null && typeof issue.input === 'object'
            ? (issue.input as { type?: unknown }).type
            : undefined;
        return type === undefined
          ? undefined
          : `${JSON.stringify(type)} is not a backend; use one of ${BACKEND_TYPES.map((t) => `"${t}"`).join(', ')}.`;
      },
    },
  )
  .prefault({ type: 'local' })
  .describe('Where Terraform keeps the state of the stacks.');

export const configSchema = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .describe(
        'The JSON Schema editors check this file against (./deploy.config.schema.json). The loader ignores it.',
      ),
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,18}[a-z0-9]$/, {
        message:
          'must be 3 to 20 lowercase letters, digits or dashes, starting with a letter (it prefixes bucket and ' +
          'function names).',
      })
      .default('edge-widget')
      .describe(
        'Prefix of every resource name (buckets, functions, alarms, stacks): 3 to 20 lowercase letters, digits ' +
          'or dashes, starting with a letter.',
      ),
    domain: z
      .string()
      .refine(isDomainName, {
        message: 'is not a domain name; write it like widget.example.com (lowercase, no scheme, no trailing dot).',
      })
      .describe(
        'Domain the widget is served on, e.g. widget.example.com. The `_bucket.` record lives under it, and ' +
          'bucket names hash it.',
      ),
    hostedZone: z
      .strictObject({
        name: z
          .string()
          .refine(isDomainName, { message: 'is not a zone name; write it like example.com.' })
          .describe('Public Route53 zone that contains `domain`, e.g. example.com.'),
        id: z
          .string()
          .regex(/^Z[A-Z0-9]{1,32}$/, { message: 'is not a Route53 zone id (Z followed by letters and digits).' })
          .optional()
          .describe('Route53 zone id; when absent the stacks look the zone up by name.'),
      })
      .describe('The Route53 hosted zone the records go in.'),
    customDomain: z
      .boolean()
      .default(true)
      .describe('Serve on `domain` with an ACM certificate; false serves on the CloudFront domain only.'),
    primaryRegion: awsRegion.describe(
      'Region of the primary replica bucket, the origin CloudFront starts from; one of `regions`.',
    ),
    regions: z
      .array(
        bucketRegion.describe(
          'A region that can hold a replica bucket (opened before December 2022, so CloudFront can read S3 there).',
        ),
      )
      .min(1, { message: 'is empty; list at least the primary region, e.g. ["us-east-1"].' })
      .describe('Every region that holds a replica bucket, primary included, each once.'),
    failoverRegion: bucketRegion
      .optional()
      .describe(
        'Secondary origin for CloudFront failover; one of `regions` other than the primary. When absent, the ' +
          'configured region nearest the primary; with one region, no failover.',
      ),
    rollout: rolloutSchema,
    alarms: alarmsSchema,
    retention: retentionSchema,
    metrics: metricsSchema,
    edge: edgeSchema,
    regionalRuntime: z
      .enum(REGIONAL_RUNTIMES)
      .default('nodejs24.x')
      .describe('Lambda runtime of the regional functions (release, rollout sync, signal consumer).'),
    dns: dnsSchema,
    backend: backendSchema,
    notifications: notificationsSchema,
  })
  .describe('The configuration of one widget distribution (deploy.config.json).');

export type ParsedConfig = z.output<typeof configSchema>;
export type RolloutConfig = ParsedConfig['rollout'];
export type AlarmsConfig = ParsedConfig['alarms'];
export type BackendConfig = ParsedConfig['backend'];

/** Settings of earlier versions, with what replaced them: a config from before an upgrade says what to change. */
export const REMOVED_SETTINGS: Readonly<Record<string, string>> = {
  'edge.rolloutRefreshSeconds':
    'was removed with the _rollout DNS record: the viewer-assignment function reads the rollout state from a ' +
    'CloudFront KeyValueStore on every load. Delete it; edge.stateCacheSeconds sets how long the entry router ' +
    'trusts the state it reads in its fallback.',
  'dns.rolloutRecordTtl':
    'was removed with the _rollout DNS record (the rollout state lives in a CloudFront KeyValueStore now). Delete it.',
  'alarms.errorRatePercent':
    'was replaced by alarms.excessErrorPercent: the alarm now compares the share of canary viewers who saw an ' +
    'error with the same share among stable viewers, in percentage points. Rename it (the same number is a ' +
    'reasonable start).',
  'alarms.minLoads':
    'was replaced by alarms.minViewers: the release signal counts distinct viewers per period now, not ' +
    'loads. Rename it.',
  ...Object.fromEntries(
    [
      'endpoint',
      'allowedOrigins',
      'throttleRatePerSecond',
      'throttleBurst',
      'maxBatch',
      'stateCacheSeconds',
      'originSecretGeneration',
      'rateLimit',
    ].map((key) => [
      `metrics.${key}`,
      'was removed with the metrics API: the widget no longer posts beacons. CloudFront logs every entry load ' +
        'and every error report (GET /api/e on the distribution) in real time, and a consumer counts them, so ' +
        'there is no endpoint, origin list, throttle, secret or rate limit to set. Delete it.',
    ]),
  ),
};

/**
 * The one typed configuration of a distribution: read from `deploy.config.json`, validated once,
 * frozen. Everything else (stacks, build, edge bundles, scripts, local mode) takes a
 * `DeployConfig` and never re-reads or re-validates the file.
 *
 * A bad file fails here, before anything is built or synthesized, with one line per problem that
 * names the field and says how to fix it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { AWS_REGIONS, findRegion, nearestRegionTable, supportsOriginAccessIdentity, distanceKm } from './regions';
import { parseOriginPattern } from '../contracts/origin-pattern';

export { AWS_REGIONS, findRegion, nearestRegionTable, REGIONAL_EDGE_CACHE_REGIONS, supportsOriginAccessIdentity } from './regions';

/** Runtimes Lambda@Edge accepts for new functions (CloudFront developer guide, read 2026-11). */
export const EDGE_RUNTIMES = ['nodejs22.x'] as const;
/** Runtimes Lambda no longer creates functions on, with when and what to use instead. */
const RETIRED_RUNTIMES: Readonly<Record<string, string>> = {
  'nodejs20.x': 'Lambda blocks creating nodejs20.x functions from 2026-08-31 (and a release creates a new function version every deploy); use "nodejs22.x", the newest runtime Lambda@Edge accepts.',
  'nodejs18.x': 'Lambda no longer creates nodejs18.x functions; use "nodejs22.x".',
};
/** CloudFront price classes: which edge locations serve the distribution. */
export const PRICE_CLASSES = ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'] as const;
/** Runtimes for the regional functions (Lambda developer guide, read 2026-11). */
export const REGIONAL_RUNTIMES = ['nodejs24.x', 'nodejs22.x'] as const;
/** Values CloudWatch Logs accepts for retention_in_days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// `_bucket.` is the longest prefix put in front of the domain; a DNS name is at most 253 characters.
const MAX_DOMAIN_LENGTH = 253 - '_bucket.'.length;

function isDomainName(value: string): boolean {
  const labels = value.split('.');
  return value.length <= MAX_DOMAIN_LENGTH && labels.length >= 2 && labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** The metrics API's own grammar, so a pattern the config accepts is one the API can match. */
function isOriginPattern(value: string): boolean {
  try {
    parseOriginPattern(value);
    return true;
  } catch {
    return false;
  }
}

const region = z.string().superRefine((value, ctx) => {
  if (findRegion(value)) return;
  const hint = closest(value, AWS_REGIONS.map((r) => r.code));
  ctx.addIssue({
    code: 'custom',
    message: `"${value}" is not an AWS region${hint ? `; did you mean "${hint}"?` : ''} Use a region code such as eu-west-1.`,
  });
});

const rolloutSchema = z
  .strictObject({
    /** canary: `percent` first, the rest after `intervalMinutes`; linear: `percent` more every interval. */
    strategy: z.enum(['canary', 'linear', 'all-at-once']).default('canary'),
    percent: z.number().int().min(1).max(99).default(10),
    intervalMinutes: z.number().int().min(1).max(2880).default(5),
  })
  .prefault({});

const alarmsSchema = z
  .strictObject({
    /**
     * How far the canary's share of viewers who saw an error may exceed the stable build's, in
     * percentage points, before a period counts against it (contracts/release-signal.ts).
     */
    excessErrorPercent: z.number().gt(0).max(100).default(5),
    /** Distinct canary viewers a period needs before it is judged: a handful of viewers must not roll back. */
    minViewers: z.number().int().min(1).max(100000).default(50),
    periodSeconds: z.number().int().min(60).max(3600).multipleOf(60).default(60),
    evaluationPeriods: z.number().int().min(1).max(60).default(3),
    datapointsToAlarm: z.number().int().min(1).max(60).default(2),
    /** Lambda@Edge execution errors per period that roll a deployment back. */
    edgeFunctionErrors: z.number().int().min(1).default(5),
  })
  .prefault({})
  .superRefine((alarms, ctx) => {
    if (alarms.datapointsToAlarm > alarms.evaluationPeriods) {
      ctx.addIssue({
        code: 'custom',
        path: ['datapointsToAlarm'],
        message: `is ${alarms.datapointsToAlarm} but evaluationPeriods is ${alarms.evaluationPeriods}; datapointsToAlarm must not exceed evaluationPeriods.`,
      });
    }
  });

const retentionSchema = z
  .strictObject({
    /** Newest builds kept in every bucket besides the stable and canary ones. */
    keepBuilds: z.number().int().min(1).max(1000).default(5),
    /** A retired build stays this many days after upload, for viewers still running it and for rollbacks. */
    graceDays: z.number().int().min(0).max(3650).default(7),
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of the values CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}.`,
      })
      .default(30),
  })
  .prefault({});

const metricsSchema = z
  .strictObject({
    /** Beacon URL; a path is resolved against the origin that served index.js (the distribution). */
    endpoint: z
      .string()
      .refine((value) => /^\/[A-Za-z0-9/_-]*$/.test(value) || /^https:\/\/[^\s]+$/.test(value), {
        message: 'must be a path such as /api/metrics (served by the distribution) or an https:// URL.',
      })
      .default('/api/metrics'),
    /** Origins of host pages whose beacons count; anything else gets 403. */
    allowedOrigins: z
      .array(
        z.string().refine(isOriginPattern, {
          message: 'is not an origin pattern; write scheme://host[:port] in lowercase, e.g. https://widget.example.com, https://*.example.com or http://localhost:*, with no path or trailing slash.',
        }),
      )
      .min(1, { message: 'is empty; list the host sites allowed to send beacons, e.g. ["https://*.example.com"].' })
      .default(['http://127.0.0.1:*', 'http://localhost:*']),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9._\/#:-]{1,255}$/, { message: 'must be a CloudWatch namespace: letters, digits and . _ / # : - only.' })
      .refine((value) => !value.startsWith('AWS/'), { message: 'must not start with AWS/ (reserved for AWS services).' })
      .default('EdgeWidget'),
    throttleRatePerSecond: z.number().int().min(1).max(10000).default(100),
    throttleBurst: z.number().int().min(1).max(5000).default(200),
    /** Events one beacon may carry. */
    maxBatch: z.number().int().min(1).max(100).default(20),
    /** How long a metrics API container judges beacons by the rollout state it read. */
    stateCacheSeconds: z.number().int().min(1).max(60).default(10),
    /**
     * Generation of the secret CloudFront sends the metrics API: raise it by one to rotate. The
     * previous secret stays valid until the next rotation, so edges still on the old
     * distribution configuration keep counting.
     */
    originSecretGeneration: z.number().int().min(1).max(1000000).default(1),
    /** A per-IP rate limit on /api/* at the edge (AWS WAF); off by default: it is billed per request to the whole distribution. */
    rateLimit: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** Requests to /api/* one IP may make per window before the rest are answered 429. */
        requests: z.number().int().min(10).max(2000000000).default(100),
        windowSeconds: z.union([z.literal(60), z.literal(120), z.literal(300), z.literal(600)]).default(60),
      })
      .prefault({}),
  })
  .prefault({});

const edgeSchema = z
  .strictObject({
    runtime: z.enum(EDGE_RUNTIMES).default('nodejs22.x'),
    /** Which edge locations serve the distribution; it also decides where Lambda@Edge writes logs. */
    priceClass: z.enum(PRICE_CLASSES).default('PriceClass_All'),
    memoryMb: z.number().int().min(128).max(10240).default(128),
    /** Origin-request functions may run at most 30 s; the routers need far less. */
    timeoutSeconds: z.number().int().min(1).max(30).default(5),
    /**
     * How long the entry router trusts a rollout state it read through the KeyValueStore API (its
     * fallback when the viewer-assignment function could not read it): each read is an API call,
     * billed at $1 per 1,000.
     */
    stateCacheSeconds: z.number().int().min(1).max(300).default(60),
    /** Longest an entry request waits for that read. */
    storeTimeoutMs: z.number().int().min(50).max(5000).default(500),
    /** Longest one read of another build's entry from a bucket takes before the next bucket is tried. */
    bucketTimeoutMs: z.number().int().min(100).max(10000).default(2000),
    /** How long the nearest-bucket answer is trusted. */
    bucketCacheSeconds: z.number().int().min(1).max(3600).default(60),
    /** Bound on one DNS lookup at the edge; past it the router uses what it already knows. */
    dnsTimeoutMs: z.number().int().min(10).max(5000).default(200),
  })
  .prefault({});

const dnsSchema = z
  .strictObject({
    bucketRecordTtl: z.number().int().min(1).max(3600).default(60),
  })
  .prefault({});

const backendSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('local') }),
    z.strictObject({
      type: z.literal('cloud'),
      /** Falls back to TF_CLOUD_ORGANIZATION. */
      organization: z.string().min(1).optional(),
      /** One workspace per stack: `<prefix>-<stack>`. Falls back to TF_WORKSPACE_PREFIX, then the distribution name. */
      workspacePrefix: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
      /** Falls back to TF_CLOUD_HOSTNAME, then app.terraform.io. */
      hostname: z.string().min(1).optional(),
    }),
    z.strictObject({
      type: z.literal('s3'),
      bucket: z.string().min(3),
      region,
      keyPrefix: z.string().regex(/^[A-Za-z0-9!_.*'()\/-]*$/).default('edge-distribution'),
      /** S3-native state locking (Terraform ≥ 1.10); no DynamoDB table needed. */
      useLockfile: z.boolean().default(true),
    }),
  ])
  .prefault({ type: 'local' });

const configSchema = z
  .strictObject({
    /** Prefix of every resource name: lowercase letters, digits and dashes. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,18}[a-z0-9]$/, {
        message: 'must be 3 to 20 lowercase letters, digits or dashes, starting with a letter (it prefixes bucket and function names).',
      })
      .default('edge-widget'),
    /** Domain of the distribution, e.g. widget.example.com. The `_bucket.` record lives under it. */
    domain: z.string().refine(isDomainName, {
      message: 'is not a domain name; write it like widget.example.com (lowercase, no scheme, no trailing dot).',
    }),
    hostedZone: z.strictObject({
      /** Public Route53 zone that contains `domain`, e.g. example.com. */
      name: z.string().refine(isDomainName, { message: 'is not a zone name; write it like example.com.' }),
      /** Zone id; when absent the stacks look the zone up by name. */
      id: z.string().regex(/^Z[A-Z0-9]{1,32}$/, { message: 'is not a Route53 zone id (Z followed by letters and digits).' }).optional(),
    }),
    /** Serve on `domain` with an ACM certificate; false serves on the CloudFront domain only. */
    customDomain: z.boolean().default(true),
    /** Region of the primary replica bucket (the origin CloudFront starts from). */
    primaryRegion: region,
    /** Every region that holds a replica bucket, primary included. */
    regions: z.array(region).min(1, { message: 'is empty; list at least the primary region, e.g. ["us-east-1"].' }),
    /** Secondary origin for CloudFront failover; defaults to the configured region nearest the primary. */
    failoverRegion: region.optional(),
    rollout: rolloutSchema,
    alarms: alarmsSchema,
    retention: retentionSchema,
    metrics: metricsSchema,
    edge: edgeSchema,
    regionalRuntime: z.enum(REGIONAL_RUNTIMES).default('nodejs24.x'),
    dns: dnsSchema,
    backend: backendSchema,
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.regions.forEach((code, index) => {
      if (seen.has(code)) ctx.addIssue({ code: 'custom', path: ['regions', index], message: `"${code}" is listed twice; list each region once.` });
      seen.add(code);
      if (findRegion(code) && !supportsOriginAccessIdentity(code)) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', index],
          message: `"${code}" opened after December 2022, where CloudFront's origin access identity cannot read S3, and the chunk router's origin rewrite needs it; choose another region.`,
        });
      }
    });
    if (findRegion(config.primaryRegion) && !config.regions.includes(config.primaryRegion)) {
      ctx.addIssue({
        code: 'custom',
        path: ['primaryRegion'],
        message: `"${config.primaryRegion}" is not among regions [${config.regions.join(', ')}]; add it to regions or pick one of them.`,
      });
    }
    if (config.failoverRegion !== undefined) {
      if (!config.regions.includes(config.failoverRegion) || config.failoverRegion === config.primaryRegion) {
        ctx.addIssue({
          code: 'custom',
          path: ['failoverRegion'],
          message: `"${config.failoverRegion}" must be one of regions other than the primary (${config.regions.filter((r) => r !== config.primaryRegion).join(', ') || 'add a second region first'}).`,
        });
      }
    }
    const zone = config.hostedZone.name;
    if (isDomainName(config.domain) && isDomainName(zone) && config.domain !== zone && !config.domain.endsWith(`.${zone}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostedZone', 'name'],
        message: `"${zone}" does not contain domain "${config.domain}"; use the zone the domain belongs to (e.g. ${config.domain.split('.').slice(-2).join('.')}).`,
      });
    }
    if (config.rollout.strategy === 'linear' && 100 % config.rollout.percent !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['rollout', 'percent'],
        message: `is ${config.rollout.percent}, which leaves a partial last step; for linear rollouts use a divisor of 100 (5, 10, 20, 25, 50).`,
      });
    }
  });

type ParsedConfig = z.output<typeof configSchema>;
export type RolloutConfig = ParsedConfig['rollout'];
export type AlarmsConfig = ParsedConfig['alarms'];
export type BackendConfig = ParsedConfig['backend'];

export type DeployConfig = DeepReadonly<
  Omit<ParsedConfig, 'failoverRegion'> & {
    /** The secondary origin's region, or undefined with a single region. */
    failoverRegion: string | undefined;
  }
>;

type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed config object; `source` names it in errors. */
export function parseConfig(input: unknown, source = 'deploy config', env: Readonly<Record<string, string | undefined>> = {}): DeployConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(source, result.error.issues.map((issue) => describeIssue(issue, input)));
  const parsed = result.data;
  const failoverRegion = parsed.failoverRegion ?? nearestOther(parsed.primaryRegion, parsed.regions);
  const backend = resolveBackend(parsed, env, source);
  return deepFreeze({ ...parsed, failoverRegion, backend });
}

/** Reads and validates a config file (default: DEPLOY_CONFIG or ./deploy.config.json). */
export function loadConfig(file?: string, env: Readonly<Record<string, string | undefined>> = process.env): DeployConfig {
  const resolved = path.resolve(file ?? env.DEPLOY_CONFIG ?? path.join(__dirname, '..', 'deploy.config.json'));
  const source = path.relative(process.cwd(), resolved) || resolved;
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new ConfigError(source, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); create it or point DEPLOY_CONFIG at your config file.`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, [`is not JSON: ${(error as Error).message}.`]);
  }
  return parseConfig(json, source, env);
}

function resolveBackend(parsed: ParsedConfig, env: Readonly<Record<string, string | undefined>>, source: string): BackendConfig {
  const backend = parsed.backend;
  if (backend.type !== 'cloud') return backend;
  // CI systems often export a variable empty rather than not at all: empty means unset.
  const fromEnv = (name: string) => env[name]?.trim() || undefined;
  const organization = backend.organization ?? fromEnv('TF_CLOUD_ORGANIZATION');
  if (!organization) {
    throw new ConfigError(source, ['backend.organization: is missing for the Terraform Cloud backend; set it in the config or export TF_CLOUD_ORGANIZATION.']);
  }
  return {
    type: 'cloud',
    organization,
    workspacePrefix: backend.workspacePrefix ?? fromEnv('TF_WORKSPACE_PREFIX') ?? parsed.name,
    hostname: backend.hostname ?? fromEnv('TF_CLOUD_HOSTNAME') ?? 'app.terraform.io',
  };
}

function nearestOther(primary: string, regions: readonly string[]): string | undefined {
  const from = findRegion(primary)!;
  const others = regions.filter((code) => code !== primary);
  if (others.length === 0) return undefined;
  return others.reduce((best, code) => (distanceKm(from, findRegion(code)!) < distanceKm(from, findRegion(best)!) ? code : best));
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatPath(issue.path);
  const given = JSON.stringify(valueAt(input, issue.path)) ?? 'nothing';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const field = `${where ? `${where}.` : ''}${key}`;
        if (REMOVED_SETTINGS[field]) return `${field}: ${REMOVED_SETTINGS[field]}`;
        const known = knownKeys(issue.path);
        const hint = closest(key, known);
        return `${field}: is not a setting here${hint ? `; did you mean "${hint}"?` : ''} Known settings: ${known.join(', ')}.`;
      })
      .join('\n  - ');
  }
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) return `${where}: is required.`;
  if (issue.code === 'invalid_type') return `${where}: ${given} is not a ${issue.expected}.`;
  if (issue.code === 'invalid_value') {
    const retired = where === 'edge.runtime' ? RETIRED_RUNTIMES[String(valueAt(input, issue.path))] : undefined;
    if (retired) return `${where}: ${retired}`;
    return `${where}: ${given} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
  }
  if (issue.code === 'invalid_union' && issue.path.length > 0) {
    // Only the backend is a tagged union; its tag names the kind of backend.
    const tag = issue.path[issue.path.length - 1] === 'type' ? issue.path : [...issue.path, 'type'];
    return `${formatPath(tag)}: ${JSON.stringify(valueAt(input, tag)) ?? 'nothing'} is not a backend; use one of "local", "cloud", "s3".`;
  }
  return `${where || '(top level)'}: ${issue.message}`;
}

/** Settings of earlier versions, with what replaced them: a config from before an upgrade says what to change. */
const REMOVED_SETTINGS: Readonly<Record<string, string>> = {
  'edge.rolloutRefreshSeconds':
    'was removed with the _rollout DNS record: the viewer-assignment function reads the rollout state from a CloudFront KeyValueStore on every load. Delete it; edge.stateCacheSeconds sets how long the entry router trusts the state it reads in its fallback.',
  'dns.rolloutRecordTtl': 'was removed with the _rollout DNS record (the rollout state lives in a CloudFront KeyValueStore now). Delete it.',
  'alarms.errorRatePercent':
    'was replaced by alarms.excessErrorPercent: the alarm now compares the share of canary viewers who saw an error with the same share among stable viewers, in percentage points. Rename it (the same number is a reasonable start).',
  'alarms.minLoads': 'was replaced by alarms.minViewers: beacons count distinct viewers per period now, not loads. Rename it.',
};

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of at) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function formatPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((out, segment) => (typeof segment === 'number' ? `${out}[${segment}]` : out ? `${out}.${String(segment)}` : String(segment)), '');
}

function knownKeys(at: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = configSchema;
  for (const segment of at) {
    const shape = objectShape(schema);
    if (!shape || typeof segment !== 'string' || !(segment in shape)) return [];
    schema = shape[segment];
  }
  return Object.keys(objectShape(schema) ?? {});
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  // Unwrap defaults, prefaults, optionals and refinements until an object schema is reached.
  let current: z.core.$ZodType = schema;
  for (let depth = 0; depth < 8; depth += 1) {
    const def = (current as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') return def.shape as Record<string, z.ZodType>;
    const inner = (def.innerType ?? def.in) as z.core.$ZodType | undefined;
    if (!inner) return undefined;
    current = inner;
  }
  return undefined;
}

/** The candidate within edit distance 2 (or a third of the word), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

/** Static fallback for the chunk router: execution region → nearest configured bucket region. */
export function bucketRegionFallback(config: DeployConfig): Record<string, string> {
  return nearestRegionTable(config.regions);
}

export * from './names';
export * from './rollout';

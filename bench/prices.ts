/**
 * The cost model's inputs that are not measured: AWS's published prices, and the traffic
 * assumptions a per-load figure needs. Change them here; the cost section prints what it used.
 *
 * Prices are the public on-demand list prices (US East, N. Virginia, where a service prices by
 * region; Lambda@Edge and Route53 queries are priced globally), without free tiers or discounts.
 * Read on PRICES_READ. `checked` says how each was checked on that date: the stored copies of
 * AWS's pricing pages available to this project render most rate tables client-side, so where
 * the figure itself could not be seen there, it says so and names what it was checked against.
 * The release signal's log pipeline (real-time logs, Kinesis, alarms) was priced later, from the
 * listings its `checked` names; those entries say so.
 */
export const PRICES_READ = '2026-11-30';

export interface Price {
  /** US dollars per `per` units. */
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
  readonly checked: string;
}

export const PRICES = {
  /** Lambda@Edge requests. */
  edgeRequest: {
    usd: 0.6,
    per: 1_000_000,
    unit: 'request',
    source: 'https://aws.amazon.com/lambda/pricing/ (Lambda@Edge pricing)',
    checked:
      'rate as quoted on the AWS pricing page when read; confirmed by a third-party 2026 rate card ' +
      '(blog.blazingcdn.com, "Lambda@Edge Pricing in 2026"); not visible in the stored AWS page',
  },
  /** Lambda@Edge duration at the configured memory, metered in 1 ms units. */
  edgeGbSecond: {
    usd: 0.00005001,
    per: 1,
    unit: 'GB-second',
    source: 'https://aws.amazon.com/lambda/pricing/ (Lambda@Edge pricing)',
    checked:
      '1 ms metering: ' +
      'https://aws.amazon.com/about-aws/whats-new/2021/03/cloudfront-lambda-at-edge-billing-granularity/ (from ' +
      '2021-04-01); init code billed as duration: the footnote on https://aws.amazon.com/lambda/pricing/ ' +
      '("Duration charges apply to code that runs in the handler of a function as well as initialization code ' +
      'that is declared outside of the handler"); the rate as quoted on the AWS pricing page when read (a ' +
      "2026 third-party rate card states it per 128 MB-second instead, which AWS's page does not)",
  },
  /** S3 Standard GET (what CloudFront's origin fetch of index.js is). */
  s3Get: {
    usd: 0.0004,
    per: 1000,
    unit: 'GET',
    source: 'https://aws.amazon.com/s3/pricing/ (S3 Standard, GET, SELECT and all other requests, US East)',
    checked:
      'rate as quoted on the AWS pricing page when read; not visible in the stored AWS page (rendered client-side)',
  },
  /** Route53 queries of simple records (`_rollout.<domain>`), first billion per month. */
  route53Standard: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'query',
    source: 'https://aws.amazon.com/route53/pricing/ (standard queries, first 1 billion per month)',
    checked:
      '"$0.40 per million queries (first 1 billion queries per month)", transcribed verbatim from that page on ' +
      '2026-09-20 (api-evangelist/amazon-route53-resolver plans file)',
  },
  /** Route53 queries of latency-routed records (`_bucket.<domain>`), first billion per month. */
  route53Latency: {
    usd: 0.6,
    per: 1_000_000,
    unit: 'query',
    source: 'https://aws.amazon.com/route53/pricing/ (latency based routing queries, first 1 billion per month)',
    checked:
      'rate as quoted on the AWS pricing page when read; consistent with "50% more than the simple records" ' +
      '(kubernetes-incubator/external-dns issue 571, citing that page)',
  },
  /**
   * CloudFront Functions invocations: the viewer-assignment function on every entry load (the previous design's
   * viewer-key function likewise), the error-report function on every error report.
   */
  cloudFrontFunction: {
    usd: 0.1,
    per: 1_000_000,
    unit: 'invocation',
    source: 'https://aws.amazon.com/cloudfront/pricing/ (CloudFront Functions)',
    checked:
      '"Invocation pricing is $0.10 per 1 million invocations ($0.0000001 per invocation)": AWS\'s billing ' +
      'code description as published by cur.vantage.sh/aws/amazoncloudfront/ (Executions-CloudFrontFunctions), ' +
      'read 2026-11-30; the stored AWS page renders its rates client-side',
  },
  /** KeyValueStore reads by CloudFront Functions: one per entry load (the rollout state). */
  kvsFunctionRead: {
    usd: 0.03,
    per: 1_000_000,
    unit: 'read',
    source: 'https://aws.amazon.com/cloudfront/pricing/ (CloudFront KeyValueStore)',
    checked:
      '"Reads from CloudFront Functions at request time: $0.03 per 1 million", as a third-party pricing note ' +
      'quotes it (hedgerules.micahrl.com/docs/aws/pricing, read 2026-11-30); not visible in the stored AWS page',
  },
  /**
   * KeyValueStore API calls (DescribeKeyValueStore, GetKey, PutKey): rollout sync, the rollout CLI, the entry router's
   * fallback.
   */
  kvsApiCall: {
    usd: 1,
    per: 1000,
    unit: 'call',
    source: 'https://aws.amazon.com/cloudfront/pricing/ (CloudFront KeyValueStore)',
    checked:
      '"$1.00 per 1,000" for API operations, as the same third-party note quotes it for writes (read ' +
      '2026-11-30); applied here to every API call, reads included, the conservative reading',
  },
  /** HTTP API requests (the metrics API's endpoint), first 300 million a month. */
  httpApiRequest: {
    usd: 1,
    per: 1_000_000,
    unit: 'request',
    source: 'https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300 million, US East)',
    checked:
      '"$1.00/million" for the first 300M requests a month, as third-party guides tabulate that page ' +
      '(apigatewaycost.com/aws, awsforengineers.com, read 2026-11-30); not visible in the stored AWS page',
  },
  /** Regional Lambda requests (the signal consumer; the metrics API before it). */
  lambdaRequest: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'request',
    source: 'https://aws.amazon.com/lambda/pricing/ (requests, x86, US East)',
    checked:
      'the long-standing list price ($0.20 per 1M requests); not visible in the stored AWS page (rendered client-side)',
  },
  /** Regional Lambda duration, x86, first 6 billion GB-seconds a month. */
  lambdaGbSecond: {
    usd: 0.0000166667,
    per: 1,
    unit: 'GB-second',
    source: 'https://aws.amazon.com/lambda/pricing/ (duration, x86, first 6 billion GB-seconds, US East)',
    checked: 'the long-standing list price; not visible in the stored AWS page (rendered client-side)',
  },
  /**
   * DynamoDB on-demand writes: one write request unit per write of an item under 1 KB (the consumer's checkpoint; the
   * metrics API's ledger before it).
   */
  dynamoWrite: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'write request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (write request units, US East)',
    checked:
      '$0.625 per million write request units after the November 2024 on-demand price cut, as researched for ' +
      'this project on 2026-11-30; a failed condition still consumes the unit',
  },
  /**
   * DynamoDB on-demand reads, per 4 KB (eventually consistent: half a unit): the consumer's timeline of states; the
   * metrics API's state copy before it.
   */
  dynamoRead: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'read request unit',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (read request units, US East)',
    checked: '$0.125 per million read request units after the November 2024 cut, as researched on 2026-11-30',
  },
  /** CloudWatch Logs ingestion (standard): EMF lines and every function's own log lines. */
  logsIngestionGb: {
    usd: 0.5,
    per: 1,
    unit: 'GB',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (Logs, collect (data ingestion), standard)',
    checked:
      '$0.50 per GB, as researched on 2026-11-30 (and as third-party guides quote, e.g. go-cloud.io on ' +
      'API Gateway logs)',
  },
  /** A custom metric for a month (first 10,000 metrics). */
  customMetricMonth: {
    usd: 0.3,
    per: 1,
    unit: 'metric-month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (metrics, first 10,000, prorated by the hour)',
    checked: '$0.30 per metric per month, as researched on 2026-11-30',
  },
  /**
   * CloudFront real-time logs: every log line CloudFront publishes to the stream (entry loads and error reports, after
   * sampling).
   */
  realtimeLogLine: {
    usd: 0.01,
    per: 1_000_000,
    unit: 'log line',
    source: 'https://aws.amazon.com/cloudfront/pricing/ (additional features: real-time logs)',
    checked:
      '"$0.01 for every 1,000,000 log lines", as listed in early 2025 (the latest listing this change could ' +
      'draw on; not re-read in 2026, and not visible in the stored AWS page, rendered client-side). ' +
      'CloudFront\'s developer guide ("Use real-time logs") confirms a charge of its own on top of Kinesis\'s, ' +
      'and that lines sampled out are not sent',
  },
  /** Kinesis Data Streams, provisioned mode: one shard, every hour of the month. */
  kinesisShardHour: {
    usd: 0.015,
    per: 1,
    unit: 'shard-hour',
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/ (provisioned mode, shard hour, US East)',
    checked:
      '$0.015 per shard-hour, as listed in early 2025 (not re-read in 2026); the stored AWS page shows the ' +
      'provisioned-mode terms but renders its rates client-side',
  },
  /** Kinesis Data Streams, provisioned mode: PUT payload units, one per record of up to 25 KB. */
  kinesisPutPayloadUnit: {
    usd: 0.014,
    per: 1_000_000,
    unit: 'PUT payload unit',
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/ (provisioned mode, PUT payload units, US East)',
    checked:
      '$0.014 per million units, as listed in early 2025 (not re-read in 2026); "a PUT Payload Unit is counted ' +
      'in 25KB payload chunks that comprise a record", as the stored AWS page (aws.amazon.com/kinesis/pricing) ' +
      'words it: a log record (at most 800 B, contracts/signal-capacity.ts) is one unit. Getting records (a ' +
      'standard consumer) is free',
  },
  /** A CloudWatch alarm, high resolution (periods under a minute): per metric it reads, a month. */
  highResolutionAlarmMetricMonth: {
    usd: 0.3,
    per: 1,
    unit: 'high-resolution alarm metric-month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (alarms, high resolution)',
    checked:
      '$0.30 per alarm metric a month at high resolution, three times the standard resolution price, as listed ' +
      'in early 2025 (not re-read in 2026)',
  },
  /**
   * A CloudWatch alarm, standard resolution: per metric it reads (a metric math alarm pays for each metric in its
   * expression), a month.
   */
  alarmMetricMonth: {
    usd: 0.1,
    per: 1,
    unit: 'alarm metric-month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (alarms, standard resolution)',
    checked:
      '$0.10 per alarm metric a month, as listed in early 2025 (not re-read in 2026); that a metric math alarm ' +
      "is billed per metric its expression reads is as that page's alarm examples were understood then, and may " +
      'be worded otherwise now',
  },
} as const satisfies Record<string, Price>;

/** USD for `quantity` units of `price`. */
export function priceOf(price: Price, quantity: number): number {
  return (price.usd / price.per) * quantity;
}

/**
 * Lambda allocates CPU in proportion to memory: one vCPU at 1,769 MB
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). CPU-bound time measured
 * on this machine (about one core per process) is scaled by 1769 / memoryMb to estimate it at the
 * configured memory.
 */
export const MB_PER_VCPU = 1769;

/**
 * Traffic per Lambda@Edge container: how many entry loads one warm execution environment serves
 * per second, and how long it lives. Neither is published by AWS; they decide the cold-start
 * fraction (1 / (loadsPerSecond × lifetime)) and how far a container's periodic DNS lookups are
 * amortised. "busy" is the headline; "quiet" shows the low-traffic end.
 */
export const TRAFFIC = {
  busy: { label: 'busy edge (1 load/s per container)', loadsPerSecond: 1, containerLifetimeMinutes: 15 },
  quiet: { label: 'quiet edge (1 load/20 s per container)', loadsPerSecond: 0.05, containerLifetimeMinutes: 15 },
} as const;

/**
 * The release signal's previous design, the metrics API (an HTTP API, a Lambda and a DynamoDB
 * ledger, one beacon per entry load), per beacon, where this machine cannot measure it: a warm
 * invocation waits for one DynamoDB UpdateItem (single-digit milliseconds in-region), and every
 * invocation writes Lambda's own START, END and REPORT lines besides anything the code logs. Kept
 * as the baseline the signal's cost is compared with: what it measured is kept here, so the baseline
 * outlives the metrics API's code.
 */
export const BEACONS = {
  billedMsPerBeacon: 10,
  /** The metrics API's memory (RegionalFunction's default). */
  memoryMb: 256,
  lambdaLogBytesPerInvocation: 350,
  /** Share of beacons that are a viewer's first in its period (so emit an EMF line): all of them, the worst case. */
  firstSightingShare: 1,
  /**
   * The EMF line of a counted viewer (viewer and erroring viewer at once), as this benchmark measured it on 2026-11-30
   * (docs/benchmark.md, build d749f4f8a886382b).
   */
  emfLineBytes: 275,
  /** Metrics API containers reading the state copy, each once per stateCacheSeconds. */
  warmContainers: 5,
  /** metrics.stateCacheSeconds as the metrics API shipped it (default). */
  stateCacheSeconds: 10,
} as const;

/**
 * The release signal as it is now, where this machine cannot measure it: CloudFront real-time
 * logs of the entry and the error reports, one provisioned Kinesis shard, one consumer Lambda.
 * The event source mapping's batching is the design's: up to 1,000 records a batch, a 5 s batching
 * window, one invocation at a time (one shard, parallelization factor 1), so one warm container.
 */
export const SIGNAL = {
  /**
   * Error reports per entry load: assumed (1 % of loads report an error). Each is one more logged request, and one
   * CloudFront Function invocation.
   */
  errorReportShare: 0.01,
  batchSize: 1000,
  /**
   * The judge's verdict, one EMF line per batch while a release runs (a high-resolution CanaryFailing datapoint):
   * assumed from its shape.
   */
  verdictLineBytes: 300,
  /**
   * Write units of the release's judgment record (about 1.5 KB of JSON: counts, ranges, words), rewritten once per
   * closed period while a release runs.
   */
  judgmentWriteUnits: 2,
  consumerContainers: 1,
  consumerMemoryMb: 128,
  /**
   * What a warm invocation waits for per DynamoDB call in-region (the checkpoint's PutItem; the timeline's GetItem):
   * assumed, as BEACONS.billedMsPerBeacon.
   */
  dynamoWaitMs: 10,
  /** Lambda's own START, END and REPORT lines per invocation: assumed, as for the metrics API. */
  lambdaLogBytesPerInvocation: 350,
  /** A month, for every monthly figure: 30 days (a shard-hour a month is 720 hours). */
  daysPerMonth: 30,
} as const;

/**
 * The viewer-edge design runs Lambda@Edge only on the entry behaviour's cache misses, which happen
 * per object (a build's entry in one encoding), per cache, not per load: how many depends on the
 * widget's traffic and on how long CloudFront keeps an object, which AWS does not publish.
 * Origin-request functions run at CloudFront's regional edge caches (13 at the time of reading),
 * so: misses per day = entry objects (builds × 3 encodings) × regional edge caches × refetches of
 * each object per day. Assumed: a widget with a million loads a day, and every regional edge cache
 * fetching every entry object again every hour (CloudFront keeps popular objects far longer).
 */
export const FLEET = {
  loadsPerDay: 1_000_000,
  regionalEdgeCaches: 13,
  encodings: 3,
  refetchesPerDay: 24,
  regionalEdgeCachesSource:
    'https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HowCloudFrontWorks.html ("regional ' +
    'edge caches"); 13 as counted on the CloudFront key features page, read 2026-11',
} as const;

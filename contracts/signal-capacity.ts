/**
 * How big the release signal's stream is, from the config: one Kinesis shard, and the sampling
 * rate that keeps the peak within it. One shard because the consumer counts *distinct* viewers: a
 * viewer's records may land on any shard (CloudFront picks), and one shard read in order by one
 * consumer is the one place every record of a period meets. One shard takes 1,000 records or
 * 1 MB a second (Kinesis Data Streams quotas, "PutRecords": per shard); sized for 80 % of it.
 *
 * CloudFront writes one record per logged request (CloudFront developer guide, "Real-time logs":
 * estimate shards from requests per second), so entry loads and error reports at the peak, times
 * the sampling rate, must fit.
 */

/** Kinesis: records a second one shard accepts. */
export const SHARD_RECORDS_PER_SECOND = 1000;
/** The share of a shard the peak may use: the rest is for bursts within the second and error floods. */
export const SHARD_HEADROOM = 0.8;
/**
 * A record of the configured fields (contracts/realtime-log.ts), at most: a long IPv6 address, a
 * full error query, a referer. The budget's 800 such records a second are 640 KB, within the
 * shard's 1 MB, so records, not bytes, are what fills it.
 */
export const RECORD_BYTES_MAX = 800;

export interface SignalSizing {
  readonly expectedLoadsPerDay: number;
  readonly peakToAverage: number;
  readonly samplingPercent?: number;
}

export interface SignalCapacity {
  /** The rate the real-time log configuration samples at, 1 to 100. */
  readonly samplingPercent: number;
  /** Records a second at the peak, sampled. */
  readonly peakRecordsPerSecond: number;
  readonly shards: 1;
  /** Records a second the shard is sized for (80 % of its limit). */
  readonly budgetRecordsPerSecond: number;
}

const BUDGET = Math.floor(SHARD_RECORDS_PER_SECOND * SHARD_HEADROOM);

export function signalCapacity(sizing: SignalSizing): SignalCapacity {
  const peakLoads = (sizing.expectedLoadsPerDay / 86_400) * sizing.peakToAverage;
  const samplingPercent =
    sizing.samplingPercent ?? Math.max(1, Math.min(100, Math.floor((100 * BUDGET) / Math.max(peakLoads, 1e-9))));
  return {
    samplingPercent,
    peakRecordsPerSecond: (peakLoads * samplingPercent) / 100,
    shards: 1,
    budgetRecordsPerSecond: BUDGET,
  };
}

/** Why a sizing cannot work, or null: an explicit sampling rate whose peak would pass the shard. */
export function capacityProblem(sizing: SignalSizing): string | null {
  const capacity = signalCapacity(sizing);
  if (capacity.peakRecordsPerSecond <= capacity.budgetRecordsPerSecond) return null;
  const fits = signalCapacity({ ...sizing, samplingPercent: undefined }).samplingPercent;
  return (
    `metrics.samplingPercent (${capacity.samplingPercent}) × ` +
    `${Math.round((sizing.expectedLoadsPerDay / 86_400) * sizing.peakToAverage)} entry loads a second at the peak ` +
    `(metrics.expectedLoadsPerDay × metrics.peakToAverage) is ${Math.round(capacity.peakRecordsPerSecond)} ` +
    `records a second, more than the ${capacity.budgetRecordsPerSecond} one shard is sized for: set ` +
    `metrics.samplingPercent to at most ${fits}, or leave it out to have it chosen.`
  );
}

/**
 * Entries of builds other than the router's own, read from the replica buckets: the nearest one
 * first, then the primary, then the failover region's, each read bounded in time, so a region that
 * is down, slow, or missing the build costs one bounded wait and not the viewer's widget.
 *
 * A build's entry never changes, so what was read is kept for the container's life (the newest
 * few builds, in each encoding asked for), and concurrent misses for the same object share one
 * read. Only cache misses at CloudFront reach the router, so this is rarely more than a handful of
 * reads per container.
 *
 * A build the primary bucket does not have is absent: every upload writes the primary, and a
 * release refuses a build missing from any bucket. So a made-up buildId (anyone can ask for
 * `/assets/<any 16 hex>/index.js`) costs at most two reads, the nearest bucket's and the
 * primary's, and gets a 404 CloudFront may keep a minute, as the chunk router's does.
 */
import { createHash } from 'node:crypto';
import { isAbsentObject, type ObjectReader } from '../shared/bucket-objects';
import type { S3Target } from '../shared/cloudfront';
import type { Encoding } from '../../contracts/encoding';
import { entryBody, entryObjectKey, type EntryBody } from './route';

export interface BuildEntriesOptions {
  /** Region → bucket name of every replica. */
  readonly bucketNames: Readonly<Record<string, string>>;
  readonly primaryRegion: string;
  readonly failoverRegion: string | null;
  /** The nearest bucket now (NearestBucket.read). */
  readonly nearest: () => S3Target | Promise<S3Target>;
  readonly read: ObjectReader;
  /** Entries kept per container. @default 32 */
  readonly capacity?: number;
  /** Told which bucket failed and why, when one does. @default nothing */
  readonly onBucketFailure?: (region: string, key: string, error: unknown) => void;
}

/** What the buckets said of a build's entry: no bucket could answer (null), or the primary does not have it. */
export const ABSENT = 'absent';
export type BuildEntry = EntryBody | typeof ABSENT | null;

export class BuildEntries {
  private readonly kept = new Map<string, Promise<BuildEntry>>();
  private readonly capacity: number;

  constructor(private readonly options: BuildEntriesOptions) {
    this.capacity = options.capacity ?? 32;
  }

  /**
   * The entry of `buildId` in `encoding`; ABSENT when the primary bucket does not have it; null when no bucket could
   * answer.
   */
  get(buildId: string, encoding: Encoding | null): Promise<BuildEntry> {
    const key = entryObjectKey(buildId, encoding);
    const known = this.kept.get(key);
    if (known) {
      // Most recently used last: Map keeps insertion order.
      this.kept.delete(key);
      this.kept.set(key, known);
      return known;
    }
    const reading = this.readFromBuckets(buildId, encoding, key).then((body) => {
      // Neither a failure nor an absence is kept: the next miss asks again (the build may be uploaded since).
      if ((body === null || body === ABSENT) && this.kept.get(key) === reading) this.kept.delete(key);
      return body;
    });
    this.kept.set(key, reading);
    while (this.kept.size > this.capacity) this.kept.delete(this.kept.keys().next().value as string);
    return reading;
  }

  private async readFromBuckets(buildId: string, encoding: Encoding | null, key: string): Promise<BuildEntry> {
    for (const region of await this.regionsToTry()) {
      const name = this.options.bucketNames[region];
      // regionsToTry gives only regions with a bucket.
      if (name === undefined) continue;
      try {
        const object = await this.options.read({ region, name }, key);
        return entryBody(
          buildId,
          encoding,
          object.bytes,
          object.etag ?? `"${createHash('md5').update(object.bytes).digest('hex')}"`,
        );
      } catch (error) {
        if (isAbsentObject(error) && region === this.options.primaryRegion) return ABSENT;
        this.options.onBucketFailure?.(region, key, error);
      }
    }
    return null;
  }

  private async regionsToTry(): Promise<string[]> {
    let nearest: string | null = null;
    try {
      nearest = (await this.options.nearest()).region;
    } catch {
      // The static chain below still holds every bucket worth trying.
    }
    const order = [nearest, this.options.primaryRegion, this.options.failoverRegion];
    return order.filter(
      (region, index): region is string =>
        region !== null && region in this.options.bucketNames && order.indexOf(region) === index,
    );
  }
}

/**
 * Is a build in every replica bucket? The release function and the rollout CLI ask before they
 * start a deployment (a rollback to a build cleanup removed from one region would answer that
 * region's viewers 403), and rollout sync asks every run for the builds viewers are assigned, so
 * a region missing one is taken out of the nearest-bucket answers (stacks/constructs/bucket-health.ts).
 *
 * Present means its manifest, `builds/<id>.json`, is there: the upload writes it last. A HEAD that
 * finds nothing is "missing"; so is an access denial, which is what S3 answers for a missing key
 * to a role without s3:ListBucket (this one needs none): either way, nobody should be sent there.
 * Any other failure is thrown, so a check that could not be made never passes.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { publishedBuildKey } from '../contracts/published-build';
import { errorName } from './aws-errors';

/** Region → bucket name. */
export type Buckets = Readonly<Record<string, string>>;

export interface BuildPresence {
  /** Regions whose bucket holds the build's manifest. */
  readonly present: readonly string[];
  /** Regions whose bucket does not (or does not let this role see it). */
  readonly missing: readonly string[];
}

const MISSING = new Set(['NotFound', 'NoSuchKey', 'AccessDenied', 'Forbidden']);

export async function buildPresence(
  s3For: (region: string) => S3Client,
  buckets: Buckets,
  buildId: string,
): Promise<BuildPresence> {
  const key = publishedBuildKey(buildId);
  const results = await Promise.all(
    Object.entries(buckets).map(async ([region, bucket]) => {
      try {
        await s3For(region).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { region, present: true };
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (MISSING.has(errorName(error)) || status === 404 || status === 403) return { region, present: false };
        throw new Error(
          `cannot tell whether build ${buildId} is in ${bucket} (${region}): ${errorName(error) || 'error'}: ` +
            `${(error as Error).message}`,
          { cause: error },
        );
      }
    }),
  );
  return {
    present: results.filter((r) => r.present).map((r) => r.region),
    missing: results.filter((r) => !r.present).map((r) => r.region),
  };
}

/** Parses the BUCKETS variable ({"<region>": "<bucket>", …}); throws naming it. */
export function bucketsFrom(json: string): Buckets {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = null;
  }
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Object.keys(value).length === 0 ||
    !Object.values(value).every((v) => typeof v === 'string' && v.length > 0)
  ) {
    throw new Error(
      `BUCKETS must be a JSON object of region to bucket name, e.g. {"us-east-1":"widget-us-east-1-0123abcd"}; ` +
        `got ${json}`,
    );
  }
  return value as Buckets;
}

/** One S3 client per region, made when first asked for. */
export function regionalS3(make: (region: string) => S3Client): (region: string) => S3Client {
  const clients = new Map<string, S3Client>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = make(region);
      clients.set(region, client);
    }
    return client;
  };
}

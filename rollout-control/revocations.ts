/**
 * Revoked builds as the KeyValueStore API holds them (contracts/revocation.ts): one key each,
 * beside the rollout state. The rollout CLI writes them (`rollout revoke`) and reads them before
 * it makes a build stable, canary or a rollback target; the release function reads the one of the
 * build a deploy would release; status and cleanup list them.
 *
 * A write is conditional on the store's ETag, as every write to the store is (one ETag for all its
 * keys): a writer that lost the race reads the ETag again and writes again, since a revocation
 * only ever adds its own key.
 */
import {
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
  type CloudFrontKeyValueStoreClient,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import {
  formatRevocation,
  parseRevocation,
  revocationKey,
  revocationsOf,
  type Revocation,
} from '../contracts/revocation';
import { errorName } from './aws-errors';

/** A build that must never be served again, asked for as stable, canary, a rollback target or a release. */
export class RevokedBuildError extends Error {
  constructor(
    readonly revocation: Revocation,
    what: string,
  ) {
    super(
      `build ${revocation.buildId} was revoked` +
        `${revocation.at === null ? '' : ` at ${new Date(revocation.at).toISOString()}`}` +
        ` (${revocation.reason}): it cannot be ${what}`,
    );
    this.name = 'RevokedBuildError';
  }
}

/** The revocation of `buildId`, or null when nobody revoked it. */
export async function readRevocation(
  kvs: CloudFrontKeyValueStoreClient,
  storeArn: string,
  buildId: string,
): Promise<Revocation | null> {
  try {
    const answer = await kvs.send(new GetKeyCommand({ KvsARN: storeArn, Key: revocationKey(buildId) }));
    return parseRevocation(buildId, answer.Value);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return null;
    throw error;
  }
}

/** Throws RevokedBuildError, naming the revocation, when any of `buildIds` is revoked. */
export async function refuseRevoked(
  kvs: CloudFrontKeyValueStoreClient,
  storeArn: string,
  buildIds: readonly string[],
  what: string,
): Promise<void> {
  for (const buildId of new Set(buildIds)) {
    const revocation = await readRevocation(kvs, storeArn, buildId);
    if (revocation !== null) throw new RevokedBuildError(revocation, what);
  }
}

/** Every key of the store with its value (ListKeys, page by page): the revocations and the rollout state. */
export async function listStoreItems(
  kvs: CloudFrontKeyValueStoreClient,
  storeArn: string,
): Promise<{ key: string; value: string | undefined }[]> {
  const items: { key: string; value: string | undefined }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kvs.send(new ListKeysCommand({ KvsARN: storeArn, NextToken: nextToken, MaxResults: 50 }));
    for (const item of page.Items ?? []) items.push({ key: item.Key ?? '', value: item.Value });
    nextToken = page.NextToken;
  } while (nextToken);
  return items;
}

/** Every revocation in the store, oldest first (unknown times last). */
export async function listRevocations(kvs: CloudFrontKeyValueStoreClient, storeArn: string): Promise<Revocation[]> {
  return revocationsOf(await listStoreItems(kvs, storeArn));
}

/** Writes the revocation of `buildId` (again, if it is there: the first record stands). */
export async function writeRevocation(
  kvs: CloudFrontKeyValueStoreClient,
  storeArn: string,
  revocation: Omit<Revocation, 'at'> & { readonly at: number },
  attempts = 4,
): Promise<Revocation> {
  for (let attempt = 1; ; attempt += 1) {
    const existing = await readRevocation(kvs, storeArn, revocation.buildId);
    if (existing !== null) return existing;
    const described = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: storeArn }));
    try {
      await kvs.send(
        new PutKeyCommand({
          KvsARN: storeArn,
          Key: revocationKey(revocation.buildId),
          Value: formatRevocation(revocation),
          IfMatch: described.ETag,
        }),
      );
      return { buildId: revocation.buildId, at: revocation.at, reason: revocation.reason.trim() };
    } catch (error) {
      const raced = errorName(error) === 'ConflictException' || errorName(error) === 'PreconditionFailed';
      if (!raced || attempt >= attempts) throw error;
    }
  }
}

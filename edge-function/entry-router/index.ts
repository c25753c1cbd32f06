/**
 * Entry router: Lambda@Edge on origin-request of /assets/index.js. Reads the rollout record,
 * picks the viewer's build (assignment.ts), and either answers with its own build's inlined
 * index.js (no S3 request) or sends the request to the nearest replica bucket for another
 * build's. Every version of this function can serve every build, which is what makes a rollout
 * (and a rollback) a DNS change rather than a new Lambda version.
 */
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import { resolverTxtLookup } from '../shared/dns';
import { NearestBucket, originRole } from '../shared/nearest-bucket';
import { parseRolloutRecord } from '../shared/rollout-record';
import { singleTxtValue, TxtRecordReader } from '../shared/txt-record-reader';
import { chooseBuild } from './assignment';
import { checkEntryRequest, inlinedEntryResponse, malformedHeadersResponse, prepareEntry, rewriteToBuild, unavailableResponse, type EntryRequest } from './route';

const config = __EDGE_CONFIG__;
const entry = prepareEntry(__INLINED_ENTRY__);
const lookup = resolverTxtLookup(config.dnsTimeoutMs);
const logHealth = (healthy: boolean, detail: string) => (healthy ? console.log : console.warn)(`entry-router DNS ${healthy ? 'ok' : 'failing'}: ${detail}`);

const rollout = new TxtRecordReader({
  name: config.rolloutRecord,
  lookup,
  parse: (records) => {
    const value = singleTxtValue(records);
    return value === null ? null : parseRolloutRecord(value);
  },
  freshMs: config.rolloutRefreshMs,
  // An edge idle for two refresh periods asks again before trusting what it has.
  staleMs: 2 * config.rolloutRefreshMs,
  keepLastGood: true,
  waitMs: config.dnsTimeoutMs,
  onHealthChange: logHealth,
});
// Lambda sets AWS_REGION to the region the replica runs in; read once, it never changes.
const nearest = new NearestBucket(config, lookup, process.env.AWS_REGION, { onHealthChange: logHealth });

export async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
  let checked: EntryRequest | null = null;
  try {
    const result = checkEntryRequest(event);
    if (!('request' in result)) return result;
    checked = result;
    const read = rollout.read();
    const record = read instanceof Promise ? await read : read;
    const buildId = chooseBuild(record, entry.buildId, checked.request.clientIp);
    if (buildId === entry.buildId && entry.inlinable) return inlinedEntryResponse(entry, checked.method, checked.encoding);
    const role = originRole(checked.request, config);
    const resolved = role === 'primary' ? nearest.read() : nearest.primary();
    const target = resolved instanceof Promise ? await resolved : resolved;
    return rewriteToBuild(checked, buildId, role, target) ?? malformedHeadersResponse(checked.method);
  } catch (error) {
    // Nothing above should throw; if something does, the viewer still gets a working widget.
    console.error('entry-router: internal failure, serving its own build', error);
    return ownBuildFallback(checked);
  }
}

function ownBuildFallback(checked: EntryRequest | null): CloudFrontRequestResult {
  try {
    if (entry.inlinable) return inlinedEntryResponse(entry, checked?.method ?? 'GET', null);
    const request = checked ? rewriteToBuild(checked, entry.buildId, 'unknown', nearest.primary()) : null;
    if (request) return request;
  } catch {
    // fall through to the refusal
  }
  return unavailableResponse(checked?.method ?? 'GET');
}

/**
 * Permissions follow use, at the edge: the two routers run from their zips against loopback
 * servers, what those servers received is turned into the AWS calls it stands for, and each call is
 * evaluated (__tests__/fixtures/iam.ts) against the policies the stacks synthesize for the config
 * the bundles were built with.
 *
 *   entry router  reads other builds' entries from the replica buckets with its own role
 *                 (GetObject), and on the fallback path reads the rollout state through the
 *                 KeyValueStore API (GetKey) of the store the distribution names in an origin
 *                 header: its role, within the boundary, must allow each, and each bucket's policy
 *                 must not refuse the read.
 *   chunk router  makes no call itself: it points CloudFront at a replica bucket and an object key,
 *                 which CloudFront then reads through the origin access identity. The bucket's
 *                 policy must let the identity read that object, and not a build's manifest.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { formatRolloutState, ROLLOUT_STATE_KEY } from '../../contracts/rollout-state';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';
import { LocalKeyValueStore, startKvsServer, type KvsServer, type SignedRequest } from '../../loopback/kvs-server';
import { startS3Server, type S3LogEntry, type S3Server } from '../../loopback/s3-server';
import { compress } from '../../publish/build';
import { mapStatement } from '../../stacks/policy/iam-policy';
import { blocks, resources } from '../../stacks/policy/terraform-json';
import { STORE_ARN_PATTERN } from '../../contracts/rollout-store';
import { defaultBuild } from '../fixtures/build';
import {
  config,
  edgeEvent,
  edgeZipWith,
  loadEdgeHandler,
  names,
  OTHER_BUILD,
  removeEdgeScratch,
  type EdgeHandler,
} from '../fixtures/edge';
import {
  ASSIGNED_IDS,
  type AwsCall,
  allows,
  type CallContext,
  boundaryStatements,
  bucketPolicy,
  callContext,
  evaluate,
  iamRequests,
  ORIGIN_ACCESS_IDENTITY,
  type PolicySet,
  resolveIn,
  roleArn,
  rolePolicies,
  storeArnFor,
  ungranted,
} from '../fixtures/iam';
import { only, synthesize } from '../stacks/support';

// The stacks for the very config the default build's bundles bake in, so the buckets they read are these.
const synthesized = synthesize(config);
const { delivery, all } = synthesized;
const boundary = boundaryStatements(all, config);
/**
 * The store's ARN as the stacks give it to the routers (their S3 origins' x-rollout-store header)
 * and to the router's role, resolved in the test account. resolveIn stands the store's name in for
 * the id CloudFront assigns, which the router rightly refuses (STORE_ARN_PATTERN: the id is a
 * UUID, and a header naming something else is not a store to call): so the one store is given an
 * id of AWS's shape, the same in the header and in every policy. Only a reference to the store
 * resolves to the name-form ARN (no text of the stacks spells it), so the renaming cannot make a
 * hard-coded ARN look right.
 */
const NAME_FORM_STORE_ARN = storeArnFor(names.rolloutStore);
const STORE_ARN = storeArnFor(ASSIGNED_IDS.uuid);
const assignStoreId = (text: string) => text.split(NAME_FORM_STORE_ARN).join(STORE_ARN);
const withAssignedStore = (policies: PolicySet): PolicySet => ({
  identity: policies.identity.map((statement) => mapStatement(statement, assignStoreId)),
  ...(policies.boundary
    ? { boundary: policies.boundary.map((statement) => mapStatement(statement, assignStoreId)) }
    : {}),
  ...(policies.resource
    ? { resource: policies.resource.map((statement) => mapStatement(statement, assignStoreId)) }
    : {}),
});
const context: CallContext = {
  ...callContext(
    config,
    resolveIn(delivery.json, String(only(delivery, 'aws_codedeploy_deployment_group').deployment_config_name)),
  ),
  storeArn: (name) => (name === names.rolloutStore ? STORE_ARN : storeArnFor(name)),
};
const entryRole = {
  principal: roleArn(names.entryRouter),
  policies: withAssignedStore(rolePolicies(delivery, names.entryRouter, boundary)),
};

/** The store ARN every S3 origin of the distribution hands the routers. */
function originStoreArns(): string[] {
  return resources(delivery.json, 'aws_cloudfront_distribution')
    .flatMap((distribution) => blocks(distribution.body.origin))
    .filter((origin) => origin.s3_origin_config !== undefined)
    .flatMap((origin) => blocks(origin.custom_header))
    .filter((header) => header.name === ROLLOUT_STORE_HEADER)
    .map((header) => assignStoreId(resolveIn(delivery.json, String(header.value))));
}

/** What the S3 origins send the routers: one store, by the ARN the stack gives it. */
const ORIGIN_STORE_ARN = originStoreArns()[0]!;

describe('the store the routers are told of', () => {
  it('is the rollout store, by a reference to its ARN, on every S3 origin, in a form the router calls', () => {
    expect(originStoreArns().length).toBeGreaterThan(0);
    expect(new Set(originStoreArns())).toEqual(new Set([STORE_ARN]));
    expect(all.some((stack) => JSON.stringify(stack.json).includes(NAME_FORM_STORE_ARN))).toBe(false);
    expect(STORE_ARN_PATTERN.test(STORE_ARN)).toBe(true);
    expect(STORE_ARN_PATTERN.test(NAME_FORM_STORE_ARN)).toBe(false);
  });
});

const OWN = defaultBuild().buildId;
const OTHER_ENTRY = Buffer.from(`/* build ${OTHER_BUILD} */(()=>{console.log("other")})();\n`);
/**
 * Patient DNS and store reads, as entry-router.test.ts uses (the same zip): a loaded machine must not turn a call into
 * a fallback.
 */
const PATIENT = { storeTimeoutMs: 5000, dnsTimeoutMs: 5000 };

// ---------------------------------------------------------------------------------------------
// What the loopback servers received, as the AWS calls it stands for

const S3_OPERATIONS: Readonly<Record<string, string>> = { GET: 'GetObject', HEAD: 'HeadObject' };

/** An object request to the S3 server as the call the router's SDK made; anything else fails the test. */
function s3Call(entry: S3LogEntry): AwsCall {
  const operation = S3_OPERATIONS[entry.method];
  if (!operation || entry.bucket === null || entry.key === null)
    throw new Error(
      `no call known for ${entry.method} ${entry.bucket ?? ''}/${entry.key ?? ''}: add it to ${__filename}`,
    );
  return { service: 's3', operation, input: { Bucket: entry.bucket, Key: entry.key } };
}

/**
 * A KeyValueStore API request (restJson1 routes, as loopback/kvs-server.ts serves them) as the call the router's SDK
 * made.
 */
function kvsCall(request: SignedRequest): AwsCall {
  const match = /^\/key-value-stores\/([^/]+)(\/keys(?:\/([^/]+))?)?$/.exec(request.path);
  if (!match) throw new Error(`no KeyValueStore call known for ${request.method} ${request.path}`);
  const KvsARN = decodeURIComponent(match[1]!);
  const key = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
  const operation =
    match[2] === undefined
      ? request.method === 'GET'
        ? 'DescribeKeyValueStore'
        : undefined
      : key === undefined
        ? request.method === 'GET'
          ? 'ListKeys'
          : undefined
        : ({ GET: 'GetKey', PUT: 'PutKey', DELETE: 'DeleteKey' } as Record<string, string>)[request.method];
  if (!operation) throw new Error(`no KeyValueStore call known for ${request.method} ${request.path}`);
  return {
    service: 'cloudfront-keyvaluestore',
    operation,
    input: { KvsARN, ...(key === undefined ? {} : { Key: key }) },
  };
}

/** Whether the bucket's policy, next to the role's, lets `principal` make an S3 call (over TLS, as the SDK does). */
function bucketAllows(policies: PolicySet, principal: string, call: AwsCall): boolean {
  return iamRequests(call, context).every((request) =>
    allows(
      { ...policies, resource: bucketPolicy(all, String(call.input.Bucket)) },
      { ...request, principal, context: { 'aws:SecureTransport': true, ...request.context } },
    ),
  );
}

const header = (result: unknown, name: string) => (result as CloudFrontResultResponse).headers?.[name]?.[0]?.value;

describe('the entry router may make the calls it makes', () => {
  let dns: DnsServer;
  let s3: S3Server;
  let kvs: KvsServer;
  let zip: string;
  /** Every call the servers received since the suite's setup. */
  let s3From = 0;
  let kvsFrom = 0;
  const recorded = (): AwsCall[] => [...s3.log.slice(s3From).map(s3Call), ...kvs.requests.slice(kvsFrom).map(kvsCall)];
  const load = (): EdgeHandler =>
    loadEdgeHandler('entry-router', {
      dnsServer: dns.address,
      s3Endpoint: s3.endpoint,
      kvsEndpoint: kvs.endpoint,
      zip,
    });
  const entryEvent = (options: Parameters<typeof edgeEvent>[0] = {}) =>
    edgeEvent({ originCustomHeaders: { [ROLLOUT_STORE_HEADER]: ORIGIN_STORE_ARN }, ...options });

  // The nearest bucket is neither the primary's nor the failover region's, so a read that fails
  // there and at the primary reaches all three.
  const failover = config.failoverRegion!;
  const nearest = config.regions.find((region) => region !== config.primaryRegion && region !== failover)!;

  beforeAll(async () => {
    zip = await edgeZipWith('entry-router', PATIENT);
    dns = await startDnsServer();
    s3 = await startS3Server({ buckets: config.regions.map((region) => names.bucket(region)) });
    kvs = await startKvsServer({ store: new LocalKeyValueStore(), arn: ORIGIN_STORE_ARN });
    for (const region of config.regions) {
      for (const [suffix, bytes] of [
        ['', OTHER_ENTRY],
        ['.gz', compress(OTHER_ENTRY, 'gzip')],
        ['.br', compress(OTHER_ENTRY, 'br')],
      ] as const) {
        await s3.client(region).send(
          new PutObjectCommand({
            Bucket: names.bucket(region),
            Key: `assets/${OTHER_BUILD}/index.js${suffix}`,
            Body: bytes,
          }),
        );
      }
    }
    s3From = s3.log.length;
    kvsFrom = kvs.requests.length;
    dns.setTxt(names.bucketRecord, nearest);
    // The nearest bucket and the primary fail: the read goes on to the failover region's.
    s3.setHook((request) =>
      request.bucket === names.bucket(nearest) || request.bucket === names.bucket(config.primaryRegion)
        ? { status: 500, code: 'InternalError' }
        : undefined,
    );
    kvs.store.put(
      ROLLOUT_STATE_KEY,
      formatRolloutState({ stable: OTHER_BUILD, canary: OWN, weight: 5000, salt: 'd-PERMS', ring: [] }),
    );
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);

    // (a) another build's entry, by its own URL, in each encoding: read from the buckets.
    for (const encoding of ['br', 'gzip', 'identity']) {
      const result = await load()(
        entryEvent({ uri: `/assets/${OTHER_BUILD}/index.js`, headers: { 'Accept-Encoding': encoding } }),
      );
      expect(header(result, 'x-build-id')).toBe(OTHER_BUILD);
    }
    // (b) the unrewritten entry: the state through the KeyValueStore API, then the build it assigns.
    const handler = load();
    for (const clientIp of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '2001:db8::1']) {
      const result = await handler(entryEvent({ clientIp }));
      expect(header(result, 'cache-control')).toBe('no-store');
    }
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await Promise.all([dns.close(), s3.stop(), kvs.close()]);
    removeEdgeScratch();
  });

  it(
    'recorded both kinds of call: bucket reads in the nearest, ' +
      'primary and failover buckets, and the state through the API',
    () => {
      const calls = recorded();
      const reads = calls.filter((call) => call.service === 's3');
      expect(new Set(reads.map((call) => call.operation))).toEqual(new Set(['GetObject']));
      expect(new Set(reads.map((call) => call.input.Bucket))).toEqual(
        new Set([nearest, config.primaryRegion, failover].map((region) => names.bucket(region))),
      );
      expect(reads.map((call) => call.input.Key)).toContain(`assets/${OTHER_BUILD}/index.js.br`);
      expect(calls.filter((call) => call.service === 'cloudfront-keyvaluestore')).toContainEqual({
        service: 'cloudfront-keyvaluestore',
        operation: 'GetKey',
        input: { KvsARN: STORE_ARN, Key: ROLLOUT_STATE_KEY },
      });
    },
  );

  it('its role, within the boundary, allows every one of them', () => {
    expect(recorded().length).toBeGreaterThan(0);
    expect(ungranted(entryRole.policies, entryRole.principal, recorded(), context)).toEqual([]);
  });

  it("and each bucket's policy lets the role's reads through, over TLS only", () => {
    const reads = recorded().filter((call) => call.service === 's3');
    expect(reads.length).toBeGreaterThan(0);
    for (const call of reads)
      expect([call.input.Bucket, call.input.Key, bucketAllows(entryRole.policies, entryRole.principal, call)]).toEqual([
        call.input.Bucket,
        call.input.Key,
        true,
      ]);
    // The bucket policy is evaluated, not ignored: its TLS-only Deny refuses the same read over HTTP.
    const [first] = reads;
    const [request] = iamRequests(first!, context);
    expect(
      evaluate(
        { ...entryRole.policies, resource: bucketPolicy(all, String(first!.input.Bucket)) },
        { ...request!, principal: entryRole.principal, context: { 'aws:SecureTransport': false } },
      ),
    ).toMatchObject({
      allowed: false,
      why: 'explicit-deny',
    });
  });

  it(
    'the check can fail: without the role’s bucket read, ' + 'or its store read, the recorded calls are ungranted',
    () => {
      const calls = recorded();
      const without = (action: string) => ({
        ...entryRole.policies,
        identity: entryRole.policies.identity.filter((statement) => !statement.actions.includes(action)),
      });
      const noBucketRead = ungranted(without('s3:GetObject'), entryRole.principal, calls, context);
      expect(noBucketRead.length).toBe(calls.filter((call) => call.service === 's3').length);
      expect(noBucketRead.every((line) => line.startsWith('s3:GetObject: s3:GetObject on arn:aws:s3:::'))).toBe(true);
      // Nor does a bucket's policy grant the role anything itself: the reads are the role's own.
      for (const call of calls.filter((c) => c.service === 's3'))
        expect(bucketAllows(without('s3:GetObject'), entryRole.principal, call)).toBe(false);
      // Every store read (the state's, and each build's revocation) is denied without it, and nothing else is.
      const noStoreRead = ungranted(without('cloudfront-keyvaluestore:GetKey'), entryRole.principal, calls, context);
      const storeReads = calls.filter((call) => call.service === 'cloudfront-keyvaluestore').length;
      expect(storeReads).toBeGreaterThan(1);
      expect(noStoreRead).toEqual(
        Array.from(
          { length: storeReads },
          () => `cloudfront-keyvaluestore:GetKey: cloudfront-keyvaluestore:GetKey on ${STORE_ARN} (no-allow)`,
        ),
      );
      // Another principal (the chunk router's role) has no such grant either.
      expect(
        ungranted(rolePolicies(delivery, names.chunkRouter, boundary), roleArn(names.chunkRouter), calls, context),
      ).not.toEqual([]);
    },
  );
});

describe('the chunk router sends CloudFront where its origin access identity may read', () => {
  let dns: DnsServer;
  const chunk = defaultBuild().assets.find((asset) => asset.key.includes('/react.'))!.key;
  const manifestKey = `builds/${OWN}.json`;

  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
    removeEdgeScratch();
  });
  beforeEach(() => {
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  /**
   * The object CloudFront GETs for a request the router returned: the bucket from the origin's domain, the key from the
   * URI.
   */
  function objectRead(result: CloudFrontRequest): { bucket: string; key: string } {
    const s3 = result.origin?.s3;
    expect(s3?.authMethod).toBe('origin-access-identity');
    const domain = /^(.+)\.s3\.([a-z0-9-]+)\.amazonaws\.com$/.exec(s3?.domainName ?? '');
    if (!domain) throw new Error(`the router sent the request to ${s3?.domainName}, not a regional S3 domain`);
    expect(s3?.region).toBe(domain[2]);
    return { bucket: domain[1]!, key: decodeURIComponent(result.uri.slice(1)) };
  }

  it(
    'as the one origin access identity there is, which every ' +
      'S3 origin reads with (through the replica stack’s output)',
    () => {
      const identities = resources(synthesized.replicas.json, 'aws_cloudfront_origin_access_identity');
      expect(identities).toHaveLength(1);
      const outputs = (synthesized.replicas.json as { output?: Record<string, { value?: unknown }> }).output ?? {};
      const s3Origins = resources(delivery.json, 'aws_cloudfront_distribution')
        .flatMap((distribution) => blocks(distribution.body.origin))
        .filter((origin) => origin.s3_origin_config !== undefined);
      expect(s3Origins.length).toBeGreaterThan(0);
      for (const origin of s3Origins) {
        const reference = String(blocks(origin.s3_origin_config)[0]?.origin_access_identity);
        const output = /^\$\{data\.terraform_remote_state\.[^.]+\.outputs\.([^.}]+)\}$/.exec(reference)?.[1];
        expect([reference, output === undefined ? undefined : outputs[output]?.value]).toEqual([
          reference,
          `\${${identities[0]!.address}.cloudfront_access_identity_path}`,
        ]);
      }
    },
  );

  const oaiRead = (bucket: string, key: string, principal = ORIGIN_ACCESS_IDENTITY) =>
    evaluate(
      { identity: [], resource: bucketPolicy(all, bucket) },
      {
        principal,
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${bucket}/${key}`,
        context: { 'aws:SecureTransport': true },
      },
    );

  it.each(config.regions.map((region) => [region]))(
    'in the bucket the latency record names (%s), in each encoding, and not a manifest',
    async (region) => {
      dns.setTxt(names.bucketRecord, region);
      const handler = loadEdgeHandler('chunk-router', {
        dnsServer: dns.address,
        zip: await edgeZipWith('chunk-router', { dnsTimeoutMs: 5000 }),
      });
      const reads: { bucket: string; key: string }[] = [];
      for (const [accept, suffix] of [
        ['br,gzip', '.br'],
        ['gzip', '.gz'],
        ['', ''],
      ]) {
        const result = (await handler(
          edgeEvent({ uri: `/${chunk}`, headers: accept ? { 'Accept-Encoding': accept } : {} }),
        )) as CloudFrontRequest;
        const read = objectRead(result);
        expect(read).toEqual({ bucket: names.bucket(region), key: `${chunk}${suffix}` });
        reads.push(read);
      }
      for (const { bucket, key } of reads) {
        expect([key, oaiRead(bucket, key)]).toEqual([key, expect.objectContaining({ allowed: true, by: 'resource' })]);
      }
      // The same principal may not read what is not served, nor may another identity read what is.
      expect(oaiRead(names.bucket(region), manifestKey)).toMatchObject({ allowed: false, why: 'no-allow' });
      expect(
        oaiRead(
          reads[0]!.bucket,
          reads[0]!.key,
          'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E9OTHERIDENTITY',
        ),
      ).toMatchObject({ allowed: false });
    },
  );
});

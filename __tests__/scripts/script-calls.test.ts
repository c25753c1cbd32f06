/**
 * script-calls.json is derived here, not kept by hand: the six commands the deploy workflow runs
 * with the deploy role (`npm run upload`, `backfill`, `cleanup -- --apply`, `verify-edge --
 * --cloudfront-only`, `rollout -- wait`, `rollout -- check-live --within 3m`) are run through the
 * scenarios that make every kind of AWS call each can make, and every call is recorded at the SDK:
 * those to the loopback S3 server through the SDK clients' shared `send` (recordAwsCalls), those to
 * mocked Lambda, CodeDeploy, CloudFront, KeyValueStore, CloudWatch and STS from aws-sdk-client-mock.
 * Each call becomes the IAM requests AWS checks for it (iamRequests, AWS's service authorization
 * reference), each request's resource one of scriptTargets' kinds of resource; the sorted list of
 * {action, target, scripts} must be the file's `calls`, and every request must be one the deploy role
 * allows. `rollout check-live` also runs nightly in drift.yml with the live-check role, whose policy is
 * its calls alone: every request it made must be one that role allows, and every other script's
 * request it does not make one that role refuses.
 *
 * Each command runs through the function its CLI action calls, with the options the workflow's
 * flags give it (the actions only parse flags and print), plus what a test needs: a loopback
 * endpoint, a clock cleanup judges ages by, mocked clients made as the CLI makes them.
 *
 * When the file differs: UPDATE_SCRIPT_CALLS=1 npx jest __tests__/scripts/script-calls.test.ts
 * rewrites it (review the diff: it is the deploy role's policy for the scripts).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CloudFrontClient,
  DescribeKeyValueStoreCommand as DescribeStoreByName,
  type FunctionConfig,
} from '@aws-sdk/client-cloudfront';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  ListKeysCommand,
  GetKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig, parseConfig, resourceNames } from '../../config';
import { publishedBuildKey } from '../../contracts/bucket-layout';
import { readManifest } from '../../contracts/build-manifest';
import { ENTRY_PATH } from '../../contracts/distribution-paths';
import { preferredEncoding } from '../../contracts/encoding';
import { ERROR_REPORT_PATH } from '../../contracts/error-report';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState, type RolloutState } from '../../contracts/rollout-state';
import { judgmentKey } from '../../contracts/release-progress';
import { NOTIFICATION_LOG_KEY } from '../../contracts/release-notification';
import { rolloutStoreClientConfig } from '../../contracts/rollout-store';
import { backfill } from '../../scripts/backfill';
import { cleanup } from '../../scripts/cleanup';
import { formatRevocation, revocationKey } from '../../contracts/revocation';
import {
  type CiScript,
  ciRolePolicies,
  type PolicyDocument,
  type ScriptCall,
  type ScriptTarget,
  scriptTargets,
} from '../../scripts/lib/ci-iam';
import { runRolloutCli } from '../../scripts/rollout-commands';
import { rolloutClients } from '../../scripts/rollout';
import {
  designedCacheControl,
  designedEtag,
  designedVary,
  errorReportAnswer,
} from '../../scripts/rollout-commands/check-live';
import { listObjects } from '../../rollout-control/s3';
import { buildObjects, upload } from '../../publish/upload';
import { verifyEdge } from '../../scripts/verify-edge';
import { startS3Server, type S3Server } from '../../loopback/s3-server';
import { jsonStatements, type Statement } from '../../stacks/policy/iam-policy';
import { wildcardMatch } from '../../stacks/policy/iam-reference';
import { fakeCheckFunctionApi } from '../fixtures/cloudfront-check-function';
import { BUILD_DIR } from '../fixtures/build';
import { writeBuild } from '../fixtures/builds';
import {
  ACCOUNT,
  type AwsCall,
  bucketPolicy,
  callContext,
  evaluate,
  iamRequests,
  mockedCallsWithRegions,
  recordAwsCalls,
  resolveIn,
  storeArnFor,
} from '../fixtures/iam';
import { BUILD_A, BUILD_B, lambdaDeployment, versionConfiguration } from '../regional-function/aws-fixtures';
import { only, synthesize } from '../stacks/support';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT_CALLS_FILE = path.join(PROJECT_ROOT, 'scripts', 'lib', 'ci-iam', 'script-calls.json');
const UPDATE_COMMAND = 'UPDATE_SCRIPT_CALLS=1 npx jest __tests__/scripts/script-calls.test.ts';
const UPDATE = (process.env.UPDATE_SCRIPT_CALLS ?? '') !== '' && process.env.UPDATE_SCRIPT_CALLS !== '0';
const COMMENT =
  'Generated, not written by hand: the AWS calls `npm run upload`, `backfill`, `cleanup`, `verify-edge`, ' +
  '`rollout wait` and `rollout check-live` made in __tests__/scripts/script-calls.test.ts, as IAM actions on the ' +
  'resources they touched. That test fails when this file and the recording differ; UPDATE_SCRIPT_CALLS=1 npx jest ' +
  '__tests__/scripts/script-calls.test.ts rewrites it.';
/** Whoever assumes the deploy role: the principal of every request. */
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/widget-github-deploy`;
/** Whoever assumes the live-check role (drift.yml's nightly `rollout check-live`). */
const LIVE_CHECK_ROLE = `arn:aws:iam::${ACCOUNT}:role/widget-github-live-check`;
const DAY = 24 * 60 * 60 * 1000;
const fastRetry = { attempts: 4, delayMs: 1 };

const config = loadConfig(path.join(PROJECT_ROOT, 'deploy.config.json'));
const names = resourceNames(config);
const buckets = config.regions.map((region) => names.bucket(region));
const STORE_ARN = storeArnFor(names.rolloutStore);

const synthesized = synthesize(config);
const context = callContext(
  config,
  resolveIn(
    synthesized.delivery.json,
    String(only(synthesized.delivery, 'aws_codedeploy_deployment_group').deployment_config_name),
  ),
);

// Every client the six commands make but S3's: the S3 calls go to the loopback server.
const lambda = mockClient(LambdaClient);
const dynamodb = mockClient(DynamoDBClient);
const codedeploy = mockClient(CodeDeployClient);
const cloudfront = mockClient(CloudFrontClient);
const kvs = mockClient(CloudFrontKeyValueStoreClient);
const cloudwatch = mockClient(CloudWatchClient);
const sts = mockClient(STSClient);
const mocks = [lambda, codedeploy, cloudfront, kvs, cloudwatch, sts, dynamodb];

/** The scenarios, by script: each must have run, and recorded, before anything is derived. */
const SCENARIOS: Readonly<Record<CiScript, readonly string[]>> = {
  upload: ['into empty buckets', 'resumed after it stopped half way'],
  backfill: ['copies the builds a region added to the config lacks'],
  cleanup: ['--apply deletes retired builds and an interrupted upload, markers, manifests and assets'],
  'verify-edge': ["--cloudfront-only: updates and tests the check function in CloudFront's runtime"],
  'rollout wait': ['--save-baseline, then --baseline through a rollout to its end'],
  'rollout check-live': ['--within 3m: the rollout state and the published manifests, then the distribution'],
};

interface Recording {
  readonly script: CiScript;
  readonly scenario: string;
  readonly calls: readonly AwsCall[];
}
const recordings: Recording[] = [];

/** Runs one scenario, recording every AWS call it makes; recorded only when the scenario completes. */
async function record(script: CiScript, scenario: string, run: () => Promise<void>): Promise<readonly AwsCall[]> {
  for (const mock of mocks) mock.resetHistory();
  const recorder = recordAwsCalls();
  try {
    await run();
  } finally {
    recorder.stop();
  }
  const calls = [...(await recorder.calls()), ...(await mockedCallsWithRegions(...mocks))];
  recordings.push({ script, scenario, calls });
  return calls;
}

const operations = (calls: readonly AwsCall[]) =>
  [...new Set(calls.map((call) => `${call.service}:${call.operation}`))].sort();

beforeEach(() => {
  for (const mock of mocks) mock.reset();
});
afterAll(() => {
  for (const mock of mocks) mock.restore();
});

describe('the scripts the deploy role runs, recorded at the SDK', () => {
  describe('upload', () => {
    let server: S3Server;
    beforeEach(async () => {
      server = await startS3Server({ buckets });
    });
    afterEach(() => server.stop());
    const objects = buildObjects(BUILD_DIR, readManifest(BUILD_DIR));

    it(SCENARIOS.upload[0]!, async () => {
      const calls = await record('upload', SCENARIOS.upload[0]!, async () => {
        const result = await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry });
        expect(result.regions.map((r) => [r.region, r.ok, r.uploaded, r.manifest])).toEqual(
          config.regions.map((region) => [region, true, objects.length, 'written']),
        );
      });
      expect(operations(calls)).toEqual(['s3:GetObject', 's3:HeadObject', 's3:ListObjectsV2', 's3:PutObject']);
    });

    it(SCENARIOS.upload[1]!, async () => {
      // A first run that got half way in every region: some objects there, no manifest anywhere.
      expect((await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry })).ok).toBe(
        true,
      );
      const client = server.client();
      const manifestKey = publishedBuildKey(readManifest(BUILD_DIR).buildId);
      for (const bucket of buckets) {
        for (const key of [manifestKey, ...objects.filter((_, index) => index % 2 === 0).map((o) => o.key)])
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
      const calls = await record('upload', SCENARIOS.upload[1]!, async () => {
        const result = await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry });
        expect(result.ok).toBe(true);
        for (const region of result.regions)
          expect([region.skipped, region.uploaded]).toEqual([
            Math.floor(objects.length / 2),
            Math.ceil(objects.length / 2),
          ]);
      });
      expect(operations(calls)).toEqual(['s3:GetObject', 's3:HeadObject', 's3:ListObjectsV2', 's3:PutObject']);
    });
  });

  it(`backfill ${SCENARIOS.backfill[0]}`, async () => {
    const [first, second, added] = config.regions;
    if (first === undefined || second === undefined || added === undefined)
      throw new Error('this test needs three regions in deploy.config.json');
    const server = await startS3Server({ buckets });
    const dir = writeBuild('0000000000000b0f', { 'index.js': '/* retained */', 'chunk.js': '/* chunk */' });
    try {
      // Two builds in the regions there were, none in the one just added.
      for (const buildDir of [BUILD_DIR, dir])
        expect(
          (await upload({ config, buildDir, regions: [first, second], endpoint: server.endpoint, retry: fastRetry }))
            .ok,
        ).toBe(true);
      const calls = await record('backfill', SCENARIOS.backfill[0]!, async () => {
        const result = await backfill({ config, endpoint: server.endpoint, retry: fastRetry });
        expect(result.ok).toBe(true);
        expect(result.copied.map((build) => build.regions)).toEqual([[added], [added]]);
      });
      expect(operations(calls)).toEqual(['s3:GetObject', 's3:HeadObject', 's3:ListObjectsV2', 's3:PutObject']);
      expect((await listObjects(server.client(), names.bucket(added), 'builds/')).map((o) => o.key).sort()).toEqual(
        [readManifest(BUILD_DIR).buildId, '0000000000000b0f'].map(publishedBuildKey).sort(),
      );
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`cleanup ${SCENARIOS.cleanup[0]}`, async () => {
    // Keep one retired build, so that two older ones go; "now" far enough ahead that they are old.
    const retained = parseConfig({
      ...JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'deploy.config.json'), 'utf8')),
      retention: { keepBuilds: 1, graceDays: 7 },
    });
    const now = new Date(Date.now() + 60 * DAY);
    const id = (n: number) => n.toString(16).padStart(16, '0');
    const [canary, newest, older, oldest, stable] = [id(0xc1), id(0xc2), id(0xc3), id(0xc4), id(0xc5)];
    const orphan = id(0xc6);
    const server = await startS3Server({ buckets });
    const dirs: string[] = [];
    try {
      for (const [buildId, daysAgo] of [
        [canary, 1],
        [newest, 10],
        [older, 20],
        [oldest, 40],
        [stable, 50],
      ] as const) {
        const dir = writeBuild(buildId, { 'index.js': `/* ${buildId} */`, 'chunk.js': `/* chunk of ${buildId} */` });
        dirs.push(dir);
        expect(
          (
            await upload({
              config: retained,
              buildDir: dir,
              endpoint: server.endpoint,
              now: () => new Date(now.getTime() - daysAgo * DAY),
            })
          ).ok,
        ).toBe(true);
      }
      // An upload that died before its manifest, long ago.
      await server
        .client()
        .send(new PutObjectCommand({ Bucket: buckets[1], Key: `assets/${orphan}/index.js`, Body: 'half' }));
      lambda
        .on(GetAliasCommand, { FunctionName: names.entryRouter, Name: names.liveAlias })
        .resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
      lambda
        .on(GetFunctionConfigurationCommand, { FunctionName: names.entryRouter, Qualifier: '7' })
        .resolves(versionConfiguration(stable));
      lambda
        .on(GetFunctionConfigurationCommand, { FunctionName: names.entryRouter, Qualifier: '8' })
        .resolves(versionConfiguration(canary));

      // The newest retired build was revoked: it goes, though keepBuilds would keep it, and the next one is kept.
      cloudfront.on(DescribeStoreByName).resolves({
        KeyValueStore: { Name: names.rolloutStore, Id: 'x', ARN: STORE_ARN, Comment: '', LastModifiedTime: new Date() },
      });
      kvs.on(ListKeysCommand).resolves({
        Items: [
          { Key: ROLLOUT_STATE_KEY, Value: formatRolloutState(steadyState(stable)) },
          { Key: revocationKey(newest), Value: formatRevocation({ at: now.getTime(), reason: 'CVE-2026-0001' }) },
        ],
      });
      const calls = await record('cleanup', SCENARIOS.cleanup[0]!, async () => {
        const result = await cleanup({
          config: retained,
          endpoint: server.endpoint,
          now,
          apply: true,
          retry: fastRetry,
        });
        expect(result.ok).toBe(true);
        expect(
          result.plan.verdicts
            .filter((v) => v.action === 'delete')
            .map((v) => v.buildId)
            .sort(),
        ).toEqual([newest, oldest, orphan].sort());
        expect(result.plan.verdicts.find((v) => v.buildId === newest)?.reason).toBe('revoked: never served again');
        expect(result.deletions.map((d) => [d.region, d.builds])).toEqual(
          config.regions.map((region, index) => [region, index === 1 ? 3 : 2]),
        );
      });
      expect(operations(calls)).toEqual([
        'cloudfront-keyvaluestore:ListKeys',
        'cloudfront:DescribeKeyValueStore',
        'lambda:GetAlias',
        'lambda:GetFunctionConfiguration',
        's3:DeleteObject',
        's3:DeleteObjects',
        's3:GetObject',
        's3:HeadObject',
        's3:ListObjectsV2',
        's3:PutObject',
      ]);
      for (const bucket of buckets) {
        const keys = (await listObjects(server.client(), bucket, '')).map((o) => o.key);
        expect(keys.filter((key) => [newest, oldest, orphan].some((gone) => key.includes(gone)))).toEqual([]);
        // The revoked build does not count among the kept: the next newest is kept instead.
        expect(keys.filter((key) => key.includes(older))).not.toEqual([]);
      }
    } finally {
      await server.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`verify-edge ${SCENARIOS['verify-edge'][0]}`, async () => {
    // CloudFront as far as the check talks to it: the check function as the delivery stack makes
    // it, its DEVELOPMENT stage running what UpdateFunction put there, the store holding a rollout.
    const twin = only(synthesized.delivery, 'aws_cloudfront_function', (fn) => fn.name === names.viewerAssignmentCheck);
    const state: RolloutState = {
      stable: BUILD_A,
      canary: BUILD_B,
      weight: 5000,
      salt: 'd-CALLS0001',
      ring: ['https://demo.example.com'],
    };
    fakeCheckFunctionApi({
      cloudfront,
      kvs,
      functionName: names.viewerAssignmentCheck,
      functionArn: `arn:aws:cloudfront::${ACCOUNT}:function/${names.viewerAssignmentCheck}`,
      storeName: names.rolloutStore,
      storeArn: STORE_ARN,
      functionConfig: {
        Comment: twin.comment as string,
        Runtime: twin.runtime as FunctionConfig['Runtime'],
        KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: STORE_ARN }] },
      },
      state,
      utilization: () => '30',
    });

    const lines: string[] = [];
    const calls = await record('verify-edge', SCENARIOS['verify-edge'][0]!, async () => {
      // The clients as `--cloudfront-only` makes them.
      const clients = {
        cloudfront: new CloudFrontClient({ region: 'us-east-1' }),
        kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig()),
      };
      expect(
        await verifyEdge({
          config,
          buildDir: BUILD_DIR,
          cloudfront: clients,
          skipLocal: true,
          out: (line) => lines.push(line),
        }),
      ).toBe(true);
    });
    expect(lines.at(-1)).toMatch(/^all \d+ edge checks passed$/);
    expect(operations(calls)).toEqual([
      'cloudfront-keyvaluestore:GetKey',
      'cloudfront:DescribeFunction',
      'cloudfront:DescribeKeyValueStore',
      'cloudfront:TestFunction',
      'cloudfront:UpdateFunction',
    ]);
  });

  it(`rollout wait ${SCENARIOS['rollout wait'][0]}`, async () => {
    // Before the deploy: alias live on 7 (build A), d-OLD0001 its last deployment. Then the deploy's
    // deployment d-NEW0001 shifts 30 % to 8 (build B), then ends with everything on 8.
    let phase: 'before' | 'rolling' | 'done' = 'before';
    const deployments: Record<string, () => ReturnType<typeof lambdaDeployment>> = {
      'd-OLD0001': () =>
        lambdaDeployment({ from: '6', to: '7', status: 'Succeeded', completeTime: new Date('2026-11-26T09:10:00Z') }),
      'd-NEW0001': () =>
        lambdaDeployment({
          from: '7',
          to: '8',
          status: phase === 'done' ? 'Succeeded' : 'InProgress',
          ...(phase === 'done' ? { completeTime: new Date('2026-11-26T10:10:00Z') } : {}),
        }),
    };
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: DEPLOY_ROLE });
    lambda
      .on(GetAliasCommand)
      .callsFake(() =>
        phase === 'rolling'
          ? { Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.3 } } }
          : { Name: 'live', FunctionVersion: phase === 'done' ? '8' : '7' },
      );
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_A));
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_B));
    cloudfront.on(DescribeStoreByName).resolves({
      KeyValueStore: { Name: names.rolloutStore, Id: 'x', ARN: STORE_ARN, Comment: '', LastModifiedTime: new Date() },
      ETag: 'E1',
    });
    kvs.on(DescribeKeyValueStoreCommand).callsFake(() => ({ ETag: `K-${phase}`, KvsARN: STORE_ARN }));
    kvs.on(GetKeyCommand).callsFake(() => ({
      Key: ROLLOUT_STATE_KEY,
      Value: formatRolloutState(
        phase === 'rolling'
          ? { stable: BUILD_A, canary: BUILD_B, weight: 3000, salt: 'd-NEW0001', ring: [] }
          : steadyState(phase === 'done' ? BUILD_B : BUILD_A),
      ),
    }));
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: names.clientErrorAlarm, StateValue: 'OK' },
        { AlarmName: names.edgeErrorAlarm, StateValue: 'OK' },
      ],
    });
    codedeploy.on(ListDeploymentsCommand).callsFake(() => ({ deployments: phase === 'rolling' ? ['d-NEW0001'] : [] }));
    codedeploy.on(GetDeploymentGroupCommand).callsFake(() => ({
      deploymentGroupInfo: {
        lastAttemptedDeployment:
          phase === 'before'
            ? { deploymentId: 'd-OLD0001', status: 'Succeeded' }
            : { deploymentId: 'd-NEW0001', status: 'Succeeded' },
      },
    }));
    codedeploy
      .on(GetDeploymentCommand)
      .callsFake((input: { deploymentId: string }) => deployments[input.deploymentId]!());
    // The judge's record of each deployment the status shows (none kept yet: the status says so).
    dynamodb.on(GetItemCommand).resolves({});

    const dir = mkdtempSync(path.join(tmpdir(), 'script-calls-baseline-'));
    const baseline = path.join(dir, 'baseline');
    const out: string[] = [];
    const err: string[] = [];
    let now = 0;
    // The CLI as scripts/rollout.ts wires it, on a clock that moves the rollout on at every sleep.
    const wait = (...argv: string[]) =>
      runRolloutCli(['wait', ...argv], {
        loadConfig: (file) => loadConfig(file ?? path.join(PROJECT_ROOT, 'deploy.config.json')),
        createClients: () =>
          rolloutClients(() => {
            throw new Error('rollout wait reads no bucket: mock S3 here if it does now');
          }),
        out: (line) => out.push(line),
        err: (line) => err.push(line),
        now: () => now,
        sleep: async (ms) => {
          now += ms;
          phase = phase === 'before' ? 'rolling' : 'done';
        },
      });
    try {
      const calls = await record('rollout wait', SCENARIOS['rollout wait'][0]!, async () => {
        expect(await wait('--save-baseline', baseline)).toBe(0);
        expect(await wait('--baseline', baseline)).toBe(0);
      });
      expect(err).toEqual([]);
      expect(out[0]).toBe('baseline deployment: d-OLD0001 (Succeeded)');
      expect(out.join('\n')).toMatch(/newest is still d-OLD0001 .*\n.*d-NEW0001 InProgress\nd-NEW0001 succeeded$/s);
      expect(operations(calls)).toEqual([
        'cloudfront-keyvaluestore:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:GetKey',
        // The status it reads lists the revoked builds.
        'cloudfront-keyvaluestore:ListKeys',
        'cloudfront:DescribeKeyValueStore',
        'cloudwatch:DescribeAlarms',
        'codedeploy:GetDeployment',
        'codedeploy:GetDeploymentGroup',
        'codedeploy:ListDeployments',
        'dynamodb:GetItem',
        'lambda:GetAlias',
        'lambda:GetFunctionConfiguration',
        'sts:GetCallerIdentity',
      ]);
      // Of the release-signal table, the judgments of the deployments it showed and the last release messages (the
      // status lists them), and nothing else.
      expect(
        [
          ...new Set(
            dynamodb
              .commandCalls(GetItemCommand)
              .map((call) => `${call.args[0].input.TableName} ${call.args[0].input.Key?.pk?.S}`),
          ),
        ].sort(),
      ).toEqual(
        [
          `${names.signalTable} ${judgmentKey('d-NEW0001')}`,
          `${names.signalTable} ${judgmentKey('d-OLD0001')}`,
          `${names.signalTable} ${NOTIFICATION_LOG_KEY}`,
        ].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`rollout check-live ${SCENARIOS['rollout check-live'][0]}`, async () => {
    // The build in every bucket (its manifest in the primary one is what check-live reads), the store holding a
    // rollout of it, and a distribution that serves it as designed, so the run checks everything and passes.
    const server = await startS3Server({ buckets });
    const distribution = await serveAsDesigned(BUILD_DIR);
    try {
      expect((await upload({ config, buildDir: BUILD_DIR, endpoint: server.endpoint, retry: fastRetry })).ok).toBe(
        true,
      );
      const { buildId } = readManifest(BUILD_DIR);
      sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: LIVE_CHECK_ROLE });
      cloudfront.on(DescribeStoreByName).resolves({
        KeyValueStore: { Name: names.rolloutStore, Id: 'x', ARN: STORE_ARN, Comment: '', LastModifiedTime: new Date() },
        ETag: 'E1',
      });
      kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'K1', KvsARN: STORE_ARN });
      kvs
        .on(GetKeyCommand, { KvsARN: STORE_ARN, Key: ROLLOUT_STATE_KEY })
        .resolves({ Key: ROLLOUT_STATE_KEY, Value: formatRolloutState(steadyState(buildId)) });
      const out: string[] = [];
      const err: string[] = [];
      let now = 0;
      const calls = await record('rollout check-live', SCENARIOS['rollout check-live'][0]!, async () => {
        // The CLI as scripts/rollout.ts wires it, the buckets' client on the loopback server; the distribution's
        // address given, where the workflow's run takes https://<domain> from the config.
        const code = await runRolloutCli(['check-live', '--within', '3m', '--url', distribution.url], {
          loadConfig: (file) => loadConfig(file ?? path.join(PROJECT_ROOT, 'deploy.config.json')),
          createClients: () => rolloutClients((region) => server.client(region)),
          out: (line) => out.push(line),
          err: (line) => err.push(line),
          now: () => now,
          sleep: async (ms) => {
            now += ms;
          },
        });
        expect({ code, err, failed: out.filter((line) => line.startsWith('FAIL')) }).toEqual({
          code: 0,
          err: [],
          failed: [],
        });
      });
      expect(out[0]).toContain(`${distribution.url}: rollout serves stable ${buildId}; `);
      expect(out.at(-1)).toMatch(/^All \d+ checks passed\.$/);
      expect(operations(calls)).toEqual([
        'cloudfront-keyvaluestore:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:GetKey',
        'cloudfront:DescribeKeyValueStore',
        's3:GetObject',
        'sts:GetCallerIdentity',
      ]);
      // Of the buckets, the published manifest of the build the rollout serves, in the primary region's.
      expect(
        calls.filter((call) => call.service === 's3').map((call) => `${call.input.Bucket}/${call.input.Key}`),
      ).toEqual([`${names.bucket(config.primaryRegion)}/${publishedBuildKey(buildId)}`]);
    } finally {
      await distribution.stop();
      await server.stop();
    }
  });
});

/**
 * A stand-in for the distribution on loopback, serving the build in `buildDir` as check-live expects it (the entry
 * at /assets/index.js, its chunks, /api/e as the build's error-report function answers, 404 for anything else): the
 * recording is of a run that passed every check. The checks themselves are check-live.test.ts's subject, against the
 * local distribution.
 */
async function serveAsDesigned(buildDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const manifest = readManifest(buildDir);
  const errorReport = await errorReportAnswer(
    readFileSync(path.join(buildDir, manifest.cloudFrontFunctions['error-report'].file), 'utf8'),
  );
  const assets = new Map(manifest.assets.map((asset) => [asset.key, asset]));
  const server = createServer((request, response) => {
    const send = (status: number, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)) =>
      response.writeHead(status, headers).end(body);
    const urlPath = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (urlPath === ERROR_REPORT_PATH) return send(errorReport.status, { ...errorReport.headers });
    const key = urlPath === ENTRY_PATH ? manifest.entry.key : urlPath.slice(1);
    const asset = assets.get(key);
    if (!asset) return send(404, {}, Buffer.from('not found'));
    const encoding = preferredEncoding(request.headers['accept-encoding']);
    const variant = encoding === null ? undefined : asset.variants[encoding];
    const body = readFileSync(path.join(buildDir, variant?.key ?? asset.key));
    const etag = designedEtag(body);
    if (request.headers['if-none-match'] === etag) return send(304, { etag });
    return send(
      200,
      {
        'cache-control': designedCacheControl(urlPath, key),
        etag,
        vary: designedVary(urlPath).join(', '),
        ...(urlPath === ENTRY_PATH ? { 'x-build-id': manifest.buildId } : {}),
        ...(variant && encoding ? { 'content-encoding': encoding } : {}),
      },
      body,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

// ---------------------------------------------------------------------------------------------
// What the recording derives

interface ScriptRequest {
  readonly script: CiScript;
  readonly scenario: string;
  readonly call: AwsCall;
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, unknown>>;
}

/** Every IAM request of every recorded call; fails when a scenario did not complete (its calls would be missing). */
function recordedRequests(): ScriptRequest[] {
  const missing = Object.entries(SCENARIOS).flatMap(([script, scenarios]) =>
    scenarios
      .filter((scenario) => !recordings.some((r) => r.script === script && r.scenario === scenario))
      .map((scenario) => `${script}: ${scenario}`),
  );
  if (missing.length > 0)
    throw new Error(
      `these scenarios did not complete, so their calls are not recorded (see their own failures above): ` +
        `${missing.join('; ')}`,
    );
  return recordings.flatMap(({ script, scenario, calls }) =>
    calls.flatMap((call) => iamRequests(call, context).map((request) => ({ script, scenario, call, ...request }))),
  );
}

/** A call as a failure message names it: the script, the scenario, the operation and what it was about. */
function describeRequest(r: ScriptRequest): string {
  const about = [
    'Bucket',
    'Key',
    'FunctionName',
    'Qualifier',
    'Name',
    'KvsARN',
    'applicationName',
    'deploymentGroupName',
    'deploymentId',
    'AlarmNames',
  ]
    .filter((field) => r.call.input[field] !== undefined)
    .map((field) => `${field}: ${JSON.stringify(r.call.input[field])}`)
    .join(', ');
  return (
    `${r.script} (${r.scenario}): ${r.call.service}:${r.call.operation} {${about}} in ` +
    `${r.call.region ?? 'us-east-1'} → ${r.action} on ${r.resource}`
  );
}

/**
 * Failures as lines: one per script, scenario, operation, action and reason (a cleanup deletes
 * dozens of objects alike), naming the first such request and how many more there were.
 */
function summarize(failures: readonly { r: ScriptRequest; why: string }[]): string[] {
  const lines = new Map<string, { line: string; count: number }>();
  for (const { r, why } of failures) {
    const key = [r.script, r.scenario, r.call.service, r.call.operation, r.action, why].join(' ');
    const seen = lines.get(key);
    if (seen) seen.count += 1;
    else lines.set(key, { line: `${describeRequest(r)}: ${why}`, count: 1 });
  }
  return [...lines.values()].map(({ line, count }) => (count > 1 ? `${line} (and ${count - 1} more like it)` : line));
}

/** The first of scriptTargets' kinds whose ARN patterns match the resource. */
function targetOf(resource: string): ScriptTarget | undefined {
  const targets = Object.entries(scriptTargets(config, ACCOUNT)) as [ScriptTarget, readonly string[]][];
  return targets.find(([, patterns]) => patterns.some((pattern) => wildcardMatch(pattern, resource)))?.[0];
}

function derive(requests: readonly ScriptRequest[]): ScriptCall[] {
  const scripts = new Map<string, { action: string; target: ScriptTarget; scripts: Set<CiScript> }>();
  for (const r of requests) {
    const target = targetOf(r.resource);
    if (target === undefined) continue;
    const key = `${r.action} ${target}`;
    const entry = scripts.get(key) ?? { action: r.action, target, scripts: new Set<CiScript>() };
    entry.scripts.add(r.script);
    scripts.set(key, entry);
  }
  const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...scripts.values()]
    .map((entry) => ({ action: entry.action, target: entry.target, scripts: [...entry.scripts].sort(byCode) }))
    .sort((a, b) => byCode(a.action, b.action) || byCode(a.target, b.target));
}

/** The file as it is written: 2-space JSON, each call's scripts on its line. */
function formatScriptCalls(comment: string, calls: readonly ScriptCall[]): string {
  const call = (c: ScriptCall) =>
    [
      '    {',
      `      "action": ${JSON.stringify(c.action)},`,
      `      "target": ${JSON.stringify(c.target)},`,
      `      "scripts": [${c.scripts.map((s) => JSON.stringify(s)).join(', ')}]`,
      '    }',
    ].join('\n');
  return `{\n  "//": ${JSON.stringify(comment)},\n  "calls": [\n${calls.map(call).join(',\n')}\n  ]\n}\n`;
}

const entryName = (c: ScriptCall) => `${c.action} on ${c.target}`;
/** Whether this run rewrote the file (UPDATE_SCRIPT_CALLS). */
let rewritten = false;

/**
 * The CI roles as `npm run names -- --iam` prints them from the file as it now stands: when the test that compares
 * the file rewrote it, from the generator loaded afresh (jest caches what it read of the file).
 */
function currentPolicies(): ReturnType<typeof ciRolePolicies> {
  let policies = ciRolePolicies;
  if (rewritten) {
    jest.resetModules();
    policies = jest.requireActual<typeof import('../../scripts/lib/ci-iam')>('../../scripts/lib/ci-iam').ciRolePolicies;
  }
  return policies(synthesized.all, config, { account: ACCOUNT });
}

/** The requests `role`, assumed by `principal`, may not make: refused by its policy, or by the bucket's own. */
function refusals(
  role: PolicyDocument,
  principal: string,
  requests: readonly ScriptRequest[],
): { r: ScriptRequest; why: string }[] {
  const identity = jsonStatements(role as never);
  const bucketPolicies = new Map<string, Statement[]>();
  const refused: { r: ScriptRequest; why: string }[] = [];
  for (const r of requests) {
    const request = {
      principal,
      action: r.action,
      resource: r.resource,
      context: { 'aws:SecureTransport': true, ...r.context },
    };
    const byRole = evaluate({ identity }, request);
    if (!byRole.allowed) {
      refused.push({ r, why: byRole.why });
      continue;
    }
    if (r.call.service !== 's3') continue;
    const bucket = r.resource.slice('arn:aws:s3:::'.length).split('/')[0]!;
    if (!bucketPolicies.has(bucket)) bucketPolicies.set(bucket, bucketPolicy(synthesized.all, bucket));
    const withBucket = evaluate({ identity, resource: bucketPolicies.get(bucket) }, request);
    if (!withBucket.allowed) refused.push({ r, why: `the bucket's policy: ${withBucket.why}` });
  }
  return refused;
}

describe('script-calls.json', () => {
  it("gives every request a target: each resource the scripts touched is one of scriptTargets' kinds", () => {
    const requests = recordedRequests();
    expect(requests.length).toBeGreaterThan(100);
    // A request no target matches is one the deploy role would never be granted.
    expect(
      summarize(
        requests
          .filter((r) => targetOf(r.resource) === undefined)
          .map((r) => ({ r, why: 'matches no target of scriptTargets()' })),
      ),
    ).toEqual([]);
  });

  it(`is what the recording derives (else: ${UPDATE_COMMAND})`, () => {
    const derived = derive(recordedRequests());
    const file = JSON.parse(readFileSync(SCRIPT_CALLS_FILE, 'utf8')) as { '//'?: unknown; calls: ScriptCall[] };
    if (UPDATE) {
      writeFileSync(
        SCRIPT_CALLS_FILE,
        formatScriptCalls(typeof file['//'] === 'string' ? file['//'] : COMMENT, derived),
      );
      rewritten = true;
      return;
    }
    if (JSON.stringify(file.calls) === JSON.stringify(derived)) return;
    const inFile = new Map(file.calls.map((c) => [entryName(c), c]));
    const made = new Map(derived.map((c) => [entryName(c), c]));
    const differences = [
      ...derived
        .filter((c) => !inFile.has(entryName(c)))
        .map((c) => `  made, not in the file:   ${entryName(c)} (${c.scripts.join(', ')})`),
      ...file.calls
        .filter((c) => !made.has(entryName(c)))
        .map((c) => `  in the file, never made: ${entryName(c)} (${c.scripts.join(', ')})`),
      ...derived
        .filter(
          (c) =>
            inFile.has(entryName(c)) && JSON.stringify(inFile.get(entryName(c))!.scripts) !== JSON.stringify(c.scripts),
        )
        .map(
          (c) =>
            `  other scripts:           ${entryName(c)}: made by ${c.scripts.join(', ')}; the file says ` +
            `${inFile.get(entryName(c))!.scripts.join(', ')}`,
        ),
    ];
    throw new Error(
      [
        `scripts/lib/ci-iam/script-calls.json is not what the scripts' calls ` +
          `derive${differences.length > 0 ? ':' : ' (same entries, another order or layout)'}`,
        ...differences,
        `Run \`${UPDATE_COMMAND}\` to rewrite it, and review the diff: it is the deploy role's policy for the scripts.`,
      ].join('\n'),
    );
  });

  it('lets the deploy role make every recorded request, the buckets’ own policies not denying it', () => {
    const requests = recordedRequests();
    expect(summarize(refusals(currentPolicies().deployRole, DEPLOY_ROLE, requests))).toEqual([]);
    expect(new Set(requests.map((r) => r.script))).toEqual(new Set(Object.keys(SCENARIOS)));
  });

  it(
    "lets the live-check role make every request of `rollout check-live`, and none of the other scripts' that " +
      'check-live does not make',
    () => {
      const role = currentPolicies().liveCheckRole;
      const requests = recordedRequests();
      const checkLive = requests.filter((r) => r.script === 'rollout check-live');
      expect(checkLive.length).toBeGreaterThan(3);
      expect(summarize(refusals(role, LIVE_CHECK_ROLE, checkLive))).toEqual([]);
      // What the others do that check-live does not (same action on the same kind of resource): writes, deletes,
      // listings, the alias, the deployments, the alarms, the signal table, the check function.
      const made = new Set(checkLive.map((r) => `${r.action} ${targetOf(r.resource)}`));
      const others = requests.filter(
        (r) => r.script !== 'rollout check-live' && !made.has(`${r.action} ${targetOf(r.resource)}`),
      );
      expect(new Set(others.map((r) => r.action.split(':')[0]))).toEqual(
        new Set(['s3', 'lambda', 'codedeploy', 'cloudwatch', 'cloudfront', 'cloudfront-keyvaluestore', 'dynamodb']),
      );
      const identity = jsonStatements(role as never);
      const allowed = others.filter(
        (r) =>
          evaluate(
            { identity },
            {
              principal: LIVE_CHECK_ROLE,
              action: r.action,
              resource: r.resource,
              context: { 'aws:SecureTransport': true, ...r.context },
            },
          ).allowed,
      );
      expect(summarize(allowed.map((r) => ({ r, why: 'allowed to the live-check role' })))).toEqual([]);
    },
  );
});

/**
 * The check a deploy runs before router code reaches viewers (scripts/lib/edge-check.ts): the
 * build's own zips and function code on the local request path, and the function in CloudFront's
 * TestFunction (answered here at the SDK boundary by the same published code in the
 * cloudfront-js-2.0 harness, as CloudFront would run it).
 */
import { CloudFrontClient, DescribeFunctionCommand, DescribeKeyValueStoreCommand as DescribeStoreByName, TestFunctionCommand, UpdateFunctionCommand } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, resourceNames } from '../../config';
import { formatRolloutState, ROLLOUT_STATE_KEY, type RolloutState } from '../../contracts/rollout-state';
import { cloudFrontFunctionCheck, expectedUri, functionCodeOf, RECORDED_VIEWERS } from '../../scripts/lib/edge-check';
import { loadCloudFrontFunction } from '../../scripts/lib/cloudfront-function';
import { readManifest } from '../../contracts/build-manifest';
import { createZip, readZip } from '../../scripts/lib/zip';
import { verifyEdge } from '../../scripts/verify-edge';
import { localBuilds } from '../fixtures/local';

const config = loadConfig();
const names = resourceNames(config);
const builds = localBuilds();

describe("on the local request path, with the build's own zips", () => {
  // One check leaves the store empty on purpose, and the router says so on console.warn: expected
  // here, so kept out of the test output.
  beforeAll(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('passes a good build', async () => {
    const lines: string[] = [];
    expect(await verifyEdge({ config, buildDir: builds.stable.dir, out: (line) => lines.push(line) })).toBe(true);
    expect(lines.at(-1)).toMatch(/^all \d+ edge checks passed$/);
    expect(lines.filter((line) => line.startsWith('ok'))).toHaveLength(7);
  });

  it('stops router code that throws, naming what broke', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-edge-'));
    try {
      cpSync(builds.stable.dir, dir, { recursive: true });
      const zipFile = path.join(dir, readManifest(dir).functions['entry-router'].zip);
      // The same zip, with a handler that throws on every request.
      const entries = readZip(readFileSync(zipFile)).map((entry) => (entry.name === 'index.js' ? { ...entry, data: Buffer.from("exports.handler = async () => { throw new Error('broken router'); };\n") } : entry));
      writeFileSync(zipFile, createZip(entries));
      const lines: string[] = [];
      expect(await verifyEdge({ config, buildDir: dir, out: (line) => lines.push(line) })).toBe(false);
      expect(lines).toContain('FAIL  an entry load gets this build, with X-Build-Id, an ETag and no-cache: status 503');
      expect(lines.at(-1)).toMatch(/edge checks failed: do not deploy this router code$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("in CloudFront's runtime (TestFunction on the check function)", () => {
  const cloudfront = mockClient(CloudFrontClient);
  const kvs = mockClient(CloudFrontKeyValueStoreClient);
  const STORE_ARN = `arn:aws:cloudfront::123456789012:key-value-store/${names.rolloutStore}`;
  const STATE: RolloutState = { stable: builds.stable.buildId, canary: builds.canary.buildId, weight: 5000, salt: 'd-CHECK0001', ring: ['https://demo.example.com'] };
  const clients = () => ({ cloudfront: new CloudFrontClient({ region: 'us-east-1' }), kvs: new CloudFrontKeyValueStoreClient({ region: 'us-east-1' }) });

  /** CloudFront, as far as this check talks to it: the DEVELOPMENT stage runs whatever code UpdateFunction put there. */
  function cloudFrontRunning(state: RolloutState | null): void {
    let developmentCode = '';
    cloudfront.on(DescribeFunctionCommand).resolves({ ETag: 'E1' });
    cloudfront.on(DescribeStoreByName).resolves({ KeyValueStore: { ARN: STORE_ARN, Name: names.rolloutStore, Id: 'x', Comment: '', LastModifiedTime: new Date(0) } });
    cloudfront.on(UpdateFunctionCommand).callsFake((input: { FunctionCode: Uint8Array }) => {
      developmentCode = Buffer.from(input.FunctionCode).toString('utf8');
      return { ETag: 'E2' };
    });
    cloudfront.on(TestFunctionCommand).callsFake(async (input: { IfMatch: string; EventObject: Uint8Array }) => {
      expect(input.IfMatch).toBe('E2');
      const store = { get: async () => (state === null ? Promise.reject(new Error('key not found')) : formatRolloutState(state)) };
      try {
        const output = await loadCloudFrontFunction(developmentCode, store)(JSON.parse(Buffer.from(input.EventObject).toString('utf8')));
        return { TestResult: { FunctionOutput: JSON.stringify({ request: output }), FunctionErrorMessage: '' } };
      } catch (error) {
        return { TestResult: { FunctionOutput: '', FunctionErrorMessage: (error as Error).message } };
      }
    });
    if (state === null) kvs.on(GetKeyCommand).rejects(Object.assign(new Error('no key'), { name: 'ResourceNotFoundException' }));
    else kvs.on(GetKeyCommand).resolves({ Key: ROLLOUT_STATE_KEY, Value: formatRolloutState(state) });
  }
  beforeEach(() => {
    cloudfront.reset();
    kvs.reset();
  });
  afterAll(() => {
    cloudfront.restore();
    kvs.restore();
  });

  it("puts the code in the check function's DEVELOPMENT stage and agrees with the rule for every recorded viewer", async () => {
    cloudFrontRunning(STATE);
    const { skipped, results } = await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients());
    expect(skipped).toBeNull();
    expect(results.map((r) => r.problem)).toEqual(RECORDED_VIEWERS.map(() => null));
    const update = cloudfront.commandCalls(UpdateFunctionCommand)[0].args[0].input;
    expect(update).toMatchObject({ Name: names.viewerAssignmentCheck, IfMatch: 'E1', FunctionConfig: { Runtime: 'cloudfront-js-2.0', KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: STORE_ARN }] } } });
    expect(cloudfront.commandCalls(TestFunctionCommand).every((call) => call.args[0].input.Stage === 'DEVELOPMENT')).toBe(true);
    // The recorded viewers cover both builds and the ring.
    expect(new Set(RECORDED_VIEWERS.map((viewer) => expectedUri(STATE, viewer))).size).toBe(2);
  });

  it('fails code that assigns differently, and code that throws', async () => {
    cloudFrontRunning(STATE);
    const wrong = functionCodeOf(builds.stable.dir).replace('request.uri=buildEntryPath(', 'request.uri="/assets/0000000000000000/index.js"||buildEntryPath(');
    expect(wrong).not.toBe(functionCodeOf(builds.stable.dir));
    const { results } = await cloudFrontFunctionCheck(config, wrong, clients());
    expect(results.every((r) => r.problem?.startsWith('rewrote to "/assets/0000000000000000/index.js"'))).toBe(true);
    // Code that throws outside its own try: CloudFront reports a function error.
    const throwing = functionCodeOf(builds.stable.dir).replace('async function handler(event){', 'async function handler(event){if(event.viewer.ip)throw new Error("boom");');
    expect(throwing).not.toBe(functionCodeOf(builds.stable.dir));
    expect((await cloudFrontFunctionCheck(config, throwing, clients())).results.map((r) => r.problem)).toEqual(RECORDED_VIEWERS.map(() => 'the function failed: boom'));
  });

  it('expects the request left alone when the store holds no state', async () => {
    cloudFrontRunning(null);
    const { results } = await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients());
    expect(results.map((r) => r.problem)).toEqual(RECORDED_VIEWERS.map(() => null));
  });

  it('is skipped before the first deploy, when the check function does not exist yet', async () => {
    cloudfront.on(DescribeFunctionCommand).rejects(Object.assign(new Error('no such function'), { name: 'NoSuchFunctionExists' }));
    expect(await cloudFrontFunctionCheck(config, functionCodeOf(builds.stable.dir), clients())).toEqual({ skipped: `${names.viewerAssignmentCheck} does not exist yet (the first deploy creates it)`, results: [] });
    expect(cloudfront.commandCalls(UpdateFunctionCommand)).toHaveLength(0);
  });
});

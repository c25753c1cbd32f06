import { createHash } from 'node:crypto';
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { publishedBuildKey } from '../../contracts/published-build';
import { startS3Server, type S3Server } from '../../loopback/s3-server';
import { CloudFrontKeyValueStoreClient, GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { formatRevocation, revocationKey } from '../../contracts/revocation';
import { rolloutStoreClientConfig } from '../../contracts/rollout-store';
import { LOCAL_STORE_ARN, LocalKeyValueStore, startKvsServer, type KvsServer } from '../../loopback/kvs-server';
import {
  decideRelease,
  parseReleaseInput,
  ReleaseError,
  type ReleaseState,
} from '../../rollout-control/release-decision';
import { handler } from '../../regional-function/release/index';
import { release, type ReleaseTarget } from '../../rollout-control/release';
import { deploymentSummaryFrom, lambdaAppSpec, parseLambdaAppSpec } from '../../rollout-control/deployments';
import { BUILD_A, BUILD_B, lambdaDeployment, NAMES, versionConfiguration } from './aws-fixtures';

const BUCKETS = { 'us-east-1': 'widget-us-east-1-test', 'eu-west-1': 'widget-eu-west-1-test' };
const TARGET: ReleaseTarget = {
  functionName: NAMES.functionName,
  aliasName: NAMES.alias,
  application: NAMES.application,
  deploymentGroup: NAMES.deploymentGroup,
  buckets: BUCKETS,
  storeArn: LOCAL_STORE_ARN,
};

function state(overrides: Partial<ReleaseState> = {}): ReleaseState {
  return {
    functionName: NAMES.functionName,
    aliasName: NAMES.alias,
    deploymentGroup: NAMES.deploymentGroup,
    version: '8',
    buildId: BUILD_B,
    alias: { stableVersion: '7', canaryVersion: null, canaryWeight: 0 },
    versionBuildId: BUILD_B,
    stableBuildId: BUILD_A,
    activeDeployment: null,
    ...overrides,
  };
}

describe('release input', () => {
  it('takes a version number as a string or a number, and Terraform’s CRUD key', () => {
    expect(parseReleaseInput({ version: '8', buildId: BUILD_B })).toEqual({ version: '8', buildId: BUILD_B });
    expect(parseReleaseInput({ version: 8, buildId: BUILD_B, tf: { action: 'create', prev_input: null } })).toEqual({
      version: '8',
      buildId: BUILD_B,
      tf: { action: 'create' },
    });
  });

  it('names every bad field', () => {
    expect(() => parseReleaseInput({ version: '$LATEST', buildId: BUILD_B.toUpperCase() })).toThrow(
      new RegExp(
        'version: must be a published version number such as "7" \\(\\$LATEST and aliases cannot be released\\); ' +
          'buildId: must be a buildId: 16 lowercase hex characters',
      ),
    );
    expect(() => parseReleaseInput({ buildId: BUILD_B })).toThrow(/version: is required/);
    expect(() => parseReleaseInput({ version: '07', buildId: BUILD_B })).toThrow(
      /version: must be a published version number/,
    );
    expect(() => parseReleaseInput('8')).toThrow(/got "8": input: must be an object/);
  });
});

describe('release decision', () => {
  it('starts a deployment from the alias’s version to the new one', () => {
    expect(decideRelease(state())).toEqual({
      action: 'start',
      fromVersion: '7',
      toVersion: '8',
      sameBuild: false,
      reason: `shifting alias live from version 7 to 8 (build ${BUILD_B})`,
    });
  });

  it('does nothing when the alias already points there (the first deploy)', () => {
    expect(decideRelease(state({ alias: { stableVersion: '8', canaryVersion: null, canaryWeight: 0 } }))).toEqual({
      action: 'unchanged',
      reason: 'alias live already points at version 8 (first deploy, or this version is already released)',
    });
  });

  it('does nothing when a deployment to that version is already in progress', () => {
    const active = deploymentSummaryFrom('d-RUNNING01', lambdaDeployment({ from: '7', to: '8' }).deploymentInfo);
    expect(decideRelease(state({ activeDeployment: active }))).toEqual({
      action: 'unchanged',
      reason: 'deployment d-RUNNING01 to version 8 is already in progress (InProgress)',
    });
  });

  it('refuses while another deployment runs, naming it and the way out', () => {
    const active = deploymentSummaryFrom('d-RUNNING01', lambdaDeployment({ from: '6', to: '7' }).deploymentInfo);
    expect(() => decideRelease(state({ activeDeployment: active }))).toThrow(
      new ReleaseError(
        'deployment d-RUNNING01 (version 6 → 7, InProgress) is in progress in deployment group ' +
          'edge-widget-entry-router; wait for it to finish or stop it (`npm run rollout -- stop`), then release ' +
          'version 8 with `npm run rollout -- start --version 8` or run the deploy again',
      ),
    );
  });

  it('refuses a version without a buildId, or with another build than the input says', () => {
    expect(() => decideRelease(state({ versionBuildId: null }))).toThrow(
      /edge-widget-entry-router version 8 has no buildId in its description/,
    );
    expect(() => decideRelease(state({ versionBuildId: BUILD_A }))).toThrow(
      `edge-widget-entry-router version 8 serves build ${BUILD_A}, not ${BUILD_B} as the release input says`,
    );
  });

  it('moves all at once when the new version serves the build the alias already serves', () => {
    expect(decideRelease(state({ buildId: BUILD_A, versionBuildId: BUILD_A }))).toMatchObject({
      action: 'start',
      sameBuild: true,
    });
  });
});

describe('AppSpec', () => {
  it('is the Lambda AppSpec CodeDeploy expects, with version 0.0, and reads back', () => {
    const spec = { functionName: NAMES.functionName, alias: 'live', currentVersion: '7', targetVersion: '8' };
    const { content, sha256 } = lambdaAppSpec(spec);
    expect(content).toBe(
      '{"version":0.0,"Resources":[{"entryRouter":{"Type":"AWS::Lambda::Function",' +
        '"Properties":{"Name":"edge-widget-entry-router","Alias":"live","CurrentVersion":"7","TargetVersion":"8"}}}]}',
    );
    expect(sha256).toBe(createHash('sha256').update(content).digest('hex'));
    expect(parseLambdaAppSpec(content)).toEqual(spec);
  });

  it('reads the versions of a YAML AppSpec written by hand, and nothing from other content', () => {
    const yaml =
      'version: 0.0\nResources:\n  - myFunction:\n      Type: AWS::Lambda::Function\n      Properties:\n' +
      '        Name: "fn"\n        Alias: "live"\n        CurrentVersion: "3"\n        TargetVersion: "4"\n';
    expect(parseLambdaAppSpec(yaml)).toEqual({
      functionName: 'fn',
      alias: 'live',
      currentVersion: '3',
      targetVersion: '4',
    });
    expect(
      parseLambdaAppSpec('{"version":0.0,"Resources":[{"x":{"Type":"AWS::ECS::Service","Properties":{}}}]}'),
    ).toBeNull();
    expect(parseLambdaAppSpec(undefined)).toBeNull();
  });
});

describe('release against AWS', () => {
  const lambda = mockClient(LambdaClient);
  const codedeploy = mockClient(CodeDeployClient);
  // The buckets are real: an S3-compatible server on loopback, holding the builds' manifests.
  let s3: S3Server;
  // And the rollout store, where a build is revoked, is a KeyValueStore API server on loopback.
  let kvs: KvsServer;
  const clients = () => ({
    lambda: new LambdaClient({ region: 'us-east-1' }),
    codedeploy: new CodeDeployClient({ region: 'us-east-1' }),
    s3For: (region: string) => s3.client(region),
    kvs: new CloudFrontKeyValueStoreClient(rolloutStoreClientConfig({ endpoint: kvs.endpoint })),
  });
  const publish = (bucket: string, buildId: string) =>
    s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: publishedBuildKey(buildId), Body: '{}' }));

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: Object.values(BUCKETS) });
    kvs = await startKvsServer({ store: new LocalKeyValueStore() });
    for (const bucket of Object.values(BUCKETS)) for (const build of [BUILD_A, BUILD_B]) await publish(bucket, build);
  });
  afterAll(async () => {
    lambda.restore();
    codedeploy.restore();
    await s3.stop();
    await kvs.close();
  });

  beforeEach(() => {
    lambda.reset();
    codedeploy.reset();
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_A));
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_B));
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-CREATED01' });
  });

  it('creates the deployment with the AppSpec, the group’s config and its alarms', async () => {
    const result = await release({ version: '8', buildId: BUILD_B }, TARGET, clients());
    expect(result).toEqual({
      action: 'started',
      deploymentId: 'd-CREATED01',
      reason: `shifting alias live from version 7 to 8 (build ${BUILD_B})`,
      fromVersion: '7',
      toVersion: '8',
      buildId: BUILD_B,
    });
    const calls = codedeploy.commandCalls(CreateDeploymentCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      applicationName: NAMES.application,
      deploymentGroupName: NAMES.deploymentGroup,
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: lambdaAppSpec({
          functionName: NAMES.functionName,
          alias: 'live',
          currentVersion: '7',
          targetVersion: '8',
        }),
      },
      description: `release build ${BUILD_B}: version 7 → 8`,
    });
  });

  it('passes a config override and turns the alarms off when asked (the CLI’s rollback)', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '8' });
    await release({ version: '7', buildId: BUILD_A }, TARGET, clients(), {
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      disableAlarms: true,
      description: 'roll back',
    });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input).toMatchObject({
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      overrideAlarmConfiguration: { enabled: false, alarms: [] },
      description: 'roll back',
    });
  });

  it('moves all at once when only the router changed, not the build', async () => {
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_A));
    const result = await release({ version: '8', buildId: BUILD_A }, TARGET, clients());
    expect(result.deploymentConfigName).toBe('CodeDeployDefault.LambdaAllAtOnce');
    expect(codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input.deploymentConfigName).toBe(
      'CodeDeployDefault.LambdaAllAtOnce',
    );
  });

  it('refuses a build whose manifest is missing from any bucket, naming where, before asking CodeDeploy', async () => {
    const BUILD_C = 'cccccccccccccccc';
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_C));
    await publish(BUCKETS['us-east-1'], BUILD_C);
    await expect(release({ version: '8', buildId: BUILD_C }, TARGET, clients())).rejects.toThrow(
      `build ${BUILD_C} is not in every bucket: its manifest is missing from widget-eu-west-1-test ` +
        `(eu-west-1). Upload it there first`,
    );
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    // Once it is there, the release goes ahead.
    await publish(BUCKETS['eu-west-1'], BUILD_C);
    expect(await release({ version: '8', buildId: BUILD_C }, TARGET, clients())).toMatchObject({ action: 'started' });
  });

  it('refuses a revoked build, naming when and why, before asking CodeDeploy, however it is asked for', async () => {
    kvs.store.put(revocationKey(BUILD_B), formatRevocation({ at: Date.UTC(2026, 11, 6), reason: 'CVE-2026-0001' }));
    try {
      for (const options of [{}, { deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce', disableAlarms: true }])
        await expect(release({ version: '8', buildId: BUILD_B }, TARGET, clients(), options)).rejects.toThrow(
          `build ${BUILD_B} was revoked at 2026-12-06T00:00:00.000Z (CVE-2026-0001): it cannot be released`,
        );
      expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    } finally {
      kvs.store.delete(revocationKey(BUILD_B));
    }
    expect(await release({ version: '8', buildId: BUILD_B }, TARGET, clients())).toMatchObject({ action: 'started' });
  });

  it('refuses when a bucket cannot be asked at all, rather than guessing', async () => {
    const broken = {
      ...clients(),
      s3For: (region: string) =>
        region === 'eu-west-1'
          ? new S3Client({
              region,
              endpoint: 'http://127.0.0.1:9',
              credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
              maxAttempts: 1,
              forcePathStyle: true,
            })
          : s3.client(region),
    };
    await expect(release({ version: '8', buildId: BUILD_B }, TARGET, broken)).rejects.toThrow(
      /cannot tell whether build fedcba9876543210 is in widget-eu-west-1-test \(eu-west-1\)/,
    );
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('sends nothing to CodeDeploy on the first deploy', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '8' });
    expect(await release({ version: '8', buildId: BUILD_B }, TARGET, clients())).toMatchObject({ action: 'unchanged' });
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('treats a deployment started between its read and its create like one found running', async () => {
    codedeploy
      .on(ListDeploymentsCommand)
      .resolvesOnce({ deployments: [] })
      .resolves({ deployments: ['d-RACED0001'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    codedeploy.on(CreateDeploymentCommand).rejects(
      Object.assign(new Error('The deployment group is already deploying'), {
        name: 'DeploymentLimitExceededException',
      }),
    );
    expect(await release({ version: '8', buildId: BUILD_B }, TARGET, clients())).toEqual({
      action: 'unchanged',
      reason: 'deployment d-RACED0001 to version 8 is already in progress (InProgress)',
      toVersion: '8',
      buildId: BUILD_B,
    });
  });

  it('says what is missing: the alias, the version, the deployment group', async () => {
    lambda
      .on(GetAliasCommand)
      .rejects(Object.assign(new Error('Alias not found'), { name: 'ResourceNotFoundException' }));
    await expect(release({ version: '8', buildId: BUILD_B }, TARGET, clients())).rejects.toThrow(
      'alias live of function edge-widget-entry-router not found: deploy the stacks first',
    );

    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    lambda
      .on(GetFunctionConfigurationCommand, { Qualifier: '9' })
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    await expect(release({ version: '9', buildId: BUILD_B }, TARGET, clients())).rejects.toThrow(
      'edge-widget-entry-router has no version 9',
    );

    codedeploy
      .on(ListDeploymentsCommand)
      .rejects(Object.assign(new Error('No group'), { name: 'DeploymentGroupDoesNotExistException' }));
    await expect(release({ version: '8', buildId: BUILD_B }, TARGET, clients())).rejects.toThrow(
      'CodeDeploy deployment group edge-widget-entry-router (application edge-widget) does not exist: deploy ' +
        'the stacks first',
    );
  });

  it('passes on CodeDeploy’s own refusal with the version and group it concerned', async () => {
    codedeploy.on(CreateDeploymentCommand).rejects(
      Object.assign(new Error('The alias live has a different version than CurrentVersion'), {
        name: 'InvalidInputException',
      }),
    );
    await expect(release({ version: '8', buildId: BUILD_B }, TARGET, clients())).rejects.toThrow(
      'CodeDeploy refused the deployment of version 8 to edge-widget-entry-router: InvalidInputException: The ' +
        'alias live has a different version than CurrentVersion',
    );
  });

  describe('handler (what Terraform invokes)', () => {
    const saved = { ...process.env };
    beforeEach(() => {
      Object.assign(process.env, {
        ENTRY_ROUTER_FUNCTION: NAMES.functionName,
        LIVE_ALIAS: 'live',
        CODEDEPLOY_APPLICATION: NAMES.application,
        CODEDEPLOY_DEPLOYMENT_GROUP: NAMES.deploymentGroup,
        BUCKETS: JSON.stringify(BUCKETS),
        ROLLOUT_STORE_ARN: LOCAL_STORE_ARN,
        AWS_REGION: 'us-east-1',
      });
      for (const stream of [process.stdout, process.stderr]) jest.spyOn(stream, 'write').mockImplementation(() => true);
      // The handler makes its own S3 and store clients (for AWS): answer them at the SDK boundary, here only.
      s3Mock = mockClient(S3Client);
      s3Mock.on(HeadObjectCommand).resolves({});
      kvsMock = mockClient(CloudFrontKeyValueStoreClient);
      kvsMock.on(GetKeyCommand).rejects(Object.assign(new Error('no such key'), { name: 'ResourceNotFoundException' }));
    });
    afterEach(() => {
      process.env = { ...saved };
      s3Mock.restore();
      kvsMock.restore();
      jest.restoreAllMocks();
    });
    let s3Mock: ReturnType<typeof mockClient>;
    let kvsMock: AwsClientStub<CloudFrontKeyValueStoreClient>;

    it('returns {action, deploymentId, reason} and nothing else', async () => {
      const result = await handler({ version: '8', buildId: BUILD_B });
      // It asked the store whether the build is revoked.
      expect(kvsMock.commandCalls(GetKeyCommand)[0]!.args[0].input).toEqual({
        KvsARN: LOCAL_STORE_ARN,
        Key: revocationKey(BUILD_B),
      });
      expect(result).toEqual({
        action: 'started',
        deploymentId: 'd-CREATED01',
        reason: `shifting alias live from version 7 to 8 (build ${BUILD_B})`,
      });
    });

    it('does nothing when Terraform destroys the invocation', async () => {
      expect(await handler({ version: '8', buildId: BUILD_B, tf: { action: 'delete' } })).toEqual({
        action: 'unchanged',
        reason: 'Terraform is destroying the release of version 8; a release is never undone by a destroy',
      });
      expect(lambda.calls()).toHaveLength(0);
    });
  });
});

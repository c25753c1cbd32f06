import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { Testing, TerraformOutput, TerraformStack } from 'cdktf';
import { REGIONAL_EDGE_CACHE_REGIONS, resourceNames } from '../../config';
import { versionDescription } from '../../contracts/version-description';
import { AwsAccount } from '../../stacks/constructs/aws-account';
import { RegionalProviders } from '../../stacks/constructs/aws-providers';
import { EdgeFunction, type EdgeFunctionProps } from '../../stacks/constructs/edge-function';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { bodies, FIVE_REGIONS, only, policyStatements, ref, synthesize, testApp, testConfig } from './support';

/** A stack holding one EdgeFunction made from `overrides` over working props. */
function edgeStack(
  overrides: Partial<EdgeFunctionProps> = {},
  regions: readonly string[] = ['us-east-1', 'eu-west-1'],
) {
  const stack = new TerraformStack(testApp(), 'edge');
  const providers = new RegionalProviders(stack, 'aws', { regions });
  const account = new AwsAccount(stack, 'account', { provider: providers.usEast1 });
  const props: EdgeFunctionProps = {
    functionName: 'test-entry-router',
    code: { zip: defaultBuild().functions['entry-router'], buildDir: BUILD_DIR },
    runtime: 'nodejs22.x',
    providers,
    logRegions: regions,
    account,
    logRetentionDays: 14,
    ...overrides,
  };
  const fn = new EdgeFunction(stack, 'fn', props);
  return { stack, fn };
}

describe('EdgeFunction', () => {
  it('publishes a us-east-1 function from the build zip, with skip_destroy and no environment', () => {
    const { stack } = edgeStack({ description: 'v1', memorySize: 256, timeout: 10 });
    const synth = Testing.synth(stack);
    const zip = defaultBuild().functions['entry-router'];
    expect(synth).toHaveResourceWithProperties(LambdaFunction, {
      function_name: 'test-entry-router',
      provider: 'aws.us-east-1',
      publish: true,
      skip_destroy: true,
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      memory_size: 256,
      timeout: 10,
      description: 'v1',
      architectures: ['x86_64'],
      source_code_hash: zip.sourceCodeHash,
    });
    const fn = Object.values(JSON.parse(synth).resource.aws_lambda_function)[0] as Record<string, unknown>;
    expect(fn.environment).toBeUndefined();
    // Relative and named by content: the same path on every machine.
    expect(fn.filename).toMatch(/^assets\/fn_function_code_[0-9A-F]+\/[0-9A-F]{32}\/entry-router\.zip$/);
  });

  it('creates its log groups with a retention where Lambda@Edge writes them, before the function', () => {
    const { stack } = edgeStack({ logRegions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] }, [
      'eu-west-1',
      'ap-southeast-2',
    ]);
    const synth = Testing.synth(stack);
    const tf = JSON.parse(synth);
    const groups = Object.entries(tf.resource.aws_cloudwatch_log_group as Record<string, Record<string, unknown>>).map(
      ([id, g]) => [id, g.name, g.provider, g.retention_in_days],
    );
    expect(
      groups.map(([, name, provider, days]) => `${String(name)} ${String(provider)} ${String(days)}`).sort(),
    ).toEqual([
      '/aws/lambda/test-entry-router aws.us-east-1 14',
      '/aws/lambda/us-east-1.test-entry-router aws.ap-southeast-2 14',
      '/aws/lambda/us-east-1.test-entry-router aws.eu-west-1 14',
      '/aws/lambda/us-east-1.test-entry-router aws.us-east-1 14',
    ]);
    const fn = Object.values(tf.resource.aws_lambda_function)[0] as { depends_on: string[] };
    for (const [id] of groups) expect(fn.depends_on).toContain(`aws_cloudwatch_log_group.${id}`);
    expect(synth).toHaveResource(CloudwatchLogGroup);
  });

  it('has a role edgelambda and lambda may assume, allowed only to write its own logs', () => {
    const { stack } = edgeStack();
    const tf = JSON.parse(Testing.synth(stack));
    const documents = Object.values(tf.data.aws_iam_policy_document) as { statement: Record<string, unknown>[] }[];
    const trust = documents.find((d) => d.statement.some((s) => (s.actions as string[]).includes('sts:AssumeRole')))!;
    expect(trust.statement).toEqual([
      expect.objectContaining({
        principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com', 'edgelambda.amazonaws.com'] }],
      }),
    ]);
    const permissions = documents.find((d) => d !== trust)!.statement;
    expect(permissions.flatMap((s) => s.actions as string[]).sort()).toEqual([
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    for (const resource of permissions.flatMap((s) => s.resources as string[])) {
      expect(resource).toMatch(/:log-group:\/aws\/lambda\/(us-east-1\.)?test-entry-router(:\*)?$/);
    }
  });

  it('refuses environment variables, foreign runtimes and timeouts past 30 s', () => {
    expect(() => edgeStack({ environment: { A: 'b' } } as Partial<EdgeFunctionProps>)).toThrow(
      /does not support environment variables/,
    );
    expect(() => edgeStack({ runtime: 'nodejs24.x' })).toThrow(/runtime nodejs24.x is not one Lambda@Edge accepts/);
    expect(() => edgeStack({ timeout: 31 })).toThrow(/exceeds Lambda@Edge's 30 s/);
    const { fn } = edgeStack();
    expect(() => fn.addEnvironment()).toThrow(/environment variables/);
  });

  it('never hands out $LATEST, and associates only a numbered version within the event limits', () => {
    const { stack, fn } = edgeStack({ timeout: 10 });
    expect(() => fn.latestVersion).toThrow(/only numbered Lambda versions/);
    const association = fn.association('origin-request');
    expect(association).toMatchObject({ eventType: 'origin-request', includeBody: false });
    new TerraformOutput(stack, 'associated', { value: association.lambdaArn });
    const tf = JSON.parse(Testing.synth(stack));
    const [functionId] = Object.keys(tf.resource.aws_lambda_function);
    expect(tf.output.associated.value).toBe(`\${aws_lambda_function.${functionId}.qualified_arn}`);
    expect(() => fn.association('viewer-request')).toThrow(/viewer-request functions may run 5 s/);
  });
});

describe('edge functions in the delivery stack', () => {
  it.each([
    ['one region', {}],
    ['five regions', FIVE_REGIONS],
  ])('entry and chunk routers, %s', (_label, regions) => {
    const { delivery, config, manifest } = synthesize(
      testConfig({ ...regions, edge: { memoryMb: 192, timeoutSeconds: 7 } }),
    );
    const names = resourceNames(config);
    const entry = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.entryRouter);
    const chunk = only(delivery, 'aws_lambda_function', (f) => f.function_name === names.chunkRouter);
    for (const [fn, zip] of [
      [entry, manifest.functions['entry-router']],
      [chunk, manifest.functions['chunk-router']],
    ] as const) {
      expect(fn).toMatchObject({
        provider: 'aws.us-east-1',
        runtime: config.edge.runtime,
        memory_size: 192,
        timeout: 7,
        publish: true,
        skip_destroy: true,
        source_code_hash: zip.sourceCodeHash,
      });
      expect(fn.environment).toBeUndefined();
    }
    expect(entry.description).toBe(versionDescription(manifest.buildId));
    // Its replicas log in the region of the regional edge cache that ran them: every one of the
    // price class gets a log group with retention, whatever the bucket regions.
    const replicaGroups = bodies(delivery, 'aws_cloudwatch_log_group').filter(
      (g) => g.name === `/aws/lambda/us-east-1.${names.entryRouter}`,
    );
    expect(replicaGroups.map((g) => g.provider).sort()).toEqual(
      REGIONAL_EDGE_CACHE_REGIONS.PriceClass_All.map((r) => `aws.${r}`).sort(),
    );
    // The role may write its own logs in any region, read the rollout state, and read build
    // entries from the replica buckets: nothing else.
    const role = only(delivery, 'aws_iam_role', (r) => r.name === names.entryRouter);
    const policy = only(delivery, 'aws_iam_role_policy', (p) => p.role === ref(delivery, 'aws_iam_role', role, 'id'));
    const statements = policyStatements(delivery, policy.policy);
    const logs = statements.filter((s) => (s.actions as string[]).every((a) => a.startsWith('logs:')));
    expect(logs.flatMap((s) => s.resources as string[]).every((r) => r.includes(names.entryRouter))).toBe(true);
    const store = only(delivery, 'aws_cloudfront_key_value_store');
    expect(statements.filter((s) => !logs.includes(s)).map((s) => [s.actions, s.resources])).toEqual([
      [['cloudfront-keyvaluestore:GetKey'], [ref(delivery, 'aws_cloudfront_key_value_store', store, 'arn')]],
      [['s3:GetObject'], config.regions.map((region) => `arn:aws:s3:::${names.bucket(region)}/assets/*`)],
    ]);
  });
});

describe('Lambda@Edge log groups follow the price class', () => {
  it.each([
    ['PriceClass_100', 7],
    ['PriceClass_200', 11],
    ['PriceClass_All', 13],
  ] as const)(
    '%s: one per regional edge cache that serves it (%i), each with retention, for both routers',
    (priceClass, count) => {
      const { delivery, config } = synthesize(testConfig({ ...FIVE_REGIONS, edge: { priceClass } }));
      const names = resourceNames(config);
      for (const router of [names.entryRouter, names.chunkRouter]) {
        const groups = bodies(delivery, 'aws_cloudwatch_log_group').filter(
          (g) => g.name === `/aws/lambda/us-east-1.${router}`,
        );
        expect(groups.map((g) => String(g.provider).replace('aws.', '')).sort()).toEqual(
          [...REGIONAL_EDGE_CACHE_REGIONS[priceClass]].sort(),
        );
        expect(groups).toHaveLength(count);
        expect(groups.every((g) => g.retention_in_days === config.retention.logRetentionDays)).toBe(true);
      }
      expect(only(delivery, 'aws_cloudfront_distribution').price_class).toBe(priceClass);
    },
  );
});

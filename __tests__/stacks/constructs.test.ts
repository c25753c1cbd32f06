import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { Testing, TerraformStack } from 'cdktf';
import { RegionalProviders } from '../../stacks/constructs/aws-providers';
import { PolicyDocument, type PolicyStatement } from '../../stacks/constructs/iam';
import { SignalLogConfig } from '../../stacks/constructs/realtime-log-config';
import { ReplicaBucket } from '../../stacks/constructs/replica-bucket';
import { SignalStream } from '../../stacks/constructs/signal-stream';
import { testApp } from './support';

describe('ReplicaBucket', () => {
  it('renders read grants made after construction into its bucket policy', () => {
    const scope = new TerraformStack(testApp(), 'stack');
    const providers = new RegionalProviders(scope, 'aws', { regions: ['eu-west-1'] });
    const bucket = new ReplicaBucket(scope, 'bucket', {
      bucketName: 'b',
      region: 'eu-west-1',
      provider: providers.forRegion('eu-west-1'),
      noncurrentVersionDays: 3,
    });
    bucket.grantRead({ iamArn: 'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1' });
    const synth = Testing.synth(scope);
    const statements = Object.values(
      JSON.parse(synth).data.aws_iam_policy_document as Record<
        string,
        { statement: { sid: string; principals?: unknown }[] }
      >,
    )[0]!.statement;
    expect(statements.map((s) => s.sid)).toEqual(['DenyInsecureTransport', 'CloudFrontReadsAssets']);
    expect(statements[1]!.principals).toEqual([
      { type: 'AWS', identifiers: ['arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1'] },
    ]);
    expect(synth).toHaveResourceWithProperties(S3BucketPolicy, { provider: 'aws.eu-west-1' });
  });
});

describe('PolicyDocument', () => {
  it('fails validation while it has no statements', () => {
    const stack = new TerraformStack(testApp(), 'empty');
    const providers = new RegionalProviders(stack, 'aws', { regions: [] });
    const document = new PolicyDocument(stack, 'document', { provider: providers.usEast1 });
    expect(document.node.validate()).toEqual([expect.stringMatching(/policy document has no statements/)]);
    document.addStatements({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] });
    expect(document.node.validate()).toEqual([]);
  });
});

describe('RegionalProviders', () => {
  it('has us-east-1 always, each region once, and refuses a region it does not have', () => {
    const stack = new TerraformStack(testApp(), 'providers');
    const providers = new RegionalProviders(stack, 'aws', { regions: ['eu-west-1', 'us-east-1', 'eu-west-1'] });
    expect(providers.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(() => providers.forRegion('ap-south-1')).toThrow(/no AWS provider for ap-south-1/);
  });
});

describe('SignalStream', () => {
  const stream = () => {
    const stack = new TerraformStack(testApp(), 'signal');
    const providers = new RegionalProviders(stack, 'aws', { regions: [] });
    return {
      stack,
      providers,
      stream: new SignalStream(stack, 'stream', { provider: providers.usEast1, streamName: 'w-signal', shards: 1 }),
    };
  };
  const granted = (grant: (grantee: { addToRolePolicy(...statements: PolicyStatement[]): void }) => void) => {
    const statements: PolicyStatement[] = [];
    grant({ addToRolePolicy: (...added) => statements.push(...added) });
    return statements.map((s) => [s.actions, s.resources]);
  };

  it(
    'grants a producer the writes CloudFront makes, a consumer the reads Lambda makes, each with the key, and ' +
      'never one the other',
    () => {
      const { stream: s } = stream();
      expect(granted((g) => s.grantWrite(g))).toEqual([
        [
          ['kinesis:DescribeStreamSummary', 'kinesis:DescribeStream', 'kinesis:PutRecord', 'kinesis:PutRecords'],
          [s.streamArn],
        ],
        [['kms:GenerateDataKey'], [s.keyArn]],
      ]);
      const reads = granted((g) => s.grantRead(g));
      expect(reads).toEqual([
        [
          [
            'kinesis:DescribeStream',
            'kinesis:DescribeStreamSummary',
            'kinesis:GetRecords',
            'kinesis:GetShardIterator',
            'kinesis:ListShards',
          ],
          [s.streamArn],
        ],
        [['kinesis:ListStreams'], ['*']],
        [['kms:Decrypt'], [s.keyArn]],
      ]);
      expect(JSON.stringify(reads)).not.toMatch(/PutRecord|GenerateDataKey/);
    },
  );

  it('keeps records 24 hours unless told otherwise', () => {
    const { stack } = stream();
    expect(
      Object.values(
        JSON.parse(Testing.synth(stack)).resource.aws_kinesis_stream as Record<string, { retention_period: number }>,
      )[0]!.retention_period,
    ).toBe(24);
  });
});

describe('SignalLogConfig', () => {
  it.each([0, 101, 12.5])('refuses a sampling rate CloudFront does not take (%s)', (samplingPercent) => {
    const stack = new TerraformStack(testApp(), 'logs');
    const providers = new RegionalProviders(stack, 'aws', { regions: [] });
    const stream = new SignalStream(stack, 'stream', {
      provider: providers.usEast1,
      streamName: 'w-signal',
      shards: 1,
    });
    expect(
      () =>
        new SignalLogConfig(stack, 'logs', {
          provider: providers.usEast1,
          configName: 'w-signal',
          roleName: 'w-signal-cloudfront',
          samplingPercent,
          stream,
        }),
    ).toThrow(/whole percentage from 1 to 100/);
  });
});

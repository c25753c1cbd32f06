import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { Testing, TerraformStack } from 'cdktf';
import { RegionalProviders } from '../../stacks/constructs/aws-providers';
import { PolicyDocument } from '../../stacks/constructs/iam';
import { ReplicaBucket } from '../../stacks/constructs/replica-bucket';
import { testApp } from './support';

describe('ReplicaBucket', () => {
  it('renders read grants made after construction into its bucket policy', () => {
    const scope = new TerraformStack(testApp(), 'stack');
    const providers = new RegionalProviders(scope, 'aws', { regions: ['eu-west-1'] });
    const bucket = new ReplicaBucket(scope, 'bucket', { bucketName: 'b', region: 'eu-west-1', provider: providers.forRegion('eu-west-1'), noncurrentVersionDays: 3 });
    bucket.grantRead({ iamArn: 'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1' });
    const synth = Testing.synth(scope);
    const statements = Object.values(JSON.parse(synth).data.aws_iam_policy_document as Record<string, { statement: { sid: string; principals?: unknown }[] }>)[0].statement;
    expect(statements.map((s) => s.sid)).toEqual(['DenyInsecureTransport', 'CloudFrontReadsAssets']);
    expect(statements[1].principals).toEqual([{ type: 'AWS', identifiers: ['arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1'] }]);
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

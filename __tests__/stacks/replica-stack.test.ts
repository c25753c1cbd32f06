import { CloudfrontOriginAccessIdentity } from '@cdktf/provider-aws/lib/cloudfront-origin-access-identity';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53HealthCheck } from '@cdktf/provider-aws/lib/route53-health-check';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketMetric } from '@cdktf/provider-aws/lib/s3-bucket-metric';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { resourceNames } from '../../config';
import type { Block } from '../../stacks/policy/terraform-json';
import {
  bodies,
  FIVE_REGIONS,
  ONE_REGION,
  only,
  policyStatements,
  ref,
  synthesize,
  testConfig,
  type Synthesized,
} from './support';

describe.each([
  ['one region', ONE_REGION],
  ['five regions', FIVE_REGIONS],
])('replica stack, %s', (_label, regionsConfig) => {
  const config = () => testConfig(regionsConfig);

  it('has one provider per region, aliased by its code, plus us-east-1', () => {
    const { replicas } = synthesize(config());
    const regions = [...new Set(['us-east-1', ...regionsConfig.regions])];
    const providers = replicas.json.provider?.aws ?? [];
    expect(providers.map((p) => [p.alias, p.region])).toEqual(regions.map((r) => [r, r]));
    expect(replicas.text).toHaveProviderWithProperties(AwsProvider, { alias: 'us-east-1', region: 'us-east-1' });
  });

  it('creates a private, SSE-S3, versioned bucket per region in that region', () => {
    const { replicas, config: c } = synthesize(config());
    const names = resourceNames(c);
    expect(bodies(replicas, 'aws_s3_bucket')).toHaveLength(c.regions.length);
    for (const region of c.regions) {
      const bucket = only(replicas, 'aws_s3_bucket', (b) => b.bucket === names.bucket(region));
      expect(bucket.provider).toBe(`aws.${region}`);
      const id = ref(replicas, 'aws_s3_bucket', bucket, 'id');
      expect(only(replicas, 'aws_s3_bucket_public_access_block', (b) => b.bucket === id)).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
        provider: `aws.${region}`,
      });
      expect(only(replicas, 'aws_s3_bucket_ownership_controls', (b) => b.bucket === id).rule).toEqual({
        object_ownership: 'BucketOwnerEnforced',
      });
      expect(only(replicas, 'aws_s3_bucket_server_side_encryption_configuration', (b) => b.bucket === id).rule).toEqual(
        [{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }],
      );
      expect(only(replicas, 'aws_s3_bucket_versioning', (b) => b.bucket === id).versioning_configuration).toEqual({
        status: 'Enabled',
      });
    }
    expect(replicas.text).toHaveResource(S3Bucket);
    expect(replicas.text).toHaveResource(S3BucketPublicAccessBlock);
    expect(replicas.text).toHaveResource(S3BucketOwnershipControls);
    expect(replicas.text).toHaveResource(S3BucketServerSideEncryptionConfigurationA);
    expect(replicas.text).toHaveResource(S3BucketVersioningA);
  });

  it('lets the origin access identity read assets/ only, and denies anything without TLS', () => {
    const { replicas, config: c } = synthesize(config());
    const oai = only(replicas, 'aws_cloudfront_origin_access_identity');
    expect(oai.provider).toBe('aws.us-east-1');
    const oaiArn = ref(replicas, 'aws_cloudfront_origin_access_identity', oai, 'iam_arn');
    for (const region of c.regions) {
      const bucket = only(replicas, 'aws_s3_bucket', (b) => b.bucket === resourceNames(c).bucket(region));
      const arn = ref(replicas, 'aws_s3_bucket', bucket, 'arn');
      const policy = only(
        replicas,
        'aws_s3_bucket_policy',
        (p) => p.bucket === ref(replicas, 'aws_s3_bucket', bucket, 'id'),
      );
      const statements = policyStatements(replicas, policy.policy);
      expect(statements).toEqual([
        expect.objectContaining({
          effect: 'Deny',
          actions: ['s3:*'],
          resources: [arn, `${arn}/*`],
          principals: [{ type: '*', identifiers: ['*'] }],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        }),
        expect.objectContaining({
          effect: 'Allow',
          actions: ['s3:GetObject'],
          resources: [`${arn}/assets/*`],
          principals: [{ type: 'AWS', identifiers: [oaiArn] }],
        }),
      ]);
    }
    expect(replicas.text).toHaveResource(CloudfrontOriginAccessIdentity);
  });

  it('expires replaced versions after the grace period and aborts stale uploads', () => {
    const { replicas } = synthesize(testConfig({ ...regionsConfig, retention: { graceDays: 12 } }));
    for (const lifecycle of bodies(replicas, 'aws_s3_bucket_lifecycle_configuration')) {
      expect(lifecycle.rule).toEqual([
        expect.objectContaining({
          status: 'Enabled',
          abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
        }),
        expect.objectContaining({ status: 'Enabled', noncurrent_version_expiration: [{ noncurrent_days: 12 }] }),
      ]);
      expect(String(lifecycle.depends_on)).toMatch(/aws_s3_bucket_versioning/);
    }
  });

  it('health-checks each bucket through an S3 5xx alarm in its region, never a public object', () => {
    const { replicas, config: c } = synthesize(config());
    const names = resourceNames(c);
    for (const region of c.regions) {
      const bucketName = ref(
        replicas,
        'aws_s3_bucket',
        only(replicas, 'aws_s3_bucket', (b) => b.bucket === names.bucket(region)),
        'bucket',
      );
      const metric = only(replicas, 'aws_s3_bucket_metric', (m) => m.bucket === bucketName);
      expect(metric).toMatchObject({ name: 'EntireBucket', provider: `aws.${region}` });
      expect(metric.filter).toBeUndefined();
      const alarm = only(
        replicas,
        'aws_cloudwatch_metric_alarm',
        (a) => (a.dimensions as Record<string, string>).BucketName === bucketName,
      );
      expect(alarm).toMatchObject({
        provider: `aws.${region}`,
        namespace: 'AWS/S3',
        metric_name: '5xxErrors',
        dimensions: { BucketName: bucketName, FilterId: 'EntireBucket' },
        treat_missing_data: 'notBreaching',
      });
      const serverErrors = only(
        replicas,
        'aws_route53_health_check',
        (h) => h.cloudwatch_alarm_name === ref(replicas, 'aws_cloudwatch_metric_alarm', alarm, 'alarm_name'),
      );
      expect(serverErrors).toMatchObject({
        type: 'CLOUDWATCH_METRIC',
        cloudwatch_alarm_region: region,
        insufficient_data_health_status: 'Healthy',
        provider: 'aws.us-east-1',
      });
      // The bucket must also hold every build viewers are assigned, as rollout sync reports it each
      // minute; no report counts against it (a region just added, before its builds are copied in).
      const missing = only(
        replicas,
        'aws_cloudwatch_metric_alarm',
        (a) => a.metric_name === 'MissingBuilds' && (a.dimensions as Record<string, string>).Region === region,
      );
      expect(missing).toMatchObject({
        provider: 'aws.us-east-1',
        namespace: c.metrics.namespace,
        metric_name: 'MissingBuilds',
        dimensions: { Region: region },
        statistic: 'Maximum',
        threshold: 1,
        comparison_operator: 'GreaterThanOrEqualToThreshold',
        treat_missing_data: 'breaching',
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
      });
      const holdsBuilds = only(
        replicas,
        'aws_route53_health_check',
        (h) => h.cloudwatch_alarm_name === ref(replicas, 'aws_cloudwatch_metric_alarm', missing, 'alarm_name'),
      );
      expect(holdsBuilds).toMatchObject({
        type: 'CLOUDWATCH_METRIC',
        cloudwatch_alarm_region: 'us-east-1',
        insufficient_data_health_status: 'Unhealthy',
      });
      expect(answerable(replicas, region)).toMatchObject({
        type: 'CALCULATED',
        child_health_threshold: 2,
        child_healthchecks: [
          ref(replicas, 'aws_route53_health_check', serverErrors, 'id'),
          ref(replicas, 'aws_route53_health_check', holdsBuilds, 'id'),
        ],
      });
    }
    expect(
      bodies(replicas, 'aws_route53_health_check').every(
        (h) => h.type === 'CLOUDWATCH_METRIC' || h.type === 'CALCULATED',
      ),
    ).toBe(true);
    expect(replicas.text).not.toMatch(/["/]_health\b/);
    expect(replicas.text).toHaveResourceWithProperties(S3BucketMetric, { name: 'EntireBucket' });
    expect(replicas.text).toHaveResourceWithProperties(CloudwatchMetricAlarm, { metric_name: '5xxErrors' });
    expect(replicas.text).toHaveResourceWithProperties(Route53HealthCheck, { type: 'CLOUDWATCH_METRIC' });
  });

  it('answers _bucket.<domain> with the nearest healthy region through latency records', () => {
    const { replicas, config: c } = synthesize(testConfig({ ...regionsConfig, dns: { bucketRecordTtl: 45 } }));
    const zone = only(replicas, 'aws_route53_zone', () => true, 'data');
    expect(zone).toMatchObject({ name: 'example.com', private_zone: false });
    const records = bodies(replicas, 'aws_route53_record');
    expect(records).toHaveLength(c.regions.length);
    for (const region of c.regions) {
      const check = answerable(replicas, region);
      expect(only(replicas, 'aws_route53_record', (r) => r.set_identifier === region)).toMatchObject({
        name: '_bucket.widget.example.com',
        type: 'TXT',
        ttl: 45,
        records: [region],
        latency_routing_policy: { region },
        health_check_id: ref(replicas, 'aws_route53_health_check', check, 'id'),
        zone_id: ref(replicas, 'aws_route53_zone', zone, 'zone_id', 'data'),
      });
    }
  });
});

it('uses the configured zone id without a lookup', () => {
  const { replicas, delivery } = synthesize(testConfig({ hostedZone: { name: 'example.com', id: 'Z0123456789ABC' } }));
  expect(replicas.text).not.toHaveDataSource(DataAwsRoute53Zone);
  expect(bodies(replicas, 'aws_route53_record').every((r) => r.zone_id === 'Z0123456789ABC')).toBe(true);
  expect(bodies(delivery, 'aws_route53_record').every((r) => r.zone_id === 'Z0123456789ABC')).toBe(true);
});

it('keeps at least one day of replaced versions when the grace period is 0', () => {
  const { replicas } = synthesize(testConfig({ retention: { graceDays: 0 } }));
  const lifecycle = only(replicas, 'aws_s3_bucket_lifecycle_configuration');
  expect(lifecycle.rule).toContainEqual(
    expect.objectContaining({ noncurrent_version_expiration: [{ noncurrent_days: 1 }] }),
  );
});

it('references nothing from the delivery stack', () => {
  const { replicas } = synthesize(testConfig(FIVE_REGIONS));
  expect(replicas.json.data?.terraform_remote_state).toBeUndefined();
  expect(replicas.text).not.toMatch(/delivery/);
});

/** The health check a region's latency record answers by: the calculated one over its two checks. */
function answerable(replicas: Synthesized['replicas'], region: string): Block {
  return only(
    replicas,
    'aws_route53_health_check',
    (h) => h.type === 'CALCULATED' && String((h.tags as Record<string, string>).Name).endsWith(`(${region})`),
  );
}

/**
 * The stateful stack: replica buckets, their health checks and the `_bucket.<domain>` latency
 * records, the hosted zone lookup, and CloudFront's origin access identity. It changes when the
 * region list changes, not on a release, and it references nothing in the delivery stack:
 * values flow one way, replicas → delivery.
 *
 * The OAI lives here, not next to the distribution, because every bucket policy grants it: with
 * the OAI in the delivery stack the two stacks would reference each other.
 */
import { CloudfrontOriginAccessIdentity } from '@cdktf/provider-aws/lib/cloudfront-origin-access-identity';
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { resourceNames, type DeployConfig } from '../config';
import { configureBackend } from './backend';
import { RegionalProviders } from './constructs/aws-providers';
import { BucketHealthCheck } from './constructs/bucket-health';
import { HostedZone } from './constructs/hosted-zone';
import { NearestBucketRecord } from './constructs/nearest-bucket-record';
import { ReplicaBucket } from './constructs/replica-bucket';

export interface ReplicaStackProps {
  readonly config: DeployConfig;
}

/** What the delivery stack takes from the replica stack, by reference. */
export interface ReplicaOutputs {
  /** `origin-access-identity/cloudfront/<id>`, for the distribution's S3 origins. */
  readonly originAccessIdentityPath: string;
  readonly hostedZoneId: string;
}

export class ReplicaStack extends TerraformStack implements ReplicaOutputs {
  readonly providers: RegionalProviders;
  readonly hostedZone: HostedZone;
  readonly originAccessIdentity: CloudfrontOriginAccessIdentity;
  /** Region → its replica bucket, in config order. */
  readonly buckets: ReadonlyMap<string, ReplicaBucket>;
  readonly healthChecks: ReadonlyMap<string, BucketHealthCheck>;

  constructor(scope: Construct, id: string, props: ReplicaStackProps) {
    super(scope, id);
    const { config } = props;
    const names = resourceNames(config);
    configureBackend(this, config.backend, id);
    this.providers = new RegionalProviders(this, 'aws', {
      regions: config.regions,
      defaultTags: { Distribution: config.name, Stack: id, ManagedBy: 'cdktf' },
    });
    const global = this.providers.usEast1;

    this.hostedZone = new HostedZone(this, 'zone', {
      zoneName: config.hostedZone.name,
      zoneId: config.hostedZone.id,
      provider: global,
    });
    this.originAccessIdentity = new CloudfrontOriginAccessIdentity(this, 'origin-access-identity', {
      provider: global,
      comment: `${config.name}: CloudFront reads the replica buckets`,
    });

    const nearest = new NearestBucketRecord(this, 'nearest-bucket', {
      provider: global,
      zoneId: this.hostedZone.zoneId,
      recordName: names.bucketRecord,
      ttl: config.dns.bucketRecordTtl,
    });
    const buckets = new Map<string, ReplicaBucket>();
    const healthChecks = new Map<string, BucketHealthCheck>();
    for (const region of config.regions) {
      const provider = this.providers.forRegion(region);
      const bucket = new ReplicaBucket(this, `bucket-${region}`, {
        provider,
        region,
        bucketName: names.bucket(region),
        noncurrentVersionDays: config.retention.graceDays,
      });
      bucket.grantRead(this.originAccessIdentity);
      const health = new BucketHealthCheck(this, `health-${region}`, {
        bucketName: bucket.bucketName,
        region,
        regionProvider: provider,
        globalProvider: global,
        metricsNamespace: config.metrics.namespace,
      });
      nearest.addRegion(region, health.healthCheckId);
      buckets.set(region, bucket);
      healthChecks.set(region, health);
    }
    this.buckets = buckets;
    this.healthChecks = healthChecks;

    new TerraformOutput(this, 'bucket-names', {
      description: 'Replica bucket per region (the upload writes every build to each).',
      value: Object.fromEntries([...buckets].map(([region, bucket]) => [region, bucket.bucketName])),
    });
  }

  get originAccessIdentityPath(): string {
    return this.originAccessIdentity.cloudfrontAccessIdentityPath;
  }

  get hostedZoneId(): string {
    return this.hostedZone.zoneId;
  }
}

/**
 * `_bucket.<domain>`: one latency-routed TXT record per region whose value is the region code.
 * A resolver asking from near a region gets that region back, unless its health check failed;
 * the chunk router rewrites the S3 origin to the answer.
 */
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { Construct } from 'constructs';

export interface NearestBucketRecordProps {
  readonly zoneId: string;
  /** `_bucket.<domain>` */
  readonly recordName: string;
  readonly ttl: number;
  readonly provider: AwsProvider;
}

export class NearestBucketRecord extends Construct {
  private readonly props: NearestBucketRecordProps;
  readonly records: Route53Record[] = [];

  constructor(scope: Construct, id: string, props: NearestBucketRecordProps) {
    super(scope, id);
    this.props = props;
  }

  /** Answers `region` for resolvers nearest it while `healthCheckId` is healthy. */
  addRegion(region: string, healthCheckId: string): Route53Record {
    const record = new Route53Record(this, region, {
      provider: this.props.provider,
      zoneId: this.props.zoneId,
      name: this.props.recordName,
      type: 'TXT',
      ttl: this.props.ttl,
      records: [region],
      setIdentifier: region,
      latencyRoutingPolicy: { region },
      healthCheckId,
    });
    this.records.push(record);
    return record;
  }
}

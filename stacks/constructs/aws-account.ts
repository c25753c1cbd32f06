/**
 * The account and partition the stack deploys into, read at plan time, so ARNs this code has to
 * spell out (log groups in every region, CodeDeploy configs, Route53 zones) are exact without an
 * account id in the config.
 */
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';

export interface AwsAccountProps {
  readonly provider: AwsProvider;
}

export class AwsAccount extends Construct {
  readonly accountId: string;
  readonly partition: string;

  constructor(scope: Construct, id: string, props: AwsAccountProps) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, 'caller', { provider: props.provider }).accountId;
    this.partition = new DataAwsPartition(this, 'partition', { provider: props.provider }).partition;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>`; region '' for global services. */
  arn(service: string, region: string, resource: string, account: string = this.accountId): string {
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }
}

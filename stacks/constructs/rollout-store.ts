/**
 * The rollout store: the CloudFront KeyValueStore the viewer-assignment function reads on every
 * entry load, and its one key, `rollout` (contracts/rollout-state.ts).
 *
 * Terraform creates the key with the first build as stable and no canary; from then on rollout
 * sync (and the rollout CLI, for the ring) own its value, so `value`, and only `value`, is
 * ignored: the key's existence, name and store stay Terraform's, and a deleted key shows as drift.
 * Grants are methods, as in aws-cdk-lib: the entry router may read, rollout sync may write.
 */
import { CloudfrontKeyValueStore } from '@cdktf/provider-aws/lib/cloudfront-key-value-store';
import { CloudfrontkeyvaluestoreKey } from '@cdktf/provider-aws/lib/cloudfrontkeyvaluestore-key';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import type { PolicyStatement } from './iam';

/** What rollout sync changes at run time. */
export const ROLLOUT_SYNC_OWNED_STATE_ATTRIBUTES = ['value'] as const;

export interface RolloutStoreProps {
  readonly storeName: string;
  /** The build the state names as stable when the key is first created. */
  readonly initialBuildId: string;
  /** us-east-1: CloudFront's resources live there. */
  readonly provider: AwsProvider;
}

/** Something with a role to grant to: a PackagedFunction, RegionalFunction or EdgeFunction. */
export interface Grantable {
  addToRolePolicy(...statements: PolicyStatement[]): void;
}

export class RolloutStore extends Construct {
  readonly store: CloudfrontKeyValueStore;
  readonly stateKey: CloudfrontkeyvaluestoreKey;

  constructor(scope: Construct, id: string, props: RolloutStoreProps) {
    super(scope, id);
    this.store = new CloudfrontKeyValueStore(this, 'store', {
      provider: props.provider,
      name: props.storeName,
      comment: 'Rollout state: stable and canary builds, weight, salt, ring (written by rollout sync)',
    });
    this.stateKey = new CloudfrontkeyvaluestoreKey(this, 'state', {
      provider: props.provider,
      keyValueStoreArn: this.store.arn,
      key: ROLLOUT_STATE_KEY,
      value: formatRolloutState(steadyState(props.initialBuildId)),
      lifecycle: { ignoreChanges: [...ROLLOUT_SYNC_OWNED_STATE_ATTRIBUTES] },
    });
  }

  get storeArn(): string {
    return this.store.arn;
  }

  /** GetKey: read the state through the API (the entry router's fallback). */
  grantRead(grantee: Grantable): void {
    grantee.addToRolePolicy({ sid: 'ReadRolloutState', actions: ['cloudfront-keyvaluestore:GetKey'], resources: [this.store.arn] });
  }

  /** DescribeKeyValueStore (the ETag), GetKey and PutKey: a conditional write of the state. */
  grantReadWrite(grantee: Grantable): void {
    grantee.addToRolePolicy({
      sid: 'ReadWriteRolloutState',
      actions: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:GetKey', 'cloudfront-keyvaluestore:PutKey'],
      resources: [this.store.arn],
    });
  }
}

/**
 * The rollout store: the CloudFront KeyValueStore the viewer-assignment function reads on every
 * entry load, and its one key, `rollout` (contracts/rollout-state.ts).
 *
 * Terraform only creates the key: with the build the alias `live` serves now as stable and no
 * canary (`initialStableBuildId`, read at plan time; see LiveAlias.servedBuildId). From then on
 * rollout sync (and the rollout CLI, for the ring) own its value, so `value`, and only `value`, is
 * ignored: the key's existence, name and store stay Terraform's, and a deleted key shows as drift.
 * A key deleted by hand and recreated by a deploy before rollout sync rewrites it therefore names
 * the build viewers already get, never the one being released: CodeDeploy alone moves viewers.
 * Grants are methods, as in aws-cdk-lib: the entry router may read, rollout sync may write.
 */
import { CloudfrontKeyValueStore } from '@cdktf/provider-aws/lib/cloudfront-key-value-store';
import { CloudfrontkeyvaluestoreKey } from '@cdktf/provider-aws/lib/cloudfrontkeyvaluestore-key';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { formatRolloutState, ROLLOUT_STATE_KEY, steadyState } from '../../contracts/rollout-state';
import type { PolicyStatement } from './iam';

/** What rollout sync changes at run time. */
export const ROLLOUT_SYNC_OWNED_STATE_ATTRIBUTES = ['value'] as const;

export interface RolloutStoreProps {
  readonly storeName: string;
  /**
   * The build the state names as stable when the key is created: a buildId, or a Terraform
   * expression that gives one (LiveAlias.servedBuildId).
   */
  readonly initialStableBuildId: string;
  /** us-east-1: CloudFront's resources live there. */
  readonly provider: AwsProvider;
}

/** Any valid buildId: it only marks where the stable build goes in the formatted state. */
const STABLE_PLACEHOLDER = '0123456789abcdef';

/**
 * formatRolloutState(steadyState(stable)) for a stable build that may be a Terraform expression:
 * the text the format function writes, byte for byte, with the expression where the build goes.
 * Not Terraform's jsonencode, which orders an object's keys by name and so would not write the
 * contract's field order.
 */
export function steadyStateValue(stable: string): string {
  if (!Token.isUnresolved(stable)) return formatRolloutState(steadyState(stable));
  const parts = formatRolloutState(steadyState(STABLE_PLACEHOLDER)).split(STABLE_PLACEHOLDER);
  if (parts.length !== 2)
    throw new Error(`the steady state names its stable build ${parts.length - 1} times; expected once`);
  return parts[0] + stable + parts[1];
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
      value: steadyStateValue(props.initialStableBuildId),
      lifecycle: { ignoreChanges: [...ROLLOUT_SYNC_OWNED_STATE_ATTRIBUTES] },
    });
  }

  get storeArn(): string {
    return this.store.arn;
  }

  /** GetKey: read the state through the API (the entry router's fallback). */
  grantRead(grantee: Grantable): void {
    grantee.addToRolePolicy({
      sid: 'ReadRolloutState',
      actions: ['cloudfront-keyvaluestore:GetKey'],
      resources: [this.store.arn],
    });
  }

  /** DescribeKeyValueStore (the ETag), GetKey and PutKey: a conditional write of the state. */
  grantReadWrite(grantee: Grantable): void {
    grantee.addToRolePolicy({
      sid: 'ReadWriteRolloutState',
      actions: [
        'cloudfront-keyvaluestore:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:GetKey',
        'cloudfront-keyvaluestore:PutKey',
      ],
      resources: [this.store.arn],
    });
  }
}

/**
 * `_rollout.<domain>`: the TXT record every entry router reads. Terraform creates it with the
 * first build as stable and no canary; from then on rollout sync owns its value (it mirrors the
 * alias), so `records` — and only `records` — is ignored. Its name, type, TTL and zone stay
 * Terraform's.
 */
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { Construct } from 'constructs';
import { formatRolloutRecord } from '../../edge-function/shared/rollout-record';

export const ROLLOUT_SYNC_OWNED_RECORD_ATTRIBUTES = ['records'] as const;

export interface RolloutRecordProps {
  readonly zoneId: string;
  readonly recordName: string;
  readonly ttl: number;
  /** The build the record names as stable when it is first created. */
  readonly initialBuildId: string;
  readonly provider: AwsProvider;
}

export class RolloutRecord extends Construct {
  readonly record: Route53Record;

  constructor(scope: Construct, id: string, props: RolloutRecordProps) {
    super(scope, id);
    this.record = new Route53Record(this, 'record', {
      provider: props.provider,
      zoneId: props.zoneId,
      name: props.recordName,
      type: 'TXT',
      ttl: props.ttl,
      records: [formatRolloutRecord({ stable: props.initialBuildId, canary: null, weight: 0, salt: null })],
      lifecycle: { ignoreChanges: [...ROLLOUT_SYNC_OWNED_RECORD_ATTRIBUTES] },
    });
  }
}

/**
 * The release-signal table (regional-function/shared/signal-table.ts): on-demand DynamoDB, one
 * string key, items expiring by TTL. It holds nothing that outlives an alarm period by much, so
 * no point-in-time recovery; encryption at rest is DynamoDB's default.
 *
 * Grants are methods, scoped by `dynamodb:LeadingKeys` to the keys each function uses: the
 * metrics API may update viewer entries and read the state copy, rollout sync may write the copy,
 * and neither may touch the other's items.
 */
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { LEDGER_KEY_PREFIX, STATE_COPY_KEY } from '../../regional-function/shared/signal-table';
import type { PolicyStatement } from './iam';
import type { Grantable } from './rollout-store';

export interface ReleaseSignalTableProps {
  readonly tableName: string;
  readonly provider: AwsProvider;
}

export class ReleaseSignalTable extends Construct {
  readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: ReleaseSignalTableProps) {
    super(scope, id);
    this.table = new DynamodbTable(this, 'table', {
      provider: props.provider,
      name: props.tableName,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'pk',
      attribute: [{ name: 'pk', type: 'S' }],
      ttl: { attributeName: 'expiresAt', enabled: true },
    });
  }

  get tableName(): string {
    return this.table.name;
  }

  /** UpdateItem on viewer entries only: the metrics API's ledger. */
  grantRecordViewers(grantee: Grantable): void {
    grantee.addToRolePolicy(this.statement('RecordViewers', ['dynamodb:UpdateItem'], `${LEDGER_KEY_PREFIX}*`));
  }

  /** GetItem of the state copy only. */
  grantReadStateCopy(grantee: Grantable): void {
    grantee.addToRolePolicy(this.statement('ReadStateCopy', ['dynamodb:GetItem'], STATE_COPY_KEY));
  }

  /** PutItem of the state copy only: rollout sync. */
  grantWriteStateCopy(grantee: Grantable): void {
    grantee.addToRolePolicy(this.statement('WriteStateCopy', ['dynamodb:PutItem'], STATE_COPY_KEY));
  }

  private statement(sid: string, actions: string[], leadingKey: string): PolicyStatement {
    return {
      sid,
      actions,
      resources: [this.table.arn],
      conditions: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [leadingKey] }],
    };
  }
}

/**
 * The release-signal table (rollout-control/signal-table.ts): on-demand DynamoDB, one string key.
 * It holds the timeline of the rollout states the edges may serve (`rollout-timeline`), which
 * rollout sync and the rollout CLI announce to; the signal consumer's checkpoint in the stream
 * (`consumer-checkpoint`); the judge's record of each release (`release#<salt>`); and the last
 * release notifications published (`release-notifications`). Each is rewritten as it goes and none
 * matters long after the rollout it serves, so no point-in-time recovery; encryption at rest is
 * DynamoDB's default.
 *
 * Grants are methods, scoped by `dynamodb:LeadingKeys` to the items each function uses: rollout
 * sync reads and writes the timeline and the notification log, the consumer reads the timeline and
 * writes its checkpoint, and neither may touch another item.
 */
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import { CONSUMER_CHECKPOINT_KEY } from '../../contracts/release-signal';
import { STATE_TIMELINE_KEY } from '../../contracts/release-signal';
import { judgmentKey } from '../../contracts/release-progress';
import { NOTIFICATION_LOG_KEY } from '../../contracts/release-notification';
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
      // Nothing written now expires; the viewer ledger of earlier versions did (its items carry
      // expiresAt), and on an upgraded table they go on their own.
      ttl: { attributeName: 'expiresAt', enabled: true },
    });
  }

  get tableName(): string {
    return this.table.name;
  }

  /**
   * GetItem and PutItem of the timeline: rollout sync announces each state there before it writes
   * it to the store (announceState reads the timeline, then writes it conditionally).
   */
  grantAnnounceStates(grantee: Grantable): void {
    grantee.addToRolePolicy(
      this.statement('AnnounceRolloutStates', ['dynamodb:GetItem', 'dynamodb:PutItem'], STATE_TIMELINE_KEY),
    );
  }

  /** GetItem of the timeline only: the signal consumer judges each record under the states of its time. */
  grantReadTimeline(grantee: Grantable): void {
    grantee.addToRolePolicy(this.statement('ReadRolloutTimeline', ['dynamodb:GetItem'], STATE_TIMELINE_KEY));
  }

  /** PutItem of the consumer's checkpoint only (advanceCheckpoint: a conditional put, then a plain one). */
  grantAdvanceCheckpoint(grantee: Grantable): void {
    grantee.addToRolePolicy(this.statement('AdvanceConsumerCheckpoint', ['dynamodb:PutItem'], CONSUMER_CHECKPOINT_KEY));
  }

  /**
   * GetItem and PutItem of the releases' judgment records (`release#<salt>`): the signal consumer keeps its evidence
   * and verdicts there.
   */
  grantWriteJudgments(grantee: Grantable): void {
    grantee.addToRolePolicy(
      this.statement('KeepReleaseJudgments', ['dynamodb:GetItem', 'dynamodb:PutItem'], judgmentKey('*')),
    );
  }

  /** GetItem of the judgment records only: rollout sync moves the weight as the judge allows. */
  grantReadJudgments(grantee: Grantable): void {
    grantee.addToRolePolicy(this.statement('ReadReleaseJudgments', ['dynamodb:GetItem'], judgmentKey('*')));
  }

  /**
   * GetItem and PutItem of the notification log only: rollout sync keeps the last messages it
   * published there (recordNotification reads the log, then writes it conditionally).
   */
  grantRecordNotifications(grantee: Grantable): void {
    grantee.addToRolePolicy(
      this.statement('RecordReleaseNotifications', ['dynamodb:GetItem', 'dynamodb:PutItem'], NOTIFICATION_LOG_KEY),
    );
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

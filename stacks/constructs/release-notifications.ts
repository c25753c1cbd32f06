/**
 * The release's notifications: one SNS topic per distribution, and the config's subscriptions to
 * it (`notifications.emails`, `notifications.webhooks`). Rollout sync publishes to it, one message
 * per deployment start, success, stop or failure and per alarm state change
 * (contracts/release-notification.ts), so a team's mailbox, chat channel or pager hears about every
 * rollback without watching the dashboard. Amazon Q Developer in chat applications (formerly AWS
 * Chatbot) subscribes a Slack or Teams channel to the topic itself (the deploy guide says how).
 *
 * - Only rollout sync publishes: the alarms and CodeDeploy reach the topic through it (EventBridge
 *   runs it on their state changes), because their own messages cannot say which build at what
 *   weight. So no service principal needs the topic, and the topic's policy is the account's
 *   default (the owner's principals, by their IAM policies).
 * - Encrypted at rest with the AWS managed key `alias/aws/sns` (aws_sns_topic
 *   `kms_master_key_id`). A publisher needs kms:GenerateDataKey and kms:Decrypt on it (SNS
 *   developer guide, "Encryption at rest"); SNS decrypts before it delivers, so email and HTTPS
 *   subscribers (Amazon Q Developer's endpoint is one) need nothing. The AWS managed key would not
 *   do for CloudWatch alarms or EventBridge publishing directly: they are not the account's IAM
 *   principals, and that key's policy cannot be changed. Nothing here publishes that way.
 * - An email subscription stays pending until its address confirms it, and Terraform cannot delete
 *   a pending one (it is removed once AWS expires it, after 3 days). A webhook must answer SNS's
 *   SubscriptionConfirmation; `endpoint_auto_confirms` stays false, so Terraform does not wait for it.
 */
import { DataAwsKmsAlias } from '@cdktf/provider-aws/lib/data-aws-kms-alias';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { Construct } from 'constructs';
import type { Grantable } from './rollout-store';

export const SNS_MANAGED_KEY_ALIAS = 'alias/aws/sns';

export interface ReleaseNotificationsProps {
  readonly topicName: string;
  /** Addresses that get every message by email (each confirms its subscription once). @default none */
  readonly emails?: readonly string[];
  /** HTTPS endpoints that get every message as SNS's JSON envelope (each confirms once). @default none */
  readonly webhooks?: readonly string[];
  /** us-east-1, beside rollout sync, CodeDeploy and the alarms. */
  readonly provider: AwsProvider;
}

export class ReleaseNotifications extends Construct {
  readonly topic: SnsTopic;
  readonly topicArn: string;
  /** ARN of the key the topic is encrypted with. */
  readonly keyArn: string;
  readonly subscriptions: SnsTopicSubscription[] = [];

  constructor(scope: Construct, id: string, props: ReleaseNotificationsProps) {
    super(scope, id);
    const { provider } = props;
    const key = new DataAwsKmsAlias(this, 'key', { provider, name: SNS_MANAGED_KEY_ALIAS });
    this.keyArn = key.targetKeyArn;
    this.topic = new SnsTopic(this, 'topic', {
      provider,
      name: props.topicName,
      displayName: 'Widget releases',
      kmsMasterKeyId: SNS_MANAGED_KEY_ALIAS,
    });
    this.topicArn = this.topic.arn;
    const endpoints = [
      ...(props.emails ?? []).map((endpoint, index) => ({ protocol: 'email', endpoint, index })),
      ...(props.webhooks ?? []).map((endpoint, index) => ({ protocol: 'https', endpoint, index })),
    ];
    for (const { protocol, endpoint, index } of endpoints) {
      this.subscriptions.push(
        new SnsTopicSubscription(this, `${protocol}-${index}`, {
          provider,
          topicArn: this.topic.arn,
          protocol,
          endpoint,
          ...(protocol === 'https' ? { endpointAutoConfirms: false } : {}),
        }),
      );
    }
  }

  /** What a publisher needs: sns:Publish on the topic, and the topic's key to encrypt with. */
  grantPublish(grantee: Grantable): void {
    grantee.addToRolePolicy(
      { sid: 'PublishReleaseNotifications', actions: ['sns:Publish'], resources: [this.topicArn] },
      {
        sid: 'EncryptReleaseNotifications',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.keyArn],
      },
    );
  }
}

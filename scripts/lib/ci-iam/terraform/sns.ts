/** SNS: the release notifications topic and its subscriptions. */
import type { ResourceView } from '../grants';
import type { ResourcePermissions } from './shared';

const topicArns = (r: ResourceView): readonly string[] => [r.arn('sns', r.region, r.scoped('name'))];

export const SNS_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // The topic, named by us. The provider creates it with its attributes and tags (CreateTopic with
  // Tags is also authorized as TagResource), sets the attributes CreateTopic does not take
  // (SetTopicAttributes), then reads it back with its tags and its data protection policy. The KMS
  // key is named by alias and only publishers use it: creating an encrypted topic needs no KMS
  // permission (SNS developer guide, "Encryption at rest").
  aws_sns_topic: {
    arns: topicArns,
    actions: {
      create: [
        'sns:CreateTopic',
        'sns:TagResource',
        'sns:SetTopicAttributes',
        'sns:GetTopicAttributes',
        'sns:ListTagsForResource',
        'sns:GetDataProtectionPolicy',
      ],
      read: ['sns:GetTopicAttributes', 'sns:ListTagsForResource', 'sns:GetDataProtectionPolicy'],
      update: ['sns:SetTopicAttributes', 'sns:TagResource', 'sns:UntagResource', 'sns:GetTopicAttributes'],
      delete: ['sns:DeleteTopic'],
    },
  },
  // A subscription is authorized on its topic (the service authorization reference lists no
  // resource type of its own). The provider subscribes, reads the subscription's attributes (and,
  // for one still pending confirmation, finds it among the topic's), and unsubscribes.
  aws_sns_topic_subscription: {
    arns: (r) => topicArns(r.target('topic_arn') ?? r),
    actions: {
      create: ['sns:Subscribe', 'sns:GetSubscriptionAttributes', 'sns:ListSubscriptionsByTopic'],
      read: ['sns:GetSubscriptionAttributes', 'sns:ListSubscriptionsByTopic'],
      update: ['sns:SetSubscriptionAttributes', 'sns:GetSubscriptionAttributes'],
      delete: ['sns:Unsubscribe'],
    },
    notTagScoped: 'a subscription has no tags; its actions are authorized on the topic, which is named by us',
  },
};

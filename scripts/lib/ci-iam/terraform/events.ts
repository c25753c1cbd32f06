/** EventBridge: rules and their targets. */
import type { ResourceView } from '../grants';
import { passRole, type ResourcePermissions } from './shared';

// Also the ARNs of what attaches to a rule: IAM authorizes those actions on it.
const eventRuleArns = (r: ResourceView): readonly string[] => [r.arn('events', r.region, `rule/${r.scoped('name')}`)];

export const EVENTS_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_cloudwatch_event_rule: {
    arns: eventRuleArns,
    actions: {
      create: ['events:PutRule', 'events:TagResource', 'events:DescribeRule'],
      read: ['events:DescribeRule', 'events:ListTagsForResource'],
      update: [
        'events:PutRule',
        'events:EnableRule',
        'events:DisableRule',
        'events:TagResource',
        'events:UntagResource',
      ],
      delete: ['events:DeleteRule'],
    },
  },
  aws_cloudwatch_event_target: {
    arns: (r) => eventRuleArns(r.target('rule') ?? r),
    actions: {
      create: ['events:PutTargets'],
      read: ['events:ListTargetsByRule'],
      update: ['events:PutTargets'],
      delete: ['events:RemoveTargets'],
    },
    also: (r) => (r.body.role_arn === undefined ? [] : [passRole(r, 'role_arn', 'events.amazonaws.com')]),
  },
};

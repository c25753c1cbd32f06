/** CloudWatch Logs: log groups and their metric filters. */
import type { ResourcePermissions } from './shared';

export const LOGS_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // Lambda@Edge writes to `/aws/lambda/us-east-1.<function>` in every region it runs in: one group per region.
  aws_cloudwatch_log_group: {
    arns: (r) => [r.arn('logs', r.region, `log-group:${r.scoped('name')}`)],
    actions: {
      create: ['logs:CreateLogGroup', 'logs:TagResource', 'logs:PutRetentionPolicy'],
      read: ['logs:ListTagsForResource', 'logs:ListTagsLogGroup'],
      update: ['logs:PutRetentionPolicy', 'logs:DeleteRetentionPolicy', 'logs:TagResource', 'logs:UntagResource'],
      delete: ['logs:DeleteLogGroup'],
    },
    // DescribeLogGroups (the provider's read and its create waiter) is authorized against every log
    // group of the region, not one.
    also: (r) => [
      {
        phases: { create: ['logs:DescribeLogGroups'], read: ['logs:DescribeLogGroups'] },
        resources: [r.arn('logs', r.region, 'log-group:*')],
      },
    ],
  },
  // A metric filter belongs to its log group: its actions are authorized on the group.
  aws_cloudwatch_log_metric_filter: {
    arns: (r) => [r.arn('logs', r.region, `log-group:${r.scoped('log_group_name')}`)],
    actions: {
      create: ['logs:PutMetricFilter'],
      read: ['logs:DescribeMetricFilters'],
      update: ['logs:PutMetricFilter'],
      delete: ['logs:DeleteMetricFilter'],
    },
  },
};

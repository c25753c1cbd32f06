/** CloudWatch: alarms and dashboards. */
import type { ResourcePermissions } from './shared';

export const CLOUDWATCH_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // Alarms live in the region of their provider: the S3 5xx alarms in every replica region.
  aws_cloudwatch_metric_alarm: {
    arns: (r) => [r.arn('cloudwatch', r.region, `alarm:${r.scoped('alarm_name')}`)],
    actions: {
      create: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource'],
      read: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
      update: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource', 'cloudwatch:UntagResource'],
      delete: ['cloudwatch:DeleteAlarms'],
    },
  },
  // Dashboards are global: no region in their ARN.
  aws_cloudwatch_dashboard: {
    arns: (r) => [r.arn('cloudwatch', '', `dashboard/${r.scoped('dashboard_name')}`)],
    actions: {
      create: ['cloudwatch:PutDashboard'],
      read: ['cloudwatch:GetDashboard'],
      update: ['cloudwatch:PutDashboard'],
      delete: ['cloudwatch:DeleteDashboards'],
    },
  },
};

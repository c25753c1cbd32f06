/** DynamoDB: tables. */
import type { ResourcePermissions } from './shared';

export const DYNAMODB_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_dynamodb_table: {
    arns: (r) => [r.arn('dynamodb', r.region, `table/${r.scoped('name')}`)],
    actions: {
      create: [
        'dynamodb:CreateTable',
        'dynamodb:TagResource',
        'dynamodb:DescribeTable',
        'dynamodb:UpdateTimeToLive',
        'dynamodb:DescribeTimeToLive',
        'dynamodb:UpdateContinuousBackups',
      ],
      read: [
        'dynamodb:DescribeTable',
        'dynamodb:DescribeTimeToLive',
        'dynamodb:DescribeContinuousBackups',
        'dynamodb:ListTagsOfResource',
      ],
      update: [
        'dynamodb:UpdateTable',
        'dynamodb:UpdateTimeToLive',
        'dynamodb:UpdateContinuousBackups',
        'dynamodb:TagResource',
        'dynamodb:UntagResource',
      ],
      delete: ['dynamodb:DeleteTable', 'dynamodb:DescribeTable'],
    },
  },
};

/**
 * CloudFront: distributions, policies, OAIs and stores are named by ids CloudFront assigns, so their
 * ARNs end in `*`; functions are named by us.
 */
import { blocks, single } from '../../../../stacks/policy/terraform-json';
import { type Grant, type ResourceView, UNKNOWN } from '../grants';
import { lambdaFunction, passRoleAt, type ResourcePermissions, s3Bucket } from './shared';

const cloudFront = (r: ResourceView, resource: string) => r.arn('cloudfront', '', resource);

/** Lambda@Edge: CloudFront replicates the associated versions with the caller's permissions. */
function edgeReplication(r: ResourceView): Grant[] {
  const behaviors = [...blocks(r.body.default_cache_behavior), ...blocks(r.body.ordered_cache_behavior)];
  const functions = behaviors
    .flatMap((behavior) => blocks(behavior.lambda_function_association))
    .map((association) => r.targetOf(association.lambda_arn));
  if (functions.length === 0) return [];
  const changes = ['lambda:GetFunction', 'lambda:EnableReplication', 'lambda:DisableReplication'];
  return [
    {
      phases: { create: changes, update: changes, delete: changes },
      // Versions: CloudFront associates `function:<name>:<version>`.
      resources: functions.map((fn) =>
        fn
          ? lambdaFunction(fn, `${fn.scoped('function_name')}:*`)
          : r.arn('lambda', 'us-east-1', `function:${UNKNOWN}`),
      ),
    },
    {
      // Created once per account, by the first distribution with Lambda@Edge (CloudFront guide,
      // "Service-linked roles for Lambda@Edge").
      phases: { create: ['iam:CreateServiceLinkedRole'], update: ['iam:CreateServiceLinkedRole'] },
      // The condition names the two services; the path alone is every service-linked role.
      resources: [r.arn('iam', '', 'role/aws-service-role/*')],
      conditions: [
        {
          operator: 'StringEquals',
          key: 'iam:AWSServiceName',
          values: ['replicator.lambda.amazonaws.com', 'logger.cloudfront.amazonaws.com'],
        },
      ],
    },
  ];
}

export const CLOUDFRONT_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_cloudfront_distribution: {
    arns: (r) => [cloudFront(r, 'distribution/*')],
    actions: {
      // With tags the provider calls CreateDistributionWithTags: authorized as CreateDistribution + TagResource.
      create: ['cloudfront:CreateDistribution', 'cloudfront:TagResource', 'cloudfront:GetDistribution'],
      read: ['cloudfront:GetDistribution', 'cloudfront:GetDistributionConfig', 'cloudfront:ListTagsForResource'],
      update: ['cloudfront:UpdateDistribution', 'cloudfront:TagResource', 'cloudfront:UntagResource'],
      // The provider disables the distribution (an update) and waits before deleting it.
      delete: ['cloudfront:UpdateDistribution', 'cloudfront:GetDistribution', 'cloudfront:DeleteDistribution'],
    },
    also: (r) => {
      const grants = edgeReplication(r);
      const logBucket = r.targetOf(single(r.body.logging_config)?.bucket);
      if (logBucket) {
        // Standard logs: CloudFront grants its log-delivery account an ACL on the bucket, as the caller
        // (CloudFront guide, "Permissions required to configure standard logging").
        grants.push({
          phases: { create: ['s3:GetBucketAcl', 's3:PutBucketAcl'], update: ['s3:GetBucketAcl', 's3:PutBucketAcl'] },
          resources: [s3Bucket(logBucket.scoped('bucket'))],
        });
      }
      return grants;
    },
  },
  aws_cloudfront_monitoring_subscription: {
    arns: (r) => [cloudFront(r, 'distribution/*')],
    actions: {
      create: ['cloudfront:CreateMonitoringSubscription'],
      read: ['cloudfront:GetMonitoringSubscription'],
      update: ['cloudfront:CreateMonitoringSubscription'],
      delete: ['cloudfront:DeleteMonitoringSubscription'],
    },
  },
  aws_cloudfront_origin_access_identity: {
    arns: (r) => [cloudFront(r, 'origin-access-identity/*')],
    actions: {
      create: ['cloudfront:CreateCloudFrontOriginAccessIdentity'],
      read: ['cloudfront:GetCloudFrontOriginAccessIdentity', 'cloudfront:GetCloudFrontOriginAccessIdentityConfig'],
      update: ['cloudfront:UpdateCloudFrontOriginAccessIdentity'],
      delete: ['cloudfront:DeleteCloudFrontOriginAccessIdentity'],
    },
  },
  aws_cloudfront_cache_policy: {
    arns: (r) => [cloudFront(r, 'cache-policy/*')],
    actions: {
      create: ['cloudfront:CreateCachePolicy'],
      read: ['cloudfront:GetCachePolicy'],
      update: ['cloudfront:UpdateCachePolicy'],
      delete: ['cloudfront:DeleteCachePolicy'],
    },
  },
  aws_cloudfront_origin_request_policy: {
    arns: (r) => [cloudFront(r, 'origin-request-policy/*')],
    actions: {
      create: ['cloudfront:CreateOriginRequestPolicy'],
      read: ['cloudfront:GetOriginRequestPolicy'],
      update: ['cloudfront:UpdateOriginRequestPolicy'],
      delete: ['cloudfront:DeleteOriginRequestPolicy'],
    },
  },
  aws_cloudfront_response_headers_policy: {
    arns: (r) => [cloudFront(r, 'response-headers-policy/*')],
    actions: {
      create: ['cloudfront:CreateResponseHeadersPolicy'],
      read: ['cloudfront:GetResponseHeadersPolicy'],
      update: ['cloudfront:UpdateResponseHeadersPolicy'],
      delete: ['cloudfront:DeleteResponseHeadersPolicy'],
    },
  },
  aws_cloudfront_function: {
    arns: (r) => [cloudFront(r, `function/${r.scoped('name')}`)],
    actions: {
      create: ['cloudfront:CreateFunction', 'cloudfront:PublishFunction', 'cloudfront:DescribeFunction'],
      read: ['cloudfront:DescribeFunction', 'cloudfront:GetFunction'],
      update: ['cloudfront:UpdateFunction', 'cloudfront:PublishFunction', 'cloudfront:DescribeFunction'],
      delete: ['cloudfront:DeleteFunction', 'cloudfront:DescribeFunction'],
    },
  },
  aws_cloudfront_key_value_store: {
    arns: (r) => [cloudFront(r, 'key-value-store/*')],
    actions: {
      create: ['cloudfront:CreateKeyValueStore', 'cloudfront:DescribeKeyValueStore'],
      read: ['cloudfront:DescribeKeyValueStore'],
      update: ['cloudfront:UpdateKeyValueStore'],
      // Not granted: a store's ARN holds an id CloudFront assigns, and Terraform cannot tag a store,
      // so a grant to delete ours would be a grant to delete every store in the account. Deleting
      // it (a destroy, or a rename that replaces it) is for a person with more rights.
      delete: [],
    },
  },
  // The key is written through the store's data plane, which wants the store's ETag first.
  aws_cloudfrontkeyvaluestore_key: {
    arns: (r) => [cloudFront(r, 'key-value-store/*')],
    actions: {
      create: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:PutKey'],
      read: ['cloudfront-keyvaluestore:GetKey'],
      update: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:PutKey'],
      delete: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:DeleteKey'],
    },
  },

  // A real-time log configuration is named by us. Creating (or changing) one passes its role to
  // CloudFront (iam:PassRole, CloudFront developer guide, "Real-time log configuration IAM role").
  aws_cloudfront_realtime_log_config: {
    arns: (r) => [cloudFront(r, `realtime-log-config/${r.scoped('name')}`)],
    actions: {
      create: ['cloudfront:CreateRealtimeLogConfig', 'cloudfront:GetRealtimeLogConfig'],
      read: ['cloudfront:GetRealtimeLogConfig'],
      update: ['cloudfront:UpdateRealtimeLogConfig', 'cloudfront:GetRealtimeLogConfig'],
      delete: ['cloudfront:DeleteRealtimeLogConfig'],
    },
    also: (r) => [
      passRoleAt(r, single(single(r.body.endpoint)?.kinesis_stream_config)?.role_arn, 'cloudfront.amazonaws.com'),
    ],
  },
};

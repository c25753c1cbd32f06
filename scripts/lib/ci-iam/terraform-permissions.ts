/**
 * What Terraform's AWS provider calls for each resource and data source type the stacks use, by
 * phase (create, refresh, update, delete), and on which ARN. Each resource's name and region in
 * the Terraform JSON fill the ARN in.
 *
 * Where the action lists come from: the Terraform AWS provider's resource documentation and source
 * (which API calls a resource makes, including waiters and tag reads), and the service guides named
 * at the entries that need more than their own API (Lambda@Edge, CloudFront standard logs, the
 * role a real-time log configuration passes to CloudFront, the S3 state backend). How each action is authorized (on
 * which
 * resource type, whether it takes a resource at all, which condition keys it supports) is not
 * written here: the generator (index.ts) asks AWS's service authorization reference
 * (stacks/policy/iam-reference.ts), and the tests check every action against it.
 */
import { blocks, single, type Block, type Json } from '../../../stacks/policy/terraform-json';
import { type Condition, type Grant, PARTITION, type Phases, type ResourceView, UNKNOWN } from './grants';

export interface ResourcePermissions {
  /** The resource's own ARN patterns: `actions` and `conditional` apply to these. */
  readonly arns: (r: ResourceView) => readonly string[];
  readonly actions: Phases;
  /** Actions on the same ARNs that a condition narrows further. */
  readonly conditional?: { readonly actions: Phases; readonly condition: (r: ResourceView) => Condition };
  /** What creating or changing it needs on other resources: a role it passes, functions it replicates. */
  readonly also?: (r: ResourceView) => readonly Grant[];
  /**
   * Why its ARNs, account-wide though they are, are not narrowed to resources carrying the
   * distribution's tag (index.ts does so wherever the type has tags and the reference supports
   * `aws:ResourceTag`). @default narrowed
   */
  readonly notTagScoped?: string;
}

export const NO_AWS_PERMISSIONS: ResourcePermissions = { arns: () => [], actions: {} };

// ---------------------------------------------------------------------------------------------
// ARN builders shared by the tables

const s3Bucket = (name: string) => `arn:${PARTITION}:s3:::${name}`;
const lambdaFunction = (r: ResourceView, name: string) => r.arn('lambda', r.region, `function:${name}`);
const cloudFront = (r: ResourceView, resource: string) => r.arn('cloudfront', '', resource);
/** The hosted zone a record lives in: its id when the JSON has it, any zone when it is looked up at plan time. */
const hostedZone = (zoneId: string) => `arn:${PARTITION}:route53:::hostedzone/${zoneId}`;

/** The bucket a bucket-level resource (`bucket = aws_s3_bucket.x.id`) belongs to. */
const ownBucket = (r: ResourceView) => [s3Bucket(r.scoped('bucket'))];
/**
 * Resources whose Lambda actions are authorized on the function (`function_name =
 * aws_lambda_function.x.function_name`).
 */
const ownFunction = (r: ResourceView) => [lambdaFunction(r, r.scoped('function_name'))];

/**
 * An S3 bucket sub-resource: one Put action creates, changes and removes it (S3 has no Delete action for most of them).
 */
function bucketSetting(put: string, get: string): ResourcePermissions {
  return { arns: ownBucket, actions: { create: [put], read: [get], update: [put], delete: [put] } };
}

function passRole(r: ResourceView, attribute: string, service: string): Grant {
  return passRoleAt(r, r.body[attribute], service);
}

/** passRole for a role named anywhere in the resource (a nested block's attribute). */
function passRoleAt(r: ResourceView, value: Json | undefined, service: string): Grant {
  const role = r.targetOf(value);
  // The role by its exact name: passable to this service only, not every role of the distribution.
  const arn = role ? r.arn('iam', '', `role${role.body.path ?? '/'}${role.value('name')}`) : r.text(String(value));
  // One grant per role and service: a role passes to the one service that uses it.
  return {
    phases: { create: ['iam:PassRole'], update: ['iam:PassRole'] },
    resources: [arn],
    conditions: [{ operator: 'StringEquals', key: 'iam:PassedToService', values: [service] }],
  };
}

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

/** Names a record change may touch: route53:ChangeResourceRecordSetsNormalizedRecordNames values. */
function recordNames(r: ResourceView): Condition {
  let name = r.value('name').toLowerCase().replace(/\.$/, '');
  if (name === UNKNOWN) {
    // An ACM validation record is named `_<token>.<domain>` only once the certificate exists.
    const certificate = /\b(aws_acm_certificate\.[A-Za-z0-9_-]+)\.domain_validation_options\b/.exec(
      String(r.body.name),
    );
    const domain = certificate?.[1] === undefined ? undefined : r.lookup(certificate[1])?.value('domain_name');
    if (domain) name = `*.${domain.toLowerCase()}`;
  }
  return {
    operator: 'ForAllValues:StringLike',
    key: 'route53:ChangeResourceRecordSetsNormalizedRecordNames',
    values: [name],
  };
}

// ---------------------------------------------------------------------------------------------
// What each resource type needs. Tag actions sit in create (the provider tags on create, and the
// stacks' providers set default tags on everything), read (it refreshes tags) and update.

// Also the ARNs of what attaches to a role or a rule: IAM authorizes those actions on it.
const roleArns = (r: ResourceView): readonly string[] => [
  r.arn('iam', '', `role${r.body.path ?? '/'}${r.scoped('name')}`),
];
const eventRuleArns = (r: ResourceView): readonly string[] => [r.arn('events', r.region, `rule/${r.scoped('name')}`)];

export const RESOURCE_PERMISSIONS: Readonly<Record<string, ResourcePermissions>> = {
  // --- S3 -------------------------------------------------------------------------------------
  aws_s3_bucket: {
    arns: (r) => [s3Bucket(r.scoped('bucket'))],
    actions: {
      create: ['s3:CreateBucket', 's3:PutBucketTagging'],
      // The provider's refresh reads every bucket setting, managed here or not (HeadBucket is s3:ListBucket).
      read: [
        's3:ListBucket',
        's3:GetBucketPolicy',
        's3:GetBucketAcl',
        's3:GetBucketCORS',
        's3:GetBucketWebsite',
        's3:GetBucketVersioning',
        's3:GetAccelerateConfiguration',
        's3:GetBucketRequestPayment',
        's3:GetBucketLogging',
        's3:GetLifecycleConfiguration',
        's3:GetReplicationConfiguration',
        's3:GetEncryptionConfiguration',
        's3:GetBucketObjectLockConfiguration',
        's3:GetBucketTagging',
      ],
      update: ['s3:PutBucketTagging'],
      delete: ['s3:DeleteBucket'],
    },
  },
  aws_s3_bucket_policy: {
    arns: ownBucket,
    actions: {
      create: ['s3:PutBucketPolicy'],
      read: ['s3:GetBucketPolicy'],
      update: ['s3:PutBucketPolicy'],
      delete: ['s3:DeleteBucketPolicy'],
    },
  },
  aws_s3_bucket_lifecycle_configuration: bucketSetting('s3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration'),
  aws_s3_bucket_ownership_controls: bucketSetting('s3:PutBucketOwnershipControls', 's3:GetBucketOwnershipControls'),
  aws_s3_bucket_public_access_block: bucketSetting('s3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock'),
  aws_s3_bucket_server_side_encryption_configuration: bucketSetting(
    's3:PutEncryptionConfiguration',
    's3:GetEncryptionConfiguration',
  ),
  // Deleting suspends versioning: a Put too.
  aws_s3_bucket_versioning: bucketSetting('s3:PutBucketVersioning', 's3:GetBucketVersioning'),
  aws_s3_bucket_metric: bucketSetting('s3:PutMetricsConfiguration', 's3:GetMetricsConfiguration'),

  // --- CloudFront: distributions, policies, OAIs and stores are named by ids CloudFront assigns,
  // so their ARNs end in `*`; functions are named by us.
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

  // --- Lambda -----------------------------------------------------------------------------------
  aws_lambda_function: {
    arns: (r) => [lambdaFunction(r, r.scoped('function_name'))],
    actions: {
      // Tags on create are authorized as TagResource; publish = true lists versions to find the new one.
      create: [
        'lambda:CreateFunction',
        'lambda:TagResource',
        'lambda:GetFunction',
        'lambda:ListVersionsByFunction',
        'lambda:PublishVersion',
      ],
      read: ['lambda:GetFunction', 'lambda:GetFunctionCodeSigningConfig', 'lambda:ListVersionsByFunction'],
      update: [
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:GetFunctionConfiguration',
        'lambda:PublishVersion',
        'lambda:TagResource',
        'lambda:UntagResource',
      ],
      delete: ['lambda:DeleteFunction'],
    },
    also: (r) => [passRole(r, 'role', 'lambda.amazonaws.com')],
  },
  aws_lambda_alias: {
    arns: ownFunction,
    actions: {
      create: ['lambda:CreateAlias'],
      read: ['lambda:GetAlias'],
      update: ['lambda:UpdateAlias'],
      delete: ['lambda:DeleteAlias'],
    },
  },
  aws_lambda_permission: {
    arns: ownFunction,
    actions: {
      create: ['lambda:AddPermission'],
      read: ['lambda:GetPolicy'],
      update: ['lambda:AddPermission', 'lambda:RemovePermission'],
      delete: ['lambda:RemovePermission'],
    },
  },
  // Invoked once per apply that changes its input or triggers; a refresh and a destroy call nothing.
  aws_lambda_invocation: {
    arns: ownFunction,
    actions: { create: ['lambda:InvokeFunction'], update: ['lambda:InvokeFunction'] },
  },

  // A mapping is named by the id Lambda assigns (`event-source-mapping:<uuid>`): tagged, so narrowed
  // to the distribution's tag; and every write of one only for the stacks' own functions
  // (`lambda:FunctionArn`, which the reference gives Create/Update/DeleteEventSourceMapping). The
  // provider creates it with its tags (authorized as TagResource too), waits for it
  // (GetEventSourceMapping) and reads its tags (ListTags). The mapping reads the stream with the
  // function's role, not the caller's: no Kinesis permission here.
  aws_lambda_event_source_mapping: {
    arns: (r) => [r.arn('lambda', r.region, 'event-source-mapping:*')],
    actions: {
      create: ['lambda:TagResource', 'lambda:GetEventSourceMapping', 'lambda:ListTags'],
      read: ['lambda:GetEventSourceMapping', 'lambda:ListTags'],
      update: ['lambda:GetEventSourceMapping', 'lambda:TagResource', 'lambda:UntagResource'],
      delete: ['lambda:GetEventSourceMapping'],
    },
    conditional: {
      actions: {
        create: ['lambda:CreateEventSourceMapping'],
        update: ['lambda:UpdateEventSourceMapping'],
        delete: ['lambda:DeleteEventSourceMapping'],
      },
      condition: (r) => {
        const fn = r.scoped('function_name');
        return {
          operator: 'ArnLike',
          key: 'lambda:FunctionArn',
          values: [fn.startsWith('arn:') ? fn : lambdaFunction(r, fn)],
        };
      },
    },
  },

  // --- IAM --------------------------------------------------------------------------------------
  aws_iam_role: {
    arns: roleArns,
    actions: {
      create: ['iam:CreateRole', 'iam:TagRole', 'iam:GetRole'],
      read: [
        'iam:GetRole',
        'iam:ListRoleTags',
        'iam:ListRolePolicies',
        'iam:GetRolePolicy',
        'iam:ListAttachedRolePolicies',
      ],
      update: [
        'iam:UpdateRole',
        'iam:UpdateRoleDescription',
        'iam:UpdateAssumeRolePolicy',
        'iam:TagRole',
        'iam:UntagRole',
      ],
      // The provider removes the role from any instance profile before deleting it.
      delete: ['iam:ListInstanceProfilesForRole', 'iam:DeleteRole'],
    },
  },
  aws_iam_role_policy: {
    arns: (r) => roleArns(r.target('role') ?? r),
    actions: {
      create: ['iam:PutRolePolicy'],
      read: ['iam:GetRolePolicy'],
      update: ['iam:PutRolePolicy'],
      delete: ['iam:DeleteRolePolicy'],
    },
  },
  aws_iam_role_policy_attachment: {
    arns: (r) => roleArns(r.target('role') ?? r),
    actions: {
      create: ['iam:AttachRolePolicy'],
      read: ['iam:ListAttachedRolePolicies'],
      delete: ['iam:DetachRolePolicy'],
    },
  },

  // --- CodeDeploy -------------------------------------------------------------------------------
  aws_codedeploy_app: {
    arns: (r) => [r.arn('codedeploy', r.region, `application:${r.scoped('name')}`)],
    actions: {
      create: ['codedeploy:CreateApplication', 'codedeploy:TagResource'],
      read: ['codedeploy:GetApplication', 'codedeploy:ListTagsForResource'],
      update: ['codedeploy:UpdateApplication', 'codedeploy:TagResource', 'codedeploy:UntagResource'],
      delete: ['codedeploy:DeleteApplication'],
    },
  },
  aws_codedeploy_deployment_group: {
    arns: (r) => [
      r.arn('codedeploy', r.region, `deploymentgroup:${r.scoped('app_name')}/${r.scoped('deployment_group_name')}`),
    ],
    actions: {
      create: ['codedeploy:CreateDeploymentGroup', 'codedeploy:TagResource'],
      read: ['codedeploy:GetDeploymentGroup', 'codedeploy:ListTagsForResource'],
      update: ['codedeploy:UpdateDeploymentGroup', 'codedeploy:TagResource', 'codedeploy:UntagResource'],
      delete: ['codedeploy:DeleteDeploymentGroup'],
    },
    also: (r) => [
      passRole(r, 'service_role_arn', 'codedeploy.amazonaws.com'),
      // The group names its deployment configuration; CodeDeploy reads it as the caller.
      {
        phases: { create: ['codedeploy:GetDeploymentConfig'], update: ['codedeploy:GetDeploymentConfig'] },
        resources: [r.arn('codedeploy', r.region, `deploymentconfig:${r.scoped('deployment_config_name')}`)],
      },
    ],
  },
  aws_codedeploy_deployment_config: {
    arns: (r) => [r.arn('codedeploy', r.region, `deploymentconfig:${r.scoped('deployment_config_name')}`)],
    actions: {
      create: ['codedeploy:CreateDeploymentConfig'],
      read: ['codedeploy:GetDeploymentConfig'],
      delete: ['codedeploy:DeleteDeploymentConfig'],
    },
  },

  // --- CloudWatch, CloudWatch Logs, EventBridge --------------------------------------------------
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

  // --- DynamoDB ---------------------------------------------------------------------------------
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

  // --- Kinesis ----------------------------------------------------------------------------------
  // The signal stream, named by us. The provider creates it with its tags (CreateStream with Tags
  // is also authorized as AddTagsToStream: Kinesis API reference, CreateStream), waits for ACTIVE
  // (DescribeStreamSummary), sets its retention (IncreaseStreamRetentionPeriod, whenever
  // retention_period is set) and its encryption (StartStreamEncryption, which the reference
  // authorizes on the stream and on the KMS key both), then reads it back with its tags
  // (ListTagsForStream). A plan checks the account's shard limit (DescribeLimits, which takes no
  // resource; the provider ignores a refusal). Not granted: UpdateShardCount, UpdateStreamMode,
  // Enable/DisableEnhancedMonitoring and StopStreamEncryption, which Terraform calls only when the
  // shard count, the mode, shard-level metrics or the encryption change: the stacks fix all four
  // (one provisioned shard, encrypted, contracts/signal-capacity.ts), and the first three take no
  // resource, so a grant would reach every stream in the account.
  aws_kinesis_stream: {
    arns: (r) => [r.arn('kinesis', r.region, `stream/${r.scoped('name')}`)],
    actions: {
      create: [
        'kinesis:CreateStream',
        'kinesis:AddTagsToStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:IncreaseStreamRetentionPeriod',
        'kinesis:StartStreamEncryption',
        'kinesis:ListTagsForStream',
      ],
      read: ['kinesis:DescribeStreamSummary', 'kinesis:ListTagsForStream', 'kinesis:DescribeLimits'],
      update: [
        'kinesis:IncreaseStreamRetentionPeriod',
        'kinesis:DecreaseStreamRetentionPeriod',
        'kinesis:StartStreamEncryption',
        'kinesis:DescribeStreamSummary',
        'kinesis:AddTagsToStream',
        'kinesis:RemoveTagsFromStream',
      ],
      // The provider waits for the stream to be gone.
      delete: ['kinesis:DeleteStream', 'kinesis:DescribeStreamSummary'],
    },
    // StartStreamEncryption on the key too: the AWS managed key's id is KMS's, so any key of the region.
    also: (r) => [
      {
        phases: { create: ['kinesis:StartStreamEncryption'], update: ['kinesis:StartStreamEncryption'] },
        resources: [r.arn('kms', r.region, 'key/*')],
      },
    ],
  },

  // --- Route 53 ---------------------------------------------------------------------------------
  aws_route53_record: {
    arns: (r) => [hostedZone(r.value('zone_id'))],
    actions: { create: ['route53:GetHostedZone'], read: ['route53:ListResourceRecordSets', 'route53:GetHostedZone'] },
    // Only the record names this stack manages, not the rest of the zone.
    conditional: {
      actions: {
        create: ['route53:ChangeResourceRecordSets'],
        update: ['route53:ChangeResourceRecordSets'],
        delete: ['route53:ChangeResourceRecordSets'],
      },
      condition: recordNames,
    },
    // Every change waits for INSYNC; changes have ids, not names.
    also: () => [
      {
        phases: { create: ['route53:GetChange'], update: ['route53:GetChange'], delete: ['route53:GetChange'] },
        resources: [`arn:${PARTITION}:route53:::change/*`],
      },
    ],
  },
  aws_route53_health_check: {
    arns: () => [`arn:${PARTITION}:route53:::healthcheck/*`],
    actions: {
      create: ['route53:CreateHealthCheck', 'route53:ChangeTagsForResource', 'route53:GetHealthCheck'],
      read: ['route53:GetHealthCheck', 'route53:ListTagsForResource'],
      update: ['route53:UpdateHealthCheck', 'route53:ChangeTagsForResource'],
      delete: ['route53:DeleteHealthCheck'],
    },
  },

  // --- ACM --------------------------------------------------------------------------------------
  aws_acm_certificate: {
    arns: (r) => [r.arn('acm', r.region, 'certificate/*')],
    actions: {
      // The provider requests the certificate with its tags: RequestCertificate and AddTagsToCertificate.
      create: ['acm:RequestCertificate', 'acm:AddTagsToCertificate', 'acm:DescribeCertificate'],
      read: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      update: ['acm:AddTagsToCertificate', 'acm:RemoveTagsFromCertificate', 'acm:UpdateCertificateOptions'],
      delete: ['acm:DeleteCertificate'],
    },
  },
  aws_acm_certificate_validation: {
    arns: (r) => [r.arn('acm', r.region, 'certificate/*')],
    actions: { create: ['acm:DescribeCertificate'], read: ['acm:DescribeCertificate'] },
  },
};

export const DATA_SOURCE_PERMISSIONS: Readonly<Record<string, ResourcePermissions>> = {
  // STS GetCallerIdentity needs no permission; the partition and policy documents are computed locally.
  aws_caller_identity: NO_AWS_PERMISSIONS,
  aws_partition: NO_AWS_PERMISSIONS,
  // A version of a function the stacks create, read at plan time (the build the alias serves):
  // GetFunction with a qualifier, and the function's code signing configuration.
  aws_lambda_function: {
    arns: (r) => [lambdaFunction(r, r.scoped('function_name')), lambdaFunction(r, `${r.scoped('function_name')}:*`)],
    actions: { read: ['lambda:GetFunction', 'lambda:GetFunctionCodeSigningConfig'] },
  },
  aws_iam_policy_document: NO_AWS_PERMISSIONS,
  // The key an alias points at (the signal stream's AWS managed key): the provider lists the
  // aliases (ListAliases, which takes no resource), then asks DescribeKey by the alias, which is
  // authorized on the key, an id KMS assigns: any key of the region, but only when the request
  // names this alias (kms:RequestAlias, which the reference gives DescribeKey).
  aws_kms_alias: {
    arns: (r) => [r.arn('kms', r.region, 'key/*')],
    actions: { read: ['kms:ListAliases'] },
    conditional: {
      actions: { read: ['kms:DescribeKey'] },
      condition: (r) => ({ operator: 'StringEquals', key: 'kms:RequestAlias', values: [r.value('name')] }),
    },
  },
  aws_route53_zone: {
    arns: () => [hostedZone(UNKNOWN)],
    // Looking a zone up by name lists zones first.
    actions: {
      read: [
        'route53:ListHostedZones',
        'route53:ListHostedZonesByName',
        'route53:GetHostedZone',
        'route53:ListTagsForResource',
      ],
    },
  },
  // The other stack's outputs, read through its backend.
  terraform_remote_state: {
    arns: () => [],
    actions: {},
    also: (r) =>
      stateBackendGrants(String(r.body.backend), single(r.body.config) ?? {}, r.address, { write: false, lock: false }),
  },
};

// ---------------------------------------------------------------------------------------------
// The state backend, from each stack's `terraform.backend`

export function stateBackendGrants(
  type: string,
  backend: Block,
  where: string,
  access: { write: boolean; lock: boolean },
): Grant[] {
  if (type === 'local' || type === 'remote') return []; // a file on the runner; Terraform Cloud's own token
  if (type !== 's3')
    throw new Error(
      `${where}: the ${type} state backend has no IAM mapping in scripts/lib/ci-iam/terraform-permissions.ts; add one.`,
    );
  const bucket = s3Bucket(String(backend.bucket));
  const state = `${bucket}/${String(backend.key)}`;
  const grants: Grant[] = [
    { phases: { read: ['s3:ListBucket'] }, resources: [bucket] },
    { phases: { read: ['s3:GetObject'], ...(access.write ? { update: ['s3:PutObject'] } : {}) }, resources: [state] },
  ];
  // S3-native locking (use_lockfile): an apply writes and removes `<key>.tflock`. Plans run with
  // -lock=false (the workflows set TF_CLI_ARGS_plan), so the read-only plan role needs no write.
  if (access.lock && backend.use_lockfile === true)
    grants.push({
      phases: { read: ['s3:GetObject'], update: ['s3:PutObject', 's3:DeleteObject'] },
      resources: [`${state}.tflock`],
    });
  return grants;
}

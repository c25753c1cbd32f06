/**
 * The CI roles' IAM policies, derived from the synthesized stacks instead of written by hand.
 *
 * RESOURCE_PERMISSIONS says, for every resource type the stacks create, which IAM actions
 * Terraform's AWS provider needs to create, refresh, update and delete it, and on which ARN; each
 * resource's name and region in the Terraform JSON fill the ARN in. The deploy role gets every
 * phase, plus what `npm run upload`, `backfill`, `verify-edge`, `rollout wait` and `cleanup` send (SCRIPT_CALLS) and the
 * state backend; the plan role gets the `read` phase and a read of the state backend. A resource or
 * data source type the tables do not know stops the generator: a resource added to the stacks can
 * never deploy with permissions nobody thought about.
 *
 * Where the action lists come from: the Terraform AWS provider's resource documentation and source
 * (which API calls a resource makes, including waiters and tag reads), the AWS Service
 * Authorization Reference (which IAM action and resource type each call is authorized as), and the
 * service guides named at the entries that need more than their own API (Lambda@Edge, API Gateway
 * access logs, CloudFront standard logs, the S3 state backend).
 *
 * Pure: Terraform JSON and a config in, policy documents out (`npm run names -- --iam` synthesizes
 * the stacks and prints them).
 */
import type { DeployConfig } from '../../config';
import { resourceNames } from '../../config';
import { blocks, dataSources, find, isBlock, resources, single, type Block, type Element, type Json, type SynthStack, type TerraformJson } from '../../stacks/policy/terraform-json';
import { ASSETS_PREFIX, BUILDS_PREFIX } from '../../contracts/bucket-layout';

export const ACCOUNT_PLACEHOLDER = '<account>';
/** Every ARN here is in the commercial partition; the stacks themselves read theirs at plan time. */
const PARTITION = 'aws';
/** What Terraform learns only at apply (ids, computed names): the ARN part it fills matches anything. */
const UNKNOWN = '*';

export type Phase = 'create' | 'read' | 'update' | 'delete';
export const PHASES: readonly Phase[] = ['create', 'read', 'update', 'delete'];
export type Phases = Readonly<Partial<Record<Phase, readonly string[]>>>;

/** `{ operator: { key: values } }`, one operator and one key: all this generator writes. */
export interface Condition {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

/** Actions (by phase) allowed on resources, optionally under a condition. */
export interface Grant {
  readonly phases: Phases;
  readonly resources: readonly string[];
  readonly condition?: Condition;
}

/** One resource of the synthesized JSON, as the permission tables see it. */
export interface ResourceView {
  readonly type: string;
  readonly address: string;
  readonly body: Block;
  /** Its provider's region; `*` when the JSON names none (a wider grant, never a missing one). */
  readonly region: string;
  /** The attribute with `${…}` references resolved where the JSON knows the value; `*` where only apply does. */
  value(attribute: string): string;
  /** value(), narrowed to the distribution's name prefix (`<name>-…` → `<name>-*`). */
  scoped(attribute: string): string;
  /** The resource an attribute (or a value) refers to, as `${type.name.attr}`. */
  target(attribute: string): ResourceView | undefined;
  targetOf(value: Json | undefined): ResourceView | undefined;
  /** Another resource of the same stack, by address. */
  lookup(address: string): ResourceView | undefined;
  /** `arn:aws:<service>:<region>:<account>:<resource>`; region '' for global services. */
  arn(service: string, region: string, resource: string): string;
}

export interface ResourcePermissions {
  /** The resource's own ARN patterns: `actions` and `conditional` apply to these. */
  readonly arns: (r: ResourceView) => readonly string[];
  readonly actions: Phases;
  /** Actions on the same ARNs that a condition narrows further. */
  readonly conditional?: { readonly actions: Phases; readonly condition: (r: ResourceView) => Condition };
  /** Actions that take no resource ARN, so IAM only accepts them on `*`. */
  readonly unscoped?: Phases;
  /** What creating or changing it needs on other resources: a role it passes, functions it replicates. */
  readonly also?: (r: ResourceView) => readonly Grant[];
}

const NO_AWS_PERMISSIONS: ResourcePermissions = { arns: () => [], actions: {} };

// ---------------------------------------------------------------------------------------------
// ARN builders shared by the tables

const s3Bucket = (name: string) => `arn:${PARTITION}:s3:::${name}`;
const lambdaFunction = (r: ResourceView, name: string) => r.arn('lambda', r.region, `function:${name}`);
/** API Gateway ARNs carry the API's id, never its name, and no account. */
const apiGateway = (r: ResourceView, path: string) => `arn:${PARTITION}:apigateway:${r.region}::${path}`;
const cloudFront = (r: ResourceView, resource: string) => r.arn('cloudfront', '', resource);
/** The hosted zone a record lives in: its id when the JSON has it, any zone when it is looked up at plan time. */
const hostedZone = (zoneId: string) => `arn:${PARTITION}:route53:::hostedzone/${zoneId}`;

/** The bucket a bucket-level resource (`bucket = aws_s3_bucket.x.id`) belongs to. */
const ownBucket = (r: ResourceView) => [s3Bucket(r.scoped('bucket'))];
/** Resources whose Lambda actions are authorized on the function (`function_name = aws_lambda_function.x.function_name`). */
const ownFunction = (r: ResourceView) => [lambdaFunction(r, r.scoped('function_name'))];

/** An S3 bucket sub-resource: one Put action creates, changes and removes it (S3 has no Delete action for most of them). */
function bucketSetting(put: string, get: string): ResourcePermissions {
  return { arns: ownBucket, actions: { create: [put], read: [get], update: [put], delete: [put] } };
}

function passRole(r: ResourceView, attribute: string, service: string): Grant {
  const role = r.target(attribute);
  const arn = role ? r.arn('iam', '', `role${role.body.path ?? '/'}${role.scoped('name')}`) : r.value(attribute);
  return { phases: { create: ['iam:PassRole'], update: ['iam:PassRole'] }, resources: [arn], condition: { operator: 'StringEquals', key: 'iam:PassedToService', values: [service] } };
}

/** Lambda@Edge: CloudFront replicates the associated versions with the caller's permissions. */
function edgeReplication(r: ResourceView): Grant[] {
  const behaviors = [...blocks(r.body.default_cache_behavior), ...blocks(r.body.ordered_cache_behavior)];
  const functions = behaviors.flatMap((behavior) => blocks(behavior.lambda_function_association)).map((association) => r.targetOf(association.lambda_arn));
  if (functions.length === 0) return [];
  const changes = ['lambda:GetFunction', 'lambda:EnableReplication*', 'lambda:DisableReplication*'];
  return [
    {
      phases: { create: changes, update: changes, delete: changes },
      // Versions: CloudFront associates `function:<name>:<version>`.
      resources: functions.map((fn) => (fn ? lambdaFunction(fn, `${fn.scoped('function_name')}:*`) : r.arn('lambda', 'us-east-1', `function:${UNKNOWN}`))),
    },
    {
      // Created once per account, by the first distribution with Lambda@Edge (CloudFront guide,
      // "Service-linked roles for Lambda@Edge").
      phases: { create: ['iam:CreateServiceLinkedRole'], update: ['iam:CreateServiceLinkedRole'] },
      // The condition names the two services; the path alone is every service-linked role.
      resources: [r.arn('iam', '', 'role/aws-service-role/*')],
      condition: { operator: 'StringEquals', key: 'iam:AWSServiceName', values: ['replicator.lambda.amazonaws.com', 'logger.cloudfront.amazonaws.com'] },
    },
  ];
}

/** Names a record change may touch: route53:ChangeResourceRecordSetsNormalizedRecordNames values. */
function recordNames(r: ResourceView): Condition {
  let name = r.value('name').toLowerCase().replace(/\.$/, '');
  if (name === UNKNOWN) {
    // An ACM validation record is named `_<token>.<domain>` only once the certificate exists.
    const certificate = /\b(aws_acm_certificate\.[A-Za-z0-9_-]+)\.domain_validation_options\b/.exec(String(r.body.name));
    const domain = certificate ? r.lookup(certificate[1])?.value('domain_name') : undefined;
    if (domain) name = `*.${domain.toLowerCase()}`;
  }
  return { operator: 'ForAllValues:StringLike', key: 'route53:ChangeResourceRecordSetsNormalizedRecordNames', values: [name] };
}

// ---------------------------------------------------------------------------------------------
// What each resource type needs. Tag actions sit in create (the provider tags on create, and the
// stacks' providers set default tags on everything), read (it refreshes tags) and update.

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
  aws_s3_bucket_policy: { arns: ownBucket, actions: { create: ['s3:PutBucketPolicy'], read: ['s3:GetBucketPolicy'], update: ['s3:PutBucketPolicy'], delete: ['s3:DeleteBucketPolicy'] } },
  aws_s3_bucket_lifecycle_configuration: bucketSetting('s3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration'),
  aws_s3_bucket_ownership_controls: bucketSetting('s3:PutBucketOwnershipControls', 's3:GetBucketOwnershipControls'),
  aws_s3_bucket_public_access_block: bucketSetting('s3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock'),
  aws_s3_bucket_server_side_encryption_configuration: bucketSetting('s3:PutEncryptionConfiguration', 's3:GetEncryptionConfiguration'),
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
      const webAcl = r.target('web_acl_id');
      // CloudFront reads the web ACL it is told to attach with the caller's credentials.
      if (webAcl) grants.push({ phases: { create: ['wafv2:GetWebACL'], update: ['wafv2:GetWebACL'] }, resources: RESOURCE_PERMISSIONS.aws_wafv2_web_acl.arns(webAcl) });
      const logBucket = r.targetOf(single(r.body.logging_config)?.bucket);
      if (logBucket) {
        // Standard logs: CloudFront grants its log-delivery account an ACL on the bucket, as the caller
        // (CloudFront guide, "Permissions required to configure standard logging").
        grants.push({ phases: { create: ['s3:GetBucketAcl', 's3:PutBucketAcl'], update: ['s3:GetBucketAcl', 's3:PutBucketAcl'] }, resources: [s3Bucket(logBucket.scoped('bucket'))] });
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
    actions: { create: ['cloudfront:CreateCachePolicy'], read: ['cloudfront:GetCachePolicy'], update: ['cloudfront:UpdateCachePolicy'], delete: ['cloudfront:DeleteCachePolicy'] },
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
      delete: ['cloudfront:DeleteKeyValueStore', 'cloudfront:DescribeKeyValueStore'],
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

  // --- Lambda -----------------------------------------------------------------------------------
  aws_lambda_function: {
    arns: (r) => [lambdaFunction(r, r.scoped('function_name'))],
    actions: {
      // Tags on create are authorized as TagResource; publish = true lists versions to find the new one.
      create: ['lambda:CreateFunction', 'lambda:TagResource', 'lambda:GetFunction', 'lambda:ListVersionsByFunction', 'lambda:PublishVersion'],
      read: ['lambda:GetFunction', 'lambda:GetFunctionCodeSigningConfig', 'lambda:ListVersionsByFunction'],
      update: ['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:GetFunctionConfiguration', 'lambda:PublishVersion', 'lambda:TagResource', 'lambda:UntagResource'],
      delete: ['lambda:DeleteFunction'],
    },
    also: (r) => [passRole(r, 'role', 'lambda.amazonaws.com')],
  },
  aws_lambda_alias: {
    arns: ownFunction,
    actions: { create: ['lambda:CreateAlias'], read: ['lambda:GetAlias'], update: ['lambda:UpdateAlias'], delete: ['lambda:DeleteAlias'] },
  },
  aws_lambda_permission: {
    arns: ownFunction,
    actions: { create: ['lambda:AddPermission'], read: ['lambda:GetPolicy'], update: ['lambda:AddPermission', 'lambda:RemovePermission'], delete: ['lambda:RemovePermission'] },
  },
  // Invoked once per apply that changes its input or triggers; a refresh and a destroy call nothing.
  aws_lambda_invocation: {
    arns: ownFunction,
    actions: { create: ['lambda:InvokeFunction'], update: ['lambda:InvokeFunction'] },
  },

  // --- IAM --------------------------------------------------------------------------------------
  aws_iam_role: {
    arns: (r) => [r.arn('iam', '', `role${r.body.path ?? '/'}${r.scoped('name')}`)],
    actions: {
      create: ['iam:CreateRole', 'iam:TagRole', 'iam:GetRole'],
      read: ['iam:GetRole', 'iam:ListRoleTags', 'iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies'],
      update: ['iam:UpdateRole', 'iam:UpdateRoleDescription', 'iam:UpdateAssumeRolePolicy', 'iam:TagRole', 'iam:UntagRole'],
      // The provider removes the role from any instance profile before deleting it.
      delete: ['iam:ListInstanceProfilesForRole', 'iam:DeleteRole'],
    },
  },
  aws_iam_role_policy: {
    arns: (r) => RESOURCE_PERMISSIONS.aws_iam_role.arns(r.target('role') ?? r),
    actions: { create: ['iam:PutRolePolicy'], read: ['iam:GetRolePolicy'], update: ['iam:PutRolePolicy'], delete: ['iam:DeleteRolePolicy'] },
  },
  aws_iam_role_policy_attachment: {
    arns: (r) => RESOURCE_PERMISSIONS.aws_iam_role.arns(r.target('role') ?? r),
    actions: { create: ['iam:AttachRolePolicy'], read: ['iam:ListAttachedRolePolicies'], delete: ['iam:DetachRolePolicy'] },
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
    arns: (r) => [r.arn('codedeploy', r.region, `deploymentgroup:${r.scoped('app_name')}/${r.scoped('deployment_group_name')}`)],
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
    actions: { create: ['codedeploy:CreateDeploymentConfig'], read: ['codedeploy:GetDeploymentConfig'], delete: ['codedeploy:DeleteDeploymentConfig'] },
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
    actions: { create: ['cloudwatch:PutDashboard'], read: ['cloudwatch:GetDashboard'], update: ['cloudwatch:PutDashboard'], delete: ['cloudwatch:DeleteDashboards'] },
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
    also: (r) => [{ phases: { create: ['logs:DescribeLogGroups'], read: ['logs:DescribeLogGroups'] }, resources: [r.arn('logs', r.region, 'log-group:*')] }],
  },
  aws_cloudwatch_event_rule: {
    arns: (r) => [r.arn('events', r.region, `rule/${r.scoped('name')}`)],
    actions: {
      create: ['events:PutRule', 'events:TagResource', 'events:DescribeRule'],
      read: ['events:DescribeRule', 'events:ListTagsForResource'],
      update: ['events:PutRule', 'events:EnableRule', 'events:DisableRule', 'events:TagResource', 'events:UntagResource'],
      delete: ['events:DeleteRule'],
    },
  },
  aws_cloudwatch_event_target: {
    arns: (r) => RESOURCE_PERMISSIONS.aws_cloudwatch_event_rule.arns(r.target('rule') ?? r),
    actions: { create: ['events:PutTargets'], read: ['events:ListTargetsByRule'], update: ['events:PutTargets'], delete: ['events:RemoveTargets'] },
    also: (r) => (r.body.role_arn === undefined ? [] : [passRole(r, 'role_arn', 'events.amazonaws.com')]),
  },

  // --- DynamoDB ---------------------------------------------------------------------------------
  aws_dynamodb_table: {
    arns: (r) => [r.arn('dynamodb', r.region, `table/${r.scoped('name')}`)],
    actions: {
      create: ['dynamodb:CreateTable', 'dynamodb:TagResource', 'dynamodb:DescribeTable', 'dynamodb:UpdateTimeToLive', 'dynamodb:DescribeTimeToLive', 'dynamodb:UpdateContinuousBackups'],
      read: ['dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:DescribeContinuousBackups', 'dynamodb:ListTagsOfResource'],
      update: ['dynamodb:UpdateTable', 'dynamodb:UpdateTimeToLive', 'dynamodb:UpdateContinuousBackups', 'dynamodb:TagResource', 'dynamodb:UntagResource'],
      delete: ['dynamodb:DeleteTable', 'dynamodb:DescribeTable'],
    },
  },

  // --- API Gateway (HTTP API): IAM actions are the HTTP verbs on the API's path -------------------
  aws_apigatewayv2_api: {
    arns: (r) => [apiGateway(r, '/apis*')],
    actions: { create: ['apigateway:POST'], read: ['apigateway:GET'], update: ['apigateway:PATCH'], delete: ['apigateway:DELETE'] },
    // Tags go through /tags/<api arn>.
    also: (r) => [{ phases: { create: ['apigateway:POST'], read: ['apigateway:GET'], update: ['apigateway:POST', 'apigateway:DELETE'] }, resources: [apiGateway(r, '/tags/*')] }],
  },
  aws_apigatewayv2_integration: {
    arns: (r) => [apiGateway(r, '/apis/*')],
    actions: { create: ['apigateway:POST'], read: ['apigateway:GET'], update: ['apigateway:PATCH'], delete: ['apigateway:DELETE'] },
  },
  aws_apigatewayv2_route: {
    arns: (r) => [apiGateway(r, '/apis/*')],
    actions: { create: ['apigateway:POST'], read: ['apigateway:GET'], update: ['apigateway:PATCH'], delete: ['apigateway:DELETE'] },
  },
  aws_apigatewayv2_stage: {
    arns: (r) => [apiGateway(r, '/apis/*')],
    actions: { create: ['apigateway:POST'], read: ['apigateway:GET'], update: ['apigateway:PATCH'], delete: ['apigateway:DELETE'] },
    also: (r) => {
      if (!single(r.body.access_log_settings)) return [];
      // Access logs are a vended log delivery created with the caller's permissions (API Gateway
      // guide, "Permissions for CloudWatch logging" of HTTP APIs). The delivery and the account's
      // log resource policies are no resource an ARN names: `*`.
      const delivery = ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies'];
      return [
        { phases: { create: delivery, update: delivery, delete: delivery }, resources: [UNKNOWN] },
        { phases: { create: ['logs:DescribeLogGroups'], update: ['logs:DescribeLogGroups'] }, resources: [r.arn('logs', r.region, 'log-group:*')] },
      ];
    },
  },

  // --- Route 53 ---------------------------------------------------------------------------------
  aws_route53_record: {
    arns: (r) => [hostedZone(r.value('zone_id'))],
    actions: { create: ['route53:GetHostedZone'], read: ['route53:ListResourceRecordSets', 'route53:GetHostedZone'] },
    // Only the record names this stack manages, not the rest of the zone.
    conditional: { actions: { create: ['route53:ChangeResourceRecordSets'], update: ['route53:ChangeResourceRecordSets'], delete: ['route53:ChangeResourceRecordSets'] }, condition: recordNames },
    // Every change waits for INSYNC; changes have ids, not names.
    also: () => [{ phases: { create: ['route53:GetChange'], update: ['route53:GetChange'], delete: ['route53:GetChange'] }, resources: [`arn:${PARTITION}:route53:::change/*`] }],
  },
  aws_route53_health_check: {
    arns: () => [`arn:${PARTITION}:route53:::healthcheck/*`],
    actions: {
      create: ['route53:ChangeTagsForResource', 'route53:GetHealthCheck'],
      read: ['route53:GetHealthCheck', 'route53:ListTagsForResource'],
      update: ['route53:UpdateHealthCheck', 'route53:ChangeTagsForResource'],
      delete: ['route53:DeleteHealthCheck'],
    },
    // A health check that does not exist yet has no ARN to authorize against.
    unscoped: { create: ['route53:CreateHealthCheck'] },
  },

  // --- ACM --------------------------------------------------------------------------------------
  aws_acm_certificate: {
    arns: (r) => [r.arn('acm', r.region, 'certificate/*')],
    actions: {
      create: ['acm:AddTagsToCertificate', 'acm:DescribeCertificate'],
      read: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      update: ['acm:AddTagsToCertificate', 'acm:RemoveTagsFromCertificate', 'acm:UpdateCertificateOptions'],
      delete: ['acm:DeleteCertificate'],
    },
    // A certificate that was not requested yet has no ARN to authorize against.
    unscoped: { create: ['acm:RequestCertificate'] },
  },
  aws_acm_certificate_validation: {
    arns: (r) => [r.arn('acm', r.region, 'certificate/*')],
    actions: { create: ['acm:DescribeCertificate'], read: ['acm:DescribeCertificate'] },
  },

  // --- WAF (only with metrics.rateLimit.enabled) --------------------------------------------------
  aws_wafv2_web_acl: {
    arns: (r) => [r.arn('wafv2', r.region, `${r.value('scope') === 'CLOUDFRONT' ? 'global' : 'regional'}/webacl/${r.scoped('name')}/*`)],
    actions: {
      create: ['wafv2:CreateWebACL', 'wafv2:TagResource', 'wafv2:GetWebACL'],
      read: ['wafv2:GetWebACL', 'wafv2:ListTagsForResource'],
      update: ['wafv2:UpdateWebACL', 'wafv2:GetWebACL', 'wafv2:TagResource', 'wafv2:UntagResource'],
      // Deleting needs the lock token GetWebACL returns.
      delete: ['wafv2:GetWebACL', 'wafv2:DeleteWebACL'],
    },
  },

  // Generated by the random provider: no AWS call.
  random_password: NO_AWS_PERMISSIONS,
};

export const DATA_SOURCE_PERMISSIONS: Readonly<Record<string, ResourcePermissions>> = {
  // STS GetCallerIdentity needs no permission; the partition and policy documents are computed locally.
  aws_caller_identity: NO_AWS_PERMISSIONS,
  aws_partition: NO_AWS_PERMISSIONS,
  aws_iam_policy_document: NO_AWS_PERMISSIONS,
  aws_route53_zone: {
    arns: () => [hostedZone(UNKNOWN)],
    actions: { read: ['route53:GetHostedZone', 'route53:ListTagsForResource'] },
    // Looking a zone up by name lists zones: no zone ARN yet.
    unscoped: { read: ['route53:ListHostedZones', 'route53:ListHostedZonesByName'] },
  },
  // The other stack's outputs, read through its backend.
  terraform_remote_state: {
    arns: () => [],
    actions: {},
    also: (r) => stateBackendGrants(String(r.body.backend), single(r.body.config) ?? {}, r.address, { write: false, lock: false }),
  },
};

// ---------------------------------------------------------------------------------------------
// The state backend, from each stack's `terraform.backend`

function stateBackendGrants(type: string, backend: Block, where: string, access: { write: boolean; lock: boolean }): Grant[] {
  if (type === 'local' || type === 'remote') return []; // a file on the runner; Terraform Cloud's own token
  if (type !== 's3') throw new Error(`${where}: the ${type} state backend has no IAM mapping in scripts/lib/ci-iam.ts; add one.`);
  const bucket = s3Bucket(String(backend.bucket));
  const state = `${bucket}/${String(backend.key)}`;
  const grants: Grant[] = [
    { phases: { read: ['s3:ListBucket'] }, resources: [bucket] },
    { phases: { read: ['s3:GetObject'], ...(access.write ? { update: ['s3:PutObject'] } : {}) }, resources: [state] },
  ];
  // S3-native locking (use_lockfile): an apply writes and removes `<key>.tflock`. Plans run with
  // -lock=false (the workflows set TF_CLI_ARGS_plan), so the read-only plan role needs no write.
  if (access.lock && backend.use_lockfile === true) grants.push({ phases: { read: ['s3:GetObject'], update: ['s3:PutObject', 's3:DeleteObject'] }, resources: [`${state}.tflock`] });
  return grants;
}

// ---------------------------------------------------------------------------------------------
// What the scripts send

export type CiScript = 'upload' | 'rollout wait' | 'cleanup' | 'backfill' | 'verify-edge';

interface ScriptTargets {
  readonly buckets: readonly string[];
  /** Everything the upload writes: assets/… and builds/… */
  readonly buildObjects: readonly string[];
  readonly assetObjects: readonly string[];
  readonly manifestObjects: readonly string[];
  readonly entryRouter: readonly string[];
  readonly rolloutStore: readonly string[];
  readonly deploymentGroup: readonly string[];
  readonly alarms: readonly string[];
  /** The viewer-assignment function's twin verify-edge tests code in. */
  readonly checkFunction: readonly string[];
}

export interface ScriptCall {
  readonly scripts: readonly CiScript[];
  /** The SDK command the script sends. */
  readonly command: string;
  readonly action: string;
  readonly on: (targets: ScriptTargets) => readonly string[];
}

/**
 * scripts/upload.ts, scripts/backfill.ts, scripts/verify-edge.ts, scripts/cleanup.ts and `rollout
 * wait` (scripts/lib/rollout-wait.ts, which reads what `rollout status` reads); STS
 * GetCallerIdentity, which the rollout commands send first, needs no permission.
 */
export const SCRIPT_CALLS: readonly ScriptCall[] = [
  { scripts: ['upload', 'cleanup', 'backfill'], command: 'S3 ListObjectsV2', action: 's3:ListBucket', on: (t) => t.buckets },
  // HeadObject is authorized as GetObject.
  { scripts: ['upload', 'backfill'], command: 'S3 HeadObject / GetObject', action: 's3:GetObject', on: (t) => t.buildObjects },
  { scripts: ['upload', 'backfill'], command: 'S3 PutObject (SSE-S3, no KMS)', action: 's3:PutObject', on: (t) => t.buildObjects },
  // Cleanup announces itself with a marker under builds/ before deleting, and removes it after.
  { scripts: ['cleanup'], command: 'S3 PutObject (cleanup marker)', action: 's3:PutObject', on: (t) => t.manifestObjects },
  { scripts: ['cleanup'], command: 'S3 GetObject', action: 's3:GetObject', on: (t) => t.manifestObjects },
  { scripts: ['cleanup'], command: 'S3 DeleteObject', action: 's3:DeleteObject', on: (t) => t.manifestObjects },
  { scripts: ['cleanup'], command: 'S3 DeleteObjects', action: 's3:DeleteObject', on: (t) => t.assetObjects },
  { scripts: ['rollout wait', 'cleanup'], command: 'Lambda GetAlias', action: 'lambda:GetAlias', on: (t) => t.entryRouter },
  { scripts: ['rollout wait', 'cleanup'], command: 'Lambda GetFunctionConfiguration', action: 'lambda:GetFunctionConfiguration', on: (t) => t.entryRouter },
  { scripts: ['rollout wait'], command: 'CloudFront DescribeKeyValueStore', action: 'cloudfront:DescribeKeyValueStore', on: (t) => t.rolloutStore },
  { scripts: ['rollout wait'], command: 'KeyValueStore DescribeKeyValueStore', action: 'cloudfront-keyvaluestore:DescribeKeyValueStore', on: (t) => t.rolloutStore },
  { scripts: ['rollout wait'], command: 'KeyValueStore GetKey', action: 'cloudfront-keyvaluestore:GetKey', on: (t) => t.rolloutStore },
  { scripts: ['rollout wait'], command: 'CodeDeploy ListDeployments', action: 'codedeploy:ListDeployments', on: (t) => t.deploymentGroup },
  { scripts: ['rollout wait'], command: 'CodeDeploy GetDeployment', action: 'codedeploy:GetDeployment', on: (t) => t.deploymentGroup },
  { scripts: ['rollout wait'], command: 'CodeDeploy GetDeploymentGroup', action: 'codedeploy:GetDeploymentGroup', on: (t) => t.deploymentGroup },
  { scripts: ['rollout wait'], command: 'CloudWatch DescribeAlarms', action: 'cloudwatch:DescribeAlarms', on: (t) => t.alarms },
  { scripts: ['verify-edge'], command: 'CloudFront DescribeFunction', action: 'cloudfront:DescribeFunction', on: (t) => t.checkFunction },
  { scripts: ['verify-edge'], command: 'CloudFront UpdateFunction', action: 'cloudfront:UpdateFunction', on: (t) => t.checkFunction },
  { scripts: ['verify-edge'], command: 'CloudFront TestFunction', action: 'cloudfront:TestFunction', on: (t) => t.checkFunction },
  { scripts: ['verify-edge'], command: 'CloudFront DescribeKeyValueStore', action: 'cloudfront:DescribeKeyValueStore', on: (t) => t.rolloutStore },
  { scripts: ['verify-edge'], command: 'KeyValueStore GetKey', action: 'cloudfront-keyvaluestore:GetKey', on: (t) => t.rolloutStore },
];

/** Where the rollout CLI and cleanup look (ROLLOUT_REGION, cleanup's Lambda client): the entry router, CodeDeploy, the alarms. */
export const SCRIPTS_REGION = 'us-east-1';

function scriptTargets(config: DeployConfig, account: string): ScriptTargets {
  const names = resourceNames(config);
  const buckets = config.regions.map((region) => s3Bucket(names.bucket(region)));
  // Objects of every replica bucket in one pattern: `<name>-*-<domain hash>` is this distribution's
  // naming scheme only (its access-log bucket ends `-access-logs` and stays out), and one pattern
  // instead of two per region keeps the policy under IAM's size limit.
  const objectsOf = s3Bucket(names.bucket('*'));
  const arn = (service: string, region: string, resource: string) => `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;
  const assetObjects = [`${objectsOf}/${ASSETS_PREFIX}*`];
  const manifestObjects = [`${objectsOf}/${BUILDS_PREFIX}*`];
  const entryRouter = arn('lambda', SCRIPTS_REGION, `function:${names.entryRouter}`);
  return {
    buckets,
    buildObjects: [...assetObjects, ...manifestObjects],
    assetObjects,
    manifestObjects,
    // The alias and the versions are qualified ARNs of the same function.
    entryRouter: [entryRouter, `${entryRouter}:*`],
    rolloutStore: [arn('cloudfront', '', 'key-value-store/*')],
    deploymentGroup: [arn('codedeploy', SCRIPTS_REGION, `deploymentgroup:${names.codeDeployApplication}/${names.deploymentGroup}`)],
    alarms: [names.clientErrorAlarm, names.edgeErrorAlarm].map((alarm) => arn('cloudwatch', SCRIPTS_REGION, `alarm:${alarm}`)),
    checkFunction: [arn('cloudfront', '', `function/${names.viewerAssignmentCheck}`)],
  };
}

// ---------------------------------------------------------------------------------------------
// The generator

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

export interface CiRolePolicies {
  /** `cdktf deploy` of both stacks, `npm run upload`, `backfill`, `verify-edge`, `rollout wait` and `cleanup`. */
  readonly deployRole: PolicyDocument;
  /** `terraform plan` of both stacks (every resource refreshed) and reading their state. */
  readonly planRole: PolicyDocument;
}

export interface CiIamOptions {
  /** @default '<account>' (a placeholder to replace) */
  readonly account?: string;
}

/** What every resource and data source of the stacks needs, and the state backends. */
export function stackGrants(stacks: readonly SynthStack[], config: Pick<DeployConfig, 'name'>, account: string = ACCOUNT_PLACEHOLDER): Grant[] {
  const grants: Grant[] = [];
  const unknown: string[] = [];
  for (const stack of stacks) {
    const views = new ResourceViews(stack.json, config.name, account);
    for (const [elements, table, kind] of [
      [resources(stack.json), RESOURCE_PERMISSIONS, 'resource'],
      [dataSources(stack.json), DATA_SOURCE_PERMISSIONS, 'data source'],
    ] as const) {
      for (const element of elements) {
        const permissions = table[element.type];
        if (!permissions) {
          unknown.push(`${kind} type ${element.type} (${stack.name}: ${element.address})`);
          continue;
        }
        grants.push(...grantsOf(permissions, views.of(element)));
      }
    }
    const backend = stack.json.terraform?.backend;
    for (const [type, block] of Object.entries(isBlock(backend) ? backend : {})) {
      grants.push(...stateBackendGrants(type, single(block) ?? {}, `${stack.name} backend`, { write: true, lock: true }));
    }
  }
  if (unknown.length > 0) {
    throw new Error(`No IAM permissions are known for ${[...new Set(unknown)].join(', ')}: add the type to RESOURCE_PERMISSIONS or DATA_SOURCE_PERMISSIONS in scripts/lib/ci-iam.ts.`);
  }
  return grants;
}

export function grantsOf(permissions: ResourcePermissions, r: ResourceView): Grant[] {
  const grants: Grant[] = [];
  const arns = permissions.arns(r);
  if (arns.length > 0) {
    grants.push({ phases: permissions.actions, resources: arns });
    if (permissions.conditional) grants.push({ phases: permissions.conditional.actions, resources: arns, condition: permissions.conditional.condition(r) });
  }
  if (permissions.unscoped) grants.push({ phases: permissions.unscoped, resources: [UNKNOWN] });
  grants.push(...(permissions.also?.(r) ?? []));
  return grants;
}

export function scriptGrants(config: DeployConfig, account: string = ACCOUNT_PLACEHOLDER): Grant[] {
  const targets = scriptTargets(config, account);
  // Only the deploy role gets these; they count as updates of a deployed distribution.
  return SCRIPT_CALLS.map((call) => ({ phases: { update: [call.action] }, resources: call.on(targets) }));
}

export function ciRolePolicies(stacks: readonly SynthStack[], config: DeployConfig, options: CiIamOptions = {}): CiRolePolicies {
  const account = options.account ?? ACCOUNT_PLACEHOLDER;
  const stackNeeds = stackGrants(stacks, config, account);
  return {
    deployRole: policyDocument([...stackNeeds, ...scriptGrants(config, account)], PHASES),
    planRole: policyDocument(stackNeeds, ['read']),
  };
}

/** IAM's limit on one customer managed policy, counted without whitespace. */
export const MANAGED_POLICY_SIZE_LIMIT = 6144;

export function policySize(document: PolicyDocument): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

/**
 * The document as consecutive parts that each fit one managed policy: a precise deploy role is
 * longer than one (10 managed policies may be attached to a role by default).
 */
export function splitPolicy(document: PolicyDocument, limit: number = MANAGED_POLICY_SIZE_LIMIT): PolicyDocument[] {
  const parts: PolicyStatement[][] = [];
  for (const statement of document.Statement) {
    const current = parts[parts.length - 1];
    if (current && policySize({ Version: document.Version, Statement: [...current, statement] }) <= limit) current.push(statement);
    else parts.push([statement]);
  }
  return parts.map((statements) => ({ Version: document.Version, Statement: statements }));
}

/** Merges grants into as few statements as keep every action on exactly its resources. */
export function policyDocument(grants: readonly Grant[], phases: readonly Phase[]): PolicyDocument {
  // condition signature → action → resources
  const byCondition = new Map<string, { condition?: Condition; resources: Map<string, Set<string>> }>();
  const conditionValues = new Map<string, Set<string>>();
  for (const grant of grants) {
    const actions = phases.flatMap((phase) => grant.phases[phase] ?? []);
    if (actions.length === 0 || grant.resources.length === 0) continue;
    // Conditions on one key merge their values, so every record name of a zone lands in one statement.
    const signature = grant.condition ? `${grant.condition.operator} ${grant.condition.key}` : '';
    if (grant.condition) {
      const values = conditionValues.get(signature) ?? new Set<string>();
      for (const value of grant.condition.values) values.add(value);
      conditionValues.set(signature, values);
    }
    const group = byCondition.get(signature) ?? { condition: grant.condition, resources: new Map() };
    byCondition.set(signature, group);
    for (const action of actions) {
      const set = group.resources.get(action) ?? new Set<string>();
      for (const resource of grant.resources) set.add(resource);
      group.resources.set(action, set);
    }
  }

  const statements: Omit<PolicyStatement, 'Sid'>[] = [];
  for (const [signature, group] of byCondition) {
    const statementsOf = new Map<string, { actions: string[]; resources: string[] }>();
    for (const [action, set] of group.resources) {
      const resourceList = set.has(UNKNOWN) ? [UNKNOWN] : withoutCovered([...set]).sort();
      const key = `${serviceOf(action)} ${resourceList.join(' ')}`;
      const statement = statementsOf.get(key) ?? { actions: [], resources: resourceList };
      statement.actions.push(action);
      statementsOf.set(key, statement);
    }
    const condition = group.condition ? { [group.condition.operator]: { [group.condition.key]: [...conditionValues.get(signature)!].sort() } } : undefined;
    for (const { actions, resources: resourceList } of mergeAcrossResourceTypes([...statementsOf.values()])) {
      statements.push({ Effect: 'Allow', Action: [...new Set(actions)].sort(), Resource: resourceList, ...(condition ? { Condition: condition } : {}) });
    }
  }
  statements.sort((a, b) => compare(serviceOf(a.Action[0]), serviceOf(b.Action[0])) || compare(Boolean(a.Condition), Boolean(b.Condition)) || compare(a.Resource.join(' '), b.Resource.join(' ')));
  const seen = new Map<string, number>();
  return {
    Version: '2012-10-17',
    Statement: statements.map((statement) => {
      const base = sidOf(serviceOf(statement.Action[0]));
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { Sid: n === 1 ? base : `${base}${n}`, ...statement };
    }),
  };
}

/**
 * Joins statements of one service whose resources are of different types (a distribution and a
 * cache policy, an alarm and a dashboard): IAM authorizes each action against its own resource
 * type, so CreateCachePolicy on a distribution ARN grants nothing. The policy stays within IAM's
 * size limit without wildcard actions. S3 stays apart (a bucket pattern, `arn:aws:s3:::x-*`, also
 * matches that bucket's objects), and so do tagging actions, which take every type of their service.
 */
function mergeAcrossResourceTypes(statements: readonly { actions: string[]; resources: string[] }[]): { actions: string[]; resources: string[] }[] {
  const merged: { actions: string[]; resources: string[]; types: Set<string> }[] = [];
  for (const statement of statements) {
    const service = serviceOf(statement.actions[0]);
    const types = new Set(statement.resources.map(resourceTypeOf));
    const mergeable = (actions: readonly string[], types: ReadonlySet<string>) => service !== 's3' && !types.has(UNKNOWN) && !actions.some(isTagging);
    const into = mergeable(statement.actions, types) ? merged.find((m) => serviceOf(m.actions[0]) === service && mergeable(m.actions, m.types) && [...types].every((type) => !m.types.has(type))) : undefined;
    if (!into) {
      merged.push({ actions: [...statement.actions], resources: [...statement.resources], types });
      continue;
    }
    into.actions.push(...statement.actions);
    into.resources.push(...statement.resources);
    for (const type of types) into.types.add(type);
  }
  return merged.map(({ actions, resources: list }) => ({ actions, resources: [...new Set(list)].sort() }));
}

/** Tagging actions accept every resource type of their service: merging would spread them. */
function isTagging(action: string): boolean {
  return /Tag/.test(action);
}

/** `arn:aws:cloudwatch:us-east-1:1:alarm:x` → `cloudwatch:alarm`; `*` for `*`. */
function resourceTypeOf(arn: string): string {
  if (arn === UNKNOWN) return UNKNOWN;
  const [, , service, , , ...rest] = arn.split(':');
  const resource = rest.join(':');
  return `${service}:${/^[a-z-]+/i.exec(resource.replace(/^\//, ''))?.[0] ?? resource}`;
}

/** Drops patterns another one of the list already matches (`function:x-*:*` under `function:x-*`). */
function withoutCovered(patterns: readonly string[]): string[] {
  return patterns.filter((pattern) => !patterns.some((other) => other !== pattern && !other.includes('?') && wildcardMatch(other, pattern)));
}

/** IAM's wildcards: `*` any run of characters (`/` and `:` included), `?` one character. */
function wildcardMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}

function serviceOf(action: string): string {
  return action.slice(0, action.indexOf(':'));
}

function sidOf(service: string): string {
  return service
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function compare<T extends string | boolean>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Reading names out of the JSON

/** Attributes Terraform derives from another one the JSON holds (`aws_s3_bucket.x.id` is its name). */
const SAME_AS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  aws_s3_bucket: { id: 'bucket' },
  aws_iam_role: { id: 'name' },
  aws_cloudwatch_event_rule: { id: 'name' },
  aws_cloudwatch_log_group: { id: 'name' },
  aws_lambda_function: { id: 'function_name' },
  aws_dynamodb_table: { id: 'name' },
  aws_codedeploy_app: { id: 'name' },
};

const EXACT_REFERENCE = /^\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/;

class ResourceViews {
  constructor(
    private readonly tf: TerraformJson,
    private readonly name: string,
    private readonly account: string,
  ) {}

  of(element: Element): ResourceView {
    const views = this;
    return {
      type: element.type,
      address: element.address,
      body: element.body,
      region: this.regionOf(element),
      value: (attribute) => this.resolve(element.body[attribute]),
      scoped: (attribute) => this.scope(this.resolve(element.body[attribute])),
      target(attribute) {
        return views.targetOf(element.body[attribute]);
      },
      targetOf: (value) => this.targetOf(value),
      lookup: (address) => {
        const found = find(this.tf, address);
        return found ? this.of(found) : undefined;
      },
      arn: (service, region, resource) => `arn:${PARTITION}:${service}:${region}:${this.account}:${resource}`,
    };
  }

  private targetOf(value: Json | undefined): ResourceView | undefined {
    const match = typeof value === 'string' ? EXACT_REFERENCE.exec(value) : null;
    const element = match ? find(this.tf, match[1]) : undefined;
    return element ? this.of(element) : undefined;
  }

  private regionOf(element: Element): string {
    const provider = element.body.provider;
    if (typeof provider !== 'string' || !provider.startsWith('aws.')) return UNKNOWN;
    const found = (this.tf.provider?.aws ?? []).find((p) => p.alias === provider.slice(4));
    return typeof found?.region === 'string' ? found.region : UNKNOWN;
  }

  /** A string with every `${type.name.attr}` the JSON can answer filled in; anything else is `*`. */
  private resolve(value: Json | undefined, depth = 0): string {
    if (typeof value === 'number') return String(value);
    if (typeof value !== 'string') return value === undefined || value === null ? '' : UNKNOWN;
    return value.replace(/\$\{([^{}]*)\}/g, (_, expression: string) => this.resolveExpression(expression.trim(), depth) ?? UNKNOWN);
  }

  private resolveExpression(expression: string, depth: number): string | undefined {
    const match = /^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)$/.exec(expression);
    const element = match && depth < 8 ? find(this.tf, match[1]) : undefined;
    if (!match || !element) return undefined;
    const attribute = (element.address.startsWith('data.') ? undefined : SAME_AS[element.type]?.[match[2]]) ?? match[2];
    const value = element.body[attribute];
    return typeof value === 'string' || typeof value === 'number' ? this.resolve(value, depth + 1) : undefined;
  }

  /** `/aws/lambda/widget-entry-router` → `/aws/lambda/widget-*`: everything of this distribution, nothing of another name. */
  private scope(value: string): string {
    const marker = `${this.name}-`;
    const at = value.indexOf(marker);
    return at < 0 ? value : `${value.slice(0, at + marker.length)}*`;
  }
}

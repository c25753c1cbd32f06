/**
 * What a `${type.name.attr}` reference in synthesized Terraform JSON resolves to once applied, for
 * IAM: names are in the JSON, ARNs are formed the way AWS forms them for each resource type, and
 * what only AWS knows (a distribution's id, a store's id, another stack's output) is asked of
 * `unknown`. One resolver serves the policy rules (does this statement name the right resource
 * type?), the CI roles' generator (which ARNs, with `*` for what apply decides) and the tests
 * that simulate calls (concrete ARNs in a test account).
 */
import { find, type Element, type Json, type TerraformJson } from './terraform-json';

export interface ArnContext {
  /** The account id, or a placeholder such as `<account>`. */
  readonly account: string;
  /** @default 'aws' */
  readonly partition?: string;
  /**
   * What to put where only AWS or another stack knows the value: an id assigned at creation
   * (`aws_cloudfront_distribution.x.id`), a remote state output. @default `*`
   */
  readonly unknown?: (expression: string, element: Element | undefined) => string;
}

/** Attributes Terraform derives from another one the JSON holds (`aws_s3_bucket.x.id` is its name). */
const SAME_AS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  aws_s3_bucket: { id: 'bucket' },
  aws_iam_role: { id: 'name' },
  aws_iam_policy: { id: 'arn' },
  aws_cloudwatch_event_rule: { id: 'name' },
  aws_cloudwatch_log_group: { id: 'name' },
  aws_lambda_function: { id: 'function_name' },
  aws_dynamodb_table: { id: 'name' },
  aws_codedeploy_app: { id: 'name' },
  aws_cloudfront_function: { id: 'name' },
  aws_cloudfront_key_value_store: { id: 'name' },
  aws_kinesis_stream: { id: 'name' },
};

type ArnOf = (
  element: Element,
  attr: (name: string) => string,
  ctx: Required<Omit<ArnContext, 'unknown'>> & { region: string; assigned: (attribute: string) => string },
) => string;

/**
 * `<type>.arn` (and the ARN-valued attributes named here) as AWS forms it (each service's
 * reference page, "Resource types defined by …"). A type missing here resolves through `unknown`.
 */
const ARNS: Readonly<Record<string, Readonly<Record<string, ArnOf>>>> = {
  aws_s3_bucket: { arn: (_e, a, c) => `arn:${c.partition}:s3:::${a('bucket')}` },
  aws_iam_role: {
    arn: (e, a, c) =>
      `arn:${c.partition}:iam::${c.account}:role${typeof e.body.path === 'string' ? e.body.path : '/'}${a('name')}`,
  },
  aws_lambda_function: {
    arn: (_e, a, c) => `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${a('function_name')}`,
    qualified_arn: (_e, a, c) =>
      `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${a('function_name')}:${c.assigned('version')}`,
    invoke_arn: (_e, a, c) =>
      `arn:${c.partition}:apigateway:${c.region}:lambda:path/2015-03-31/functions/` +
      `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${a('function_name')}/invocations`,
  },
  aws_lambda_alias: {
    arn: (_e, a, c) => `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${a('function_name')}:${a('name')}`,
  },
  aws_cloudwatch_log_group: {
    arn: (_e, a, c) => `arn:${c.partition}:logs:${c.region}:${c.account}:log-group:${a('name')}`,
  },
  aws_cloudwatch_metric_alarm: {
    arn: (_e, a, c) => `arn:${c.partition}:cloudwatch:${c.region}:${c.account}:alarm:${a('alarm_name')}`,
  },
  aws_cloudwatch_event_rule: {
    arn: (_e, a, c) => `arn:${c.partition}:events:${c.region}:${c.account}:rule/${a('name')}`,
  },
  aws_dynamodb_table: { arn: (_e, a, c) => `arn:${c.partition}:dynamodb:${c.region}:${c.account}:table/${a('name')}` },
  aws_kinesis_stream: { arn: (_e, a, c) => `arn:${c.partition}:kinesis:${c.region}:${c.account}:stream/${a('name')}` },
  aws_codedeploy_app: {
    arn: (_e, a, c) => `arn:${c.partition}:codedeploy:${c.region}:${c.account}:application:${a('name')}`,
  },
  aws_codedeploy_deployment_group: {
    arn: (_e, a, c) =>
      `arn:${c.partition}:codedeploy:${c.region}:${c.account}:deploymentgroup:${a('app_name')}/` +
      `${a('deployment_group_name')}`,
  },
  aws_codedeploy_deployment_config: {
    arn: (_e, a, c) =>
      `arn:${c.partition}:codedeploy:${c.region}:${c.account}:deploymentconfig:${a('deployment_config_name')}`,
  },
  aws_cloudfront_distribution: {
    arn: (_e, _a, c) => `arn:${c.partition}:cloudfront::${c.account}:distribution/${c.assigned('id')}`,
  },
  aws_cloudfront_function: { arn: (_e, a, c) => `arn:${c.partition}:cloudfront::${c.account}:function/${a('name')}` },
  aws_cloudfront_realtime_log_config: {
    arn: (_e, a, c) => `arn:${c.partition}:cloudfront::${c.account}:realtime-log-config/${a('name')}`,
  },
  // The store's ARN holds an id CloudFront assigns, not its name.
  aws_cloudfront_key_value_store: {
    arn: (_e, _a, c) => `arn:${c.partition}:cloudfront::${c.account}:key-value-store/${c.assigned('arn')}`,
  },
  aws_cloudfront_origin_access_identity: {
    iam_arn: (_e, _a, c) =>
      `arn:${c.partition}:iam::cloudfront:user/CloudFront Origin Access Identity ${c.assigned('id')}`,
  },
  aws_sns_topic: { arn: (_e, a, c) => `arn:${c.partition}:sns:${c.region}:${c.account}:${a('name')}` },
  // The key an alias points at (the resource and the data source alike): an id KMS assigns.
  aws_kms_alias: {
    target_key_arn: (_e, _a, c) => `arn:${c.partition}:kms:${c.region}:${c.account}:key/${c.assigned('target_key_id')}`,
  },
};

/** The region of an element's provider (`provider = "aws.eu-west-1"`), or undefined. */
function regionOf(tf: TerraformJson, element: Element): string | undefined {
  const provider = element.body.provider;
  if (typeof provider !== 'string' || !provider.startsWith('aws.')) return undefined;
  const found = (tf.provider?.aws ?? []).find((p) => p.alias === provider.slice(4));
  return typeof found?.region === 'string' ? found.region : undefined;
}

/** A value of the JSON with every `${type.name.attr}` it can answer filled in, the rest through `unknown`. */
export function resolveText(tf: TerraformJson, value: Json | undefined, ctx: ArnContext, depth = 0): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string')
    return value === undefined || value === null ? '' : (ctx.unknown ?? (() => '*'))(JSON.stringify(value), undefined);
  return value.replace(/\$\{([^{}]*)\}/g, (_, expression: string) =>
    resolveExpression(tf, expression.trim(), ctx, depth),
  );
}

function resolveExpression(tf: TerraformJson, expression: string, ctx: ArnContext, depth: number): string {
  const unknown = (element?: Element) => (ctx.unknown ?? (() => '*'))(expression, element);
  const [, address, attribute] = /^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)$/.exec(expression) ?? [];
  const element = address !== undefined && depth < 8 ? find(tf, address) : undefined;
  if (address === undefined || attribute === undefined || !element) return unknown();
  const partition = ctx.partition ?? 'aws';
  if (element.type === 'aws_caller_identity' && attribute === 'account_id') return ctx.account;
  if (element.type === 'aws_partition' && attribute === 'partition') return partition;
  if (element.type === 'aws_region' && attribute === 'name') return regionOf(tf, element) ?? unknown(element);
  const attr = (name: string) => resolveText(tf, element.body[name], ctx, depth + 1) || unknown(element);
  const arn = ARNS[element.type]?.[attribute];
  if (arn) {
    const region = regionOf(tf, element) ?? unknown(element);
    return arn(element, attr, {
      account: ctx.account,
      partition,
      region,
      assigned: (name) => (ctx.unknown ?? (() => '*'))(`${address}.${name}`, element),
    });
  }
  const own = element.address.startsWith('data.') ? attribute : (SAME_AS[element.type]?.[attribute] ?? attribute);
  const body = element.body[own];
  return typeof body === 'string' || typeof body === 'number'
    ? resolveText(tf, body, ctx, depth + 1)
    : unknown(element);
}

/**
 * The checkov/tfsec rules that apply to these stacks, re-expressed as plain functions over the
 * synthesized JSON (each returns its violations; none means the stack passes):
 *
 *   buckets      private (all four public access blocks), encrypted, TLS-only bucket policy,
 *                ACLs disabled (but for a CloudFront log bucket), multipart uploads aborted
 *                (checkov CKV_AWS_53-56, CKV_AWS_19, CKV2_AWS_65, CKV_AWS_300; TLS-only from
 *                the AWS S3 security best practices)
 *   iam          no `*` or `service:*` actions, no `*` resource where the action can be scoped
 *                (CKV_AWS_1, CKV_AWS_49, CKV_AWS_355, tfsec aws-iam-no-policy-wildcards); every
 *                statement as AWS's service authorization reference has it: real actions, `*`
 *                exactly for the actions that take no resource, resources of the types each
 *                action takes, condition keys each action supports; every role carries the
 *                permissions boundary the CI deploy role may write roles with
 *   cloudfront   viewers on HTTPS, the TLS floor on a custom domain, HTTPS-only custom origins,
 *                access logging (CKV_AWS_34/86/174, tfsec aws-cloudfront-*)
 *   lambda@edge  us-east-1, no environment, a published numbered version, a runtime and limits
 *                Lambda@Edge accepts, a role edgelambda may assume
 *   logs         every log group has a retention (CKV_AWS_66)
 *   providers    every resource names its provider: no implicit default region
 */
import { EDGE_RUNTIMES } from '../../config';
import { resolveText } from './arns';
import { documentStatements, mapStatement, statementsOf, type Statement } from './iam-policy';
import { conditionKeySupported, patternCanBeType, referenceActions, type ReferenceAction } from './iam-reference';
import { EDGE_LIMITS } from '../constructs/edge-function';
import {
  attachedTo,
  blocks,
  dataSources,
  exactReference,
  find,
  list,
  providerRegion,
  referencesIn,
  resources,
  single,
  strings,
  type Block,
  type Element,
  type SynthStack,
  type TerraformJson,
  type Violation,
} from './terraform-json';

export type Rule = (stack: SynthStack) => Violation[];

/** CloudFront's TLS security policies at or above TLS 1.2 with modern ciphers. */
export const TLS_FLOORS = ['TLSv1.2_2021', 'TLSv1.2_2025', 'TLSv1.3_2025'];

const violation = (rule: string, stack: SynthStack, address: string, message: string): Violation => ({
  rule,
  stack: stack.name,
  address,
  message,
});

// ---------------------------------------------------------------- buckets

const bucketRule =
  (rule: string, check: (tf: TerraformJson, bucket: Element) => string | null): Rule =>
  (stack) =>
    resources(stack.json, 'aws_s3_bucket').flatMap((bucket) => {
      const problem = check(stack.json, bucket);
      return problem ? [violation(rule, stack, bucket.address, problem)] : [];
    });

export const bucketsArePrivate = bucketRule('s3-public-access-blocked', (tf, bucket) => {
  const blocksFor = attachedTo(tf, 'aws_s3_bucket_public_access_block', bucket.address);
  const flags = ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'];
  if (blocksFor.some((b) => flags.every((flag) => b.body[flag] === true))) return null;
  return blocksFor.length === 0
    ? 'has no public access block'
    : `public access block does not set all of ${flags.join(', ')}`;
});

export const bucketsAreEncrypted = bucketRule('s3-encrypted', (tf, bucket) => {
  const algorithms = attachedTo(tf, 'aws_s3_bucket_server_side_encryption_configuration', bucket.address)
    .flatMap((config) => blocks(config.body.rule))
    .map((rule) => single(rule.apply_server_side_encryption_by_default)?.sse_algorithm);
  if (algorithms.length === 0) return 'has no default encryption';
  // Buckets CloudFront reads through an origin access identity must be SSE-S3: OAI cannot use KMS.
  const readByOai = bucketPolicyStatements(tf, bucket).some((s) =>
    s.principals.some((p) => p.identifiers.some((id) => /cloudfront_origin_access_identity/.test(id))),
  );
  if (readByOai && !algorithms.every((a) => a === 'AES256'))
    return 'is read through an origin access identity but is not SSE-S3 (AES256)';
  return algorithms.every((a) => a === 'AES256' || a === 'aws:kms' || a === 'aws:kms:dsse')
    ? null
    : `uses unknown encryption ${algorithms.join(', ')}`;
});

export const bucketsRequireTls = bucketRule('s3-tls-only', (tf, bucket) => {
  const arn = `\${${bucket.address}.arn}`;
  const denies = bucketPolicyStatements(tf, bucket).some(
    (s) =>
      s.effect === 'Deny' &&
      s.actions.some((a) => a === 's3:*' || a === '*') &&
      s.principals.some((p) => p.identifiers.includes('*')) &&
      s.resources.includes(arn) &&
      s.resources.includes(`${arn}/*`) &&
      s.conditions.some((c) => c.test === 'Bool' && c.variable === 'aws:SecureTransport' && c.values.includes('false')),
  );
  return denies
    ? null
    : 'has no bucket policy denying requests without TLS (aws:SecureTransport=false) on the bucket and its objects';
});

export const bucketAclsDisabled = bucketRule('s3-acls-disabled', (tf, bucket) => {
  const ownership = attachedTo(tf, 'aws_s3_bucket_ownership_controls', bucket.address).map(
    (o) => single(o.body.rule)?.object_ownership,
  );
  if (ownership.includes('BucketOwnerEnforced')) return null;
  // CloudFront standard logging delivers through an ACL grant: its log bucket may keep ACLs.
  const isCloudFrontLogBucket = resources(tf, 'aws_cloudfront_distribution').some((d) =>
    referencesIn(single(d.body.logging_config)?.bucket).some((ref) => ref.address === bucket.address),
  );
  if (isCloudFrontLogBucket && ownership.includes('BucketOwnerPreferred')) return null;
  return ownership.length === 0
    ? 'has no ownership controls (ACLs stay enabled)'
    : `object ownership is ${ownership.join(', ')}, not BucketOwnerEnforced`;
});

export const bucketsAbortIncompleteUploads = bucketRule('s3-lifecycle-aborts-multipart', (tf, bucket) => {
  const aborts = attachedTo(tf, 'aws_s3_bucket_lifecycle_configuration', bucket.address)
    .flatMap((config) => blocks(config.body.rule))
    .some((rule) => rule.status === 'Enabled' && blocks(rule.abort_incomplete_multipart_upload).length > 0);
  return aborts ? null : 'has no enabled lifecycle rule aborting incomplete multipart uploads';
});

function bucketPolicyStatements(tf: TerraformJson, bucket: Element): Statement[] {
  return attachedTo(tf, 'aws_s3_bucket_policy', bucket.address).flatMap((policy) =>
    statementsOf(tf, policy.body.policy),
  );
}

// ---------------------------------------------------------------- iam

/** Every policy in the stack, where it is defined, with its statements. */
function policies(tf: TerraformJson): { address: string; statements: Statement[] }[] {
  const literal = (type: string, attribute: string) =>
    resources(tf, type)
      .filter((r) => typeof r.body[attribute] === 'string' && !exactReference(r.body[attribute]))
      .map((r) => ({ address: r.address, statements: statementsOf(tf, r.body[attribute]) }));
  return [
    ...dataSources(tf, 'aws_iam_policy_document').map((d) => ({
      address: d.address,
      statements: documentStatements(d.body),
    })),
    ...literal('aws_iam_role_policy', 'policy'),
    ...literal('aws_iam_policy', 'policy'),
    ...literal('aws_iam_role', 'assume_role_policy'),
    ...literal('aws_s3_bucket_policy', 'policy'),
  ];
}

export const iamNoWildcardActions: Rule = (stack) =>
  policies(stack.json).flatMap(({ address, statements }) =>
    statements
      .filter((s) => s.effect === 'Allow')
      .flatMap((s) => {
        const wildcard = s.actions.filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a));
        const problems = [
          ...(wildcard.length > 0 ? [`allows ${wildcard.join(', ')}`] : []),
          ...(s.notActions.length > 0 ? ['allows everything but NotAction'] : []),
        ];
        return problems.map((problem) => violation('iam-no-wildcard-actions', stack, address, problem));
      }),
  );

/**
 * `Resource: "*"` only where AWS's reference says nothing narrower exists (the action takes no
 * resource), and then in a statement of the stack's own for exactly those actions.
 */
export const iamScopedResources: Rule = (stack) =>
  policies(stack.json).flatMap(({ address, statements }) =>
    statements
      .filter((s) => s.effect === 'Allow' && s.resources.includes('*'))
      .flatMap((s) => {
        const actions = s.actions.map((a) => ({ a, reference: referenceActions(a) }));
        // Some actions take a resource only when the request names one (PutMetricData's dataset);
        // without it IAM sees `*`, which a condition then narrows.
        const optional = (reference: ReferenceAction) => reference.resourceTypes.every((type) => !type.required);
        const scopable = actions
          .filter(({ reference }) => reference.some((action) => !action.takesNoResource && !optional(action)))
          .map(({ a }) => a);
        if (scopable.length > 0)
          return [
            violation(
              'iam-scoped-resources',
              stack,
              address,
              `allows ${scopable.join(', ')} on every resource; name the resources`,
            ),
          ];
        const bare = actions
          .filter(({ reference }) => reference.some((action) => !action.takesNoResource))
          .map(({ a }) => a);
        return bare.length > 0 && s.conditions.length === 0
          ? [violation('iam-scoped-resources', stack, address, `allows ${bare.join(', ')} on * without a condition`)]
          : [];
      }),
  );

/**
 * Every role carries the permissions boundary the CI deploy role may write roles with (the
 * customer managed policy `<name>-permissions-boundary`): a role without it is one the deploy role
 * could not have made, and one that could reach further than the stacks.
 */
export const iamPermissionsBoundary: Rule = (stack) =>
  resources(stack.json, 'aws_iam_role')
    .filter(
      (role) =>
        !(
          typeof role.body.permissions_boundary === 'string' &&
          /:policy\/[A-Za-z0-9+=,.@_-]+-permissions-boundary$/.test(role.body.permissions_boundary)
        ),
    )
    .map((role) =>
      violation(
        'iam-permissions-boundary',
        stack,
        role.address,
        `has no permissions boundary <name>-permissions-boundary (permissions_boundary: ` +
          `${String(role.body.permissions_boundary ?? 'none')})`,
      ),
    );

/**
 * Every statement checked against AWS's service authorization reference (iam-reference.ts), with
 * the stack's references resolved to the ARNs they will have: each action exists; an action that
 * takes no resource is granted on `*` and nowhere else (on an ARN it is silently no grant); any
 * other action names a resource of a type it takes (else it grants nothing); every condition key
 * is one the action supports (else the condition never holds, or holds vacuously).
 */
export const iamMatchesReference: Rule = (stack) =>
  policies(stack.json).flatMap(({ address, statements }) =>
    statements.flatMap((statement) =>
      statementProblems(resolvedStatement(stack.json, statement)).map((problem) =>
        violation('iam-reference', stack, address, problem),
      ),
    ),
  );

/** References filled with the ARNs they will have, in a stand-in account; ids AWS assigns become `unknown`. */
function resolvedStatement(tf: TerraformJson, statement: Statement): Statement {
  return mapStatement(statement, (text) =>
    resolveText(tf, text, { account: '123456789012', unknown: () => 'unknown' }),
  );
}

/**
 * What is wrong with one statement, as the reference sees it (trust policies name no resource: their action is all
 * there is).
 */
export function statementProblems(statement: Statement): string[] {
  const label = statement.sid
    ? `statement ${statement.sid}`
    : `statement on ${[...statement.resources, ...statement.notResources].join(', ') || 'its principal'}`;
  const problems: string[] = [];
  for (const pattern of [...statement.actions, ...statement.notActions]) {
    if (pattern === '*') continue;
    const actions = referenceActions(pattern);
    if (actions.length === 0) {
      problems.push(`${label}: ${pattern} is not an action in AWS's service authorization reference`);
      continue;
    }
    // A wildcard in a Deny (`s3:*`) names whole services: the type check is for what a statement grants.
    if (statement.effect === 'Deny' || statement.notActions.includes(pattern)) continue;
    for (const action of actions) {
      if (statement.resources.length > 0) {
        if (action.takesNoResource && !(statement.resources.length === 1 && statement.resources[0] === '*')) {
          problems.push(
            `${label}: ${action.id} takes no resource, so only Resource "*" grants it: give it a statement ` +
              `of its own on "*"`,
          );
          continue;
        }
        if (
          !action.takesNoResource &&
          !statement.resources.some((resource) => action.resourceTypes.some((type) => patternCanBeType(resource, type)))
        ) {
          problems.push(
            `${label}: none of ${statement.resources.join(', ')} is an ARN of a type ${action.id} takes ` +
              `(${action.resourceTypes.map((t) => t.name).join(', ')}), so it grants nothing`,
          );
          continue;
        }
      }
      const types = action.resourceTypes.filter((type) =>
        statement.resources.some((resource) => patternCanBeType(resource, type)),
      );
      for (const condition of statement.conditions) {
        if (!conditionKeySupported(action, condition.variable, types.length > 0 ? types : action.resourceTypes)) {
          problems.push(
            `${label}: ${action.id} does not support the condition key ${condition.variable}, so ` +
              `${condition.test} on it never holds as written`,
          );
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- cloudfront

function behaviours(distribution: Element): { name: string; body: Block }[] {
  const defaultBehaviour = single(distribution.body.default_cache_behavior);
  return [
    ...(defaultBehaviour ? [{ name: 'default', body: defaultBehaviour }] : []),
    ...blocks(distribution.body.ordered_cache_behavior).map((b) => ({ name: String(b.path_pattern), body: b })),
  ];
}

const distributionRule =
  (rule: string, check: (tf: TerraformJson, distribution: Element) => string[]): Rule =>
  (stack) =>
    resources(stack.json, 'aws_cloudfront_distribution').flatMap((d) =>
      check(stack.json, d).map((problem) => violation(rule, stack, d.address, problem)),
    );

export const cloudfrontHttpsOnly = distributionRule('cloudfront-https-only', (_tf, distribution) => [
  ...behaviours(distribution)
    .filter((b) => !['redirect-to-https', 'https-only'].includes(String(b.body.viewer_protocol_policy)))
    .map((b) => `behaviour ${b.name} lets viewers use ${String(b.body.viewer_protocol_policy)}`),
  ...blocks(distribution.body.origin).flatMap((origin) => {
    const custom = single(origin.custom_origin_config);
    if (!custom) return [];
    const problems: string[] = [];
    if (custom.origin_protocol_policy !== 'https-only')
      problems.push(`origin ${String(origin.origin_id)} is reached over ${String(custom.origin_protocol_policy)}`);
    const weak = strings(custom.origin_ssl_protocols).filter((p) => p !== 'TLSv1.2');
    if (weak.length > 0) problems.push(`origin ${String(origin.origin_id)} accepts ${weak.join(', ')}`);
    return problems;
  }),
]);

export const cloudfrontTlsFloor = distributionRule('cloudfront-tls-floor', (_tf, distribution) => {
  const certificate = single(distribution.body.viewer_certificate) ?? {};
  if (list(distribution.body.aliases).length === 0) {
    // Without a custom domain CloudFront's own certificate serves, whose policy cannot be chosen.
    return certificate.cloudfront_default_certificate === true
      ? []
      : ['serves no alias but does not use the CloudFront certificate'];
  }
  const problems: string[] = [];
  if (!certificate.acm_certificate_arn) problems.push('serves a custom domain without an ACM certificate');
  if (certificate.ssl_support_method !== 'sni-only')
    problems.push(`ssl_support_method is ${String(certificate.ssl_support_method)}, not sni-only`);
  if (!TLS_FLOORS.includes(String(certificate.minimum_protocol_version))) {
    problems.push(
      `minimum_protocol_version is ${String(certificate.minimum_protocol_version)}, below ${TLS_FLOORS[0]}`,
    );
  }
  return problems;
});

export const cloudfrontLogging = distributionRule('cloudfront-logging', (_tf, distribution) =>
  single(distribution.body.logging_config)?.bucket ? [] : ['has no access logging (logging_config.bucket)'],
);

// ---------------------------------------------------------------- lambda@edge

export const lambdaEdgeConstraints: Rule = (stack) => {
  const tf = stack.json;
  return resources(tf, 'aws_cloudfront_distribution').flatMap((distribution) =>
    behaviours(distribution).flatMap((behaviour) =>
      blocks(behaviour.body.lambda_function_association).flatMap((association) => {
        const where = `behaviour ${behaviour.name} (${String(association.event_type)})`;
        const ref = exactReference(association.lambda_arn);
        if (!ref?.address.startsWith('aws_lambda_function.') || ref.attribute !== 'qualified_arn') {
          return [
            violation(
              'lambda-edge',
              stack,
              distribution.address,
              `${where} is not associated with a published version's qualified_arn: ${String(association.lambda_arn)}`,
            ),
          ];
        }
        const fn = find(tf, ref.address);
        if (!fn)
          return [
            violation(
              'lambda-edge',
              stack,
              distribution.address,
              `${where} refers to ${ref.address}, which is not in the stack`,
            ),
          ];
        return edgeFunctionProblems(tf, fn, String(association.event_type)).map((problem) =>
          violation('lambda-edge', stack, fn.address, `${where}: ${problem}`),
        );
      }),
    ),
  );
};

function edgeFunctionProblems(tf: TerraformJson, fn: Element, eventType: string): string[] {
  const body = fn.body;
  const limits = eventType.startsWith('viewer-') ? EDGE_LIMITS.viewer : EDGE_LIMITS.origin;
  const problems: string[] = [];
  const region = providerRegion(tf, fn);
  if (region !== 'us-east-1') problems.push(`is created in ${region ?? 'the default provider region'}, not us-east-1`);
  if (body.environment !== undefined) problems.push('has environment variables');
  if (body.publish !== true) problems.push('does not publish versions');
  if (!(EDGE_RUNTIMES as readonly string[]).includes(String(body.runtime)))
    problems.push(`runtime ${String(body.runtime)} is not one Lambda@Edge accepts`);
  const timeout = typeof body.timeout === 'number' ? body.timeout : 3;
  if (timeout > limits.timeoutSeconds) problems.push(`timeout ${timeout} s exceeds ${limits.timeoutSeconds} s`);
  const memory = typeof body.memory_size === 'number' ? body.memory_size : 128;
  if (memory > limits.memoryMb) problems.push(`memory ${memory} MB exceeds ${limits.memoryMb} MB`);
  if (list(body.layers).length > 0) problems.push('has layers');
  if (body.vpc_config !== undefined) problems.push('runs in a VPC');
  if (strings(body.architectures).some((a) => a !== 'x86_64'))
    problems.push(`architecture ${strings(body.architectures).join(', ')} is not x86_64`);
  const role = exactReference(body.role);
  const trust = role ? find(tf, role.address) : undefined;
  const trusted = trust
    ? statementsOf(tf, trust.body.assume_role_policy).flatMap((s) => s.principals.flatMap((p) => p.identifiers))
    : [];
  if (!trusted.includes('edgelambda.amazonaws.com'))
    problems.push('its role is not assumable by edgelambda.amazonaws.com');
  return problems;
}

// ---------------------------------------------------------------- logs, providers

export const logGroupsHaveRetention: Rule = (stack) =>
  resources(stack.json, 'aws_cloudwatch_log_group')
    .filter((group) => !(typeof group.body.retention_in_days === 'number' && group.body.retention_in_days > 0))
    .map((group) => violation('log-retention', stack, group.address, 'keeps logs forever (no retention_in_days)'));

export const explicitProviders: Rule = (stack) => {
  const declared = new Set((stack.json.provider?.aws ?? []).map((p) => `aws.${String(p.alias)}`));
  return [...resources(stack.json), ...dataSources(stack.json)]
    .filter((element) => element.type.startsWith('aws_'))
    .filter((element) => typeof element.body.provider !== 'string' || !declared.has(element.body.provider))
    .map((element) =>
      violation(
        'explicit-provider',
        stack,
        element.address,
        `uses ${String(element.body.provider ?? 'the default provider')}, not one of ${[...declared].join(', ')}`,
      ),
    );
};

export const POLICY_RULES: Readonly<Record<string, Rule>> = {
  's3-public-access-blocked': bucketsArePrivate,
  's3-encrypted': bucketsAreEncrypted,
  's3-tls-only': bucketsRequireTls,
  's3-acls-disabled': bucketAclsDisabled,
  's3-lifecycle-aborts-multipart': bucketsAbortIncompleteUploads,
  'iam-no-wildcard-actions': iamNoWildcardActions,
  'iam-scoped-resources': iamScopedResources,
  'iam-reference': iamMatchesReference,
  'iam-permissions-boundary': iamPermissionsBoundary,
  'cloudfront-https-only': cloudfrontHttpsOnly,
  'cloudfront-tls-floor': cloudfrontTlsFloor,
  'cloudfront-logging': cloudfrontLogging,
  'lambda-edge': lambdaEdgeConstraints,
  'log-retention': logGroupsHaveRetention,
  'explicit-provider': explicitProviders,
};

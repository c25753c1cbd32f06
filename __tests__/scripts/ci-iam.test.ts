/**
 * The CI roles and the permissions boundary `npm run names -- --iam` prints, checked the way AWS
 * checks them: every call Terraform makes for every resource of the stacks (ci-iam/terraform/)
 * and every call of the scripts (script-calls.json) is simulated with this project's one evaluator
 * (stacks/policy/iam-policy.ts), against the ARNs the resources will have and the keys AWS puts
 * in each request, as AWS's service authorization reference gives them; and the ways from the deploy
 * role to more than the stacks are tried and must be denied. The live-check role gets check-live's
 * reads and nothing else, and its trust policy lets only drift.yml's runs on main assume it (the
 * claims of every other kind of run are tried and must be refused).
 */
import * as path from 'node:path';
import { resourceNames, type DeployConfig } from '../../config';
import {
  ACCOUNT_PLACEHOLDER,
  callsOf,
  ciRolePolicies,
  DATA_SOURCE_PERMISSIONS,
  DEFAULT_BRANCH_REF,
  DISTRIBUTION_TAG,
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_PROVIDER,
  LIVE_CHECK_WORKFLOW,
  liveCheckRoleTrust,
  MANAGED_POLICY_SIZE_LIMIT,
  permissionsBoundaryArn,
  policySize,
  REPOSITORY_PLACEHOLDER,
  RESOURCE_PERMISSIONS,
  SCRIPT_CALLS,
  SCRIPTS_REGION,
  scriptTargets,
  splitPolicy,
  type CiRolePolicies,
  PHASES,
  type Phase,
  type PolicyDocument,
  type ResourcePermissions,
  type TrustPolicyDocument,
} from '../../scripts/lib/ci-iam';
import { isTaggable } from '../../scripts/lib/ci-iam/taggable';
import { assemble } from '../../scripts/lib/ci-iam/terraform';
import { ROLLOUT_REGION } from '../../scripts/rollout-commands';
import { invoke } from '../../scripts/lib/cli';
import { namesCommand } from '../../scripts/names';
import {
  conditionHolds,
  evaluate,
  jsonStatements,
  type ContextValue,
  type Decision,
  type PolicySet,
} from '../../stacks/policy/iam-policy';
import { conditionKeySupported, referenceAction } from '../../stacks/policy/iam-reference';
import { statementProblems } from '../../stacks/policy/rules';
import {
  dataSources,
  find,
  providerRegion,
  resources,
  type Block,
  type Element,
  type Json,
  type SynthStack,
  type TerraformJson,
} from '../../stacks/policy/terraform-json';
import { BUILD_DIR } from '../fixtures/build';
import { FIVE_REGIONS, synthesize, testConfig } from '../stacks/support';

const ACCOUNT = '123456789012';
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** Whoever runs the CI roles: the principal of every simulated call. */
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/widget-github-deploy`;

type RequestContext = Readonly<Record<string, ContextValue>>;

const roles = new WeakMap<PolicyDocument, PolicySet>();

/**
 * A role's policy set: the printed document(s), no boundary (the CI roles carry none). Read once per
 * document: the file decides some 3,000 requests on a few documents, and reading the deploy role's
 * statements anew for each was 2.7 s of its CPU. The documents are not changed after they are printed.
 */
function asRole(document: PolicyDocument): PolicySet {
  let role = roles.get(document);
  if (!role) {
    role = { identity: jsonStatements(document as never) };
    roles.set(document, role);
  }
  return role;
}

function decide(document: PolicyDocument, action: string, resource: string, context: RequestContext = {}): Decision {
  return evaluate(asRole(document), { principal: DEPLOY_ROLE, action, resource, context });
}

function allows(document: PolicyDocument, action: string, resource: string, context: RequestContext = {}): boolean {
  return decide(document, action, resource, context).allowed;
}

// --- Each resource's ARN, as AWS spells it, with made-up ids for what only AWS assigns ------------

const ID = {
  distribution: 'E2QWRUHAPOMQZL',
  uuid: '0c5e2d1f-1111-4a2b-9c3d-5e6f7a8b9c0d',
  key: '1234abcd-12ab-34cd-56ef-1234567890ab',
  zone: 'Z0TESTZONE',
  token: '_3b2e9f1c0d4a5b6c7d8e9f0a1b2c3d4e',
};

interface Located {
  readonly element: Element;
  readonly tf: TerraformJson;
  readonly region: string;
}

/** A string attribute with `${type.name.attr}` references to literal attributes filled in. */
function literal(tf: TerraformJson, value: Json | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  let unresolved = false;
  const text = value.replace(/\$\{([^{}]*)\}/g, (_, expression: string) => {
    if (/^data\.aws_partition\.[^.]+\.partition$/.test(expression)) return 'aws';
    if (/^data\.aws_caller_identity\.[^.]+\.account_id$/.test(expression)) return ACCOUNT;
    const match = /^([a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z_]+)$/.exec(expression);
    const target = match ? find(tf, match[1]!) : undefined;
    const attribute = match?.[2] === 'id' ? (target?.type === 'aws_s3_bucket' ? 'bucket' : 'name') : match?.[2];
    const resolved = target && attribute ? literal(tf, target.body[attribute]) : undefined;
    if (resolved === undefined) unresolved = true;
    return resolved ?? '';
  });
  return unresolved ? undefined : text;
}

function attr(r: Located, name: string, fallback?: string): string {
  const value = literal(r.tf, r.element.body[name]) ?? fallback;
  if (value === undefined) throw new Error(`${r.element.address}.${name} is not known at synth time`);
  return value;
}

const bucketArn = (r: Located) => `arn:aws:s3:::${attr(r, 'bucket')}`;
const functionArn = (r: Located) => `arn:aws:lambda:${r.region}:${ACCOUNT}:function:${attr(r, 'function_name')}`;
const roleArn = (r: Located) => `arn:aws:iam::${ACCOUNT}:role/${attr(r, 'role')}`;
const certificate = (r: Located) => `arn:aws:acm:${r.region}:${ACCOUNT}:certificate/${ID.uuid}`;
const distribution = () => `arn:aws:cloudfront::${ACCOUNT}:distribution/${ID.distribution}`;

const ARN_OF: Readonly<Record<string, (r: Located) => string>> = {
  aws_s3_bucket: bucketArn,
  aws_s3_bucket_policy: bucketArn,
  aws_s3_bucket_lifecycle_configuration: bucketArn,
  aws_s3_bucket_ownership_controls: bucketArn,
  aws_s3_bucket_public_access_block: bucketArn,
  aws_s3_bucket_server_side_encryption_configuration: bucketArn,
  aws_s3_bucket_versioning: bucketArn,
  aws_s3_bucket_metric: bucketArn,
  aws_cloudfront_distribution: distribution,
  aws_cloudfront_monitoring_subscription: distribution,
  aws_cloudfront_origin_access_identity: () => `arn:aws:cloudfront::${ACCOUNT}:origin-access-identity/E1ABCDEFGHIJKL`,
  aws_cloudfront_cache_policy: () => `arn:aws:cloudfront::${ACCOUNT}:cache-policy/${ID.uuid}`,
  aws_cloudfront_origin_request_policy: () => `arn:aws:cloudfront::${ACCOUNT}:origin-request-policy/${ID.uuid}`,
  aws_cloudfront_response_headers_policy: () => `arn:aws:cloudfront::${ACCOUNT}:response-headers-policy/${ID.uuid}`,
  aws_cloudfront_function: (r) => `arn:aws:cloudfront::${ACCOUNT}:function/${attr(r, 'name')}`,
  aws_cloudfront_key_value_store: () => `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${ID.uuid}`,
  aws_cloudfront_realtime_log_config: (r) => `arn:aws:cloudfront::${ACCOUNT}:realtime-log-config/${attr(r, 'name')}`,
  aws_cloudfrontkeyvaluestore_key: () => `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${ID.uuid}`,
  aws_lambda_function: functionArn,
  aws_lambda_alias: (r) => `${functionArn(r)}:${attr(r, 'name')}`,
  aws_lambda_permission: functionArn,
  aws_lambda_invocation: functionArn,
  aws_lambda_event_source_mapping: (r) => `arn:aws:lambda:${r.region}:${ACCOUNT}:event-source-mapping:${ID.uuid}`,
  aws_kinesis_stream: (r) => `arn:aws:kinesis:${r.region}:${ACCOUNT}:stream/${attr(r, 'name')}`,
  aws_iam_role: (r) => `arn:aws:iam::${ACCOUNT}:role/${attr(r, 'name')}`,
  aws_iam_role_policy: roleArn,
  aws_iam_role_policy_attachment: roleArn,
  aws_codedeploy_app: (r) => `arn:aws:codedeploy:${r.region}:${ACCOUNT}:application:${attr(r, 'name')}`,
  aws_codedeploy_deployment_group: (r) =>
    `arn:aws:codedeploy:${r.region}:${ACCOUNT}:deploymentgroup:` +
    `${attr(r, 'app_name')}/${attr(r, 'deployment_group_name')}`,
  aws_codedeploy_deployment_config: (r) =>
    `arn:aws:codedeploy:${r.region}:${ACCOUNT}:deploymentconfig:${attr(r, 'deployment_config_name')}`,
  aws_cloudwatch_metric_alarm: (r) => `arn:aws:cloudwatch:${r.region}:${ACCOUNT}:alarm:${attr(r, 'alarm_name')}`,
  aws_cloudwatch_dashboard: (r) => `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${attr(r, 'dashboard_name')}`,
  aws_cloudwatch_log_group: (r) => `arn:aws:logs:${r.region}:${ACCOUNT}:log-group:${attr(r, 'name')}`,
  aws_cloudwatch_log_metric_filter: (r) => `arn:aws:logs:${r.region}:${ACCOUNT}:log-group:${attr(r, 'log_group_name')}`,
  aws_cloudwatch_event_rule: (r) => `arn:aws:events:${r.region}:${ACCOUNT}:rule/${attr(r, 'name')}`,
  aws_cloudwatch_event_target: (r) => `arn:aws:events:${r.region}:${ACCOUNT}:rule/${attr(r, 'rule')}`,
  aws_sns_topic: (r) => `arn:aws:sns:${r.region}:${ACCOUNT}:${attr(r, 'name')}`,
  // Authorized on its topic (the reference gives subscriptions no resource type of their own).
  aws_sns_topic_subscription: (r) => {
    const topic = /^\$\{(aws_sns_topic\.[A-Za-z0-9_-]+)\.arn\}$/.exec(String(r.element.body.topic_arn))?.[1];
    const name = topic === undefined ? undefined : literal(r.tf, find(r.tf, topic)?.body.name);
    if (name === undefined) throw new Error(`${r.element.address}.topic_arn names no topic of the stacks`);
    return `arn:aws:sns:${r.region}:${ACCOUNT}:${name}`;
  },
  aws_dynamodb_table: (r) => `arn:aws:dynamodb:${r.region}:${ACCOUNT}:table/${attr(r, 'name')}`,
  aws_route53_record: (r) => `arn:aws:route53:::hostedzone/${attr(r, 'zone_id', ID.zone)}`,
  aws_route53_health_check: () => `arn:aws:route53:::healthcheck/${ID.uuid}`,
  aws_acm_certificate: certificate,
  aws_acm_certificate_validation: certificate,
};

/** What a data source reads, by its type. */
const DATA_ARN_OF: Readonly<Record<string, (r: Located) => string>> = {
  aws_route53_zone: (r) => `arn:aws:route53:::hostedzone/${attr(r, 'zone_id', ID.zone)}`,
  // A version of the entry router: the one the alias serves.
  aws_lambda_function: (r) => `${functionArn(r)}:7`,
  // The key an alias points at: an id KMS assigns.
  aws_kms_alias: (r) => `arn:aws:kms:${r.region}:${ACCOUNT}:key/${ID.key}`,
};

/** The keys AWS puts in a data source's read: DescribeKey asked by the alias carries it. */
function dataContextOf(r: Located): RequestContext {
  return r.element.type === 'aws_kms_alias' ? { 'kms:RequestAlias': attr(r, 'name') } : {};
}

/** The tags a resource carries: its provider's default tags, where Terraform tags the type. */
function tagsOf(r: Located): Record<string, string> {
  if (!isTaggable(r.element.type)) return {};
  const provider = (r.tf.provider?.aws ?? []).find((p) => `aws.${p.alias}` === r.element.body.provider);
  return ((provider?.default_tags as Block[] | undefined)?.[0]?.tags as Record<string, string> | undefined) ?? {};
}

/**
 * The keys AWS puts in a call's request (the evaluator then keeps those the reference says the
 * action supports): the tags a creating call sends, or the tags the resource has; the boundary on
 * the role a call writes, the managed policy an attachment names; the record names a change touches.
 */
function contextOf(r: Located, config: DeployConfig, phase: Phase, action: string): RequestContext {
  const context: Record<string, ContextValue> = {};
  const tags = tagsOf(r);
  const reference = referenceAction(action);
  const creating =
    phase === 'create' &&
    reference !== undefined &&
    (/^(Create|Request)/.test(reference.name) || reference.accessLevel.includes('Tagging'));
  for (const [key, value] of Object.entries(tags))
    context[`aws:${creating ? 'RequestTag' : 'ResourceTag'}/${key}`] = value;
  if (creating && Object.keys(tags).length > 0) context['aws:TagKeys'] = Object.keys(tags);
  if (['aws_iam_role', 'aws_iam_role_policy', 'aws_iam_role_policy_attachment'].includes(r.element.type))
    context['iam:PermissionsBoundary'] = permissionsBoundaryArn(config, ACCOUNT);
  if (r.element.type === 'aws_iam_role_policy_attachment')
    context['iam:PolicyARN'] = literal(r.tf, r.element.body.policy_arn)?.replace(/^arn:[^:]*:/, 'arn:aws:') ?? '';
  if (r.element.type === 'aws_lambda_event_source_mapping') {
    // The mapping's function, by ARN: its name is in the JSON, the ARN is Lambda's form of it.
    const fn = find(r.tf, String(r.element.body.function_name).replace(/^\$\{([^}]+)\.arn\}$/, '$1'));
    context['lambda:FunctionArn'] =
      `arn:aws:lambda:${r.region}:${ACCOUNT}:function:${literal(r.tf, fn?.body.function_name)}`;
  }
  if (r.element.type === 'aws_route53_record') {
    const name = literal(r.tf, r.element.body.name) ?? `${ID.token}.${config.domain}`;
    context['route53:ChangeResourceRecordSetsNormalizedRecordNames'] = [name.toLowerCase().replace(/\.$/, '')];
  }
  return context;
}

function located(stacks: readonly SynthStack[]): Located[] {
  return stacks.flatMap((stack) =>
    resources(stack.json).map((element) => ({
      element,
      tf: stack.json,
      region: providerRegion(stack.json, element) ?? 'us-east-1',
    })),
  );
}

function calls(permissions: ResourcePermissions, phases: readonly Phase[]): { phase: Phase; action: string }[] {
  return phases.flatMap((phase) =>
    [...(permissions.actions[phase] ?? []), ...(permissions.conditional?.actions[phase] ?? [])].map((action) => ({
      phase,
      action,
    })),
  );
}

// --- The configurations --------------------------------------------------------------------------

interface Case {
  readonly config: DeployConfig;
  readonly stacks: SynthStack[];
  readonly policies: CiRolePolicies;
}

function build(config: DeployConfig): Case {
  const { all } = synthesize(config);
  return { config, stacks: all, policies: ciRolePolicies(all, config, { account: ACCOUNT }) };
}

const CASE_NAMES = [
  'one region',
  'five regions',
  'five regions, S3 state, custom rollout, known zone, notifications',
] as const;
// Synthesized once for the whole file: three synths take seconds each.
const cases = {} as Record<(typeof CASE_NAMES)[number], Case>;

beforeAll(() => {
  cases['one region'] = build(testConfig());
  cases['five regions'] = build(testConfig({ ...FIVE_REGIONS }));
  cases['five regions, S3 state, custom rollout, known zone, notifications'] = build(
    testConfig({
      ...FIVE_REGIONS,
      hostedZone: { name: 'example.com', id: 'Z0123456789ABCDEFGHIJ' },
      rollout: { strategy: 'linear', percent: 10, intervalMinutes: 1 },
      backend: { type: 's3', bucket: 'tf-state-bucket', region: 'eu-west-1' },
      notifications: { emails: ['releases@example.com'], webhooks: ['https://hooks.example.com/widget'] },
    }),
  );
}, 120000);

describe.each(CASE_NAMES)('%s', (name) => {
  const the = () => cases[name];

  it(
    'lets the deploy role make every call Terraform makes for ' +
      'every resource of the stacks, on its own ARN in its region',
    () => {
      const { stacks, policies, config } = the();
      const missing: string[] = [];
      let simulated = 0;
      for (const r of located(stacks)) {
        const arnOf = ARN_OF[r.element.type];
        for (const { phase, action } of calls(RESOURCE_PERMISSIONS[r.element.type]!, PHASES)) {
          if (!arnOf) throw new Error(`the test knows no ARN for ${r.element.type}: add it to ARN_OF`);
          const decision = decide(policies.deployRole, action, arnOf(r), contextOf(r, config, phase, action));
          simulated += 1;
          if (!decision.allowed)
            missing.push(`${phase} ${action} on ${arnOf(r)} (${r.element.address}): ${decision.why}`);
        }
      }
      expect(missing).toEqual([]);
      expect(simulated).toBeGreaterThan(200);
    },
  );

  it('lets the plan role refresh every resource and read every data source', () => {
    const { stacks, policies, config } = the();
    const missing: string[] = [];
    for (const r of located(stacks)) {
      for (const { phase, action } of calls(RESOURCE_PERMISSIONS[r.element.type]!, ['read'])) {
        const arn = ARN_OF[r.element.type]!(r);
        if (!allows(policies.planRole, action, arn, contextOf(r, config, phase, action)))
          missing.push(`${action} on ${arn}`);
      }
    }
    for (const stack of stacks) {
      for (const data of dataSources(stack.json)) {
        const permissions = DATA_SOURCE_PERMISSIONS[data.type]!;
        expect([data.type, permissions]).toEqual([data.type, expect.anything()]);
        const r = { element: data, tf: stack.json, region: providerRegion(stack.json, data) ?? 'us-east-1' };
        const arn = DATA_ARN_OF[data.type]?.(r);
        for (const { action } of calls(permissions, ['read'])) {
          if (!arn) throw new Error(`the test knows no ARN for data source ${data.type}: add it to DATA_ARN_OF`);
          if (!allows(policies.planRole, action, arn, dataContextOf(r)))
            missing.push(`${action} on ${arn} (${data.address})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it(
    'grants nothing AWS would not: every action exists, takes the resources ' +
      'it is given (or "*" when it takes none) and supports its conditions',
    () => {
      const { policies } = the();
      for (const document of [
        policies.deployRole,
        policies.planRole,
        policies.liveCheckRole,
        policies.permissionsBoundary,
      ]) {
        expect(jsonStatements(document as never).flatMap(statementProblems)).toEqual([]);
        for (const statement of document.Statement) {
          for (const action of statement.Action)
            expect([action, referenceAction(action)?.id]).toEqual([action, action]);
          // `*` only in statements of their own, for exactly the actions that take no resource.
          if (statement.Resource.includes('*')) {
            expect(statement.Resource).toEqual(['*']);
            expect(statement.Sid).toMatch(/NoResourceType\d*$/);
            expect(statement.Action.filter((action) => !referenceAction(action)?.takesNoResource)).toEqual([]);
          }
        }
      }
    },
  );

  it('gives the plan role nothing that writes, not even the state lock (plans run with -lock=false)', () => {
    const { policies } = the();
    const WRITES = new RegExp(
      '^(Create|Put|Update|Delete|Tag|Untag|Attach|Detach|Pass|Invoke|Add|Remove|Change|Enable|Disable|Publish|' +
        'Request|Stop|Start|Associate)',
    );
    for (const statement of policies.planRole.Statement) {
      for (const action of statement.Action) {
        const [service, verb] = action.split(':');
        expect(WRITES.test(verb!) ? `${service}:${verb}` : null).toBeNull();
      }
    }
    expect(
      policies.planRole.Statement.some(
        (s) => s.Action.includes('iam:PassRole') || s.Action.includes('lambda:InvokeFunction'),
      ),
    ).toBe(false);
  });

  it('covers the S3 health alarm and the Lambda@Edge log groups in every replica region, and no other region', () => {
    const { config, policies } = the();
    const names = resourceNames(config);
    for (const region of config.regions) {
      const alarm = `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${names.bucket(region)}-5xx-errors`;
      for (const action of ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms'])
        expect([action, allows(policies.deployRole, action, alarm)]).toEqual([action, true]);
      expect(allows(policies.planRole, 'cloudwatch:DescribeAlarms', alarm)).toBe(true);
      for (const router of [names.entryRouter, names.chunkRouter]) {
        const logGroup = `arn:aws:logs:${region}:${ACCOUNT}:log-group:/aws/lambda/us-east-1.${router}`;
        expect(
          ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteLogGroup'].filter(
            (action) => !allows(policies.deployRole, action, logGroup),
          ),
        ).toEqual([]);
        expect(allows(policies.deployRole, 'logs:DescribeLogGroups', logGroup)).toBe(true);
      }
    }
    expect(
      allows(
        policies.deployRole,
        'cloudwatch:PutMetricAlarm',
        `arn:aws:cloudwatch:us-west-2:${ACCOUNT}:alarm:${names.bucket('us-west-2')}-5xx-errors`,
      ),
    ).toBe(false);
  });

  it('passes the functions, CodeDeploy and CloudFront their roles, and only to those services', () => {
    const { config, policies } = the();
    const names = resourceNames(config);
    const role = (roleName: string) => `arn:aws:iam::${ACCOUNT}:role/${roleName}`;
    for (const fn of [names.entryRouter, names.chunkRouter, names.signalConsumer, names.rolloutSync, names.release]) {
      expect(
        allows(policies.deployRole, 'iam:PassRole', role(fn), { 'iam:PassedToService': ['lambda.amazonaws.com'] }),
      ).toBe(true);
    }
    expect(
      allows(policies.deployRole, 'iam:PassRole', role(`${config.name}-codedeploy`), {
        'iam:PassedToService': ['codedeploy.amazonaws.com'],
      }),
    ).toBe(true);
    // CreateRealtimeLogConfig passes the role CloudFront writes the signal stream with.
    const realtimeLogs = role(`${names.realtimeLogConfig}-cloudfront`);
    expect(
      allows(policies.deployRole, 'iam:PassRole', realtimeLogs, {
        'iam:PassedToService': ['cloudfront.amazonaws.com'],
      }),
    ).toBe(true);
    expect(
      allows(policies.deployRole, 'iam:PassRole', realtimeLogs, { 'iam:PassedToService': ['lambda.amazonaws.com'] }),
    ).toBe(false);
    expect(
      allows(policies.deployRole, 'iam:PassRole', role(names.signalConsumer), {
        'iam:PassedToService': ['cloudfront.amazonaws.com'],
      }),
    ).toBe(false);
    expect(
      allows(policies.deployRole, 'iam:PassRole', role(names.entryRouter), {
        'iam:PassedToService': ['ec2.amazonaws.com'],
      }),
    ).toBe(false);
    expect(
      allows(policies.deployRole, 'iam:PassRole', role('someone-elses-role'), {
        'iam:PassedToService': ['lambda.amazonaws.com'],
      }),
    ).toBe(false);
    // Each role to its own service only, and no other role of the distribution's name at all.
    expect(
      allows(policies.deployRole, 'iam:PassRole', role(names.entryRouter), {
        'iam:PassedToService': ['codedeploy.amazonaws.com'],
      }),
    ).toBe(false);
    expect(
      allows(policies.deployRole, 'iam:PassRole', role(`${config.name}-codedeploy`), {
        'iam:PassedToService': ['lambda.amazonaws.com'],
      }),
    ).toBe(false);
    expect(
      allows(policies.deployRole, 'iam:PassRole', role(`${config.name}-made-by-the-deploy-role`), {
        'iam:PassedToService': ['lambda.amazonaws.com'],
      }),
    ).toBe(false);
  });

  it('lets CloudFront replicate the routers (Lambda@Edge) and write standard logs', () => {
    const { config, policies } = the();
    const names = resourceNames(config);
    for (const fn of [names.entryRouter, names.chunkRouter]) {
      const version = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${fn}:7`;
      expect(
        ['lambda:GetFunction', 'lambda:EnableReplication', 'lambda:DisableReplication'].filter(
          (action) => !allows(policies.deployRole, action, version),
        ),
      ).toEqual([]);
    }
    const replicator =
      `arn:aws:iam::${ACCOUNT}:role/aws-service-role/` +
      `replicator.lambda.amazonaws.com/AWSServiceRoleForLambdaReplicator`;
    expect(
      allows(policies.deployRole, 'iam:CreateServiceLinkedRole', replicator, {
        'iam:AWSServiceName': ['replicator.lambda.amazonaws.com'],
      }),
    ).toBe(true);
    expect(
      allows(policies.deployRole, 'iam:CreateServiceLinkedRole', replicator, {
        'iam:AWSServiceName': ['elasticbeanstalk.amazonaws.com'],
      }),
    ).toBe(false);
    const logBucket = `arn:aws:s3:::${names.bucket('us-east-1')}-access-logs`;
    expect(allows(policies.deployRole, 's3:PutBucketAcl', logBucket)).toBe(true);
  });

  it("changes only the distribution's own DNS records in the zone", () => {
    const { config, policies } = the();
    const zone = `arn:aws:route53:::hostedzone/${config.hostedZone.id ?? ID.zone}`;
    const change = (name: string) =>
      allows(policies.deployRole, 'route53:ChangeResourceRecordSets', zone, {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [name],
      });
    expect(change(`_bucket.${config.domain}`)).toBe(true);
    expect(change(config.domain)).toBe(true);
    expect(change(`${ID.token}.${config.domain}`)).toBe(true);
    expect(change(config.hostedZone.name)).toBe(false);
    expect(change(`mail.${config.hostedZone.name}`)).toBe(false);
    expect(allows(policies.deployRole, 'route53:GetChange', 'arn:aws:route53:::change/C2682N5HXP0BZ4')).toBe(true);
  });

  it('lets the upload write, and cleanup delete, only the build prefixes of the replica buckets', () => {
    const { config, policies } = the();
    const names = resourceNames(config);
    for (const region of config.regions) {
      const bucket = `arn:aws:s3:::${names.bucket(region)}`;
      expect(allows(policies.deployRole, 's3:ListBucket', bucket)).toBe(true);
      for (const key of ['assets/0123456789abcdef/index.js', 'builds/0123456789abcdef.json']) {
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
          expect([action, key, allows(policies.deployRole, action, `${bucket}/${key}`)]).toEqual([action, key, true]);
      }
      expect(allows(policies.deployRole, 's3:PutObject', `${bucket}/index.html`)).toBe(false);
    }
    expect(
      allows(policies.deployRole, 's3:PutObject', `arn:aws:s3:::${names.bucket('us-east-1')}-access-logs/assets/x`),
    ).toBe(false);
    expect(
      allows(
        policies.deployRole,
        's3:DeleteObject',
        `arn:aws:s3:::${names.bucket('us-east-1')}-access-logs/cloudfront/E2.log.gz`,
      ),
    ).toBe(false);
  });

  it('lets rollout wait read the rollout (rollout status) and cleanup read the alias', () => {
    const { config, policies } = the();
    const names = resourceNames(config);
    const fn = `arn:aws:lambda:${ROLLOUT_REGION}:${ACCOUNT}:function:${names.entryRouter}`;
    expect(allows(policies.deployRole, 'lambda:GetAlias', `${fn}:${names.liveAlias}`)).toBe(true);
    expect(allows(policies.deployRole, 'lambda:GetFunctionConfiguration', `${fn}:12`)).toBe(true);
    const group =
      `arn:aws:codedeploy:${ROLLOUT_REGION}:${ACCOUNT}:deploymentgroup:` +
      `${names.codeDeployApplication}/${names.deploymentGroup}`;
    expect(
      ['codedeploy:ListDeployments', 'codedeploy:GetDeployment', 'codedeploy:GetDeploymentGroup'].filter(
        (action) => !allows(policies.deployRole, action, group),
      ),
    ).toEqual([]);
    for (const alarm of [names.clientErrorAlarm, names.edgeErrorAlarm]) {
      expect(
        allows(
          policies.deployRole,
          'cloudwatch:DescribeAlarms',
          `arn:aws:cloudwatch:${ROLLOUT_REGION}:${ACCOUNT}:alarm:${alarm}`,
        ),
      ).toBe(true);
    }
    const store = `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${ID.uuid}`;
    expect(
      [
        'cloudfront:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:GetKey',
      ].filter((action) => !allows(policies.deployRole, action, store)),
    ).toEqual([]);
  });

  it('splits each role into parts that fit a managed policy, losing nothing', () => {
    const { policies } = the();
    for (const document of [policies.deployRole, policies.planRole]) {
      const parts = splitPolicy(document);
      expect(parts.flatMap((part) => part.Statement)).toEqual(document.Statement);
      for (const part of parts) expect(policySize(part)).toBeLessThanOrEqual(MANAGED_POLICY_SIZE_LIMIT);
    }
    // Well within IAM's default of 10 managed policies per role.
    expect(splitPolicy(policies.deployRole).length).toBeLessThanOrEqual(3);
  });

  it('writes valid statements: unique Sids, no empty lists, `*` only alone', () => {
    const { policies } = the();
    for (const document of [policies.deployRole, policies.planRole, policies.permissionsBoundary]) {
      const sids = document.Statement.map((s) => s.Sid);
      expect(new Set(sids).size).toBe(sids.length);
      for (const s of document.Statement) {
        expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/);
        expect(s.Action.length).toBeGreaterThan(0);
        expect(s.Resource.length).toBeGreaterThan(0);
        if (s.Resource.includes('*')) expect(s.Resource).toEqual(['*']);
        for (const action of s.Action) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      }
    }
  });
});

describe('no way from the deploy role to more than the stacks', () => {
  const the = () => cases['five regions, S3 state, custom rollout, known zone, notifications'];
  const boundary = () => permissionsBoundaryArn(the().config, ACCOUNT);
  const name = () => the().config.name;
  const role = (roleName: string) => `arn:aws:iam::${ACCOUNT}:role/${roleName}`;
  const distribution = `arn:aws:cloudfront::${ACCOUNT}:distribution/E9SOMEONEELSE`;
  const ours = () => ({ [`aws:ResourceTag/${DISTRIBUTION_TAG}`]: name() });

  it('attaches only the managed policies the stacks use, and only to a role with the boundary', () => {
    const { policies } = the();
    const release = role(`${name()}-release`);
    const attach = (policy: string, context: RequestContext = { 'iam:PermissionsBoundary': boundary() }) =>
      decide(policies.deployRole, 'iam:AttachRolePolicy', release, { 'iam:PolicyARN': policy, ...context });
    expect(attach('arn:aws:iam::aws:policy/AdministratorAccess')).toEqual({ allowed: false, why: 'no-allow' });
    expect(attach('arn:aws:iam::aws:policy/IAMFullAccess')).toEqual({ allowed: false, why: 'no-allow' });
    expect(attach('arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda')).toMatchObject({ allowed: true });
    expect(attach('arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda', {})).toEqual({
      allowed: false,
      why: 'no-allow',
    });
  });

  it('creates and changes roles only with the boundary on them, and never takes it off', () => {
    const { policies } = the();
    const made = role(`${name()}-made-by-the-deploy-role`);
    expect(
      decide(policies.deployRole, 'iam:CreateRole', made, { 'iam:PermissionsBoundary': boundary() }),
    ).toMatchObject({ allowed: true });
    expect(decide(policies.deployRole, 'iam:CreateRole', made)).toEqual({ allowed: false, why: 'no-allow' });
    expect(
      decide(policies.deployRole, 'iam:CreateRole', made, {
        'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/something-looser`,
      }),
    ).toEqual({ allowed: false, why: 'no-allow' });
    expect(
      decide(policies.deployRole, 'iam:PutRolePermissionsBoundary', made, {
        'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    ).toEqual({ allowed: false, why: 'no-allow' });
    expect(
      decide(policies.deployRole, 'iam:DeleteRolePermissionsBoundary', made, { 'iam:PermissionsBoundary': boundary() }),
    ).toEqual({ allowed: false, why: 'no-allow' });
    // The boundary itself is the user's policy, not the stacks': no version of it can be written.
    for (const action of ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicy']) {
      expect([action, decide(policies.deployRole, action, boundary()).allowed]).toEqual([action, false]);
    }
  });

  it("cannot edit its own policies, even named like the stacks' roles", () => {
    const { policies } = the();
    for (const self of [DEPLOY_ROLE, role(`${name()}-github-deploy`)]) {
      // The deploy role carries no boundary (or another one): every write of a role needs ours on it.
      for (const action of [
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:DeleteRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:DetachRolePolicy',
      ]) {
        expect([
          self,
          action,
          decide(policies.deployRole, action, self, {
            'iam:PolicyARN': 'arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda',
          }).allowed,
        ]).toEqual([self, action, false]);
      }
    }
    expect(
      decide(policies.deployRole, 'iam:CreatePolicyVersion', `arn:aws:iam::${ACCOUNT}:policy/widget-deploy-role-part-1`)
        .allowed,
    ).toBe(false);
  });

  it("changes, deletes and reads only distributions and certificates carrying the distribution's tag", () => {
    const { policies } = the();
    for (const action of [
      'cloudfront:DeleteDistribution',
      'cloudfront:UpdateDistribution',
      'cloudfront:GetDistributionConfig',
      'cloudfront:UntagResource',
    ]) {
      expect([action, decide(policies.deployRole, action, distribution).allowed]).toEqual([action, false]);
      expect([
        action,
        decide(policies.deployRole, action, distribution, { [`aws:ResourceTag/${DISTRIBUTION_TAG}`]: 'another-widget' })
          .allowed,
      ]).toEqual([action, false]);
      expect([action, decide(policies.deployRole, action, distribution, ours()).allowed]).toEqual([action, true]);
    }
    // Nor can it make someone else's distribution its own: tagging needs our tag and no tag of that key yet.
    expect(
      decide(policies.deployRole, 'cloudfront:TagResource', distribution, {
        [`aws:ResourceTag/${DISTRIBUTION_TAG}`]: 'another-widget',
        [`aws:RequestTag/${DISTRIBUTION_TAG}`]: name(),
      }).allowed,
    ).toBe(false);
    // A pull request's plan reads no other distribution's configuration (its origins, its headers).
    expect(decide(policies.planRole, 'cloudfront:GetDistributionConfig', distribution).allowed).toBe(false);
    expect(decide(policies.planRole, 'cloudfront:GetDistributionConfig', distribution, ours()).allowed).toBe(true);
    const certificate = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/${ID.uuid}`;
    expect(decide(policies.deployRole, 'acm:DeleteCertificate', certificate).allowed).toBe(false);
    expect(decide(policies.deployRole, 'acm:DeleteCertificate', certificate, ours()).allowed).toBe(true);
    // Creating: only with the tag on the request.
    expect(decide(policies.deployRole, 'cloudfront:CreateDistribution', '*').allowed).toBe(false);
    expect(
      decide(policies.deployRole, 'cloudfront:CreateDistribution', '*', {
        [`aws:RequestTag/${DISTRIBUTION_TAG}`]: name(),
      }).allowed,
    ).toBe(true);
  });

  it('deletes no KeyValueStore at all (a store has no tag and an id for a name), ours included', () => {
    const { policies } = the();
    for (const store of [
      `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${ID.uuid}`,
      `arn:aws:cloudfront::${ACCOUNT}:key-value-store/someone-elses`,
    ]) {
      expect(decide(policies.deployRole, 'cloudfront:DeleteKeyValueStore', store)).toEqual({
        allowed: false,
        why: 'no-allow',
      });
    }
  });

  it('each defect of the hand-written policies the reference found stays fixed', () => {
    const { policies } = the();
    // Actions that take no resource were granted on ARNs, which grants nothing: the first deploy and every plan failed.
    for (const action of [
      'cloudfront:CreateCachePolicy',
      'cloudfront:CreateFunction',
      'cloudfront:CreateKeyValueStore',
      'cloudfront:CreateOriginRequestPolicy',
      'cloudfront:CreateResponseHeadersPolicy',
      'cloudfront:CreateCloudFrontOriginAccessIdentity',
      'cloudfront:CreateMonitoringSubscription',
      'cloudfront:DeleteMonitoringSubscription',
      'logs:DescribeLogGroups',
    ]) {
      expect([action, decide(policies.deployRole, action, '*').allowed]).toEqual([action, true]);
    }
    for (const action of ['cloudfront:GetMonitoringSubscription', 'logs:DescribeLogGroups'])
      expect([action, decide(policies.planRole, action, '*').allowed]).toEqual([action, true]);
  });
});

describe("the scripts: every call they make is granted, on the distribution's own resources", () => {
  it("grants each recorded call on each of its target's ARNs, and nothing on another distribution's", () => {
    const { config, policies } = cases['five regions'];
    const targets = scriptTargets(config, ACCOUNT);
    expect(SCRIPT_CALLS.length).toBeGreaterThan(10);
    for (const call of SCRIPT_CALLS) {
      for (const pattern of targets[call.target]) {
        const arn = pattern.replace(/\*/g, 'x0');
        expect([call.action, arn, allows(policies.deployRole, call.action, arn)]).toEqual([call.action, arn, true]);
      }
    }
    expect(
      allows(policies.deployRole, 's3:PutObject', 'arn:aws:s3:::another-widget-us-east-1-12345678/assets/x.js'),
    ).toBe(false);
  });
});

describe("the live-check role: check-live's reads, for drift.yml's runs on main only", () => {
  it.each(CASE_NAMES)(
    "%s: grants each of check-live's recorded calls on its target's ARNs, and nothing else: every action a read",
    (name) => {
      const { config, policies } = cases[name];
      const targets = scriptTargets(config, ACCOUNT);
      const calls = callsOf('rollout check-live');
      expect(calls.map((call) => call.action).sort()).toEqual([
        'cloudfront-keyvaluestore:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:GetKey',
        'cloudfront:DescribeKeyValueStore',
        's3:GetObject',
      ]);
      for (const call of calls) {
        for (const pattern of targets[call.target]) {
          const arn = pattern.replace(/\*/g, 'x0');
          expect([call.action, arn, allows(policies.liveCheckRole, call.action, arn)]).toEqual([
            call.action,
            arn,
            true,
          ]);
        }
      }
      const actions = policies.liveCheckRole.Statement.flatMap((statement) => statement.Action);
      expect([...new Set(actions)].sort()).toEqual([...new Set(calls.map((call) => call.action))].sort());
      expect(
        actions.filter((action) => !['Read', 'List'].includes(referenceAction(action)?.accessLevel ?? 'unknown')),
      ).toEqual([]);
      // No action on `*`: every grant names this distribution's resources (the store's id is CloudFront's).
      for (const statement of policies.liveCheckRole.Statement) expect(statement.Resource).not.toContain('*');
    },
  );

  it('writes nothing, and reads neither the state, the stacks’ configuration, the assets nor another bucket', () => {
    const { config, policies } = cases['five regions, S3 state, custom rollout, known zone, notifications'];
    const names = resourceNames(config);
    const role = policies.liveCheckRole;
    const bucket = `arn:aws:s3:::${names.bucket(config.primaryRegion)}`;
    const store = `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${ID.uuid}`;
    const manifest = `${bucket}/builds/0123456789abcdef.json`;
    // What it needs, to compare with.
    expect(allows(role, 's3:GetObject', manifest)).toBe(true);
    expect(allows(role, 'cloudfront-keyvaluestore:GetKey', store)).toBe(true);
    const refused: [string, string][] = [
      ['s3:PutObject', manifest],
      ['s3:DeleteObject', manifest],
      ['s3:ListBucket', bucket],
      ['s3:GetObject', `${bucket}/assets/0123456789abcdef/index.js`],
      ['s3:GetObject', `${bucket}-access-logs/builds/0123456789abcdef.json`],
      ['s3:GetObject', 'arn:aws:s3:::another-widget-us-east-1-12345678/builds/0123456789abcdef.json'],
      ['s3:GetObject', `arn:aws:s3:::tf-state-bucket/edge-distribution/${names.deliveryStack}.tfstate`],
      ['cloudfront-keyvaluestore:PutKey', store],
      ['cloudfront-keyvaluestore:UpdateKeys', store],
      ['cloudfront-keyvaluestore:DeleteKey', store],
      ['cloudfront-keyvaluestore:ListKeys', store],
      ['cloudfront:GetDistributionConfig', `arn:aws:cloudfront::${ACCOUNT}:distribution/${ID.distribution}`],
      ['cloudfront:DescribeFunction', `arn:aws:cloudfront::${ACCOUNT}:function/${names.errorReport}`],
      ['lambda:GetFunction', `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${names.entryRouter}`],
      ['lambda:GetAlias', `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${names.entryRouter}:${names.liveAlias}`],
      ['dynamodb:GetItem', `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${names.signalTable}`],
      ['codedeploy:StopDeployment', '*'],
    ];
    for (const [action, arn] of refused) {
      expect(referenceAction(action)).toBeDefined();
      expect([action, arn, allows(role, action, arn)]).toEqual([action, arn, false]);
    }
  });

  describe('its trust policy', () => {
    const REPOSITORY = 'acme/widget';
    const trust = liveCheckRoleTrust({ account: ACCOUNT, repository: REPOSITORY });
    const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB_OIDC_PROVIDER}`;

    /** The claims of GitHub's token for a job of `workflow`, run for `ref` (`sub` as GitHub makes it). */
    const token = (
      workflow: string,
      ref: string,
      options: { sub?: string; repository?: string; aud?: string } = {},
    ) => {
      const repository = options.repository ?? REPOSITORY;
      return {
        aud: options.aud ?? GITHUB_OIDC_AUDIENCE,
        sub: options.sub ?? `repo:${repository}:${ref.startsWith('refs/pull/') ? 'pull_request' : `ref:${ref}`}`,
        job_workflow_ref: `${repository}/.github/workflows/${workflow}@${ref}`,
        ref,
        repository,
      };
    };

    /** Whether AssumeRoleWithWebIdentity with these claims, through `provider`, is allowed by the trust policy. */
    function assumes(document: TrustPolicyDocument, claims: Record<string, string>, provider = PROVIDER): boolean {
      const context = new Map(
        Object.entries(claims).map(([claim, value]) => [`${GITHUB_OIDC_PROVIDER}:${claim}`.toLowerCase(), [value]]),
      );
      const statements = jsonStatements(document as never);
      expect(statements.filter((statement) => statement.effect !== 'Allow')).toEqual([]);
      return statements.some(
        (statement) =>
          statement.actions.includes('sts:AssumeRoleWithWebIdentity') &&
          statement.principals.some((p) => p.type === 'Federated' && p.identifiers.includes(provider)) &&
          statement.conditions.every((condition) => conditionHolds(condition, context)),
      );
    }

    it("lets drift.yml's runs on main assume the role: the daily schedule, or a run started by hand from main", () => {
      expect(LIVE_CHECK_WORKFLOW).toBe('.github/workflows/drift.yml');
      expect(DEFAULT_BRANCH_REF).toBe('refs/heads/main');
      // Scheduled and dispatched runs on main carry the same claims (no event_name key exists in IAM to tell them).
      expect(assumes(trust, token('drift.yml', 'refs/heads/main'))).toBe(true);
    });

    it.each([
      ["a pull request's run of pull-request.yml (its plan)", token('pull-request.yml', 'refs/pull/7/merge')],
      ['a pull request that adds a pull_request trigger to drift.yml', token('drift.yml', 'refs/pull/7/merge')],
      ['drift.yml changed on a branch and started by hand from it', token('drift.yml', 'refs/heads/feature')],
      ['a workflow a branch adds, run on a push to it', token('steal.yml', 'refs/heads/feature')],
      [
        'the deploy job (environment production) on main',
        token('deploy.yml', 'refs/heads/main', { sub: 'repo:acme/widget:environment:production' }),
      ],
      ['another workflow on main (the nightly tests)', token('full-tests.yml', 'refs/heads/main')],
      [
        'a job of drift.yml on main in an environment',
        token('drift.yml', 'refs/heads/main', { sub: 'repo:acme/widget:environment:live' }),
      ],
      [
        'drift.yml of another repository, on its main',
        token('drift.yml', 'refs/heads/main', { repository: 'evil/widget' }),
      ],
      ['a token for another audience', token('drift.yml', 'refs/heads/main', { aud: 'https://github.com/acme' })],
      ['a tag of this repository', token('drift.yml', 'refs/tags/v1.0.0')],
    ])('refuses %s', (_, claims) => {
      expect(assumes(trust, claims)).toBe(false);
    });

    it('refuses the right claims through another account’s identity provider', () => {
      expect(
        assumes(
          trust,
          token('drift.yml', 'refs/heads/main'),
          `arn:aws:iam::210987654321:oidc-provider/${GITHUB_OIDC_PROVIDER}`,
        ),
      ).toBe(false);
    });

    it(
      'conditions on keys IAM evaluates: aud and sub (every OIDC provider has them), and keys AWS’s reference ' +
        'lists for sts:AssumeRoleWithWebIdentity',
      () => {
        const reference = referenceAction('sts:AssumeRoleWithWebIdentity')!;
        const statements = jsonStatements(trust as never);
        expect(statements.flatMap((statement) => statement.actions)).toEqual([reference.id]);
        const keys = statements.flatMap((statement) => statement.conditions.map((condition) => condition.variable));
        expect(keys.sort()).toEqual(
          ['aud', 'job_workflow_ref', 'sub'].map((claim) => `${GITHUB_OIDC_PROVIDER}:${claim}`).sort(),
        );
        for (const key of keys.filter((key) => !/:(aud|sub)$/.test(key)))
          expect([key, conditionKeySupported(reference, key)]).toEqual([key, true]);
        // What the check would have caught: a key GitHub's token has but IAM does not evaluate.
        expect(conditionKeySupported(reference, `${GITHUB_OIDC_PROVIDER}:event_name`)).toBe(false);
        for (const statement of statements)
          expect(statement.conditions.map((condition) => condition.test)).toEqual(
            statement.conditions.map(() => 'StringEquals'),
          );
      },
    );

    it('names the repository, or the placeholder; refuses what is not owner/name', () => {
      expect(JSON.stringify(liveCheckRoleTrust())).toContain(`repo:${REPOSITORY_PLACEHOLDER}:ref:refs/heads/main`);
      expect(JSON.stringify(liveCheckRoleTrust())).toContain(`:${ACCOUNT_PLACEHOLDER}:oidc-provider/`);
      expect(
        JSON.stringify(
          ciRolePolicies(cases['one region'].stacks, cases['one region'].config, {
            account: ACCOUNT,
            repository: REPOSITORY,
          }).liveCheckRoleTrust,
        ),
      ).toBe(JSON.stringify(trust));
      expect(() => liveCheckRoleTrust({ repository: 'acme/widget:ref:*' })).toThrow(/not a GitHub repository/);
      expect(() => liveCheckRoleTrust({ repository: 'widget' })).toThrow(/not a GitHub repository/);
    });
  });
});

describe("the release signal's resources", () => {
  it(
    'creates, reads and deletes the signal stream, its real-time log ' +
      'configuration and the mapping of its consumer, and only those',
    () => {
      const { config, policies } = cases['five regions'];
      const names = resourceNames(config);
      const stream = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${names.signalStream}`;
      const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${ID.key}`;
      for (const action of [
        'kinesis:CreateStream',
        'kinesis:AddTagsToStream',
        'kinesis:IncreaseStreamRetentionPeriod',
        'kinesis:StartStreamEncryption',
        'kinesis:DeleteStream',
      ]) {
        expect([action, allows(policies.deployRole, action, stream)]).toEqual([action, true]);
      }
      // StartStreamEncryption is authorized on the key as well as the stream.
      expect(allows(policies.deployRole, 'kinesis:StartStreamEncryption', key)).toBe(true);
      expect(
        allows(
          policies.deployRole,
          'kinesis:DeleteStream',
          `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/someone-elses`,
        ),
      ).toBe(false);
      // The shard count, the mode and the metrics are fixed by the stacks: no grant that would reach every stream.
      for (const action of ['kinesis:UpdateShardCount', 'kinesis:UpdateStreamMode', 'kinesis:EnableEnhancedMonitoring'])
        expect([action, allows(policies.deployRole, action, '*')]).toEqual([action, false]);
      // The plan reads the key of the stream's alias, asked by that alias only.
      expect(allows(policies.planRole, 'kms:DescribeKey', key, { 'kms:RequestAlias': 'alias/aws/kinesis' })).toBe(true);
      expect(allows(policies.planRole, 'kms:DescribeKey', key, { 'kms:RequestAlias': 'alias/someone-elses' })).toBe(
        false,
      );
      expect(allows(policies.planRole, 'kms:DescribeKey', key)).toBe(false);

      const logConfig = `arn:aws:cloudfront::${ACCOUNT}:realtime-log-config/${names.realtimeLogConfig}`;
      expect(allows(policies.deployRole, 'cloudfront:CreateRealtimeLogConfig', '*')).toBe(true);
      for (const action of [
        'cloudfront:GetRealtimeLogConfig',
        'cloudfront:UpdateRealtimeLogConfig',
        'cloudfront:DeleteRealtimeLogConfig',
      ])
        expect([action, allows(policies.deployRole, action, logConfig)]).toEqual([action, true]);
      expect(
        allows(
          policies.deployRole,
          'cloudfront:DeleteRealtimeLogConfig',
          `arn:aws:cloudfront::${ACCOUNT}:realtime-log-config/someone-elses`,
        ),
      ).toBe(false);

      // The mapping: only for the distribution's own functions, and only one carrying its tag.
      const mapping = `arn:aws:lambda:us-east-1:${ACCOUNT}:event-source-mapping:${ID.uuid}`;
      const consumer = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${names.signalConsumer}`;
      const tagged = { [`aws:ResourceTag/${DISTRIBUTION_TAG}`]: config.name };
      expect(
        allows(policies.deployRole, 'lambda:CreateEventSourceMapping', '*', {
          'lambda:FunctionArn': consumer,
          [`aws:RequestTag/${DISTRIBUTION_TAG}`]: config.name,
        }),
      ).toBe(true);
      expect(
        allows(policies.deployRole, 'lambda:CreateEventSourceMapping', '*', {
          'lambda:FunctionArn': `arn:aws:lambda:us-east-1:${ACCOUNT}:function:someone-elses`,
          [`aws:RequestTag/${DISTRIBUTION_TAG}`]: config.name,
        }),
      ).toBe(false);
      expect(
        allows(policies.deployRole, 'lambda:DeleteEventSourceMapping', mapping, {
          'lambda:FunctionArn': consumer,
          ...tagged,
        }),
      ).toBe(true);
      expect(
        allows(policies.deployRole, 'lambda:DeleteEventSourceMapping', mapping, { 'lambda:FunctionArn': consumer }),
      ).toBe(false);
      expect(allows(policies.planRole, 'lambda:GetEventSourceMapping', mapping, tagged)).toBe(true);
    },
  );

  it(
    "gives a pull request's plan no way to add a counted viewer: " +
      "it reads the signal's resources and writes none of them",
    () => {
      for (const name of CASE_NAMES) {
        const { config, policies } = cases[name];
        const names = resourceNames(config);
        // Every action of the plan role is Read or List by the service authorization reference.
        const levels = new Set(
          policies.planRole.Statement.flatMap((statement) => statement.Action).map(
            (action) => referenceAction(action)?.accessLevel ?? `unknown (${action})`,
          ),
        );
        expect([...levels].filter((level) => level !== 'Read' && level !== 'List')).toEqual([]);
        // Each way into the count, as the ARN the plan's outputs and state show: records into the
        // stream, a forged event to the consumer, its code, its mapping, the timeline it judges by,
        // the store the edges assign from, the log configuration and the function that answers reports.
        const stream = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${names.signalStream}`;
        const consumer = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${names.signalConsumer}`;
        const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${names.signalTable}`;
        const store = `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${ID.uuid}`;
        const writes: [string, string][] = [
          ['kinesis:PutRecord', stream],
          ['kinesis:PutRecords', stream],
          ['lambda:InvokeFunction', consumer],
          ['lambda:UpdateFunctionCode', consumer],
          ['lambda:UpdateFunctionConfiguration', consumer],
          ['lambda:UpdateEventSourceMapping', `arn:aws:lambda:us-east-1:${ACCOUNT}:event-source-mapping:${ID.uuid}`],
          ['dynamodb:PutItem', table],
          ['dynamodb:UpdateItem', table],
          ['cloudfront-keyvaluestore:PutKey', store],
          ['cloudfront-keyvaluestore:UpdateKeys', store],
          [
            'cloudfront:UpdateRealtimeLogConfig',
            `arn:aws:cloudfront::${ACCOUNT}:realtime-log-config/${names.realtimeLogConfig}`,
          ],
          ['cloudfront:UpdateFunction', `arn:aws:cloudfront::${ACCOUNT}:function/${names.errorReport}`],
          ['cloudfront:UpdateDistribution', `arn:aws:cloudfront::${ACCOUNT}:distribution/${ID.distribution}`],
        ];
        for (const [action, arn] of writes) {
          expect(referenceAction(action)).toBeDefined();
          expect([name, action, allows(policies.planRole, action, arn)]).toEqual([name, action, false]);
        }
      }
    },
  );

  it('grants nothing for the metrics API, its origin secret or a WAF any more', () => {
    for (const name of CASE_NAMES) {
      const actions = [
        cases[name].policies.deployRole,
        cases[name].policies.planRole,
        cases[name].policies.liveCheckRole,
        cases[name].policies.permissionsBoundary,
      ].flatMap((document) => document.Statement.flatMap((s) => s.Action));
      expect(actions.filter((action) => /^(apigateway|wafv2):/.test(action))).toEqual([]);
    }
    expect(
      Object.keys(RESOURCE_PERMISSIONS).filter((type) => /^(aws_apigatewayv2_|aws_wafv2_|random_)/.test(type)),
    ).toEqual([]);
  });
});

describe('what the config switches', () => {
  it(
    'reads the S3 state of both stacks, locks it for deploys only (plans ' +
      'run with -lock=false), and grants no state access with the local backend',
    () => {
      const { policies, config } = cases['five regions, S3 state, custom rollout, known zone, notifications'];
      const names = resourceNames(config);
      for (const stack of [names.replicaStack, names.deliveryStack]) {
        const state = `arn:aws:s3:::tf-state-bucket/edge-distribution/${stack}.tfstate`;
        expect(allows(policies.planRole, 's3:GetObject', state)).toBe(true);
        expect(allows(policies.planRole, 's3:PutObject', state)).toBe(false);
        expect(allows(policies.deployRole, 's3:PutObject', state)).toBe(true);
        // The plan role stays read-only: the workflows plan with -lock=false.
        expect(
          ['s3:PutObject', 's3:DeleteObject'].filter((action) => allows(policies.planRole, action, `${state}.tflock`)),
        ).toEqual([]);
        expect(
          ['s3:PutObject', 's3:DeleteObject'].filter(
            (action) => !allows(policies.deployRole, action, `${state}.tflock`),
          ),
        ).toEqual([]);
      }
      expect(allows(policies.planRole, 's3:ListBucket', 'arn:aws:s3:::tf-state-bucket')).toBe(true);
      expect(JSON.stringify(cases['one region'].policies)).not.toContain('tfstate');
    },
  );

  it('scopes the hosted zone to its id when the config names it', () => {
    const { policies } = cases['five regions, S3 state, custom rollout, known zone, notifications'];
    expect(
      allows(
        policies.deployRole,
        'route53:ListResourceRecordSets',
        'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ',
      ),
    ).toBe(true);
    expect(
      allows(policies.deployRole, 'route53:ListResourceRecordSets', 'arn:aws:route53:::hostedzone/ZOTHERZONE'),
    ).toBe(false);
  });

  it('uses the account given, or the <account> placeholder', () => {
    const { stacks, config } = cases['one region'];
    expect(JSON.stringify(ciRolePolicies(stacks, config))).toContain(`:${ACCOUNT_PLACEHOLDER}:`);
    expect(JSON.stringify(cases['one region'].policies)).not.toContain(ACCOUNT_PLACEHOLDER);
  });

  it('looks where the rollout CLI looks', () => {
    expect(SCRIPTS_REGION).toBe(ROLLOUT_REGION);
  });
});

describe('types the tables do not know', () => {
  const extra = (json: TerraformJson): SynthStack => ({ name: 'extra', json });

  it('throws, naming a resource type', () => {
    const { stacks, config } = cases['one region'];
    const queue: Block = { name: 'widget-queue', provider: 'aws.us-east-1' };
    expect(() => ciRolePolicies([...stacks, extra({ resource: { aws_sqs_queue: { queue } } })], config)).toThrow(
      /resource type aws_sqs_queue \(extra: aws_sqs_queue\.queue\)/,
    );
  });

  it('throws, naming a data source type or a state backend', () => {
    const { stacks, config } = cases['one region'];
    expect(() => ciRolePolicies([...stacks, extra({ data: { aws_vpc: { main: {} } } })], config)).toThrow(
      /data source type aws_vpc/,
    );
    expect(() =>
      ciRolePolicies([...stacks, extra({ terraform: { backend: { gcs: { bucket: 'b' } } } })], config),
    ).toThrow(/gcs state backend/);
  });
});

describe('the table of Terraform calls, one file per AWS service', () => {
  it('keeps each type in one service file: assembling two that define the same type throws, naming both', () => {
    const bucket: ResourcePermissions = { arns: () => [], actions: { read: ['s3:ListBucket'] } };
    expect(() =>
      assemble('resource', { s3: { aws_s3_bucket: bucket }, cloudfront: { aws_s3_bucket: bucket } }),
    ).toThrow(
      'The resource type aws_s3_bucket is in two service files, terraform/s3.ts and terraform/cloudfront.ts: keep one.',
    );
    expect(Object.keys(assemble('resource', { s3: { aws_s3_bucket: bucket }, lambda: {} }))).toEqual(['aws_s3_bucket']);
  });
});

describe('npm run names -- --iam', () => {
  const config = path.join(PROJECT_ROOT, 'deploy.config.json');

  /** The command in process: what it printed, and what it said was wrong. */
  async function names(argv: string[]): Promise<{ code: number; out: string; error: string }> {
    const lines: string[] = [];
    let error = '';
    const code = await invoke(namesCommand({ out: (line) => lines.push(line), env: {} }), argv, {
      out: () => undefined,
      error: (text) => (error += text),
    });
    return { code, out: lines.join('\n'), error };
  }

  async function run(argv: string[]): Promise<string> {
    const result = await names(argv);
    expect(result).toMatchObject({ code: 0, error: '' });
    return result.out;
  }

  it('prints the roles, the live-check trust and the boundary as one JSON object with --json', async () => {
    const printed = JSON.parse(
      await run(['--iam', '--json', '--config', config, '--build', BUILD_DIR, '--account', ACCOUNT]),
    ) as CiRolePolicies;
    expect(Object.keys(printed)).toEqual([
      'deployRole',
      'planRole',
      'liveCheckRole',
      'liveCheckRoleTrust',
      'permissionsBoundary',
    ]);
    expect(printed.liveCheckRole.Statement.length).toBeGreaterThan(0);
    expect(printed.liveCheckRoleTrust).toEqual(liveCheckRoleTrust({ account: ACCOUNT }));
    expect(printed.permissionsBoundary.Statement.length).toBeGreaterThan(5);
    expect(printed.deployRole.Version).toBe('2012-10-17');
    expect(printed.deployRole.Statement.length).toBeGreaterThan(10);
    expect(printed.planRole.Statement.length).toBeGreaterThan(5);
  }, 60000);

  it('prints each role under a header, in parts that fit a managed policy', async () => {
    const text = await run(['--iam', '--config', config, '--build', BUILD_DIR]);
    expect(text).toMatch(/^# <account> stands for your AWS account id.*\n# Deploy role \(AWS_DEPLOY_ROLE_ARN\)/);
    expect(text).toContain('# Plan role (AWS_PLAN_ROLE_ARN)');
    expect(text).toContain('# Live-check role (AWS_LIVE_CHECK_ROLE_ARN)');
    // Its trust, after its policy, with the repository to fill in.
    expect(text).toContain(
      `# Live-check role's trust policy: only ${LIVE_CHECK_WORKFLOW}'s runs on main may assume it ` +
        `(replace ${REPOSITORY_PLACEHOLDER} with the repository, as GitHub spells it).\n` +
        JSON.stringify(liveCheckRoleTrust(), null, 2),
    );
    const documents = text
      .split('\n# ')
      .map((chunk) => chunk.slice(chunk.indexOf('\n{') + 1).trim())
      .filter((chunk) => chunk.startsWith('{'))
      .map((chunk) => JSON.parse(chunk) as PolicyDocument);
    expect(documents.length).toBeGreaterThanOrEqual(2);
    for (const document of documents) expect(policySize(document)).toBeLessThanOrEqual(MANAGED_POLICY_SIZE_LIMIT);
    expect(text).toContain(`:${ACCOUNT_PLACEHOLDER}:`);
  }, 60000);

  it('refuses what does not fit as usage errors (exit 2), and keeps the name listing as it was', async () => {
    expect(await names(['--iam', '--github-output', '--config', config])).toMatchObject({
      code: 2,
      error: expect.stringMatching(/--github-output.*cannot be used with option '--iam'/),
    });
    expect(await names(['--iam', '--account', '12345', '--config', config])).toMatchObject({
      code: 2,
      error: expect.stringMatching(/expected a 12-digit AWS account id, got "12345"/),
    });
    expect(await names(['--account', ACCOUNT, '--config', config])).toMatchObject({
      code: 2,
      error: expect.stringMatching(/--account and --build apply to --iam only/),
    });
    expect(JSON.parse(await run(['--json', '--config', config]))).toMatchObject({
      name: 'edge-widget',
      replicas_stack: 'edge-widget-replicas',
    });
  });
});

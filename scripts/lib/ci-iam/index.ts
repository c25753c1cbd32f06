/**
 * The CI roles' IAM policies and the permissions boundary of every role the stacks create,
 * derived from the synthesized stacks instead of written by hand.
 *
 *   deployRole            `cdktf deploy` of both stacks (every resource created, refreshed, changed
 *                         and deleted, as terraform/ says the provider calls, one file per AWS
 *                         service), the scripts the deploy workflow runs (script-calls.ts, recorded
 *                         from their tests) and the state backend;
 *   planRole              the refresh alone, and reading the state;
 *   liveCheckRole         `rollout check-live` in drift.yml's nightly run: the reads its recorded calls
 *                         make (script-calls.ts), nothing else; liveCheckRoleTrust (trust.ts) lets
 *                         only drift.yml's runs on main assume it;
 *   permissionsBoundary   `<name>-permissions-boundary`: the most any role the stacks create may do,
 *                         the union of what their own policies grant. The deploy role may create or
 *                         change a role only with this boundary on it, so a role it writes can never
 *                         reach further than the stacks' own roles do.
 *
 * How each action is granted comes from AWS's service authorization reference, not from the
 * tables: an action that takes no resource goes on `*` (policy-document.ts); an account-wide ARN
 * (an id AWS assigns: `distribution/*`, `certificate/*`) is narrowed to resources carrying the
 * distribution's own tag wherever Terraform tags the type and the reference supports
 * `aws:ResourceTag`; role writes require the boundary (`iam:PermissionsBoundary`), attachments name
 * their managed policy (`iam:PolicyARN`), roles are passed to their one service
 * (`iam:PassedToService`). A resource or data source type the tables do not know stops the
 * generator: a resource added to the stacks can never deploy with permissions nobody thought about.
 *
 * Pure: Terraform JSON and a config in, policy documents out (`npm run names -- --iam` synthesizes
 * the stacks and prints them).
 */
import type { DeployConfig } from '../../../config';
import { resourceNames } from '../../../config';
import { statementsOf } from '../../../stacks/policy/iam-policy';
import { conditionKeySupported, patternCanBeType, referenceAction } from '../../../stacks/policy/iam-reference';
import { dataSources, isBlock, resources, single, type SynthStack } from '../../../stacks/policy/terraform-json';
import {
  ACCOUNT_PLACEHOLDER,
  type Condition,
  type Grant,
  type Phase,
  PHASES,
  type ResourceView,
  ResourceViews,
  UNKNOWN,
} from './grants';
import { policyDocument, type PolicyDocument } from './policy-document';
import { callsOf, scriptGrants } from './script-calls';
import { isTaggable } from './taggable';
import {
  DATA_SOURCE_PERMISSIONS,
  RESOURCE_PERMISSIONS,
  type ResourcePermissions,
  stateBackendGrants,
} from './terraform';
import { liveCheckRoleTrust, type TrustPolicyDocument } from './trust';

export { ACCOUNT_PLACEHOLDER, PHASES, type Grant, type Phase, type ResourceView } from './grants';
export { MANAGED_POLICY_SIZE_LIMIT, policySize, splitPolicy, type PolicyDocument } from './policy-document';
export {
  callsOf,
  SCRIPT_CALLS,
  SCRIPTS_REGION,
  scriptTargets,
  type CiScript,
  type ScriptCall,
  type ScriptTarget,
} from './script-calls';
export {
  DEFAULT_BRANCH_REF,
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_PROVIDER,
  LIVE_CHECK_WORKFLOW,
  liveCheckRoleTrust,
  REPOSITORY_PLACEHOLDER,
  type TrustPolicyDocument,
} from './trust';
export { DATA_SOURCE_PERMISSIONS, RESOURCE_PERMISSIONS, type ResourcePermissions } from './terraform';

/** The tag the providers put on everything the stacks create (their `default_tags`), naming the distribution. */
export const DISTRIBUTION_TAG = 'Distribution';

/** Terraform types whose writes are writes of a role's permissions: the boundary must be on the role. */
const ROLE_TYPES = ['aws_iam_role', 'aws_iam_role_policy', 'aws_iam_role_policy_attachment'];

export interface CiRolePolicies {
  /**
   * `cdktf deploy` of both stacks, `npm run upload`, `backfill`, `verify-edge`, `rollout wait`, `rollout check-live`
   * and `cleanup`.
   */
  readonly deployRole: PolicyDocument;
  /** `terraform plan` of both stacks (every resource refreshed) and reading their state. */
  readonly planRole: PolicyDocument;
  /**
   * `npm run rollout -- check-live` in drift.yml's nightly run: what its recorded calls read (the rollout store, the
   * published manifests), and nothing else: no write, no state, nothing of the stacks' configuration.
   */
  readonly liveCheckRole: PolicyDocument;
  /** Who may assume the live-check role: drift.yml's runs on main, by GitHub's OIDC token. */
  readonly liveCheckRoleTrust: TrustPolicyDocument;
  /** The managed policy `<name>-permissions-boundary`: the boundary of every role the stacks create. */
  readonly permissionsBoundary: PolicyDocument;
}

export interface CiIamOptions {
  /** @default '<account>' (a placeholder to replace) */
  readonly account?: string;
  /** The GitHub repository, owner/name, in the live-check role's trust. @default '<owner>/<repo>' (a placeholder) */
  readonly repository?: string;
}

/** `arn:aws:iam::<account>:policy/<name>-permissions-boundary`. */
export function permissionsBoundaryArn(
  config: Pick<DeployConfig, 'name' | 'domain'>,
  account: string = ACCOUNT_PLACEHOLDER,
): string {
  return `arn:aws:iam::${account}:policy/${resourceNames(config).permissionsBoundary}`;
}

/** What every resource and data source of the stacks needs, and the state backends. */
export function stackGrants(
  stacks: readonly SynthStack[],
  config: Pick<DeployConfig, 'name'>,
  account: string = ACCOUNT_PLACEHOLDER,
): Grant[] {
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
        grants.push(...grantsOf(permissions, views.of(element), config.name));
      }
    }
    const backend = stack.json.terraform?.backend;
    for (const [type, block] of Object.entries(isBlock(backend) ? backend : {})) {
      grants.push(
        ...stateBackendGrants(type, single(block) ?? {}, `${stack.name} backend`, { write: true, lock: true }),
      );
    }
  }
  if (unknown.length > 0) {
    throw new Error(
      `No IAM permissions are known for ${[...new Set(unknown)].join(', ')}: add the type to its service's ` +
        `file in scripts/lib/ci-iam/terraform/ (RESOURCE_PERMISSIONS and DATA_SOURCE_PERMISSIONS are assembled ` +
        `in its index.ts).`,
    );
  }
  return grants;
}

/** One resource's grants: each action on the resource's ARNs, under the conditions that narrow it. */
export function grantsOf(permissions: ResourcePermissions, r: ResourceView, name: string): Grant[] {
  const grants: Grant[] = [];
  const arns = permissions.arns(r);
  if (arns.length > 0) {
    for (const phase of PHASES) {
      for (const action of permissions.actions[phase] ?? [])
        grants.push({
          phases: { [phase]: [action] },
          resources: arns,
          conditions: narrowing(permissions, r, name, phase, action, arns),
        });
      for (const action of permissions.conditional?.actions[phase] ?? []) {
        grants.push({
          phases: { [phase]: [action] },
          resources: arns,
          conditions: [...narrowing(permissions, r, name, phase, action, arns), permissions.conditional!.condition(r)],
        });
      }
    }
  }
  grants.push(...(permissions.also?.(r) ?? []));
  return grants;
}

/**
 * The conditions AWS's reference lets us put on `action` for this resource, so it reaches the stacks' own resources
 * only.
 */
function narrowing(
  permissions: ResourcePermissions,
  r: ResourceView,
  name: string,
  phase: Phase,
  action: string,
  arns: readonly string[],
): Condition[] {
  const reference = referenceAction(action);
  if (!reference) throw new Error(`${r.type}: ${action} is not an action in AWS's service authorization reference`);
  const types = reference.resourceTypes.filter((type) => arns.some((arn) => patternCanBeType(arn, type)));
  const supports = (key: string) =>
    conditionKeySupported(reference, key, types.length > 0 ? types : reference.resourceTypes);
  const conditions: Condition[] = [];

  const tag = r.defaultTags[DISTRIBUTION_TAG];
  // An ARN without the distribution's name holds an id AWS assigns: as a pattern it is every such resource in the
  // account.
  const accountWide = arns.every((arn) => !arn.includes(name));
  // The call that creates the resource finds no tag on it yet.
  const creates = phase === 'create' && /^(Create|Request)/.test(reference.name);
  if (tag && accountWide && !permissions.notTagScoped && isTaggable(r.type)) {
    const requestTag = `aws:RequestTag/${DISTRIBUTION_TAG}`;
    const resourceTag = `aws:ResourceTag/${DISTRIBUTION_TAG}`;
    if (creates) {
      // Creating: the request carries the tags the resource is created with.
      if (supports(requestTag)) conditions.push({ operator: 'StringEquals', key: requestTag, values: [tag] });
    } else if (phase === 'create' && reference.accessLevel.includes('Tagging')) {
      // Tagging at creation (CreateDistributionWithTags is also TagResource): only with our tag, and
      // only on a resource that has none yet, so no one else's resource can be tagged ours.
      if (supports(requestTag)) conditions.push({ operator: 'StringEquals', key: requestTag, values: [tag] });
      if (supports(resourceTag)) conditions.push({ operator: 'Null', key: resourceTag, values: ['true'] });
    } else if (supports(resourceTag)) {
      conditions.push({ operator: 'StringEquals', key: resourceTag, values: [tag] });
    }
  }

  if (ROLE_TYPES.includes(r.type) && phase !== 'read' && !['Read', 'List'].includes(reference.accessLevel)) {
    if (supports('iam:PermissionsBoundary'))
      conditions.push({ operator: 'StringEquals', key: 'iam:PermissionsBoundary', values: [boundaryOf(r)] });
    if (r.type === 'aws_iam_role_policy_attachment' && supports('iam:PolicyARN'))
      conditions.push({ operator: 'ArnEquals', key: 'iam:PolicyARN', values: [r.value('policy_arn')] });
  }
  return conditions;
}

/** The permissions boundary on the role a resource writes: every role the stacks create carries one. */
function boundaryOf(r: ResourceView): string {
  const role = r.type === 'aws_iam_role' ? r : r.target('role');
  const boundary = role?.value('permissions_boundary');
  if (!role || !boundary || boundary === UNKNOWN)
    throw new Error(
      `${r.address}: its role has no permissions_boundary; every role the stacks create must carry ` +
        `<name>-permissions-boundary (stacks/constructs/permissions-boundary.ts)`,
    );
  return boundary;
}

/**
 * The boundary: what the stacks' roles' own policies grant, together, with this account's ARNs,
 * plus what the AWS managed policies they attach are used for here.
 */
export function boundaryGrants(
  stacks: readonly SynthStack[],
  config: Pick<DeployConfig, 'name' | 'domain'>,
  account: string = ACCOUNT_PLACEHOLDER,
): Grant[] {
  const grants: Grant[] = [];
  for (const stack of stacks) {
    const views = new ResourceViews(stack.json, config.name, account);
    for (const element of resources(stack.json, 'aws_iam_role_policy')) {
      const view = views.of(element);
      for (const statement of statementsOf(stack.json, element.body.policy)) {
        if (statement.effect !== 'Allow')
          throw new Error(
            `${element.address}: a Deny in a role policy has no place in the boundary; express it another way`,
          );
        grants.push({
          phases: { update: statement.actions },
          resources: statement.resources.map((resource) => view.text(resource)),
          conditions: statement.conditions.map((c) => ({
            operator: c.test,
            key: c.variable,
            values: c.values.map((value) => view.text(value)),
          })),
        });
      }
    }
    for (const element of resources(stack.json, 'aws_iam_role_policy_attachment')) {
      const policy = views.of(element).value('policy_arn');
      const use = MANAGED_POLICY_USE[policy.slice(policy.lastIndexOf('/') + 1)];
      if (!use)
        throw new Error(
          `${element.address}: the boundary does not know what ${policy} is used for: add it to ` +
            `MANAGED_POLICY_USE in scripts/lib/ci-iam/index.ts`,
        );
      grants.push(...use(config, account));
    }
  }
  return grants;
}

/**
 * What each AWS managed policy the stacks attach is used for, which the boundary must leave it:
 * the policy itself allows more (AWSCodeDeployRoleForLambda: any alias, SNS, S3 revisions, hook
 * functions), the boundary keeps this distribution's part.
 */
const MANAGED_POLICY_USE: Readonly<
  Record<string, (config: Pick<DeployConfig, 'name' | 'domain'>, account: string) => Grant[]>
> = {
  // CodeDeploy shifting the entry router's alias `live` and watching the release's alarms
  // (CodeDeploy guide, "Service role for AWS Lambda deployments"; the AppSpec goes inline, so no S3).
  AWSCodeDeployRoleForLambda: (config, account) => [
    {
      phases: { update: ['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:GetProvisionedConcurrencyConfig'] },
      resources: [`arn:aws:lambda:us-east-1:${account}:function:${config.name}-*`],
    },
    {
      phases: { update: ['cloudwatch:DescribeAlarms'] },
      resources: [`arn:aws:cloudwatch:us-east-1:${account}:alarm:${config.name}-*`],
    },
  ],
};

export function ciRolePolicies(
  stacks: readonly SynthStack[],
  config: DeployConfig,
  options: CiIamOptions = {},
): CiRolePolicies {
  const account = options.account ?? ACCOUNT_PLACEHOLDER;
  const stackNeeds = stackGrants(stacks, config, account);
  return {
    deployRole: policyDocument([...stackNeeds, ...scriptGrants(config, account)], PHASES),
    planRole: policyDocument(stackNeeds, ['read']),
    liveCheckRole: policyDocument(scriptGrants(config, account, callsOf('rollout check-live')), ['update']),
    liveCheckRoleTrust: liveCheckRoleTrust({ account, repository: options.repository }),
    permissionsBoundary: policyDocument(boundaryGrants(stacks, config, account), ['update']),
  };
}

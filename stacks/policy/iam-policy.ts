/**
 * IAM policies as data, and one evaluator of them, driven by AWS's service authorization reference
 * (iam-reference.ts). Every policy check in this project goes through here: the policy rules on
 * synthesized stacks, the functions' recorded calls against their roles and the bucket policies,
 * the CI roles against what Terraform and the scripts call, and the escalation tests.
 *
 * The evaluator follows AWS's policy evaluation logic for one account:
 *
 *   1. an explicit Deny in any policy (identity, boundary, resource) denies;
 *   2. else the request is allowed by an identity policy that allows it, if the principal's
 *      permissions boundary (when it has one) allows it too, or by the resource's policy naming
 *      the principal (a grant to a role's ARN in the same account is not limited by its boundary);
 *   3. else it is implicitly denied.
 *
 * What makes it honest is the reference: an action that takes no resource is requested on `*`,
 * whatever ARN the caller had in mind, so a statement naming an ARN never grants it; and a condition
 * key the action does not support for that resource type is left out of the request, so a condition
 * on it holds only where AWS's would (IfExists, negated operators, ForAllValues).
 */
import {
  conditionKeySupported,
  referenceAction,
  typesOfArn,
  wildcardMatch,
  type ReferenceAction,
} from './iam-reference';
import {
  blocks,
  exactReference,
  find,
  isBlock,
  list,
  strings,
  type Block,
  type Json,
  type TerraformJson,
} from './terraform-json';

export interface Condition {
  readonly test: string;
  readonly variable: string;
  readonly values: readonly string[];
}

export interface Principal {
  readonly type: string;
  readonly identifiers: readonly string[];
}

export interface Statement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  readonly principals: readonly Principal[];
  readonly conditions: readonly Condition[];
}

// ---------------------------------------------------------------------------------------------
// Reading policies: Terraform's aws_iam_policy_document blocks, and policy JSON

/** Statements of an `aws_iam_policy_document` data source's body. */
export function documentStatements(body: Block): Statement[] {
  return blocks(body.statement).map((s) => ({
    ...(typeof s.sid === 'string' ? { sid: s.sid } : {}),
    effect: s.effect === 'Deny' ? 'Deny' : 'Allow',
    actions: strings(s.actions),
    notActions: strings(s.not_actions),
    resources: strings(s.resources),
    notResources: strings(s.not_resources),
    principals: blocks(s.principals).map((p) => ({ type: String(p.type), identifiers: strings(p.identifiers) })),
    conditions: blocks(s.condition).map((c) => ({
      test: String(c.test),
      variable: String(c.variable),
      values: strings(c.values),
    })),
  }));
}

/** Statements of a policy document as IAM takes it (`{"Version": …, "Statement": […]}`), parsed or as text. */
export function jsonStatements(document: Json | undefined): Statement[] {
  const parsed = typeof document === 'string' ? (JSON.parse(document) as Json) : document;
  if (!isBlock(parsed)) return [];
  return list(parsed.Statement as Json)
    .filter(isBlock)
    .map((s) => {
      const principal = s.Principal;
      const principals =
        principal === '*'
          ? [{ type: '*', identifiers: ['*'] }]
          : isBlock(principal)
            ? Object.entries(principal).map(([type, ids]) => ({ type, identifiers: strings(ids) }))
            : [];
      const conditions = isBlock(s.Condition)
        ? Object.entries(s.Condition).flatMap(([test, byVariable]) =>
            isBlock(byVariable)
              ? Object.entries(byVariable).map(([variable, values]) => ({ test, variable, values: strings(values) }))
              : [],
          )
        : [];
      return {
        ...(typeof s.Sid === 'string' ? { sid: s.Sid } : {}),
        effect: s.Effect === 'Deny' ? 'Deny' : 'Allow',
        actions: strings(s.Action),
        notActions: strings(s.NotAction),
        resources: strings(s.Resource),
        notResources: strings(s.NotResource),
        principals,
        conditions,
      };
    });
}

/** Statements of a policy given as `${data.aws_iam_policy_document.x.json}` or as literal JSON. */
export function statementsOf(tf: TerraformJson, policy: Json | undefined): Statement[] {
  const ref = exactReference(policy);
  if (ref) {
    const doc = find(tf, ref.address);
    return doc?.type === 'aws_iam_policy_document' ? documentStatements(doc.body) : [];
  }
  if (typeof policy !== 'string') return [];
  try {
    return jsonStatements(policy);
  } catch {
    return [];
  }
}

/** A statement with every string passed through `map` (resolving `${…}` references, say). */
export function mapStatement(statement: Statement, map: (text: string) => string): Statement {
  return {
    ...statement,
    resources: statement.resources.map(map),
    notResources: statement.notResources.map(map),
    principals: statement.principals.map((p) => ({ type: p.type, identifiers: p.identifiers.map(map) })),
    conditions: statement.conditions.map((c) => ({ ...c, values: c.values.map(map) })),
  };
}

// ---------------------------------------------------------------------------------------------
// The evaluator

export type ContextValue = string | boolean | number | readonly string[];

export interface IamRequest {
  /** The caller: a role's ARN, or another principal's (an origin access identity's IAM ARN). */
  readonly principal: string;
  /** `service:Action`, which must exist in the reference. */
  readonly action: string;
  /** The ARN the call is about; ignored for an action that takes no resource (IAM sees `*`). */
  readonly resource: string;
  /** Keys of the request and the resource: `iam:PassedToService`, `aws:ResourceTag/Distribution`, … */
  readonly context?: Readonly<Record<string, ContextValue>>;
}

export interface PolicySet {
  /** Every identity policy of the principal (inline and attached), as statements. */
  readonly identity: readonly Statement[];
  /** The principal's permissions boundary. @default none */
  readonly boundary?: readonly Statement[];
  /** The policy on the resource (a bucket policy, a trust policy). @default none */
  readonly resource?: readonly Statement[];
}

export type Decision =
  | { readonly allowed: true; readonly by: 'identity' | 'resource'; readonly statement: Statement }
  | { readonly allowed: false; readonly why: 'explicit-deny'; readonly statement: Statement }
  | { readonly allowed: false; readonly why: 'no-allow' | 'boundary' };

/** The request as IAM sees it: `*` for an action without a resource, and only the keys AWS would set. */
export function requestContext(request: IamRequest): {
  action: ReferenceAction;
  resource: string;
  context: Map<string, string[]>;
} {
  const action = referenceAction(request.action);
  if (!action) throw new Error(`${request.action} is not an action in AWS's service authorization reference`);
  const resource = action.takesNoResource ? '*' : request.resource;
  const types = action.takesNoResource ? [] : typesOfArn(action, resource);
  if (!action.takesNoResource && types.length === 0) {
    throw new Error(
      `${request.action} on ${resource}: not an ARN of any resource type the action takes ` +
        `(${action.resourceTypes.map((t) => t.name).join(', ')})`,
    );
  }
  const context = new Map<string, string[]>();
  const set = (key: string, value: ContextValue) =>
    context.set(key.toLowerCase(), Array.isArray(value) ? [...value] : [String(value)]);
  set('aws:PrincipalArn', request.principal);
  for (const [key, value] of Object.entries(request.context ?? {})) {
    if (conditionKeySupported(action, key, types)) set(key, value);
  }
  return { action, resource, context };
}

export function evaluate(policies: PolicySet, request: IamRequest): Decision {
  const { action, resource, context } = requestContext(request);
  const applies = (statement: Statement, principalMatters: boolean) =>
    statementApplies(statement, action, resource, context, principalMatters ? request.principal : undefined);
  const all = [
    ...policies.identity.map((s) => [s, false] as const),
    ...(policies.boundary ?? []).map((s) => [s, false] as const),
    ...(policies.resource ?? []).map((s) => [s, true] as const),
  ];
  const deny = all.find(([s, principalMatters]) => s.effect === 'Deny' && applies(s, principalMatters));
  if (deny) return { allowed: false, why: 'explicit-deny', statement: deny[0] };
  const byResource = (policies.resource ?? []).find((s) => s.effect === 'Allow' && applies(s, true));
  if (byResource) return { allowed: true, by: 'resource', statement: byResource };
  const byIdentity = policies.identity.find((s) => s.effect === 'Allow' && applies(s, false));
  if (!byIdentity) return { allowed: false, why: 'no-allow' };
  if (policies.boundary && !policies.boundary.some((s) => s.effect === 'Allow' && applies(s, false)))
    return { allowed: false, why: 'boundary' };
  return { allowed: true, by: 'identity', statement: byIdentity };
}

export function allows(policies: PolicySet, request: IamRequest): boolean {
  return evaluate(policies, request).allowed;
}

function statementApplies(
  statement: Statement,
  action: ReferenceAction,
  resource: string,
  context: ReadonlyMap<string, string[]>,
  principal: string | undefined,
): boolean {
  const named = (patterns: readonly string[]) => patterns.some((pattern) => wildcardMatch(pattern, action.id, true));
  if (
    statement.actions.length > 0
      ? !named(statement.actions)
      : !(statement.notActions.length > 0 && !named(statement.notActions))
  )
    return false;
  const covers = (patterns: readonly string[]) => patterns.some((pattern) => wildcardMatch(pattern, resource));
  if (
    statement.resources.length > 0
      ? !covers(statement.resources)
      : statement.notResources.length > 0
        ? covers(statement.notResources)
        : principal === undefined
  )
    return false;
  if (
    principal !== undefined &&
    !statement.principals.some((p) => p.identifiers.some((id) => id === '*' || id === principal))
  )
    return false;
  return statement.conditions.every((condition) => conditionHolds(condition, context));
}

// ---------------------------------------------------------------------------------------------
// Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators")

type Compare = (policyValue: string, requestValue: string) => boolean;

const COMPARISONS: Readonly<Record<string, { readonly compare: Compare; readonly negated: boolean }>> = {
  StringEquals: { compare: (p, r) => p === r, negated: false },
  StringNotEquals: { compare: (p, r) => p === r, negated: true },
  StringEqualsIgnoreCase: { compare: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { compare: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: true },
  StringLike: { compare: (p, r) => wildcardMatch(p, r), negated: false },
  StringNotLike: { compare: (p, r) => wildcardMatch(p, r), negated: true },
  ArnEquals: { compare: (p, r) => wildcardMatch(p, r), negated: false },
  ArnLike: { compare: (p, r) => wildcardMatch(p, r), negated: false },
  ArnNotEquals: { compare: (p, r) => wildcardMatch(p, r), negated: true },
  ArnNotLike: { compare: (p, r) => wildcardMatch(p, r), negated: true },
  Bool: { compare: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: false },
  NumericEquals: { compare: (p, r) => Number(r) === Number(p), negated: false },
  NumericLessThan: { compare: (p, r) => Number(r) < Number(p), negated: false },
  NumericLessThanEquals: { compare: (p, r) => Number(r) <= Number(p), negated: false },
  NumericGreaterThan: { compare: (p, r) => Number(r) > Number(p), negated: false },
  NumericGreaterThanEquals: { compare: (p, r) => Number(r) >= Number(p), negated: false },
};

export function conditionHolds(condition: Condition, context: ReadonlyMap<string, readonly string[]>): boolean {
  const [, set, base, ifExists] = /^(ForAllValues:|ForAnyValue:)?([A-Za-z]+?)(IfExists)?$/.exec(condition.test) ?? [];
  if (base === undefined) throw new Error(`condition operator ${condition.test} is not one IAM has`);
  if (condition.values.some((value) => /\$\{/.test(value)))
    throw new Error(`condition ${condition.test} ${condition.variable}: policy variables are not evaluated here`);
  const values = context.get(condition.variable.toLowerCase());
  if (base === 'Null') {
    // "true": the key must be absent; "false": present.
    return condition.values.every((value) => (value === 'true') === (values === undefined));
  }
  const operator = COMPARISONS[base];
  if (!operator)
    throw new Error(
      `condition operator ${condition.test} is not evaluated here: add it to stacks/policy/iam-policy.ts`,
    );
  if (values === undefined) {
    // A missing key: IfExists and ForAllValues hold (nothing to check), a negated operator holds
    // (nothing matches), anything else does not.
    return ifExists !== undefined || set === 'ForAllValues:' || operator.negated;
  }
  const matches = (value: string) => condition.values.some((policyValue) => operator.compare(policyValue, value));
  if (set === 'ForAllValues:') return values.every((value) => (operator.negated ? !matches(value) : matches(value)));
  if (operator.negated) return !values.some(matches);
  return values.some(matches);
}

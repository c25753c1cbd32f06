/**
 * Grants → an IAM policy document: as few statements as keep every action on exactly its
 * resources under exactly its conditions, checked against AWS's service authorization reference
 * before it is returned (a document the reference finds fault with is a bug here, never printed).
 */
import { jsonStatements } from '../../../stacks/policy/iam-policy';
import {
  patternCanBeType,
  referenceAction,
  wildcardMatch,
  type ReferenceAction,
} from '../../../stacks/policy/iam-reference';
import { statementProblems } from '../../../stacks/policy/rules';
import { type Condition, type Grant, type Phase, UNKNOWN } from './grants';

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
    if (current && policySize({ Version: document.Version, Statement: [...current, statement] }) <= limit)
      current.push(statement);
    else parts.push([statement]);
  }
  return parts.map((statements) => ({ Version: document.Version, Statement: statements }));
}

function known(action: string): ReferenceAction {
  const found = referenceAction(action);
  if (!found)
    throw new Error(
      `${action} is not an action in AWS's service authorization reference (scripts/lib/ci-iam names it)`,
    );
  return found;
}

/**
 * An action that takes no resource is authorized against `*` alone: its grant moves there, keeping
 * only the conditions the action supports (`aws:RequestTag/…` on CreateDistribution, nothing on
 * CreateCachePolicy). Everything else stays as granted.
 */
function onTheRightResources(
  grant: Grant,
  actions: readonly string[],
): { action: string; resources: readonly string[]; conditions: readonly Condition[] }[] {
  return actions.map((action) => {
    const reference = known(action);
    if (!reference.takesNoResource)
      return { action: reference.id, resources: grant.resources, conditions: grant.conditions ?? [] };
    const supported = (grant.conditions ?? []).filter(
      (condition) =>
        statementProblems({
          effect: 'Allow',
          actions: [reference.id],
          notActions: [],
          resources: ['*'],
          notResources: [],
          principals: [],
          conditions: [{ test: condition.operator, variable: condition.key, values: condition.values }],
        }).length === 0,
    );
    return { action: reference.id, resources: [UNKNOWN], conditions: supported };
  });
}

/** Merges grants into as few statements as keep every action on exactly its resources, under exactly its conditions. */
export function policyDocument(grants: readonly Grant[], phases: readonly Phase[]): PolicyDocument {
  // condition signature → action → resources
  const byCondition = new Map<string, { conditions: readonly Condition[]; resources: Map<string, Set<string>> }>();
  for (const grant of grants) {
    const actions = phases.flatMap((phase) => grant.phases[phase] ?? []);
    if (actions.length === 0 || grant.resources.length === 0) continue;
    for (const { action, resources, conditions } of onTheRightResources(grant, actions)) {
      const sorted = [...conditions].sort((a, b) => compare(`${a.operator} ${a.key}`, `${b.operator} ${b.key}`));
      // Values are part of the signature: a role passed to Lambda and one passed to CodeDeploy stay
      // in statements of their own, never one that passes either role to either service.
      const signature = JSON.stringify(sorted.map((c) => [c.operator, c.key, [...c.values].sort()]));
      const group = byCondition.get(signature) ?? { conditions: sorted, resources: new Map() };
      byCondition.set(signature, group);
      const set = group.resources.get(action) ?? new Set<string>();
      for (const resource of resources) set.add(resource);
      group.resources.set(action, set);
    }
  }

  const statements: Omit<PolicyStatement, 'Sid'>[] = [];
  for (const group of byCondition.values()) {
    const statementsOf = new Map<string, { actions: string[]; resources: string[] }>();
    for (const [action, set] of group.resources) {
      const resourceList = set.has(UNKNOWN) ? [UNKNOWN] : withoutCovered([...set]).sort();
      const key = `${serviceOf(action)} ${resourceList.join(' ')}`;
      const statement = statementsOf.get(key) ?? { actions: [], resources: resourceList };
      statement.actions.push(action);
      statementsOf.set(key, statement);
    }
    const condition = group.conditions.length > 0 ? conditionBlock(group.conditions) : undefined;
    for (const { actions, resources: resourceList } of mergeAcrossResourceTypes([...statementsOf.values()])) {
      statements.push({
        Effect: 'Allow',
        Action: [...new Set(actions)].sort(),
        Resource: resourceList,
        ...(condition ? { Condition: condition } : {}),
      });
    }
  }
  statements.sort(
    (a, b) =>
      compare(statementService(a.Action), statementService(b.Action)) ||
      compare(a.Resource.includes(UNKNOWN), b.Resource.includes(UNKNOWN)) ||
      compare(Boolean(a.Condition), Boolean(b.Condition)) ||
      compare(a.Resource.join(' '), b.Resource.join(' ')) ||
      compare(JSON.stringify(a.Condition ?? {}), JSON.stringify(b.Condition ?? {})),
  );
  const seen = new Map<string, number>();
  const document: PolicyDocument = {
    Version: '2012-10-17',
    Statement: statements.map((statement) => {
      // A statement on `*` says why in its Sid: its actions take no resource (AWS's reference).
      const base =
        `${sidOf(statementService(statement.Action))}` +
        `${statement.Resource.includes(UNKNOWN) ? 'NoResourceType' : ''}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { Sid: n === 1 ? base : `${base}${n}`, ...statement };
    }),
  };
  const problems = jsonStatements(document as never).flatMap(statementProblems);
  if (problems.length > 0)
    throw new Error(
      `the generated policy does not stand up to AWS's service authorization reference:\n${problems.join('\n')}`,
    );
  return document;
}

function conditionBlock(conditions: readonly Condition[]): Record<string, Record<string, string[]>> {
  const block: Record<string, Record<string, string[]>> = {};
  for (const condition of conditions) {
    const byKey = block[condition.operator] ?? {};
    block[condition.operator] = byKey;
    byKey[condition.key] = [...condition.values].sort();
  }
  return block;
}

/**
 * Joins statements of one service whose resources no action of the other statement takes (an
 * alarm and a dashboard, a distribution and a cache policy): IAM authorizes each action against
 * the resource types AWS's reference gives it, so the joined statement grants exactly what the two
 * did. The policy stays within IAM's size limit without wildcard actions. S3 stays apart: a bucket
 * pattern (`arn:aws:s3:::x-*`) also matches that bucket's objects.
 */
function mergeAcrossResourceTypes(
  statements: readonly { actions: string[]; resources: string[] }[],
): { actions: string[]; resources: string[] }[] {
  const merged: { actions: string[]; resources: string[] }[] = [];
  const reaches = (actions: readonly string[], resources: readonly string[]) =>
    actions.some((action) =>
      resources.some((resource) => known(action).resourceTypes.some((type) => patternCanBeType(resource, type))),
    );
  for (const statement of statements) {
    const service = statementService(statement.actions);
    const mergeable = service !== 's3' && !statement.resources.includes(UNKNOWN);
    const into = mergeable
      ? merged.find(
          (m) =>
            statementService(m.actions) === service &&
            !m.resources.includes(UNKNOWN) &&
            !reaches(m.actions, statement.resources) &&
            !reaches(statement.actions, m.resources),
        )
      : undefined;
    if (!into) {
      merged.push({ actions: [...statement.actions], resources: [...statement.resources] });
      continue;
    }
    into.actions.push(...statement.actions);
    into.resources.push(...statement.resources);
  }
  return merged.map(({ actions, resources: list }) => ({ actions, resources: [...new Set(list)].sort() }));
}

/** Drops patterns another one of the list already matches (`function:x-*:*` under `function:x-*`). */
function withoutCovered(patterns: readonly string[]): string[] {
  return patterns.filter(
    (pattern) => !patterns.some((other) => other !== pattern && !other.includes('?') && wildcardMatch(other, pattern)),
  );
}

function serviceOf(action: string): string {
  return action.slice(0, action.indexOf(':'));
}

/** The service of a statement: its first action's (statements are made per service). */
function statementService(actions: readonly string[]): string {
  const [first] = actions;
  if (first === undefined) throw new Error('a policy statement without actions');
  return serviceOf(first);
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

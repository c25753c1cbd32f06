/**
 * What every service's table is made of: the type of an entry, and the ARN builders and grants that
 * the entries of more than one service use.
 */
import type { Json } from '../../../../stacks/policy/terraform-json';
import { type Condition, type Grant, PARTITION, type Phases, type ResourceView } from '../grants';

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
   * distribution's tag (../index.ts does so wherever the type has tags and the reference supports
   * `aws:ResourceTag`). @default narrowed
   */
  readonly notTagScoped?: string;
}

export const NO_AWS_PERMISSIONS: ResourcePermissions = { arns: () => [], actions: {} };

// ---------------------------------------------------------------------------------------------
// ARN builders shared by the tables

export const s3Bucket = (name: string) => `arn:${PARTITION}:s3:::${name}`;
export const lambdaFunction = (r: ResourceView, name: string) => r.arn('lambda', r.region, `function:${name}`);

export function passRole(r: ResourceView, attribute: string, service: string): Grant {
  return passRoleAt(r, r.body[attribute], service);
}

/** passRole for a role named anywhere in the resource (a nested block's attribute). */
export function passRoleAt(r: ResourceView, value: Json | undefined, service: string): Grant {
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

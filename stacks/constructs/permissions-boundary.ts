/**
 * Every IAM role in a scope carries one permissions boundary, as aws-cdk-lib's
 * `PermissionsBoundary.of(scope).apply(policy)` does: an aspect sets it on each role at synth, so a
 * role added later cannot forget it.
 *
 * The boundary is the customer managed policy `<name>-permissions-boundary`, made with the CI roles
 * (`npm run names -- --iam`) and never by the stacks: the deploy role may create or change a role
 * only with this boundary on it, and cannot change the boundary itself, so no role it writes can do
 * more than the stacks' own roles do together. That closes the way from the deploy role to admin
 * (a role with AdministratorAccess, passed to a function the deploy role then invokes).
 */
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Aspects, type IAspect } from 'cdktf';
import type { IConstruct } from 'constructs';

export class PermissionsBoundary {
  static of(scope: IConstruct): PermissionsBoundary {
    return new PermissionsBoundary(scope);
  }

  private constructor(private readonly scope: IConstruct) {}

  /** Puts the managed policy `policyArn` on every role in the scope as its permissions boundary. */
  apply(policyArn: string): void {
    const aspect: IAspect = {
      visit(node) {
        if (node instanceof IamRole) node.permissionsBoundary = policyArn;
      },
    };
    Aspects.of(this.scope).add(aspect);
  }
}

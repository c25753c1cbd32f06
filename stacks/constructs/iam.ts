/**
 * IAM as structured data: every policy is an `aws_iam_policy_document` data source (rendered by
 * the provider, no API call), so the synthesized JSON states each action, resource and condition
 * and the policy rules in stacks/policy can read them. Statements are added by methods
 * (`addStatements`, `ServiceRole.addToPolicy`), the way aws-cdk-lib grants.
 */
import {
  DataAwsIamPolicyDocument,
  dataAwsIamPolicyDocumentStatementToTerraform,
  type DataAwsIamPolicyDocumentStatement,
} from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Lazy, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface PolicyCondition {
  readonly test: string;
  readonly variable: string;
  readonly values: readonly string[];
}

export interface PolicyStatement {
  readonly sid?: string;
  /** @default 'Allow' */
  readonly effect?: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources?: readonly string[];
  /** @default no principals (identity policies) */
  readonly principals?: readonly { readonly type: string; readonly identifiers: readonly string[] }[];
  /** @default no conditions */
  readonly conditions?: readonly PolicyCondition[];
}

export interface PolicyDocumentProps {
  readonly provider: AwsProvider;
  /** @default empty; add with addStatements */
  readonly statements?: readonly PolicyStatement[];
}

export class PolicyDocument extends Construct {
  private readonly statements: PolicyStatement[] = [];
  private readonly document: DataAwsIamPolicyDocument;

  constructor(scope: Construct, id: string, props: PolicyDocumentProps) {
    super(scope, id);
    this.statements.push(...(props.statements ?? []));
    this.document = new DataAwsIamPolicyDocument(this, 'document', {
      provider: props.provider,
      // Grants may arrive after construction (bucket.grantRead(identity)); render them at synth,
      // through the provider's own converter since a lazy value skips the generated mapping.
      statement: Lazy.anyValue({
        produce: () => this.statements.map((s) => dataAwsIamPolicyDocumentStatementToTerraform(toTerraform(s))),
      }),
    });
    this.node.addValidation({
      validate: () => (this.statements.length === 0 ? [`${this.node.path}: policy document has no statements`] : []),
    });
  }

  get json(): string {
    return this.document.json;
  }

  get isEmpty(): boolean {
    return this.statements.length === 0;
  }

  addStatements(...statements: PolicyStatement[]): void {
    this.statements.push(...statements);
  }
}

function toTerraform(statement: PolicyStatement): DataAwsIamPolicyDocumentStatement {
  return {
    sid: statement.sid,
    effect: statement.effect ?? 'Allow',
    actions: [...statement.actions],
    resources: statement.resources ? [...statement.resources] : undefined,
    principals: statement.principals?.map((p) => ({ type: p.type, identifiers: [...p.identifiers] })),
    condition: statement.conditions?.map((c) => ({ test: c.test, variable: c.variable, values: [...c.values] })),
  };
}

export interface ServiceRoleProps {
  readonly roleName: string;
  /** Service principals allowed to assume the role, e.g. lambda.amazonaws.com. */
  readonly assumedBy: readonly string[];
  readonly provider: AwsProvider;
  /** @default no description */
  readonly description?: string;
}

/** A role for AWS services, with one inline policy that grows through addToPolicy. */
export class ServiceRole extends Construct {
  readonly role: IamRole;
  private readonly provider: AwsProvider;
  private inline?: { document: PolicyDocument; policy: IamRolePolicy };
  private readonly attachments: IamRolePolicyAttachment[] = [];

  constructor(scope: Construct, id: string, props: ServiceRoleProps) {
    super(scope, id);
    this.provider = props.provider;
    const trust = new PolicyDocument(this, 'trust', {
      provider: props.provider,
      statements: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: props.assumedBy }] }],
    });
    this.role = new IamRole(this, 'role', {
      provider: props.provider,
      name: props.roleName,
      description: props.description,
      assumeRolePolicy: trust.json,
    });
  }

  get roleArn(): string {
    return this.role.arn;
  }

  get roleName(): string {
    return this.role.name;
  }

  addToPolicy(...statements: PolicyStatement[]): void {
    if (!this.inline) {
      const document = new PolicyDocument(this, 'policy-document', { provider: this.provider });
      const policy = new IamRolePolicy(this, 'policy', {
        provider: this.provider,
        name: 'least-privilege',
        role: this.role.id,
        policy: document.json,
      });
      this.inline = { document, policy };
    }
    this.inline.document.addStatements(...statements);
  }

  attachManagedPolicy(policyArn: string): void {
    this.attachments.push(
      new IamRolePolicyAttachment(this, `managed-${this.attachments.length}`, {
        provider: this.provider,
        role: this.role.name,
        policyArn,
      }),
    );
  }

  /** What a resource using the role must wait for, so its first call already has the permissions. */
  get permissionResources(): ITerraformDependable[] {
    return [...(this.inline ? [this.inline.policy] : []), ...this.attachments];
  }
}

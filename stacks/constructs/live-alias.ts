/**
 * The entry router's alias `live`: the single source of truth for "which builds, at what weight".
 *
 * Terraform creates it on the version the first deploy published; after that CodeDeploy owns
 * where it points and how traffic is split, so those two attributes — and only those — are
 * ignored. Anything else drifting still shows in a plan.
 */
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';

/** The attributes CodeDeploy changes at run time. */
export const CODEDEPLOY_OWNED_ALIAS_ATTRIBUTES = ['function_version', 'routing_config'] as const;

export interface LiveAliasProps {
  readonly aliasName: string;
  readonly functionName: string;
  /** The version the alias starts on; later versions reach it through CodeDeploy. */
  readonly initialVersion: string;
  readonly provider: AwsProvider;
}

export class LiveAlias extends Construct {
  readonly alias: LambdaAlias;

  constructor(scope: Construct, id: string, props: LiveAliasProps) {
    super(scope, id);
    this.alias = new LambdaAlias(this, 'alias', {
      provider: props.provider,
      name: props.aliasName,
      functionName: props.functionName,
      functionVersion: props.initialVersion,
      description: 'Shifted by CodeDeploy; mirrored into the rollout record by rollout sync',
      lifecycle: { ignoreChanges: [...CODEDEPLOY_OWNED_ALIAS_ATTRIBUTES] },
    });
  }

  get aliasName(): string {
    return this.alias.name;
  }

  get aliasArn(): string {
    return this.alias.arn;
  }
}

/**
 * The entry router's alias `live`: the single source of truth for "which builds, at what weight".
 *
 * Terraform creates it on the version the first deploy published; after that CodeDeploy owns
 * where it points and how traffic is split, so those two attributes — and only those — are
 * ignored. Anything else drifting still shows in a plan.
 *
 * `servedBuildId` is the build the alias serves as stable now, read at plan time: the version in
 * `function_version` (under ignore_changes, so in a plan the value CodeDeploy left, refreshed; on
 * the first deploy the version being published) names its build in its description
 * (contracts/version-description.ts). The rollout key is created with it, so a key recreated by a
 * deploy never moves viewers to a build before CodeDeploy does.
 */
import { DataAwsLambdaFunction } from '@cdktf/provider-aws/lib/data-aws-lambda-function';
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Fn, TerraformSelf } from 'cdktf';
import { Construct } from 'constructs';
import { BUILD_ID_SOURCE } from '../../contracts/build-id';

/** The attributes CodeDeploy changes at run time. */
export const CODEDEPLOY_OWNED_ALIAS_ATTRIBUTES = ['function_version', 'routing_config'] as const;

/**
 * The buildId in a version description, as a Terraform `regex` pattern (RE2): the one capture group
 * is the build. contracts/version-description.ts's pattern, with a space where it allows any
 * whitespace: versionDescription writes one space, and a `\s` would have to survive JSON, the
 * Terraform template and the HCL string literal inside it (HCL has no `\s` escape). With one
 * unnamed capture group, `regex` returns the list of captured strings and fails when nothing
 * matches (developer.hashicorp.com/terraform/language/functions/regex).
 */
const DESCRIBED_BUILD_PATTERN = `(?:^| )buildId=(${BUILD_ID_SOURCE})(?: |$)`;

export interface LiveAliasProps {
  readonly aliasName: string;
  readonly functionName: string;
  /** The version the alias starts on; later versions reach it through CodeDeploy. */
  readonly initialVersion: string;
  readonly provider: AwsProvider;
}

export class LiveAlias extends Construct {
  readonly alias: LambdaAlias;
  /** The version the alias points at (its primary: during a shift, the old one), read at plan time. */
  readonly servedVersion: DataAwsLambdaFunction;

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
    // The provider reads it with GetFunction(FunctionName, Qualifier): that version's configuration,
    // its description included (registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/lambda_function,
    // `qualifier`: "Alias name or version number"). It refers to the alias and nothing else: a data
    // source is read during apply instead of plan when its arguments are unknown, or when a managed
    // resource it refers to has planned changes (an implied depends_on, hashicorp/terraform#27171),
    // and the alias has none once it exists (its moving attributes are ignored), so a plan reads it
    // and shows nothing, its function_version being the refreshed one CodeDeploy left. On the first
    // deploy the alias is created on the version being published: the read waits for the apply.
    this.servedVersion = new DataAwsLambdaFunction(this, 'served-version', {
      provider: props.provider,
      functionName: this.alias.functionName,
      qualifier: this.alias.functionVersion,
      lifecycle: {
        postcondition: [
          {
            condition: Fn.can(Fn.regex(DESCRIBED_BUILD_PATTERN, TerraformSelf.getString('description'))),
            errorMessage:
              `The version alias ${props.aliasName} points at does not name its build in its description ` +
              `(buildId=<16 hex>): only versions this stack published may serve viewers; point the alias at one, ` +
              `e.g. the version the last deploy published.`,
          },
        ],
      },
    });
  }

  /**
   * The build the alias serves as stable now, as a Terraform expression over servedVersion's
   * description: `element(regex(DESCRIBED_BUILD_PATTERN, description), 0)`.
   */
  get servedBuildId(): string {
    return Fn.element(Fn.regex(DESCRIBED_BUILD_PATTERN, this.servedVersion.description), 0);
  }

  get aliasName(): string {
    return this.alias.name;
  }

  get aliasArn(): string {
    return this.alias.arn;
  }
}

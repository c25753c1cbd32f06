/**
 * The release: a function Terraform invokes once per new entry-router version, which starts the
 * CodeDeploy deployment from the alias's current version to the new one. `cdktf deploy` thus
 * releases end to end, with no CI credentials beyond Terraform's own.
 *
 * The invocation is keyed on the version (a new version ⇒ a new invocation; the same build ⇒
 * none) and waits for everything the deployment needs: the distribution already associated
 * with the new version, the alias, the deployment group and the alarms that judge it.
 */
import { LambdaInvocation } from '@cdktf/provider-aws/lib/lambda-invocation';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { BUILDS_PREFIX } from '../../contracts/published-build';
import type { ReleaseEnvironment, ReleaseInput } from '../../contracts/function-environment';
import type { FunctionCode } from './packaged-function';
import { RegionalFunction } from './regional-function';

export interface ReleaseProps {
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  readonly environment: ReleaseEnvironment;
  readonly entryRouterArn: string;
  /** The version this deploy published, and the build it serves. */
  readonly input: ReleaseInput;
  /** Region → replica bucket: the function checks a build's manifest is in each before releasing it. */
  readonly buckets: Readonly<Record<string, string>>;
  readonly applicationArn: string;
  readonly deploymentGroupArn: string;
  /**
   * Every deployment config a release may use: the group's own, and LambdaAllAtOnce for a release that keeps the build.
   */
  readonly deploymentConfigArns: readonly string[];
  /** What must be in place before CodeDeploy starts. */
  readonly after: readonly ITerraformDependable[];
  readonly logRetentionDays: number;
  readonly provider: AwsProvider;
}

export class Release extends Construct {
  readonly handler: RegionalFunction<ReleaseEnvironment>;
  readonly invocation: LambdaInvocation;

  constructor(scope: Construct, id: string, props: ReleaseProps) {
    super(scope, id);
    const { provider } = props;
    this.handler = new RegionalFunction(this, 'handler', {
      functionName: props.functionName,
      code: props.code,
      runtime: props.runtime,
      provider,
      logRetentionDays: props.logRetentionDays,
      environment: props.environment,
      timeout: 60,
      description: 'Starts the CodeDeploy deployment of a new entry router version',
    });
    this.handler.addToRolePolicy(
      {
        sid: 'ReadEntryRouterAliasAndVersions',
        actions: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
        resources: [props.entryRouterArn, `${props.entryRouterArn}:*`],
      },
      {
        sid: 'DeployThroughOwnGroup',
        actions: ['codedeploy:CreateDeployment', 'codedeploy:GetDeployment', 'codedeploy:ListDeployments'],
        resources: [props.deploymentGroupArn],
      },
      // CreateDeployment reads the config it deploys with: the group's, or LambdaAllAtOnce when the build does not
      // change.
      {
        sid: 'UseDeploymentConfigs',
        actions: ['codedeploy:GetDeploymentConfig'],
        resources: [...props.deploymentConfigArns],
      },
      {
        sid: 'SeeBuildManifests',
        actions: ['s3:GetObject'],
        resources: Object.values(props.buckets).map((bucket) => `arn:aws:s3:::${bucket}/${BUILDS_PREFIX}*`),
      },
      {
        sid: 'RegisterRevisionInOwnApplication',
        actions: ['codedeploy:RegisterApplicationRevision', 'codedeploy:GetApplicationRevision'],
        resources: [props.applicationArn],
      },
    );
    const input: ReleaseInput = { version: props.input.version, buildId: props.input.buildId };
    this.invocation = new LambdaInvocation(this, 'invocation', {
      provider,
      functionName: this.handler.functionName,
      input: JSON.stringify(input),
      triggers: { version: props.input.version },
      dependsOn: [...props.after, ...this.handler.permissionResources],
    });
  }
}

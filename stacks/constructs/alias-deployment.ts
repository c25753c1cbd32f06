/**
 * CodeDeploy for the entry router's alias: application (compute platform Lambda), deployment
 * group (blue/green with traffic control, the verdict's alarm, automatic rollback on failure and
 * on alarm), the deployment configuration (all at once, or a canary at the first step held for the
 * release's window: config/rollout.ts), and the service role.
 */
import { CodedeployApp } from '@cdktf/provider-aws/lib/codedeploy-app';
import { CodedeployDeploymentConfig } from '@cdktf/provider-aws/lib/codedeploy-deployment-config';
import { CodedeployDeploymentGroup } from '@cdktf/provider-aws/lib/codedeploy-deployment-group';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import {
  customDeploymentConfigName,
  deploymentTrafficRouting,
  predefinedDeploymentConfig,
  type RolloutConfig,
} from '../../config';
import type { AwsAccount } from './aws-account';
import { ServiceRole } from './iam';

export const LAMBDA_CODEDEPLOY_MANAGED_POLICY = 'policy/service-role/AWSCodeDeployRoleForLambda';

export interface AliasDeploymentProps {
  /** Distribution name: prefixes the custom deployment config and the role. */
  readonly name: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly rollout: RolloutConfig;
  /** config.alarms.holdMinutes: with the steps, how long the deployment stays open. */
  readonly holdMinutes: number;
  /** Alarms that stop and roll back a deployment. */
  readonly alarmNames: readonly string[];
  readonly provider: AwsProvider;
  readonly account: AwsAccount;
}

export class AliasDeployment extends Construct {
  readonly application: CodedeployApp;
  readonly deploymentGroup: CodedeployDeploymentGroup;
  /** Predefined (`CodeDeployDefault.…`) or the custom config's name. */
  readonly deploymentConfigName: string;
  /** ARN of the deployment config, predefined or custom (for IAM). */
  readonly deploymentConfigArn: string;
  readonly customConfig?: CodedeployDeploymentConfig;

  constructor(scope: Construct, id: string, props: AliasDeploymentProps) {
    super(scope, id);
    const { provider, account, rollout } = props;
    const region = provider.region ?? 'us-east-1';
    this.application = new CodedeployApp(this, 'application', {
      provider,
      name: props.applicationName,
      computePlatform: 'Lambda',
    });

    const predefined = predefinedDeploymentConfig(rollout);
    if (predefined) {
      this.deploymentConfigName = predefined;
    } else {
      // The first step's weight, held while rollout sync moves viewers on as the judge allows
      // (config/rollout.ts says why CodeDeploy does not step them itself).
      this.customConfig = new CodedeployDeploymentConfig(this, 'config', {
        provider,
        deploymentConfigName: customDeploymentConfigName(props.name, rollout, props.holdMinutes),
        computePlatform: 'Lambda',
        trafficRoutingConfig: {
          type: 'TimeBasedCanary',
          timeBasedCanary: deploymentTrafficRouting(rollout, props.holdMinutes),
        },
      });
      this.deploymentConfigName = this.customConfig.deploymentConfigName;
    }
    this.deploymentConfigArn = account.arn('codedeploy', region, `deploymentconfig:${this.deploymentConfigName}`);

    const role = new ServiceRole(this, 'service-role', {
      provider,
      roleName: `${props.name}-codedeploy`,
      assumedBy: ['codedeploy.amazonaws.com'],
      description: 'CodeDeploy shifts the entry router alias',
    });
    role.attachManagedPolicy(account.arn('iam', '', LAMBDA_CODEDEPLOY_MANAGED_POLICY, 'aws'));

    this.deploymentGroup = new CodedeployDeploymentGroup(this, 'group', {
      provider,
      appName: this.application.name,
      deploymentGroupName: props.deploymentGroupName,
      serviceRoleArn: role.roleArn,
      deploymentConfigName: this.deploymentConfigName,
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      alarmConfiguration: { enabled: true, alarms: [...props.alarmNames] },
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
      dependsOn: role.permissionResources,
    });
  }

  get applicationName(): string {
    return this.application.name;
  }

  get applicationArn(): string {
    return this.application.arn;
  }

  get deploymentGroupName(): string {
    return this.deploymentGroup.deploymentGroupName;
  }

  get deploymentGroupArn(): string {
    return this.deploymentGroup.arn;
  }
}

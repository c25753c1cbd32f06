/** CodeDeploy: the application, its deployment group and deployment configuration. */
import { passRole, type ResourcePermissions } from './shared';

export const CODEDEPLOY_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_codedeploy_app: {
    arns: (r) => [r.arn('codedeploy', r.region, `application:${r.scoped('name')}`)],
    actions: {
      create: ['codedeploy:CreateApplication', 'codedeploy:TagResource'],
      read: ['codedeploy:GetApplication', 'codedeploy:ListTagsForResource'],
      update: ['codedeploy:UpdateApplication', 'codedeploy:TagResource', 'codedeploy:UntagResource'],
      delete: ['codedeploy:DeleteApplication'],
    },
  },
  aws_codedeploy_deployment_group: {
    arns: (r) => [
      r.arn('codedeploy', r.region, `deploymentgroup:${r.scoped('app_name')}/${r.scoped('deployment_group_name')}`),
    ],
    actions: {
      create: ['codedeploy:CreateDeploymentGroup', 'codedeploy:TagResource'],
      read: ['codedeploy:GetDeploymentGroup', 'codedeploy:ListTagsForResource'],
      update: ['codedeploy:UpdateDeploymentGroup', 'codedeploy:TagResource', 'codedeploy:UntagResource'],
      delete: ['codedeploy:DeleteDeploymentGroup'],
    },
    also: (r) => [
      passRole(r, 'service_role_arn', 'codedeploy.amazonaws.com'),
      // The group names its deployment configuration; CodeDeploy reads it as the caller.
      {
        phases: { create: ['codedeploy:GetDeploymentConfig'], update: ['codedeploy:GetDeploymentConfig'] },
        resources: [r.arn('codedeploy', r.region, `deploymentconfig:${r.scoped('deployment_config_name')}`)],
      },
    ],
  },
  aws_codedeploy_deployment_config: {
    arns: (r) => [r.arn('codedeploy', r.region, `deploymentconfig:${r.scoped('deployment_config_name')}`)],
    actions: {
      create: ['codedeploy:CreateDeploymentConfig'],
      read: ['codedeploy:GetDeploymentConfig'],
      delete: ['codedeploy:DeleteDeploymentConfig'],
    },
  },
};

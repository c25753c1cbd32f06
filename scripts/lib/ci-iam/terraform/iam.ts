/** IAM: the roles the stacks create, their inline policies and their managed policy attachments. */
import type { ResourceView } from '../grants';
import type { ResourcePermissions } from './shared';

// Also the ARNs of what attaches to a role: IAM authorizes those actions on it.
const roleArns = (r: ResourceView): readonly string[] => [
  r.arn('iam', '', `role${r.body.path ?? '/'}${r.scoped('name')}`),
];

export const IAM_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_iam_role: {
    arns: roleArns,
    actions: {
      create: ['iam:CreateRole', 'iam:TagRole', 'iam:GetRole'],
      read: [
        'iam:GetRole',
        'iam:ListRoleTags',
        'iam:ListRolePolicies',
        'iam:GetRolePolicy',
        'iam:ListAttachedRolePolicies',
      ],
      update: [
        'iam:UpdateRole',
        'iam:UpdateRoleDescription',
        'iam:UpdateAssumeRolePolicy',
        'iam:TagRole',
        'iam:UntagRole',
      ],
      // The provider removes the role from any instance profile before deleting it.
      delete: ['iam:ListInstanceProfilesForRole', 'iam:DeleteRole'],
    },
  },
  aws_iam_role_policy: {
    arns: (r) => roleArns(r.target('role') ?? r),
    actions: {
      create: ['iam:PutRolePolicy'],
      read: ['iam:GetRolePolicy'],
      update: ['iam:PutRolePolicy'],
      delete: ['iam:DeleteRolePolicy'],
    },
  },
  aws_iam_role_policy_attachment: {
    arns: (r) => roleArns(r.target('role') ?? r),
    actions: {
      create: ['iam:AttachRolePolicy'],
      read: ['iam:ListAttachedRolePolicies'],
      delete: ['iam:DetachRolePolicy'],
    },
  },
};

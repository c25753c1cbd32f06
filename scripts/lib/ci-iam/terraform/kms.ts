/** KMS: the key an alias names (the stacks create no key). */
import type { ResourcePermissions } from './shared';

export const KMS_DATA_SOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // The key an alias points at (the signal stream's AWS managed key): the provider lists the
  // aliases (ListAliases, which takes no resource), then asks DescribeKey by the alias, which is
  // authorized on the key, an id KMS assigns: any key of the region, but only when the request
  // names this alias (kms:RequestAlias, which the reference gives DescribeKey).
  aws_kms_alias: {
    arns: (r) => [r.arn('kms', r.region, 'key/*')],
    actions: { read: ['kms:ListAliases'] },
    conditional: {
      actions: { read: ['kms:DescribeKey'] },
      condition: (r) => ({ operator: 'StringEquals', key: 'kms:RequestAlias', values: [r.value('name')] }),
    },
  },
};

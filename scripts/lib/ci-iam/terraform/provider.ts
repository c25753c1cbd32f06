/** Data sources the provider answers without a permission: computed locally, or from STS. */
import { NO_AWS_PERMISSIONS, type ResourcePermissions } from './shared';

export const PROVIDER_DATA_SOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // STS GetCallerIdentity needs no permission; the partition and policy documents are computed locally.
  aws_caller_identity: NO_AWS_PERMISSIONS,
  aws_partition: NO_AWS_PERMISSIONS,
  aws_iam_policy_document: NO_AWS_PERMISSIONS,
};

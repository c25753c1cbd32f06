/** The state backend, from each stack's `terraform.backend`, and the other stack's state read through it. */
import { type Block, single } from '../../../../stacks/policy/terraform-json';
import type { Grant } from '../grants';
import { type ResourcePermissions, s3Bucket } from './shared';

export const STATE_BACKEND_DATA_SOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // The other stack's outputs, read through its backend.
  terraform_remote_state: {
    arns: () => [],
    actions: {},
    also: (r) =>
      stateBackendGrants(String(r.body.backend), single(r.body.config) ?? {}, r.address, { write: false, lock: false }),
  },
};

export function stateBackendGrants(
  type: string,
  backend: Block,
  where: string,
  access: { write: boolean; lock: boolean },
): Grant[] {
  if (type === 'local' || type === 'remote') return []; // a file on the runner; Terraform Cloud's own token
  if (type !== 's3')
    throw new Error(
      `${where}: the ${type} state backend has no IAM mapping in ` +
        `scripts/lib/ci-iam/terraform/state-backend.ts; add one.`,
    );
  const bucket = s3Bucket(String(backend.bucket));
  const state = `${bucket}/${String(backend.key)}`;
  const grants: Grant[] = [
    { phases: { read: ['s3:ListBucket'] }, resources: [bucket] },
    { phases: { read: ['s3:GetObject'], ...(access.write ? { update: ['s3:PutObject'] } : {}) }, resources: [state] },
  ];
  // S3-native locking (use_lockfile): an apply writes and removes `<key>.tflock`. Plans run with
  // -lock=false (the workflows set TF_CLI_ARGS_plan), so the read-only plan role needs no write.
  if (access.lock && backend.use_lockfile === true)
    grants.push({
      phases: { read: ['s3:GetObject'], update: ['s3:PutObject', 's3:DeleteObject'] },
      resources: [`${state}.tflock`],
    });
  return grants;
}

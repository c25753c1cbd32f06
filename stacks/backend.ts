/**
 * Where each stack keeps its state, from `config.backend`. One state per stack, so the replica
 * buckets are never in the blast radius of a release; the delivery stack reads the replica
 * stack's outputs through the same backend (terraform_remote_state), which cdktf wires itself.
 */
import {
  CloudBackend,
  LocalBackend,
  NamedCloudWorkspace,
  S3Backend,
  type TerraformBackend,
  type TerraformStack,
} from 'cdktf';
import type { BackendConfig } from '../config';

/**
 * Terraform runs in `cdktf.out/stacks/<stack>/`; local state lives three levels up, in the project
 * root, so it survives a clean `cdktf.out` and the path in the synthesized JSON is the same on
 * every machine (cdktf's default is an absolute path).
 */
export const LOCAL_STATE_DIR = '../../..';

export function localStatePath(stackName: string): string {
  return `${LOCAL_STATE_DIR}/terraform.${stackName}.tfstate`;
}

export function configureBackend(stack: TerraformStack, backend: BackendConfig, stackName: string): TerraformBackend {
  switch (backend.type) {
    case 'local':
      return new LocalBackend(stack, { path: localStatePath(stackName) });
    case 'cloud':
      return new CloudBackend(stack, {
        hostname: backend.hostname,
        organization: requireValue(backend.organization, 'backend.organization'),
        workspaces: new NamedCloudWorkspace(
          `${requireValue(backend.workspacePrefix, 'backend.workspacePrefix')}-${stackName}`,
        ),
      });
    case 's3': {
      const s3 = new S3Backend(stack, {
        bucket: backend.bucket,
        key: `${backend.keyPrefix ? `${backend.keyPrefix}/` : ''}${stackName}.tfstate`,
        region: backend.region,
        encrypt: true,
      });
      // Terraform ≥ 1.10 locks with a lock object next to the state; cdktf 0.21 has no field for it.
      if (backend.useLockfile) s3.addOverride('use_lockfile', true);
      return s3;
    }
  }
}

function requireValue(value: string | undefined, field: string): string {
  // loadConfig fills these from the environment or fails; reaching here without them is a bug.
  if (!value) throw new Error(`${field} is not set for the Terraform Cloud backend`);
  return value;
}

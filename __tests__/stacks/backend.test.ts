import { resourceNames } from '../../config';
import type { Block } from '../../stacks/policy/terraform-json';
import { synthesize, testConfig } from './support';

describe('backend', () => {
  it('keeps local state per stack at a relative path, and reads the replica outputs from it', () => {
    const { replicas, delivery, config } = synthesize(testConfig());
    const names = resourceNames(config);
    expect(replicas.json.terraform?.backend).toEqual({
      local: { path: `../../../terraform.${names.replicaStack}.tfstate` },
    });
    expect(delivery.json.terraform?.backend).toEqual({
      local: { path: `../../../terraform.${names.deliveryStack}.tfstate` },
    });
    const remote = Object.values(delivery.json.data?.terraform_remote_state ?? {});
    expect(remote).toEqual([
      expect.objectContaining({
        backend: 'local',
        config: { path: `../../../terraform.${names.replicaStack}.tfstate` },
      }),
    ]);
  });

  it('uses one Terraform Cloud workspace per stack, <prefix>-<stack>', () => {
    const config = testConfig({
      backend: { type: 'cloud', organization: 'acme', workspacePrefix: 'widgets', hostname: 'tfe.acme.example' },
    });
    const { replicas, delivery } = synthesize(config);
    const names = resourceNames(config);
    expect(replicas.json.terraform?.cloud).toEqual({
      hostname: 'tfe.acme.example',
      organization: 'acme',
      workspaces: { name: `widgets-${names.replicaStack}` },
    });
    expect(delivery.json.terraform?.cloud).toEqual({
      hostname: 'tfe.acme.example',
      organization: 'acme',
      workspaces: { name: `widgets-${names.deliveryStack}` },
    });
    const remote = Object.values(delivery.json.data?.terraform_remote_state ?? {}) as Block[];
    expect(remote).toEqual([
      expect.objectContaining({
        backend: 'remote',
        config: expect.objectContaining({
          organization: 'acme',
          hostname: 'tfe.acme.example',
          workspaces: { name: `widgets-${names.replicaStack}` },
        }),
      }),
    ]);
  });

  it('falls back to the environment for the Terraform Cloud organization and prefix', () => {
    const config = testConfig(
      { backend: { type: 'cloud' } },
      { TF_CLOUD_ORGANIZATION: 'env-org', TF_WORKSPACE_PREFIX: 'envp' },
    );
    const { replicas } = synthesize(config);
    expect(replicas.json.terraform?.cloud).toMatchObject({
      organization: 'env-org',
      hostname: 'app.terraform.io',
      workspaces: { name: `envp-${resourceNames(config).replicaStack}` },
    });
  });

  it('stores state in S3 under <keyPrefix>/<stack>.tfstate, encrypted, with S3-native locking', () => {
    const config = testConfig({
      backend: { type: 's3', bucket: 'acme-state', region: 'eu-west-1', keyPrefix: 'widgets/prod' },
    });
    const { replicas, delivery } = synthesize(config);
    const names = resourceNames(config);
    expect(replicas.json.terraform?.backend).toEqual({
      s3: {
        bucket: 'acme-state',
        key: `widgets/prod/${names.replicaStack}.tfstate`,
        region: 'eu-west-1',
        encrypt: true,
        use_lockfile: true,
      },
    });
    expect((delivery.json.terraform?.backend as Block | undefined)?.s3).toMatchObject({
      key: `widgets/prod/${names.deliveryStack}.tfstate`,
      use_lockfile: true,
    });
    const remote = Object.values(delivery.json.data?.terraform_remote_state ?? {}) as Block[];
    expect(remote).toEqual([
      expect.objectContaining({
        backend: 's3',
        config: expect.objectContaining({ bucket: 'acme-state', key: `widgets/prod/${names.replicaStack}.tfstate` }),
      }),
    ]);
  });

  it('leaves locking off when useLockfile is false', () => {
    const { replicas } = synthesize(
      testConfig({ backend: { type: 's3', bucket: 'acme-state', region: 'eu-west-1', useLockfile: false } }),
    );
    expect((replicas.json.terraform?.backend as Block | undefined)?.s3).not.toHaveProperty('use_lockfile');
  });
});

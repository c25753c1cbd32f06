/**
 * The app's stacks, wired: the replica stack first, the delivery stack reading its outputs by
 * reference. main.ts and the tests build exactly this.
 */
import type { App } from 'cdktf';
import { resourceNames, type DeployConfig } from '../config';
import type { BuildManifest } from '../contracts/build-manifest';
import type { PriceClass } from './constructs/distribution';
import { DeliveryStack } from './delivery-stack';
import { ReplicaStack } from './replica-stack';

export interface DistributionStacksProps {
  readonly config: DeployConfig;
  readonly manifest: BuildManifest;
  readonly buildDir: string;
  /** @default 'PriceClass_All' */
  readonly priceClass?: PriceClass;
}

export interface DistributionStacks {
  readonly replicas: ReplicaStack;
  readonly delivery: DeliveryStack;
}

export function createStacks(app: App, props: DistributionStacksProps): DistributionStacks {
  const names = resourceNames(props.config);
  const replicas = new ReplicaStack(app, names.replicaStack, { config: props.config });
  const delivery = new DeliveryStack(app, names.deliveryStack, { ...props, replicas });
  return { replicas, delivery };
}

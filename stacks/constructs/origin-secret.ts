/**
 * The secret CloudFront sends the metrics API (header x-origin-verify), so that beacons count only
 * when they came through the distribution: the API's own endpoint is public, and without this
 * anyone could call it directly with any CloudFront-Viewer-Address they like.
 *
 * Created by Terraform (random_password, 48 letters and digits, 285 bits), kept in Terraform state
 * only (which is why the state must stay private: Terraform Cloud encrypts it), never in the
 * repository or the widget. The function's environment holds SHA-256 digests, not the secret, so
 * reading its configuration does not reveal it; CloudFront's distribution config does hold the
 * secret itself, as every origin custom header is.
 *
 * Rotation without losing beacons: two slots, A and B. Generation g (config
 * `metrics.originSecretGeneration`) sends slot g mod 2, and the metrics API accepts both. Raising
 * g by one regenerates only the slot about to be sent (its keeper changes), while the other slot
 * keeps the secret edges may still send until CloudFront has deployed the new configuration
 * everywhere. Wait for that (minutes) before rotating again.
 */
import { Fn } from 'cdktf';
import { Password } from '@cdktf/provider-random/lib/password';
import type { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { Construct } from 'constructs';

export const SECRET_LENGTH = 48;

export interface OriginSecretProps {
  /** config metrics.originSecretGeneration; raise by one to rotate. */
  readonly generation: number;
  readonly provider: RandomProvider;
}

/** The generation a slot's secret was last made in, at generation g: g for the slot in use, g − 1 for the other. */
export function slotKeeper(slot: 0 | 1, generation: number): number {
  return generation % 2 === slot ? generation : generation - 1;
}

export class OriginSecret extends Construct {
  private readonly slots: readonly [Password, Password];
  private readonly generation: number;

  constructor(scope: Construct, id: string, props: OriginSecretProps) {
    super(scope, id);
    this.generation = props.generation;
    const slot = (index: 0 | 1) =>
      new Password(this, index === 0 ? 'slot-a' : 'slot-b', {
        provider: props.provider,
        length: SECRET_LENGTH,
        special: false,
        keepers: { generation: String(slotKeeper(index, props.generation)) },
      });
    this.slots = [slot(0), slot(1)];
  }

  /** What CloudFront sends now. */
  get current(): string {
    return this.slots[this.generation % 2].result;
  }

  /** JSON array of the SHA-256 digests (hex) of both slots: what the metrics API accepts. */
  get acceptedHashes(): string {
    return Fn.jsonencode(this.slots.map((slot) => Fn.sha256(slot.result)));
  }
}

/**
 * The previous design's rollout record, `_rollout.<domain>` TXT, as its routers parsed it and its
 * rollout sync wrote it; the benchmark's DNS servers serve it to the baseline router.
 */
import { isBuildId } from '../../contracts/build-id';
import type { RolloutState } from '../../contracts/rollout-state';

/** `v=1 stable=<id> canary=<id|-> weight=<0..10000> salt=<token|->`, strictly. */
export function parseRolloutRecord(text: string): RolloutState | null {
  const fields = new Map<string, string>();
  for (const part of text.trim().split(/ +/)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || fields.has(part.slice(0, eq))) return null;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  if (fields.size !== 5 || fields.get('v') !== '1' || !/^\d{1,5}$/.test(fields.get('weight') ?? '')) return null;
  const stable = fields.get('stable')!;
  const canary = fields.get('canary') === '-' ? null : fields.get('canary')!;
  const salt = fields.get('salt') === '-' ? null : fields.get('salt')!;
  const weight = Number(fields.get('weight'));
  if (
    !isBuildId(stable) ||
    weight > 10000 ||
    (canary !== null && (!isBuildId(canary) || salt === null)) ||
    (canary === null && weight !== 0)
  )
    return null;
  return { stable, canary, weight, salt: canary === null ? null : salt, ring: [] };
}

export function formatRolloutRecord(state: RolloutState): string {
  return `v=1 stable=${state.stable} canary=${state.canary ?? '-'} weight=${state.weight} salt=${state.salt ?? '-'}`;
}

// Placeholder until the rollout-sync handler lands.
export async function handler(): Promise<{ placeholder: true }> {
  return { placeholder: true };
}

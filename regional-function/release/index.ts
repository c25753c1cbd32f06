// Placeholder until the release handler lands.
export async function handler(): Promise<{ placeholder: true }> {
  return { placeholder: true };
}

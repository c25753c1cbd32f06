// Placeholder until the metrics-api handler lands.
export async function handler(): Promise<{ placeholder: true }> {
  return { placeholder: true };
}

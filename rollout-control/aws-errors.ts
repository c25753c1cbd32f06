/** The SDK v3 error name (its exception type), or '' for anything that is not an SDK error. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

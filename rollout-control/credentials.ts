/**
 * Missing, expired or rejected AWS credentials, said the same way by every command that talks to
 * AWS, with what to do about them: once, before the command's real work, rather than once per
 * region and object from deep inside it.
 */
import { errorMessage, errorName } from './aws-errors';

export const CONFIGURE_CREDENTIALS =
  'Configure credentials for the account the stacks were deployed to: `aws configure` (access keys), or ' +
  '`aws sso login --profile <name>` then `export AWS_PROFILE=<name>`, or set AWS_ACCESS_KEY_ID and ' +
  'AWS_SECRET_ACCESS_KEY.';

const REJECTED = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'AccessDenied',
  'InvalidAccessKeyId',
]);

/** The credential problem `error` shows, with what to do; null when it is about something else. */
export function credentialsProblem(error: unknown): string | null {
  const name = errorName(error);
  const message = errorMessage(error);
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message))
    return `no AWS credentials found (${message}). ${CONFIGURE_CREDENTIALS}`;
  if (/expired/i.test(name) || /expired/i.test(message))
    return (
      `the AWS credentials have expired (${message}). Refresh them (e.g. \`aws sso login\`). ` +
      `${CONFIGURE_CREDENTIALS}`
    );
  if (REJECTED.has(name)) return `AWS rejected the credentials (${name}: ${message}). ${CONFIGURE_CREDENTIALS}`;
  return null;
}

/** A client as the SDK resolves it: its credential provider, memoized. */
interface ClientWithCredentials {
  readonly config: { readonly credentials: () => Promise<unknown> };
}

/**
 * Asks the client's credential provider chain for credentials, without sending a request: no
 * credentials at all fails here, once, saying what to do. Expired or rejected ones show only when
 * AWS answers; `credentialsProblem` words those.
 */
export async function requireCredentials(client: ClientWithCredentials): Promise<void> {
  try {
    await client.config.credentials();
  } catch (error) {
    throw new Error(
      credentialsProblem(error) ?? `cannot load AWS credentials (${errorMessage(error)}). ${CONFIGURE_CREDENTIALS}`,
      { cause: error },
    );
  }
}

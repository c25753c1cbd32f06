/**
 * The KeyValueStore client the entry router's fallback reads the rollout state with, and the
 * SigV4A signer the API demands. The build bundles this module into a file of its own beside the
 * router's index.js (edge-code/functions.ts, lazyModules): about half a megabyte that a cold
 * start would otherwise parse, loaded here only when the fallback first runs.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient, GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { rolloutStoreClientConfig } from '../../contracts/rollout-store';

/**
 * GetKey of one key in the store `storeArn` names; undefined when the key does not exist (a build
 * nobody revoked), a rejection for anything else. One client for all calls.
 * @public loaded by `require` on first use (rollout-state-reader.ts), so a cold start that never
 * needs the store does not load the SDK.
 */
export function createKeyGet(options: {
  readonly endpoint?: string;
  readonly timeoutMs: number;
}): (storeArn: string, key: string) => Promise<string | undefined> {
  const client = new CloudFrontKeyValueStoreClient(
    rolloutStoreClientConfig({ endpoint: options.endpoint, timeoutMs: options.timeoutMs, maxAttempts: 2 }),
  );
  return async (storeArn, key) => {
    try {
      return (
        await client.send(new GetKeyCommand({ KvsARN: storeArn, Key: key }), {
          abortSignal: AbortSignal.timeout(options.timeoutMs),
        })
      ).Value;
    } catch (error) {
      if ((error as Error)?.name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  };
}

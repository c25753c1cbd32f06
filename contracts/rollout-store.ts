/**
 * How every side talks to the rollout store (the distribution's CloudFront KeyValueStore) through
 * its data-plane API: rollout sync and the rollout CLI write the state, the entry router reads it
 * when the viewer-assignment function could not.
 *
 * The API is signed with SigV4A (signing region set `*`), which the AWS SDK for JavaScript can do
 * only with a signer loaded beside it: `@aws-sdk/signature-v4a` (pure JS). The functions bundle it
 * together with the KeyValueStore client, since the Lambda runtime's SDK is not guaranteed to
 * carry either (edge-code/functions.ts).
 */
import type { CloudFrontKeyValueStoreClientConfig } from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { EndpointV2 } from '@smithy/types';

/** Name of the distribution's store: known before it exists, unlike its ARN. */
export function rolloutStoreName(distributionName: string): string {
  return `${distributionName}-rollout`;
}

/** `arn:aws:cloudfront::<account>:key-value-store/<id>` */
export const STORE_ARN_PATTERN = /^arn:aws[a-z-]*:cloudfront::\d{12}:key-value-store\/[0-9a-f-]{36}$/;

/**
 * Client settings for the store's API. `endpoint` (local mode and tests only) sends every call to
 * that loopback server, still signed with SigV4A, with fixed local credentials; without it the SDK
 * derives the account's endpoint from the store's ARN.
 */
export function rolloutStoreClientConfig(
  options: { readonly endpoint?: string; readonly timeoutMs?: number; readonly maxAttempts?: number } = {},
): CloudFrontKeyValueStoreClientConfig {
  const config: CloudFrontKeyValueStoreClientConfig = { region: 'us-east-1', maxAttempts: options.maxAttempts ?? 3 };
  if (options.timeoutMs !== undefined)
    config.requestHandler = { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs };
  if (options.endpoint) {
    const url = new URL(options.endpoint);
    // The scheme the SDK's own endpoint rules give this service (SigV4A, region set *).
    const endpoint = {
      url,
      properties: {
        authSchemes: [{ name: 'sigv4a', signingName: 'cloudfront-keyvaluestore', signingRegionSet: ['*'] }],
      },
    } as unknown as EndpointV2;
    config.endpointProvider = () => endpoint;
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return config;
}

/**
 * Local and test seams of the edge bundles. Lambda@Edge has no environment variables, so in AWS
 * all of these are unset and the routers use the system resolver, S3's regional endpoints and the
 * KeyValueStore API with the function's role. The edge tests and the local mode set them, before
 * a bundle is loaded, to their loopback servers (local/): each is read once, when the
 * bundle loads, and `loadBundledHandler` loads a fresh module per call, so each loaded handler
 * keeps the servers it was loaded with.
 *
 *   EDGE_DNS_SERVER     127.0.0.1:<port>  DNS server asked for `_bucket.<domain>`
 *   EDGE_S3_ENDPOINT    http://127.0.0.1:<port>  path-style S3 endpoint serving every bucket
 *   EDGE_KVS_ENDPOINT   http://127.0.0.1:<port>  KeyValueStore data-plane endpoint
 *
 * With an S3 or KeyValueStore endpoint set, requests are signed with fixed local credentials (the
 * access key the loopback S3 server expects; neither server checks signatures), so a test never
 * picks up real ones.
 */
export const DNS_SERVER = process.env.EDGE_DNS_SERVER || undefined;
export const S3_ENDPOINT = process.env.EDGE_S3_ENDPOINT || undefined;
export const KVS_ENDPOINT = process.env.EDGE_KVS_ENDPOINT || undefined;

export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

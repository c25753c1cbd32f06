/**
 * What cloudfront-js-2.0 gives a viewer-request function: the event, and the `cloudfront`
 * module's KeyValueStore handle (CloudFront developer guide, "Helper methods for key value stores").
 */
declare module 'cloudfront' {
  interface KeyValueStoreHandle {
    get(key: string, options?: { format: 'string' }): Promise<string>;
    get(key: string, options: { format: 'json' }): Promise<unknown>;
    exists(key: string): Promise<boolean>;
    meta(): Promise<{ creationDateTime: string; lastUpdatedDateTime: string; keyCount: number }>;
  }
  const cf: { kvs(id?: string): KeyValueStoreHandle };
  export default cf;
}

interface CloudFrontFunctionValue {
  value: string;
  multiValue?: { value: string }[];
}

interface CloudFrontFunctionRequest {
  method: string;
  uri: string;
  querystring: Record<string, CloudFrontFunctionValue>;
  headers: Record<string, CloudFrontFunctionValue | undefined>;
  cookies: Record<string, CloudFrontFunctionValue>;
}

interface CloudFrontFunctionEvent {
  version: '1.0';
  context: { distributionDomainName: string; distributionId: string; eventType: 'viewer-request'; requestId: string };
  viewer: { ip: string };
  request: CloudFrontFunctionRequest;
}

/** A response the function generates instead of passing the request on (viewer-request). */
interface CloudFrontFunctionResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, CloudFrontFunctionValue>;
}

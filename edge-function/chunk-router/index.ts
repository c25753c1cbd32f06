import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import '../shared/edge-config';

// Placeholder until the chunk router lands: passes the request to the primary bucket unchanged.
export async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
  return event.Records[0].cf.request;
}

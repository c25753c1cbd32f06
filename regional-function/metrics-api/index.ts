import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorMessage } from '../shared/aws-errors';
import { readEnvironment, type MetricsApiEnvironment } from '../shared/environment';
import { beaconSettingsFrom, handleBeacon, type BeaconRequest, type BeaconSettings, type MetricPoint } from './core';

const METRICS_API_VARIABLES = ['METRICS_NAMESPACE', 'ALLOWED_ORIGINS', 'MAX_BATCH'] as const satisfies readonly (keyof MetricsApiEnvironment)[];

// Made on the first request, then kept for the container's life.
let runtime: { readonly settings: BeaconSettings; readonly namespace: string; readonly cloudwatch: CloudWatchClient } | undefined;

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const request = beaconRequestFrom(event);
  if (!runtime) {
    const env = readEnvironment<MetricsApiEnvironment>(METRICS_API_VARIABLES);
    runtime = { settings: beaconSettingsFrom(env.ALLOWED_ORIGINS, env.MAX_BATCH), namespace: env.METRICS_NAMESPACE, cloudwatch: new CloudWatchClient({}) };
  }
  const { settings, namespace, cloudwatch } = runtime;
  const outcome = await handleBeacon(request, settings, async (points) => {
    // One call per beacon: a beacon carries one build, its loads and errors are two data.
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: points.map(toDatum) }));
  });
  if (outcome.publishError) console.error(JSON.stringify({ message: 'PutMetricData failed', namespace, error: errorMessage(outcome.publishError) }));
  const errors = outcome.beacon?.events.filter((e) => e.name === 'error') ?? [];
  if (errors.length > 0) {
    // The client's own words are the first clue when the error alarm fires.
    console.log(JSON.stringify({ buildId: outcome.beacon?.buildId, origin: request.headers.origin, errors: errors.map((e) => e.message ?? '') }));
  }
  const { statusCode, headers, body } = outcome.response;
  return { statusCode, headers: { ...headers }, body };
}

function toDatum(point: MetricPoint) {
  return { MetricName: point.metricName, Dimensions: point.dimensions.map((d) => ({ Name: d.name, Value: d.value })), Value: point.value, Unit: point.unit };
}

/** The HTTP API (payload 2.0) event as plain request data; throws on anything else. */
function beaconRequestFrom(event: APIGatewayProxyEventV2): BeaconRequest {
  const method = (event as Partial<APIGatewayProxyEventV2> | null)?.requestContext?.http?.method;
  if (typeof method !== 'string' || event.version !== '2.0') {
    throw new Error(`the metrics API takes API Gateway HTTP API events with payload format 2.0; got ${event === null || typeof event !== 'object' ? JSON.stringify(event) : `version ${JSON.stringify(event.version ?? null)}`} (set the integration's payload_format_version to "2.0")`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  return { method, headers, body: event.body ?? null, isBase64Encoded: event.isBase64Encoded === true };
}

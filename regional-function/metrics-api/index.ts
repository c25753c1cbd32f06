/**
 * Metrics API, Lambda adapter: API Gateway HTTP API events (payload 2.0) in, the core's answer
 * out. The rollout state comes from the release-signal table's copy, the viewer ledger is that
 * table, and counted viewers become CloudWatch metrics as embedded metric format.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorMessage } from '../shared/aws-errors';
import { readEnvironment, type MetricsApiEnvironment } from '../../contracts/function-environment';
import { addCountedViewer, functionLogger, functionMetrics } from '../shared/observability';
import { DynamoViewerLedger, readStateCopy } from '../shared/signal-table';
import { beaconSettingsFrom, handleBeacon, type BeaconDependencies, type BeaconRequest, type BeaconSettings } from './core';
import { cachedState } from './state-cache';

export const METRICS_API_VARIABLES = ['METRICS_NAMESPACE', 'ALLOWED_ORIGINS', 'MAX_BATCH', 'ORIGIN_SECRET_SHA256', 'PERIOD_SECONDS', 'SIGNAL_TABLE', 'STATE_CACHE_SECONDS'] as const satisfies readonly (keyof MetricsApiEnvironment)[];

const logger = functionLogger('metrics-api');

// Made on the first request, then kept for the container's life.
let runtime: { readonly settings: BeaconSettings; readonly deps: BeaconDependencies; readonly metrics: ReturnType<typeof functionMetrics> } | undefined;

function createRuntime(): NonNullable<typeof runtime> {
  const env = readEnvironment<MetricsApiEnvironment>(METRICS_API_VARIABLES);
  const dynamodb = new DynamoDBClient({ maxAttempts: 2 });
  const cacheMs = Number(env.STATE_CACHE_SECONDS) * 1000;
  return {
    settings: beaconSettingsFrom(env),
    deps: {
      state: cachedState({ read: async () => (await readStateCopy(dynamodb, env.SIGNAL_TABLE))?.state ?? null, freshMs: cacheMs, staleMs: 5 * cacheMs }),
      ledger: new DynamoViewerLedger(dynamodb, env.SIGNAL_TABLE),
      now: Date.now,
    },
    metrics: functionMetrics(env.METRICS_NAMESPACE, 'metrics-api'),
  };
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const request = beaconRequestFrom(event);
  runtime ??= createRuntime();
  const { settings, deps, metrics } = runtime;
  const outcome = await handleBeacon(request, settings, deps);
  if (outcome.failure !== undefined) logger.error('beacon not counted: the rollout state or the viewer ledger is unavailable', { error: errorMessage(outcome.failure) });
  if (outcome.counted && addCountedViewer(metrics, outcome.counted, deps.now())) metrics.publishStoredMetrics();
  const errors = outcome.beacon?.events.filter((e) => e.name === 'error') ?? [];
  if (outcome.counted && errors.length > 0) {
    // The client's own words are the first clue when the error alarm fires.
    logger.info('client errors', { buildId: outcome.counted.buildId, role: outcome.counted.role, origin: request.headers.origin, errors: errors.map((e) => e.message ?? '') });
  }
  const { statusCode, headers, body } = outcome.response;
  return { statusCode, headers: { ...headers }, body };
}

/** The HTTP API (payload 2.0) event as plain request data; throws on anything else. */
function beaconRequestFrom(event: APIGatewayProxyEventV2): BeaconRequest {
  const method = (event as Partial<APIGatewayProxyEventV2> | null)?.requestContext?.http?.method;
  if (typeof method !== 'string' || event.version !== '2.0') {
    throw new Error(
      `the metrics API takes API Gateway HTTP API events with payload format 2.0; got ${event === null || typeof event !== 'object' ? JSON.stringify(event) : `version ${JSON.stringify(event.version ?? null)}`} (set the integration's payload_format_version to "2.0")`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  return { method, headers, body: event.body ?? null, isBase64Encoded: event.isBase64Encoded === true };
}

/**
 * The beacon endpoint: `POST /api/metrics` (or the configured path under /api/) on an HTTP API
 * behind the distribution's `/api/*` behaviour, and a Lambda that counts the viewers beacons speak
 * for (contracts/release-signal.ts) and emits them as metrics in its log (embedded metric
 * format). Its role may update viewer entries and read the state copy in the release-signal
 * table, and nothing else; it needs no CloudWatch permission at all.
 */
import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import type { DeployConfig } from '../../config';
import type { MetricsApiEnvironment } from '../../contracts/function-environment';
import type { FunctionCode } from './packaged-function';
import type { OriginSecret } from './origin-secret';
import { RegionalFunction } from './regional-function';
import type { ReleaseSignalTable } from './release-signal-table';

/** Where beacons go when the config names no path of its own; the distribution's `/api/*` serves it. */
export const DEFAULT_METRICS_PATH = '/api/metrics';

export interface MetricsApiProps {
  readonly apiName: string;
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  readonly metrics: DeployConfig['metrics'];
  /** The alarm's period: a viewer counts once per period. */
  readonly periodSeconds: number;
  readonly signalTable: ReleaseSignalTable;
  /** Only requests carrying it (CloudFront adds it) count. */
  readonly originSecret: OriginSecret;
  readonly logRetentionDays: number;
  readonly provider: AwsProvider;
  /** Path of the beacon route; must be under /api/, the distribution's API behaviour. @default '/api/metrics' */
  readonly routePath?: string;
}

export class MetricsApi extends Construct {
  readonly api: Apigatewayv2Api;
  readonly handler: RegionalFunction<MetricsApiEnvironment>;

  constructor(scope: Construct, id: string, props: MetricsApiProps) {
    super(scope, id);
    const { provider, metrics } = props;
    const routePath = props.routePath ?? DEFAULT_METRICS_PATH;
    if (!/^\/api\/[A-Za-z0-9/_-]+$/.test(routePath)) {
      throw new Error(`metrics.endpoint ${routePath} is not under /api/, the only path the distribution sends to the metrics API; use /api/<name> or an https:// URL.`);
    }
    const environment: MetricsApiEnvironment = {
      METRICS_NAMESPACE: metrics.namespace,
      ALLOWED_ORIGINS: JSON.stringify(metrics.allowedOrigins),
      MAX_BATCH: String(metrics.maxBatch),
      ORIGIN_SECRET_SHA256: props.originSecret.acceptedHashes,
      PERIOD_SECONDS: String(props.periodSeconds),
      SIGNAL_TABLE: props.signalTable.tableName,
      STATE_CACHE_SECONDS: String(metrics.stateCacheSeconds),
    };
    this.handler = new RegionalFunction(this, 'handler', {
      functionName: props.functionName,
      code: props.code,
      runtime: props.runtime,
      provider,
      logRetentionDays: props.logRetentionDays,
      environment,
      description: 'Beacons from host pages → distinct viewers per role and period (EMF metrics)',
    });
    props.signalTable.grantRecordViewers(this.handler);
    props.signalTable.grantReadStateCopy(this.handler);

    this.api = new Apigatewayv2Api(this, 'api', {
      provider,
      name: props.apiName,
      protocolType: 'HTTP',
      description: 'Client load/error beacons for the rollout alarms',
      corsConfiguration: {
        allowOrigins: apiGatewayCorsOrigins(metrics.allowedOrigins),
        allowMethods: ['POST', 'OPTIONS'],
        allowHeaders: ['content-type'],
        maxAge: 86_400,
      },
    });
    const integration = new Apigatewayv2Integration(this, 'integration', {
      provider,
      apiId: this.api.id,
      integrationType: 'AWS_PROXY',
      integrationUri: this.handler.invokeArn,
      payloadFormatVersion: '2.0',
    });
    new Apigatewayv2Route(this, 'route', {
      provider,
      apiId: this.api.id,
      routeKey: `POST ${routePath}`,
      target: `integrations/${integration.id}`,
    });
    const accessLogs = new CloudwatchLogGroup(this, 'access-logs', {
      provider,
      name: `/aws/apigateway/${props.apiName}`,
      retentionInDays: props.logRetentionDays,
    });
    new Apigatewayv2Stage(this, 'stage', {
      provider,
      apiId: this.api.id,
      name: '$default',
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingRateLimit: metrics.throttleRatePerSecond,
        throttlingBurstLimit: metrics.throttleBurst,
      },
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        format: JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          time: '$context.requestTime',
          route: '$context.routeKey',
          status: '$context.status',
          length: '$context.responseLength',
          error: '$context.integrationErrorMessage',
        }),
      },
    });
    this.handler.grantInvoke('apigateway.amazonaws.com', `${this.api.executionArn}/*/POST${routePath}`);
  }

  /** `<id>.execute-api.<region>.amazonaws.com`, for the distribution's custom origin. */
  get domainName(): string {
    return Fn.replace(this.api.apiEndpoint, 'https://', '');
  }
}

/**
 * API Gateway's CORS takes exact origins or a scheme-wide wildcard (`https://*`), not the
 * config's `https://*.host` or `http://localhost:*` patterns. Exact origins pass through; a
 * pattern widens to its scheme, and the handler, which matches ALLOWED_ORIGINS exactly, turns
 * every origin outside the patterns away with 403.
 */
export function apiGatewayCorsOrigins(patterns: readonly string[]): string[] {
  const origins = patterns.map((pattern) => (pattern.includes('*') ? `${pattern.slice(0, pattern.indexOf('://'))}://*` : pattern));
  return [...new Set(origins)].sort();
}

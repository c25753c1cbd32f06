/**
 * A Lambda@Edge function, after aws-cdk-lib's experimental EdgeFunction: created in us-east-1,
 * trusted by edgelambda.amazonaws.com, always published, and refusing what CloudFront would
 * reject at deploy time or silently misuse: environment variables, runtimes Lambda@Edge does not
 * run, timeouts over its limits, and any ARN but a numbered version (`latestVersion` throws).
 *
 * Lambda@Edge logs to `/aws/lambda/us-east-1.<name>` in whichever region ran it; those groups
 * are created (with a retention) in every configured region, and the role may write to that name
 * in any region, since CloudFront picks the region, not us.
 */
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { Construct } from 'constructs';
import { EDGE_RUNTIMES } from '../../config';
import type { AwsAccount } from './aws-account';
import { US_EAST_1, type RegionalProviders } from './aws-providers';
import type { PolicyStatement } from './iam';
import { PackagedFunction, type FunctionCode } from './packaged-function';

export type EdgeEventType = 'viewer-request' | 'viewer-response' | 'origin-request' | 'origin-response';

/** Lambda@Edge quotas (CloudFront developer guide, "Quotas on Lambda@Edge"). */
export const EDGE_LIMITS = {
  origin: { timeoutSeconds: 30, memoryMb: 10240 },
  viewer: { timeoutSeconds: 5, memoryMb: 128 },
} as const;

export interface EdgeFunctionProps {
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  /** us-east-1 for the function, and a provider for each of `logRegions`. */
  readonly providers: RegionalProviders;
  /** Where CloudFront may run it, so where its replicas write logs: a log group with retention in each. */
  readonly logRegions: readonly string[];
  readonly account: AwsAccount;
  readonly logRetentionDays: number;
  /** @default 128 */
  readonly memorySize?: number;
  /** Seconds; at most 30 for origin events, 5 for viewer events. @default 5 */
  readonly timeout?: number;
  /** Each published version carries it. @default no description */
  readonly description?: string;
}

/** The association CloudFront needs: a numbered version's ARN, never an alias or $LATEST. */
export interface EdgeFunctionAssociation {
  readonly eventType: EdgeEventType;
  readonly lambdaArn: string;
  readonly includeBody: boolean;
}

export class EdgeFunction extends Construct {
  private readonly packaged: PackagedFunction;
  private readonly timeout: number;
  private readonly memorySize: number;

  constructor(scope: Construct, id: string, props: EdgeFunctionProps) {
    super(scope, id);
    if ((props as { environment?: unknown }).environment !== undefined) {
      throw new Error(
        `${props.functionName}: Lambda@Edge does not support environment variables; bake configuration ` +
          `into the bundle.`,
      );
    }
    if (!(EDGE_RUNTIMES as readonly string[]).includes(props.runtime)) {
      throw new Error(
        `${props.functionName}: runtime ${props.runtime} is not one Lambda@Edge accepts (${EDGE_RUNTIMES.join(', ')}).`,
      );
    }
    this.timeout = props.timeout ?? 5;
    this.memorySize = props.memorySize ?? 128;
    if (this.timeout > EDGE_LIMITS.origin.timeoutSeconds) {
      throw new Error(
        `${props.functionName}: timeout ${this.timeout} s exceeds Lambda@Edge's ` +
          `${EDGE_LIMITS.origin.timeoutSeconds} s.`,
      );
    }
    const account = props.account;
    const name = props.functionName;
    const replicaLogGroup = `/aws/lambda/${US_EAST_1}.${name}`;
    this.packaged = new PackagedFunction(this, 'function', {
      functionName: name,
      code: props.code,
      runtime: props.runtime,
      provider: props.providers.usEast1,
      assumedBy: ['lambda.amazonaws.com', 'edgelambda.amazonaws.com'],
      logRetentionDays: props.logRetentionDays,
      memorySize: this.memorySize,
      timeout: this.timeout,
      description: props.description,
      publish: true,
      // Replicas linger for hours after the last association is removed; a destroy would fail.
      skipDestroy: true,
      extraLogGroups: props.logRegions.map((region) => ({
        provider: props.providers.forRegion(region),
        name: replicaLogGroup,
      })),
      logStatements: [
        {
          sid: 'CreateOwnLogGroupsInAnyExecutionRegion',
          actions: ['logs:CreateLogGroup'],
          resources: [
            account.arn('logs', '*', `log-group:${replicaLogGroup}`),
            account.arn('logs', US_EAST_1, `log-group:/aws/lambda/${name}`),
          ],
        },
        {
          sid: 'WriteOwnLogsInAnyExecutionRegion',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [
            account.arn('logs', '*', `log-group:${replicaLogGroup}:*`),
            account.arn('logs', US_EAST_1, `log-group:/aws/lambda/${name}:*`),
          ],
        },
      ],
    });
  }

  get functionName(): string {
    return this.packaged.functionName;
  }

  /** Unqualified ARN, for IAM on the function and its versions; CloudFront cannot use it. */
  get functionArn(): string {
    return this.packaged.functionArn;
  }

  /** The version this deploy published (a number). */
  get version(): string {
    return this.packaged.function.version;
  }

  /** `arn:…:function:<name>:<version>` of the version this deploy published. */
  get currentVersionArn(): string {
    return this.packaged.function.qualifiedArn;
  }

  /** Like aws-cdk-lib: $LATEST cannot be associated with a distribution. */
  get latestVersion(): never {
    throw new Error(
      `${this.node.path}: CloudFront runs only numbered Lambda versions; use currentVersionArn or association().`,
    );
  }

  get logGroups(): readonly CloudwatchLogGroup[] {
    return this.packaged.logGroups;
  }

  /** Permissions beyond its logs, e.g. a grant of the rollout store or of the buckets. */
  addToRolePolicy(...statements: PolicyStatement[]): void {
    this.packaged.addToRolePolicy(...statements);
  }

  addEnvironment(): never {
    throw new Error(
      `${this.node.path}: Lambda@Edge does not support environment variables; bake configuration into the bundle.`,
    );
  }

  /** The lambda_function_association for a cache behaviour, checked against the event's limits. */
  association(eventType: EdgeEventType, options: { readonly includeBody?: boolean } = {}): EdgeFunctionAssociation {
    const limits = eventType.startsWith('viewer-') ? EDGE_LIMITS.viewer : EDGE_LIMITS.origin;
    if (this.timeout > limits.timeoutSeconds || this.memorySize > limits.memoryMb) {
      throw new Error(
        `${this.node.path}: ${eventType} functions may run ${limits.timeoutSeconds} s with ${limits.memoryMb} ` +
          `MB; this one has ${this.timeout} s and ${this.memorySize} MB.`,
      );
    }
    return { eventType, lambdaArn: this.currentVersionArn, includeBody: options.includeBody ?? false };
  }
}

/**
 * A regional Lambda (rollout sync, release, signal consumer): same packaging as the edge functions,
 * plus the typed environment its handler reads (contracts/function-environment.ts), so a
 * renamed variable fails to compile on both sides.
 */
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { PolicyStatement } from './iam';
import { PackagedFunction, type FunctionCode } from './packaged-function';

export interface RegionalFunctionProps<Environment extends object> {
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  readonly provider: AwsProvider;
  readonly logRetentionDays: number;
  readonly environment: Environment;
  /** @default 256 */
  readonly memorySize?: number;
  /** Seconds. @default 10 */
  readonly timeout?: number;
  /** @default no description */
  readonly description?: string;
}

export class RegionalFunction<Environment extends object> extends Construct {
  private readonly packaged: PackagedFunction;
  private readonly provider: AwsProvider;
  private permissions = 0;

  constructor(scope: Construct, id: string, props: RegionalFunctionProps<Environment>) {
    super(scope, id);
    this.provider = props.provider;
    this.packaged = new PackagedFunction(this, 'function', {
      functionName: props.functionName,
      code: props.code,
      runtime: props.runtime,
      provider: props.provider,
      assumedBy: ['lambda.amazonaws.com'],
      logRetentionDays: props.logRetentionDays,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? 10,
      description: props.description,
      environment: props.environment as Readonly<Record<string, string>>,
    });
  }

  get functionName(): string {
    return this.packaged.functionName;
  }

  get functionArn(): string {
    return this.packaged.functionArn;
  }

  get invokeArn(): string {
    return this.packaged.function.invokeArn;
  }

  /** The IAM resources an invocation must wait for (role policy), so the first run has its rights. */
  get permissionResources(): ITerraformDependable[] {
    return this.packaged.role.permissionResources;
  }

  addToRolePolicy(...statements: PolicyStatement[]): void {
    this.packaged.addToRolePolicy(...statements);
  }

  /** Lets `principal` (a service) invoke the function, only from `sourceArn`. */
  grantInvoke(principal: string, sourceArn: string): LambdaPermission {
    this.permissions += 1;
    return new LambdaPermission(this, `invoke-${this.permissions}`, {
      provider: this.provider,
      functionName: this.packaged.functionName,
      action: 'lambda:InvokeFunction',
      principal,
      sourceArn,
    });
  }
}

/**
 * A Lambda function whose code is one zip from the build manifest: the one code path behind both
 * the Lambda@Edge routers (EdgeFunction) and the regional functions (RegionalFunction).
 *
 * The zip goes in as a TerraformAsset, so the synthesized path is relative and named by the
 * zip's content hash (the same on every machine), and `source_code_hash` is the manifest's own
 * hash: same source ⇒ same bytes ⇒ no change in the plan ⇒ no new Lambda version.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import type { FunctionZip } from '../../contracts/build-manifest';
import { ServiceRole, type PolicyStatement } from './iam';

/** Where a function's zip comes from: the manifest entry and the build folder it is relative to. */
export interface FunctionCode {
  readonly zip: FunctionZip;
  readonly buildDir: string;
}

export interface LogGroupPlacement {
  readonly provider: AwsProvider;
  readonly name: string;
}

export interface PackagedFunctionProps {
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  /** Provider of the region the function is created in. */
  readonly provider: AwsProvider;
  /** Service principals trusted by the execution role. */
  readonly assumedBy: readonly string[];
  readonly logRetentionDays: number;
  /** @default 128 */
  readonly memorySize?: number;
  /** Seconds. @default 3 */
  readonly timeout?: number;
  /** @default no description */
  readonly description?: string;
  /** Publish a numbered version on every code or configuration change. @default false */
  readonly publish?: boolean;
  /** Leave the function in place on destroy (Lambda@Edge replicas make deletes fail). @default false */
  readonly skipDestroy?: boolean;
  /** @default no environment variables */
  readonly environment?: Readonly<Record<string, string>>;
  /** Log groups besides `/aws/lambda/<name>` in the function's region. @default none */
  readonly extraLogGroups?: readonly LogGroupPlacement[];
  /** Log statements replacing the default (write to the function's own log groups). @default own groups */
  readonly logStatements?: readonly PolicyStatement[];
}

export class PackagedFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: ServiceRole;
  readonly logGroups: readonly CloudwatchLogGroup[];

  constructor(scope: Construct, id: string, props: PackagedFunctionProps) {
    super(scope, id);
    const zipPath = verifiedZip(props.code);
    const asset = new TerraformAsset(this, 'code', { path: zipPath, type: AssetType.FILE });

    // Created before the function so Lambda never makes its own group without a retention.
    const placements = [
      { provider: props.provider, name: `/aws/lambda/${props.functionName}` },
      ...(props.extraLogGroups ?? []),
    ];
    this.logGroups = placements.map(
      (placement, index) =>
        new CloudwatchLogGroup(this, index === 0 ? 'logs' : `logs-${index}`, {
          provider: placement.provider,
          name: placement.name,
          retentionInDays: props.logRetentionDays,
        }),
    );

    this.role = new ServiceRole(this, 'role', {
      provider: props.provider,
      roleName: props.functionName,
      assumedBy: props.assumedBy,
      description: `Execution role of ${props.functionName}`,
    });
    this.role.addToPolicy(
      ...(props.logStatements ?? [
        {
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: this.logGroups.map((group) => `${group.arn}:*`),
        },
      ]),
    );

    this.function = new LambdaFunction(this, 'function', {
      provider: props.provider,
      functionName: props.functionName,
      description: props.description,
      role: this.role.roleArn,
      filename: asset.path,
      sourceCodeHash: props.code.zip.sourceCodeHash,
      handler: props.code.zip.handler,
      runtime: props.runtime,
      architectures: ['x86_64'],
      memorySize: props.memorySize ?? 128,
      timeout: props.timeout ?? 3,
      publish: props.publish ?? false,
      skipDestroy: props.skipDestroy ?? false,
      environment:
        props.environment && Object.keys(props.environment).length > 0
          ? { variables: { ...props.environment } }
          : undefined,
      dependsOn: [...this.logGroups, ...this.role.permissionResources],
    });
  }

  get functionName(): string {
    return this.function.functionName;
  }

  /** Unqualified ARN. */
  get functionArn(): string {
    return this.function.arn;
  }

  /** Every IAM statement the function runs with is added here. */
  addToRolePolicy(...statements: PolicyStatement[]): void {
    this.role.addToPolicy(...statements);
  }
}

/** The zip's absolute path, after checking it is the very zip the manifest describes. */
function verifiedZip(code: FunctionCode): string {
  const zipPath = path.resolve(code.buildDir, code.zip.zip);
  if (!existsSync(zipPath)) throw new Error(`${zipPath} is missing: run \`npm run build\` first.`);
  const sha256 = createHash('sha256').update(readFileSync(zipPath)).digest('hex');
  if (sha256 !== code.zip.sha256) {
    throw new Error(
      `${zipPath} does not match the build manifest (sha256 ${sha256}, manifest ${code.zip.sha256}): run ` +
        `\`npm run build\` again.`,
    );
  }
  return zipPath;
}

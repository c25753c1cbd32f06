/**
 * CodeDeploy as this project uses it: one Lambda deployment group that shifts the alias `live` of
 * the entry router from one version to another. The release function writes the AppSpec, rollout
 * sync asks which deployment is shifting the alias (its id salts the rollout record), the rollout
 * CLI shows, stops and promotes deployments. All of them read CodeDeploy through here.
 */
import { createHash } from 'node:crypto';
import {
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  type CodeDeployClient,
  type DeploymentInfo,
  type DeploymentStatus,
} from '@aws-sdk/client-codedeploy';
import { errorName } from './aws-errors';

/** Statuses of a deployment that has not ended: CodeDeploy runs at most one per group. */
export const ACTIVE_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  'Created',
  'Queued',
  'InProgress',
  'Baking',
  'Ready',
];

export function isActiveStatus(status: string | undefined): boolean {
  return (ACTIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(status ?? '');
}

export interface LambdaAppSpec {
  readonly functionName: string;
  readonly alias: string;
  readonly currentVersion: string;
  readonly targetVersion: string;
}

/** The AppSpec resource key; any name works, CodeDeploy only needs one Lambda resource. */
const APPSPEC_RESOURCE = 'entryRouter';

/**
 * The AppSpec of a Lambda deployment, as the `AppSpecContent` revision CodeDeploy takes: JSON
 * content and its sha256 (hex). The deployment moves `alias` from `currentVersion` to
 * `targetVersion` and fails if the alias is not on `currentVersion` when it starts.
 */
export function lambdaAppSpec(spec: LambdaAppSpec): { content: string; sha256: string } {
  const resource = {
    [APPSPEC_RESOURCE]: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Name: spec.functionName,
        Alias: spec.alias,
        CurrentVersion: spec.currentVersion,
        TargetVersion: spec.targetVersion,
      },
    },
  };
  // The AppSpec's version is written 0.0; JSON.stringify(0.0) would write 0.
  const content = `{"version":0.0,"Resources":[${JSON.stringify(resource)}]}`;
  return { content, sha256: createHash('sha256').update(content).digest('hex') };
}

/**
 * The versions a Lambda deployment moves between, from its AppSpec content: the JSON this module
 * writes, or YAML written by hand or by the console (read loosely: only the version keys matter).
 * Null when the content names no Lambda resource.
 */
export function parseLambdaAppSpec(content: string | undefined): LambdaAppSpec | null {
  if (!content) return null;
  try {
    const parsed = JSON.parse(content) as {
      Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>[];
    };
    for (const entry of parsed.Resources ?? []) {
      for (const resource of Object.values(entry ?? {})) {
        const p = resource?.Properties;
        if (resource?.Type !== 'AWS::Lambda::Function' || !p) continue;
        const fields = [p.Name, p.Alias, p.CurrentVersion, p.TargetVersion].map((value) =>
          typeof value === 'number' ? String(value) : value,
        );
        if (fields.every((value) => typeof value === 'string' && value.length > 0)) {
          const [functionName, alias, currentVersion, targetVersion] = fields as [string, string, string, string];
          return { functionName, alias, currentVersion, targetVersion };
        }
      }
    }
    return null;
  } catch {
    const field = (key: string) => new RegExp(`["']?${key}["']?\\s*:\\s*["']?([^"'\\s,}]+)`).exec(content)?.[1];
    const [functionName, alias, currentVersion, targetVersion] = [
      'Name',
      'Alias',
      'CurrentVersion',
      'TargetVersion',
    ].map(field);
    if (!/AWS::Lambda::Function/.test(content) || !functionName || !alias || !currentVersion || !targetVersion)
      return null;
    return { functionName, alias, currentVersion, targetVersion };
  }
}

/** What the project needs to know about one deployment. */
export interface DeploymentSummary {
  readonly id: string;
  readonly status: string;
  /** Not ended yet (see ACTIVE_DEPLOYMENT_STATUSES). */
  readonly active: boolean;
  readonly config: string | null;
  /** `user`, `codeDeployRollback`, ... */
  readonly creator: string | null;
  readonly description: string | null;
  readonly createTime: Date | null;
  readonly completeTime: Date | null;
  /** From the AppSpec; null when it cannot be read. */
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  readonly error: string | null;
  /** The deployment this one rolled back, or the one that rolled this one back. */
  readonly rollbackOf: string | null;
  readonly rolledBackBy: string | null;
}

export function deploymentSummaryFrom(id: string, info: DeploymentInfo): DeploymentSummary {
  const appSpec = parseLambdaAppSpec(info.revision?.appSpecContent?.content);
  const status = info.status ?? 'Unknown';
  return {
    id,
    status,
    active: isActiveStatus(status),
    config: info.deploymentConfigName ?? null,
    creator: info.creator ?? null,
    description: info.description ?? null,
    createTime: info.createTime ?? null,
    completeTime: info.completeTime ?? null,
    fromVersion: appSpec?.currentVersion ?? null,
    toVersion: appSpec?.targetVersion ?? null,
    error: info.errorInformation?.message ?? null,
    rollbackOf: info.rollbackInfo?.rollbackTriggeringDeploymentId ?? null,
    rolledBackBy: info.rollbackInfo?.rollbackDeploymentId ?? null,
  };
}

export interface DeploymentGroupRef {
  readonly application: string;
  readonly deploymentGroup: string;
}

/** The id of the group's deployment that has not ended, or null. */
export async function findActiveDeploymentId(
  codedeploy: CodeDeployClient,
  group: DeploymentGroupRef,
): Promise<string | null> {
  const listed = await withGroupErrors(group, () =>
    codedeploy.send(
      new ListDeploymentsCommand({
        applicationName: group.application,
        deploymentGroupName: group.deploymentGroup,
        includeOnlyStatuses: [...ACTIVE_DEPLOYMENT_STATUSES],
      }),
    ),
  );
  return listed.deployments?.[0] ?? null;
}

/**
 * Whether a deployment of the group to `version` was stopped or failed since `since`: the canary it
 * shifted to was rolled back (by the judge, an alarm or a person), and CodeDeploy may not have moved
 * the alias back yet. At most `limit` of them are looked at, newest first as CodeDeploy lists them.
 */
export async function rolledBackTo(
  codedeploy: CodeDeployClient,
  group: DeploymentGroupRef,
  version: string,
  since: Date,
  limit = 10,
): Promise<boolean> {
  const listed = await withGroupErrors(group, () =>
    codedeploy.send(
      new ListDeploymentsCommand({
        applicationName: group.application,
        deploymentGroupName: group.deploymentGroup,
        includeOnlyStatuses: ['Stopped', 'Failed'],
        createTimeRange: { start: since },
      }),
    ),
  );
  for (const id of (listed.deployments ?? []).slice(0, limit)) {
    if ((await getDeploymentSummary(codedeploy, id)).toVersion === version) return true;
  }
  return false;
}

export async function getDeploymentSummary(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<DeploymentSummary> {
  let info: DeploymentInfo | undefined;
  try {
    info = (await codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;
  } catch (error) {
    if (errorName(error) === 'DeploymentDoesNotExistException')
      throw new Error(`CodeDeploy deployment ${deploymentId} does not exist`, { cause: error });
    throw error;
  }
  if (!info) throw new Error(`CodeDeploy returned nothing for deployment ${deploymentId}`);
  return deploymentSummaryFrom(deploymentId, info);
}

/** The group's active deployment, else the last one it attempted; null for a group never deployed. */
export async function findCurrentOrLastDeployment(
  codedeploy: CodeDeployClient,
  group: DeploymentGroupRef,
): Promise<DeploymentSummary | null> {
  const active = await findActiveDeploymentId(codedeploy, group);
  if (active) return getDeploymentSummary(codedeploy, active);
  const info = await withGroupErrors(group, () =>
    codedeploy.send(
      new GetDeploymentGroupCommand({ applicationName: group.application, deploymentGroupName: group.deploymentGroup }),
    ),
  );
  const last = info.deploymentGroupInfo?.lastAttemptedDeployment?.deploymentId;
  return last ? getDeploymentSummary(codedeploy, last) : null;
}

/** Runs a call on the group, turning "no such application/group" into what to do about it. */
export async function withGroupErrors<T>(group: DeploymentGroupRef, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw groupError(error, group) ?? error;
  }
}

/** "No such application/group" as what to do about it; null for any other error. */
export function groupError(error: unknown, group: DeploymentGroupRef): Error | null {
  const name = errorName(error);
  if (name === 'ApplicationDoesNotExistException') {
    return new Error(`CodeDeploy application ${group.application} does not exist: deploy the stacks first`, {
      cause: error,
    });
  }
  if (name === 'DeploymentGroupDoesNotExistException') {
    return new Error(
      `CodeDeploy deployment group ${group.deploymentGroup} (application ${group.application}) does not exist: ` +
        `deploy the stacks first`,
      { cause: error },
    );
  }
  return null;
}

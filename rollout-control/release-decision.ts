/**
 * Release, pure part: given the version a deploy just published and what the alias and CodeDeploy
 * are doing, decide to start a deployment, to do nothing (and why), or to refuse (and what to do).
 * Terraform shows a refusal as the function error, so each message says what is wrong and how to
 * get out of it.
 */
import * as z from 'zod/mini';
import { isBuildId } from '../contracts/build-id';
import type { AliasState } from './alias-state';
import type { DeploymentSummary } from './deployments';
import type { ReleaseInput } from '../contracts/function-environment';
import { describeIssue } from '../contracts/schema-issues';

export const releaseInputSchema = z.object({
  // Terraform's jsonencode keeps a version attribute a string; a number is accepted too.
  version: z.pipe(
    z.union([z.string(), z.number()]),
    z.pipe(
      z.transform((value: string | number) => String(value)),
      z
        .string()
        .check(
          z.refine(
            (value) => /^[1-9]\d*$/.test(value),
            'must be a published version number such as "7" ($LATEST and aliases cannot be released)',
          ),
        ),
    ),
  ),
  buildId: z.string().check(z.refine(isBuildId, 'must be a buildId: 16 lowercase hex characters')),
  /** Added by aws_lambda_invocation with lifecycle_scope CRUD. */
  tf: z.optional(z.object({ action: z.optional(z.string()) })),
}) satisfies z.ZodMiniType<ReleaseInput, unknown>;
export type ReleaseRequest = z.infer<typeof releaseInputSchema>;

/** Validates the invocation input; throws naming each bad field. */
export function parseReleaseInput(input: unknown): ReleaseRequest {
  const parsed = releaseInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => describeIssue(issue, input));
  throw new Error(
    `release input must be {"version": "<published version>", "buildId": "<16 hex>"}; got ` +
      `${JSON.stringify(input) ?? 'undefined'}: ${problems.join('; ')}`,
  );
}

export interface ReleaseState {
  readonly functionName: string;
  readonly aliasName: string;
  readonly deploymentGroup: string;
  readonly version: string;
  readonly buildId: string;
  readonly alias: AliasState;
  /** The build the version to release serves (its description); null when it names none. */
  readonly versionBuildId: string | null;
  /** The build of the alias's current version, when known. */
  readonly stableBuildId: string | null;
  /** The group's deployment that has not ended, if any. */
  readonly activeDeployment: DeploymentSummary | null;
}

export type ReleaseDecision =
  | { readonly action: 'unchanged'; readonly reason: string }
  | {
      readonly action: 'start';
      readonly fromVersion: string;
      readonly toVersion: string;
      readonly sameBuild: boolean;
      readonly reason: string;
    };

export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseError';
  }
}

export function decideRelease(state: ReleaseState): ReleaseDecision {
  const { functionName, version, buildId, alias, activeDeployment: active } = state;
  if (state.versionBuildId === null) {
    throw new ReleaseError(
      `${functionName} version ${version} has no buildId in its description, so nobody could tell which build ` +
        `it serves; publish entry-router versions through the stacks (cdktf deploy), which write "buildId=<id>"`,
    );
  }
  if (state.versionBuildId !== buildId) {
    throw new ReleaseError(
      `${functionName} version ${version} serves build ${state.versionBuildId}, not ${buildId} as the release ` +
        `input says: the deploy published one build and released another; run \`npm run build\` and ` +
        `\`cdktf deploy\` again`,
    );
  }
  if (active) {
    if (active.toVersion === version) {
      return {
        action: 'unchanged',
        reason: `deployment ${active.id} to version ${version} is already in progress (${active.status})`,
      };
    }
    const moving =
      active.fromVersion && active.toVersion
        ? `version ${active.fromVersion} → ${active.toVersion}`
        : 'another version';
    throw new ReleaseError(
      `deployment ${active.id} (${moving}, ${active.status}) is in progress in deployment group ` +
        `${state.deploymentGroup}; wait for it to finish or stop it (\`npm run rollout -- stop\`), then release ` +
        `version ${version} with \`npm run rollout -- start --version ${version}\` or run the deploy again`,
    );
  }
  if (alias.stableVersion === version) {
    const leftover = alias.canaryVersion
      ? `; it also routes ${(alias.canaryWeight / 100).toFixed(2)}% to version ${alias.canaryVersion} with no ` +
        `deployment in progress (see \`npm run rollout -- status\`)`
      : '';
    return {
      action: 'unchanged',
      reason:
        `alias ${state.aliasName} already points at version ${version} (first deploy, or this version is already ` +
        `released)${leftover}`,
    };
  }
  const sameBuild = state.stableBuildId === buildId;
  return {
    action: 'start',
    fromVersion: alias.stableVersion,
    toVersion: version,
    sameBuild,
    reason: sameBuild
      ? `version ${version} serves the same build as version ${alias.stableVersion} (${buildId}): no viewer ` +
        `changes build, so the alias moves all at once`
      : `shifting alias ${state.aliasName} from version ${alias.stableVersion} to ${version} (build ${buildId})`,
  };
}

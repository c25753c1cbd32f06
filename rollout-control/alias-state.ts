/**
 * The alias `live` of the entry router is the single source of truth for "which builds, at what
 * weight". Rollout sync mirrors it into the rollout record; the rollout CLI shows it; cleanup
 * keeps the builds it names. All three read it through here.
 */
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  type GetAliasCommandOutput,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { errorName } from './aws-errors';
import { buildIdFromDescription } from '../contracts/version-description';

export interface AliasState {
  /** The version the alias points at: the stable one. */
  readonly stableVersion: string;
  /** The version CodeDeploy is shifting traffic to, if a shift is under way. */
  readonly canaryVersion: string | null;
  /** The canary's share in basis points (0..10000). */
  readonly canaryWeight: number;
}

export interface VersionBuild {
  readonly version: string;
  readonly buildId: string;
}

export interface AliasBuilds {
  readonly stable: VersionBuild;
  readonly canary: (VersionBuild & { readonly weight: number }) | null;
}

/**
 * `<function>:<version>` → buildId. Published versions are immutable, so a long-lived process
 * (a Lambda container, the CLI) may keep one and skip GetFunctionConfiguration for versions it
 * has already seen.
 */
export type VersionBuildCache = Map<string, string>;

/** Pure: the alias as GetAlias returns it → versions and weight. */
export function aliasStateFrom(
  alias: Pick<GetAliasCommandOutput, 'FunctionVersion' | 'RoutingConfig' | 'Name'>,
): AliasState {
  if (!alias.FunctionVersion || !/^\d+$/.test(alias.FunctionVersion)) {
    throw new Error(
      `alias ${alias.Name ?? ''} points at ${alias.FunctionVersion ?? 'nothing'}, not a numbered version`,
    );
  }
  const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(
    ([version]) => version !== alias.FunctionVersion,
  );
  if (weights.length > 1)
    throw new Error(`alias ${alias.Name ?? ''} routes to ${weights.length} extra versions; CodeDeploy shifts to one`);
  const [canary] = weights;
  if (canary === undefined) return { stableVersion: alias.FunctionVersion, canaryVersion: null, canaryWeight: 0 };
  const [canaryVersion, weight] = canary;
  return {
    stableVersion: alias.FunctionVersion,
    canaryVersion,
    canaryWeight: Math.min(10000, Math.max(0, Math.round(weight * 10000))),
  };
}

/** GetAlias, with "not found" turned into what to do about it. */
export async function getAlias(
  lambda: LambdaClient,
  functionName: string,
  aliasName: string,
): Promise<GetAliasCommandOutput> {
  try {
    return await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: aliasName }));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      throw new Error(
        `alias ${aliasName} of function ${functionName} not found: deploy the stacks first (cdktf deploy ` +
          `creates the function and its alias)`,
        { cause: error },
      );
    }
    throw error;
  }
}

export async function readAliasState(
  lambda: LambdaClient,
  functionName: string,
  aliasName: string,
): Promise<AliasState> {
  return aliasStateFrom(await getAlias(lambda, functionName, aliasName));
}

/** The buildId a published entry-router version serves, from its description; null when it has none. */
export async function findBuildIdOfVersion(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  cache?: VersionBuildCache,
): Promise<string | null> {
  return (await lookUpBuildId(lambda, functionName, version, cache)).buildId;
}

/** The buildId a published entry-router version serves, from its description. */
export async function buildIdOfVersion(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  cache?: VersionBuildCache,
): Promise<string> {
  const { buildId, description } = await lookUpBuildId(lambda, functionName, version, cache);
  if (!buildId)
    throw new Error(`${functionName} version ${version} has no buildId in its description ("${description ?? ''}")`);
  return buildId;
}

async function lookUpBuildId(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  cache: VersionBuildCache | undefined,
): Promise<{ buildId: string | null; description?: string }> {
  const key = `${functionName}:${version}`;
  const cached = cache?.get(key);
  if (cached) return { buildId: cached };
  let description: string | undefined;
  try {
    description = (
      await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version }))
    ).Description;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException')
      throw new Error(`${functionName} has no version ${version}`, { cause: error });
    throw error;
  }
  const buildId = buildIdFromDescription(description);
  if (buildId) cache?.set(key, buildId);
  return { buildId, description };
}

export async function readAliasBuilds(
  lambda: LambdaClient,
  functionName: string,
  aliasName: string,
  cache?: VersionBuildCache,
): Promise<AliasBuilds> {
  const state = await readAliasState(lambda, functionName, aliasName);
  const stable = {
    version: state.stableVersion,
    buildId: await buildIdOfVersion(lambda, functionName, state.stableVersion, cache),
  };
  if (!state.canaryVersion) return { stable, canary: null };
  const canaryBuildId = await buildIdOfVersion(lambda, functionName, state.canaryVersion, cache);
  return { stable, canary: { version: state.canaryVersion, buildId: canaryBuildId, weight: state.canaryWeight } };
}

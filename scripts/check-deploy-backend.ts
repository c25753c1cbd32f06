/**
 * `npm run check-backend` (the deploy workflow's first step after `npm ci`): refuses to deploy
 * from CI with the local backend. The local backend keeps state on the runner's disk, which is
 * thrown away after the job; the next deploy would start from no state and try to create every
 * resource again next to (or over) the ones that exist. Deploys by hand with local state stay
 * allowed: there the state file outlives the run.
 *
 *   npm run check-backend [-- --config <file>]
 */
import { parseArgs } from 'node:util';
import { loadConfig, type DeployConfig } from '../config';
import { runMain } from './lib/cli';

type Env = Readonly<Record<string, string | undefined>>;

/** Why this config must not be deployed from this environment, or null when it may. */
export function backendProblem(config: Pick<DeployConfig, 'backend'>, env: Env): string | null {
  if (config.backend.type !== 'local' || !runsInCi(env)) return null;
  return (
    'backend.type: is "local", which keeps Terraform state on the CI runner, and the runner is discarded after the job, ' +
    'so the next deploy would start without state and try to create every resource again. ' +
    'Use the "cloud" backend (Terraform Cloud: see "Terraform Cloud" in the README\'s deploy guide) or the "s3" backend in the deploy config, ' +
    'or deploy by hand from a machine that keeps the state file.'
  );
}

/** CI systems set CI; an empty value or `false` is how a person says "not CI" (as in `CI=false npm run …`). */
function runsInCi(env: Env): boolean {
  const value = env.CI?.trim();
  return Boolean(value) && !/^(false|0)$/i.test(value!);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const problem = backendProblem(loadConfig(values.config), process.env);
  if (!problem) return;
  // In GitHub Actions an annotation puts the reason on the run's summary page, not only in the log.
  if (!process.env.GITHUB_ACTIONS) throw new Error(problem);
  console.log(`::error title=Local backend in CI::${problem}`);
  process.exitCode = 1;
}

if (require.main === module) runMain(main);

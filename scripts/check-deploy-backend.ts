/**
 * `npm run check-backend` (the deploy workflow's first step after `npm ci`): refuses to deploy
 * from CI with the local backend. The local backend keeps state on the runner's disk, which is
 * thrown away after the job; the next deploy would start from no state and try to create every
 * resource again next to (or over) the ones that exist. Deploys by hand with local state stay
 * allowed: there the state file outlives the run.
 *
 *   npm run check-backend [-- --config <file>]   (`--help` for more)
 */
import type { Command } from 'commander';
import type { DeployConfig } from '../config';
import { configOption, defineCommand, ReportedFailure, runCommand, jsonOption, withJsonErrors } from './lib/cli';
import { commandContext } from './lib/command-context';

type Env = Readonly<Record<string, string | undefined>>;

/** Why this config must not be deployed from this environment, or null when it may. */
export function backendProblem(config: Pick<DeployConfig, 'backend'>, env: Env): string | null {
  if (config.backend.type !== 'local' || !runsInCi(env)) return null;
  return (
    'backend.type: is "local", which keeps Terraform state on the CI runner, and the runner is discarded after ' +
    'the job, ' +
    'so the next deploy would start without state and try to create every resource again. ' +
    'Use the "cloud" backend (Terraform Cloud: see "Terraform Cloud" in the README\'s deploy guide) or the ' +
    '"s3" backend in the deploy config, ' +
    'or deploy by hand from a machine that keeps the state file.'
  );
}

/** CI systems set CI; an empty value or `false` is how a person says "not CI" (as in `CI=false npm run …`). */
function runsInCi(env: Env): boolean {
  const value = env.CI?.trim();
  return Boolean(value) && !/^(false|0)$/i.test(value!);
}

export function checkBackendCommand(env: Env = process.env): Command {
  return defineCommand({
    name: 'npm run check-backend --',
    summary:
      "Refuse to deploy from CI with Terraform's local backend, whose state would be lost with the runner. " +
      'Passes outside CI (CI unset, empty, false or 0).',
    examples: [
      'npm run check-backend',
      'npm run check-backend -- --config staging.config.json',
      'CI=false npm run check-backend   # a deploy by hand, state kept on this machine',
      'npm run check-backend -- --json  # the verdict as one JSON object',
    ],
  })
    .addOption(configOption())
    .addOption(
      jsonOption(
        "{ok, backend (the config's backend.type), ci (whether this runs in CI), problem (why it must not " +
          'deploy from here, else null)}; in GitHub Actions the annotation goes to stderr',
      ),
    )
    .action(async (flags: { readonly config?: string; readonly json: boolean }, command: Command) => {
      const context = commandContext(command, flags, { env });
      const { out, err } = context;
      const { config, problem } = await withJsonErrors(flags.json, out, async () => {
        const { config } = context;
        return { config, problem: backendProblem(config, env) };
      });
      if (flags.json)
        context.printJson({ ok: problem === null, backend: config.backend.type, ci: runsInCi(env), problem });
      if (!problem) return;
      // In GitHub Actions an annotation puts the reason on the run's summary page, not only in the log
      // (the runner reads it on stderr too: under --json stdout stays the JSON).
      if (env.GITHUB_ACTIONS) (flags.json ? err : out)(`::error title=Local backend in CI::${problem}`);
      else err(problem);
      throw new ReportedFailure();
    });
}

if (require.main === module) runCommand(checkBackendCommand());

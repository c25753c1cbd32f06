import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../config';
import { DEFAULT_BRANCH_REF, LIVE_CHECK_WORKFLOW } from '../../scripts/lib/ci-iam';
import { namesOf } from '../../scripts/names';
import { PLAN_COMMENT_MARKER } from '../../scripts/plan-comment';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, '.github', 'workflows');
const files = readdirSync(DIR).filter((file) => /\.ya?ml$/.test(file));
const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  steps: Step[];
  env?: Record<string, string>;
  permissions?: Record<string, string>;
  needs?: string;
  if?: string;
  environment?: string;
  container?: string;
  outputs?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  'timeout-minutes'?: number;
}
interface Workflow {
  on: Record<string, unknown>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const text = (file: string) => readFileSync(path.join(DIR, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (file: string) => Object.values(workflow(file).jobs).flatMap((job) => job.steps);
const runs = (file: string) => steps(file).flatMap((step) => (step.run ? [step.run] : []));
const indexOf = (list: Step[], pattern: RegExp) => list.findIndex((step) => pattern.test(step.run ?? ''));
const jobsOf = (file: string) => Object.entries(workflow(file).jobs).map(([name, job]) => ({ file, name, job }));
const allJobs = files.flatMap(jobsOf);
const setupTerraform = (file: string) =>
  steps(file).find((step) => step.uses?.startsWith('hashicorp/setup-terraform@'));
const awsCredentials = (file: string) =>
  steps(file).find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
/**
 * The job token's permissions in a job: its own block, else the workflow's (undefined: GitHub's default, which may
 * write).
 */
const permissionsOf = (file: string, job: Job) => job.permissions ?? workflow(file).permissions;
/** A job that runs this repository's code, the pull request's on a pull request: it checks out, or runs npm or npx. */
const runsRepoCode = (job: Job) =>
  job.steps.some((step) => step.uses?.startsWith('actions/checkout@') || /\bnpm\b|\bnpx\b/.test(step.run ?? ''));
/**
 * The scopes a token may write. No block (GitHub's default, which may write) or a string (`write-all`, `read-all`)
 * counts as one.
 */
const writes = (permissions: Record<string, string> | string | undefined) =>
  typeof permissions === 'object'
    ? Object.entries(permissions)
        .filter(([, level]) => level === 'write')
        .map(([scope]) => scope)
    : [`${permissions}`];

/** A step after which credentials are in the job: a Terraform token, AWS keys, or any secret. */
function obtainsCredentials(step: Step): boolean {
  if (step.uses?.startsWith('hashicorp/setup-terraform@') && step.with?.cli_config_credentials_token) return true;
  if (step.uses?.startsWith('aws-actions/configure-aws-credentials@')) return true;
  return /\$\{\{\s*secrets\./.test(JSON.stringify(step));
}

describe('GitHub workflows', () => {
  it('are the four the project needs', () => {
    expect(files.sort()).toEqual(['deploy.yml', 'drift.yml', 'full-tests.yml', 'pull-request.yml']);
  });

  it.each(files)('%s passes action-validator', (file) => {
    const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'action-validator'), [path.join(DIR, file)], {
      encoding: 'utf8',
    });
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(files)('%s only runs npm scripts and binaries that exist', (file) => {
    const commands = runs(file).join('\n');
    const scripts = [...commands.matchAll(/npm run (?:--silent )?([\w:-]+)/g)].map((match) => match[1]!);
    const bins = [...commands.matchAll(/npx ([\w@./-]+)/g)].map((match) => match[1]!);
    expect(scripts.length + bins.length).toBeGreaterThan(0);
    for (const script of scripts) expect([script, packageJson.scripts[script] !== undefined]).toEqual([script, true]);
    for (const bin of bins)
      expect([bin, existsSync(path.join(ROOT, 'node_modules', '.bin', bin))]).toEqual([bin, true]);
    if (/npm test/.test(commands)) expect(packageJson.scripts.test).toBeDefined();
  });

  it.each(files)('%s pins every action to a full commit SHA, naming its tag in a comment', (file) => {
    const uses = steps(file).flatMap((step) => (step.uses ? [step.uses] : []));
    expect(uses.length).toBeGreaterThan(0);
    // A tag can be moved to other code; a commit cannot.
    for (const action of uses) expect(action).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*@[0-9a-f]{40}$/);
    // The parser drops comments, so the tag is checked on the raw lines, one per parsed `uses:`.
    const lines = text(file)
      .split('\n')
      .filter((line) => /^\s*(-\s+)?uses:/.test(line));
    expect(lines).toHaveLength(uses.length);
    for (const line of lines) expect(line).toMatch(/^\s*(-\s+)?uses:\s*\S+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$/);
  });

  it('pins each action to the same commit and tag in every workflow', () => {
    const pins = new Map<string, Set<string>>();
    for (const file of files) {
      for (const [, action, pin] of text(file).matchAll(/uses:\s*([^@\s]+)@(\S+ # \S+)/g))
        pins.set(action!, (pins.get(action!) ?? new Set()).add(pin!));
    }
    expect(pins.size).toBeGreaterThan(0);
    for (const [action, pin] of pins) expect([action, [...pin]]).toEqual([action, [expect.any(String)]]);
  });

  it("lists every pinned action, with its tag and commit, in the deploy guide's table, and nothing else", () => {
    const pinned = new Set<string>();
    for (const file of files)
      for (const [, action, sha, tag] of text(file).matchAll(/uses:\s*([^@\s]+)@([0-9a-f]{40}) # (\S+)/g))
        pinned.add(`${action} ${tag} ${sha}`);
    const guide = readFileSync(path.join(ROOT, 'docs', 'deploy-guide.md'), 'utf8');
    const listed = [...guide.matchAll(/^\| `([\w.-]+\/[\w./-]+)` \| (v[\d.]+) \| `([0-9a-f]{40})` \|$/gm)].map(
      ([, action, tag, sha]) => `${action} ${tag} ${sha}`,
    );
    expect(listed.sort()).toEqual([...pinned].sort());
  });

  it.each(files)('%s checks out without leaving the job token in .git/config', (file) => {
    const checkouts = steps(file).filter((step) => step.uses?.startsWith('actions/checkout@'));
    expect(checkouts.length).toBeGreaterThan(0);
    for (const step of checkouts) expect(step.with?.['persist-credentials']).toBe(false);
  });

  it.each(
    allJobs.filter(({ job }) => runsRepoCode(job)).map(({ file, name, job }) => [`${file} ${name}`, job] as const),
  )('%s installs without install scripts', (_, job) => {
    const installs = job.steps.filter((step) => /\bnpm (ci|install|i)\b/.test(step.run ?? ''));
    expect(installs.length).toBeGreaterThan(0);
    for (const step of installs) expect(step.run).toMatch(/^npm ci --ignore-scripts\b/);
  });

  it.each(
    allJobs
      .filter(({ job }) => job.steps.some(obtainsCredentials))
      .map(({ file, name, job }) => [`${file} ${name}`, job] as const),
  )('%s installs and builds before it gets any credential', (_, job) => {
    const firstCredential = job.steps.findIndex(obtainsCredentials);
    const [install, build] = [indexOf(job.steps, /^npm ci\b/), indexOf(job.steps, /^npm run build$/)];
    expect(install).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(install);
    expect(firstCredential).toBeGreaterThan(build);
  });

  it('has credential steps in every job that plans or deploys (so the order test above covers them)', () => {
    const credentialed = allJobs
      .filter(({ job }) => job.steps.some(obtainsCredentials))
      .map(({ file, name }) => `${file} ${name}`);
    expect(credentialed.sort()).toEqual([
      'deploy.yml deploy',
      'drift.yml drift',
      'drift.yml live',
      'pull-request.yml plan',
    ]);
  });

  it.each(files)('%s reads only stack names `npm run names` writes', (file) => {
    const text = readFileSync(path.join(DIR, file), 'utf8');
    const keys = namesOf(loadConfig(path.join(ROOT, 'deploy.config.json')));
    for (const match of text.matchAll(/steps\.names\.outputs\.(\w+)/g)) expect(Object.keys(keys)).toContain(match[1]);
  });

  it('gives Terraform a Terraform Cloud token wherever cdktf plans or deploys: the write token to deploys only', () => {
    const tokens: Record<string, string> = {};
    for (const file of files) {
      if (!/cdktf (plan|deploy)|npm run drift/.test(runs(file).join('\n'))) continue;
      const deploys = /cdktf deploy/.test(runs(file).join('\n'));
      const token = deploys ? '${{ secrets.TF_API_TOKEN }}' : '${{ secrets.TF_PLAN_API_TOKEN }}';
      expect(setupTerraform(file)?.with).toMatchObject({
        cli_config_credentials_token: token,
        terraform_wrapper: false,
      });
      tokens[file] = token;
    }
    expect(tokens).toEqual({
      'deploy.yml': '${{ secrets.TF_API_TOKEN }}',
      'drift.yml': '${{ secrets.TF_PLAN_API_TOKEN }}',
      'pull-request.yml': '${{ secrets.TF_PLAN_API_TOKEN }}',
    });
  });

  it('never lets a workflow that only plans see the write token or the deploy role', () => {
    for (const file of ['pull-request.yml', 'drift.yml']) {
      expect(text(file)).not.toMatch(/secrets\.TF_API_TOKEN\b|AWS_DEPLOY_ROLE_ARN/);
      expect(awsCredentials(file)?.with).toMatchObject({ 'role-to-assume': '${{ vars.AWS_PLAN_ROLE_ARN }}' });
    }
  });

  it('assumes each AWS role in its one job: the plan role in the plans, the live-check role in the live check', () => {
    const roles = allJobs.flatMap(({ file, name, job }) =>
      job.steps
        .filter((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'))
        .map((step) => `${file} ${name}: ${String(step.with?.['role-to-assume'])}`),
    );
    expect(roles.sort()).toEqual([
      'deploy.yml deploy: ${{ vars.AWS_DEPLOY_ROLE_ARN }}',
      'drift.yml drift: ${{ vars.AWS_PLAN_ROLE_ARN }}',
      'drift.yml live: ${{ vars.AWS_LIVE_CHECK_ROLE_ARN }}',
      'pull-request.yml plan: ${{ vars.AWS_PLAN_ROLE_ARN }}',
    ]);
    // The live-check role's variable nowhere else: its trust names the one workflow whose runs on main may assume it.
    expect(files.filter((file) => /AWS_LIVE_CHECK_ROLE_ARN/.test(text(file)))).toEqual([
      path.basename(LIVE_CHECK_WORKFLOW),
    ]);
  });

  it(
    'plans without taking the state lock (taking it is a write the plan credentials may not do), ' +
      'and deploys with it',
    () => {
      for (const { job } of [
        ...jobsOf('pull-request.yml').filter(({ name }) => name === 'plan'),
        ...jobsOf('drift.yml').filter(({ name }) => name === 'drift'),
      ]) {
        expect(job.env?.TF_CLI_ARGS_plan).toMatch(/(^|\s)-lock=false(\s|$)/);
      }
      expect(text('deploy.yml')).not.toMatch(/-lock=false|TF_CLI_ARGS/);
    },
  );

  it.each(files)('%s gives every job a read-only token unless the job asks for more', (file) => {
    const permissions = workflow(file).permissions;
    expect(typeof permissions).toBe('object');
    for (const [scope, level] of Object.entries(permissions ?? {}))
      expect([scope, level]).toEqual([scope, expect.stringMatching(/^(read|none)$/)]);
  });

  it.each(
    allJobs
      .filter(({ job }) => runsRepoCode(job))
      .map(({ file, name, job }) => [`${file} ${name}`, file, job] as const),
  )(
    '%s runs repository code, so its token writes nothing (an OIDC token for a role is all it may add)',
    (_, file, job) => {
      expect(writes(permissionsOf(file, job)).filter((scope) => scope !== 'id-token')).toEqual([]);
    },
  );

  it('lets only a job that runs no repository code write with the job token: no checkout, no `run:` step', () => {
    const writers = allJobs.filter(({ file, job }) =>
      writes(permissionsOf(file, job)).some((scope) => scope !== 'id-token'),
    );
    expect(writers.map(({ file, name }) => `${file} ${name}`)).toEqual(['pull-request.yml comment']);
    for (const { job } of writers) {
      expect(
        job.steps.filter(
          (step) =>
            step.run !== undefined ||
            step.uses?.startsWith('actions/checkout@') ||
            step.uses?.startsWith('actions/setup-node@'),
        ),
      ).toEqual([]);
    }
  });

  it('gives each job the token it needs and no more', () => {
    const held = Object.fromEntries(
      allJobs.map(({ file, name, job }) => [`${file} ${name}`, permissionsOf(file, job)]),
    );
    const oidc = { contents: 'read', 'id-token': 'write' };
    expect(held).toEqual({
      'deploy.yml deploy': oidc,
      'drift.yml gate': { actions: 'read' },
      'drift.yml drift': oidc,
      'drift.yml live': oidc,
      'full-tests.yml test-full': { contents: 'read' },
      'pull-request.yml test': { contents: 'read' },
      'pull-request.yml plan': oidc,
      'pull-request.yml comment': { 'pull-requests': 'write' },
    });
  });

  it(
    'runs deploys and drift plans in one concurrency group, one at a time, neither cancelling the other: the ' +
      "drift workflow's plan job holds it, not its gate nor the workflow",
    () => {
      const [deploy, drift] = [workflow('deploy.yml'), workflow('drift.yml')];
      // A drift plan during an apply reads half-written state; one group keeps them apart.
      const group = { group: 'terraform-state-production', 'cancel-in-progress': false };
      expect(deploy.concurrency).toEqual(group);
      expect(drift.jobs.drift!.concurrency).toEqual(group);
      // The gate must look at the deploys before anything of this run waits in the group.
      expect(drift.concurrency).toBeUndefined();
      expect(drift.jobs.gate?.concurrency).toBeUndefined();
      expect(text('drift.yml').match(/terraform-state-production/g)).toHaveLength(1);
    },
  );

  describe('deploy', () => {
    const deploy = workflow('deploy.yml');
    const list = steps('deploy.yml');

    it('runs on main, one at a time, never cancelling a running deploy', () => {
      expect(deploy.on.push).toEqual({ branches: ['main'] });
      expect(deploy.concurrency).toEqual({ group: 'terraform-state-production', 'cancel-in-progress': false });
    });

    it('does nothing when started by hand from another branch, and runs in the production environment', () => {
      expect(deploy.on).toHaveProperty('workflow_dispatch');
      expect(Object.keys(deploy.jobs)).toEqual(['deploy']);
      expect(deploy.jobs.deploy!.if).toBe("github.ref == 'refs/heads/main'");
      expect(deploy.jobs.deploy!.environment).toBe('production');
    });

    it('refuses a backend that cannot keep state right after installing, before any credential', () => {
      const install = indexOf(list, /^npm ci\b/);
      const check = indexOf(list, /^npm run check-backend$/);
      expect(check).toBe(install + 1);
      expect(check).toBeLessThan(list.findIndex(obtainsCredentials));
      expect(packageJson.scripts['check-backend']).toBe('tsx scripts/check-deploy-backend.ts');
    });

    it('gets AWS credentials by OIDC, no stored keys', () => {
      expect(deploy.jobs.deploy!.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
      const aws = list.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(aws?.with).toMatchObject({
        'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}',
        'aws-region': 'us-east-1',
      });
      expect(text('deploy.yml')).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    });

    it(
      'checks the edge code on the local request path before any credential, and in CloudFront before ' +
        'the delivery deploy',
      () => {
        const local = indexOf(list, /^npm run verify-edge$/);
        expect(local).toBeGreaterThan(indexOf(list, /^npm run build$/));
        expect(local).toBeLessThan(list.findIndex(obtainsCredentials));
        const remote = indexOf(list, /^npm run verify-edge -- --cloudfront-only$/);
        expect(remote).toBeGreaterThan(list.findIndex(obtainsCredentials));
        expect(remote).toBeLessThan(indexOf(list, /cdktf deploy "\$STACK".*--skip-synth/));
        expect(packageJson.scripts['verify-edge']).toBe('tsx scripts/verify-edge.ts');
      },
    );

    it('copies retained builds into regions that lack them after the upload, before the delivery deploy', () => {
      const backfill = indexOf(list, /^npm run backfill$/);
      expect(backfill).toBeGreaterThan(indexOf(list, /^npm run upload$/));
      expect(backfill).toBeLessThan(indexOf(list, /cdktf deploy "\$STACK".*--skip-synth/));
      expect(packageJson.scripts.backfill).toBe('tsx scripts/backfill.ts');
    });

    it('builds, deploys the buckets, uploads, deploys delivery, then waits for the rollout', () => {
      const order = [
        /npm run build/,
        /cdktf deploy "\$STACK"(?!.*skip-synth)/,
        /npm run upload/,
        /^npm run rollout -- wait --save-baseline /,
        /cdktf deploy "\$STACK".*--skip-synth/,
        /^npm run rollout -- wait --baseline /,
      ].map((pattern) => indexOf(list, pattern));
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      const replicas = list[order[1]!]!;
      const delivery = list[order[4]!]!;
      expect(replicas.env?.STACK).toBe('${{ steps.names.outputs.replicas_stack }}');
      expect(delivery.env?.STACK).toBe('${{ steps.names.outputs.delivery_stack }}');
      for (const step of [replicas, delivery]) expect(step.run).toContain('--auto-approve');
      // Deploying one stack of two needs cdktf told that its dependency was deployed already.
      expect(delivery.run).toContain('--ignore-missing-stack-dependencies');
    });

    it(
      'checks what the live distribution serves as its last ' +
        'step, after the rollout ended, with the deploy credentials',
      () => {
        const check = indexOf(list, /^npm run rollout -- check-live\b/);
        expect(check).toBe(list.length - 1);
        expect(check).toBeGreaterThan(indexOf(list, /^npm run rollout -- wait --baseline /));
        expect(check).toBeGreaterThan(list.findIndex(obtainsCredentials));
        // Checked against this job's build, at the distribution's own domain; again until the edges serve the state.
        expect(list[check]!.run).toBe('npm run rollout -- check-live --within 3m');
        // Only at a custom domain: CloudFront's own domain is known only from the deploy's outputs (exit 2 without
        // --url).
        expect(list[check]!.if).toBe("steps.names.outputs.custom_domain == 'true'");
        // Elsewhere only in drift.yml's live job, with the live-check role: not in a pull request's jobs (their plan
        // role may not read the published manifests, objects outside the stacks' state), not in the nightly tests (no
        // credentials; they check it against the local distribution).
        const elsewhere = allJobs
          .filter(({ file }) => file !== 'deploy.yml')
          .filter(({ job }) => job.steps.some((step) => /check-live/.test(step.run ?? '')))
          .map(({ file, name }) => `${file} ${name}`);
        expect(elsewhere).toEqual(['drift.yml live']);
      },
    );
  });

  describe('pull request', () => {
    const pr = workflow('pull-request.yml');

    it('tests, builds and synthesizes, then plans both stacks', () => {
      const test = runs('pull-request.yml');
      for (const pattern of [/npm ci/, /npm test/, /npm run build/, /npx cdktf synth/, /npx cdktf plan "\$stack"/])
        expect(test.some((run) => pattern.test(run))).toBe(true);
      expect(pr.jobs.plan!.needs).toBe('test');
      const plan = pr.jobs.plan!.steps.find((step) => step.id === 'plan')!;
      expect(plan.env?.STACKS).toBe(
        '${{ steps.names.outputs.replicas_stack }} ${{ steps.names.outputs.delivery_stack }}',
      );
    });

    it('updates one plan comment, found by the marker the comment is written with', () => {
      expect(pr.jobs.comment!.permissions).toEqual({ 'pull-requests': 'write' });
      const script = pr.jobs.comment!.steps.find((step) => step.uses?.startsWith('actions/github-script@'))?.with
        ?.script as string;
      expect(script).toContain(`const marker = '${PLAN_COMMENT_MARKER}';`);
      expect(script).toMatch(/updateComment/);
      expect(script).toMatch(/createComment/);
    });

    it('renders the comment in the plan job and hands it over as an artifact, before failing on a failed plan', () => {
      const list = pr.jobs.plan!.steps;
      const write = indexOf(list, /^npm run plan-comment -- --plans plans --out plan-comment\.md$/);
      const upload = list.findIndex((step) => step.uses?.startsWith('actions/upload-artifact@'));
      const fail = list.findIndex((step) => step.name === 'Fail when a plan failed');
      expect(write).toBeGreaterThan(indexOf(list, /npx cdktf plan/));
      expect(upload).toBeGreaterThan(write);
      expect(list[upload]).toMatchObject({
        id: 'upload',
        if: "always() && steps.write.outcome == 'success'",
        with: { name: 'plan-comment', path: 'plan-comment.md' },
      });
      // The upload runs after a failed plan too; then the job, the check named after the plan, fails.
      expect([fail, list[fail]?.if]).toEqual([list.length - 1, "steps.plan.outputs.failed == '1'"]);
      expect(list[fail]!.run).toMatch(/exit 1/);
      expect(pr.jobs.plan!.outputs).toEqual({ 'comment-artifact': '${{ steps.upload.outputs.artifact-id }}' });
      expect(list.some((step) => step.uses?.startsWith('actions/github-script@'))).toBe(false);
    });

    it("posts the comment from a job that runs none of the pull request's code, reading the body as data", () => {
      const comment = pr.jobs.comment!;
      expect(comment.needs).toBe('plan');
      // Also after a failed plan; not when no comment was uploaded (forks, a job that stopped early), not when
      // cancelled.
      expect(comment.if).toBe("${{ !cancelled() && needs.plan.outputs.comment-artifact != '' }}");
      expect(comment.container).toBeUndefined();
      expect(comment.steps.map((step) => step.uses?.replace(/@.*/, ''))).toEqual([
        'actions/download-artifact',
        'actions/github-script',
      ]);
      expect(comment.steps.filter((step) => step.run !== undefined)).toEqual([]);
      expect(comment.steps[0]!.with).toEqual({ name: 'plan-comment', path: 'plan-comment' });
      // Nothing from the plan job reaches a script or an input through an expression: only the file does.
      expect(JSON.stringify(comment.steps)).not.toMatch(/\$\{\{/);
      const script = comment.steps[1]!.with?.script as string;
      expect(script).toContain("fs.readFileSync('plan-comment/plan-comment.md', 'utf8')");
      expect(script).toContain('context.issue.number');
    });
  });

  describe('drift', () => {
    const drift = workflow('drift.yml');
    const gate = drift.jobs.gate as Job | undefined;
    const gateScript = () =>
      gate?.steps.find((step) => step.uses?.startsWith('actions/github-script@'))?.with?.script as string;

    it('runs on a schedule and fails through npm run drift', () => {
      expect(drift.on.schedule).toEqual([{ cron: expect.stringMatching(/^(\S+ ){4}\S+$/) }]);
      const list = steps('drift.yml');
      expect(indexOf(list, /npx cdktf synth/)).toBeLessThan(indexOf(list, /npm run drift/));
    });

    // A drift plan entering the group while a deploy waits there would cancel that deploy (one pending per group).
    it('starts with a gate that runs no repository code and may only read the Actions API', () => {
      expect(Object.keys(drift.jobs)).toEqual(['gate', 'drift', 'live']);
      expect(gate).toBeDefined();
      expect(gate?.permissions).toEqual({ actions: 'read' });
      expect(runsRepoCode(gate!)).toBe(false);
      expect(gate?.container).toBeUndefined();
      // One step, the action pull-request.yml's comment job uses, pinned the same: no checkout, no setup-node, no
      // `run:`.
      const script = workflow('pull-request.yml').jobs.comment!.steps.find((step) =>
        step.uses?.startsWith('actions/github-script@'),
      )?.uses;
      expect(script).toMatch(/^actions\/github-script@[0-9a-f]{40}$/);
      expect(gate?.steps.map((step) => step.uses)).toEqual([script]);
      expect(gate?.steps.filter((step) => step.run !== undefined)).toEqual([]);
      expect(gate?.needs).toBeUndefined();
    });

    it('plans only after the gate, and only when the gate saw no unfinished deploy', () => {
      expect(drift.jobs.drift!.needs).toBe('gate');
      expect(drift.jobs.drift!.if).toBe("needs.gate.outputs.deploy-active != 'true'");
      const id = gate?.steps.find((step) => step.uses?.startsWith('actions/github-script@'))?.id;
      expect(id).toBeTruthy();
      expect(gate?.outputs).toEqual({ 'deploy-active': `\${{ steps.${id}.outputs.deploy-active }}` });
    });

    it(
      "asks for this repository's runs of deploy.yml that " + 'have not completed, in every status before completed',
      () => {
        const script = gateScript();
        expect(script).toMatch(/github\.rest\.actions\.listWorkflowRuns\(/);
        expect(script).toContain("workflow_id: 'deploy.yml'");
        expect(script).toContain('context.repo');
        expect(script).toMatch(/status\s*!==\s*'completed'/);
        for (const status of ['queued', 'in_progress', 'waiting', 'pending', 'requested'])
          expect(script).toContain(`'${status}'`);
        expect(script).toContain("core.setOutput('deploy-active'");
        expect(script).toMatch(/core\.notice\(/);
        // Nothing reaches the script through an expression.
        expect(JSON.stringify(gate?.steps)).not.toMatch(/\$\{\{/);
      },
    );

    describe("the gate's script, run against a stand-in for the API", () => {
      interface Run {
        id: number;
        run_number: number;
        status: string;
        event: string;
        head_sha: string;
        html_url: string;
      }
      const run = (id: number, status: string): Run => ({
        id,
        run_number: id,
        status,
        event: 'push',
        head_sha: `${id}`.padStart(40, '0'),
        html_url: `https://github.invalid/runs/${id}`,
      });
      /**
       * Runs the script as actions/github-script does (an async function of github, context, core), with runs newest
       * first.
       */
      async function gateSays(runs: Run[]) {
        const queries: Record<string, unknown>[] = [];
        const listWorkflowRuns = async (query: Record<string, unknown>) => {
          queries.push(query);
          const matching = runs.filter((each) => query.status === undefined || each.status === query.status);
          return {
            data: { total_count: matching.length, workflow_runs: matching.slice(0, Number(query.per_page ?? 30)) },
          };
        };
        const outputs: Record<string, string> = {};
        const notices: string[] = [];
        const core = {
          setOutput: (name: string, value: string) => (outputs[name] = value),
          notice: (message: string) => notices.push(message),
          info: () => undefined,
        };
        const context = { repo: { owner: 'owner', repo: 'repo' } };
        const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
          ...args: string[]
        ) => (...values: unknown[]) => Promise<unknown>;
        await new AsyncFunction('github', 'context', 'core', gateScript())(
          { rest: { actions: { listWorkflowRuns } } },
          context,
          core,
        );
        return { outputs, notices, queries };
      }
      const done = (from: number, count: number) =>
        Array.from({ length: count }, (_, index) => run(from - index, 'completed'));

      it.each(['queued', 'in_progress', 'waiting', 'pending', 'requested'])(
        'skips the plan, with a notice naming the run, while a deploy is %s',
        async (status) => {
          const { outputs, notices, queries } = await gateSays([run(300, status), ...done(299, 5)]);
          expect(outputs).toEqual({ 'deploy-active': 'true' });
          expect(notices).toHaveLength(1);
          expect(notices[0]).toContain(`#300 (${status})`);
          for (const query of queries)
            expect(query).toMatchObject({ owner: 'owner', repo: 'repo', workflow_id: 'deploy.yml' });
        },
      );

      it(
        'sees an unfinished deploy older than the newest ' + 'hundred runs (one waiting days for an approval)',
        async () => {
          expect((await gateSays([...done(500, 150), run(10, 'waiting')])).outputs).toEqual({
            'deploy-active': 'true',
          });
        },
      );

      it('lets the plan run, without a notice, when every deploy has completed', async () => {
        const { outputs, notices } = await gateSays(done(500, 150));
        expect(outputs).toEqual({ 'deploy-active': 'false' });
        expect(notices).toEqual([]);
      });
    });

    describe('the live check', () => {
      const live = drift.jobs.live!;
      const list = live.steps;
      const ROLE = '${{ vars.AWS_LIVE_CHECK_ROLE_ARN }}';
      const credentials = () => list.filter(obtainsCredentials);

      /**
       * Which steps run, by their `if:` alone: an expression of the one form the job uses, `<name> == '…'` or
       * `<name> != '…'`, read from `values` (a step output is '' until its step has run). Any other form throws.
       */
      function stepsRun(values: Readonly<Record<string, string>>): string[] {
        const outputs: Record<string, string> = {};
        const ran: string[] = [];
        for (const step of list) {
          const condition = step.if === undefined ? undefined : /^([\w.-]+) (==|!=) '([^']*)'$/.exec(step.if.trim());
          if (step.if !== undefined && !condition) throw new Error(`an if: this test cannot read: ${step.if}`);
          const value = condition ? (values[condition[1]!] ?? outputs[condition[1]!] ?? '') : '';
          if (condition && (value === condition[3]) !== (condition[2] === '==')) continue;
          const label = step.name ?? step.run ?? step.uses!.replace(/@.*/, '');
          ran.push(label);
          if (step.id === 'names') outputs['steps.names.outputs.custom_domain'] = values.custom_domain ?? '';
        }
        return ran;
      }

      it("runs on main only, on the workflow's schedule or by hand, the only triggers the role's trust admits", () => {
        // The trust holds the role to this file's runs on main; nothing here may run it for a pull request or a push.
        expect(LIVE_CHECK_WORKFLOW).toBe('.github/workflows/drift.yml');
        expect(Object.keys(drift.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
        expect(live.if).toBe(`github.ref == '${DEFAULT_BRANCH_REF}'`);
        // An environment would make the token's subject `environment:<name>`, which the trust refuses.
        expect(live.environment).toBeUndefined();
      });

      it("is independent of the plan and outside the state's concurrency group: it reads no Terraform state", () => {
        expect(live.needs).toBeUndefined();
        expect(live.concurrency).toBeUndefined();
        expect(list.filter((step) => step.uses?.startsWith('hashicorp/setup-terraform@'))).toEqual([]);
        expect(JSON.stringify(live)).not.toMatch(/secrets\.|AWS_PLAN_ROLE_ARN|TF_CLI_ARGS|cdktf/);
      });

      it('asks for the OIDC token and read access to check out, nothing else', () => {
        expect(live.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
        expect(live['timeout-minutes']).toBeLessThanOrEqual(30);
      });

      it(
        'checks out, installs without scripts and builds before it gets the live-check role, then runs check-live ' +
          'last, as the deploy does',
        () => {
          const at = (pattern: RegExp) => indexOf(list, pattern);
          const order = [
            list.findIndex((step) => step.uses?.startsWith('actions/checkout@')),
            list.findIndex((step) => step.uses?.startsWith('actions/setup-node@')),
            at(/^npm ci --ignore-scripts --no-audit --no-fund$/),
            at(/^npm run build$/),
            at(/^npm run names -- --github-output$/),
            list.findIndex(obtainsCredentials),
            at(/^npm run rollout -- check-live\b/),
          ];
          expect(order.every((index) => index >= 0)).toBe(true);
          expect([...order].sort((a, b) => a - b)).toEqual(order);
          expect(list[order[4]!]!.id).toBe('names');
          expect(credentials()).toHaveLength(1);
          expect(credentials()[0]!.with).toMatchObject({ 'role-to-assume': ROLE, 'aws-region': 'us-east-1' });
          const check = list[order[6]!]!;
          expect(order[6]).toBe(list.length - 1);
          // The deploy's own last step, word for word, under the same condition.
          const deployed = steps('deploy.yml').find((step) => /check-live/.test(step.run ?? ''))!;
          expect([check.run, check.if]).toEqual([deployed.run, deployed.if]);
          expect(credentials()[0]!.if).toBe(deployed.if);
        },
      );

      it('without a live-check role, runs nothing but a notice saying so', () => {
        expect(stepsRun({ 'vars.AWS_LIVE_CHECK_ROLE_ARN': '', custom_domain: 'true' })).toEqual([
          'No live-check role, no live check',
        ]);
        const notice = list.find((step) => step.name === 'No live-check role, no live check')!;
        expect(notice.run).toMatch(/^echo "::notice title=Live check skipped::AWS_LIVE_CHECK_ROLE_ARN is not set/);
        expect(notice.uses).toBeUndefined();
      });

      it('with the role: without a custom domain, says so and gets no credential; with one, checks', () => {
        const role = { 'vars.AWS_LIVE_CHECK_ROLE_ARN': 'arn:aws:iam::123456789012:role/widget-github-live-check' };
        const setup = ['actions/checkout', 'actions/setup-node', 'npm ci --ignore-scripts --no-audit --no-fund'];
        expect(stepsRun({ ...role, custom_domain: 'false' })).toEqual([
          ...setup,
          'npm run build',
          'Stack names',
          'No custom domain, no address to check',
        ]);
        expect(stepsRun({ ...role, custom_domain: 'true' })).toEqual([
          ...setup,
          'npm run build',
          'Stack names',
          'AWS credentials (live-check role, by OIDC)',
          'Check what the live distribution serves',
        ]);
        expect(list.find((step) => step.name === 'No custom domain, no address to check')!.run).toMatch(
          /^echo "::notice title=Live check skipped::customDomain is false/,
        );
      });
    });
  });
});

describe('full tests workflow', () => {
  const full = workflow('full-tests.yml');
  const list = steps('full-tests.yml');

  it('runs nightly and on demand', () => {
    expect(full.on.schedule).toEqual([{ cron: expect.stringMatching(/^(\S+ ){4}\S+$/) }]);
    expect(full.on).toHaveProperty('workflow_dispatch');
    expect(Object.keys(full.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
  });

  it('may only read the repository, and gets no credential', () => {
    expect(full.permissions).toEqual({ contents: 'read' });
    for (const job of Object.values(full.jobs)) expect(job.permissions).toBeUndefined();
    expect(list.some(obtainsCredentials)).toBe(false);
  });

  it('installs without scripts, then runs the suite with every property at its full count', () => {
    const install = indexOf(list, /^npm ci --ignore-scripts\b/);
    const test = indexOf(list, /^npm run test:full$/);
    expect(install).toBeGreaterThanOrEqual(0);
    expect(test).toBeGreaterThan(install);
    // The same type checks and lint as `npm test` (all of them: no group named) beside the same jest: a full run is
    // never a weaker one.
    const checksBeside = 'tsx __tests__/fixtures/static-checks.ts -- jest';
    expect(packageJson.scripts.test).toBe(checksBeside);
    expect(packageJson.scripts['test:full']).toBe(`PROPERTY_RUNS=100000 ${checksBeside}`);
  });

  it(
    'then installs Firefox and WebKit from Debian and runs the browser suites on every engine, checking ' +
      'the engine table',
    () => {
      const apt = indexOf(
        list,
        /^apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y firefox-esr webkit2gtk-driver xvfb$/,
      );
      const browsers = indexOf(list, /^npm run test:browsers$/);
      expect(apt).toBeGreaterThan(indexOf(list, /^npm run test:full$/));
      expect(browsers).toBeGreaterThan(apt);
      expect(packageJson.scripts['test:browsers']).toMatch(
        new RegExp(
          '(^|&& )BROWSER_ENGINES=all jest __tests__\\/local\\/browser\\.test\\.ts ' +
            '__tests__\\/local\\/host-csp\\.test\\.ts && tsx __tests__\\/fixtures\\/engine-table\\.ts --check$',
        ),
      );
    },
  );
});

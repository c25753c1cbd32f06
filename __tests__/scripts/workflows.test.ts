import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../config';
import { namesOf } from '../../scripts/names';
import { PLAN_COMMENT_MARKER } from '../../scripts/plan-comment';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, '.github', 'workflows');
const files = readdirSync(DIR).filter((file) => /\.ya?ml$/.test(file));
const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

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
  permissions?: Record<string, string>;
  needs?: string;
  if?: string;
  environment?: string;
  container?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = (file: string) => parse(readFileSync(path.join(DIR, file), 'utf8')) as Workflow;
const steps = (file: string) => Object.values(workflow(file).jobs).flatMap((job) => job.steps);
const runs = (file: string) => steps(file).flatMap((step) => (step.run ? [step.run] : []));
const indexOf = (list: Step[], pattern: RegExp) => list.findIndex((step) => pattern.test(step.run ?? ''));

describe('GitHub workflows', () => {
  it('are the three the project needs', () => {
    expect(files.sort()).toEqual(['deploy.yml', 'drift.yml', 'pull-request.yml']);
  });

  it.each(files)('%s passes action-validator', (file) => {
    const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'action-validator'), [path.join(DIR, file)], { encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(files)('%s only runs npm scripts and binaries that exist', (file) => {
    const commands = runs(file).join('\n');
    const scripts = [...commands.matchAll(/npm run (?:--silent )?([\w:-]+)/g)].map((match) => match[1]);
    const bins = [...commands.matchAll(/npx ([\w@./-]+)/g)].map((match) => match[1]);
    expect(scripts.length + bins.length).toBeGreaterThan(0);
    for (const script of scripts) expect([script, packageJson.scripts[script] !== undefined]).toEqual([script, true]);
    for (const bin of bins) expect([bin, existsSync(path.join(ROOT, 'node_modules', '.bin', bin))]).toEqual([bin, true]);
    if (/npm test/.test(commands)) expect(packageJson.scripts.test).toBeDefined();
  });

  it.each(files)('%s pins every action to a major version or a commit', (file) => {
    const uses = steps(file).flatMap((step) => (step.uses ? [step.uses] : []));
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) expect(action).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
  });

  it.each(files)('%s reads only stack names `npm run names` writes', (file) => {
    const text = readFileSync(path.join(DIR, file), 'utf8');
    const keys = namesOf(loadConfig(path.join(ROOT, 'deploy.config.json')));
    for (const match of text.matchAll(/steps\.names\.outputs\.(\w+)/g)) expect(Object.keys(keys)).toContain(match[1]);
  });

  it('gives Terraform the Terraform Cloud token wherever cdktf plans or deploys', () => {
    for (const file of files) {
      if (!/cdktf (plan|deploy)|npm run drift/.test(runs(file).join('\n'))) continue;
      const setup = steps(file).find((step) => step.uses?.startsWith('hashicorp/setup-terraform@'));
      expect(setup?.with).toMatchObject({ cli_config_credentials_token: '${{ secrets.TF_API_TOKEN }}', terraform_wrapper: false });
    }
  });

  describe('deploy', () => {
    const deploy = workflow('deploy.yml');
    const list = steps('deploy.yml');

    it('runs on main, one at a time, never cancelling a running deploy', () => {
      expect(deploy.on.push).toEqual({ branches: ['main'] });
      expect(deploy.concurrency).toEqual({ group: 'deploy-production', 'cancel-in-progress': false });
    });

    it('gets AWS credentials by OIDC, no stored keys', () => {
      expect(deploy.permissions).toMatchObject({ 'id-token': 'write', contents: 'read' });
      const aws = list.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(aws?.with).toMatchObject({ 'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}', 'aws-region': 'us-east-1' });
      expect(readFileSync(path.join(DIR, 'deploy.yml'), 'utf8')).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    });

    it('builds, deploys the buckets, uploads, deploys delivery, then waits for the rollout', () => {
      const order = [/npm run build/, /cdktf deploy "\$STACK"(?!.*skip-synth)/, /npm run upload/, /await-rollout -- --save-baseline/, /cdktf deploy "\$STACK".*--skip-synth/, /await-rollout -- --baseline/].map((pattern) =>
        indexOf(list, pattern),
      );
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      const [replicas, delivery] = [order[1], order[4]].map((index) => list[index]);
      expect(replicas.env?.STACK).toBe('${{ steps.names.outputs.replicas_stack }}');
      expect(delivery.env?.STACK).toBe('${{ steps.names.outputs.delivery_stack }}');
      for (const step of [replicas, delivery]) expect(step.run).toContain('--auto-approve');
      // Deploying one stack of two needs cdktf told that its dependency was deployed already.
      expect(delivery.run).toContain('--ignore-missing-stack-dependencies');
    });
  });

  describe('pull request', () => {
    const pr = workflow('pull-request.yml');

    it('tests, builds and synthesizes, then plans both stacks', () => {
      const test = runs('pull-request.yml');
      for (const pattern of [/npm ci/, /npm test/, /npm run build/, /npx cdktf synth/, /npx cdktf plan "\$stack"/]) expect(test.some((run) => pattern.test(run))).toBe(true);
      expect(pr.jobs.plan.needs).toBe('test');
      const plan = pr.jobs.plan.steps.find((step) => step.id === 'plan')!;
      expect(plan.env?.STACKS).toBe('${{ steps.names.outputs.replicas_stack }} ${{ steps.names.outputs.delivery_stack }}');
    });

    it('updates one plan comment, found by the marker the comment is written with', () => {
      expect(pr.jobs.plan.permissions).toMatchObject({ 'pull-requests': 'write' });
      const script = pr.jobs.plan.steps.find((step) => step.uses?.startsWith('actions/github-script@'))?.with?.script as string;
      expect(script).toContain(`const marker = '${PLAN_COMMENT_MARKER}';`);
      expect(script).toMatch(/updateComment/);
      expect(script).toMatch(/createComment/);
    });
  });

  describe('drift', () => {
    it('runs on a schedule and fails through npm run drift', () => {
      const drift = workflow('drift.yml');
      expect(drift.on.schedule).toEqual([{ cron: expect.stringMatching(/^(\S+ ){4}\S+$/) }]);
      const list = steps('drift.yml');
      expect(indexOf(list, /npx cdktf synth/)).toBeLessThan(indexOf(list, /npm run drift/));
    });
  });
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig, resourceNames } from '../../config';
import {
  detectDrift,
  driftCommand,
  formatReport,
  githubReport,
  judgePlan,
  type CommandResult,
} from '../../scripts/drift';
import { invoke } from '../../scripts/lib/cli';
import { cleanPlanOutput, parsePlan } from '../../scripts/lib/terraform-plan';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'plans', name), 'utf8');
const config = loadConfig(path.join(PROJECT_ROOT, 'deploy.config.json'));
const names = resourceNames(config);

describe('plan parsing (captured terraform output)', () => {
  it('names every resource a plan would change, and how', () => {
    const plan = parsePlan(fixture('drift.txt'));
    expect(plan.changes).toEqual([
      {
        address: 'terraform_data.bucket_policy["eu-west-1"]',
        action: 'move',
        to: 'terraform_data.bucket_policy_renamed["eu-west-1"]',
      },
      {
        address: 'terraform_data.bucket_policy["us-east-1"]',
        action: 'move',
        to: 'terraform_data.bucket_policy_renamed["us-east-1"]',
      },
      { address: 'terraform_data.distribution_0AB1C2', action: 'update' },
      { address: 'terraform_data.health_check[1]', action: 'delete' },
      { address: 'terraform_data.log_group_new_F00', action: 'create' },
      { address: 'terraform_data.old_record_ABC', action: 'delete' },
      { address: 'terraform_data.replica_bucket_us-east-1_A1B2C3', action: 'replace' },
    ]);
    expect(plan).toMatchObject({
      summaryLine: 'Plan: 2 to add, 1 to change, 3 to destroy.',
      outputsChanged: true,
      noChanges: false,
      changedOutside: [],
    });
  });

  it('reads a tainted resource, an outputs-only change and an empty plan', () => {
    expect(parsePlan(fixture('tainted.txt')).changes).toEqual([
      { address: 'terraform_data.health_check[0]', action: 'replace' },
    ]);
    expect(parsePlan(fixture('outputs-only.txt'))).toMatchObject({
      changes: [],
      outputsChanged: true,
      summaryLine: null,
    });
    expect(parsePlan(fixture('no-changes.txt'))).toMatchObject({ changes: [], outputsChanged: false, noChanges: true });
  });

  it('reads cdktf plan output: stack column, construct paths and spinner escapes removed', () => {
    const text = fixture('cdktf-plan.txt');
    expect(text).toContain('\x1b[');
    const clean = cleanPlanOutput(text);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character starts the terminal codes this is about
    expect(clean).not.toMatch(/\x1b|⠋|^demo-replicas {2}/m);
    expect(clean).toContain('\n  # terraform_data.bucket (bucket) will be updated in-place\n');
    expect(parsePlan(text)).toMatchObject({
      changes: [{ address: 'terraform_data.bucket', action: 'update' }],
      summaryLine: 'Plan: 0 to add, 1 to change, 0 to destroy.',
    });
  });

  it("lists what Terraform's refresh found changed outside of Terraform", () => {
    // Terraform's "Objects have changed outside of Terraform" note, as it prints it.
    const text = [
      'Note: Objects have changed outside of Terraform',
      '',
      'Terraform detected the following changes made outside of Terraform since the',
      'last "terraform apply" which may have affected this plan:',
      '',
      '  # aws_s3_bucket_policy.replica_us-east-1 has changed',
      '  ~ resource "aws_s3_bucket_policy" "replica_us-east-1" {',
      '    }',
      '',
      '  # aws_route53_health_check.bucket_eu-west-1 has been deleted',
      '  - resource "aws_route53_health_check" "bucket_eu-west-1" {',
      '    }',
      '',
      '  # aws_s3_bucket_policy.replica_us-east-1 will be updated in-place',
    ].join('\n');
    expect(parsePlan(text)).toMatchObject({
      changedOutside: ['aws_s3_bucket_policy.replica_us-east-1', 'aws_route53_health_check.bucket_eu-west-1'],
      changes: [{ address: 'aws_s3_bucket_policy.replica_us-east-1', action: 'update' }],
    });
  });
});

describe('drift verdict', () => {
  it('follows the detailed exit code: 0 clean, 2 drift, anything else an error naming Terraform’s error', () => {
    expect(judgePlan('s', { code: 0, stdout: fixture('no-changes.txt'), stderr: '' }).status).toBe('clean');
    expect(judgePlan('s', { code: 2, stdout: fixture('outputs-only.txt'), stderr: '' })).toMatchObject({
      status: 'drift',
      outputsChanged: true,
    });
    expect(judgePlan('s', { code: 1, stdout: '', stderr: fixture('error.stderr.txt') })).toMatchObject({
      status: 'error',
      error: 'terraform plan exited with 1: Error: Reference to undeclared resource',
    });
  });

  it('trusts the plan text when a backend reports changes with exit code 0', () => {
    expect(judgePlan('s', { code: 0, stdout: fixture('drift.txt'), stderr: '' }).status).toBe('drift');
  });
});

describe('detectDrift', () => {
  let outDir: string;
  beforeEach(() => {
    outDir = mkdtempSync(path.join(tmpdir(), 'cdktf-out-'));
    for (const stack of [names.replicaStack, names.deliveryStack]) {
      mkdirSync(path.join(outDir, 'stacks', stack), { recursive: true });
      writeFileSync(path.join(outDir, 'stacks', stack, 'cdk.tf.json'), '{}');
    }
  });
  afterEach(() => rmSync(outDir, { recursive: true, force: true }));

  it('inits and plans each stack in its synthesized folder, replicas first, and reports by stack', async () => {
    const calls: { args: readonly string[]; cwd: string }[] = [];
    const terraform = async (args: readonly string[], cwd: string): Promise<CommandResult> => {
      calls.push({ args, cwd });
      if (args[0] === 'init') return { code: 0, stdout: 'Terraform has been successfully initialized!', stderr: '' };
      return cwd.endsWith(names.deliveryStack)
        ? { code: 2, stdout: fixture('drift.txt'), stderr: '' }
        : { code: 0, stdout: fixture('no-changes.txt'), stderr: '' };
    };
    const results = await detectDrift({ config, outDir, terraform });
    expect(calls.map((c) => [c.args[0], path.relative(outDir, c.cwd)])).toEqual([
      ['init', `stacks/${names.replicaStack}`],
      ['plan', `stacks/${names.replicaStack}`],
      ['init', `stacks/${names.deliveryStack}`],
      ['plan', `stacks/${names.deliveryStack}`],
    ]);
    expect(calls[1]!.args).toEqual(['plan', '-detailed-exitcode', '-input=false', '-no-color']);
    expect(results.map((r) => [r.stack, r.status])).toEqual([
      [names.replicaStack, 'clean'],
      [names.deliveryStack, 'drift'],
    ]);

    const report = formatReport(results);
    expect(report[0]).toBe(`${names.replicaStack}: no drift`);
    expect(report[1]).toBe(
      `${names.deliveryStack}: DRIFT: 7 resource changes and changed outputs (Plan: 2 to add, 1 to change, ` +
        `3 to destroy.)`,
    );
    expect(report).toContain('  ~   update  terraform_data.distribution_0AB1C2');
    expect(report).toContain('  -/+ replace terraform_data.replica_bucket_us-east-1_A1B2C3');

    const github = githubReport(results);
    expect(github.annotations).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error title=Drift in ${names.deliveryStack}::move terraform_data.bucket_policy\\["eu-west-1"\\], ` +
            `.*replace terraform_data.replica_bucket_us-east-1_A1B2C3$`,
        ),
      ),
    ]);
    expect(github.summary).toContain(`| ${names.replicaStack} | clean | no drift |`);
  });

  /** The drift command in this process, on `outDir`, Terraform answered by `terraform`; what it printed, by stream. */
  async function runCommand(
    argv: readonly string[],
    terraform: (args: readonly string[], cwd: string) => Promise<CommandResult>,
    env: Record<string, string> = {},
  ): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await invoke(
      driftCommand({ terraform, env }),
      ['--config', path.join(PROJECT_ROOT, 'deploy.config.json'), '--out', outDir, ...argv],
      {
        out: (text) => (out += text),
        error: (text) => (err += text),
      },
    );
    return { code, out, err };
  }
  const plans =
    (delivery: CommandResult) =>
    async (args: readonly string[], cwd: string): Promise<CommandResult> =>
      args[0] === 'init'
        ? { code: 0, stdout: '', stderr: '' }
        : cwd.endsWith(names.deliveryStack)
          ? delivery
          : { code: 0, stdout: fixture('no-changes.txt'), stderr: '' };

  it(
    '--json: one JSON object with every stack and each change; drift is ok: false, exit 1, and in GitHub Actions ' +
      'the annotations go to stderr',
    async () => {
      const clean = await runCommand(['--json'], plans({ code: 0, stdout: fixture('no-changes.txt'), stderr: '' }));
      expect(clean.code).toBe(0);
      const none = JSON.parse(clean.out);
      expect(clean.out).toBe(`${JSON.stringify(none, null, 2)}\n`);
      expect(none).toEqual({
        ok: true,
        stacks: [names.replicaStack, names.deliveryStack].map((stack) => ({
          stack,
          status: 'clean',
          changes: [],
          changedOutside: [],
          outputsChanged: false,
          summaryLine: null,
        })),
      });

      const drifted = await runCommand(['--json'], plans({ code: 2, stdout: fixture('drift.txt'), stderr: '' }), {
        GITHUB_ACTIONS: 'true',
      });
      expect(drifted.code).toBe(1);
      const report = JSON.parse(drifted.out);
      expect(report.ok).toBe(false);
      expect(report.stacks[0]).toMatchObject({ stack: names.replicaStack, status: 'clean' });
      expect(report.stacks[1]).toMatchObject({
        stack: names.deliveryStack,
        status: 'drift',
        outputsChanged: true,
        summaryLine: 'Plan: 2 to add, 1 to change, 3 to destroy.',
      });
      expect(report.stacks[1].changes).toHaveLength(7);
      expect(report.stacks[1].changes).toContainEqual({
        address: 'terraform_data.bucket_policy["eu-west-1"]',
        action: 'move',
        to: 'terraform_data.bucket_policy_renamed["eu-west-1"]',
      });
      expect(drifted.err).toMatch(new RegExp(`^::error title=Drift in ${names.deliveryStack}::`, 'm'));
    },
  );

  it(
    '--json: a plan that fails is status error with Terraform’s error, exit 1; a stack not of the config is ' +
      '{"error": …}, exit 2',
    async () => {
      const failed = await runCommand(['--json'], plans({ code: 1, stdout: '', stderr: fixture('error.stderr.txt') }));
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.out).stacks[1]).toMatchObject({
        stack: names.deliveryStack,
        status: 'error',
        error: 'terraform plan exited with 1: Error: Reference to undeclared resource',
      });

      const calls: string[] = [];
      const usage = await runCommand(['--json', '--stacks', 'no-such-stack'], async (args) => {
        calls.push(args[0]!);
        return { code: 0, stdout: '', stderr: '' };
      });
      expect(usage.code).toBe(2);
      expect(JSON.parse(usage.out)).toEqual({
        error: `no-such-stack: not a stack of this config (${names.replicaStack}, ${names.deliveryStack}).`,
      });
      expect(calls).toEqual([]);
    },
  );

  it('reports a stack that was never synthesized or whose init fails, and goes on with the next', async () => {
    rmSync(path.join(outDir, 'stacks', names.replicaStack), { recursive: true });
    const terraform = async (args: readonly string[]): Promise<CommandResult> =>
      args[0] === 'init'
        ? { code: 1, stdout: '', stderr: '\nError: Failed to get existing workspaces: unauthorized\n' }
        : { code: 0, stdout: '', stderr: '' };
    const results = await detectDrift({ config, outDir, terraform });
    expect(results[0]).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/cdk\.tf\.json is missing: run `npx cdktf synth` first/),
    });
    expect(results[1]).toMatchObject({
      status: 'error',
      error: 'terraform init failed: Error: Failed to get existing workspaces: unauthorized',
    });
    expect(formatReport(results)[1]).toBe(
      `${names.deliveryStack}: PLAN FAILED: terraform init failed: Error: Failed to get existing workspaces: ` +
        `unauthorized`,
    );
  });
});

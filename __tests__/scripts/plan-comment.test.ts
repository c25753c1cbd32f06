import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PLAN_COMMENT_MARKER, planComment, readPlans } from '../../scripts/plan-comment';

const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'plans', name), 'utf8');

describe('plan comment', () => {
  it('starts with the marker, tabulates each stack and shows each plan cleaned of cdktf’s decoration', () => {
    const body = planComment(
      [
        { stack: 'demo-replicas', exitCode: 0, output: fixture('cdktf-plan.txt') },
        { stack: 'demo-delivery', exitCode: 1, output: 'demo-delivery  Error: No valid credential sources found' },
        { stack: 'demo-other', exitCode: null, output: '' },
      ],
      '`cdktf plan` for abc1234',
    );
    expect(body.split('\n')[0]).toBe(PLAN_COMMENT_MARKER);
    expect(body).toContain('| `demo-replicas` | Plan: 0 to add, 1 to change, 0 to destroy. |');
    expect(body).toContain('| `demo-delivery` | **plan failed** (exit 1) |');
    expect(body).toContain('| `demo-other` | not run |');
    expect(body).toContain('<summary><code>demo-replicas</code>: 1 resource change</summary>');
    expect(body).toContain('    ~   update  terraform_data.bucket');
    expect(body).toMatch(/```text\nTerraform will perform the following actions:/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character starts the terminal codes this is about
    expect(body).not.toMatch(/\x1b|⠋|Refreshing state/);
    expect(body).toContain('Error: No valid credential sources found');
  });

  it('stays under GitHub’s comment limit however long the plans are', () => {
    const huge =
      `Terraform will perform ` +
      `the following actions:\n` +
      `${'  # aws_s3_object.x will be created\n'.repeat(5000)}`;
    const body = planComment(
      [
        { stack: 'a', exitCode: 0, output: huge },
        { stack: 'b', exitCode: 0, output: huge },
      ],
      'plan',
    );
    expect(body.length).toBeLessThan(65536);
    expect(body).toContain('cut here; the whole plan is in the job log');
    expect(body).toContain('<summary><code>a</code>: 5000 resource changes</summary>');
  });

  it('reads the plans the workflow saved, in stack order', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plans-'));
    try {
      writeFileSync(path.join(dir, 'b.txt'), 'No changes. Your infrastructure matches the configuration.');
      writeFileSync(path.join(dir, 'b.exit'), '0\n');
      expect(readPlans(dir, ['a', 'b'])).toEqual([
        { stack: 'a', exitCode: null, output: '' },
        { stack: 'b', exitCode: 0, output: 'No changes. Your infrastructure matches the configuration.' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

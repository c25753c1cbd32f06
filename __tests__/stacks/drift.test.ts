import * as os from 'node:os';
import { designedIgnoreChangesOnly, ignoredChanges } from '../../stacks/policy';
import { resources, type Block, type SynthStack } from '../../stacks/policy/terraform-json';
import { FIVE_REGIONS, synthesize, testConfig } from './support';

describe('ignore_changes', () => {
  it(
    'holds exactly the designed ones: alias version and ' + "weights, rollout state value, the check function's code",
    () => {
      const { all } = synthesize(testConfig(FIVE_REGIONS));
      const ignored = all.flatMap((stack) =>
        ignoredChanges(stack).map(({ address, attributes }) => [address.split('.')[0], attributes]),
      );
      expect(ignored).toEqual([
        ['aws_cloudfront_function', ['code']],
        ['aws_cloudfrontkeyvaluestore_key', ['value']],
        ['aws_lambda_alias', ['function_version', 'routing_config']],
      ]);
      expect(all.flatMap((stack) => designedIgnoreChangesOnly(stack))).toEqual([]);
    },
  );

  describe('anything else is refused', () => {
    let clean: SynthStack;
    beforeAll(() => {
      clean = synthesize(testConfig()).delivery;
    });
    const withLifecycle = (type: string, where: (body: Block) => boolean, lifecycle: Block): SynthStack => {
      const copy = structuredClone(clean);
      resources(copy.json, type).find((e) => where(e.body))!.body.lifecycle = lifecycle;
      return copy;
    };

    it.each([
      [
        'an extra ignore on the distribution',
        'aws_cloudfront_distribution',
        () => true,
        { ignore_changes: ['default_cache_behavior'] },
        /nothing changes at run time by design/,
      ],
      // The published function's code is Terraform's: only its untouched twin may ignore it.
      [
        'the live viewer-assignment function ignoring its code',
        'aws_cloudfront_function',
        (b: Block) => String(b.name).endsWith('-viewer-assignment'),
        { ignore_changes: ['code'] },
        /nothing changes at run time by design/,
      ],
      [
        'the alias ignoring less',
        'aws_lambda_alias',
        () => true,
        { ignore_changes: ['function_version'] },
        /by design exactly function_version, routing_config/,
      ],
      [
        'the alias ignoring more',
        'aws_lambda_alias',
        () => true,
        { ignore_changes: ['function_version', 'routing_config', 'description'] },
        /by design exactly/,
      ],
      ['the alias ignoring all', 'aws_lambda_alias', () => true, { ignore_changes: 'all' }, /ignores all changes/],
      [
        'a record ignoring its value',
        'aws_route53_record',
        (b: Block) => b.type === 'A',
        { ignore_changes: ['records'] },
        /nothing changes at run time by design/,
      ],
      [
        'the rollout state ignoring its key too',
        'aws_cloudfrontkeyvaluestore_key',
        () => true,
        { ignore_changes: ['value', 'key'] },
        /by design exactly value/,
      ],
      [
        'the rollout store ignoring its comment',
        'aws_cloudfront_key_value_store',
        () => true,
        { ignore_changes: ['comment'] },
        /nothing changes at run time by design/,
      ],
    ])('%s', (_label, type, where, lifecycle, message) => {
      const violations = designedIgnoreChangesOnly(withLifecycle(type, where, lifecycle));
      expect(violations).toEqual([
        expect.objectContaining({ rule: 'designed-ignore-changes', message: expect.stringMatching(message) }),
      ]);
    });
  });
});

describe('determinism', () => {
  it('synthesizes byte-identical JSON twice, from any working directory', () => {
    const config = testConfig(FIVE_REGIONS);
    const first = synthesize(config, {}, { fresh: true });
    const cwd = process.cwd();
    let second: ReturnType<typeof synthesize>;
    try {
      process.chdir(os.tmpdir());
      second = synthesize(config, {}, { fresh: true });
    } finally {
      process.chdir(cwd);
    }
    expect(second.replicas.text).toBe(first.replicas.text);
    expect(second.delivery.text).toBe(first.delivery.text);
    // Nothing machine- or time-specific leaks in.
    for (const text of [first.replicas.text, first.delivery.text]) {
      expect(text).not.toContain(cwd);
      expect(text).not.toContain(os.tmpdir());
      expect(text).not.toMatch(/20\d\d-\d\d-\d\dT/);
    }
  });
});

/**
 * The rollout key is created with the build the alias `live` serves now, never the build being
 * deployed: a key deleted by hand and recreated by a deploy before rollout sync rewrites it must not
 * move every viewer to the new build before CodeDeploy starts.
 *
 * No plan can run here, so the Terraform expression is checked on the synthesized JSON: it reads the
 * description of the version the alias points at (a data source on the alias and nothing else), and
 * a small evaluator of exactly the functions it uses (`element`, `regex`, a string template) shows
 * that for any version description it gives, byte for byte, what formatRolloutState(steadyState(build))
 * writes.
 */
import fc from 'fast-check';
import { formatRolloutState, parseRolloutState, steadyState } from '../../contracts/rollout-state';
import { buildIdFromDescription, versionDescription } from '../../contracts/version-description';
import { steadyStateValue } from '../../stacks/constructs/rollout-store';
import {
  dataSources,
  resources,
  type Block,
  type Element,
  type Json,
  type SynthStack,
} from '../../stacks/policy/terraform-json';
import { propertyRuns } from '../fixtures/property';
import { only, ref, synthesize, testConfig, type SynthesizedStack } from './support';

const RUNS = propertyRuns(3_000);

/** The one `${…}` of a Terraform template string, and the literal text around it. */
function splitTemplate(template: string): { before: string; expression: string; after: string } {
  const start = template.indexOf('${');
  if (start < 0) throw new Error(`no interpolation in ${template}`);
  let depth = 0;
  let quoted = false;
  for (let i = start + 2; i < template.length; i += 1) {
    const c = template[i];
    if (quoted) {
      if (c === '\\') throw new Error('an escape inside a quoted string: not in what this evaluator reads');
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === '}' && depth === 0) {
      const after = template.slice(i + 1);
      if (after.includes('${') || after.includes('%{')) throw new Error('more than one interpolation');
      return { before: template.slice(0, start), expression: template.slice(start + 2, i), after };
    }
  }
  throw new Error(`unterminated interpolation in ${template}`);
}

const EXPRESSION = /^element\(regex\("([^"\\]*)", (data\.aws_lambda_function\.[A-Za-z0-9_-]+)\.description\), 0\)$/;
/** Only what reads the same in RE2 (Terraform's regex) and in JavaScript: literals, ^ $ | ( (?: [a-f0-9] {n}. */
const SHARED_REGEX_SYNTAX = /^[A-Za-z0-9 =^$|()?:[\]{}-]*$/;

/**
 * Terraform's value of the key's template for a data source whose `description` is `description`:
 * `regex` with one unnamed capture group gives the list of captures and fails when nothing matches;
 * `element(list, 0)` its first; the template puts the literals around it.
 */
function evaluateKeyValue(template: string, description: string): string {
  const { before, expression, after } = splitTemplate(template);
  const match = EXPRESSION.exec(expression);
  if (!match) throw new Error(`not the expression this evaluator reads: ${expression}`);
  const pattern = match[1]!;
  if (!SHARED_REGEX_SYNTAX.test(pattern))
    throw new Error(`the pattern uses syntax RE2 and JavaScript may read differently: ${pattern}`);
  const found = new RegExp(pattern).exec(description);
  if (!found) throw new Error('regex: pattern did not match any part of the given string');
  if (found.length !== 2) throw new Error(`expected one capture group, found ${found.length - 1}`);
  return before + found[1] + after;
}

/**
 * Every element of `stack` an element's body refers to (`type.name…` or `data.type.name…` anywhere
 * in a string holding an interpolation, e.g. inside a function call), and its depends_on.
 */
function referencedAddresses(stack: SynthStack, body: Block): Set<string> {
  const known = new Set([...resources(stack.json), ...dataSources(stack.json)].map((e) => e.address));
  const out = new Set<string>();
  const visit = (value: Json) => {
    if (typeof value === 'string') {
      if (!value.includes('${')) return;
      for (const m of value.matchAll(/(?<![A-Za-z0-9_.-])((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)\.[a-z0-9_]+/g))
        if (known.has(m[1]!)) out.add(m[1]!);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(body);
  for (const dependency of (body.depends_on as string[] | undefined) ?? []) out.add(dependency);
  return out;
}

/** A dependency cycle among the stack's resources and data sources (Terraform refuses one at plan), or null. */
function dependencyCycle(stack: SynthStack): string[] | null {
  const elements: Element[] = [...resources(stack.json), ...dataSources(stack.json)];
  const edges = new Map(
    elements.map((e) => [e.address, [...referencedAddresses(stack, e.body)].filter((a) => a !== e.address)]),
  );
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (address: string): string[] | null => {
    if (state.get(address) === 'done') return null;
    if (state.get(address) === 'open') return [...path.slice(path.indexOf(address)), address];
    state.set(address, 'open');
    path.push(address);
    for (const next of edges.get(address) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(address, 'done');
    return null;
  };
  for (const element of elements) {
    const cycle = visit(element.address);
    if (cycle) return cycle;
  }
  return null;
}

function rolloutKey(delivery: SynthesizedStack) {
  const key = only(delivery, 'aws_cloudfrontkeyvaluestore_key');
  const alias = only(delivery, 'aws_lambda_alias');
  const served = only(delivery, 'aws_lambda_function', () => true, 'data');
  return { key, alias, served, value: String(key.value) };
}

describe('the rollout key is created with the build the alias serves now', () => {
  it(
    'names no build of its own: the stable build comes from ' + 'the description of the version alias live points at',
    () => {
      const { delivery, manifest } = synthesize(testConfig());
      const { key, alias, served, value } = rolloutKey(delivery);
      expect(value).not.toContain(manifest.buildId);
      expect(value).not.toMatch(/[0-9a-f]{16}/);
      expect(served).toMatchObject({
        provider: 'aws.us-east-1',
        function_name: ref(delivery, 'aws_lambda_alias', alias, 'function_name'),
        qualifier: ref(delivery, 'aws_lambda_alias', alias, 'function_version'),
      });
      expect(splitTemplate(value).expression).toContain(
        `${ref(delivery, 'aws_lambda_function', served, 'description', 'data').slice(2, -1)}`,
      );
      // Still created once and then rollout sync's.
      expect(key).toMatchObject({ key: 'rollout', lifecycle: { ignore_changes: ['value'] } });
    },
  );

  it('reads it at plan time whenever the alias exists: the data source refers to the alias and nothing else', () => {
    // A data source referring to a managed resource with planned changes is read during apply
    // (hashicorp/terraform#27171); the alias has none once it exists, its moving attributes being
    // ignored. The entry router changes with every build, so the data source must not name it.
    const { delivery } = synthesize(testConfig());
    const { alias, served } = rolloutKey(delivery);
    const aliasAddress = ref(delivery, 'aws_lambda_alias', alias, 'arn').slice(2).split('.').slice(0, 2).join('.');
    expect([...referencedAddresses(delivery, served)]).toEqual([aliasAddress]);
    expect(served.depends_on).toBeUndefined();
    expect(alias.lifecycle).toEqual({ ignore_changes: ['function_version', 'routing_config'] });
  });

  it('is referred to by the key alone, so a build that does not change still plans empty', () => {
    const { delivery } = synthesize(testConfig());
    const { served } = rolloutKey(delivery);
    const address = ref(delivery, 'aws_lambda_function', served, 'description', 'data')
      .slice(2)
      .split('.')
      .slice(0, 3)
      .join('.');
    const referrers = [...resources(delivery.json), ...dataSources(delivery.json)]
      .filter((e) => referencedAddresses(delivery, e.body).has(address))
      .map((e) => e.type);
    const outputs = Object.values(delivery.json.output ?? {}).filter((o) =>
      referencedAddresses(delivery, o as Block).has(address),
    );
    expect(referrers).toEqual(['aws_cloudfrontkeyvaluestore_key']);
    expect(outputs).toEqual([]);
  });

  it('gives, for every version description, exactly the state formatRolloutState(steadyState(build)) writes', () => {
    const { delivery, manifest } = synthesize(testConfig());
    const { value } = rolloutKey(delivery);
    for (const build of [manifest.buildId, '0123456789abcdef', 'ffffffffffffffff']) {
      expect(evaluateKeyValue(value, versionDescription(build))).toBe(formatRolloutState(steadyState(build)));
    }
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{16}$/), (build) => {
        const text = evaluateKeyValue(value, versionDescription(build));
        expect(text).toBe(formatRolloutState(steadyState(build)));
        expect(parseRolloutState(text)).toEqual(steadyState(build));
      }),
      { numRuns: RUNS, seed: 17 },
    );
  });

  it('finds the build where contracts/version-description.ts does, and refuses a description that names none', () => {
    const { delivery } = synthesize(testConfig());
    const { value, served } = rolloutKey(delivery);
    const build = '00112233445566ff';
    const descriptions = [
      versionDescription(build),
      `buildId=${build}`,
      `buildId=${build} and more`,
      `chunk router, build ${build}`,
      `entry router for build buildId=${build}0`,
      `entry router for build xbuildId=${build}`,
      `entry router for build buildId=${build.toUpperCase()}`,
      '',
    ];
    for (const description of descriptions) {
      const expected = buildIdFromDescription(description);
      if (expected === null) expect(() => evaluateKeyValue(value, description)).toThrow(/did not match/);
      else expect(evaluateKeyValue(value, description)).toBe(formatRolloutState(steadyState(expected)));
    }
    // The read itself refuses such a version, with a message saying what to do, before the key is planned.
    const [postcondition] = (served.lifecycle as Block).postcondition as Block[];
    const pattern = EXPRESSION.exec(splitTemplate(value).expression)![1];
    expect(postcondition!.condition).toBe(`\${can(regex("${pattern}", self.description))}`);
    expect(postcondition!.error_message).toMatch(/does not name its build/);
  });

  it('leaves the state format to the contract: a literal build is formatted and checked as before', () => {
    expect(steadyStateValue('0123456789abcdef')).toBe(formatRolloutState(steadyState('0123456789abcdef')));
    expect(() => steadyStateValue('not-a-build')).toThrow(/not a valid rollout state/);
  });

  it('makes no dependency cycle in either stack', () => {
    for (const stack of synthesize(testConfig()).all) expect(dependencyCycle(stack)).toBeNull();
    // The checker finds one when there is one.
    const { delivery } = synthesize(testConfig());
    const copy = structuredClone(delivery) as SynthStack;
    const alias = only(delivery, 'aws_lambda_alias');
    const aliasName = Object.entries(copy.json.resource!.aws_lambda_alias!).find(
      ([, body]) => body.name === alias.name,
    )![0];
    const keyName = Object.keys(copy.json.resource!.aws_cloudfrontkeyvaluestore_key!)[0];
    copy.json.resource!.aws_lambda_alias![aliasName]!.depends_on = [`aws_cloudfrontkeyvaluestore_key.${keyName}`];
    expect(dependencyCycle(copy)).toEqual(
      expect.arrayContaining([`aws_lambda_alias.${aliasName}`, `aws_cloudfrontkeyvaluestore_key.${keyName}`]),
    );
  });
});

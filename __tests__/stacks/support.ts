/**
 * Shared by the stack tests: a config factory, the default build's manifest, and a full synth of
 * a fresh app (both stacks, cross-stack references resolved, validations run) read back as JSON.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type App, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { parseConfig, resourceNames, type DeployConfig } from '../../config';
import type { BuildManifest } from '../../contracts/build-manifest';
import { createStacks, type DistributionStacks, type DistributionStacksProps } from '../../stacks/app';
import type { Block, SynthStack, TerraformJson } from '../../stacks/policy/terraform-json';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { SYNTH_CACHE_FOLDER } from '../fixtures/run-tmpdir';

// The matchers (toHaveResourceWithProperties, …) come from cdktf's jest adapter; jest 29 gives
// every test file its own `expect`, so each file that imports this module registers them.
Testing.setupJest();

export const ONE_REGION = { primaryRegion: 'us-east-1', regions: ['us-east-1'] } as const;
export const FIVE_REGIONS = {
  primaryRegion: 'eu-west-1',
  regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1'],
} as const;

/** A valid config: the repository's defaults with the given fields replaced. */
export function testConfig(overrides: Record<string, unknown> = {}, env: Record<string, string> = {}): DeployConfig {
  return parseConfig(
    {
      name: 'widget',
      domain: 'widget.example.com',
      hostedZone: { name: 'example.com' },
      ...ONE_REGION,
      ...overrides,
    },
    'test config',
    env,
  );
}

export interface SynthesizedStack {
  readonly name: string;
  /** cdk.tf.json as written, for cdktf's matchers. */
  readonly text: string;
  readonly json: TerraformJson;
}

export interface Synthesized {
  readonly config: DeployConfig;
  readonly manifest: BuildManifest;
  readonly stacks: DistributionStacks;
  readonly replicas: SynthesizedStack;
  readonly delivery: SynthesizedStack;
  readonly all: SynthStack[];
}

let appsDir: string | undefined;
let apps = 0;
// Registered when a test file imports this module, so it runs after that file's tests.
afterAll(() => {
  if (appsDir) rmSync(appsDir, { recursive: true, force: true });
  appsDir = undefined;
});

/**
 * An app for a test that synthesizes in memory (`Testing.synth`). cdktf makes an output folder for
 * every app, and `Testing.app()` makes it in the temporary folder and never removes it: here each
 * app gets one in a folder of this test file's own, removed after the file's tests.
 */
export function testApp(): App {
  appsDir ??= mkdtempSync(path.join(os.tmpdir(), 'stacks-apps-'));
  apps += 1;
  return Testing.app({ outdir: path.join(appsDir, String(apps)) });
}

const synths = new Map<string, Synthesized>();

/**
 * Both stacks for `config`, synthesized to a temporary folder and read back. Once per test file
 * for each config and options: tests read the same stacks over and over, and a synth takes
 * seconds. So the JSON is frozen: a test that changes it works on a copy (structuredClone).
 * `fresh` synthesizes anew, for tests that compare two synths.
 */
export function synthesize(
  config: DeployConfig = testConfig(),
  options: Partial<Omit<DistributionStacksProps, 'config'>> = {},
  { fresh = false }: { fresh?: boolean } = {},
): Synthesized {
  const key = JSON.stringify([config, options]);
  const known = synths.get(key);
  if (known && !fresh) return known;
  const synthesized = fresh ? synthesizeApp(config, options) : fromRunCache(key, config, options);
  for (const stack of synthesized.all) deepFreeze(stack.json);
  synths.set(key, synthesized);
  return synthesized;
}

/**
 * The synthesized stacks, shared by every test file of the run: the JSON is written once per config
 * and options to a folder of the run (SYNTH_CACHE_FOLDER in the run's temporary folder, made by global
 * setup and gone with it), so the sources cannot change under it. Twenty files synthesize the same few
 * configs, a few seconds each. The constructs themselves are made only when a test asks for them.
 */
function fromRunCache(
  key: string,
  config: DeployConfig,
  options: Partial<Omit<DistributionStacksProps, 'config'>>,
): Synthesized {
  const folder = process.env.EDGE_WIDGET_TEST_RUN_TMPDIR;
  if (!folder) return synthesizeApp(config, options);
  const dir = path.join(folder, SYNTH_CACHE_FOLDER);
  const file = path.join(dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { replicas: string; delivery: string };
    const names = resourceNames(config);
    const stack = (name: string, text: string): SynthesizedStack => ({ name, text, json: JSON.parse(text) });
    const replicas = stack(names.replicaStack, cached.replicas);
    const delivery = stack(names.deliveryStack, cached.delivery);
    let stacks: DistributionStacks | undefined;
    return {
      config,
      manifest: options.manifest ?? defaultBuild(),
      get stacks() {
        stacks ??= synthesizeApp(config, options).stacks;
        return stacks;
      },
      replicas,
      delivery,
      all: [replicas, delivery],
    };
  }
  const synthesized = synthesizeApp(config, options);
  mkdirSync(dir, { recursive: true });
  // Written whole, then renamed: a file another worker reads is never half there.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify({ replicas: synthesized.replicas.text, delivery: synthesized.delivery.text }));
  renameSync(partial, file);
  return synthesized;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

function synthesizeApp(config: DeployConfig, options: Partial<Omit<DistributionStacksProps, 'config'>>): Synthesized {
  const manifest = options.manifest ?? defaultBuild();
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'stacks-test-'));
  try {
    const app = Testing.app({ outdir });
    const stacks = createStacks(app, { buildDir: BUILD_DIR, ...options, config, manifest });
    app.synth();
    const read = (name: string): SynthesizedStack => {
      const text = readFileSync(path.join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8');
      return { name, text, json: JSON.parse(text) as TerraformJson };
    };
    const names = resourceNames(config);
    const replicas = read(names.replicaStack);
    const delivery = read(names.deliveryStack);
    return { config, manifest, stacks, replicas, delivery, all: [replicas, delivery] };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The bodies of every resource (or data source, with `data`) of `type`. */
export function bodies(stack: SynthesizedStack, type: string, section: 'resource' | 'data' = 'resource'): Block[] {
  return Object.values(stack.json[section]?.[type] ?? {});
}

/** The one resource of `type` matching `where`; fails the test if there is not exactly one. */
export function only(
  stack: SynthesizedStack,
  type: string,
  where: (body: Block) => boolean = () => true,
  section: 'resource' | 'data' = 'resource',
): Block {
  const matches = bodies(stack, type, section).filter(where);
  if (matches.length !== 1) throw new Error(`expected one ${type} matching, found ${matches.length} in ${stack.name}`);
  return matches[0]!;
}

/** `${type.name.attr}` of the resource whose body is `body`. */
export function ref(
  stack: SynthesizedStack,
  type: string,
  body: Block,
  attribute: string,
  section: 'resource' | 'data' = 'resource',
): string {
  const entry = Object.entries(stack.json[section]?.[type] ?? {}).find(([, b]) => b === body);
  if (!entry) throw new Error(`${type} not found in ${stack.name}`);
  return `\${${section === 'data' ? 'data.' : ''}${type}.${entry[0]}.${attribute}}`;
}

/** The statements of the policy document a resource's attribute points at. */
export function policyStatements(stack: SynthesizedStack, policyRef: unknown): Block[] {
  const match = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(String(policyRef));
  if (!match) throw new Error(`not a policy document reference: ${String(policyRef)}`);
  return (stack.json.data?.aws_iam_policy_document?.[match[1]!]?.statement as Block[] | undefined) ?? [];
}

/** Statements of the inline policy of the role named `roleName`. */
export function roleStatements(stack: SynthesizedStack, roleName: string): Block[] {
  const role = only(stack, 'aws_iam_role', (r) => r.name === roleName);
  const policy = only(stack, 'aws_iam_role_policy', (p) => p.role === ref(stack, 'aws_iam_role', role, 'id'));
  return policyStatements(stack, policy.policy);
}

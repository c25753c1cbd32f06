/**
 * Shared by the stack tests: a config factory, the default build's manifest, and a full synth of
 * a fresh app (both stacks, cross-stack references resolved, validations run) read back as JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type App, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { parseConfig, resourceNames, type DeployConfig } from '../../config';
import type { BuildManifest } from '../../contracts/build-manifest';
import { createStacks, type DistributionStacks, type DistributionStacksProps } from '../../stacks/app';
import type { Block, SynthStack, TerraformJson } from '../../stacks/policy/terraform-json';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';

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
  const synthesized = synthesizeApp(config, options);
  for (const stack of synthesized.all) deepFreeze(stack.json);
  synths.set(key, synthesized);
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

/**
 * Reading synthesized Terraform JSON (cdk.tf.json): resources, data sources, providers, and the
 * `${type.name.attr}` references between them. The policy and drift rules are plain functions
 * over this, so they run on any synth: a test's, `cdktf synth`'s, a CI artifact's.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Block = { [key: string]: Json };

export interface TerraformJson {
  readonly resource?: Record<string, Record<string, Block>>;
  readonly data?: Record<string, Record<string, Block>>;
  readonly provider?: Record<string, Block[]>;
  readonly terraform?: Block;
  readonly output?: Record<string, Block>;
}

/** One synthesized stack. */
export interface SynthStack {
  readonly name: string;
  readonly json: TerraformJson;
}

export interface Element {
  /** `aws_s3_bucket.name` or `data.aws_iam_policy_document.name` */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly body: Block;
}

export interface Violation {
  readonly rule: string;
  readonly stack: string;
  readonly address: string;
  readonly message: string;
}

export function resources(tf: TerraformJson, type?: string): Element[] {
  return elements(tf.resource, type, '');
}

export function dataSources(tf: TerraformJson, type?: string): Element[] {
  return elements(tf.data, type, 'data.');
}

function elements(section: TerraformJson['resource'], type: string | undefined, prefix: string): Element[] {
  const out: Element[] = [];
  for (const [kind, byName] of Object.entries(section ?? {})) {
    if (type !== undefined && kind !== type) continue;
    for (const [name, body] of Object.entries(byName))
      out.push({ address: `${prefix}${kind}.${name}`, type: kind, name, body });
  }
  return out;
}

export interface Reference {
  /** `aws_s3_bucket.x` or `data.aws_iam_policy_document.y` */
  readonly address: string;
  readonly attribute: string;
}

const REFERENCE = /\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)[^}]*\}/g;

/** Every `${type.name.attr…}` in a value (strings anywhere inside it). */
export function referencesIn(value: Json | undefined): Reference[] {
  if (typeof value === 'string')
    return [...value.matchAll(REFERENCE)].flatMap(([, address, attribute]) =>
      address !== undefined && attribute !== undefined ? [{ address, attribute }] : [],
    );
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(referencesIn);
  return [];
}

/** The reference when `value` is exactly one `${type.name.attr}` and nothing else. */
export function exactReference(value: Json | undefined): Reference | null {
  if (typeof value !== 'string') return null;
  const [, address, attribute] = /^\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/.exec(value) ?? [];
  return address !== undefined && attribute !== undefined ? { address, attribute } : null;
}

export function find(tf: TerraformJson, address: string): Element | undefined {
  const isData = address.startsWith('data.');
  const [type, name] = (isData ? address.slice(5) : address).split('.');
  if (type === undefined || name === undefined) return undefined;
  const body = (isData ? tf.data : tf.resource)?.[type]?.[name];
  return body ? { address, type, name, body } : undefined;
}

/** Resources of `type` whose `attribute` refers to `target` (e.g. the public access block of a bucket). */
export function attachedTo(tf: TerraformJson, type: string, target: string, attribute = 'bucket'): Element[] {
  return resources(tf, type).filter((element) =>
    referencesIn(element.body[attribute]).some((ref) => ref.address === target),
  );
}

/** A block that Terraform JSON may give as an object or as a one-element list. */
export function single(value: Json | undefined): Block | undefined {
  if (Array.isArray(value)) return value.length === 1 && isBlock(value[0]) ? value[0] : undefined;
  return isBlock(value) ? value : undefined;
}

export function list(value: Json | undefined): Json[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function blocks(value: Json | undefined): Block[] {
  return list(value).filter(isBlock);
}

export function strings(value: Json | undefined): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

export function isBlock(value: Json | undefined): value is Block {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The region of the provider an element names (`aws.<alias>`), if the stack declares it. */
export function providerRegion(tf: TerraformJson, element: Element): string | undefined {
  const name = element.body.provider;
  if (typeof name !== 'string' || !name.startsWith('aws.')) return undefined;
  const alias = name.slice(4);
  const provider = (tf.provider?.aws ?? []).find((p) => p.alias === alias);
  return typeof provider?.region === 'string' ? provider.region : undefined;
}

/** Every stack a `cdktf synth` wrote to `outdir` (`stacks/<name>/cdk.tf.json`). */
export function readSynthOutput(outdir: string): SynthStack[] {
  const stacksDir = path.join(outdir, 'stacks');
  if (!existsSync(stacksDir))
    throw new Error(`${outdir} holds no synthesized stacks (no stacks/ folder): run \`npm run synth\` first.`);
  return readdirSync(stacksDir)
    .sort()
    .map((name) => ({
      name,
      json: JSON.parse(readFileSync(path.join(stacksDir, name, 'cdk.tf.json'), 'utf8')) as TerraformJson,
    }));
}

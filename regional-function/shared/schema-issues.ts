/**
 * One line per schema issue, for error messages and 400 bodies. The regional functions use
 * `zod/mini` (a twentieth of full zod's bundle, so cold starts stay short), which loads no English
 * messages unless full zod is loaded too: so the same words come out either way, they are said
 * here, naming the field. A refinement's own message (code `custom`) is kept.
 */
import type { core } from 'zod/mini';

/** `input` is what was parsed: it tells a missing field from one of the wrong type. */
export function describeIssue(issue: core.$ZodIssue | undefined, input: unknown, root = 'input'): string {
  if (!issue) return `${root}: invalid`;
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : root;
  if (issue.code === 'custom') return `${where}: ${issue.message}`;
  if (valueAt(input, issue.path) === undefined) return `${where}: is required`;
  switch (issue.code) {
    case 'invalid_type':
      return `${where}: must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `${where}: must be ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}`;
    case 'too_big':
      return `${where}: at most ${count(Number(issue.maximum), issue.origin)}`;
    case 'too_small':
      return `${where}: at least ${count(Number(issue.minimum), issue.origin)}`;
    case 'invalid_format':
      return `${where}: ${issue.pattern ? `must match ${issue.pattern}` : `must be ${article(issue.format)}`}`;
    case 'unrecognized_keys':
      return `${where}: unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return `${where}: matches none of the accepted forms`;
    default:
      return `${where}: is not valid`;
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function article(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;
}

function count(n: number, origin: string): string {
  const noun = origin === 'string' ? 'character' : origin === 'array' ? 'item' : '';
  return noun ? `${n} ${noun}${n === 1 ? '' : 's'}` : String(n);
}

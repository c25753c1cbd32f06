import * as fc from 'fast-check';
import { parseJsonText } from '../../config/json-text';
import { propertyRuns } from '../fixtures/property';

/** The problem for `text`, which must not parse. */
function problem(text: string): string {
  const result = parseJsonText(text);
  if (result.ok) throw new Error(`parsed: ${JSON.stringify(result.value)}`);
  return result.problem;
}

describe('JSON text', () => {
  it('parses what JSON.parse parses', () => {
    const text = JSON.stringify({ a: [1, -2.5e3, 'x\\"y\u00e9', true, false, null], b: { c: {} }, d: [] }, null, 2);
    expect(parseJsonText(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each([
    [
      'a trailing comma in an object',
      '{\n  "a": 1,\n}',
      'line 2, column 9: a comma before }: JSON allows no trailing comma; delete it.\n2 |   "a": 1,\n  |         ^',
    ],
    [
      'a missing comma',
      '{\n  "a": 1\n  "b": 2\n}',
      'line 3, column 3: expected , or } after the value, found "b"; is a comma missing?\n3 |   "b": 2\n  |   ^',
    ],
    [
      'a comment',
      '{\n  // the domain\n  "a": 1\n}',
      'line 2, column 3: JSON allows no comments; delete it (docs/configuration.md describes every setting).\n' +
        '2 |   // the domain\n  |   ^',
    ],
    [
      'single quotes',
      "{ 'a': 1 }",
      "line 1, column 3: property names take double quotes in JSON: write \"name\", not 'name'.\n1 | { 'a': 1 }\n" +
        '  |   ^',
    ],
    [
      'an unquoted name',
      '{ domain: 1 }',
      'line 1, column 3: expected a property name in double quotes, found domain.\n1 | { domain: 1 }\n  |   ^',
    ],
    [
      'a misspelt literal',
      '{ "a": ture }',
      'line 1, column 8: expected a value (a string in double quotes, a number, true, false, null, { or [), ' +
        'found ture.\n1 | { "a": ture }\n  |        ^',
    ],
    [
      'a missing colon',
      '{ "a" 1 }',
      'line 1, column 7: expected : after the property name "a", found "1".\n1 | { "a" 1 }\n  |       ^',
    ],
    [
      'a number with a leading zero',
      '{ "a": 01 }',
      'line 1, column 8: not a JSON number: no leading zeros, digits on both sides of a decimal point, ' +
        'e.g. 5, 0.5, -3, 1e3.\n1 | { "a": 01 }\n  |        ^',
    ],
    [
      'a line break in a string',
      '{ "a": "x\ny" }',
      'line 1, column 10: a line break inside a string; close the string with " on this line, or write \\n for ' +
        'a line break.\n1 | { "a": "x\n  |          ^',
    ],
    [
      'a bad escape',
      '{ "a": "C:\\temp\\x" }',
      'line 1, column 16: not a JSON escape; use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by four hex ' +
        'digits (a backslash itself is \\\\).\n1 | { "a": "C:\\temp\\x" }\n  |                ^',
    ],
    [
      'text after the value',
      '{}\n{}',
      'line 2, column 1: found "{" after the end of the JSON value; the file must hold one object.\n2 | {}\n  | ^',
    ],
    [
      'a key set twice',
      '{ "edge": { "memoryMb": 128, "memoryMb": 256 } }',
      'line 1, column 30: "edge.memoryMb" is set twice in this object; JSON keeps only the last, so delete one.\n' +
        '1 | { "edge": { "memoryMb": 128, "memoryMb": 256 } }\n  |                              ^',
    ],
    [
      'an unclosed array',
      '{ "regions": ["us-east-1"',
      'line 1, column 26: the file ends where , or ] should be; the [ at line 1, column 14 is never closed with ].\n' +
        '1 | { "regions": ["us-east-1"\n  |                          ^',
    ],
    [
      'an unclosed string',
      '{ "a": "x',
      'line 1, column 8: this string is never closed; end it with ".\n1 | { "a": "x\n  |        ^',
    ],
    ['nothing at all', '', 'line 1, column 1: the file ends where a value should be.\n1 | \n  | ^'],
  ])('locates %s', (_case, text, expected) => {
    expect(problem(text)).toBe(expected);
  });

  it('keeps tabs under the line so the caret lines up, and counts CRLF lines as one', () => {
    expect(problem('{\r\n\t"a": 1,\r\n}')).toBe(
      'line 2, column 8: a comma before }: JSON allows no trailing comma; delete it.\n2 | \t"a": 1,\n  | \t      ^',
    );
  });

  it('shows a window of a long line around the spot', () => {
    const text = `{${Array.from({ length: 40 }, (_, i) => `"k${i}": ${i}`).join(', ')}, }`;
    const [, shown, caret] = problem(text).split('\n');
    expect(shown!.length).toBeLessThan(120);
    expect(shown).toContain(', }');
    expect(shown![caret!.indexOf('^')]).toBe(',');
  });
});

// jsonc-parser reads some of these as one token, or reads on after one, and flags only the token where
// it stopped (or nothing, for a key set twice): each must still be refused at the spot JSON goes wrong.
describe('JSON text where jsonc-parser stops elsewhere', () => {
  it.each([
    [
      'a word that starts as true',
      '{ "a": trueish }',
      'line 1, column 12: expected , or } after the value, found ish; is a comma missing?\n1 | { "a": trueish }\n' +
        '  |            ^',
    ],
    [
      'a number that goes on',
      '{ "a": 1.5.3 }',
      'line 1, column 8: not a JSON number: no leading zeros, digits on both sides of a decimal point, ' +
        'e.g. 5, 0.5, -3, 1e3.\n1 | { "a": 1.5.3 }\n  |        ^',
    ],
    [
      'a number followed by another',
      '{ "a": -1-2 }',
      'line 1, column 8: not a JSON number: no leading zeros, digits on both sides of a decimal point, ' +
        'e.g. 5, 0.5, -3, 1e3.\n1 | { "a": -1-2 }\n  |        ^',
    ],
    [
      'a short \\u escape',
      '{ "a": "\\u00e" }',
      'line 1, column 9: not a JSON escape; use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by four hex ' +
        'digits (a backslash itself is \\\\).\n1 | { "a": "\\u00e" }\n  |         ^',
    ],
    [
      'a control character in a string',
      '{ "a": "x\u0001y" }',
      'line 1, column 10: a control character inside a string; write it as an escape such as \\t.\n' +
        '1 | { "a": "x\u0001y" }\n  |          ^',
    ],
    [
      'the first of two mistakes in a string',
      '{ "a": "\\q\n',
      'line 1, column 9: not a JSON escape; use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by four hex ' +
        'digits (a backslash itself is \\\\).\n1 | { "a": "\\q\n  |         ^',
    ],
    [
      'an unclosed block comment',
      '{ "a": 1 /* note',
      'line 1, column 10: JSON allows no comments; delete it (docs/configuration.md describes every setting).\n' +
        '1 | { "a": 1 /* note\n  |          ^',
    ],
    [
      'a trailing comma in an array',
      '[1, 2,]',
      'line 1, column 6: a comma before ]: JSON allows no trailing comma; delete it.\n1 | [1, 2,]\n  |      ^',
    ],
    [
      'a key set twice in an array item',
      '{ "regions": [{ "code": "a" }, { "code": "b", "code": "c" }] }',
      'line 1, column 47: "regions[1].code" is set twice in this object; JSON keeps only the last, so delete one.\n' +
        '1 | { "regions": [{ "code": "a" }, { "code": "b", "code": "c" }] }\n' +
        '  |                                               ^',
    ],
  ])('locates %s', (_case, text, expected) => {
    expect(problem(text)).toBe(expected);
  });

  it('keeps "__proto__" a key, as JSON.parse does', () => {
    const result = parseJsonText('{ "__proto__": { "polluted": true } }');
    expect(result.ok && Object.getPrototypeOf(result.value)).toBe(Object.prototype);
    expect(result.ok && Object.keys(result.value as object)).toEqual(['__proto__']);
  });

  it('refuses what JSON.parse refuses, and else only a key set twice', () => {
    const piece = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      ' ',
      '\n',
      '\r',
      '\t',
      '"',
      '\\',
      '"a"',
      '"b"',
      '"\\u00e9"',
      "'a'",
      '0',
      '1',
      '-',
      '+',
      '.',
      'e',
      'true',
      'tru',
      'null',
      '//',
      '/*',
      '*/',
      '\u0001',
      '\u00a0',
    );
    const glued = fc.array(piece, { maxLength: 16 }).map((pieces) => pieces.join(''));
    // A mark put into valid JSON beside a bracket, colon or comma, where jsonc-parser's leniencies lie.
    const mark = fc.constantFrom(',', ':', '{', '}', '[', ']', '//', '/**/', '"a"', '0', '.', '-', "'a'", '\\');
    const edited = fc.tuple(fc.json(), mark, fc.nat(), fc.nat(1)).map(([json, inserted, spot, after]) => {
      const spots = [...json.matchAll(/[{}[\]:,]/g)].map((match) => match.index + after);
      const at = spots[spot % Math.max(spots.length, 1)] ?? 0;
      return json.slice(0, at) + inserted + json.slice(at);
    });
    fc.assert(
      fc.property(fc.oneof({ arbitrary: edited, weight: 4 }, glued, fc.json()), (text) => {
        let parsed: { ok: boolean; value?: unknown };
        try {
          parsed = { ok: true, value: JSON.parse(text) };
        } catch {
          parsed = { ok: false };
        }
        const result = parseJsonText(text);
        if (result.ok) expect(result).toEqual(parsed);
        else if (parsed.ok) expect(result.problem).toContain('is set twice in this object');
      }),
      { numRuns: propertyRuns(20000) },
    );
  });
});

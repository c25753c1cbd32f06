/**
 * JSON read from a file a person edits. `JSON.parse` says what went wrong only sometimes, and then
 * as a character offset; here the first mistake is said the way an editor would: line, column, the
 * line with a caret under the spot, and the usual cause (a trailing comma, a missing one, a
 * comment, single quotes). A key set twice, which `JSON.parse` silently resolves to the last, is a
 * mistake too.
 *
 * jsonc-parser finds the mistake, but names it only by a code at the token where it stopped. The
 * cause depends on what was expected there, so the visitor keeps track of that, and words the
 * first error from it and from the text at the spot.
 */
import { type JSONPath, visit } from 'jsonc-parser';

export type JsonTextResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: string };

export function parseJsonText(text: string): JsonTextResult {
  // Editors on Windows may save a byte order mark; it is not part of the JSON.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    new Reader(body).read();
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return {
      ok: false,
      problem: `${describePosition(body, error.offset)}: ${error.reason}\n${excerpt(body, error.offset)}`,
    };
  }
  // Not jsonc-parser's `parse`: it builds objects by assignment, so a "__proto__" key would set a prototype.
  return { ok: true, value: JSON.parse(body) };
}

class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const NOT_A_NUMBER =
  'not a JSON number: no leading zeros, digits on both sides of a decimal point, e.g. 5, 0.5, -3, 1e3.';

type Expecting = 'value' | 'property' | 'colon' | 'separator' | 'end';

class Reader {
  private expecting: Expecting = 'value';
  /** The comma just read, while the next token is still to come: a close bracket there makes it a trailing comma. */
  private comma: number | undefined;
  private key = '';
  /** Where each open object or array began, innermost last: an early end names the one left open. */
  private readonly open: { readonly offset: number; readonly close: '}' | ']'; readonly keys: Set<string> }[] = [];

  constructor(private readonly text: string) {}

  read(): void {
    visit(
      this.text,
      {
        onObjectBegin: (offset) => this.begin(offset, '}'),
        onArrayBegin: (offset) => this.begin(offset, ']'),
        onObjectProperty: (key, offset, _length, _line, _column, path) => this.property(key, offset, path),
        onSeparator: (separator, offset) => this.separator(separator, offset),
        onLiteralValue: (value, offset, length) => this.literal(value, offset, length),
        // At the end of the file jsonc-parser closes what is open before it reports the missing bracket.
        onObjectEnd: (offset) => this.end(offset),
        onArrayEnd: (offset) => this.end(offset),
        onError: (_code, offset) => this.problemAt(offset),
      },
      { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
    );
  }

  private expect(next: Expecting): void {
    this.expecting = next;
    this.comma = undefined;
  }

  private begin(offset: number, close: '}' | ']'): void {
    this.open.push({ offset, close, keys: new Set() });
    this.expect(close === '}' ? 'property' : 'value');
  }

  private property(key: string, offset: number, path: () => JSONPath): void {
    // jsonc-parser reports a property only inside an object.
    const { keys } = this.open[this.open.length - 1]!;
    if (keys.has(key))
      this.fail(
        offset,
        `${describeKey([...path(), key])} is set twice in this object; JSON keeps only the last, so delete one.`,
      );
    keys.add(key);
    this.key = key;
    this.expect('colon');
  }

  private separator(separator: string, offset: number): void {
    if (separator === ':') return this.expect('value');
    this.expect(this.open[this.open.length - 1]?.close === '}' ? 'property' : 'value');
    this.comma = offset;
  }

  private literal(value: unknown, offset: number, length: number): void {
    // jsonc-parser ends a number where JSON's grammar stops and reads on from there: 01 is 0 then 1.
    if (typeof value === 'number' && /[\d.eE+-]/.test(this.text[offset + length] ?? ''))
      this.fail(offset, NOT_A_NUMBER);
    this.valueEnded();
  }

  private end(offset: number): void {
    if (offset >= this.text.length) this.problemAt(offset);
    this.open.pop();
    this.valueEnded();
  }

  private valueEnded(): void {
    this.expect(this.open.length > 0 ? 'separator' : 'end');
  }

  /** The first mistake, at the token jsonc-parser stopped at. */
  private problemAt(at: number): never {
    const { text } = this;
    if (text.startsWith('//', at) || text.startsWith('/*', at))
      this.fail(at, 'JSON allows no comments; delete it (docs/configuration.md describes every setting).');
    const close = this.open[this.open.length - 1]?.close;
    if (this.comma !== undefined && text[at] === close)
      this.fail(this.comma, `a comma before ${close}: JSON allows no trailing comma; delete it.`);
    const ended = at >= text.length;
    switch (this.expecting) {
      case 'value':
        return this.badValue(at);
      case 'property':
        if (ended) this.endedEarly('a property name');
        if (text[at] === '"') this.badString(at);
        if (text[at] === "'") this.fail(at, 'property names take double quotes in JSON: write "name", not \'name\'.');
        return this.fail(at, `expected a property name in double quotes, found ${this.found(at)}.`);
      case 'colon':
        if (ended) this.endedEarly(`: after "${this.key}"`);
        return this.fail(at, `expected : after the property name "${this.key}", found ${this.found(at)}.`);
      case 'separator':
        if (ended) this.endedEarly(`, or ${close}`);
        return this.fail(at, `expected , or ${close} after the value, found ${this.found(at)}; is a comma missing?`);
      case 'end':
        return this.fail(at, `found ${this.found(at)} after the end of the JSON value; the file must hold one object.`);
    }
  }

  private badValue(at: number): never {
    const c = this.text[at];
    if (c === '"') this.badString(at);
    if (/[-\d]/.test(c ?? '')) this.fail(at, NOT_A_NUMBER);
    // jsonc-parser reads `trueish` as one unknown word; the mistake is what follows true.
    const literal = ['true', 'false', 'null'].find((word) => this.text.startsWith(word, at));
    if (literal) {
      this.valueEnded();
      return this.problemAt(at + literal.length);
    }
    if (c === "'") this.fail(at, 'strings take double quotes in JSON: write "text", not \'text\'.');
    if (c === '+' || c === '.')
      this.fail(at, 'not a JSON number: write 5 or 0.5, without a + sign or a bare decimal point.');
    if (c === undefined) this.endedEarly('a value');
    this.fail(
      at,
      `expected a value (a string in double quotes, a number, true, false, null, { or [), found ${this.found(at)}.`,
    );
  }

  /** jsonc-parser names a bad string by where it starts; the spot is the first wrong character in it. */
  private badString(start: number): never {
    // A valid escape, or one character that ends the string or may not be in it.
    const part = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})|[\\"]|[^ -\uFFFF]/g;
    part.lastIndex = start + 1;
    for (let match = part.exec(this.text); match && match[0] !== '"'; match = part.exec(this.text)) {
      const [found] = match;
      if (found === '\\')
        this.fail(
          match.index,
          'not a JSON escape; use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by four hex digits (a ' +
            'backslash itself is \\\\).',
        );
      if (found === '\n' || found === '\r')
        this.fail(
          match.index,
          'a line break inside a string; close the string with " on this line, or write \\n for a line break.',
        );
      if (found.length === 1)
        this.fail(match.index, 'a control character inside a string; write it as an escape such as \\t.');
    }
    this.fail(start, 'this string is never closed; end it with ".');
  }

  private found(at: number): string {
    const c = this.text[at];
    if (c === undefined) return 'the end of the file';
    // A bare word (an unquoted name, a misspelt true) or a string reads better whole than by its first character.
    const word = /^(?:[A-Za-z_$][\w$.-]*|"(?:[^"\\\n]|\\.)*")/.exec(this.text.slice(at, at + 40));
    return word ? word[0] : JSON.stringify(c);
  }

  private endedEarly(expected: string): never {
    const innermost = this.open[this.open.length - 1];
    const unclosed = innermost
      ? `; the ${innermost.close === '}' ? '{' : '['} at ${describePosition(this.text, innermost.offset)} is ` +
        `never closed with ${innermost.close}`
      : '';
    this.fail(this.text.length, `the file ends where ${expected} should be${unclosed}.`);
  }

  private fail(offset: number, reason: string): never {
    throw new JsonSyntaxError(offset, reason);
  }
}

/** `"edge.memoryMb"`, `"regions[1]"`: a path as the config's docs and other messages write it. */
function describeKey(path: JSONPath): string {
  return `"${path.reduce<string>(
    (out, segment) => (typeof segment === 'number' ? `${out}[${segment}]` : out ? `${out}.${segment}` : segment),
    '',
  )}"`;
}

/** `line 3, column 8`, both counted from 1, a column being a character of the line. */
function describePosition(text: string, offset: number): string {
  const { line, column } = position(text, offset);
  return `line ${line}, column ${column}`;
}

function position(text: string, offset: number): { line: number; column: number; lineStart: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1, lineStart };
}

// Past this width the line is shown as a window around the column: a minified file is one line.
const EXCERPT_WIDTH = 100;

/** The line holding `offset`, numbered, with a caret under the offset. */
function excerpt(text: string, offset: number): string {
  const { line, column, lineStart } = position(text, offset);
  const lineEnd = text.indexOf('\n', lineStart);
  let content = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd).replace(/\r$/, '');
  let caretAt = column - 1;
  if (content.length > EXCERPT_WIDTH) {
    const from = Math.max(0, Math.min(caretAt - EXCERPT_WIDTH / 2, content.length - EXCERPT_WIDTH));
    content =
      `${from > 0 ? '...' : ''}${content.slice(from, from + EXCERPT_WIDTH)}` +
      `${from + EXCERPT_WIDTH < content.length ? '...' : ''}`;
    caretAt = caretAt - from + (from > 0 ? 3 : 0);
  }
  const gutter = String(line);
  // Tabs stay tabs under the line, so the caret lines up however wide the terminal draws them.
  const pad = content.slice(0, caretAt).replace(/[^\t]/g, ' ');
  return `${gutter} | ${content}\n${' '.repeat(gutter.length)} | ${pad}^`;
}

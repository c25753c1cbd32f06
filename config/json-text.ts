/**
 * JSON read from a file a person edits. `JSON.parse` says what went wrong only sometimes, and then
 * as a character offset; this scanner finds the first mistake itself and says it the way an editor
 * would: line, column, the line with a caret under the spot, and the usual cause (a trailing comma,
 * a missing one, a comment, single quotes). A key set twice, which `JSON.parse` silently resolves
 * to the last, is a mistake too.
 */

export type JsonTextResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

export function parseJsonText(text: string): JsonTextResult {
  // Editors on Windows may save a byte order mark; it is not part of the JSON.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    new Scanner(body).document();
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return { ok: false, problem: `${describePosition(body, error.offset)}: ${error.reason}\n${excerpt(body, error.offset)}` };
  }
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

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

class Scanner {
  private at = 0;
  /** Where each open object or array began, innermost last: an early end names the one left open. */
  private readonly open: { readonly offset: number; readonly close: string }[] = [];
  /** Key or index of each level, to name a key set twice by its path. */
  private readonly path: (string | number)[] = [];

  constructor(private readonly text: string) {}

  document(): void {
    this.space();
    this.value();
    this.space();
    if (this.at < this.text.length) this.fail(this.at, `found ${this.found()} after the end of the JSON value; the file must hold one object.`);
  }

  private value(): void {
    const c = this.text[this.at];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return void this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return;
      }
    }
    if (c === "'") this.fail(this.at, 'strings take double quotes in JSON: write "text", not \'text\'.');
    if (c === '+' || c === '.') this.fail(this.at, 'not a JSON number: write 5 or 0.5, without a + sign or a bare decimal point.');
    if (c === undefined) this.endedEarly('a value');
    this.fail(this.at, `expected a value (a string in double quotes, a number, true, false, null, { or [), found ${this.found()}.`);
  }

  private object(): void {
    this.open.push({ offset: this.at, close: '}' });
    this.at += 1;
    const keys = new Set<string>();
    this.space();
    if (this.text[this.at] === '}') return this.close();
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) this.endedEarly('a property name');
      if (c === "'") this.fail(this.at, 'property names take double quotes in JSON: write "name", not \'name\'.');
      if (c !== '"') this.fail(this.at, `expected a property name in double quotes, found ${this.found()}.`);
      const keyAt = this.at;
      const key = this.string();
      if (keys.has(key)) this.fail(keyAt, `${this.describeKey(key)} is set twice in this object; JSON keeps only the last, so delete one.`);
      keys.add(key);
      this.space();
      if (this.text[this.at] === undefined) this.endedEarly(`: after "${key}"`);
      if (this.text[this.at] !== ':') this.fail(this.at, `expected : after the property name "${key}", found ${this.found()}.`);
      this.at += 1;
      this.space();
      this.path.push(key);
      this.value();
      this.path.pop();
      if (this.separator('}')) return this.close();
    }
  }

  private array(): void {
    this.open.push({ offset: this.at, close: ']' });
    this.at += 1;
    this.space();
    if (this.text[this.at] === ']') return this.close();
    for (let index = 0; ; index += 1) {
      this.path.push(index);
      this.value();
      this.path.pop();
      if (this.separator(']')) return this.close();
    }
  }

  /** After a member: true at the closing bracket, false after a comma with another member to come. */
  private separator(close: string): boolean {
    this.space();
    const c = this.text[this.at];
    if (c === close) return true;
    if (c === undefined) this.endedEarly(`, or ${close}`);
    if (c !== ',') this.fail(this.at, `expected , or ${close} after the value, found ${this.found()}; is a comma missing?`);
    const comma = this.at;
    this.at += 1;
    this.space();
    if (this.text[this.at] === close) this.fail(comma, `a comma before ${close}: JSON allows no trailing comma; delete it.`);
    return false;
  }

  private close(): void {
    this.open.pop();
    this.at += 1;
  }

  private string(): string {
    const start = this.at;
    this.at += 1;
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) this.fail(start, 'this string is never closed; end it with ".');
      if (c === '"') break;
      if (c === '\n' || c === '\r') this.fail(this.at, 'a line break inside a string; close the string with " on this line, or write \\n for a line break.');
      if (c < ' ') this.fail(this.at, 'a control character inside a string; write it as an escape such as \\t.');
      if (c === '\\') {
        const next = this.text[this.at + 1];
        if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.at + 2, this.at + 6))) this.at += 6;
        else if (next !== undefined && ESCAPES.has(next)) this.at += 2;
        else this.fail(this.at, 'not a JSON escape; use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u followed by four hex digits (a backslash itself is \\\\).');
      } else {
        this.at += 1;
      }
    }
    this.at += 1;
    return JSON.parse(this.text.slice(start, this.at)) as string;
  }

  private number(): void {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.at));
    const end = this.at + (match?.[0].length ?? 0);
    if (!match || /[\d.eE+-]/.test(this.text[end] ?? '')) {
      this.fail(this.at, 'not a JSON number: no leading zeros, digits on both sides of a decimal point, e.g. 5, 0.5, -3, 1e3.');
    }
    this.at = end;
  }

  private space(): void {
    for (;;) {
      while (WHITESPACE.has(this.text[this.at])) this.at += 1;
      const pair = this.text.slice(this.at, this.at + 2);
      if (pair !== '//' && pair !== '/*') return;
      this.fail(this.at, 'JSON allows no comments; delete it (docs/configuration.md describes every setting).');
    }
  }

  private describeKey(key: string): string {
    const path = [...this.path, key].reduce<string>((out, segment) => (typeof segment === 'number' ? `${out}[${segment}]` : out ? `${out}.${segment}` : segment), '');
    return `"${path}"`;
  }

  private found(): string {
    const c = this.text[this.at];
    if (c === undefined) return 'the end of the file';
    // A bare word (an unquoted name, a misspelt true) or a string reads better whole than by its first character.
    const word = /^(?:[A-Za-z_$][\w$.-]*|"(?:[^"\\\n]|\\.)*")/.exec(this.text.slice(this.at, this.at + 40));
    return word ? word[0] : JSON.stringify(c);
  }

  private endedEarly(expected: string): never {
    const innermost = this.open[this.open.length - 1];
    const unclosed = innermost ? `; the ${innermost.close === '}' ? '{' : '['} at ${describePosition(this.text, innermost.offset)} is never closed with ${innermost.close}` : '';
    this.fail(this.text.length, `the file ends where ${expected} should be${unclosed}.`);
  }

  private fail(offset: number, reason: string): never {
    throw new JsonSyntaxError(offset, reason);
  }
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
    content = `${from > 0 ? '...' : ''}${content.slice(from, from + EXCERPT_WIDTH)}${from + EXCERPT_WIDTH < content.length ? '...' : ''}`;
    caretAt = caretAt - from + (from > 0 ? 3 : 0);
  }
  const gutter = String(line);
  // Tabs stay tabs under the line, so the caret lines up however wide the terminal draws them.
  const pad = content.slice(0, caretAt).replace(/[^\t]/g, ' ');
  return `${gutter} | ${content}\n${' '.repeat(gutter.length)} | ${pad}^`;
}

/**
 * The part of CloudWatch metric math the release alarm uses, evaluated per period: numbers, query
 * ids, + - * /, comparisons (which give 1 or 0), IF(condition, then, else) and FILL(series, value).
 * The local mode runs the alarm's own expressions through it, so what the stacks give CloudWatch
 * is what the local alarm judges by. Anything outside this subset is refused when parsed, so an
 * expression the local mode cannot evaluate fails a test instead of being judged differently.
 *
 * Per datapoint, as CloudWatch does: a missing value (no data in the period) stays missing through
 * arithmetic and comparisons until FILL replaces it; a division by zero has no value; IF takes its
 * branch per datapoint, so a division in the branch not taken does not matter.
 */

type Node =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'negate'; readonly operand: Node }
  | { readonly kind: 'binary'; readonly operator: BinaryOperator; readonly left: Node; readonly right: Node }
  | { readonly kind: 'call'; readonly name: 'IF' | 'FILL'; readonly args: readonly Node[] };

type BinaryOperator = '+' | '-' | '*' | '/' | '>' | '>=' | '<' | '<=' | '==' | '!=';

const COMPARISONS: readonly BinaryOperator[] = ['>=', '<=', '==', '!=', '>', '<'];
const FUNCTIONS = { IF: 3, FILL: 2 } as const;
const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))/y;

/** Parses an expression; throws naming what it does not support and where. */
export function parseMetricMath(expression: string): Node {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expression.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expression);
    if (match === null) {
      if (expression.slice(at).trim() === '') break;
      throw new Error(
        `metric math: unsupported text at ${at} of ${JSON.stringify(expression)}: ` +
          `${JSON.stringify(expression.slice(at, at + 12))}`,
      );
    }
    // The token is whichever group matched: the match less the whitespace before it.
    tokens.push(match[0].trim());
  }
  let position = 0;
  const peek = () => tokens[position];
  const take = (expected?: string): string => {
    const token = tokens[position];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(
        `metric math: expected ${expected ?? 'more'} at token ${position} of ${JSON.stringify(expression)}, ` +
          `got ${token ?? 'the end'}`,
      );
    }
    position += 1;
    return token;
  };

  function comparison(): Node {
    let node = additive();
    while (COMPARISONS.includes(peek() as BinaryOperator))
      node = { kind: 'binary', operator: take() as BinaryOperator, left: node, right: additive() };
    return node;
  }
  function additive(): Node {
    let node = multiplicative();
    while (peek() === '+' || peek() === '-')
      node = { kind: 'binary', operator: take() as BinaryOperator, left: node, right: multiplicative() };
    return node;
  }
  function multiplicative(): Node {
    let node = unary();
    while (peek() === '*' || peek() === '/')
      node = { kind: 'binary', operator: take() as BinaryOperator, left: node, right: unary() };
    return node;
  }
  function unary(): Node {
    if (peek() === '-') {
      take();
      return { kind: 'negate', operand: unary() };
    }
    return primary();
  }
  function primary(): Node {
    const token = take();
    if (token === '(') {
      const inner = comparison();
      take(')');
      return inner;
    }
    if (/^\d/.test(token)) return { kind: 'number', value: Number(token) };
    if (/^[A-Za-z_]/.test(token)) {
      if (peek() !== '(') return { kind: 'id', id: token };
      if (!(token in FUNCTIONS))
        throw new Error(
          `metric math: function ${token} is not supported here (only ${Object.keys(FUNCTIONS).join(', ')})`,
        );
      const name = token as keyof typeof FUNCTIONS;
      take('(');
      const args = [comparison()];
      while (peek() === ',') {
        take(',');
        args.push(comparison());
      }
      take(')');
      if (args.length !== FUNCTIONS[name])
        throw new Error(`metric math: ${name} takes ${FUNCTIONS[name]} arguments, got ${args.length}`);
      return { kind: 'call', name, args };
    }
    throw new Error(`metric math: unexpected ${JSON.stringify(token)} in ${JSON.stringify(expression)}`);
  }

  const node = comparison();
  if (position !== tokens.length)
    throw new Error(`metric math: unexpected ${JSON.stringify(tokens[position])} in ${JSON.stringify(expression)}`);
  return node;
}

/** The ids an expression reads. */
export function metricMathIds(node: Node): string[] {
  switch (node.kind) {
    case 'number':
      return [];
    case 'id':
      return [node.id];
    case 'negate':
      return metricMathIds(node.operand);
    case 'binary':
      return [...metricMathIds(node.left), ...metricMathIds(node.right)];
    case 'call':
      return node.args.flatMap(metricMathIds);
  }
}

/** One datapoint: `values` gives each id's value in the period, null when it has none. */
export function evaluateMetricMath(node: Node, values: (id: string) => number | null): number | null {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'id':
      return values(node.id);
    case 'negate': {
      const operand = evaluateMetricMath(node.operand, values);
      return operand === null ? null : -operand;
    }
    case 'call': {
      const [first, second, third] = node.args;
      if (node.name === 'FILL' && first && second)
        return evaluateMetricMath(first, values) ?? evaluateMetricMath(second, values);
      if (node.name === 'IF' && first && second && third) {
        const condition = evaluateMetricMath(first, values);
        if (condition === null) return null;
        return evaluateMetricMath(condition !== 0 ? second : third, values);
      }
      // parseMetricMath refuses any other count; a Node built by hand may still have one.
      throw new Error(`metric math: ${node.name} takes ${FUNCTIONS[node.name]} arguments, got ${node.args.length}`);
    }
    case 'binary': {
      const left = evaluateMetricMath(node.left, values);
      const right = evaluateMetricMath(node.right, values);
      if (left === null || right === null) return null;
      switch (node.operator) {
        case '+':
          return left + right;
        case '-':
          return left - right;
        case '*':
          return left * right;
        case '/':
          return right === 0 ? null : left / right;
        case '>':
          return left > right ? 1 : 0;
        case '>=':
          return left >= right ? 1 : 0;
        case '<':
          return left < right ? 1 : 0;
        case '<=':
          return left <= right ? 1 : 0;
        case '==':
          return left === right ? 1 : 0;
        case '!=':
          return left !== right ? 1 : 0;
      }
    }
  }
}

/**
 * Evaluates a list of expression queries in order for one period: `inputs` are the metric
 * queries' values, each expression may read the inputs and the expressions before it. Returns
 * every id's value.
 */
export function evaluateQueries(
  expressions: readonly { readonly id: string; readonly expression: string }[],
  inputs: Readonly<Record<string, number | null>>,
): Record<string, number | null> {
  const values: Record<string, number | null> = { ...inputs };
  for (const { id, expression } of expressions) {
    const node = parseMetricMath(expression);
    for (const used of metricMathIds(node)) {
      if (!(used in values)) throw new Error(`metric math: ${id} reads ${used}, which no query before it defines`);
    }
    values[id] = evaluateMetricMath(node, (name) => values[name] ?? null);
  }
  return values;
}

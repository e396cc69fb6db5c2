/**
 * The syntax shared by conditions (`when`, `where`, `skip_when`, `group_by`) and templates
 * (`{{ expr }}`): a lexer, a recursive-descent parser to a small AST, and template splitting.
 * Every node and error carries its offset in the source text, so problems point at a column.
 */

/** A comparison operator. Example: `>=` in `params.version >= 5.0.23654.0`. */
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/**
 * A parsed expression; `start`/`end` are offsets in the parsed text.
 * Example: `host.vars.service == 'ecsc'` -> compare(ref[host, vars, service], literal 'ecsc').
 */
export type ExprNode =
  | { type: 'literal'; value: string | number | boolean; start: number; end: number }
  | { type: 'list'; items: ExprNode[]; start: number; end: number }
  | { type: 'ref'; path: string[]; start: number; end: number }
  | { type: 'call'; path: string[]; args: ExprNode[]; start: number; end: number }
  | { type: 'not'; operand: ExprNode; start: number; end: number }
  | { type: 'logical'; op: 'and' | 'or'; left: ExprNode; right: ExprNode; start: number; end: number }
  | { type: 'compare'; op: CompareOp; left: ExprNode; right: ExprNode; start: number; end: number };

/** A reference or call node: what names a value from the scope. Example: `params.x`, `host.date('%Y')`. */
export type RefNode = Extract<ExprNode, { type: 'ref' | 'call' }>;

/**
 * A problem in an expression or template at `offset` (0-based in the text that was parsed).
 * Example: `new ExprError('unknown param "nme"', 10)`; `column` is offset + 1.
 */
export class ExprError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'ExprError';
  }
  get column(): number {
    return this.offset + 1;
  }
}

/** One piece of a template: literal text, or a `{{ expr }}` with its parsed expression. Example: `{ type: 'text', text: '/home/', start: 0 }`. */
export type TemplateSegment =
  | { type: 'text'; text: string; start: number }
  | { type: 'expr'; node: ExprNode; source: string; start: number; end: number };

/** A parsed template. Example: `/home/{{ params.svc }}` -> text '/home/', expr params.svc. */
export interface Template {
  text: string;
  segments: TemplateSegment[];
  /** False when the text holds no `{{ }}`: it renders to itself. */
  templated: boolean;
}

type Token =
  | { type: 'str'; value: string; start: number; end: number }
  | { type: 'num'; value: number; start: number; end: number }
  | { type: 'ver'; value: string; start: number; end: number }
  | { type: 'ident'; value: string; start: number; end: number }
  | { type: 'punct'; value: string; start: number; end: number }
  | { type: 'eof'; value: ''; start: number; end: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false']);
const PUNCT = ['==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', ',', '.'];
const FOREIGN: Record<string, string> = {
  '&&': 'use `and` instead of `&&`',
  '||': 'use `or` instead of `||`',
  '!': 'use `not` instead of `!`',
  '=': 'use `==` to compare',
};

function lex(text: string, base: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = base + i;
    if (c === "'" || c === '"') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j];
      }
      if (j >= text.length) throw new ExprError(`unterminated string: add the closing ${c}`, start);
      tokens.push({ type: 'str', value, start, end: base + j + 1 });
      i = j + 1;
      continue;
    }
    const number = /^\d+(\.\d+)*/.exec(text.slice(i));
    if (number) {
      const literal = number[0];
      const end = start + literal.length;
      // Dotted: a version literal (5.0.23654.0, and 5.10 too, which as a number would be 5.1), kept
      // as text: it orders as a version against a version and as a number against a number.
      if (literal.includes('.')) tokens.push({ type: 'ver', value: literal, start, end });
      else tokens.push({ type: 'num', value: Number(literal), start, end });
      i += literal.length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (ident) {
      tokens.push({ type: 'ident', value: ident[0], start, end: start + ident[0].length });
      i += ident[0].length;
      continue;
    }
    const foreign = Object.keys(FOREIGN).find(
      (f) => text.startsWith(f, i) && !PUNCT.some((p) => p.length > 1 && text.startsWith(p, i)),
    );
    if (foreign) throw new ExprError(`unexpected "${foreign}": ${FOREIGN[foreign]}`, start);
    const punct = PUNCT.find((p) => text.startsWith(p, i));
    if (!punct) throw new ExprError(`unexpected character "${c}"`, start);
    tokens.push({ type: 'punct', value: punct, start, end: start + punct.length });
    i += punct.length;
  }
  tokens.push({ type: 'eof', value: '', start: base + text.length, end: base + text.length });
  return tokens;
}

function describe(t: Token): string {
  if (t.type === 'eof') return 'the end of the expression';
  if (t.type === 'str') return `the string '${t.value}'`;
  return `"${t.value}"`;
}

class Parser {
  #i = 0;
  constructor(readonly tokens: Token[]) {}

  get peek(): Token {
    return this.tokens[this.#i] as Token;
  }
  next(): Token {
    const t = this.peek;
    if (t.type !== 'eof') this.#i++;
    return t;
  }
  atEnd(): boolean {
    return this.peek.type === 'eof';
  }
  isWord(value: string): boolean {
    return this.peek.type === 'ident' && this.peek.value === value;
  }
  isPunct(value: string): boolean {
    return this.peek.type === 'punct' && this.peek.value === value;
  }
  expectPunct(value: string, what: string): Token {
    if (!this.isPunct(value))
      throw new ExprError(`expected "${value}" ${what}, found ${describe(this.peek)}`, this.peek.start);
    return this.next();
  }

  parseOr(): ExprNode {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      this.next();
      const right = this.parseAnd();
      left = { type: 'logical', op: 'or', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  parseAnd(): ExprNode {
    let left = this.parseNot();
    while (this.isWord('and')) {
      this.next();
      const right = this.parseNot();
      left = { type: 'logical', op: 'and', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  parseNot(): ExprNode {
    if (this.isWord('not')) {
      const start = this.next().start;
      const operand = this.parseNot();
      return { type: 'not', operand, start, end: operand.end };
    }
    return this.parseComparison();
  }

  parseComparison(): ExprNode {
    const left = this.parsePrimary();
    let op: CompareOp | undefined;
    if (this.peek.type === 'punct' && ['==', '!=', '<', '<=', '>', '>='].includes(this.peek.value)) {
      op = this.next().value as CompareOp;
    } else if (this.isWord('in')) {
      this.next();
      op = 'in';
    } else if (
      this.isWord('not') &&
      this.tokens[this.#i + 1]?.type === 'ident' &&
      this.tokens[this.#i + 1]?.value === 'in'
    ) {
      this.next();
      this.next();
      op = 'not in';
    }
    if (!op) return left;
    const right = this.parsePrimary();
    return { type: 'compare', op, left, right, start: left.start, end: right.end };
  }

  parsePrimary(): ExprNode {
    const t = this.peek;
    if (t.type === 'str' || t.type === 'ver' || t.type === 'num') {
      this.next();
      return { type: 'literal', value: t.value, start: t.start, end: t.end };
    }
    if (t.type === 'punct' && t.value === '(') {
      this.next();
      const inner = this.parseOr();
      this.expectPunct(')', 'to close the parenthesis');
      return inner;
    }
    if (t.type === 'punct' && t.value === '[') {
      this.next();
      const items: ExprNode[] = [];
      while (!this.isPunct(']')) {
        items.push(this.parsePrimary());
        if (!this.isPunct(',')) break;
        this.next();
      }
      const end = this.expectPunct(']', 'to close the list').end;
      return { type: 'list', items, start: t.start, end };
    }
    if (t.type === 'ident') {
      if (t.value === 'true' || t.value === 'false') {
        this.next();
        return { type: 'literal', value: t.value === 'true', start: t.start, end: t.end };
      }
      if (KEYWORDS.has(t.value)) throw new ExprError(`expected a value before "${t.value}"`, t.start);
      return this.parseReference();
    }
    throw new ExprError(
      `expected a value (a 'string', a number, or a name like params.x), found ${describe(t)}`,
      t.start,
    );
  }

  parseReference(): ExprNode {
    const first = this.next();
    const path = [first.value as string];
    let end = first.end;
    while (this.isPunct('.')) {
      this.next();
      const name = this.peek;
      if (name.type !== 'ident')
        throw new ExprError(`expected a name after ".", found ${describe(name)}`, name.start);
      this.next();
      path.push(name.value);
      end = name.end;
    }
    if (!this.isPunct('(')) return { type: 'ref', path, start: first.start, end };
    this.next();
    const args: ExprNode[] = [];
    while (!this.isPunct(')')) {
      args.push(this.parseOr());
      if (!this.isPunct(',')) break;
      this.next();
    }
    end = this.expectPunct(')', `to close the call to ${path.join('.')}(`).end;
    return { type: 'call', path, args, start: first.start, end };
  }
}

/**
 * Parses a condition. `base` shifts offsets (used for expressions inside templates).
 * Example: parseExpression("'web' in host.roles and params.version >= 5.0.23654.0").
 * Throws ExprError at the offending offset.
 */
export function parseExpression(text: string, base = 0): ExprNode {
  const tokens = lex(text, base);
  const parser = new Parser(tokens);
  if (parser.peek.type === 'eof')
    throw new ExprError('empty expression: expected a condition or a value', base);
  const node = parser.parseOr();
  if (!parser.atEnd()) {
    throw new ExprError(
      `unexpected ${describe(parser.peek)}: expected "and", "or", a comparison, or the end of the expression`,
      parser.peek.start,
    );
  }
  return node;
}

/**
 * Splits a template into text and `{{ expr }}` segments, parsing each expression.
 * Example: parseTemplate('apigateway{{ params.instance }}'). Throws ExprError (offset in `text`).
 */
export function parseTemplate(text: string): Template {
  const segments: TemplateSegment[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      segments.push({ type: 'text', text: text.slice(i), start: i });
      break;
    }
    if (open > i) segments.push({ type: 'text', text: text.slice(i, open), start: i });
    const close = findClose(text, open + 2);
    if (close < 0) throw new ExprError('unclosed "{{": expected "}}" after the expression', open);
    const source = text.slice(open + 2, close);
    const node = parseExpression(source, open + 2);
    segments.push({ type: 'expr', node, source: source.trim(), start: open, end: close + 2 });
    i = close + 2;
  }
  return { text, segments, templated: segments.some((s) => s.type === 'expr') };
}

/** The offset of the `}}` closing an expression that starts at `from`, skipping quoted strings; -1 if none. */
function findClose(text: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (text.startsWith('}}', i)) return i;
    else if (text.startsWith('{{', i)) return -1;
  }
  return -1;
}

/** Every reference and call in an expression, in source order. Example: refsOf(parseExpression('a.b == c.d')) -> [a.b, c.d]. */
export function refsOf(node: ExprNode): RefNode[] {
  switch (node.type) {
    case 'literal':
      return [];
    case 'list':
      return node.items.flatMap(refsOf);
    case 'ref':
      return [node];
    case 'call':
      return [node, ...node.args.flatMap(refsOf)];
    case 'not':
      return refsOf(node.operand);
    case 'logical':
    case 'compare':
      return [...refsOf(node.left), ...refsOf(node.right)];
  }
}

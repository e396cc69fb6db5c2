/**
 * YAML with positions: parses a file keeping node ranges, finds the line:col of any path
 * (`phases/0/steps/2/service.stop/unit`) or of a column inside a string, and turns parser
 * errors and zod issues into InputProblems. Used by the runbook and the inventory loaders.
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  parseDocument,
} from 'yaml';
import type { z } from 'zod';
import type { InputProblem } from '../errors.js';
import { CONTROL, describeChar, LIMITS } from './limits.js';
import type { Loc } from './loc.js';
import { didYouMean, listNames } from './suggest.js';

/** A path inside a document. Example: `['phases', 0, 'steps', 2, 'service.stop', 'unit']`. */
export type Path = readonly (string | number)[];

/** The text form of a path, as problems show it. Example: pathText(['phases', 0, 'hosts']) -> 'phases/0/hosts'. */
export function pathText(path: Path): string {
  return path.join('/');
}

/**
 * A parsed YAML file that can say where things are. Example:
 * `const src = new YamlSource('rb.yml', text); src.loc(['phases', 0, 'name'])` -> `{ file, line: 3, col: 11 }`.
 */
export class YamlSource {
  readonly doc: Document;
  readonly #lines = new LineCounter();
  /** The YAML parser's own errors and warnings, positioned. */
  readonly parseProblems: InputProblem[] = [];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, uniqueKeys: true });
    for (const [list, severity] of [
      [this.doc.errors, 'error'],
      [this.doc.warnings, 'warning'],
    ] as const) {
      // An unclosed quote explains the errors that follow it: report it first.
      const ordered = [...list].sort(
        (a, b) => Number(/Missing closing/.test(b.message)) - Number(/Missing closing/.test(a.message)),
      );
      for (const e of ordered) {
        let message = e.message.split('\n')[0] as string;
        let offset = e.pos[0];
        // The parser notices a missing closing quote at the end of the text: point at the opening one.
        const quote = /Missing closing (["'])quote/.exec(message)?.[1];
        if (quote) offset = openingQuote(text, offset, quote);
        // The parser notices an unclosed { or [ only where the next line starts: point at the opener instead.
        const closer = /end with an? ([}\]])/.exec(message)?.[1];
        const opener = closer ? unclosedOpener(text, offset, closer === '}' ? '{' : '[') : undefined;
        if (opener !== undefined) {
          offset = opener;
          message = `${message.replace(/\.$/, '')}: this ${closer === '}' ? '{' : '['} is never closed`;
        }
        const { line, col } = this.#lines.linePos(offset);
        // After one error the parser often complains about every following token (of the line, or of
        // the rest of the file when it lost track): keep the first.
        const earlier = this.parseProblems.filter((p) => p.severity === severity);
        if (earlier.some((p) => p.line === line)) continue;
        if (e.code === 'UNEXPECTED_TOKEN' && earlier.length > 0) continue;
        // The usual cause: `{{ }}` in an unquoted value, which YAML reads as nested flow maps.
        const lineText = text.split('\n')[line - 1] ?? '';
        const hint = hasUnquotedTemplate(lineText)
          ? ' A value holding {{ }} must be quoted, e.g. unit: "apigateway{{ params.instance }}".'
          : ' Check indentation, brackets and quotes.';
        this.parseProblems.push({
          file,
          line,
          col,
          path: '',
          message:
            severity === 'error'
              ? `YAML syntax error: ${message.replace(/\.$/, '')}.${hint}`
              : `YAML warning: ${message}`,
          severity,
        });
      }
    }
    this.#checkLimits();
  }

  /** The document as plain JS (partial when the YAML has errors; null past a limit). */
  value(): unknown {
    return this.#value;
  }

  #value: unknown = null;

  /**
   * Holds the document to LIMITS (aliases, nesting) and to values without control characters
   * (a "\e" or "\0" escape), each a problem at its place; computes the value only within them.
   */
  #checkLimits(): void {
    const problem = (offset: number, message: string) => {
      const { line, col } = this.#lines.linePos(offset);
      this.parseProblems.push({ file: this.file, line, col, path: '', message, severity: 'error' });
    };
    let aliases = 0;
    let tooDeep = false;
    const stack: Array<[unknown, number]> = [[this.doc.contents, 1]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop() as [unknown, number];
      if (isAlias(node)) {
        aliases++;
        if (aliases === LIMITS.aliases + 1)
          problem(
            node.range?.[0] ?? 0,
            `more than ${LIMITS.aliases} YAML aliases (*name) in one document; write the values out`,
          );
      } else if (isMap(node) || isSeq(node)) {
        if (depth > LIMITS.depth) {
          if (!tooDeep)
            problem(node.range?.[0] ?? 0, `YAML collections nested more than ${LIMITS.depth} deep`);
          tooDeep = true;
          continue;
        }
        for (const item of node.items as unknown[]) {
          if (isPair(item)) {
            stack.push([item.key, depth + 1]);
            stack.push([item.value, depth + 1]);
          } else stack.push([item, depth + 1]);
        }
      } else if (isScalar(node) && typeof node.value === 'string') {
        const m = CONTROL.exec(node.value);
        if (m)
          problem(
            node.range?.[0] ?? 0,
            `this value holds the control character ${describeChar(m[0])}, which would be printed raw to a terminal or dropped by the shell; remove it`,
          );
      }
    }
    if (aliases > LIMITS.aliases || tooDeep) return;
    try {
      this.#value = this.doc.toJS({ maxAliasCount: LIMITS.aliases });
    } catch (e) {
      problem(0, `the YAML aliases expand too far (${(e as Error).message}); write the values out`);
    }
  }

  /** 1-based line and column of an offset. */
  position(offset: number): Loc {
    const { line, col } = this.#lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** The node at a path and its pair (for maps), or the deepest node found on the way. */
  find(path: Path): { node: Node | null; pair?: Pair<unknown, unknown>; found: boolean } {
    let node = this.doc.contents as Node | null;
    let pair: Pair<unknown, unknown> | undefined;
    for (const segment of path) {
      if (isMap(node)) {
        const match = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (!match) return { node, ...(pair ? { pair } : {}), found: false };
        pair = match as Pair<unknown, unknown>;
        node = (match.value as Node | null) ?? null;
        if (node === null) return { node: (match.key as Node) ?? null, pair, found: true };
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        pair = undefined;
        node = node.items[segment] as Node;
      } else {
        return { node, ...(pair ? { pair } : {}), found: false };
      }
    }
    return { node, ...(pair ? { pair } : {}), found: true };
  }

  /** Where the value at `path` starts (or its key with `at: 'key'`); the nearest parent when absent. */
  loc(path: Path, at: 'value' | 'key' = 'value'): Loc {
    const { node, pair, found } = this.find(path);
    const keyNode = pair && isScalar(pair.key) ? pair.key : undefined;
    // An empty value (`key:` and nothing) has no text of its own: point at its key.
    const empty = isScalar(node) && node.value === null && node.range && node.range[0] === node.range[1];
    const target = (at === 'key' || empty) && found && keyNode ? keyNode : node;
    const offset = target?.range?.[0] ?? keyNode?.range?.[0] ?? 0;
    return this.position(offset);
  }

  /**
   * Where character `index` of the string at `path` sits in the file. `needle` (the text around
   * it, e.g. the whole `{{ ... }}`) is searched in the raw source when quoting or folding shifted
   * the characters. Falls back to the start of the value.
   */
  locInString(path: Path, index: number, needle?: { text: string; start: number }): Loc {
    const { node, found } = this.find(path);
    if (!found || !isScalar(node) || typeof node.value !== 'string' || !node.range) return this.loc(path);
    const value = node.value;
    const [start, end] = node.range;
    const raw = this.text.slice(start, end);
    if (node.type === 'PLAIN' && raw === value) return this.position(start + index);
    if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && raw.slice(1, -1) === value) {
      return this.position(start + 1 + index);
    }
    if (needle?.text) {
      let occurrence = 0;
      for (
        let i = value.indexOf(needle.text);
        i >= 0 && i < needle.start;
        i = value.indexOf(needle.text, i + 1)
      )
        occurrence++;
      let at = -1;
      for (let k = 0; k <= occurrence; k++) {
        at = raw.indexOf(needle.text, at + 1);
        if (at < 0) break;
      }
      if (at >= 0) return this.position(start + at + (index - needle.start));
    }
    return this.position(start);
  }

  /** A problem at a path. */
  problem(
    path: Path,
    message: string,
    severity: 'error' | 'warning' = 'error',
    at: 'value' | 'key' = 'value',
  ): InputProblem {
    return { ...this.loc(path, at), path: pathText(path), message, severity };
  }

  /** Every node's location by path text, for checks made after loading (see Runbook.sourceLocs). */
  allLocs(): Record<string, Loc> {
    const out: Record<string, Loc> = {};
    const visit = (node: unknown, path: (string | number)[]) => {
      if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
        out[pathText(path)] = this.position(node.range[0] as number);
      }
      if (isMap(node)) {
        for (const p of node.items)
          if (isScalar(p.key)) visit(p.value ?? p.key, [...path, String(p.key.value)]);
      } else if (isSeq(node)) {
        for (const [i, item] of node.items.entries()) visit(item, [...path, i]);
      }
    };
    visit(this.doc.contents, []);
    return out;
  }

  /** `# TODO` comments, wherever they are (found in the parser's tokens, so `#` inside strings never counts). */
  todoComments(): { loc: Loc; text: string }[] {
    const out: { loc: Loc; text: string }[] = [];
    // Parsing again costs as much as the first parse: only when the text has a TODO at all.
    if (!/#[#\s]*TODO\b/i.test(this.text)) return out;
    const visit = (token: unknown) => {
      if (Array.isArray(token)) return token.forEach(visit);
      if (!token || typeof token !== 'object') return;
      const t = token as { type?: string; source?: string; offset?: number };
      if (t.type === 'comment' && typeof t.source === 'string' && /^#+\s*TODO\b/i.test(t.source)) {
        out.push({ loc: this.position(t.offset ?? 0), text: t.source.replace(/^#+\s*/, '') });
        return;
      }
      for (const value of Object.values(token)) if (value && typeof value === 'object') visit(value);
    };
    for (const token of new Parser().parse(this.text)) visit(token);
    return out;
  }

  /**
   * Turns zod issues for the value at `base` into problems at the right nodes. `raw` is that
   * value as given (for "got ..." and to skip template strings when `skipTemplates`), `schema` the
   * schema it was checked with (for "did you mean" on unknown keys).
   */
  zodProblems(
    issues: readonly z.core.$ZodIssue[],
    base: Path,
    raw: unknown,
    schema?: z.ZodType,
    opts: { skipTemplates?: boolean } = {},
  ): InputProblem[] {
    const out: InputProblem[] = [];
    for (const issue of flattenUnions(issues, raw)) {
      const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
      const value = valueAt(raw, issue.path);
      if (opts.skipTemplates && containsTemplate(value) && issue.code !== 'unrecognized_keys') continue;
      if (issue.code === 'unrecognized_keys') {
        const known = schema ? knownKeys(schema, issue.path) : [];
        for (const key of issue.keys) {
          const allowed = known.length ? ` Allowed here: ${listNames(known)}.` : '';
          out.push(
            this.problem(
              [...path, key],
              `unknown key "${key}".${didYouMean(key, known)}${allowed}`,
              'error',
              'key',
            ),
          );
        }
        continue;
      }
      if (issue.code === 'invalid_key') {
        out.push(
          this.problem(
            path,
            `invalid name "${String(path[path.length - 1])}": ${issueMessage(issue.issues[0] ?? issue, undefined)}`,
            'error',
            'key',
          ),
        );
        continue;
      }
      if (
        value === undefined &&
        path.length > 0 &&
        (issue.code === 'invalid_type' || issue.code === 'custom')
      ) {
        const key = path[path.length - 1];
        const expected =
          issue.code === 'invalid_type' ? article(issue.expected) : issue.message.replace(/^expected /, '');
        out.push({
          ...this.loc(path.slice(0, -1)),
          path: pathText(path),
          message: `missing required key "${String(key)}" (expected ${expected})`,
          severity: 'error',
        });
        continue;
      }
      out.push(this.problem(path, issueMessage(issue, value)));
    }
    return dedupe(out);
  }
}

/** True when a `{{` on the line sits outside any quotes (quote characters before it are balanced). */
function hasUnquotedTemplate(line: string): boolean {
  for (let i = line.indexOf('{{'); i >= 0; i = line.indexOf('{{', i + 2)) {
    const before = line.slice(0, i);
    const doubles = (before.match(/(?<!\\)"/g) ?? []).length;
    const singles = (before.match(/'/g) ?? []).length;
    if (doubles % 2 === 0 && singles % 2 === 0) return true;
  }
  return false;
}

/** The last unescaped `quote` before `end` (everything after an unclosed quote is inside it). */
function openingQuote(text: string, end: number, quote: string): number {
  for (let i = Math.min(end, text.length) - 1; i >= 0; i--) {
    if (text[i] === quote && (quote === "'" || text[i - 1] !== '\\')) return i;
  }
  return end;
}

/** The offset of the last `open` bracket before `end` that has no matching closer (quotes skipped), if any. */
function unclosedOpener(text: string, end: number, open: '{' | '['): number | undefined {
  const close = open === '{' ? '}' : ']';
  const stack: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      if (stack.length) quote = c;
    } else if (c === '#' && /\s/.test(text[i - 1] ?? ' ')) {
      while (i < end && text[i] !== '\n') i++;
    } else if (c === open) stack.push(i);
    else if (c === close) stack.pop();
    else if (c === '\n' && stack.length === 0) quote = undefined;
  }
  return stack.pop();
}

const DEFAULT_MESSAGE =
  /^(Invalid input|Invalid option|Invalid string|Invalid key|Too small|Too big|Unrecognized key|Invalid element|Invalid value)/;

/** A readable message for one zod issue: what was expected and what was found. */
function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
  const custom = issue.message && !DEFAULT_MESSAGE.test(issue.message) ? issue.message : undefined;
  switch (issue.code) {
    case 'invalid_type':
      return custom ?? `expected ${article(issue.expected)}, got ${describeValue(value)}`;
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v));
      const hint = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : '';
      return (
        custom ??
        `expected ${options.length === 1 ? options[0] : `one of ${options.join(', ')}`}, got ${describeValue(value)}.${hint}`
      );
    }
    case 'too_small':
      return custom ?? smallOrBig('at least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return custom ?? smallOrBig('at most', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_format':
      return (
        custom ??
        `${describeValue(value)} is not a valid ${issue.format}${'pattern' in issue && issue.pattern ? ` (must match ${issue.pattern})` : ''}`
      );
    case 'invalid_union':
      return custom ?? `expected ${unionExpectation(issue)}, got ${describeValue(value)}`;
    default:
      // Custom checks word their own message ("expected a string"); add what was found.
      return /^expected /.test(issue.message) && value !== undefined && !issue.message.includes(', got ')
        ? `${issue.message}, got ${describeValue(value)}`
        : issue.message;
  }
}

function smallOrBig(bound: string, origin: string, limit: unknown, inclusive?: boolean): string {
  const n = Number(limit);
  if (origin === 'array' || origin === 'set') return `expected ${bound} ${n} item${n === 1 ? '' : 's'}`;
  if (origin === 'string')
    return n === 1 && bound === 'at least'
      ? 'expected a non-empty text'
      : `expected ${bound} ${n} characters`;
  const edge = inclusive === false ? (bound === 'at least' ? 'more than' : 'less than') : bound;
  return `expected a number ${edge} ${n}`;
}

function unionExpectation(issue: Extract<z.core.$ZodIssue, { code: 'invalid_union' }>): string {
  const options = issue.errors.map((branch) => {
    const first = branch[0];
    if (!first) return 'something else';
    if (first.code === 'invalid_type') return article(first.expected);
    if (first.code === 'invalid_value') return first.values.map((v) => JSON.stringify(v)).join(' or ');
    return 'something else';
  });
  return [...new Set(options)].join(' or ');
}

/**
 * For a union, the issues of the branch that matched the value's type (the one whose errors
 * are not a type mismatch at the union itself); the union issue when no branch fits.
 */
function flattenUnions(issues: readonly z.core.$ZodIssue[], raw: unknown): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
      out.push(issue);
      continue;
    }
    const fits = issue.errors.filter(
      (branch) =>
        branch.length > 0 &&
        !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')),
    );
    const best = fits.sort((a, b) => a.length - b.length)[0];
    if (best) {
      const nested = best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue);
      out.push(...flattenUnions(nested, raw));
    } else out.push(issue);
  }
  return out;
}

function dedupe(problems: InputProblem[]): InputProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.col}:${p.path}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{');
  if (Array.isArray(value)) return value.some(containsTemplate);
  return false;
}

/** "a string", "a map", "a number" — for messages. */
function article(type: string): string {
  const names: Record<string, string> = {
    int: 'a whole number',
    object: 'a map',
    array: 'a list',
    record: 'a map',
    nan: 'a number',
  };
  if (names[type]) return names[type] as string;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** How a found value is named in messages. Example: describeValue('x') -> 'the text "x"'. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  return `${typeof value === 'number' ? 'the number' : 'the value'} ${String(value)}`;
}

type ZodDef = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
};

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

function unwrapSchema(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    if (
      def.innerType &&
      ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)
    )
      s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

/** The keys an object schema allows at a path (unions merge their object options). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const candidates = [unwrapSchema(schema)];
  let current: z.ZodType[] = candidates;
  for (const key of path) {
    const next: z.ZodType[] = [];
    for (const s of current.flatMap(expandUnion)) {
      const def = defOf(s);
      if (def.type === 'object' && def.shape && typeof key === 'string' && def.shape[key])
        next.push(unwrapSchema(def.shape[key]));
      else if (def.type === 'array' && def.element && typeof key === 'number')
        next.push(unwrapSchema(def.element));
      else if (def.type === 'record' && def.valueType) next.push(unwrapSchema(def.valueType));
    }
    current = next;
  }
  const keys = new Set<string>();
  for (const s of current.flatMap(expandUnion)) {
    const def = defOf(s);
    if (def.type === 'object' && def.shape) for (const k of Object.keys(def.shape)) keys.add(k);
  }
  return [...keys];
}

function expandUnion(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  return def.type === 'union' && def.options ? def.options.map(unwrapSchema).flatMap(expandUnion) : [schema];
}

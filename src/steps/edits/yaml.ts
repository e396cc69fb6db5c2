/**
 * Minimal-diff YAML edits: the document is parsed with node positions and the original text is
 * spliced, so comments, blank lines, quoting, key order and line endings of untouched lines stay
 * byte-identical.
 *
 * Rules (documented here because operators read diffs of them):
 * - Key paths are split on `/` only; `.` is part of a key (`db.holdLock` is one flat key).
 * - `set` of an existing key replaces only the value's text (a quoted string stays quoted the same
 *   way); setting the value the key already has returns the input unchanged. `comment` is used
 *   only when the key is added (an existing key's comments are left as they are).
 * - `set` of a new key appends it after the last entry of its parent mapping, at that mapping's
 *   indentation, with `comment` as `# ` lines above it. Missing parent mappings are created; a
 *   parent with an empty value (`log:`, `log: ~`, `log: {}`) becomes a block mapping. Lists and
 *   mappings are written in block style, indented like the rest of the file.
 * - `delete` removes the key's line(s) and its whole value block, comment lines directly below it
 *   that are indented deeper than the key (they are part of its block), and the comment attached
 *   above it: the run of comment-only lines directly above the key, at the key's indentation, with
 *   no blank line between. A comment run starting at the top of the file is a file header and is
 *   kept. When the removed lines sit between two blank lines (or at the top of the file), one of
 *   the blank lines goes too, so no double gap is left. Deleting a missing key changes nothing.
 *   Deleting the last key of a nested mapping leaves `parent: {}`, so the parent stays a mapping
 *   (an empty value would read as null).
 * - Strings are written plain unless YAML 1.1 or 1.2 would read them as something else (`yes`,
 *   `0o17`, `1:20`, `a: b`), then double-quoted; multi-line strings are double-quoted on one line.
 * - Mappings in flow style (`{a: 1}`) can have existing values replaced but not keys added or
 *   removed; that, an anchored value, a path through a non-mapping, or an unparsable file is an
 *   EditError naming the key path and line:col.
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parse,
  parseAllDocuments,
  type Scalar,
  stringify,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import type { YamlOp } from '../kind.js';
import { EditError } from './edit-error.js';
import { afterLine, applySplices, eolOf, lineColAt, lineContentEnd, lineStart, type Splice } from './text.js';

/**
 * Applies set/delete operations to a YAML file's text, in order, with a minimal diff.
 * Example: `applyYamlOps('a: 1\n', [{ op: 'set', key: 'db.holdLock', value: true, comment: 'wait for hold.lock' }])`
 * returns `'a: 1\n# wait for hold.lock\ndb.holdLock: true\n'`.
 */
export function applyYamlOps(before: string, ops: readonly YamlOp[]): string {
  let text = before;
  for (const op of ops) {
    text = op.op === 'set' ? setKey(text, op.key, op.value, op.comment) : deleteKey(text, op.key);
    checkResult(text, op);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Loading and walking

type Parsed = Document.Parsed;

interface Loaded {
  text: string;
  doc: Parsed | undefined;
  keyPath: string;
  eol: string;
}

function fail(loaded: Pick<Loaded, 'text' | 'keyPath'>, message: string, at?: number): never {
  if (at === undefined)
    throw new EditError(`yaml key "${loaded.keyPath}": ${message}`, {
      editor: 'yaml',
      target: loaded.keyPath,
    });
  const { line, col } = lineColAt(loaded.text, at);
  throw new EditError(`yaml key "${loaded.keyPath}" (line ${line}:${col}): ${message}`, {
    editor: 'yaml',
    target: loaded.keyPath,
    line,
    col,
  });
}

function load(text: string, keyPath: string): Loaded {
  const loaded: Loaded = { text, doc: undefined, keyPath, eol: eolOf(text) };
  const docs = parseAllDocuments(text);
  if (docs.length > 1) {
    fail(
      loaded,
      'the file holds several YAML documents (---); cutover edits single-document files only',
      docs[1]?.range[0],
    );
  }
  const doc = docs[0];
  const error = doc?.errors[0];
  if (error) {
    const { line, col } = error.linePos?.[0] ?? { line: 1, col: 1 };
    const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new EditError(
      `yaml key "${keyPath}": the file is not valid YAML at line ${line}:${col}: ${what}. Fix the file on the host first; nothing was changed.`,
      { editor: 'yaml', target: keyPath, line, col },
    );
  }
  loaded.doc = doc;
  return loaded;
}

function splitPath(keyPath: string): string[] {
  const segments = keyPath.split('/');
  if (keyPath === '' || segments.some((s) => s === '')) {
    throw new EditError(
      `yaml key "${keyPath}": expected keys separated by "/" with no empty part, e.g. "db.holdLock" or "log/level"`,
      { editor: 'yaml', target: keyPath },
    );
  }
  return segments;
}

function keyText(pair: Pair): string | undefined {
  const key = pair.key;
  return isScalar(key) && key.value !== null ? String(key.value) : undefined;
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) return node.value === null ? 'an empty value' : `a ${typeof node.value}`;
  return 'an unsupported node';
}

function isEmptyValue(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  if (isScalar(node)) return node.value === null;
  return isMap(node) && node.flow === true && node.items.length === 0;
}

/** Where a key path leads in the document. */
type Located =
  | { kind: 'found'; map: YAMLMap; pair: Pair; parent: Pair | undefined }
  /** `segments[depth]` is missing from `map`. */
  | { kind: 'missing-in-map'; map: YAMLMap; depth: number }
  /** `pair` (holding `segments[depth - 1]`) has an empty value under which the rest is missing. */
  | { kind: 'missing-under-empty'; map: YAMLMap; pair: Pair; depth: number }
  /** The document has no content at all. */
  | { kind: 'empty-document' };

function locate(loaded: Loaded, segments: readonly string[]): Located {
  let node: unknown = loaded.doc?.contents ?? null;
  if (isEmptyValue(node) && !isMap(node)) return { kind: 'empty-document' };
  let parent: { map: YAMLMap; pair: Pair } | undefined;
  for (let depth = 0; depth < segments.length; depth++) {
    if (parent && isEmptyValue(node)) return { kind: 'missing-under-empty', ...parent, depth };
    if (!isMap(node)) {
      const through = segments.slice(0, depth).join('/') || 'the document root';
      const at = (node as Node | null)?.range?.[0];
      fail(
        loaded,
        `${through} is ${describeNode(node)}, not a mapping, so it has no key "${segments[depth]}". Check the key path against the file.`,
        at,
      );
    }
    const index = node.items.findIndex((p) => keyText(p) === segments[depth]);
    if (index === -1) return { kind: 'missing-in-map', map: node, depth };
    const pair = node.items[index]!;
    if (depth === segments.length - 1) return { kind: 'found', map: node, pair, parent: parent?.pair };
    parent = { map: node, pair };
    node = pair.value;
  }
  throw new Error('unreachable: locate walked past the key path');
}

// ---------------------------------------------------------------------------------------------
// Positions

function columnOf(text: string, pos: number): number {
  return pos - lineStart(text, pos);
}

function startOf(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** Offset just past the last character that belongs to a node (trailing blank lines excluded). */
function contentEnd(text: string, node: Node): number {
  if (isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')) {
    let end = node.range![1];
    while (end > node.range![0] && /\s/.test(text[end - 1]!)) end--;
    return end;
  }
  if ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0) {
    const last = node.items[node.items.length - 1];
    if (isPair(last)) return pairEnd(text, last);
    return contentEnd(text, last as Node);
  }
  return node.range![1];
}

function pairEnd(text: string, pair: Pair): number {
  if (pair.value) return contentEnd(text, pair.value as Node);
  return (pair.key as Node).range![1];
}

/** Extends a line-start offset over following comment-only lines indented deeper than `column`. */
function overDeeperComments(text: string, pos: number, column: number): number {
  let at = pos;
  while (at < text.length) {
    const line = text.slice(at, lineContentEnd(text, at));
    const indent = line.length - line.trimStart().length;
    if (!line.trimStart().startsWith('#') || indent <= column) break;
    at = afterLine(text, at);
  }
  return at;
}

function isBlankLine(text: string, start: number): boolean {
  return start < text.length && text.slice(start, lineContentEnd(text, start)).trim() === '';
}

/** Offset of the ':' that separates a block mapping key from its value. */
function colonAfterKey(loaded: Loaded, pair: Pair): number {
  const keyEnd = (pair.key as Node).range![1];
  const colon = loaded.text.indexOf(':', keyEnd);
  if (colon === -1) fail(loaded, 'cannot find the ":" after the key', keyEnd);
  return colon;
}

function isBlockCollection(node: unknown): node is YAMLMap | YAMLSeq {
  return (isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0;
}

function isBlockScalar(node: unknown): node is Scalar {
  return isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED');
}

interface IndentStyle {
  /** Columns a nested mapping is indented by under its key. */
  map: number;
  /** Columns a block list's `-` is indented by under its key (0 for `key:\n- a`). */
  seq: number;
}

/** The indentation the file already uses for nested mappings and lists (default 2 and 2). */
function indentStyle(loaded: Loaded): IndentStyle {
  let map: number | undefined;
  let seq: number | undefined;
  const visit = (node: unknown): void => {
    if (isSeq(node)) node.items.forEach(visit);
    if (!isMap(node) || node.flow) return;
    for (const pair of node.items) {
      const keyStart = startOf(pair.key);
      const value = pair.value;
      if (keyStart !== undefined && isBlockCollection(value)) {
        const first = isMap(value) ? startOf(value.items[0]?.key) : startOf(value);
        if (first !== undefined) {
          const delta = columnOf(loaded.text, first) - columnOf(loaded.text, keyStart);
          if (isMap(value) && map === undefined && delta > 0) map = delta;
          if (isSeq(value) && seq === undefined && delta >= 0) seq = delta;
        }
      }
      visit(value);
    }
  };
  visit(loaded.doc?.contents);
  return { map: map ?? 2, seq: seq ?? map ?? 2 };
}

// ---------------------------------------------------------------------------------------------
// Rendering values

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How a value is written: on the key's line, or as a block of lines below it at a column. */
type Rendering = { inline: string } | { kind: 'map' | 'seq'; block: (column: number) => string[] };

function checkValue(
  loaded: Pick<Loaded, 'text' | 'keyPath'>,
  value: unknown,
  where = 'the value',
): asserts value is Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number')
    return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkValue(loaded, item, `${where}[${i}]`);
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const [k, v] of Object.entries(value)) checkValue(loaded, v, `${where}.${k}`);
      return;
    }
    // Never print the value itself: it may be a Secret.
    fail(
      loaded,
      `${where} is a ${proto?.constructor?.name ?? 'object'}; expected a string, number, boolean, null, list or mapping (render templates before editing)`,
    );
  }
  fail(
    loaded,
    `${where} is ${value === undefined ? 'missing' : `a ${typeof value}`}; expected a string, number, boolean, null, list or mapping`,
  );
}

function renderString(value: string, quote?: Scalar.Type): string {
  if (quote === 'QUOTE_SINGLE' && !/[\r\n]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  if (quote !== 'QUOTE_DOUBLE' && value !== '<<') {
    const plain = stringify(value, { version: '1.1', lineWidth: 0 }).replace(/\n$/, '');
    const readsBack = (version: '1.1' | '1.2') => {
      try {
        return parse(plain, { version }) === value;
      } catch {
        return false;
      }
    };
    if (!plain.includes('\n') && readsBack('1.1') && readsBack('1.2')) return plain;
  }
  return stringify(value, { defaultStringType: 'QUOTE_DOUBLE', lineWidth: 0 }).replace(/\n$/, '');
}

function renderScalar(value: null | boolean | number | string, quote?: Scalar.Type): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return String(value);
  }
  return renderString(value, quote);
}

function pad(column: number): string {
  return ' '.repeat(column);
}

function render(value: Json, style: IndentStyle, quote?: Scalar.Type): Rendering {
  if (Array.isArray(value)) {
    if (value.length === 0) return { inline: '[]' };
    return {
      kind: 'seq',
      block: (column) =>
        value.flatMap((item) => {
          const r = render(item, style);
          if ('inline' in r) return [`${pad(column)}- ${r.inline}`];
          // Render the item two columns in, then put the dash on its first line.
          const lines = r.block(column + 2);
          return [`${pad(column)}- ${lines[0]!.slice(column + 2)}`, ...lines.slice(1)];
        }),
    };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return { inline: '{}' };
    return {
      kind: 'map',
      block: (column) => entries.flatMap(([k, v]) => renderEntry([k], v, undefined, column, style)),
    };
  }
  return { inline: renderScalar(value, quote) };
}

/** Lines for `keys[0]: keys[1]: ... : value`, nested as block mappings, with `comment` above the last key. */
function renderEntry(
  keys: readonly string[],
  value: Json,
  comment: string | undefined,
  column: number,
  style: IndentStyle,
): string[] {
  const lines: string[] = [];
  for (const [i, key] of keys.slice(0, -1).entries())
    lines.push(`${pad(column + i * style.map)}${renderString(key)}:`);
  const leafColumn = column + (keys.length - 1) * style.map;
  if (comment !== undefined) {
    for (const line of comment.split(/\r?\n/))
      lines.push(`${pad(leafColumn)}#${line === '' ? '' : ` ${line}`}`);
  }
  const leafKey = renderString(keys[keys.length - 1]!);
  const r = render(value, style);
  if ('inline' in r) {
    lines.push(`${pad(leafColumn)}${leafKey}: ${r.inline}`);
  } else {
    lines.push(`${pad(leafColumn)}${leafKey}:`);
    lines.push(...r.block(leafColumn + (r.kind === 'seq' ? style.seq : style.map)));
  }
  return lines;
}

/** Inserts whole lines at a line-start offset, keeping a missing final newline missing. */
function insertLines(text: string, at: number, lines: readonly string[], eol: string): Splice {
  if (at === text.length && text.length > 0 && !text.endsWith('\n')) {
    return { start: at, end: at, insert: eol + lines.join(eol) };
  }
  return { start: at, end: at, insert: lines.map((l) => l + eol).join('') };
}

// ---------------------------------------------------------------------------------------------
// set

function setKey(text: string, keyPath: string, value: unknown, comment: string | undefined): string {
  const segments = splitPath(keyPath);
  checkValue({ text, keyPath }, value);
  const loaded = load(text, keyPath);
  const style = indentStyle(loaded);
  const where = locate(loaded, segments);
  switch (where.kind) {
    case 'found': {
      const old = where.pair.value as Node | null;
      if (old && !isAlias(old) && old.anchor) {
        fail(
          loaded,
          `the value has an anchor (&${old.anchor}) other keys may refer to; edit it by hand`,
          old.range![0],
        );
      }
      const current = old ? old.toJS(loaded.doc!) : null;
      if (deepEqual(current, value)) return text;
      if (where.map.flow && !('inline' in render(value, style))) {
        fail(
          loaded,
          'cannot write a block list or mapping inside a flow mapping ({ ... }); rewrite it in block style',
          startOf(where.pair.key),
        );
      }
      const quote = isScalar(old) ? old.type : undefined;
      return applySplices(text, replaceValue(loaded, where.pair, render(value, style, quote), style));
    }
    case 'missing-under-empty': {
      if (where.map.flow) {
        fail(
          loaded,
          'cannot write a block mapping inside a flow mapping ({ ... }); rewrite it in block style',
          startOf(where.pair.key),
        );
      }
      const rest = segments.slice(where.depth);
      const rendering: Rendering = {
        kind: 'map',
        block: (column) => renderEntry(rest, value, comment, column, style),
      };
      return applySplices(text, replaceValue(loaded, where.pair, rendering, style));
    }
    case 'missing-in-map': {
      const { map } = where;
      if (map.flow) {
        fail(loaded, 'cannot add a key to a flow mapping ({ ... }); rewrite it in block style', startOf(map));
      }
      const column = columnOf(text, startOf(map.items[0]!.key)!);
      const lines = renderEntry(segments.slice(where.depth), value, comment, column, style);
      const at = afterLine(text, contentEnd(text, map));
      return applySplices(text, [insertLines(text, at, lines, loaded.eol)]);
    }
    case 'empty-document': {
      const lines = renderEntry(segments, value, comment, 0, style);
      return applySplices(text, [insertLines(text, text.length, lines, loaded.eol)]);
    }
  }
}

/** Splices that replace a pair's value by a rendering, leaving the key line and its comment. */
function replaceValue(loaded: Loaded, pair: Pair, rendering: Rendering, style: IndentStyle): Splice[] {
  const { text } = loaded;
  const old = pair.value as Node | null;
  const colon = colonAfterKey(loaded, pair);
  const keyColumn = columnOf(text, startOf(pair.key)!);
  const splices: Splice[] = [];

  // The value's text on the key line, and the lines of its block below, if any.
  let inline: { start: number; end: number };
  let block: { start: number; end: number; column: number; kind: 'map' | 'seq' } | undefined;
  if (isBlockCollection(old)) {
    inline = { start: colon + 1, end: colon + 1 };
    const first = old.range![0];
    const start = lineStart(text, first);
    block = {
      start,
      end: overDeeperComments(text, afterLine(text, contentEnd(text, old)), keyColumn),
      column: columnOf(text, first),
      kind: isMap(old) ? 'map' : 'seq',
    };
  } else if (isBlockScalar(old)) {
    const header = old.range![0];
    inline = { start: header, end: lineContentEnd(text, header) };
    const start = afterLine(text, header);
    block = { start, end: afterLine(text, contentEnd(text, old)), column: -1, kind: 'map' };
  } else if (old?.range) {
    inline = { start: old.range[0], end: old.range[1] };
  } else {
    inline = { start: colon + 1, end: colon + 1 };
  }

  if ('inline' in rendering) {
    if (inline.start < inline.end) {
      splices.push({ ...inline, insert: rendering.inline });
    } else {
      const at = inline.start;
      const spaced = text[at - 1] === ':' ? ` ${rendering.inline}` : rendering.inline;
      splices.push({ start: at, end: at, insert: text[at] === '#' ? `${spaced} ` : spaced });
    }
    if (block) splices.push({ start: block.start, end: block.end, insert: '' });
    return splices;
  }

  // A block value: clear the key line after the colon (keeping a trailing comment), then write the lines.
  if (inline.start < inline.end) {
    // `key: 1  # why` becomes `key: # why`: one space before a kept comment.
    let end = inline.end;
    while (text[end] === ' ' || text[end] === '\t') end++;
    splices.push({ start: colon + 1, end, insert: text[end] === '#' ? ' ' : '' });
  }
  const column =
    block && block.column >= 0 && block.kind === rendering.kind
      ? block.column
      : keyColumn + (rendering.kind === 'seq' ? style.seq : style.map);
  const lines = rendering.block(column);
  if (block) {
    splices.push({ start: block.start, end: block.end, insert: lines.map((l) => l + loaded.eol).join('') });
  } else {
    const at = afterLine(text, Math.max(inline.end, colon));
    splices.push(insertLines(text, at, lines, loaded.eol));
  }
  return splices;
}

// ---------------------------------------------------------------------------------------------
// delete

function deleteKey(text: string, keyPath: string): string {
  const segments = splitPath(keyPath);
  const loaded = load(text, keyPath);
  const where = locate(loaded, segments);
  if (where.kind !== 'found') return text;
  const { map, pair, parent } = where;
  if (map.flow) {
    fail(
      loaded,
      'cannot remove a key from a flow mapping ({ ... }); rewrite it in block style',
      startOf(pair.key),
    );
  }
  const keyStart = startOf(pair.key)!;
  const keyLine = lineStart(text, keyStart);
  const end = pairEnd(text, pair);

  if (text.slice(keyLine, keyStart).trim() !== '') {
    // Key paths never enter lists, so this is a `? key` or `--- key:` layout only.
    fail(loaded, 'the key shares its line with other YAML; delete it by hand', keyStart);
  }

  const keyColumn = keyStart - keyLine;
  let start = keyLine;
  let stop = overDeeperComments(text, afterLine(text, end), keyColumn);
  // The attached comment: comment-only lines right above, at the key's indentation.
  let above = start;
  while (above > 0) {
    const prev = lineStart(text, above - 1);
    const line = text.slice(prev, lineContentEnd(text, prev));
    if (!line.trimStart().startsWith('#') || line.length - line.trimStart().length !== keyColumn) break;
    above = prev;
  }
  if (above > 0) start = above; // a run reaching the top of the file is the file's header: keep it
  const blankBefore = start === 0 || isBlankLine(text, lineStart(text, start - 1));
  if (blankBefore && isBlankLine(text, stop)) stop = afterLine(text, stop);
  if (stop === text.length && !text.endsWith('\n') && start > 0) {
    // The file has no final newline: drop the one before the removed lines instead.
    start -= text[start - 2] === '\r' ? 2 : 1;
  }
  const splices: Splice[] = [{ start, end: stop, insert: '' }];
  if (parent && map.items.length === 1)
    splices.push({
      start: colonAfterKey(loaded, parent) + 1,
      end: colonAfterKey(loaded, parent) + 1,
      insert: ' {}',
    });
  return applySplices(text, splices);
}

// ---------------------------------------------------------------------------------------------
// Checks

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every(
        (k) =>
          Object.hasOwn(b, k) &&
          deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return false;
}

/** Re-reads the result: it must parse and hold exactly what the op asked for, or this module has a bug. */
function checkResult(text: string, op: YamlOp): void {
  const bug = (what: string) =>
    new EditError(
      `yaml key "${op.key}": the edit produced ${what}; nothing was written. This is a bug in cutover, please report it with the file's layout.`,
      { editor: 'yaml', target: op.key },
    );
  const docs = parseAllDocuments(text);
  if (docs.length > 1 || docs[0]?.errors.length) throw bug('invalid YAML');
  let node: unknown = docs[0]?.toJS() ?? null;
  const segments = op.key.split('/');
  for (const [i, segment] of segments.entries()) {
    const found =
      node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, segment);
    if (!found) {
      if (op.op === 'delete') return;
      throw bug(`a document without the key (missing "${segments.slice(0, i + 1).join('/')}")`);
    }
    node = (node as Record<string, unknown>)[segment];
  }
  if (op.op === 'delete') throw bug('a document that still has the key');
  if (!deepEqual(node, op.value)) throw bug('a different value than requested');
}

/**
 * An XML attribute set by offsets, with the rules an operator reads the diff by:
 * - The file is scanned, never re-serialised: only the attribute's value (or one ` name="value"`
 *   added after the element's last attribute) changes; every other byte is kept.
 * - The element is named by a path of element names from the root, each with optional
 *   `[@attr='value']` conditions (`Server/Service/Connector[@port='8080']`), or with a leading `//`
 *   from anywhere (`//Connector[@protocol='AJP/1.3']`). Exactly one element must match: none or
 *   several is an error that names the lines, never a guess.
 * - Values are compared decoded (`&amp;` is `&`) and written escaped in the attribute's own quotes.
 * - What a scanner cannot read safely is refused: a DOCTYPE with an internal subset (it may define
 *   entities), an unknown entity, an unterminated tag, comment or attribute.
 */
import type { TextOp } from '../kind.js';
import { EditError } from './edit-error.js';
import { applySplices, lineColAt } from './text.js';

interface Attribute {
  name: string;
  /** Offsets of the value between its quotes. */
  valueStart: number;
  valueEnd: number;
  quote: '"' | "'";
}

interface Element {
  name: string;
  /** Names from the root down to this element. */
  path: string[];
  start: number;
  attributes: Attribute[];
  /** Offset just past the name or the last attribute, where a new attribute goes. */
  insertAt: number;
}

interface Step {
  name: string;
  conditions: { attribute: string; value: string }[];
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;

function fail(message: string, target: string, text?: string, pos?: number): never {
  const at = text !== undefined && pos !== undefined ? lineColAt(text, pos) : undefined;
  throw new EditError(`xml ${message}${at ? ` (line ${at.line}:${at.col})` : ''}`, {
    editor: 'text',
    target,
    ...(at ? { line: at.line, col: at.col } : {}),
  });
}

/** The path as steps. Example: `Server/Connector[@port='8080']` -> [{ name: 'Server' }, { name: 'Connector', conditions: [port=8080] }]. */
export function parseElementPath(path: string): { anywhere: boolean; steps: Step[] } {
  const anywhere = path.startsWith('//');
  const body = anywhere ? path.slice(2) : path.replace(/^\//, '');
  const steps: Step[] = [];
  const re =
    /([A-Za-z_:][-A-Za-z0-9_:.]*)((?:\[@[A-Za-z_:][-A-Za-z0-9_:.]*=(?:'[^']*'|"[^"]*")\])*)(?:\/|$)/y;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m || m[0] === '')
      fail(
        `element path "${path}": expected names split by /, each with optional [@attr='value'] conditions, e.g. Server/Service/Connector[@port='8080']`,
        path,
      );
    const conditions = [...(m[2] as string).matchAll(/\[@([^=]+)=(?:'([^']*)'|"([^"]*)")\]/g)].map((c) => ({
      attribute: c[1] as string,
      value: c[2] ?? (c[3] as string),
    }));
    steps.push({ name: m[1] as string, conditions });
    pos = re.lastIndex;
  }
  if (steps.length === 0) fail(`element path "${path}" names no element`, path);
  return { anywhere, steps };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, target: string, text: string, pos: number): string {
  return raw.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) fail('a bare & in an attribute value', target, text, pos);
    if (name in ENTITIES) return ENTITIES[name] as string;
    const code = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(name);
    if (code) return String.fromCodePoint(code[1] ? Number.parseInt(code[1], 16) : Number(code[2]));
    return fail(`unknown entity &${name}; (defined by a DTD cutover does not read)`, target, text, pos);
  });
}

function escapeAttr(value: string, quote: '"' | "'"): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(quote === '"' ? /"/g : /'/g, quote === '"' ? '&quot;' : '&apos;');
}

/** Every element's start tag, in document order. */
function scan(text: string, target: string): Element[] {
  const out: Element[] = [];
  const stack: string[] = [];
  let i = 0;
  const until = (end: string, from: number, what: string): number => {
    const at = text.indexOf(end, from);
    if (at === -1) fail(`unterminated ${what}`, target, text, from);
    return at + end.length;
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt === -1) break;
    if (text.startsWith('<!--', lt)) i = until('-->', lt + 4, 'comment');
    else if (text.startsWith('<![CDATA[', lt)) i = until(']]>', lt + 9, 'CDATA section');
    else if (text.startsWith('<?', lt)) i = until('?>', lt + 2, 'processing instruction');
    else if (text.startsWith('<!DOCTYPE', lt)) {
      const end = until('>', lt, 'DOCTYPE');
      if (text.slice(lt, end).includes('['))
        fail(
          'DOCTYPE with an internal subset (it may define entities): edit this file by hand',
          target,
          text,
          lt,
        );
      i = end;
    } else if (text.startsWith('<!', lt)) fail('unexpected <! declaration', target, text, lt);
    else if (text[lt + 1] === '/') {
      NAME.lastIndex = lt + 2;
      const m = NAME.exec(text);
      if (!m || stack[stack.length - 1] !== m[0])
        fail(`end tag does not close <${stack[stack.length - 1] ?? '(nothing)'}>`, target, text, lt);
      stack.pop();
      i = until('>', lt, 'end tag');
    } else {
      NAME.lastIndex = lt + 1;
      const m = NAME.exec(text);
      if (!m) fail('expected an element name after <', target, text, lt);
      const name = (m as RegExpExecArray)[0];
      let pos = NAME.lastIndex;
      const attributes: Attribute[] = [];
      let insertAt = pos;
      for (;;) {
        const ws = /[ \t\r\n]*/y;
        ws.lastIndex = pos;
        ws.exec(text);
        const spaced = ws.lastIndex > pos;
        pos = ws.lastIndex;
        if (text.startsWith('/>', pos) || text[pos] === '>') break;
        NAME.lastIndex = pos;
        const a = spaced ? NAME.exec(text) : null;
        if (!a) fail(`expected an attribute or the end of <${name}>`, target, text, pos);
        const eq = /[ \t\r\n]*=[ \t\r\n]*(["'])/y;
        eq.lastIndex = NAME.lastIndex;
        const q = eq.exec(text);
        if (!q) fail(`expected ="value" after attribute ${(a as RegExpExecArray)[0]}`, target, text, pos);
        const quote = (q as RegExpExecArray)[1] as '"' | "'";
        const valueStart = eq.lastIndex;
        const valueEnd = text.indexOf(quote, valueStart);
        if (valueEnd === -1 || text.slice(valueStart, valueEnd).includes('<'))
          fail('unterminated attribute value', target, text, valueStart);
        const attrName = (a as RegExpExecArray)[0];
        if (attributes.some((x) => x.name === attrName))
          fail(`attribute ${attrName} written twice`, target, text, pos);
        attributes.push({ name: attrName, valueStart, valueEnd, quote });
        pos = valueEnd + 1;
        insertAt = pos;
      }
      const selfClosing = text.startsWith('/>', pos);
      if (stack.length === 0 && out.some((e) => e.path.length === 1))
        fail('a second root element', target, text, lt);
      out.push({ name, path: [...stack, name], start: lt, attributes, insertAt });
      if (!selfClosing) stack.push(name);
      i = pos + (selfClosing ? 2 : 1);
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]}> is never closed`, target);
  return out;
}

function matches(
  el: Element,
  path: { anywhere: boolean; steps: Step[] },
  parents: ReadonlyMap<Element, Element[]>,
  text: string,
  target: string,
): boolean {
  const { steps } = path;
  if (path.anywhere ? el.path.length < steps.length : el.path.length !== steps.length) return false;
  const names = el.path.slice(el.path.length - steps.length);
  if (!steps.every((s, k) => s.name === names[k])) return false;
  // Conditions hold on this element and on the ancestors the path names.
  const chain = [...(parents.get(el) ?? []), el].slice(-steps.length);
  return steps.every((s, k) =>
    s.conditions.every((c) => {
      const a = chain[k]?.attributes.find((x) => x.name === c.attribute);
      return (
        a !== undefined &&
        decode(text.slice(a.valueStart, a.valueEnd), target, text, a.valueStart) === c.value
      );
    }),
  );
}

/**
 * Sets one attribute of the one element the path names.
 * Example: `setXmlAttribute('<Server><Connector port="8080"/></Server>', { op: 'xml', element: 'Server/Connector', attribute: 'port', value: '8081' })` -> `'<Server><Connector port="8081"/></Server>'`.
 */
export function setXmlAttribute(text: string, op: Extract<TextOp, { op: 'xml' }>): string {
  const target = `${op.element}@${op.attribute}`;
  if (!/^[A-Za-z_:][-A-Za-z0-9_:.]*$/.test(op.attribute))
    fail(`"${op.attribute}" is not an attribute name`, target);
  const path = parseElementPath(op.element);
  const elements = scan(text, target);
  // Ancestors by nesting: each element's parents are the open elements before it with a shorter path.
  const parents = new Map<Element, Element[]>();
  const open: Element[] = [];
  for (const el of elements) {
    open.length = el.path.length - 1;
    parents.set(el, [...open]);
    open.push(el);
  }
  const found = elements.filter((el) => matches(el, path, parents, text, target));
  if (found.length === 0) fail(`no element matches ${op.element}`, target);
  if (found.length > 1)
    fail(
      `${found.length} elements match ${op.element} (lines ${found.map((e) => lineColAt(text, e.start).line).join(', ')}): add a condition such as [@port='8080'] so it names one`,
      target,
    );
  const el = found[0] as Element;
  const existing = el.attributes.find((a) => a.name === op.attribute);
  if (existing) {
    const current = decode(
      text.slice(existing.valueStart, existing.valueEnd),
      target,
      text,
      existing.valueStart,
    );
    if (current === op.value) return text;
    return applySplices(text, [
      { start: existing.valueStart, end: existing.valueEnd, insert: escapeAttr(op.value, existing.quote) },
    ]);
  }
  return applySplices(text, [
    { start: el.insertAt, end: el.insertAt, insert: ` ${op.attribute}="${escapeAttr(op.value, '"')}"` },
  ]);
}

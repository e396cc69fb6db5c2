/**
 * `key=value` set in .properties, .ini and .env files, with the rules an operator reads the diff by:
 * - Only the value's text changes: the key, its separator and spacing (`key = v`, `key: v`), an
 *   inline comment (ini `; x`, env `# x`) and the quotes of a quoted env value are kept, and so is
 *   every other byte (comments, order, blank lines, CRLF, a missing final newline).
 * - The value is written as given, as the raw text after the separator (no escaping).
 * - A key that is not there is added: at the end of the file, or after the last entry of its ini
 *   section (a missing section is added at the end), written with the separator its neighbours use.
 * - Commented-out keys (`#key=…`) do not count. A key written twice, a value continued with `\`
 *   (properties) and a key without a value (ini `skip-name-resolve`) are refused, never guessed.
 */
import type { KeyValueFormat, TextOp } from '../kind.js';
import { EditError } from './edit-error.js';
import { linesOf } from './lines.js';
import { applySplices, eolOf, type Splice } from './text.js';

/** One `key=value` line. Offsets index the file; `valueStart..valueEnd` is the text `set` replaces. */
interface Entry {
  key: string;
  /** The ini section it is in ('' before the first header). */
  section: string;
  line: number;
  lineStart: number;
  lineEnd: number;
  /** The separator as written, spaces included (`=`, ` = `, `: `); undefined for a key with no value. */
  separator?: string;
  valueStart: number;
  valueEnd: number;
  /** The quote around an env value, if any. */
  quote?: '"' | "'";
  /** A properties value continued on the next line. */
  continued: boolean;
}

interface Parsed {
  entries: Entry[];
  /** ini section headers: name -> offset just past its line, and the line's number. */
  sections: Map<string, { after: number; line: number }>;
}

const COMMENT: Record<KeyValueFormat, RegExp> = {
  properties: /^[#!]/,
  ini: /^[;#]/,
  env: /^#/,
};

/** The entries of a file in a dialect. Example: `parseKeyValues('a=1\n', 'properties').entries[0].key === 'a'`. */
function parseKeyValues(text: string, format: KeyValueFormat): Parsed {
  const entries: Entry[] = [];
  const sections = new Map<string, { after: number; line: number }>();
  let section = '';
  let continuation = false;
  const lines = linesOf(text);
  for (const [i, line] of lines.entries()) {
    const content = text.slice(line.start, line.end);
    const wasContinued = continuation;
    continuation = format === 'properties' && /(?:^|[^\\])(?:\\\\)*\\$/.test(content);
    if (wasContinued) continue; // the rest of the value above
    const indent = /^[ \t\f]*/.exec(content)?.[0].length ?? 0;
    const body = content.slice(indent);
    if (body === '' || COMMENT[format].test(body)) {
      continuation = false;
      continue;
    }
    if (format === 'ini') {
      const header = /^\[([^\]]*)\]\s*(?:[;#].*)?$/.exec(body);
      if (header) {
        section = (header[1] as string).trim();
        if (!sections.has(section))
          sections.set(section, { after: lines[i + 1]?.start ?? text.length, line: line.number });
        continue;
      }
    }
    const at = line.start + indent;
    const entry = entryOf(body, format);
    const next: Entry = {
      key: entry.key,
      section,
      line: line.number,
      lineStart: line.start,
      lineEnd: line.end,
      valueStart: at + entry.valueStart,
      valueEnd: at + entry.valueEnd,
      continued: continuation,
    };
    if (entry.separator !== undefined) next.separator = entry.separator;
    if (entry.quote !== undefined) next.quote = entry.quote;
    entries.push(next);
  }
  return { entries, sections };
}

/** Key, separator and value span of one line's text (indent removed). */
function entryOf(
  body: string,
  format: KeyValueFormat,
): { key: string; separator?: string; valueStart: number; valueEnd: number; quote?: '"' | "'" } {
  if (format === 'properties') {
    // The key ends at the first unescaped =, : or blank; the separator is blanks around one = or :.
    const m = /^((?:\\.|[^\\=:\s])*)([ \t\f]*[=:]?[ \t\f]*)/.exec(body) as RegExpExecArray;
    const key = m[1] as string;
    const separator = m[2] as string;
    const valueStart = key.length + separator.length;
    return { key, separator, valueStart, valueEnd: body.length };
  }
  const prefix = format === 'env' ? (/^export[ \t]+/.exec(body)?.[0] ?? '') : '';
  const rest = body.slice(prefix.length);
  const m = /^([^=:]*?)([ \t]*[=:][ \t]*)/.exec(format === 'env' ? rest.replace(/:/g, '\0') : rest);
  if (!m) {
    const key = rest.replace(/\s*(?:[;#].*)?$/, '');
    return { key, valueStart: body.length, valueEnd: body.length };
  }
  const key = (m[1] as string).trim();
  const separator = m[2] as string;
  const start = prefix.length + (m[1] as string).length + separator.length;
  const value = body.slice(start);
  if (format === 'env' && (value[0] === '"' || value[0] === "'")) {
    const quote = value[0] as '"' | "'";
    const close = value.indexOf(quote, 1);
    if (close > 0) return { key, separator, valueStart: start + 1, valueEnd: start + close, quote };
  }
  // An inline comment starts at a blank followed by ; or # (ini) or # (env).
  const comment = (format === 'ini' ? /[ \t]+[;#]/ : /[ \t]+#/).exec(value);
  const text = comment ? value.slice(0, comment.index) : value.replace(/[ \t]+$/, '');
  return { key, separator, valueStart: start, valueEnd: start + text.length };
}

/**
 * Sets a key's value, keeping everything else byte-identical.
 * Example: `setKeyValue('# db\nport = 8080\n', { op: 'set', format: 'properties', key: 'port', value: '8081' })` -> `'# db\nport = 8081\n'`.
 */
export function setKeyValue(text: string, op: Extract<TextOp, { op: 'set' }>): string {
  const section = op.section ?? '';
  const where = section === '' ? '' : ` in [${section}]`;
  const target = `${section === '' ? '' : `${section}/`}${op.key}`;
  const fail = (message: string, line?: number): never => {
    throw new EditError(`${op.format} key "${target}"${line ? ` (line ${line})` : ''}: ${message}`, {
      editor: 'text',
      target,
      ...(line ? { line } : {}),
    });
  };
  if (/[\r\n]/.test(op.value)) fail('the value holds a line break; write one line');
  const parsed = parseKeyValues(text, op.format);
  const found = parsed.entries.filter((e) => e.key === op.key && e.section === section);
  if (found.length > 1)
    fail(
      `written ${found.length} times${where} (lines ${found.map((e) => e.line).join(', ')}); cutover does not guess which one counts: remove the extra ones first`,
    );
  const entry = found[0];
  if (entry) {
    if (entry.separator === undefined || entry.separator === '')
      fail(`has no value${where} to set (a bare key); write the line by hand`, entry.line);
    if (entry.continued)
      fail('its value goes on over several lines (ends with \\); edit it by hand', entry.line);
    if (entry.quote && op.value.includes(entry.quote))
      fail(`its value is quoted with ${entry.quote} and the new value holds one`, entry.line);
    if (text.slice(entry.valueStart, entry.valueEnd) === op.value) return text;
    return applySplices(text, [{ start: entry.valueStart, end: entry.valueEnd, insert: op.value }]);
  }
  const eol = eolOf(text);
  const inSection = parsed.entries.filter((e) => e.section === section);
  const separator = inSection.filter((e) => e.separator).at(-1)?.separator ?? '=';
  const line = `${op.key}${separator}${op.value}`;
  if (op.format === 'ini' && section !== '') {
    const header = parsed.sections.get(section);
    if (!header) return appendLines(text, [`[${section}]`, line], eol);
    const last = inSection.at(-1);
    const at = last ? afterTerminator(text, last.lineEnd) : header.after;
    return insertLine(text, at, line, eol);
  }
  if (op.format === 'ini' && parsed.sections.size > 0) {
    const last = inSection.at(-1);
    if (!last)
      fail(
        'is not in the file and the file has no key before its first [section] to put it after; name the section (section/key)',
      );
    return insertLine(text, afterTerminator(text, (last as Entry).lineEnd), line, eol);
  }
  return appendLines(text, [line], eol);
}

/** The offset just past the terminator at `lineEnd` (or the end of the text). */
function afterTerminator(text: string, lineEnd: number): number {
  if (text.startsWith('\r\n', lineEnd)) return lineEnd + 2;
  if (text[lineEnd] === '\n') return lineEnd + 1;
  return lineEnd;
}

/** A line inserted at a line start `at`; at the very end of a file without a final newline, it goes on a new line and the file still ends without one. */
function insertLine(text: string, at: number, line: string, eol: string): string {
  if (at === text.length) return appendLines(text, [line], eol);
  const splice: Splice = { start: at, end: at, insert: `${line}${eol}` };
  return applySplices(text, [splice]);
}

/** Lines added at the end, keeping whether the file ends with a newline (an empty file gets one). */
function appendLines(text: string, lines: readonly string[], eol: string): string {
  const added = lines.join(eol);
  if (text === '') return `${added}${eol}`;
  if (text.endsWith('\n')) return `${text}${added}${eol}`;
  return `${text}${eol}${added}`;
}

/**
 * Line edits, as `sed -i 's/PATTERN/WITH/[g]' FILE` and `sed -i '/PATTERN/d' FILE` do them, with
 * the rules an operator reads the diff by:
 * - The pattern is tried on each line without its terminator (`\n` or `\r\n`), so `^` and `$`
 *   are the line's ends and a CRLF file keeps its `\r\n`; a missing final newline stays missing.
 * - Only the lines the pattern matches change; every other byte is kept.
 * - `with` is a JavaScript replacement (`$1` a group, `$&` the match, `$$` a `$`).
 * - A pattern that matches no line is an error (sed would silently do nothing), unless
 *   `allowNoMatch`; a match whose replacement is the same text changes nothing.
 * - A deleted line goes with its terminator; a last line without one leaves the line before it
 *   ending as it did (`a\nb` without `b` is `a\n`), as sed prints it.
 */
import { linearRegExp } from '../../shared/regex.js';
import type { TextOp } from '../kind.js';
import { EditError } from './edit-error.js';
import { afterLine, applySplices, lineContentEnd, type Splice } from './text.js';

/** One line of a file: `text.slice(start, end)` without its terminator. */
export interface Line {
  start: number;
  end: number;
  /** 1-based. */
  number: number;
}

/** The lines of a text; an empty text has none, and a final terminator starts no extra line. Example: `linesOf('a\r\nb')` -> two lines. */
export function linesOf(text: string): Line[] {
  const out: Line[] = [];
  for (let pos = 0, n = 1; pos < text.length; pos = afterLine(text, pos), n++) {
    out.push({ start: pos, end: lineContentEnd(text, pos), number: n });
  }
  return out;
}

/**
 * Replaces the pattern on every line it matches (the first match of a line, or all with `all`).
 * Example: `replaceLines('port=8080\n', { op: 'replace', pattern: '^port=.*', with: 'port=8081', all: false, allowNoMatch: false })` -> `'port=8081\n'`.
 */
export function replaceLines(text: string, op: Extract<TextOp, { op: 'replace' }>): string {
  const re = compile(op.pattern, op.all ? 'g' : '');
  if (/[\r\n]/.test(op.with))
    throw new EditError('the replacement holds a line break; a line edit replaces within one line', {
      editor: 'text',
      target: op.pattern,
    });
  let matched = 0;
  const splices: Splice[] = [];
  for (const line of linesOf(text)) {
    const content = text.slice(line.start, line.end);
    re.lastIndex = 0;
    if (!re.test(content)) continue;
    matched++;
    re.lastIndex = 0;
    const next = content.replace(re, op.with);
    if (next !== content) splices.push({ start: line.start, end: line.end, insert: next });
  }
  if (matched === 0 && !op.allowNoMatch) throw noMatch(op.pattern);
  return applySplices(text, splices);
}

/**
 * Removes every line the pattern matches, terminator included.
 * Example: `deleteLines('a=1\ndebug=1\nb=2\n', { op: 'delete', pattern: '^debug', allowNoMatch: false })` -> `'a=1\nb=2\n'`.
 */
export function deleteLines(text: string, op: Extract<TextOp, { op: 'delete' }>): string {
  const re = compile(op.pattern, '');
  const splices: Splice[] = linesOf(text)
    .filter((line) => re.test(text.slice(line.start, line.end)))
    .map((line) => ({ start: line.start, end: afterLine(text, line.start), insert: '' }));
  if (splices.length === 0 && !op.allowNoMatch) throw noMatch(op.pattern);
  return applySplices(text, splices);
}

function compile(pattern: string, flags: string): RegExp {
  try {
    return linearRegExp(pattern, flags);
  } catch (e) {
    throw new EditError(`invalid pattern /${pattern}/: ${(e as Error).message}`, {
      editor: 'text',
      target: pattern,
    });
  }
}

function noMatch(pattern: string): EditError {
  return new EditError(
    `/${pattern}/ matches no line of the file, so nothing would change (sed would say nothing): check the pattern against the file, or set allow_no_match: true if the file may already be edited`,
    { editor: 'text', target: pattern },
  );
}

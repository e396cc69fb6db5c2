/**
 * Offset helpers shared by the edit functions. Offsets are UTF-16 indexes into the file text;
 * lines end with `\n` or `\r\n`, and a final line may have no terminator.
 */

/** The line ending a file uses: `\r\n` if any line has one, else `\n`. Example: `eolOf('a\r\nb') === '\r\n'`. */
export function eolOf(text: string): '\n' | '\r\n' {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** Offset of the first character of the line holding `pos`. Example: `lineStart('ab\ncd', 4) === 3`. */
export function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** Offset just past the line terminator of the line holding `pos` (or the end of the text). Example: `afterLine('ab\ncd', 1) === 3`. */
export function afterLine(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl === -1 ? text.length : nl + 1;
}

/** Offset of the line terminator (`\r\n` or `\n`) of the line holding `pos`, or the end of the text. Example: `lineContentEnd('ab\r\n', 0) === 2`. */
export function lineContentEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  if (nl === -1) return text.length;
  return nl > 0 && text[nl - 1] === '\r' ? nl - 1 : nl;
}

/** 1-based line and column of an offset, for error messages. Example: `lineColAt('ab\ncd', 4)` is `{ line: 2, col: 2 }`. */
export function lineColAt(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return { line, col: pos - lineStart(text, pos) + 1 };
}

/** A replacement of `text.slice(start, end)` by `insert`. */
export interface Splice {
  start: number;
  end: number;
  insert: string;
}

/** Applies non-overlapping splices (in any order) to the original offsets. Example: `applySplices('abc', [{ start: 1, end: 2, insert: 'X' }]) === 'aXc'`. */
export function applySplices(text: string, splices: readonly Splice[]): string {
  const sorted = [...splices].sort((a, b) => b.start - a.start);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const s of sorted) {
    if (s.end > limit)
      throw new Error(`overlapping edits at offset ${s.start}; this is a bug in cutover, please report it`);
    out = out.slice(0, s.start) + s.insert + out.slice(s.end);
    limit = s.start;
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import type { TextOp } from '../kind.js';
import { EditError } from './edit-error.js';
import { deleteLines, linesOf, replaceLines } from './lines.js';

const op = (pattern: string, w: string, more: Partial<Extract<TextOp, { op: 'replace' }>> = {}) =>
  ({ op: 'replace', pattern, with: w, all: false, allowNoMatch: false, ...more }) as const;

describe('replaceLines', () => {
  it('changes only the matching lines, keeping CRLF and a missing final newline', () => {
    const crlf = '# zoo\r\nmaxSessionTimeout=40000\r\ntickTime=2000';
    expect(replaceLines(crlf, op('^maxSessionTimeout=.*', 'maxSessionTimeout=60000'))).toBe(
      '# zoo\r\nmaxSessionTimeout=60000\r\ntickTime=2000',
    );
    // `$` is the end of the line, not of the text before \r.
    expect(replaceLines('a=1\r\nb=2\r\n', op('=1$', '=9'))).toBe('a=9\r\nb=2\r\n');
    expect(replaceLines('tickTime=2000', op('2000$', '3000'))).toBe('tickTime=3000');
  });

  it('replaces the first match of a line, or every match with all', () => {
    const text = 'server 127.0.0.1:8080; server 127.0.0.1:8080;\nlisten 8080;\n';
    expect(replaceLines(text, op('8080', '8081'))).toBe(
      'server 127.0.0.1:8081; server 127.0.0.1:8080;\nlisten 8081;\n',
    );
    expect(replaceLines(text, op('8080', '8081', { all: true }))).toBe(
      'server 127.0.0.1:8081; server 127.0.0.1:8081;\nlisten 8081;\n',
    );
    expect(replaceLines('Xmx512m\n', op('(Xmx)[0-9]+m', '$12g'))).toBe('Xmx2g\n');
  });

  it('fails on a pattern that matches no line, unless allowed; a same-text match changes nothing', () => {
    expect(() => replaceLines('a=1\n', op('^b=', 'b=2'))).toThrow(EditError);
    expect(() => replaceLines('a=1\n', op('^b=', 'b=2'))).toThrow(/matches no line.*allow_no_match/);
    expect(() => replaceLines('', op('x', 'y'))).toThrow(/matches no line/);
    const text = 'a=1\n';
    expect(replaceLines(text, op('^b=', 'b=2', { allowNoMatch: true }))).toBe(text);
    expect(replaceLines(text, op('^a=.*', 'a=1'))).toBe(text);
  });

  it('refuses line breaks in the replacement and patterns it cannot run in linear time', () => {
    expect(() => replaceLines('a\n', op('a', 'b\nc'))).toThrow(/line break/);
    expect(() => replaceLines('aa\n', op('(a)\\1', 'b'))).toThrow(/invalid pattern.*backreferences/);
  });

  it('splits lines at \\n and \\r\\n, an empty text having none', () => {
    expect(linesOf('')).toEqual([]);
    expect(linesOf('a\r\n\nb')).toEqual([
      { start: 0, end: 1, number: 1 },
      { start: 3, end: 3, number: 2 },
      { start: 4, end: 5, number: 3 },
    ]);
  });
});

describe('deleteLines', () => {
  const del = (pattern: string, allowNoMatch = false) => ({ op: 'delete', pattern, allowNoMatch }) as const;

  it('removes every matching line with its terminator, keeping CRLF and every other byte', () => {
    expect(deleteLines('a=1\ndebug=1\nb=2\ndebug=2\n', del('^debug'))).toBe('a=1\nb=2\n');
    expect(deleteLines('# c\r\na=1\r\n#x\r\n', del('^#'))).toBe('a=1\r\n');
    // `$` is the end of the line, not of the text before \r.
    expect(deleteLines('a=1\r\nb=2\r\n', del('=1$'))).toBe('b=2\r\n');
  });

  it('deletes a last line without a newline as sed does: the line before keeps its own', () => {
    expect(deleteLines('a\nb', del('^b$'))).toBe('a\n');
    expect(deleteLines('a\nb', del('^a$'))).toBe('b');
    expect(deleteLines('a\n', del('a'))).toBe('');
  });

  it('fails on a pattern that matches no line unless allowed, and on an invalid one', () => {
    expect(() => deleteLines('a=1\n', del('^b'))).toThrow(/\/\^b\/ matches no line/);
    expect(() => deleteLines('a=1\n', del('^b'))).toThrow(EditError);
    expect(deleteLines('a=1\n', del('^b', true))).toBe('a=1\n');
    expect(() => deleteLines('a=1\n', del('('))).toThrow(/invalid pattern/);
  });
});

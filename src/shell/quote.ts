import { Secret } from './secret.js';
import { isHostDate, type Part, partsOf, type Word } from './word.js';

/** How a command is rendered: `exec` reveals secrets (transport only), `display` redacts them. */
export type RenderMode = 'exec' | 'display';

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const DATE_FORMAT = /^[%A-Za-z0-9_:.,+ -]*$/;

/**
 * Where in the author's shell text a value lands: as a word of its own (or part of one), inside
 * '…', or inside "…". `script()` finds it; the value is quoted so it stays text in each.
 */
export type QuoteContext = 'word' | 'single' | 'double';

/**
 * The one shell-quoting function: POSIX single quotes for literal text and secrets, a
 * `$(date +FMT)` expansion inside double quotes for host-clock parts. Inside the author's '…' it
 * closes and reopens the quotes around the value; inside "…" it backslash-escapes `$ \` " \`.
 * Example: quote('a b') -> `'a b'`; quote("it's") -> `'it'\''s'`; quote('$x', 'exec', 'double') -> `\$x`.
 */
export function quote(word: Word, mode: RenderMode = 'exec', within: QuoteContext = 'word'): string {
  const parts = partsOf(word);
  if (within === 'double') return parts.map((p) => quoteInDouble(p, mode)).join('');
  const rendered = parts.map((p) => quotePart(p, mode)).join('');
  if (within === 'single') return `'${rendered}'`;
  return rendered === '' ? "''" : rendered;
}

function quoteInDouble(p: Part, mode: RenderMode): string {
  if (isHostDate(p)) return quotePart(p, mode).slice(1, -1);
  const text = p instanceof Secret ? (mode === 'exec' ? p.reveal() : p.toString()) : String(p);
  return text.replace(/[\\"$`]/g, '\\$&');
}

function quotePart(p: Part, mode: RenderMode): string {
  if (isHostDate(p)) {
    if (!DATE_FORMAT.test(p.hostDate)) throw new Error(`unsafe date format ${JSON.stringify(p.hostDate)}`);
    return `"$(date +${quoteLiteral(p.hostDate)})"`;
  }
  if (p instanceof Secret) return mode === 'exec' ? quoteLiteral(p.reveal()) : p.toString();
  return quoteLiteral(String(p));
}

function quoteLiteral(s: string): string {
  if (s === '') return '';
  if (SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

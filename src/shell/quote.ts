import { Secret } from './secret.js';
import { isHostDate, type Part, partsOf, type Word } from './word.js';

/** How a command is rendered: `exec` reveals secrets (transport only), `display` redacts them. */
export type RenderMode = 'exec' | 'display';

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const DATE_FORMAT = /^[%A-Za-z0-9_:.,+ -]*$/;

/**
 * The one shell-quoting function: POSIX single quotes for literal text and secrets, a
 * `$(date +FMT)` expansion inside double quotes for host-clock parts.
 * Example: quote('a b') -> `'a b'`; quote("it's") -> `'it'\''s'`.
 */
export function quote(word: Word, mode: RenderMode = 'exec'): string {
  const parts = partsOf(word);
  if (parts.length === 0) return "''";
  const rendered = parts.map((p) => quotePart(p, mode)).join('');
  return rendered === '' ? "''" : rendered;
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

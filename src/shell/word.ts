import { Secret } from './secret.js';

/**
 * A value evaluated by the target host's shell when the command runs, never by the controller:
 * the host clock's date. Example: `{ hostDate: '%Y%m%d' }` renders as `$(date +%Y%m%d)`.
 */
export interface HostDate {
  readonly hostDate: string;
}

/**
 * Text that came from expanding a template expression (`{{ params.instance }}`), as opposed
 * to text the author wrote. In a word it is plain text; in a script it is always quoted.
 */
export class Expanded {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

/** One piece of a templated value: literal text, expanded text, a secret, or a host-evaluated expression. */
export type Part = string | Expanded | Secret | HostDate;

/**
 * One templated value, e.g. a path `/home/ecsc_{{ host.date('%Y%m%d') }}`, kept as parts so
 * that quoting, redaction and host-side evaluation stay exact. Plain strings are Words too.
 */
export type Word = string | Secret | HostDate | Expanded | TemplatedWord;

export class TemplatedWord {
  constructor(
    readonly parts: readonly Part[],
    /** For a script: programs the runbook author vouches keep their arguments data (`safe_programs:`). */
    readonly safePrograms?: readonly string[],
  ) {}
  toString(): string {
    return this.parts.map((p) => displayPart(p)).join('');
  }
  toJSON(): string {
    return this.toString();
  }
}

export function isHostDate(p: unknown): p is HostDate {
  return typeof p === 'object' && p !== null && 'hostDate' in p;
}

export function partsOf(word: Word): readonly Part[] {
  if (word instanceof TemplatedWord) return word.parts;
  return [word];
}

/** Joins words and strings into one word, e.g. `concat(dir, '/', name)`. */
export function concat(...words: Word[]): Word {
  const parts: Part[] = [];
  for (const w of words) {
    for (const p0 of partsOf(w)) {
      const p = p0 instanceof Expanded ? p0.text : p0;
      const last = parts[parts.length - 1];
      if (typeof p === 'string' && typeof last === 'string') parts[parts.length - 1] = last + p;
      else if (p !== '') parts.push(p);
    }
  }
  if (parts.length === 0) return '';
  if (parts.length === 1) return parts[0] as Word;
  return new TemplatedWord(parts);
}

/** True when the word is known on the controller (no host-evaluated part). Secrets count as known. */
export function isStatic(word: Word): boolean {
  return partsOf(word).every((p) => !isHostDate(p));
}

/** The controller-side value of a static word. Secrets are revealed only when `reveal` is set. */
export function staticValue(word: Word, reveal = false): string {
  return partsOf(word)
    .map((p) => {
      if (isHostDate(p))
        throw new Error(`value ${String(word)} depends on the host clock and has no controller-side value`);
      if (p instanceof Secret) return reveal ? p.reveal() : p.toString();
      return String(p);
    })
    .join('');
}

export function hasSecret(word: Word): boolean {
  return partsOf(word).some((p) => p instanceof Secret);
}

function displayPart(p: Part): string {
  if (isHostDate(p)) return `$(date +${p.hostDate})`;
  return p.toString();
}

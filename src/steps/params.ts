import { z } from 'zod';
import { parseDuration } from '../shared/duration.js';
import { Secret } from '../shell/secret.js';
import { isHostDate, TemplatedWord, type Word } from '../shell/word.js';

/**
 * Shared param types for step kinds. A `word` is a string in the YAML (possibly a template)
 * and a Word after rendering; JSON Schema shows it as a string.
 */
export const word = z
  .custom<Word>(
    (v) => typeof v === 'string' || v instanceof TemplatedWord || v instanceof Secret || isHostDate(v),
    { message: 'expected a string' },
  )
  .meta({ type: 'string' });

/** An author-written shell script (`command:`); expanded template values in it are quoted. See `script()` in src/shell. */
export const scriptText = word.meta({
  type: 'string',
  description: 'a shell script; {{ }} values are inserted quoted',
});

/** A duration such as `30s`, `5m`, `1h30m`, or a number of milliseconds. */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    try {
      return parseDuration(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  })
  .meta({ description: 'a duration: 500ms, 30s, 5m, 1h30m', type: 'string' });

/** A signal by name or number: TERM, SIGKILL, 9, 15. Normalised to the name without SIG. */
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15 };
export const signal = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const text = String(v).toUpperCase().replace(/^SIG/, '');
  if (text in SIGNALS) return text;
  const byNumber = Object.entries(SIGNALS).find(([, n]) => String(n) === text);
  if (byNumber) return byNumber[0];
  ctx.addIssue({
    code: 'custom',
    message: `unknown signal "${v}": expected one of ${Object.keys(SIGNALS).join(', ')} or their numbers`,
  });
  return z.NEVER;
});

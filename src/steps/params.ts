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

/**
 * The longest duration cutover accepts: Node's timers hold at most 2^31-1 ms (about 24.8 days) and
 * fire after 1 ms when given more, so a longer pause or timeout would silently vanish.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

function durationOf(v: string | number, ctx: z.RefinementCtx, positive: boolean): number {
  if (typeof v === 'number') {
    ctx.addIssue({
      code: 'custom',
      message: `a bare number is not a duration: write ${v}s (seconds), ${v}ms or ${v}m`,
    });
    return z.NEVER;
  }
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
  if (positive && ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `${v} is no time at all: expected a duration above 0, like 30s`,
    });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `${v} is longer than the longest wait cutover can time (24d20h31m23s, 2^31-1 ms); use a gate.confirm step to wait for a person instead`,
    });
    return z.NEVER;
  }
  return ms;
}

/** A duration such as `30s`, `5m`, `1h30m` (a unit is required; at most 2^31-1 ms). */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => durationOf(v, ctx, false))
  .meta({ description: 'a duration with a unit: 500ms, 30s, 5m, 1h30m (at most 24d)', type: 'string' });

/** A duration above zero, for timeouts. Example: `2m`. */
export const positiveDuration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => durationOf(v, ctx, true))
  .meta({
    description: 'a duration above 0 with a unit: 500ms, 30s, 5m, 1h30m (at most 24d)',
    type: 'string',
  });

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

/**
 * What a wait watches while it waits: the thing that should produce the awaited line or answer.
 * A unit that enters `failed` (or stops), or a process that is gone, ends the wait at once as a
 * failure with the reason, instead of after the wait's whole timeout.
 * Example: `watch: { unit: comindwarecmw }`, `watch: { process: 'java .*catalina' }`.
 */
import { z } from 'zod';
import { type Command, lines, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import { findByMatch, PROC_FUNCTIONS } from './process-shell.js';
import { unitName } from './service.js';

export const watchParam = z
  .object({
    unit: unitName
      .optional()
      .describe('systemd unit that must stay active or activating, e.g. comindware{{ params.instance }}'),
    process: z
      .string()
      .min(1)
      .refine((p) => !p.startsWith('-'), { message: 'a pattern may not begin with -' })
      .optional()
      .describe('pgrep -f pattern of a process that must keep running, e.g. java .*catalina'),
  })
  .strict()
  .refine((w) => w.unit !== undefined || w.process !== undefined, {
    message: 'name a unit, a process, or both',
  })
  .describe('ends the wait at once when what it waits for has died (a failed unit, a gone process)');

export type Watch = z.output<typeof watchParam>;

/** The guard a wait runs each round: exit 0 while all is well, else 1 with the reason on stderr. */
export function watchGuard(w: Watch): { cmd: Command; description: string } {
  const checks: Command[] = [];
  const what: string[] = [];
  if (w.unit !== undefined) {
    checks.push(unitAlive(w.unit));
    what.push(`unit ${String(w.unit)}`);
  }
  if (w.process !== undefined) {
    // The finder never counts this shell's own family, whose command line holds the pattern.
    checks.push(
      PROC_FUNCTIONS,
      findByMatch('watch', w.process),
      sh`[ "$n" -gt 0 ] || { printf 'no process matches /%s/ any more\\n' ${w.process} >&2; exit 1; }`,
    );
    what.push(`process /${w.process}/`);
  }
  return { cmd: lines(...checks), description: `watching ${what.join(' and ')}` };
}

function unitAlive(unit: Word): Command {
  return lines(
    sh`u=${unit}`,
    sh`state=$(systemctl is-active "$u" 2>/dev/null)`,
    sh`case "$state" in failed|inactive|deactivating) printf 'unit %s is %s\\n' "$u" "$state" >&2; exit 1 ;; esac`,
    // A watch that cannot see the unit would watch nothing: say so rather than wait blind.
    sh`[ -n "$state" ] || { printf 'cannot tell the state of unit %s (systemctl is-active printed nothing)\\n' "$u" >&2; exit 1; }`,
  );
}

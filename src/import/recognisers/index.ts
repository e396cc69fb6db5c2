/**
 * Command recognisers: one shell command (a part of an `&&` chain) -> the step kinds that do
 * what it meant, or a note that it only shapes other steps (`cd`, `ps | grep`). Each
 * recogniser is a function tried in order; the last resort is `shell.run` with a TODO that
 * says why. Pure: the context carries everything a recogniser may look at. One file per
 * program, as src/steps has one file per kind.
 */
import { withoutSudo, type SimpleCommand } from '../shell-words.js';
import { cd } from './cd.js';
import type { Recognition, RecogniseContext, Recogniser } from './context.js';
import { copy } from './cp.js';
import { http } from './curl.js';
import { editor } from './editor.js';
import { fallback } from './fallback.js';
import { kill, psGrep } from './kill.js';
import { remove } from './rm.js';
import { sed } from './sed.js';
import { start } from './start.js';
import { systemctl } from './systemctl.js';
import { tailFollow } from './tail.js';
import { tar } from './tar.js';
import { followGrep, loop } from './waits.js';

export type { BackupRef, Cwd, LogMessage, Recognition, RecogniseContext } from './context.js';
export { fallback } from './fallback.js';
export { killsAPlaceholder } from './kill.js';

/** The recognisers in the order they are tried: the first that answers wins. */
const RECOGNISERS: readonly Recogniser[] = [
  loop,
  followGrep,
  cd,
  psGrep,
  kill,
  systemctl,
  copy,
  tar,
  http,
  tailFollow,
  remove,
  sed,
  editor,
  start,
];
/**
 * What one command means. Example: recognise(parseShellLine('systemctl stop nginx')[0], ctx)
 * -> { type: 'steps', steps: [{ kind: 'service.stop', params: { unit: 'nginx' }, ... }], recognised: true, ... }.
 */
export function recognise(cmd: SimpleCommand, ctx: RecogniseContext): Recognition {
  const result = recogniseAs(cmd, ctx);
  // `sudo cmd` in the document: the step runs through sudo (become), never silently as the login user.
  // Only a plain `sudo` (with -E/-H/-n) is read through; `sudo -u postgres …` stays as written.
  const first = cmd.stages[0] ?? [];
  const sudo = first[0]?.value === 'sudo' && !(withoutSudo(first)[0]?.value ?? '-').startsWith('-');
  if (!sudo || result.type !== 'steps') return result;
  return { ...result, steps: result.steps.map((s) => ({ ...s, extra: { become: true, ...s.extra } })) };
}

function recogniseAs(cmd: SimpleCommand, ctx: RecogniseContext): Recognition {
  const words = withoutSudo(cmd.stages[0] ?? []);
  for (const recogniser of RECOGNISERS) {
    const result = recogniser(cmd, words, ctx);
    if (result) {
      if (ctx.inRollback && result.type === 'steps') {
        return {
          type: 'covered',
          why: `part of the document's rollback (${result.steps.map((s) => s.kind).join(', ')}): \`cutover rollback\` runs the undo of every completed step, newest first; check that it covers this`,
        };
      }
      return result;
    }
  }
  if (ctx.inRollback) {
    return {
      type: 'covered',
      why: "part of the document's rollback: `cutover rollback` runs the undo of every completed step, newest first; if this is not covered, give the step that made the change an undo",
    };
  }
  return fallback(cmd, ctx);
}

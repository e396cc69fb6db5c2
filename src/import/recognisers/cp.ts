import type { TemplateUse } from '../placeholders.js';
import { draft, type Recogniser } from './context.js';
import { dateNotes, nameOf, operands, resolvePath } from './support.js';

const DATE = "\\{\\{ host\\.date\\('[^']*'\\) \\}\\}";
const MARK = '(?:bak|orig|old|backup|save)';
/** What a backup copy adds to the name: `_{{ date }}`, `.bak`, `.bak-{{ date }}`, `_bak_{{ date }}`, `.{{ date }}.bak`. */
const DATED_SUFFIX = new RegExp(`^[._-]?(?:${DATE}|${MARK})(?:[._-]?(?:${DATE}|${MARK}))?$`);

/** True when `to` names a backup of `from`: beside it (`/opt/x_bak_DATE`) or in another folder under the same name (`/var/backups/x.war.DATE`). */
function backupOf(from: string, to: string): boolean {
  if (to.startsWith(from) && DATED_SUFFIX.test(to.slice(from.length))) return true;
  const name = from.slice(from.lastIndexOf('/') + 1);
  const base = to.slice(to.lastIndexOf('/') + 1);
  return name !== '' && base.startsWith(name) && DATED_SUFFIX.test(base.slice(name.length));
}

/** `cp -R A A_<date>`: backup.copy; `cp -R A_<date> A`: the restore of that backup, which the rollback does. */
export const copy: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'cp' || cmd.stages.length > 1) return undefined;
  const args = operands(words.slice(1));
  if (args.length !== 2) return undefined;
  const uses: TemplateUse[] = [];
  const src = resolvePath(args[0]?.value as string, ctx, uses);
  const dest = resolvePath(args[1]?.value as string, ctx, uses);
  if (!src || !dest) return undefined;
  const from = src.path.replace(/\/+$/, '');
  const to = dest.path.replace(/\/+$/, '');
  if (backupOf(from, to)) {
    return {
      type: 'steps',
      recognised: true,
      why: 'a dated copy: backup.copy (verified; its undo restores the exact previous tree)',
      steps: [
        draft('backup.copy', { src: from, dest: to }, `backup ${nameOf(from)}`, [
          ...src.notes,
          ...dateNotes(uses),
        ]),
      ],
    };
  }
  if (backupOf(to, from)) {
    const backup = ctx.backups.find((b) => b.dest === from && b.src === to);
    if (backup) {
      return {
        type: 'covered',
        why: `restores the backup of step ${backup.ref}: \`cutover rollback\` does it with that step's undo, which restores the exact previous tree (a \`cp -R\` onto an existing folder would copy into it)`,
      };
    }
    if (ctx.inRollback) {
      return {
        type: 'covered',
        why: 'restores a backup: `cutover rollback` does that with the undo of the backup.copy step that made it (add that step if the draft has none)',
      };
    }
  }
  return undefined;
};

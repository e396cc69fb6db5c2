import type { StepSpec } from '../model.js';
import type { TemplateUse } from '../placeholders.js';
import { draft, type Recogniser } from './context.js';
import { dateNotes, nameOf, operands, options, resolvePath } from './support.js';

/** `rm [-f] [-r] PATH...`: file.remove per path (moved aside by default, so the undo puts it back). */
export const remove: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'rm' || cmd.stages.length > 1) return undefined;
  const opts = options(words.slice(1)).map((w) => w.value);
  if (opts.some((o) => !/^-(?:[frRvd]+|-force|-recursive|-verbose)$/.test(o))) return undefined;
  const paths = operands(words.slice(1));
  if (paths.length === 0) return undefined;
  const steps: StepSpec[] = [];
  for (const p of paths) {
    const uses: TemplateUse[] = [];
    const path = resolvePath(p.value, ctx, uses);
    if (!path || path.path === '/') return undefined;
    steps.push(
      draft('file.remove', { path: path.path }, `remove ${nameOf(path.path)}`, [
        ...path.notes,
        ...dateNotes(uses),
      ]),
    );
  }
  return {
    type: 'steps',
    recognised: true,
    why: 'rm: file.remove (kept in the run folder, so the undo puts it back)',
    steps,
  };
};

import type { TemplateUse } from '../placeholders.js';
import { draft, type Recogniser } from './context.js';
import { cwdNotes, cwdWhy, dateNotes, nameOf, resolvePath } from './support.js';

/** `tar x...`: archive.extract into `-C DIR` or the current folder. */
export const tar: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'tar' || cmd.stages.length > 1) return undefined;
  let extract = false;
  let archive: string | undefined;
  let dest: string | undefined;
  let strip: number | undefined;
  const rest = words.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const v = rest[i]?.value as string;
    const next = () => rest[++i]?.value;
    if (v === '--extract' || v === '--get') extract = true;
    else if (v.startsWith('--file=')) archive = v.slice(7);
    else if (v === '--file') archive = next();
    else if (v.startsWith('--directory=')) dest = v.slice(12);
    else if (v === '--directory' || v === '-C') dest = next();
    else if (v.startsWith('--strip-components=')) strip = Number(v.slice(19));
    else if (v.startsWith('--')) continue;
    else if (/^-?[A-Za-z]+$/.test(v) && (i === 0 || v.startsWith('-'))) {
      const letters = v.replace(/^-/, '');
      if (letters.includes('x')) extract = true;
      if (letters.includes('f')) archive = letters.endsWith('f') ? next() : undefined;
    } else if (archive === undefined) archive = v;
  }
  if (!extract || archive === undefined || (strip !== undefined && !Number.isInteger(strip)))
    return undefined;
  const uses: TemplateUse[] = [];
  const file = resolvePath(archive, ctx, uses);
  const folder =
    dest !== undefined
      ? resolvePath(dest, ctx, uses)
      : ctx.cwd
        ? { path: ctx.cwd.path, notes: cwdNotes(ctx.cwd) }
        : undefined;
  if (!file) return undefined;
  const into =
    folder ??
    (() => {
      const workdir = ctx.templater.param(
        'workdir',
        ctx.line,
        'the folder the relative paths of the document are in (it does not say)',
      );
      return {
        path: `{{ params.${workdir} }}`,
        notes: [`the document does not say where to extract: set params.${workdir}`],
      };
    })();
  return {
    type: 'steps',
    recognised: true,
    why: `tar x: archive.extract into ${into.path}${dest === undefined ? cwdWhy(ctx.cwd) : ''}`,
    steps: [
      draft(
        'archive.extract',
        { archive: file.path, dest: into.path, ...(strip !== undefined ? { strip } : {}) },
        `extract ${nameOf(file.path)}`,
        [...new Set([...file.notes, ...into.notes, ...dateNotes(uses)])],
      ),
    ],
  };
};

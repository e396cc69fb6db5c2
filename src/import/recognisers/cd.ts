import type { Recogniser } from './context.js';
import { joinPath, needsShell } from './support.js';

/** `cd DIR` sets the folder of the commands after it. */
export const cd: Recogniser = (_cmd, words, ctx) => {
  if (words[0]?.value !== 'cd' || words.length > 2) return undefined;
  const target = words[1]?.value;
  const text = target === undefined ? '' : ctx.templater.template(target, ctx.line);
  if (target === undefined || target === '-' || needsShell(text))
    return { type: 'cd', why: '`cd` to a folder cutover cannot resolve: later relative paths need a folder' };
  const path =
    text.startsWith('/') || text.startsWith('{{') ? text : ctx.cwd ? joinPath(ctx.cwd.path, text) : undefined;
  return path === undefined
    ? { type: 'cd', why: '`cd` to a relative folder with no known parent' }
    : { type: 'cd', path, why: `sets the folder (cwd) of the commands after it: ${path}` };
};

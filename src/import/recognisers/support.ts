/**
 * Helpers the recognisers share: paths made absolute and templated (relative ones joined to the
 * known folder, or to a `workdir` param with a TODO), id hints, and the notes a guessed folder
 * or date leaves in a step's TODO. Pure.
 */
import type { TemplateUse } from '../placeholders.js';
import type { ShellWord } from '../shell-words.js';
import type { Cwd, RecogniseContext } from './context.js';

/** True for a shell word cutover cannot turn into a plain path (variables, globs, ~); placeholders and templates are fine. */
export function needsShell(value: string): boolean {
  return /[$`*?[\]~{}]/.test(value.replace(/<[^\s<>]+>/g, '').replace(/\{\{.*?\}\}/g, ''));
}

/** True for a URL that uses shell expansion (`$HOST`, backquotes); `?` and `&` are part of URLs. */
export function urlNeedsShell(value: string): boolean {
  return /[$`]/.test(value);
}

export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, rel: string): string {
  return `${dir.replace(/\/+$/, '')}/${rel.replace(/^\.\//, '')}`;
}

/** Words of an id hint without template parts. Example: hintOf('apigateway{{ params.instanceName }}') -> 'apigateway'. */
export function hintOf(text: string): string {
  return text.replace(/\{\{.*?\}\}/g, ' ').replace(/<[^\s<>]+>/g, ' ');
}

/** A name for a path in an id: its last segment with letters, extensions and templates removed. Example: nameOf('/etc/x/{{ params.i }}.yml') -> 'x'. */
export function nameOf(path: string): string {
  const segments = hintOf(path)
    .split('/')
    .map((s) => s.replace(/(?:\.(?:tar|gz|tgz|bz2|xz|zip|ya?ml|conf|log|out|txt|pid|sh))+\s*$/i, '').trim())
    .reverse();
  return segments.find((s) => /[A-Za-z]{2}/.test(s)) ?? '';
}

/** A path for a typed param: absolute, templated; relative paths are joined to the cwd. */
export interface Resolved {
  path: string;
  notes: string[];
}

export function resolvePath(value: string, ctx: RecogniseContext, uses: TemplateUse[]): Resolved | undefined {
  // Template first: `$(date +%F)` is a host date, not shell to refuse.
  const text = ctx.templater.template(value, ctx.line, uses);
  if (needsShell(text)) return undefined;
  if (text.startsWith('/') || text.startsWith('{{')) return { path: text, notes: [] };
  if (ctx.cwd) return { path: joinPath(ctx.cwd.path, text), notes: cwdNotes(ctx.cwd) };
  const workdir = ctx.templater.param(
    'workdir',
    ctx.line,
    'the folder the relative paths of the document are in (it does not say)',
  );
  return {
    path: joinPath(`{{ params.${workdir} }}`, text),
    notes: [
      `"${value}" is relative and the document does not say in which folder: set params.${workdir} or write the absolute path`,
    ],
  };
}

export function cwdNotes(cwd: Cwd | undefined): string[] {
  if (!cwd || cwd.sameSection || cwd.from === 'text') return [];
  return [`the folder ${cwd.path} comes from \`cd\` at line ${cwd.line}, in an earlier section: check it`];
}

export function cwdWhy(cwd: Cwd | undefined): string {
  if (!cwd) return '';
  return cwd.from === 'cd'
    ? ` (folder from \`cd\` at line ${cwd.line})`
    : ` (folder named in the text at line ${cwd.line})`;
}

export function dateNotes(uses: readonly TemplateUse[]): string[] {
  return uses
    .filter((u) => u.guessed)
    .map((u) => `${u.from} became {{ ${u.to} }}: check the date format the files really use`);
}

/** The option words (`-f`, `--force`). */
export const options = (words: readonly ShellWord[]) => words.filter((w) => w.value.startsWith('-'));
/** The words that are not options. */
export const operands = (words: readonly ShellWord[]) => words.filter((w) => !w.value.startsWith('-'));

/**
 * A file operand: like `resolvePath`, except that a relative name with no known folder whose name
 * the section's text gives as one absolute path (`Edit /etc/shop/application.properties`) is that
 * path, with a TODO saying where it came from.
 */
export function resolveFile(value: string, ctx: RecogniseContext, uses: TemplateUse[]): Resolved | undefined {
  if (!value.startsWith('/') && !ctx.cwd && !value.includes('/') && !needsShell(value)) {
    const named = ctx.namedFiles.filter((f) => basename(f.path) === value);
    const paths = [...new Set(named.map((f) => f.path))];
    if (paths.length === 1 && named[0]) {
      return {
        path: ctx.templater.template(named[0].path, named[0].line, uses),
        notes: [
          `"${value}" is relative: its folder is taken from the text at line ${named[0].line} (\`${named[0].path}\`); check it is that file`,
        ],
      };
    }
  }
  return resolvePath(value, ctx, uses);
}

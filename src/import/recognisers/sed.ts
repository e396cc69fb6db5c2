/**
 * `sed -i 's/A/B/[g]' FILE` -> text.edit with the same replacement, byte-exact and with an undo.
 * Only forms read the same way by sed and by JavaScript are typed: `s` commands (one per `-e`),
 * flags none or `g`, basic or extended regexes made of the syntax both know. Anything else
 * (addresses, other commands, `\d`, `[[:classes:]]` cutover cannot map, several files) stays shell.
 */
import type { TemplateUse } from '../placeholders.js';
import type { ShellWord } from '../shell-words.js';
import { draft, type Recogniser } from './context.js';
import { dateNotes, nameOf, resolveFile } from './support.js';

/** One `s` command as text.edit params. */
interface Replacement {
  pattern: string;
  with: string;
  all?: boolean;
}

const CLASSES: Record<string, string> = {
  digit: '0-9',
  alpha: 'A-Za-z',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
};

/** Escapes both dialects read alike (the GNU extensions \s \S \w \W \b \B included). */
const SAME_ESCAPES = new Set(['.', '*', '[', ']', '\\', '^', '$', '/', 's', 'S', 'w', 'W', 'b', 'B', 't']);

/**
 * A sed regex (basic or extended) as a JavaScript one, or undefined when the two could read it
 * differently. `d` is the command's delimiter (`\d` in the text is that character). Example:
 * toJsRegex('^port=\\(.*\\)$', false, '/') -> '^port=(.*)$'.
 */
export function toJsRegex(text: string, extended: boolean, d: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '[') {
      // A bracket expression: POSIX classes mapped, a backslash inside is literal in sed.
      let j = i + 1;
      let body = '';
      if (text[j] === '^') body += text[j++];
      if (text[j] === ']') body += `\\${text[j++]}`;
      for (; j < text.length && text[j] !== ']'; j++) {
        const cls = /^\[:([a-z]+):\]/.exec(text.slice(j));
        if (cls) {
          const mapped = CLASSES[cls[1] as string];
          if (mapped === undefined) return undefined;
          body += mapped;
          j += cls[0].length - 1;
        } else if (text[j] === '[' && /^\[[.=]/.test(text.slice(j))) return undefined;
        else body += text[j] === '\\' ? '\\\\' : text[j];
      }
      if (j >= text.length) return undefined;
      out += `[${body}]`;
      i = j;
    } else if (c === '\\') {
      const n = text[++i];
      if (n === undefined) return undefined;
      if (n === d) out += /[\w\s]/.test(n) ? n : `\\${n}`;
      else if (!extended && '(){}|+?'.includes(n)) out += n;
      else if (extended && '(){}|+?'.includes(n)) out += `\\${n}`;
      else if (SAME_ESCAPES.has(n)) out += `\\${n}`;
      else return undefined;
    } else if (!extended && '(){}|+?'.includes(c)) out += `\\${c}`;
    else out += c;
  }
  try {
    new RegExp(out);
  } catch {
    return undefined;
  }
  return out;
}

/** sed's replacement as a JavaScript one: `\1` -> `$1`, `&` -> `$&`, `$` -> `$$`; undefined for `\n`, `\L` and the like. */
export function toJsReplacement(text: string, d: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const n = text[++i];
      if (n === undefined) return undefined;
      if (/[1-9]/.test(n)) out += `$${n}`;
      else if (n === '&' || n === '\\' || n === d || n === '/') out += n;
      else return undefined;
    } else if (c === '&') out += '$&';
    else if (c === '$') out += '$$';
    else out += c;
  }
  return out;
}

/** One `s<d>A<d>B<d>[g]` script. Example: parseS("s/a/b/g", false) -> { pattern: 'a', with: 'b', all: true }. */
export function parseS(script: string, extended: boolean): Replacement | undefined {
  const d = script[1];
  if (script[0] !== 's' || d === undefined || /[\w\s\\\n]/.test(d)) return undefined;
  const parts: string[] = [];
  let current = '';
  for (let i = 2; i < script.length; i++) {
    const c = script[i] as string;
    if (c === '\\' && i + 1 < script.length) {
      current += c + script[++i];
    } else if (c === d) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  if (parts.length !== 2 || !/^g?$/.test(current)) return undefined;
  const pattern = toJsRegex(parts[0] as string, extended, d);
  const replacement = toJsReplacement(parts[1] as string, d);
  if (pattern === undefined || pattern === '' || replacement === undefined) return undefined;
  return { pattern, with: replacement, ...(current === 'g' ? { all: true } : {}) };
}

/** `sed -i[SUFFIX] [-E] [-e] 's/A/B/[g]' FILE`: one text.edit; undefined for any other form. */
export const sed: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'sed' || cmd.stages.length > 1 || cmd.redirects.length > 0 || cmd.background)
    return undefined;
  let inPlace: string | undefined;
  let extended = false;
  const scripts: string[] = [];
  const operands: ShellWord[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = (words[i] as ShellWord).value;
    if (w === '-e' || w === '--expression') scripts.push(words[++i]?.value ?? '');
    else if (w === '-E' || w === '-r' || w === '--regexp-extended') extended = true;
    else if (/^-i/.test(w) || /^--in-place(?:=|$)/.test(w)) inPlace = w.replace(/^(?:-i|--in-place=?)/, '');
    else if (/^-[Er]i$/.test(w)) {
      extended = true;
      inPlace = '';
    } else if (w.startsWith('-')) return undefined;
    else operands.push(words[i] as ShellWord);
  }
  if (inPlace === undefined) return undefined;
  if (scripts.length === 0) {
    const first = operands.shift();
    if (!first) return undefined;
    scripts.push(first.value);
  }
  if (operands.length !== 1) return undefined;
  // Placeholders and shell expansions in the script are the shell's to expand: it stays shell.
  if (scripts.some((s) => /<[^\s<>/]+>|\{\{|\$[A-Za-z_{(]|`/.test(s))) return undefined;
  const replace = scripts.map((s) => parseS(s.trim().replace(/;$/, ''), extended));
  if (replace.some((r) => r === undefined)) return undefined;
  const uses: TemplateUse[] = [];
  const file = resolveFile((operands[0] as ShellWord).value, ctx, uses);
  if (!file) return undefined;
  const todo = [...file.notes, ...dateNotes(uses)];
  if (inPlace !== '')
    todo.push(
      `sed -i${inPlace} also leaves a copy at ${file.path}${inPlace}: text.edit keeps its own byte-identical original in the step folder (its undo restores it); if something later uses ${nameOf(file.path)}${inPlace}, add a backup.copy before this step`,
    );
  return {
    type: 'steps',
    recognised: true,
    why: `sed -i s///: text.edit (${replace.length} replacement${replace.length > 1 ? 's' : ''}, byte-exact; fails if a pattern matches no line, where sed would change nothing)`,
    steps: [
      draft(
        'text.edit',
        { file: file.path, replace: replace as Replacement[] },
        `edit ${nameOf(file.path)}`,
        todo,
      ),
    ],
  };
};

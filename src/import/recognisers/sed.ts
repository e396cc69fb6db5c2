/**
 * `sed -i SCRIPT FILE` -> one text.edit doing exactly what sed does, byte-exact, with an undo
 * (the original, byte-identical); else `shell.run` with a TODO that says why. The rules:
 * - The script is read as sed reads it: commands split at `;` and newlines (and one per `-e`),
 *   each an optional address and a command.
 * - Typed: `s/A/B/` and `s/A/B/g` with no address (a line replacement), `/RE/d` (a line
 *   deletion), with regexes made of the syntax sed and JavaScript read alike. text.edit runs the
 *   replacements first, then the deletions: a `d` before an `s` could decide differently, so
 *   it stays shell.
 * - Never typed: line numbers and `$` (`3d`), ranges (`/^\[mysqld\]/,/^\[/ s/…/…/`), an address on
 *   `s`, `!`, other commands and flags, `-n`, several files, shell expansions in the script.
 *   Their TODO names the form and what to write instead; there is no undo to guess: a
 *   backup.copy before the step is the exact one.
 */
import type { TemplateUse } from '../placeholders.js';
import type { ShellWord } from '../shell-words.js';
import { draft, type Recognition, type RecogniseContext, type Recogniser } from './context.js';
import { fallback } from './fallback.js';
import { basename, dateNotes, nameOf, resolveFile } from './support.js';

/** One `s` command as text.edit params. */
interface Replacement {
  pattern: string;
  with: string;
  all?: boolean;
}

/** One `/RE/d` command as text.edit params. */
interface Deletion {
  pattern: string;
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

/** An address of a sed command as written. Example: `/^\[mysqld\]/` -> `{ type: 'regex', text: '^\\[mysqld\\]', d: '/' }`. */
type Address = { type: 'regex'; text: string; d: string } | { type: 'line'; text: string };

/** One command of a sed script, as written. Example: `3d` -> `{ text: '3d', name: 'd', addresses: [{ type: 'line', text: '3' }], negated: false }`. */
export interface SedCommand {
  text: string;
  name: string;
  addresses: Address[];
  negated: boolean;
  /** For `s`: its two halves (escapes kept), delimiter and flags. */
  s?: { from: string; to: string; d: string; flags: string };
}

/** Reads text up to the unescaped delimiter `d` from `i`; returns it (escapes kept) and the index after the delimiter. */
function delimited(script: string, i: number, d: string): { text: string; end: number } | undefined {
  let text = '';
  for (let j = i; j < script.length; j++) {
    const c = script[j] as string;
    if (c === '\\' && j + 1 < script.length) {
      text += c + script[++j];
    } else if (c === d) return { text, end: j + 1 };
    else if (c === '\n') return undefined;
    else text += c;
  }
  return undefined;
}

function address(script: string, i: number): { address: Address; end: number } | undefined {
  const c = script[i];
  if (c === undefined) return undefined;
  if (/[0-9$]/.test(c)) {
    const m = /^(?:\d+(?:~\d+)?|\$)/.exec(script.slice(i)) as RegExpExecArray;
    return { address: { type: 'line', text: m[0] }, end: i + m[0].length };
  }
  const d = c === '/' ? '/' : c === '\\' ? script[i + 1] : undefined;
  if (d === undefined || d === '\n') return undefined;
  const body = delimited(script, c === '/' ? i + 1 : i + 2, d);
  if (!body) return undefined;
  // GNU flags after a regex address (I, M) change how it matches.
  if (/^[IM]/.test(script.slice(body.end))) return undefined;
  return { address: { type: 'regex', text: body.text, d }, end: body.end };
}

/**
 * A sed script split into its commands, or why it cannot be read. Example:
 * `parseScript("s/a/b/; /^#/d")` -> two commands, `s` and `d`.
 */
export function parseScript(script: string): SedCommand[] | string {
  const out: SedCommand[] = [];
  let i = 0;
  const skip = () => {
    while (i < script.length && /[\s;]/.test(script[i] as string)) i++;
  };
  for (skip(); i < script.length; skip()) {
    const begin = i;
    const addresses: Address[] = [];
    const first = address(script, i);
    if (first) {
      addresses.push(first.address);
      i = first.end;
      if (script[i] === ',') {
        const second = address(script, i + 1);
        if (!second) return `the address in \`${script.slice(begin)}\` cannot be read`;
        addresses.push(second.address);
        i = second.end;
      }
    } else if (/[/\\]/.test(script[i] as string))
      return `the address in \`${script.slice(begin)}\` cannot be read`;
    while (script[i] === ' ') i++;
    const negated = script[i] === '!';
    if (negated) i++;
    while (script[i] === ' ') i++;
    const name = script[i] ?? '';
    i++;
    if (name === 's') {
      const d = script[i];
      if (d === undefined || /[\s\\\n]/.test(d)) return `\`${script.slice(begin)}\` cannot be read`;
      const from = delimited(script, i + 1, d);
      const to = from && delimited(script, from.end, d);
      if (!from || !to) return `\`${script.slice(begin)}\` cannot be read`;
      const flags = /^[^;\n}]*/.exec(script.slice(to.end))?.[0] ?? '';
      i = to.end + flags.length;
      out.push({
        text: script.slice(begin, i).trim(),
        name,
        addresses,
        negated,
        s: { from: from.text, to: to.text, d, flags: flags.trim() },
      });
    } else {
      // Commands with text or a file name (a, i, c, r, w, …) take the rest of the line.
      let own = /^[^;\n]*/.exec(script.slice(i))?.[0] ?? '';
      // `a\`, `i\`, `c\`: the text goes on over the lines that end in a backslash, and one more.
      if ('aic'.includes(name))
        while (own.endsWith('\\') && i + own.length < script.length)
          own += /^\n[^\n]*/.exec(script.slice(i + own.length))?.[0] ?? '';
      const trailing = /[aicrRwWeTtbl:qQvy{}#]/.test(name) ? own : '';
      i += trailing.length;
      if (trailing === '' && own.trim() !== '') return `\`${script.slice(begin)}\` cannot be read`;
      out.push({ text: script.slice(begin, i).trim(), name, addresses, negated });
    }
  }
  return out;
}

/** What a command of the script becomes in text.edit, or why it cannot become one (for the TODO). */
function asOp(c: SedCommand, extended: boolean): { replace: Replacement } | { delete: Deletion } | string {
  const shown = `\`${c.text}\``;
  if (c.name !== 's' && c.name !== 'd')
    return `the sed command \`${c.name}\` (${shown}) has no text.edit form`;
  if (c.addresses.some((a) => a.type === 'line'))
    return `${shown} picks lines by their number (${c.addresses.map((a) => a.text).join(',')}): text.edit picks lines by a pattern, and cannot tell what that line holds on each host; write a replace or delete with a pattern that matches only that line`;
  if (c.addresses.length === 2)
    return `${shown} works only between the lines /${c.addresses[0]?.type === 'regex' ? c.addresses[0].text : ''}/ and /${c.addresses[1]?.type === 'regex' ? c.addresses[1].text : ''}/ (a range, such as one section of a file): text.edit would edit every matching line of the file; for an .ini section, text.edit set: { 'section/key': value } changes the key in that section only`;
  if (c.negated)
    return `${shown} applies to the lines its address does not match (\`!\`): text.edit has no such form`;
  if (c.name === 'd') {
    const a = c.addresses[0];
    if (a?.type !== 'regex')
      return `${shown} deletes every line: write the file's new content with file.upload instead`;
    const pattern = toJsRegex(a.text, extended, a.d);
    if (pattern === undefined || pattern === '')
      return `the regex /${a.text}/ of ${shown} could be read differently by sed and by JavaScript`;
    return { delete: { pattern } };
  }
  if (c.name === 's' && c.s) {
    if (c.addresses.length > 0)
      return `${shown} replaces only on the lines matching its address: text.edit replaces on every line its pattern matches; make the pattern itself match only those lines`;
    if (!/^g?$/.test(c.s.flags))
      return `the flags \`${c.s.flags}\` of ${shown}: text.edit replaces the first match of a line, or every one (g), and nothing else`;
    const replaced = parseS(`s${c.s.d}${c.s.from}${c.s.d}${c.s.to}${c.s.d}${c.s.flags}`, extended);
    return replaced
      ? { replace: replaced }
      : `the regex or replacement of ${shown} could be read differently by sed and by JavaScript (\\d, \\n, [[:punct:]] and the like)`;
  }
  return `the sed command \`${c.name}\` (${shown}) has no text.edit form`;
}

/** The options of a `sed` command line, its scripts and operands; a string says why it is not read. */
function readSed(
  words: readonly ShellWord[],
): { inPlace?: string; extended: boolean; scripts: ShellWord[]; operands: ShellWord[] } | string {
  let inPlace: string | undefined;
  let extended = false;
  const scripts: ShellWord[] = [];
  const operands: ShellWord[] = [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i] as ShellWord;
    const w = word.value;
    if (w === '-e' || w === '--expression') scripts.push(words[++i] ?? { text: '', value: '' });
    else if (w.startsWith('--expression='))
      scripts.push({ text: word.text.slice('--expression='.length), value: w.slice('--expression='.length) });
    else if (w === '-E' || w === '-r' || w === '--regexp-extended') extended = true;
    else if (/^-i/.test(w) || /^--in-place(?:=|$)/.test(w)) inPlace = w.replace(/^(?:-i|--in-place=?)/, '');
    else if (/^-[Er]i$/.test(w)) {
      extended = true;
      inPlace = '';
    } else if (w === '-n' || w === '--quiet' || w === '--silent')
      return 'sed -n prints only what the script says to print: with -i the file keeps only those lines';
    else if (w === '-f' || w.startsWith('--file')) return 'the script is in a file cutover cannot read';
    else if (w.startsWith('-') && w !== '-') return `the option ${w} changes how sed reads the file`;
    else operands.push(words[i] as ShellWord);
  }
  if (scripts.length === 0) {
    const first = operands.shift();
    if (!first) return 'no script';
    scripts.push(first);
  }
  return { ...(inPlace !== undefined ? { inPlace } : {}), extended, scripts, operands };
}

/** The shell.run a sed cutover cannot type, with a TODO saying why and how to get an undo. */
function untyped(
  cmd: Parameters<Recogniser>[0],
  ctx: RecogniseContext,
  why: string,
  file?: string,
): Recognition {
  const undo = file ? `; it has no undo: a backup.copy of ${file} before this step is the exact one` : '';
  return fallback(cmd, ctx, `sed: ${why}${undo}`);
}

/** `sed -i[SUFFIX] [-E] SCRIPT… FILE`: one text.edit when exact, else shell.run saying why; sed without -i only prints. */
export const sed: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'sed' || cmd.stages.length > 1 || cmd.redirects.length > 0 || cmd.background)
    return undefined;
  const read = readSed(words);
  if (typeof read === 'string') return untyped(cmd, ctx, read);
  const { inPlace, extended, scripts, operands } = read;
  if (inPlace === undefined) return undefined;
  const fileText = operands.length === 1 ? (operands[0] as ShellWord).value : undefined;
  if (operands.length !== 1)
    return untyped(
      cmd,
      ctx,
      operands.length === 0
        ? 'no file named'
        : `edits ${operands.length} files (${operands.map((o) => o.value).join(', ')}): make one text.edit per file`,
    );
  // Placeholders and shell expansions in the script are the shell's to expand: it stays shell.
  // Inside single quotes `$` is sed's own (the last line, the end of a line).
  const expanded = (w: ShellWord) => /\$[A-Za-z_{(]|`/.test(w.text.replace(/'[^']*'/g, ''));
  if (scripts.some((s) => /<[^\s<>/]+>|\{\{/.test(s.value) || expanded(s)))
    return untyped(
      cmd,
      ctx,
      'the script holds a placeholder or a shell expansion, filled in when the shell runs it: text.edit needs the text itself',
      fileText,
    );
  const commands = scripts.flatMap((s): (SedCommand | string)[] => {
    const parsed = parseScript(s.value);
    return typeof parsed === 'string' ? [parsed] : parsed;
  });
  const unreadable = commands.find((c): c is string => typeof c === 'string');
  if (unreadable !== undefined) return untyped(cmd, ctx, unreadable, fileText);
  const ops = (commands as SedCommand[]).map((c) => asOp(c, extended));
  const why = ops.find((o): o is string => typeof o === 'string');
  if (why !== undefined) return untyped(cmd, ctx, why, fileText);
  const typed = ops as ({ replace: Replacement } | { delete: Deletion })[];
  const firstDelete = typed.findIndex((o) => 'delete' in o);
  if (firstDelete >= 0 && typed.slice(firstDelete).some((o) => 'replace' in o))
    return untyped(
      cmd,
      ctx,
      'the script deletes lines before it replaces in others; text.edit replaces first, then deletes, so a line the replacement changes could be kept or deleted differently: put the deletions last if that is what the document means',
      fileText,
    );
  if (commands.length === 0) return untyped(cmd, ctx, 'the script is empty', fileText);
  const uses: TemplateUse[] = [];
  const file = resolveFile(fileText as string, ctx, uses);
  if (!file) return untyped(cmd, ctx, `cutover cannot read ${fileText} as one path`);
  const todo = [...file.notes, ...dateNotes(uses)];
  if (inPlace !== '')
    todo.push(
      `sed -i${inPlace} also leaves a copy at ${file.path}${inPlace}: text.edit keeps its own byte-identical original in the step folder (its undo restores it); if something later uses ${basename(file.path)}${inPlace}, add a backup.copy before this step`,
    );
  const replace = typed.flatMap((o) => ('replace' in o ? [o.replace] : []));
  const deleted = typed.flatMap((o) => ('delete' in o ? [o.delete] : []));
  const counts = [
    replace.length > 0 ? `${replace.length} replacement${replace.length > 1 ? 's' : ''}` : '',
    deleted.length > 0 ? `${deleted.length} deletion${deleted.length > 1 ? 's' : ''}` : '',
  ].filter(Boolean);
  return {
    type: 'steps',
    recognised: true,
    why: `sed -i: text.edit (${counts.join(', ')}, byte-exact; fails if a pattern matches no line, where sed would change nothing)`,
    steps: [
      draft(
        'text.edit',
        {
          file: file.path,
          ...(replace.length > 0 ? { replace } : {}),
          ...(deleted.length > 0 ? { delete: deleted } : {}),
        },
        `edit ${nameOf(file.path)}`,
        todo,
      ),
    ],
  };
};

/** The last resort: `shell.run` with the command as written and a TODO saying why. */
import type { TemplateUse } from '../placeholders.js';
import { findSecrets } from '../redact.js';
import { type ShellWord, type SimpleCommand, withoutSudo } from '../shell-words.js';
import { draft, type Recognition, type RecogniseContext } from './context.js';
import { cwdNotes, dateNotes, hintOf, nameOf } from './support.js';

/** Programs that only look (a step made of them changes nothing). */
export const READ_ONLY: ReadonlySet<string> = new Set([
  'ls',
  'cat',
  'less',
  'more',
  'head',
  'grep',
  'ps',
  'df',
  'du',
  'free',
  'stat',
  'find',
  'journalctl',
  'top',
  'netstat',
  'ss',
  'id',
  'whoami',
  'uname',
  'date',
  'echo',
  'md5sum',
  'sha1sum',
  'sha256sum',
  'sha512sum',
  'pgrep',
  'uptime',
  'tail',
  'which',
  'wc',
  'sort',
  'uniq',
  'cut',
  'awk',
  'jq',
]);

/** The words from the program on: leading `NAME=value` assignments (often a password) and sudo's `-u USER` are not the program. */
function programWords(words: readonly ShellWord[]): readonly ShellWord[] {
  let from = words;
  while (/^-[ug]$/.test(from[0]?.value ?? '') && from.length > 2) from = from.slice(2);
  const first = from.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.value));
  return first < 0 ? [] : from.slice(first);
}

/** A relative file the command names while no folder is known: it would run in the login folder. */
function relativeNotes(words: readonly ShellWord[], ctx: RecogniseContext): string[] {
  if (ctx.cwd) return [];
  const files = programWords(words)
    .slice(1)
    .map((w) => w.value)
    .filter((v) => /^[\w.-]+\.[A-Za-z]{2,12}$/.test(v) && !v.startsWith('-') && !/^\d/.test(v));
  return files.length > 0
    ? [
        `${files.join(', ')} ${files.length > 1 ? 'are relative paths' : 'is a relative path'} and the document does not say in which folder: set cwd`,
      ]
    : [];
}

/** An id hint for a command: `run version-install` for `bash version_install.sh`, else its first two words. */
function fallbackHint(all: readonly ShellWord[]): string {
  const words = programWords(all);
  const program = words[0]?.value ?? '';
  const script = program === 'bash' || program === 'sh' ? (words[1]?.value ?? '') : program;
  if (/\.sh$/.test(script)) return `run ${nameOf(script)}`;
  return hintOf(
    words
      .slice(0, 2)
      .map((w) => w.value)
      .join(' '),
  );
}

/** Why a command fell through to shell.run, for its TODO. */
function fallbackWhy(all: readonly ShellWord[], cmd: SimpleCommand): string {
  const words = programWords(all);
  const program = words[0]?.value ?? '';
  const script = program === 'bash' || program === 'sh' ? (words[1]?.value ?? '') : program;
  if (program === '' && words.length === 0)
    return `\`${cmd.text}\` only sets a shell variable, for this step alone: if it is a line of a file, set it with text.edit (set: { KEY: value }); if later commands need it, give it to them in env`;
  if (/^[A-Za-z_][\w.-]*=/.test(program) && words.length === 1)
    return `\`${cmd.text}\` is no command: it reads as a line of a config file; if the document means one, set it with text.edit (set: { key: value }) on that file`;
  if (/\.sh$/.test(script))
    return `runs the script ${script}: cutover cannot tell what it changes; add creates or unless so a resume can tell it is done, and undo if it can be reversed`;
  // A pipeline only looks when every program in it does (`echo cmd | socat ...` changes things).
  const programs = cmd.stages.map((stage, i) => (i === 0 ? program : (withoutSudo(stage)[0]?.value ?? '')));
  const changer = programs.find((p) => !READ_ONLY.has(p));
  if (changer === undefined && cmd.redirects.every((r) => r.op === '2>&1' || r.op === '<'))
    return `\`${program}\` only looks: keep it as a check (a non-zero exit fails the step) or delete it`;
  return `no recogniser for \`${changer ?? program}\`: check what it changes; add creates/unless and undo where you can`;
}

/**
 * The fallback: `shell.run` with the command as written (placeholders as params, literal
 * secrets moved to an env var fed from a declared secret), in the known folder, with a TODO.
 * Example: fallback(parseShellLine('bash version_install.sh')[0], ctx).steps[0].kind -> 'shell.run'.
 */
export function fallback(
  cmd: SimpleCommand,
  ctx: RecogniseContext,
  why?: string,
): Extract<Recognition, { type: 'steps' }> {
  const words = withoutSudo(cmd.stages[0] ?? []);
  const reason = why ?? fallbackWhy(words, cmd);
  const uses: TemplateUse[] = [];
  let text = cmd.text;
  const env: Record<string, string> = {};
  const secrets = findSecrets(text);
  secrets.reverse().forEach((span, i) => {
    const base = secrets.length === 1 ? `line_${ctx.line}` : `line_${ctx.line}_${secrets.length - i}`;
    const secret = ctx.templater.secret(
      base,
      ctx.line,
      `a password the document wrote in the command at line ${ctx.line}`,
    );
    const variable = secret.toUpperCase();
    env[variable] = `{{ secrets.${secret} }}`;
    text = `${text.slice(0, span.start)}"$${variable}"${text.slice(span.end)}`;
  });
  const command = ctx.templater.template(text, ctx.line, uses);
  const todo = [
    `not recognised: ${reason}`,
    ...cwdNotes(ctx.cwd),
    ...dateNotes(uses),
    ...relativeNotes(words, ctx),
  ];
  if (secrets.length > 0)
    todo.push(
      'the document wrote a password here; it was not copied: the command reads it from an env var fed by a declared secret',
    );
  return {
    type: 'steps',
    recognised: false,
    why: reason,
    steps: [
      draft(
        'shell.run',
        {
          command,
          ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}),
          ...(Object.keys(env).length > 0 ? { env } : {}),
        },
        fallbackHint(words),
        todo,
      ),
    ],
  };
}

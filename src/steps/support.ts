import { z } from 'zod';
import { linearRegExp } from '../shared/regex.js';
import { type Command, ifChain, ifThen, type Interpolation, lines, raw, sh } from '../shell/command.js';
import { Secret } from '../shell/secret.js';
import { concat, Expanded, isHostDate, partsOf, TemplatedWord, type Word } from '../shell/word.js';
import type { StepContext } from './kind.js';
import { word } from './params.js';

/**
 * Helpers shared by the step kinds: param types for host paths, regexes and env vars, the
 * per-step folder on the host, and small command fragments. Pure; no I/O.
 */

/** A shell variable's value as one word. Example: `v('p')` -> `"$p"`. */
export function v(name: string): Command {
  return raw(`"$${name}"`);
}

function printf(format: string, args: readonly Interpolation[]): Command {
  return args.reduce<Command>((cmd, arg) => sh`${cmd} ${arg}`, sh`printf ${`${format}\\n`}`);
}

/** `printf 'FORMAT\n' ARGS`: a line on stdout (`key=value` lines are the step's outputs). Example: `say('path=%s', v('p'))`. */
export function say(format: string, ...args: Interpolation[]): Command {
  return printf(format, args);
}

/** `printf 'FORMAT\n' ARGS >&2`: a line for the operator on stderr. Example: `warn('%s: nothing to do', kind)`. */
export function warn(format: string, ...args: Interpolation[]): Command {
  return sh`${printf(format, args)} >&2`;
}

/** The message on stderr, then `exit CODE` (1: refused or failed, 2: cannot tell or cannot work). Example: `fail(2, '%s is missing', v('p'))`. */
export function fail(code: 1 | 2, format: string, ...args: Interpolation[]): Command {
  return lines(warn(format, ...args), sh`exit ${String(code)}`);
}

/** `[ -e P ] || [ -L P ]` for a shell variable: the path exists, or is a symlink (even a dangling one). Example: `exists('p')`. */
export function exists(name: string): Command {
  return raw(`[ -e "$${name}" ] || [ -L "$${name}" ]`);
}

/** `[ ! -e P ] && [ ! -L P ]`: nothing at all at the path. Example: `absent('k')`. */
export function absent(name: string): Command {
  return raw(`[ ! -e "$${name}" ] && [ ! -L "$${name}" ]`);
}

/** The per-step folder on the host for what an undo needs. Example: `stepDir(ctx)` -> `/var/tmp/cutover/r1/upgrade_stop_web`. */
export function stepDir(ctx: StepContext): string {
  return `${ctx.runDir}/${ctx.stepId}`;
}

/** The text of a word as the plan shows it, host dates as `$(date +FMT)`, secrets redacted. Example: `shown('/a')` -> `/a`. */
export function shown(w: Word): string {
  return String(w instanceof TemplatedWord ? w : new TemplatedWord(partsOf(w)));
}

function firstText(w: Word): string | undefined {
  const first = partsOf(w)[0];
  if (typeof first === 'string') return first;
  if (first instanceof Expanded) return first.text;
  return undefined;
}

/** True for a word that starts with `/`. Example: `isAbsoluteWord('/home/x')` -> true. */
export function isAbsoluteWord(w: Word): boolean {
  return firstText(w)?.startsWith('/') ?? false;
}

/**
 * True for a path that is safe to remove or replace: absolute, not `/`, no `.` or `..`
 * segments. Host-date parts count as ordinary name characters. Example: `/home/ecsc` -> true, `/home/..` -> false.
 */
export function isReplaceablePath(w: Word): boolean {
  if (!isAbsoluteWord(w)) return false;
  const text = partsOf(w)
    .map((p) => (isHostDate(p) ? 'D' : p instanceof Secret ? 'S' : String(p)))
    .join('');
  const segments = text.split('/').filter((s) => s !== '');
  return segments.length > 0 && !segments.some((s) => s === '.' || s === '..');
}

/** Drops trailing slashes (`/home/ecsc/` -> `/home/ecsc`) so a temp sibling never lands inside the path. */
export function withoutTrailingSlash(w: Word): Word {
  const parts = [...partsOf(w)];
  const last = parts[parts.length - 1];
  if (typeof last !== 'string') return w;
  const trimmed = last.replace(/\/+$/, '');
  if (trimmed === '' && parts.length === 1) return '/';
  parts[parts.length - 1] = trimmed;
  return concat(...(parts as Word[]));
}

const ABSOLUTE =
  'expected an absolute path on the host (starting with /); a relative path would depend on the SSH login directory';

/** A path on the target host: a templated word that must be absolute. Example: `/home/ecsc_{{ host.date('%Y%m%d') }}`. */
export const hostPath = word.refine(isAbsoluteWord, { message: ABSOLUTE }).meta({ type: 'string' });

/** True when no segment of the path is `..` (after rendering: a param holding `../..` cannot climb out). */
export function hasNoParentSegment(w: Word): boolean {
  const text = partsOf(w)
    .map((p) => (isHostDate(p) ? 'D' : p instanceof Secret ? 'S' : String(p)))
    .join('');
  return !text.split('/').some((s) => s === '..');
}

/** A host path a step writes into or edits: absolute and without `..` segments. Example: `/home/ecsc`. */
export const targetPath = word
  .refine((w) => isAbsoluteWord(w) && hasNoParentSegment(w), {
    message: `${ABSOLUTE}, without .. segments (the step writes there)`,
  })
  .meta({ type: 'string' });

/** A host path the step may remove or replace (never `/`, no `..`). Example: `/home/ecsc`. */
export const replaceablePath = word
  .refine(isReplaceablePath, {
    message: `${ABSOLUTE}, not / and without . or .. segments (the step removes or replaces it)`,
  })
  .meta({ type: 'string' });

/** A regular expression in JavaScript syntax, checked when the runbook is loaded. Example: `Skipping rebalancing`. */
export const jsRegex = z.string().superRefine((text, ctx) => {
  try {
    linearRegExp(text);
  } catch (e) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid regular expression /${text}/: ${(e as Error).message}`,
    });
  }
});

/**
 * A POSIX extended regex run on the host by `pgrep -f`. JavaScript-only syntax is refused
 * because the host would read it differently. Example: `java .*-Dcatalina.home=/home/apache-tomcat-7`.
 */
export const hostRegex = z.string().superRefine((text, ctx) => {
  if (text === '') ctx.addIssue({ code: 'custom', message: 'expected a non-empty regular expression' });
  // glibc's regex (pgrep) knows \w, \s and \b as GNU extensions, but reads \d as a plain d.
  const js = /\\[dDpPk]|\(\?/.exec(text);
  if (js) {
    ctx.addIssue({
      code: 'custom',
      message: `"${js[0]}" in /${text}/ is JavaScript regex syntax; the host matches with POSIX extended regexes (pgrep): use [0-9] for \\d and drop (?...) groups`,
    });
    return;
  }
  try {
    new RegExp(text);
  } catch (e) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid regular expression /${text}/: ${(e as Error).message}`,
    });
  }
});

/** The name of a recorded output or variable. Example: `version`. */
export const outputName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _ . -');

/** Environment variables for a script: name -> templated value (secrets allowed; they travel on stdin). Example: `{ JAVA_OPTS: '-Xmx2g' }`. */
export const envVars = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name (letters, digits, _)'),
  word,
);

/** True when a word holds a secret part. Example: `holdsSecret(new Secret('pw', 'x'))` -> true. */
export function holdsSecret(w: Word): boolean {
  return partsOf(w).some((p) => p instanceof Secret);
}

/**
 * Shell that sets up a script's environment: `cd`, exported plain values, and secret-bearing
 * values read from stdin (so they are never in any process's argv). Example:
 * `scriptEnv({ cwd: '/srv', env: { A: '1', PW: secret } })` -> `cd /srv && export A=1 && IFS= read -r PW && export PW && ` with stdin `<secret>\n`.
 */
export function scriptEnv(opts: {
  cwd?: Word | undefined;
  env?: Readonly<Record<string, Word>> | undefined;
}): {
  prefix: Command;
  /** The same steps joined with `&&`, without the trailing `&& `; undefined when there is nothing to set up. */
  setup?: Command;
  stdin?: Word;
} {
  const steps: Command[] = [];
  if (opts.cwd !== undefined) steps.push(sh`cd ${opts.cwd}`);
  const entries = Object.entries(opts.env ?? {});
  const plain = entries.filter(([, v]) => !holdsSecret(v));
  const secret = entries.filter(([, v]) => holdsSecret(v));
  if (plain.length > 0) {
    // Names are validated identifiers, so quoting leaves them bare: `export A=1 B='x y'`.
    const assignments = plain.map(([name, value]) => sh`${name}=${value}`);
    steps.push(sh`export ${joinWith(assignments, ' ')}`);
  }
  const stdinParts: Word[] = [];
  for (const [name, value] of secret) {
    steps.push(sh`IFS= read -r ${name} && export ${name}`);
    stdinParts.push(value, '\n');
  }
  if (steps.length === 0) return { prefix: raw('') };
  const setup = joinWith(steps, ' && ');
  const prefix = sh`${setup} && `;
  return stdinParts.length ? { prefix, setup, stdin: concat(...stdinParts) } : { prefix, setup };
}

function joinWith(cmds: Command[], sep: string): Command {
  return cmds.reduce((acc, c, i) => (i === 0 ? c : sh`${acc}${raw(sep)}${c}`), raw(''));
}

/** A recorded output, or undefined when it is missing or empty. Example: `recorded({ pid: '' }, 'pid')` -> undefined. */
export function recorded(outputs: Readonly<Record<string, string>>, key: string): string | undefined {
  const value = outputs[key];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Shell that prints `key=value` lines from files the step saved in its folder, for a probe
 * whose outputs feed the compensation on resume. Example: `printSaved('$d', ['existed'])`.
 */
export function printSaved(keys: readonly string[]): Command {
  return lines(
    ...keys.map((k) => ifThen(raw(`[ -e "$d/${k}" ]`), say(`${k}=%s`, raw(`"$(cat "$d/${k}")"`)))),
  );
}

/** Shell that sleeps a fifth of a second where `sleep` takes fractions, else a second: `sleep 0.2 2>/dev/null || sleep 1`. */
export const shortSleep = raw('sleep 0.2 2>/dev/null || sleep 1');

/**
 * Shell that keeps the file at `path` (copied with `cp -a` to `<dir>/previous`) the first time
 * it runs, and prints `existed=1|0` and `path=<resolved>`; a retry keeps the first answer so it
 * never saves the step's own output. Refuses a directory. Example: `saveExisting('file.upload', '/home/ecsc.tar', dir)`.
 */
export function saveExisting(kind: string, path: Word, dir: string): Command {
  return lines(
    sh`d=${dir}`,
    sh`p=${path}`,
    raw('mkdir -p -- "$d" || exit 2'),
    ifChain(
      [
        // A retry: the first attempt's answer stands.
        [raw('[ -e "$d/existed" ]'), raw(':')],
        [
          raw('[ -d "$p" ] && [ ! -L "$p" ]'),
          fail(2, '%s: %s is a directory; expected the path of a file', kind, v('p')),
        ],
        [exists('p'), raw('cp -a -- "$p" "$d/previous" && echo 1 > "$d/existed" || exit 2')],
      ],
      raw('echo 0 > "$d/existed"'),
    ),
    say('existed=%s\\npath=%s', raw('"$(cat "$d/existed")"'), v('p')),
  );
}

/**
 * The undo of a file replacement, from what `saveExisting` recorded: put the saved file back
 * (copy beside it, then rename over it) or remove the file the step created. `before` is shell
 * run first (it may use "$p"). [] when the step never recorded anything. Example: `undoReplace(outputs, '/home/ecsc.tar', dir)`.
 */
export function undoReplace(
  outputs: Readonly<Record<string, string>>,
  path: Word,
  dir: string,
  before?: Command,
): Command[] {
  const existed = recorded(outputs, 'existed');
  if (existed === undefined) return [];
  const target = recorded(outputs, 'path') ?? path;
  const first = before ? [before] : [];
  if (existed === '0') return [lines(sh`p=${target}`, ...first, raw('rm -f -- "$p"'))];
  return [
    lines(
      sh`d=${dir}`,
      sh`p=${target}`,
      ...first,
      raw('cp -a -- "$d/previous" "$p.cutover-undo" && mv -f -T -- "$p.cutover-undo" "$p"'),
    ),
  ];
}

/**
 * Shell putting a file edited by the engine back from its byte-identical backup: copy beside
 * the real file (through a symlink, so a linked sites-enabled entry stays a link), then rename.
 * Example: `restoreOriginal('yaml.edit', '/var/tmp/cutover/r1/s/original', '/etc/app.yml')`.
 */
export function restoreOriginal(kind: string, backup: Word, path: Word): Command {
  return lines(
    sh`b=${backup}`,
    sh`f=${path}`,
    ifThen(
      raw('[ ! -e "$b" ]'),
      fail(1, '%s undo: the original %s is gone; %s was left as it is', kind, v('b'), v('f')),
    ),
    raw('t=$(readlink -f -- "$f") || t=$f'),
    raw('cp -p -- "$b" "$t.cutover-undo" && mv -f -T -- "$t.cutover-undo" "$t"'),
  );
}

/** An http(s) URL, used from the controller. Example: `http://10.0.0.12:8080/login`. */
export const httpUrl = z.string().superRefine((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL, got "${text}"` });
  }
});

/** HTTP status codes. Example: `[200, 302]`. */
export const statusCodes = z.array(z.number().int().min(100).max(599)).min(1);

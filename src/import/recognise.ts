/**
 * Command recognisers: one shell command (a part of an `&&` chain) -> the step kinds that do
 * what it meant, or a note that it only shapes other steps (`cd`, `ps | grep`). Each
 * recogniser is a function tried in order; the last resort is `shell.run` with a TODO that
 * says why. Pure: the context carries everything a recogniser may look at.
 */
import { parseYaml } from './yaml-sample.js';
import { type Templater, type TemplateUse, hasPlaceholder } from './placeholders.js';
import { findSecrets } from './redact.js';
import { type ShellWord, type SimpleCommand, withoutSudo } from './shell-words.js';
import type { StepSpec } from './model.js';

/** The folder commands run in. Example: `{ path: '/home/schedule', line: 97, from: 'cd', sameSection: true }`. */
export interface Cwd {
  /** Template text of an absolute folder. */
  path: string;
  line: number;
  /** `cd` in a code block, or a folder named in the text before the block. */
  from: 'cd' | 'text';
  sameSection: boolean;
}

/** A message to wait for after `tail -f`. Example: `{ pattern: 'Skipping rebalancing \\(nothing scheduled\\)', line: 85, guessed: false }`. */
export interface LogMessage {
  pattern: string;
  line: number;
  /** What it was taken from, for the report. */
  from: string;
  /** True when the pattern is a guess a person must check. */
  guessed: boolean;
}

/** A backup made earlier in the draft, so its restore is recognised. Example: `{ ref: '2-1-ecsc/backup-ecsc', src: '/home/ecsc', dest: "/home/ecsc_{{ host.date('%Y%m%d') }}" }`. */
export interface BackupRef {
  ref: string;
  src: string;
  dest: string;
}

/** What a recogniser may look at. Example: see `recognise`. */
export interface RecogniseContext {
  line: number;
  templater: Templater;
  cwd?: Cwd;
  /** The pattern of the `ps | grep X` right before, which a `kill <PID>` refers to. */
  grep?: { pattern: string; line: number };
  /** The message to wait for after this command (for `tail -f`). */
  message(): LogMessage | undefined;
  /** YAML sample blocks after this command in its section (for editor stubs). */
  yamlSamples(): { line: number; text: string }[];
  /** nginx locations named in the section's text (`location /async`). */
  locations: string[];
  /** True inside a section about rolling back. */
  inRollback: boolean;
  backups: readonly BackupRef[];
}

/** What became of a command. Example: `{ type: 'steps', steps: [serviceStop], recognised: true, why: 'systemctl stop' }`. */
export type Recognition =
  | { type: 'steps'; steps: StepSpec[]; recognised: boolean; why: string }
  /** `cd DIR`: the folder of the commands after it (undefined: a folder cutover cannot resolve). */
  | { type: 'cd'; path?: string; why: string }
  /** `ps ... | grep X`: what a following `kill <PID>` means. */
  | { type: 'grep'; pattern: string; why: string }
  /** No step is needed; a TODO comment says why (e.g. a rollback that `cutover rollback` does). */
  | { type: 'covered'; why: string };

type Recogniser = (cmd: SimpleCommand, words: ShellWord[], ctx: RecogniseContext) => Recognition | undefined;

const SIGNALS: Record<string, string> = {
  '1': 'HUP',
  '2': 'INT',
  '3': 'QUIT',
  '9': 'KILL',
  '10': 'USR1',
  '12': 'USR2',
  '15': 'TERM',
};
const SIGNAL_NAMES = new Set(Object.values(SIGNALS));

/** A signal option (`-9`, `-KILL`, `-SIGTERM`) as a name, or undefined. Example: signalOf('-9') -> 'KILL'. */
function signalOf(option: string): string | undefined {
  const text = option.replace(/^-/, '').toUpperCase().replace(/^SIG/, '');
  if (SIGNALS[text]) return SIGNALS[text];
  return SIGNAL_NAMES.has(text) ? text : undefined;
}

/** True for a shell word cutover cannot turn into a plain path (variables, globs, ~); placeholders and templates are fine. */
function needsShell(value: string): boolean {
  return /[$`*?[\]~{}]/.test(value.replace(/<[^\s<>]+>/g, '').replace(/\{\{.*?\}\}/g, ''));
}

/** True for a URL that uses shell expansion (`$HOST`, backquotes); `?` and `&` are part of URLs. */
function urlNeedsShell(value: string): boolean {
  return /[$`]/.test(value);
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function joinPath(dir: string, rel: string): string {
  return `${dir.replace(/\/+$/, '')}/${rel.replace(/^\.\//, '')}`;
}

/** Words of an id hint without template parts. Example: hintOf('apigateway{{ params.instanceName }}') -> 'apigateway'. */
function hintOf(text: string): string {
  return text.replace(/\{\{.*?\}\}/g, ' ').replace(/<[^\s<>]+>/g, ' ');
}

/** A name for a path in an id: its last segment with letters, extensions and templates removed. Example: nameOf('/etc/x/{{ params.i }}.yml') -> 'x'. */
function nameOf(path: string): string {
  const segments = hintOf(path)
    .split('/')
    .map((s) => s.replace(/(?:\.(?:tar|gz|tgz|bz2|xz|zip|ya?ml|conf|log|out|txt|pid|sh))+\s*$/i, '').trim())
    .reverse();
  return segments.find((s) => /[A-Za-z]{2}/.test(s)) ?? '';
}

/** A path for a typed param: absolute, templated; relative paths are joined to the cwd. */
interface Resolved {
  path: string;
  notes: string[];
}

function resolvePath(value: string, ctx: RecogniseContext, uses: TemplateUse[]): Resolved | undefined {
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

function cwdNotes(cwd: Cwd | undefined): string[] {
  if (!cwd || cwd.sameSection || cwd.from === 'text') return [];
  return [`the folder ${cwd.path} comes from \`cd\` at line ${cwd.line}, in an earlier section: check it`];
}

function cwdWhy(cwd: Cwd | undefined): string {
  if (!cwd) return '';
  return cwd.from === 'cd'
    ? ` (folder from \`cd\` at line ${cwd.line})`
    : ` (folder named in the text at line ${cwd.line})`;
}

function dateNotes(uses: readonly TemplateUse[]): string[] {
  return uses
    .filter((u) => u.guessed)
    .map((u) => `${u.from} became {{ ${u.to} }}: check the date format the files really use`);
}

const options = (words: readonly ShellWord[]) => words.filter((w) => w.value.startsWith('-'));
const operands = (words: readonly ShellWord[]) => words.filter((w) => !w.value.startsWith('-'));

/** `cd DIR` sets the folder of the commands after it. */
const cd: Recogniser = (_cmd, words, ctx) => {
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

/** `ps -ef | grep X`: what the `kill <PID>` after it stops. */
const psGrep: Recogniser = (cmd) => {
  const [first, ...rest] = cmd.stages;
  if (first?.[0]?.value !== 'ps' || rest.length === 0) return undefined;
  const greps = rest.filter((s) => s[0]?.value === 'grep' && !s.some((w) => w.value === '-v'));
  const grep = greps[greps.length - 1];
  const pattern = grep ? operands(grep.slice(1))[0]?.value : undefined;
  if (!pattern || hasPlaceholder(pattern)) return undefined;
  return {
    type: 'grep',
    pattern,
    why: `lists the processes matching "${pattern}"; the kill after it becomes process.stop`,
  };
};

/** True for `kill [-SIG] <PID>`-like commands that refer to a pid found by a `ps | grep` before them. Example: `kill -9 <PID>` -> true. */
export function killsAPlaceholder(cmd: SimpleCommand): boolean {
  const words = withoutSudo(cmd.stages[0] ?? []);
  if (words[0]?.value !== 'kill' || cmd.stages.length > 1) return false;
  const args = operands(words.slice(1));
  return args.length === 1 && /^<[^\s<>]+>$/.test(args[0]?.value ?? '');
}

function killSignal(words: readonly ShellWord[]): { signal: string; rest: ShellWord[] } | undefined {
  let signal = 'TERM';
  const rest: ShellWord[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as ShellWord;
    if (w.value === '-s' || w.value === '-n' || w.value === '--signal') {
      const s = signalOf(words[i + 1]?.value ?? '');
      if (!s) return undefined;
      signal = s;
      i++;
    } else if (w.value === '-f' || w.value === '--full') {
      // pkill's "match the full command line": read by the pkill recogniser.
    } else if (w.value.startsWith('-')) {
      const s = signalOf(w.value);
      if (!s) return undefined;
      signal = s;
    } else rest.push(w);
  }
  return { signal, rest };
}

/** `kill -N <PID>` after `ps | grep X`, `kill $(cat PIDFILE)`, `kill $(pgrep -f X)`, `pkill [-f] X`: process.stop. */
const kill: Recogniser = (cmd, words, ctx) => {
  const program = words[0]?.value;
  if ((program !== 'kill' && program !== 'pkill') || cmd.stages.length > 1) return undefined;
  const parsed = killSignal(words.slice(1));
  if (!parsed) return undefined;
  const { signal, rest } = parsed;
  const signalParams = signal === 'TERM' ? {} : { signal };
  const signalWhy = signal === 'TERM' ? '' : ` with signal ${signal}`;
  if (program === 'pkill') {
    const full = words.some((w) => w.value === '-f' || w.value === '--full');
    const pattern = rest[0]?.value;
    if (rest.length !== 1 || !pattern || hasPlaceholder(pattern)) return undefined;
    return {
      type: 'steps',
      recognised: true,
      why: `pkill: process.stop${signalWhy}, matching "${pattern}"`,
      steps: [
        {
          kind: 'process.stop',
          params: { match: pattern, ...signalParams },
          idHint: `stop ${pattern}`,
          todo: full
            ? []
            : [
                `pkill without -f matches process names; match is a regex over the full command line and must find exactly one process: check "${pattern}"`,
              ],
        },
      ],
    };
  }
  const target = rest.length === 1 ? (rest[0]?.value as string) : undefined;
  if (target === undefined) return undefined;
  const pidfile = /^\$\(\s*cat\s+([^\s()]+)\s*\)$|^`\s*cat\s+([^\s`]+)\s*`$/.exec(target);
  if (pidfile) {
    const uses: TemplateUse[] = [];
    const file = resolvePath((pidfile[1] ?? pidfile[2]) as string, ctx, uses);
    if (!file) return undefined;
    return {
      type: 'steps',
      recognised: true,
      why: `kill by pid file: process.stop${signalWhy}`,
      steps: [
        {
          kind: 'process.stop',
          params: { pidfile: file.path, ...signalParams },
          idHint: `stop ${nameOf(file.path)}`,
          todo: [...file.notes, ...dateNotes(uses)],
        },
      ],
    };
  }
  const pgrep = /^\$\(\s*pgrep\s+-f\s+(?:'([^']+)'|"([^"]+)"|(\S+))\s*\)$/.exec(target);
  if (pgrep) {
    const pattern = (pgrep[1] ?? pgrep[2] ?? pgrep[3]) as string;
    return {
      type: 'steps',
      recognised: true,
      why: `kill $(pgrep -f ...): process.stop${signalWhy}`,
      steps: [
        {
          kind: 'process.stop',
          params: { match: pattern, ...signalParams },
          idHint: `stop ${pattern}`,
          todo: [],
        },
      ],
    };
  }
  if (/^<[^\s<>]+>$/.test(target) && ctx.grep) {
    const pattern = ctx.grep.pattern;
    return {
      type: 'steps',
      recognised: true,
      why: `\`ps | grep ${pattern}\` + kill ${target}: process.stop${signalWhy}`,
      steps: [
        {
          kind: 'process.stop',
          params: { match: pattern, ...signalParams },
          idHint: `stop ${pattern}`,
          todo: [
            `\`grep ${pattern}\` (line ${ctx.grep.line}) matches every process whose command line holds "${pattern}"; process.stop refuses a match that finds several: make match exact (e.g. with a folder or jar only this service's command line has)`,
          ],
        },
      ],
    };
  }
  return undefined;
};

/** `systemctl stop|start|restart UNIT...` (also `service UNIT stop`): one service.* step per unit; `systemctl status` becomes a read-only is-active check. */
const systemctl: Recogniser = (cmd, words, ctx) => {
  if (cmd.stages.length > 1) return undefined;
  let verb: string | undefined;
  let units: string[];
  if (words[0]?.value === 'systemctl') {
    const args = operands(words.slice(1)).map((w) => w.value);
    verb = args[0];
    units = args.slice(1);
  } else if (words[0]?.value === 'service' && words.length === 3) {
    verb = words[2]?.value;
    units = [words[1]?.value as string];
  } else return undefined;
  const templated = units.map((u) => ctx.templater.template(u, ctx.line));
  if (templated.length === 0 || templated.some(needsShell)) return undefined;
  if (verb === 'stop' || verb === 'start' || verb === 'restart') {
    return {
      type: 'steps',
      recognised: true,
      why: `${words[0]?.value} ${verb}: service.${verb} (waits for the unit's state)`,
      steps: templated.map((unit) => ({
        kind: `service.${verb}`,
        params: { unit },
        idHint: `${verb} ${hintOf(unit)}`,
        todo: [],
      })),
    };
  }
  if (verb === 'status' || verb === 'is-active') {
    return {
      type: 'steps',
      recognised: true,
      why: `${words[0]?.value} ${verb} is a look at the units: a read-only check that they are active (retried while they start)`,
      steps: [
        {
          kind: 'shell.run',
          params: { command: `systemctl is-active ${templated.join(' ')}` },
          idHint: `check ${hintOf(templated[0] as string)} active`,
          todo: [],
          extra: { retries: 5, retry_delay: '2s' },
        },
      ],
    };
  }
  return undefined;
};

const DATED_SUFFIX = /^[._-]?(?:\{\{ host\.date\('[^']*'\) \}\}|bak|orig|old|backup)$/;

/** `cp -R A A_<date>`: backup.copy; `cp -R A_<date> A`: the restore of that backup, which the rollback does. */
const copy: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'cp' || cmd.stages.length > 1) return undefined;
  const args = operands(words.slice(1));
  if (args.length !== 2) return undefined;
  const uses: TemplateUse[] = [];
  const src = resolvePath(args[0]?.value as string, ctx, uses);
  const dest = resolvePath(args[1]?.value as string, ctx, uses);
  if (!src || !dest) return undefined;
  const from = src.path.replace(/\/+$/, '');
  const to = dest.path.replace(/\/+$/, '');
  if (to.startsWith(from) && DATED_SUFFIX.test(to.slice(from.length))) {
    return {
      type: 'steps',
      recognised: true,
      why: 'a dated copy: backup.copy (verified; its undo restores the exact previous tree)',
      steps: [
        {
          kind: 'backup.copy',
          params: { src: from, dest: to },
          idHint: `backup ${nameOf(from)}`,
          todo: [...src.notes, ...dateNotes(uses)],
        },
      ],
    };
  }
  if (from.startsWith(to) && DATED_SUFFIX.test(from.slice(to.length))) {
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

/** `tar x...`: archive.extract into `-C DIR` or the current folder. */
const tar: Recogniser = (cmd, words, ctx) => {
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
      {
        kind: 'archive.extract',
        params: { archive: file.path, dest: into.path, ...(strip !== undefined ? { strip } : {}) },
        idHint: `extract ${nameOf(file.path)}`,
        todo: [...new Set([...file.notes, ...into.notes, ...dateNotes(uses)])],
      },
    ],
  };
};

interface HttpOptions {
  url?: string;
  user?: string;
  askPassword: boolean;
  output?: string;
  outputDir?: string;
  remoteName: boolean;
  insecure: boolean;
  method?: string;
  headers: string[];
  body?: string;
  unknown: string[];
}

type HttpField = 'user' | 'password' | 'output' | 'outputDir' | 'method' | 'header' | 'body';

/** Options that take a value, per program. */
const VALUE_OPTIONS: Record<'curl' | 'wget', Record<string, HttpField>> = {
  wget: {
    '--user': 'user',
    '--http-user': 'user',
    '--password': 'password',
    '--http-password': 'password',
    '-P': 'outputDir',
    '--directory-prefix': 'outputDir',
    '-O': 'output',
    '--output-document': 'output',
  },
  curl: {
    '-u': 'user',
    '--user': 'user',
    '-o': 'output',
    '--output': 'output',
    '-X': 'method',
    '--request': 'method',
    '-H': 'header',
    '--header': 'header',
    '-d': 'body',
    '--data': 'body',
    '--data-raw': 'body',
    '--data-binary': 'body',
  },
};

/** Flags that change nothing cutover cares about (quiet, fail on HTTP errors, follow redirects, retries). */
const HARMLESS_FLAGS =
  /^(?:--fail|--silent|--show-error|--location|--quiet|--continue|--no-verbose|--progress=\S+|--retry(?:=\S+)?|--tries=\S+|-[qcvN]+|-[fsSLv#]+)$/;

function httpOptions(program: 'curl' | 'wget', words: readonly ShellWord[]): HttpOptions {
  const o: HttpOptions = { askPassword: false, remoteName: false, insecure: false, headers: [], unknown: [] };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]?.value as string;
    if (/^https?:\/\//.test(word)) {
      o.url = word;
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq > 0 ? word.slice(0, eq) : word;
    const field = VALUE_OPTIONS[program][name];
    if (field) {
      const value = eq > 0 ? word.slice(eq + 1) : (words[++i]?.value ?? '');
      if (field === 'password') o.askPassword = true;
      else if (field === 'method') o.method = value.toUpperCase();
      else if (field === 'header') o.headers.push(value);
      else o[field] = value;
    } else if (word === '--ask-password') o.askPassword = true;
    else if (
      word === '--no-check-certificate' ||
      word === '--insecure' ||
      (program === 'curl' && word === '-k')
    )
      o.insecure = true;
    else if (program === 'curl' && (word === '-O' || word === '--remote-name')) o.remoteName = true;
    else if (program === 'curl' && /^-[fsSLkOv#]+$/.test(word)) {
      // Bundled short flags like -fsSL or -kO.
      if (word.includes('k')) o.insecure = true;
      if (word.includes('O')) o.remoteName = true;
    } else if (word.startsWith('-') && !HARMLESS_FLAGS.test(word)) o.unknown.push(word);
  }
  return o;
}

/** `wget`/`curl -o` downloads (with `--user`/`--ask-password` the password is a declared secret): file.download; other `curl` calls: http.request. */
const http: Recogniser = (cmd, words, ctx) => {
  const program = words[0]?.value;
  if ((program !== 'wget' && program !== 'curl') || cmd.stages.length > 1) return undefined;
  const o = httpOptions(program, words.slice(1));
  if (o.url === undefined || o.unknown.length > 0 || urlNeedsShell(o.url)) return undefined;
  const uses: TemplateUse[] = [];
  const url = ctx.templater.template(o.url, ctx.line, uses);
  const download = program === 'wget' || o.output !== undefined || o.remoteName;
  const host = /^https?:\/\/([^/:@]+@)?([^/:]+)/.exec(o.url)?.[2] ?? 'download';
  if (download) {
    const name = basename(o.url.replace(/[?#].*$/, ''));
    let dest: Resolved | undefined;
    if (o.output !== undefined) dest = resolvePath(o.output, ctx, uses);
    else if (o.outputDir !== undefined) {
      const dir = resolvePath(o.outputDir, ctx, uses);
      dest = dir && {
        path: joinPath(dir.path, ctx.templater.template(name, ctx.line, uses)),
        notes: dir.notes,
      };
    } else dest = resolvePath(name, ctx, uses);
    if (!dest || name === '') return undefined;
    const auth: Record<string, string> = {};
    const todo = [...dest.notes];
    let why = `${program} download: file.download (temp file, then renamed into place)`;
    if (o.user !== undefined || o.askPassword) {
      const [userPart, literal] = (o.user ?? '').split(/:(.*)/s, 2);
      if (!userPart) return undefined;
      const secret = ctx.templater.secret(
        host.split('.')[0] as string,
        ctx.line,
        `password of ${userPart} at ${host} (line ${ctx.line} of the document)`,
      );
      auth.user = ctx.templater.template(userPart, ctx.line, uses);
      auth.password = `{{ secrets.${secret} }}`;
      why += `; the password is the secret ${secret} (env ${secret.toUpperCase()} or a prompt), sent on stdin`;
      if (literal !== undefined || findSecrets(cmd.text).length > 0)
        todo.push(
          `the document writes the password in the command; it was not copied: give it through $${secret.toUpperCase()} or the prompt`,
        );
    }
    return {
      type: 'steps',
      recognised: true,
      why,
      steps: [
        {
          kind: 'file.download',
          params: { url, dest: dest.path, ...auth, ...(o.insecure ? { insecure: true } : {}) },
          idHint: `download ${nameOf(name)}`,
          todo: [...todo, ...dateNotes(uses)],
        },
      ],
    };
  }
  if (o.user !== undefined) return undefined; // basic auth on a request: leave it to a person
  const local = /^(https?:\/\/)(localhost|127\.0\.0\.1)(?=[:/]|$)/;
  const todo: string[] = [];
  let requestUrl = url;
  if (local.test(url)) {
    requestUrl = url.replace(local, '$1{{ host.address }}');
    todo.push(
      'the document calls the node itself (localhost); http.request is sent from the controller: check that this port is reachable from it',
    );
  }
  const method = o.method ?? (o.body !== undefined ? 'POST' : 'GET');
  const headers: Record<string, string> = {};
  for (const h of o.headers) {
    const colon = h.indexOf(':');
    if (colon <= 0) return undefined;
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (findSecrets(cmd.text).length > 0) return undefined;
  return {
    type: 'steps',
    recognised: true,
    why: `curl ${method}: http.request${method === 'GET' ? ' (read-only)' : ''}`,
    steps: [
      {
        kind: 'http.request',
        params: {
          url: requestUrl,
          ...(method !== 'GET' ? { method } : {}),
          ...(Object.keys(headers).length > 0 ? { headers } : {}),
          ...(o.body !== undefined ? { body: o.body } : {}),
          ...(o.insecure ? { insecure: true } : {}),
        },
        idHint: `${method.toLowerCase()} ${hintOf(o.url.replace(/^https?:\/\/[^/]+/, '').replace(/[?#].*$/, ''))}`,
        todo,
      },
    ],
  };
};

const NEVER_MATCHES = 'TODO the log line that means done';

/** `tail -f LOG` followed by a message to wait for: wait.log. */
const tailFollow: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'tail' || cmd.stages.length > 1) return undefined;
  const rest = words.slice(1);
  const follow = rest.some(
    (w) => /^-[A-Za-z0-9]*[fF][A-Za-z0-9]*$/.test(w.value) || w.value.startsWith('--follow'),
  );
  if (!follow) return undefined;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const v = rest[i]?.value as string;
    if (v === '-n' || v === '-c' || v === '--lines' || v === '--bytes') i++;
    else if (!v.startsWith('-') && !/^\+?\d+$/.test(v)) files.push(v);
  }
  if (files.length !== 1) return undefined;
  const uses: TemplateUse[] = [];
  const path = resolvePath(files[0] as string, ctx, uses);
  if (!path) return undefined;
  const todo = [...path.notes, ...dateNotes(uses)];
  let message = ctx.message();
  if (!message && /catalina\.out$/.test(path.path)) {
    message = {
      pattern: 'Server startup in',
      line: ctx.line,
      from: "Tomcat's usual start line",
      guessed: true,
    };
  }
  let why: string;
  if (!message) {
    todo.push(
      `the document only watches this log: write the line that means done as pattern (the placeholder "${NEVER_MATCHES}" never matches, so the wait times out rather than passing), and lines that mean failure as fail`,
    );
    why = 'tail -f without a message to wait for: wait.log with a pattern to write';
  } else {
    why = `tail -f + the message from ${message.from}: wait.log`;
    if (message.guessed)
      todo.push(`pattern taken from ${message.from}: check it against a real line of this log`);
  }
  return {
    type: 'steps',
    recognised: message !== undefined,
    why,
    steps: [
      {
        kind: 'wait.log',
        params: { path: path.path, pattern: message?.pattern ?? NEVER_MATCHES },
        idHint: `wait ${nameOf(path.path)}`,
        todo,
      },
    ],
  };
};

/** `rm [-f] [-r] PATH...`: file.remove per path (moved aside by default, so the undo puts it back). */
const remove: Recogniser = (cmd, words, ctx) => {
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
    steps.push({
      kind: 'file.remove',
      params: { path: path.path },
      idHint: `remove ${nameOf(path.path)}`,
      todo: [...path.notes, ...dateNotes(uses)],
    });
  }
  return {
    type: 'steps',
    recognised: true,
    why: 'rm: file.remove (kept in the run folder, so the undo puts it back)',
    steps,
  };
};

const EDITORS = new Set(['nano', 'vi', 'vim', 'vim.tiny', 'nvim', 'emacs', 'mcedit', 'joe', 'edit']);

/** `nano FILE`: a yaml.edit stub (keys from the YAML samples after it), an nginx.route stub, or a manual gate. */
const editor: Recogniser = (cmd, words, ctx) => {
  if (!EDITORS.has(words[0]?.value ?? '') || cmd.stages.length > 1) return undefined;
  const files = operands(words.slice(1));
  if (files.length !== 1) return undefined;
  const uses: TemplateUse[] = [];
  const file = resolvePath(files[0]?.value as string, ctx, uses);
  if (!file) return undefined;
  const todo = [...file.notes, ...dateNotes(uses)];
  if (/\.ya?ml$/.test(file.path)) return yamlStub(file.path, todo, ctx);
  if (/nginx/.test(file.path)) {
    const upstream = ctx.templater.param(
      'upstream',
      ctx.line,
      'where the nginx locations should send requests while this node is upgraded',
    );
    const locations = ctx.locations.length > 0 ? ctx.locations : ['/'];
    return {
      type: 'steps',
      recognised: false,
      why: 'an nginx config edited by hand: an nginx.route stub',
      steps: [
        {
          kind: 'nginx.route',
          params: { config: file.path, locations, upstream: `{{ params.${upstream} }}` },
          idHint: `route ${nameOf(file.path)}`,
          todo: [
            ...todo,
            `the document edits this nginx file by hand: check the locations (${ctx.locations.length > 0 ? 'taken from the text' : 'none named in the text, / assumed'}) and the upstream; a phase \`drain:\` does the same per node, picks a healthy neighbour and restores the file after`,
          ],
        },
      ],
    };
  }
  return {
    type: 'steps',
    recognised: false,
    why: `an interactive editor on ${file.path}: a manual gate`,
    steps: [
      {
        kind: 'gate.confirm',
        params: { message: `Edit ${file.path} as the document says (line ${ctx.line}), then approve.` },
        idHint: `edit ${nameOf(file.path)}`,
        todo: [
          ...todo,
          'an editor cannot run unattended: describe the edit as a step (yaml.edit for YAML, nginx.route for nginx, or shell.run with the exact change) and delete this gate',
        ],
      },
    ],
  };
};

function yamlStub(path: string, todo: string[], ctx: RecogniseContext): Recognition {
  const set: Record<string, unknown> = {};
  const comments: Record<string, string> = {};
  const deleted: string[] = [];
  const samples = ctx.yamlSamples();
  for (const sample of samples) {
    for (const entry of parseYaml(sample.text)) {
      const key = entry.key;
      if (entry.value === null) {
        if (!deleted.includes(key)) deleted.push(key);
        delete set[key];
        delete comments[key];
      } else {
        set[key] =
          typeof entry.value === 'string' ? ctx.templater.template(entry.value, sample.line) : entry.value;
        if (entry.comment) comments[key] = entry.comment;
        const at = deleted.indexOf(key);
        if (at >= 0) deleted.splice(at, 1);
      }
    }
  }
  const lines = samples.map((s) => s.line);
  const found = Object.keys(set).length + deleted.length > 0;
  return {
    type: 'steps',
    recognised: false,
    why: found
      ? `a YAML file edited by hand: a yaml.edit stub with the keys of the samples at line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}`
      : 'a YAML file edited by hand: a yaml.edit stub (the document shows no keys)',
    steps: [
      {
        kind: 'yaml.edit',
        params: found
          ? {
              file: path,
              ...(Object.keys(set).length > 0 ? { set } : {}),
              ...(deleted.length > 0 ? { delete: deleted } : {}),
              ...(Object.keys(comments).length > 0 ? { comments } : {}),
            }
          : { file: path, set: { TODO: 'the key to set' } },
        idHint: `edit ${nameOf(path)}`,
        todo: [
          ...todo,
          found
            ? 'the document edits this file by hand: keys without a value in its samples are deleted, the others set; check which apply to your version (a `when:` on params can hold each variant) and remove the rest'
            : 'the document edits this file by hand and shows no keys: write the keys to set and delete',
        ],
      },
    ],
  };
}

const START_SCRIPT = /(?:^|\/)(?:startup|start|run)\.sh$/;

/** `nohup sh X &`, `X &`, or a start script such as Tomcat's `bin/startup.sh`: process.start, detached. */
const start: Recogniser = (cmd, words, ctx) => {
  if (cmd.stages.length > 1) return undefined;
  const nohup = words[0]?.value === 'nohup';
  const body = nohup ? words.slice(1) : words;
  const script = body[0]?.value === 'sh' || body[0]?.value === 'bash' ? body[1]?.value : body[0]?.value;
  const startScript = script !== undefined && START_SCRIPT.test(script);
  const catalina = /(?:^|\/)catalina\.sh$/.test(body[0]?.value ?? '') && body[1]?.value === 'start';
  if (!nohup && !cmd.background && !startScript && !catalina) return undefined;
  if (body.length === 0 || findSecrets(cmd.text).length > 0) return undefined;
  const uses: TemplateUse[] = [];
  const command = ctx.templater.template(body.map((w) => w.text).join(' '), ctx.line, uses);
  const todo = [...cwdNotes(ctx.cwd), ...dateNotes(uses)];
  const out = cmd.redirects.find(
    (r) => (r.op === '>' || r.op === '>>' || r.op === '&>' || r.op === '&>>') && r.target,
  );
  let log: string | undefined;
  if (out?.target) log = resolvePath(out.target.value, ctx, uses)?.path;
  else if (nohup && ctx.cwd) log = joinPath(ctx.cwd.path, 'nohup.out');
  const scriptPath = script ?? '';
  if (!ctx.cwd && !scriptPath.startsWith('/') && !scriptPath.startsWith('<')) {
    todo.push(`${scriptPath} is relative and the document does not say in which folder it runs: set cwd`);
  }
  const dir = scriptPath.includes('/')
    ? scriptPath.slice(0, scriptPath.lastIndexOf('/')).replace(/\/bin$/, '')
    : (ctx.cwd?.path ?? '');
  return {
    type: 'steps',
    recognised: true,
    why: `${nohup ? 'nohup ... &' : cmd.background ? '... &' : 'a start script'}: process.start (detached, survives the SSH session)${cwdWhy(ctx.cwd)}`,
    steps: [
      {
        kind: 'process.start',
        params: {
          command,
          ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}),
          ...(log !== undefined ? { log } : {}),
        },
        idHint: `start ${nameOf(dir) || nameOf(scriptPath)}`,
        todo,
      },
    ],
  };
};

const RECOGNISERS: readonly Recogniser[] = [
  cd,
  psGrep,
  kill,
  systemctl,
  copy,
  tar,
  http,
  tailFollow,
  remove,
  editor,
  start,
];

const READ_ONLY = new Set([
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
]);

/** An id hint for a command: `run version-install` for `bash version_install.sh`, else its first two words. */
function fallbackHint(words: readonly ShellWord[]): string {
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
function fallbackWhy(words: readonly ShellWord[], cmd: SimpleCommand): string {
  const program = words[0]?.value ?? '';
  const script = program === 'bash' || program === 'sh' ? (words[1]?.value ?? '') : program;
  if (/\.sh$/.test(script))
    return `runs the script ${script}: cutover cannot tell what it changes; add creates or unless so a resume can tell it is done, and undo if it can be reversed`;
  if (READ_ONLY.has(program) && cmd.redirects.every((r) => r.op === '2>&1' || r.op === '<'))
    return `\`${program}\` only looks: keep it as a check (a non-zero exit fails the step) or delete it`;
  return `no recogniser for \`${program}\`: check what it changes; add creates/unless and undo where you can`;
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
  const todo = [`not recognised: ${reason}`, ...cwdNotes(ctx.cwd), ...dateNotes(uses)];
  if (secrets.length > 0)
    todo.push(
      'the document wrote a password here; it was not copied: the command reads it from an env var fed by a declared secret',
    );
  return {
    type: 'steps',
    recognised: false,
    why: reason,
    steps: [
      {
        kind: 'shell.run',
        params: {
          command,
          ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}),
          ...(Object.keys(env).length > 0 ? { env } : {}),
        },
        idHint: fallbackHint(words),
        todo,
      },
    ],
  };
}

/**
 * What one command means. Example: recognise(parseShellLine('systemctl stop nginx')[0], ctx)
 * -> { type: 'steps', steps: [{ kind: 'service.stop', params: { unit: 'nginx' }, ... }], recognised: true, ... }.
 */
export function recognise(cmd: SimpleCommand, ctx: RecogniseContext): Recognition {
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

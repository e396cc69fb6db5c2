/**
 * Waits written as shell: `until CMD; do sleep N; done` (wait.http for a curl, else wait.command),
 * `tail -f LOG | grep PATTERN` (wait.log with grep's pattern in JavaScript syntax), and a
 * follow of a program's output piped to grep (`docker compose logs -f | grep X`), which has no
 * file to watch: it stays shell, made to end at the first matching line, with a TODO.
 */
import { escapeRegex } from '../lookahead.js';
import { parseShellLine, type ShellWord, type SimpleCommand, withoutSudo } from '../shell-words.js';
import { draft, type Recognition, type Recogniser } from './context.js';
import { http } from './curl.js';
import { READ_ONLY } from './fallback.js';

const LOOP =
  /^(until|while)\s+(!\s+)?(.+?)\s*;\s*do\s+(?:echo\s+[^;]*;\s*)?sleep\s+(\d+)(s|m)?\s*;\s*done\s*$/;

/** `until CMD; do sleep N; done` (or `while ! CMD; ...`): wait.http for `curl URL`, else wait.command polling CMD every N s. */
export const loop: Recogniser = (cmd, _words, ctx) => {
  const m = LOOP.exec(cmd.text.trim());
  if (!m) return undefined;
  const keyword = m[1] as string;
  const negated = m[2];
  const condition = m[3] as string;
  const amount = m[4] as string;
  const unit = m[5];
  if ((keyword === 'until') === (negated !== undefined)) return undefined; // `while CMD` waits for a failure: leave it
  const delay = Number(amount) * (unit === 'm' ? 60 : 1);
  const parts = parseShellLine(condition);
  const only = parts.length === 1 ? (parts[0] as SimpleCommand) : undefined;
  const words = only ? withoutSudo(only.stages[0] ?? []) : [];
  if (only && words[0]?.value === 'curl') {
    const request = http(only, words, ctx);
    const step = request?.type === 'steps' ? request.steps[0] : undefined;
    if (step?.kind === 'http.request' && step.params.method === undefined && step.params.body === undefined) {
      const { url, insecure } = step.params;
      return {
        type: 'steps',
        recognised: true,
        why: `until curl ...; do sleep ${delay}; done: wait.http (polls the URL from the controller until it answers 200)`,
        steps: [
          draft(
            'wait.http',
            { url, ...(insecure ? { insecure } : {}) },
            `wait ${step.idHint.replace(/^get\s*/, '')}`,
            step.todo,
          ),
        ],
      };
    }
  }
  return {
    type: 'steps',
    recognised: true,
    why: `poll: the document runs \`${condition}\` every ${delay} s until it succeeds: wait.command`,
    steps: [
      draft(
        'wait.command',
        {
          command: ctx.templater.template(condition, ctx.line),
          interval: `${delay}s`,
          ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}),
        },
        `wait ${condition.split(/\s+/).slice(0, 2).join(' ')}`,
        [
          `the document runs \`${condition}\` until it succeeds, with no limit: this step stops trying after its timeout (10m by default); set timeout: for the time it may really take${looksOnly(condition) ? '' : lookingNote}`,
        ],
      ),
    ],
  };
};

/** Said of a poll whose programs cutover does not know to be read-only. */
export const lookingNote =
  '; wait.command is read-only (a resume runs it again freely): check that the command only looks';

/** True when every program of a command line only looks (`grep`, `test`, `cat` …). Example: looksOnly('cat /x | grep -q y') -> true. */
export function looksOnly(text: string): boolean {
  try {
    return parseShellLine(text).every((part) =>
      part.stages.every((stage) => {
        const program = withoutSudo(stage)[0]?.value ?? '';
        return READ_ONLY.has(program) || program === 'test' || program === '[' || program === 'curl';
      }),
    );
  } catch {
    return false;
  }
}

/** grep's options and pattern as a JavaScript regex; undefined for a grep cutover cannot read the same way (-i, -v, several patterns). */
export function grepPattern(words: readonly ShellWord[]): { pattern: string; first: boolean } | undefined {
  if (words[0]?.value !== 'grep' && words[0]?.value !== 'egrep' && words[0]?.value !== 'fgrep')
    return undefined;
  let syntax: 'basic' | 'extended' | 'fixed' =
    words[0].value === 'egrep' ? 'extended' : words[0].value === 'fgrep' ? 'fixed' : 'basic';
  const patterns: string[] = [];
  let first = false;
  for (let i = 1; i < words.length; i++) {
    const w = (words[i] as ShellWord).value;
    if (w === '-e' || w === '--regexp') patterns.push(words[++i]?.value ?? '');
    else if (w === '-m' || w === '--max-count') {
      first = true;
      i++;
    } else if (/^-m\d+$/.test(w) || w.startsWith('--max-count=')) first = true;
    else if (/^-[EFqs]+$/.test(w) || w === '--line-buffered' || w === '--quiet') {
      if (w.includes('E')) syntax = 'extended';
      if (w.includes('F')) syntax = 'fixed';
      if (w.includes('q')) first = true;
    } else if (w.startsWith('-')) return undefined;
    else patterns.push(w);
  }
  if (patterns.length !== 1 || patterns[0] === '') return undefined;
  const text = patterns[0] as string;
  const pattern = syntax === 'fixed' ? escapeRegex(text) : syntax === 'basic' ? basicToJs(text) : text;
  return compiles(pattern) ? { pattern, first } : undefined;
}

/** True when JavaScript reads the text as a regex (grep's dialects allow some it does not). */
function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** A POSIX basic regex as a JavaScript one: `\(` `\)` `\{` `\}` `\|` `\+` `\?` are operators, the bare characters literal. Example: 'started (x)' -> 'started \\(x\\)'. */
export function basicToJs(text: string): string {
  let out = '';
  let bracket = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (bracket) {
      out += c;
      if (c === ']') bracket = false;
    } else if (c === '[') {
      bracket = true;
      out += c;
    } else if (c === '\\' && i + 1 < text.length) {
      const n = text[++i] as string;
      out += '(){}|+?'.includes(n) ? n : `\\${n}`;
    } else out += '(){}|+?'.includes(c) ? `\\${c}` : c;
  }
  return out;
}

/** Programs whose `-f` follows output that has no file cutover could watch. */
const FOLLOWERS: Record<string, (words: readonly string[]) => boolean> = {
  docker: (w) => w.includes('logs') && w.some((x) => x === '-f' || x === '--follow'),
  'docker-compose': (w) => w.includes('logs') && w.some((x) => x === '-f' || x === '--follow'),
  kubectl: (w) => w.includes('logs') && w.some((x) => x === '-f' || x === '--follow'),
  journalctl: (w) => w.some((x) => /^-[A-Za-z]*f[A-Za-z]*$/.test(x) || x === '--follow'),
};

/** `docker compose logs -f SVC | grep X` and the like: the follow made to end at the first match (grep -m1), still shell, with a TODO. */
export const followGrep: Recogniser = (cmd, words) => {
  if (cmd.stages.length !== 2) return undefined;
  const program = words[0]?.value ?? '';
  const follows = FOLLOWERS[program];
  if (!follows?.(words.map((w) => w.value))) return undefined;
  const grep = cmd.stages[1] as ShellWord[];
  const read = grepPattern(grep);
  if (!read) return undefined;
  const text = read.first ? cmd.text : cmd.text.replace(/\|\s*(e|f)?grep\b/, (g) => `${g} -m1`);
  return followStep(text, grep[grep.length - 1]?.value ?? read.pattern, read.first);
};

function followStep(command: string, message: string, unchanged: boolean): Recognition {
  return {
    type: 'steps',
    recognised: false,
    why: `wait: the document follows the output until "${message}" shows; there is no log file for wait.log`,
    steps: [
      draft('shell.run', { command }, `wait ${message}`, [
        `the document follows this output until "${message}" shows${unchanged ? '' : ' (grep -m1 added so the step ends at the first match)'}: lines written before this step match too (add --since or --tail 0 if the program has it), and the step fails after its timeout; check`,
      ]),
    ],
  };
}

/** `ps | grep X` then `kill <PID>`, `kill $(cat PIDFILE)`, `kill $(pgrep -f X)`, `pkill`: process.stop. */
import { hasPlaceholder, type TemplateUse } from '../placeholders.js';
import { type ShellWord, type SimpleCommand, withoutSudo } from '../shell-words.js';
import { draft, type Recogniser } from './context.js';
import { dateNotes, nameOf, operands, resolvePath } from './support.js';

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

/** `ps -ef | grep X`: what the `kill <PID>` after it stops. */
export const psGrep: Recogniser = (cmd) => {
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
export const kill: Recogniser = (cmd, words, ctx) => {
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
        draft(
          'process.stop',
          { match: pattern, ...signalParams },
          `stop ${pattern}`,
          full
            ? []
            : [
                `pkill without -f matches process names; match is a regex over the full command line and must find exactly one process: check "${pattern}"`,
              ],
        ),
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
        draft('process.stop', { pidfile: file.path, ...signalParams }, `stop ${nameOf(file.path)}`, [
          ...file.notes,
          ...dateNotes(uses),
        ]),
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
      steps: [draft('process.stop', { match: pattern, ...signalParams }, `stop ${pattern}`, [])],
    };
  }
  if (/^<[^\s<>]+>$/.test(target) && ctx.grep) {
    const pattern = ctx.grep.pattern;
    return {
      type: 'steps',
      recognised: true,
      why: `\`ps | grep ${pattern}\` + kill ${target}: process.stop${signalWhy}`,
      steps: [
        draft('process.stop', { match: pattern, ...signalParams }, `stop ${pattern}`, [
          `\`grep ${pattern}\` (line ${ctx.grep.line}) matches every process whose command line holds "${pattern}"; process.stop refuses a match that finds several: make match exact (e.g. with a folder or jar only this service's command line has)`,
        ]),
      ],
    };
  }
  return undefined;
};

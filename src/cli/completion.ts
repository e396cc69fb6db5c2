/**
 * Shell completion. `cutover completion bash|zsh|fish` prints a script; the script calls the hidden
 * entry point `cutover __complete -- WORD…` (the words after `cutover`, the last one being completed)
 * which prints one candidate a line: commands, options, run ids (the state folder), step ids and host
 * names (the runbook and inventory given on the line, else the latest run's plan), or `__files__` for
 * a path the shell completes itself. It never fails: a broken file or folder gives fewer candidates.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import { stateDir } from './context.js';

/** A run id, as newRunId makes them. */
const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

/** What the shell completes with its own file completion. */
const FILES = '__files__';

/** Options whose value is a file or folder. */
const FILE_OPTIONS = new Set([
  '-r',
  '--runbook',
  '-i',
  '--inventory',
  '-p',
  '--param',
  '--state-dir',
  '--ssh-config',
  '--become-password-file',
  '-o',
  '--out',
  '--html',
]);
/** Options whose values are runbook steps (`phase/step`) or, on resume, plan step ids. */
const STEP_OPTIONS = new Set(['--only', '--from']);
const PLAN_STEP_OPTIONS = new Set(['--rerun', '--mark-done']);
const HOST_OPTIONS = new Set(['-l', '--limit']);

/** `cutover completion SHELL`. */
export function registerCompletion(program: Command): void {
  program
    .command('completion <shell>')
    .description(
      'print a completion script for bash, zsh or fish (commands, options, run ids, step ids, host names); e.g. source <(cutover completion bash)',
    )
    .action((shell: string) => {
      const script = SCRIPTS[shell];
      if (!script)
        throw new UsageError(
          `completion ${shell}: no script for that shell`,
          'Use one of: cutover completion bash | zsh | fish',
        );
      process.stdout.write(script);
    });
}

/** The candidates for the last of `words` (the words after `cutover`; the last one may be empty). Example: `complete(program, ['res'])` -> `['resume']`. */
export function complete(program: Command, words: readonly string[]): string[] {
  const cur = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  // The command path (`lab up`) and the options seen, skipping option values.
  let command = program;
  const given = new Map<string, string[]>();
  let lastOption: Option | undefined;
  for (let i = 0; i < before.length; i++) {
    const w = before[i] as string;
    if (w.startsWith('-')) {
      const name = w.split('=')[0] as string;
      const option = findOption(command, name) ?? findOption(program, name);
      lastOption = option;
      if (option && (option.required || option.optional) && !w.includes('=')) {
        const value = before[i + 1];
        if (value !== undefined) {
          given.set(option.long ?? name, [...(given.get(option.long ?? name) ?? []), value]);
          i += 1;
          if (option.variadic) lastOption = option;
        }
      }
      continue;
    }
    const sub = command.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) {
      command = sub;
      lastOption = undefined;
    } else if (!lastOption?.variadic) lastOption = undefined;
  }
  const prev = before[before.length - 1];
  const prevOption = prev?.startsWith('-')
    ? (findOption(command, prev) ?? findOption(program, prev))
    : undefined;
  const wanting = prevOption && (prevOption.required || prevOption.optional) ? prevOption : undefined;
  const valueFor = wanting ?? (lastOption?.variadic && !cur.startsWith('-') ? lastOption : undefined);
  const run = before.find((w) => RUN_ID.test(w));
  const ctx: Context = { program, given, ...(run ? { run } : {}) };
  let out: string[];
  if (valueFor) out = optionValues(valueFor, ctx);
  else if (cur.startsWith('-')) out = optionNames(command, program);
  else if (command.commands.length > 0)
    out = command.commands
      .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
      .map((c) => c.name());
  else out = argumentValues(command, ctx);
  if (out[0] === FILES) return [FILES];
  return out.filter((c) => c.startsWith(cur));
}

function findOption(command: Command, flag: string): Option | undefined {
  return command.options.find((o) => o.short === flag || o.long === flag);
}

function optionNames(command: Command, program: Command): string[] {
  const names = (c: Command) => c.options.flatMap((o) => (o.hidden ? [] : [o.long ?? o.short ?? '']));
  return [...new Set([...names(command), ...(command === program ? [] : names(program)), '--help'])].filter(
    Boolean,
  );
}

interface Context {
  program: Command;
  given: Map<string, string[]>;
  /** A run id on the line (`resume RUN --rerun …`). */
  run?: string;
}

function optionValues(option: Option, ctx: Context): string[] {
  const flag = option.long ?? option.short ?? '';
  if (FILE_OPTIONS.has(flag) || (option.short && FILE_OPTIONS.has(option.short))) return [FILES];
  if (STEP_OPTIONS.has(flag)) return runbookSteps(ctx);
  if (PLAN_STEP_OPTIONS.has(flag)) return planStepIds(ctx);
  if (HOST_OPTIONS.has(flag)) return hostNames(ctx);
  if (flag === '--schema') return ['runbook', 'inventory', 'events'];
  if (flag === '--scenario') return ['comindware', 'ecsc'];
  return option.argChoices ?? [];
}

function argumentValues(command: Command, ctx: Context): string[] {
  const arg = command.registeredArguments[0];
  if (!arg) return [];
  if (command.name() === 'completion') return Object.keys(SCRIPTS);
  if (arg.name() === 'run') return runIds(ctx).reverse();
  if (command.name() === 'import') return [FILES];
  return arg.argChoices ?? [];
}

function stateFolder(ctx: Context): string {
  return stateDir({
    ...(ctx.given.get('--state-dir') ? { stateDir: ctx.given.get('--state-dir')?.[0] } : {}),
  });
}

/** Run ids of the state folder, oldest first. */
function runIds(ctx: Context): string[] {
  const dir = join(stateFolder(ctx), 'runs');
  try {
    return readdirSync(dir)
      .filter((r) => existsSync(join(dir, r, 'events.jsonl')))
      .sort();
  } catch {
    return [];
  }
}

/** The plan a run kept (`plan.json`): the run on the line, else the latest. */
function latestPlan(ctx: Context, run?: string): PlanRecord | undefined {
  const runs = runIds(ctx);
  for (const id of run ? [run] : runs.reverse()) {
    try {
      return JSON.parse(readFileSync(join(stateFolder(ctx), 'runs', id, 'plan.json'), 'utf8')) as PlanRecord;
    } catch {
      if (run) return undefined;
    }
  }
  return undefined;
}

interface PlanRecord {
  hosts?: { name: string; roles?: string[] }[];
  phases?: { id: string; steps?: Record<string, { id: string; stepId: string }[]> }[];
}

/** `phase/step` and the bare step ids of the runbook on the line (`-r`), else of the latest run's plan. */
function runbookSteps(ctx: Context): string[] {
  const file = ctx.given.get('--runbook')?.[0];
  let pairs: [string, string][] = [];
  if (file) {
    try {
      const doc = parseYaml(readFileSync(file, 'utf8')) as {
        phases?: { id?: unknown; steps?: { id?: unknown }[] }[];
      };
      pairs = (doc.phases ?? []).flatMap((p) =>
        (p.steps ?? []).map((s) => [String(p.id), String(s.id)] as [string, string]),
      );
    } catch {
      pairs = [];
    }
  } else {
    const plan = latestPlan(ctx);
    pairs = (plan?.phases ?? []).flatMap((p) =>
      [...new Set(Object.values(p.steps ?? {}).flatMap((steps) => steps.map((s) => s.stepId)))].map(
        (s) => [p.id, s] as [string, string],
      ),
    );
  }
  const phases = [...new Set(pairs.map(([p]) => `${p}/*`))];
  return [...new Set([...pairs.map(([p, s]) => `${p}/${s}`), ...pairs.map(([, s]) => s), ...phases])];
}

/** Plan step ids (`phase/step@host`) of the run on the line (resume RUN), else of the latest run. */
function planStepIds(ctx: Context): string[] {
  const plan = latestPlan(ctx, ctx.run);
  return (plan?.phases ?? []).flatMap((p) => Object.values(p.steps ?? {}).flatMap((s) => s.map((x) => x.id)));
}

/** Host names and roles: the inventory on the line (`-i`, cutover YAML), else the latest run's plan. */
function hostNames(ctx: Context): string[] {
  const files = ctx.given.get('--inventory') ?? [];
  const names: string[] = [];
  for (const file of files) {
    try {
      const doc = parseYaml(readFileSync(file, 'utf8')) as {
        hosts?: Record<string, { roles?: string[] } | null>;
      };
      for (const [name, h] of Object.entries(doc.hosts ?? {})) names.push(name, ...(h?.roles ?? []));
    } catch {
      // A folder, an INI file or a broken one: no names from it.
    }
  }
  if (names.length === 0)
    for (const h of latestPlan(ctx)?.hosts ?? []) names.push(h.name, ...(h.roles ?? []));
  return [...new Set(names)];
}

/** The entry point the scripts call: `cutover __complete -- WORD…`. Prints the candidates; always exit 0. */
export function completionEntry(program: Command, argv: readonly string[]): void {
  const words = argv[0] === '--' ? argv.slice(1) : argv;
  try {
    const out = complete(program, words.length ? words : ['']);
    if (out.length) process.stdout.write(`${out.join('\n')}\n`);
  } catch {
    // Completion never shows an error: no candidates.
  }
}

const BASH = `# cutover completion for bash: source <(cutover completion bash), or save it in
# /etc/bash_completion.d/cutover.
_cutover() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n'
  local out
  out=$(cutover __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  if [[ $out == __files__ ]]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
  fi
}
complete -F _cutover cutover
`;

const ZSH = `#compdef cutover
# cutover completion for zsh: source <(cutover completion zsh), or save it as _cutover in your $fpath.
_cutover() {
  local -a out
  out=("\${(@f)$(cutover __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ "\${out[1]}" == __files__ ]]; then
    _files
    return
  fi
  compadd -- "\${out[@]}"
}
if (( $+functions[compdef] )); then
  compdef _cutover cutover
fi
`;

/** fish sorts candidates unless `-k`: kept in cutover's order (hosts before roles, steps in run order). */
const FISH = `# cutover completion for fish: cutover completion fish > ~/.config/fish/completions/cutover.fish
function __cutover_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (cutover __complete -- $words[2..-1] 2>/dev/null)
    if test "$out[1]" = __files__
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out
    end
end
complete -c cutover -f -k -a '(__cutover_complete)'
`;

/** The scripts by shell. */
export const SCRIPTS: Record<string, string> = { bash: BASH, zsh: ZSH, fish: FISH };

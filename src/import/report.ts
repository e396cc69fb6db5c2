/**
 * `cutover import --report`: what became of each command of the document (recognised, not
 * recognised, no step needed) and why, plus what the prose produced; a view of ImportResult.
 */
import type { CommandRecord, ImportResult } from './model.js';

/** Counts for the summary line. Example: `{ commands: 29, recognised: 21, notRecognised: 4, noStep: 4, typed: 19, shell: 6, waits: 4, guessed: 7, phases: 5, steps: 27, todos: 19 }`. */
export interface ImportSummary {
  commands: number;
  recognised: number;
  notRecognised: number;
  noStep: number;
  /** Commands that became a step of a kind other than shell.run. */
  typed: number;
  /** Commands that became shell.run steps only. */
  shell: number;
  /** Commands that became a wait: a wait.* step, a poll or a followed output that ends at a match. */
  waits: number;
  /** Places where the draft guessed and says so: typed steps with a TODO, and phases whose hosts have one. */
  guessed: number;
  phases: number;
  steps: number;
  todos: number;
}

/** Which group of the report a command belongs to. Example: a shell.run fallback -> 'not recognised'. */
export function groupOf(record: CommandRecord): 'recognised' | 'not recognised' | 'no step needed' {
  if (record.outcome === 'covered') return 'no step needed';
  return record.recognised ? 'recognised' : 'not recognised';
}

/** The numbers of an import. Example: summarize(result).todos -> 19. */
export function summarize(result: ImportResult): ImportSummary {
  const steps = result.phases.flatMap((p) => p.entries.flatMap((e) => ('step' in e ? [e.step] : [])));
  const groups = result.commands.map(groupOf);
  const made = result.commands.filter((r) => r.outcome === 'step');
  return {
    commands: result.commands.length,
    recognised: groups.filter((g) => g === 'recognised').length,
    notRecognised: groups.filter((g) => g === 'not recognised').length,
    noStep: groups.filter((g) => g === 'no step needed').length,
    typed: made.filter((r) => r.kinds.some((k) => k !== 'shell.run')).length,
    shell: made.filter((r) => r.kinds.every((k) => k === 'shell.run')).length,
    waits: made.filter((r) => r.kinds.some((k) => k.startsWith('wait.')) || /^(?:poll|wait):/.test(r.why))
      .length,
    guessed:
      steps.filter((s) => s.kind !== 'shell.run' && s.todo.length > 0).length +
      result.phases.filter((p) => p.hostsTodo !== undefined).length,
    phases: result.phases.length,
    steps: steps.length,
    todos: steps.filter((s) => s.todo.length > 0).length + (result.yaml.match(/^\s*# TODO\b/gm) ?? []).length,
  };
}

/** One line for people. Example: `5 phases, 27 steps from 29 commands: 21 recognised, 4 not recognised, 4 need no step; 19 TODOs to review`. */
export function summaryLine(s: ImportSummary): string {
  return `${s.phases} phases, ${s.steps} steps from ${s.commands} commands: ${s.recognised} recognised, ${s.notRecognised} not recognised, ${s.noStep} need no step; ${s.todos} TODOs to review`;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/**
 * The report as text. Example: reportText(result) includes
 * `  seed.txt:17  kill -9 <PID>\n      -> 2-1-ecsc/stop-java (process.stop): ...`.
 */
export function reportText(result: ImportResult): string {
  const s = summarize(result);
  const out: string[] = [
    `cutover import ${result.file}: ${summaryLine(s)}`,
    `  ${s.typed} commands typed, ${s.shell} shell.run, ${s.waits} waits, ${s.guessed} guesses marked TODO`,
  ];
  const groups: [ReturnType<typeof groupOf>, string][] = [
    ['recognised', 'Recognised'],
    ['not recognised', 'Not recognised (shell.run or a stub, each with a TODO saying why)'],
    ['no step needed', 'No step needed (a TODO comment in the draft says why)'],
  ];
  for (const [group, title] of groups) {
    const records = result.commands.filter((r) => groupOf(r) === group);
    if (records.length === 0) continue;
    out.push('', `${title}: ${records.length}`);
    for (const r of records) {
      out.push(`  ${result.file}:${r.line}  ${r.text}`);
      const target =
        r.steps.length > 0
          ? `${[...new Set(r.steps)].join(', ')} (${[...new Set(r.kinds)].join(', ')}): `
          : r.outcome === 'folded'
            ? 'shapes the steps after it: '
            : '';
      out.push(indent(`-> ${target}${r.why}`, '      '));
      // A fallback's TODO repeats its why: say it once.
      const todos = [...new Set(r.todo)].filter((t) => t !== `not recognised: ${r.why}`);
      if (group !== 'no step needed') for (const todo of todos) out.push(`      TODO ${todo}`);
    }
  }
  if (result.prose.length > 0) {
    out.push('', `From the text: ${result.prose.length}`);
    for (const p of [...result.prose].sort((a, b) => a.line - b.line))
      out.push(`  ${result.file}:${p.line}  ${p.text.trim()}`, `      -> ${p.effect}`);
  }
  const { hosts } = result;
  if (hosts.names.length > 0) {
    out.push('', `Hosts the document names (for the inventory): ${hosts.names.length}`);
    const address = new Map([...hosts.addresses].map(([a, n]) => [n, a]));
    for (const name of hosts.names) out.push(`  ${name}${address.has(name) ? ` ${address.get(name)}` : ''}`);
    if (hosts.order)
      out.push(`  order (line ${hosts.order.line}): ${hosts.order.hosts.join(', ')}: "${hosts.order.text}"`);
  }
  if (result.params.length > 0) {
    out.push('', `Params (give them with -p NAME=VALUE): ${result.params.length}`);
    for (const p of result.params)
      out.push(`  ${p.name}: ${p.description ?? p.placeholder} (line ${p.line})`);
  }
  if (result.secrets.length > 0) {
    out.push('', `Secrets (never written anywhere): ${result.secrets.length}`);
    for (const p of result.secrets) out.push(`  ${p.name}: $${p.env} or a prompt; ${p.description}`);
  }
  return `${out.join('\n')}\n`;
}

/** The report as one JSON object (for --json). Example: reportJson(result).commands[0].why. */
export function reportJson(result: ImportResult): Record<string, unknown> {
  return {
    file: result.file,
    summary: summarize(result),
    commands: result.commands.map((r) => ({ ...r, group: groupOf(r) })),
    prose: result.prose,
    params: result.params,
    secrets: result.secrets,
    hosts: {
      names: result.hosts.names,
      addresses: Object.fromEntries(result.hosts.addresses),
      ...(result.hosts.order ? { order: result.hosts.order } : {}),
    },
  };
}

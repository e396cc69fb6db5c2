/**
 * Results as Markdown: one table per benchmark with the load average around it, and the
 * generated block of bench/README.md between two markers (everything outside them is prose
 * people write and is kept as it is).
 */

/** One benchmark's results. Example: `{ id: 'fanout', title: '2. Fan-out', columns: ['hosts', 'wall'], rows: [['3', '0.8 s']], notes: [], load }`. */
export interface BenchTable {
  id: string;
  title: string;
  /** One line on what was run, above the table. */
  setup: string;
  columns: string[];
  rows: string[][];
  /** Findings and caveats, printed as a list under the table. */
  notes: string[];
  /** The 1/5/15-minute load averages when the benchmark started and ended. */
  load: { before: readonly number[]; after: readonly number[] };
  /** Wall time of the whole benchmark, setup included. */
  tookMs: number;
  /** The goals this benchmark measures, each beside its floor (the summary table at the top of the results). */
  goals?: GoalCheck[];
}

/**
 * One goal, measured beside its floor in the same run. Example:
 * `{ goal: 'wait.log p95 ≤ 20 ms', measured: '14.2 ms', floor: '…', met: true }`.
 */
export interface GoalCheck {
  goal: string;
  measured: string;
  /** What the same thing costs at its physical limit, measured in the same run where possible. */
  floor: string;
  /** Undefined when the benchmark could not measure it (then `measured` says why). */
  met: boolean | undefined;
}

/** The goals of every benchmark in one table, first in the results. Example: goalsTable([t]).startsWith('### Goals'). */
export function goalsTable(tables: readonly Pick<BenchTable, 'title' | 'goals'>[]): string | undefined {
  const goals = tables.flatMap((t) =>
    (t.goals ?? []).map((g) => ({ ...g, where: t.title.split(':')[0] ?? '' })),
  );
  if (goals.length === 0) return undefined;
  const met = goals.filter((g) => g.met === true).length;
  return [
    '### Goals (issue 15), each beside its floor',
    '',
    `${met} of ${goals.length} met in this run. Each figure is from the benchmark named in the last column, in this run and under the load said there.`,
    '',
    markdownTable(
      ['goal', 'measured', 'floor (same run)', 'met', 'benchmark'],
      goals.map((g) => [
        g.goal,
        g.measured,
        g.floor,
        g.met === undefined ? 'not measured' : g.met ? 'yes' : '**no**',
        g.where,
      ]),
    ),
  ].join('\n');
}

/** Where the generated results start in bench/README.md. Example: the line before '## Results'. */
export const RESULTS_BEGIN =
  '<!-- bench:results:begin (written by `npm run bench`; edit the prose outside) -->';
/** Where the generated results end in bench/README.md. Example: the last line of the file. */
export const RESULTS_END = '<!-- bench:results:end -->';

/** Load averages as `uptime` prints them. Example: formatLoad([0.5, 1, 1.25]) -> '0.50 1.00 1.25'. */
export function formatLoad(load: readonly number[]): string {
  return load.map((l) => l.toFixed(2)).join(' ');
}

/** A cell safe inside a Markdown table. Example: cell('a|b') -> 'a\\|b'. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table. Example: markdownTable(['a', 'b'], [['1', '2']]) -> '| a | b |\n|---|---|\n| 1 | 2 |'. */
export function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(columns), `|${columns.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** One benchmark as a Markdown section: title, setup, load, table, notes. Example: renderTable(t).startsWith('### 2. Fan-out'). */
export function renderTable(t: BenchTable): string {
  const parts = [
    `### ${t.title}`,
    '',
    t.setup,
    '',
    `Load average (1/5/15 min) before: ${formatLoad(t.load.before)}; after: ${formatLoad(t.load.after)}.`,
    '',
    markdownTable(t.columns, t.rows),
  ];
  if (t.notes.length > 0) parts.push('', ...t.notes.map((n) => `- ${n}`));
  return parts.join('\n');
}

/**
 * Puts `body` between the result markers of a README, or appends the markers and body when the
 * README has none; text outside the markers is kept byte for byte.
 * Example: replaceResults('# B\n', 'x') -> `# B\n\n${RESULTS_BEGIN}\nx\n${RESULTS_END}\n`.
 */
export function replaceResults(readme: string, body: string): string {
  const block = `${RESULTS_BEGIN}\n${body.trim()}\n${RESULTS_END}`;
  const begin = readme.indexOf(RESULTS_BEGIN);
  const end = readme.indexOf(RESULTS_END);
  if (begin >= 0 && end > begin) {
    return readme.slice(0, begin) + block + readme.slice(end + RESULTS_END.length);
  }
  if (begin >= 0 || end >= 0) {
    throw new Error(
      'bench/README.md: found only one of the results markers (or the end before the begin); put both back, begin first, or remove both',
    );
  }
  return `${readme.trimEnd()}\n\n${block}\n`;
}

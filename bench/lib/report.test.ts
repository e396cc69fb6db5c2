import { describe, expect, it } from 'vitest';
import {
  type BenchTable,
  goalsTable,
  markdownTable,
  RESULTS_BEGIN,
  RESULTS_END,
  renderTable,
  replaceResults,
} from './report.js';

const table: BenchTable = {
  id: 'fanout',
  title: '2. Fan-out',
  setup: 'One step on N hosts.',
  columns: ['hosts', 'wall'],
  rows: [
    ['3', '0.8 s'],
    ['a|b', '1 s'],
  ],
  notes: ['grows linearly'],
  load: { before: [0.5, 1, 1.25], after: [2, 1.5, 1] },
  tookMs: 1000,
};

describe('Markdown results', () => {
  it('renders a table with escaped cells', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']])).toBe('| a | b |\n|---|---|\n| 1 | x\\|y |');
  });

  it('renders a benchmark with its setup, load averages and notes', () => {
    expect(renderTable(table)).toBe(
      [
        '### 2. Fan-out',
        '',
        'One step on N hosts.',
        '',
        'Load average (1/5/15 min) before: 0.50 1.00 1.25; after: 2.00 1.50 1.00.',
        '',
        '| hosts | wall |',
        '|---|---|',
        '| 3 | 0.8 s |',
        '| a\\|b | 1 s |',
        '',
        '- grows linearly',
      ].join('\n'),
    );
  });
});

describe('the README results block', () => {
  it('appends the markers when the README has none', () => {
    expect(replaceResults('# Benchmarks\n\nprose\n', 'new')).toBe(
      `# Benchmarks\n\nprose\n\n${RESULTS_BEGIN}\nnew\n${RESULTS_END}\n`,
    );
  });

  it('replaces only what is between the markers', () => {
    const before = `head\n${RESULTS_BEGIN}\nold\nresults\n${RESULTS_END}\ntail\n`;
    expect(replaceResults(before, 'new')).toBe(`head\n${RESULTS_BEGIN}\nnew\n${RESULTS_END}\ntail\n`);
    expect(replaceResults(replaceResults(before, 'new'), 'new')).toBe(replaceResults(before, 'new'));
  });

  it('refuses a README with one marker, saying how to fix it', () => {
    expect(() => replaceResults(`x\n${RESULTS_END}\n`, 'new')).toThrow(/put both back/);
  });
});

describe('the goals table', () => {
  it('lists every goal beside its floor, says which are not met, and counts them', () => {
    const text = goalsTable([
      {
        title: '3. Log-wait latency: line appended',
        goals: [{ goal: 'p95 ≤ 20 ms', measured: '14 ms', floor: '~1 ms', met: true }],
      },
      { title: '2. Fan-out', goals: [{ goal: 'within 1.3×', measured: '2.1×', floor: '4 s', met: false }] },
      {
        title: '4. Seeds',
        goals: [{ goal: 'share ≤ 8 %', measured: 'lab failed', floor: '–', met: undefined }],
      },
      { title: '5. Lab' },
    ]);
    expect(text).toContain('1 of 3 met in this run.');
    expect(text).toContain('| p95 ≤ 20 ms | 14 ms | ~1 ms | yes | 3. Log-wait latency |');
    expect(text).toContain('| within 1.3× | 2.1× | 4 s | **no** | 2. Fan-out |');
    expect(text).toContain('| share ≤ 8 % | lab failed | – | not measured | 4. Seeds |');
  });

  it('is left out when no benchmark measured a goal', () => {
    expect(goalsTable([{ title: '5. Lab' }])).toBeUndefined();
  });
});

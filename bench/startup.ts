/**
 * Start-up of the commands operators call dozens of times a night, side by side with Node's own
 * start (`node -e 0`), in the same rounds (issue 15, item 2). No lab and no SSH: `status` reads a
 * run made here with the local transport, `plan` compiles the comindware example against its
 * real inventory (`ssh -G` per host only; nothing connects).
 *
 * The commands run in turn, round after round (node, --version, status, plan, node, ...), so load
 * that comes and goes hits them alike; each ratio is the median of the per-round ratios to
 * `node -e 0` of the same round. Run alone: `node bench/run.mjs --only startup`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchContext, benchDir, type TableBody } from './lib/context.js';
import type { GoalCheck } from './lib/report.js';
import { formatMs, median, summarize } from './lib/stats.js';

interface Command {
  name: string;
  argv: string[];
  /** At most this many times `node -e 0` (issue 15). */
  goal?: number;
}

/** Measures item 6 and returns its table. Example: `await startup(ctx)`. */
export async function startup(ctx: BenchContext): Promise<TableBody> {
  const dir = benchDir(ctx, 'startup');
  const rounds = Math.max(15, ctx.runs * 3);
  const [node, cli] = ctx.cli as [string, string];
  const state = join(dir, 'state');
  const inventory = join(dir, 'inventory.yml');
  const runbook = join(dir, 'runbook.yml');
  writeFileSync(
    inventory,
    'cluster: startup\nhosts:\n  one: { address: 127.0.0.1, transport: local }\n  two: { address: 127.0.0.1, transport: local }\n',
  );
  writeFileSync(
    runbook,
    [
      'name: startup',
      'phases:',
      '  - id: up',
      '    hosts: all',
      '    rolling: { serial: 1 }',
      '    steps:',
      ...['a', 'b', 'c'].flatMap((id) => [`      - id: ${id}`, '        shell.run: { command: "true" }']),
      '',
    ].join('\n'),
  );
  execFileSync(node, [cli, '--state-dir', state, 'apply', '-r', runbook, '-i', inventory, '--yes'], {
    stdio: 'ignore',
  });
  const listed = execFileSync(node, [cli, '--state-dir', state, 'runs', '--json'], { encoding: 'utf8' });
  const run = (JSON.parse(listed.trim().split('\n')[0] as string) as { run: string }).run;

  const example = join(ctx.root, 'examples', 'comindware');
  const commandsOf = (bin: string, label: string): Command[] => [
    { name: `\`cutover --version\`${label}`, argv: [bin, '--version'], goal: 2 },
    { name: `\`cutover status RUN\`${label}`, argv: [bin, '--state-dir', state, 'status', run], goal: 2 },
    {
      name: `\`cutover plan\` (comindware example)${label}`,
      argv: [
        bin,
        'plan',
        '-r',
        join(example, 'runbook.yml'),
        '-i',
        join(example, 'inventory.real.yml'),
        '-p',
        'version=5.0.24120.0',
        '-p',
        'distr_url=http://artifacts.example/cmw',
      ],
      goal: 3,
    },
  ];
  const commands: Command[] = [
    { name: '`node -e 0` (the floor)', argv: ['-e', '0'] },
    ...commandsOf(cli, ''),
    ...(ctx.beforeCli ? commandsOf(ctx.beforeCli[1] as string, ', before (`--before`)') : []),
  ];
  const once = (argv: string[]): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(node, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ctx.root });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    return ms;
  };
  for (const c of commands) once(c.argv); // warm-up: the file cache, not the measurement
  const times: number[][] = commands.map(() => []);
  for (let i = 0; i < rounds; i++) {
    if (i % 5 === 0) ctx.log(`start-up: round ${i + 1} of ${rounds}`);
    for (const [j, c] of commands.entries()) times[j]?.push(once(c.argv));
  }
  const floor = times[0] as number[];
  const rows: string[][] = [];
  const goals: GoalCheck[] = [];
  for (const [j, c] of commands.entries()) {
    const t = summarize(times[j] as number[]);
    const ratio =
      j === 0 ? undefined : median((times[j] as number[]).map((x, i) => x / (floor[i] as number)));
    rows.push([
      c.name,
      formatMs(t.median),
      `${formatMs(t.min)}–${formatMs(t.max)}`,
      ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
      c.goal ? `≤ ${c.goal}×` : '',
    ]);
    if (c.goal && ratio !== undefined && !c.name.includes('before'))
      goals.push({
        goal: `${c.name.split(' (')[0]} within ${c.goal}× of \`node -e 0\``,
        measured: `${ratio.toFixed(2)}× (${formatMs(t.median)})`,
        floor: `\`node -e 0\` ${formatMs(summarize(floor).median)}`,
        met: ratio <= c.goal,
      });
  }
  return {
    id: 'startup',
    title: '6. Start-up: the commands operators call dozens of times a night',
    setup: `Whole processes (spawned and waited for), ${rounds} rounds of every command in turn after one warm-up, Node ${process.version}. \`status\` reads a run made here with the local transport; \`plan\` compiles the comindware example against its real inventory (\`ssh -G\` per host, nothing connects). The ratio is the median of the per-round ratios to \`node -e 0\` of the same round.`,
    columns: ['command', 'median', 'min–max', '× `node -e 0`', 'goal'],
    rows,
    notes: [
      'Each command loads only the modules it runs (src/cli/commands.ts); Node 20 has no compile cache (`module.enableCompileCache` arrives in Node 22.1), so what `plan` loads is compiled at every start.',
    ],
    goals,
  };
}

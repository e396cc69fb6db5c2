/**
 * Issue 15, items 3-4: what growth costs the controller, measured, not guessed. One `shell.run true`
 * step on 10, 100 and 1000 simulated hosts (the recording transport: no SSH, no host, every command
 * answers at the next turn of the event loop), `rolling: { window: 10 }`, through the real engine
 * (plan compiled from YAML, journal events, rolling window, bounded connections). Each size runs in
 * a fresh Node process, so its peak memory is its own. The controller's CPU and memory per host are
 * what the engine itself costs; SSH's own processes come on top (see bench/README.md).
 * Usage: npx tsx bench/fanout-sim.ts [--hosts 10,100,1000] [--window 10] [--keep-open 100]
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MemoryJournal } from '../src/journal/file-store.js';
import { engineFor } from '../src/testing/engine-fixture.js';
import { fakeInventory, planFixture } from '../src/testing/plan-fixture.js';
import { RecordingTransport } from '../src/transport/recording.js';
import type { BenchContext, TableBody } from './lib/context.js';
import { type GoalCheck, markdownTable } from './lib/report.js';

/** One size in this process: prints one JSON line. */
async function measureOne(n: number, window: number, keepOpen: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  const runbook = `
name: fan-out simulation
phases:
  - id: one
    hosts: all
    rolling: { window: ${window} }
    steps:
      - id: nothing
        shell.run: { command: "true" }
`;
  const base = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fx = await planFixture(runbook, fakeInventory(names));
  const compiled = performance.now();
  // Every command answers at the next turn of the event loop, so hosts interleave as over a network.
  const rec = new RecordingTransport({ delay: () => new Promise<void>((r) => setImmediate(r)) });
  let open = 0;
  let peakOpen = 0;
  let logins = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const cpu1 = process.cpuUsage();
  const outcome = await engineFor(fx, rec, new MemoryJournal(), {
    connect: async (h) => {
      const s = await rec.connect({ name: h.name, address: h.address });
      open += 1;
      logins += 1;
      peakOpen = Math.max(peakOpen, open);
      return {
        ...s,
        host: s.host,
        close: async () => {
          open -= 1;
          await s.close();
        },
      };
    },
    connections: { concurrency: 10, keepOpen },
  }).apply();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const engineCpu = process.cpuUsage(cpu1);
  const allCpu = process.cpuUsage(cpu0);
  const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      hosts: n,
      outcome,
      compileMs: Math.round(compiled - t0),
      engineMs: Math.round(performance.now() - compiled),
      engineCpuMs: Math.round(ms(engineCpu)),
      allCpuMs: Math.round(ms(allCpu)),
      baseRssMiB: +(base / 2 ** 20).toFixed(1),
      peakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
      maxRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
      peakOpen,
      logins,
      openAtEnd: open,
    })}\n`,
  );
}

/** One simulated size's figures, as the child prints them. */
interface SimResult {
  hosts: number;
  outcome: string;
  compileMs: number;
  engineCpuMs: number;
  baseRssMiB: number;
  peakRssMiB: number;
  peakOpen: number;
  logins: number;
}

/** Runs each size in a fresh Node process (its peak memory is its own). Example: `simulate([10, 100], 10, 100)`. */
function simulate(sizes: readonly number[], window: number, keepOpen: number): SimResult[] {
  return sizes.map((n) => {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        '--hosts',
        String(n),
        '--window',
        String(window),
        '--keep-open',
        String(keepOpen),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as SimResult;
    if (r.outcome !== 'succeeded') throw new Error(`the simulated run on ${n} hosts ${r.outcome}`);
    return r;
  });
}

const SIM_COLUMNS = [
  'keep-open',
  'hosts',
  'engine CPU',
  'CPU per host',
  'compile',
  'peak RSS',
  'RSS above start',
  'per host',
  'peak open sessions',
  'logins',
];

function simRow(keepOpen: number, r: SimResult): string[] {
  const above = r.peakRssMiB - r.baseRssMiB;
  return [
    String(keepOpen),
    String(r.hosts),
    `${r.engineCpuMs} ms`,
    `${(r.engineCpuMs / r.hosts).toFixed(2)} ms`,
    `${r.compileMs} ms`,
    `${r.peakRssMiB} MiB`,
    `${above.toFixed(1)} MiB`,
    `${((above * 1024) / r.hosts).toFixed(0)} KiB`,
    String(r.peakOpen),
    String(r.logins),
  ];
}

/** Item 2b of `npm run bench`: the simulated 10/100/1000-host curve, with keep-open 100 and 10. Example: `await fanoutCurve(ctx)`. */
export async function fanoutCurve(ctx: Pick<BenchContext, 'log'>): Promise<TableBody> {
  const sizes = [10, 100, 1000];
  const window = 10;
  const rows: string[][] = [];
  const bySetting = new Map<number, SimResult[]>();
  for (const keepOpen of [100, 10]) {
    ctx.log(`fan-out curve: ${sizes.join(', ')} simulated hosts, window ${window}, keep-open ${keepOpen}`);
    const results = simulate(sizes, window, keepOpen);
    bySetting.set(keepOpen, results);
    rows.push(...results.map((r) => simRow(keepOpen, r)));
  }
  const tight = bySetting.get(10) ?? [];
  const big = tight.at(-1);
  const mid = tight.find((r) => r.hosts === 100);
  const perHost = (r: SimResult | undefined) => (r ? r.engineCpuMs / r.hosts : Number.NaN);
  const goals: GoalCheck[] = big
    ? [
        {
          goal: `open connections bounded by the window, not the fleet (${big.hosts} hosts, window ${window}, keep-open 10)`,
          measured: `peak ${big.peakOpen} sessions open`,
          floor: `${window} in flight + 10 kept = ${window + 10}`,
          met: big.peakOpen <= window + 10,
        },
        {
          goal: 'controller CPU per host flat in the fleet size (engine, 100 → 1000 hosts)',
          measured: `${perHost(mid).toFixed(2)} → ${perHost(big).toFixed(2)} ms a host`,
          floor: 'flat (≤ 1.5× from 100 to 1000 hosts)',
          met: perHost(big) <= 1.5 * perHost(mid),
        },
      ]
    : [];
  return {
    id: 'sim',
    title: '2b. Fan-out curve: 10, 100 and 1000 simulated hosts',
    setup: `\`bench/fanout-sim.ts\`: one \`shell.run true\` step through the real engine (plan compiled from YAML, journal events, rolling \`window: ${window}\`, bounded connections with \`--connect-concurrency 10\`) with the recording transport (no SSH: every command answers at the next turn of the event loop), each size in a fresh Node process. "engine CPU" is the controller's CPU from the compiled plan to the end of the run; "RSS above start" is the peak resident set minus the process's own at start (so it holds the plan, the run's state and the journal, in memory here). SSH's own processes come on top: ~200 ms of CPU per login on this machine (item 2).`,
    columns: SIM_COLUMNS,
    rows,
    notes: [
      'Preflight reaches every host before anything changes, 10 at a time; the peak of open sessions is the fleet while it runs, and bounded by keep-open only after it.',
    ],
    goals,
  };
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '10,100,1000' },
      window: { type: 'string', default: '10' },
      'keep-open': { type: 'string', default: '100' },
      child: { type: 'boolean', default: false },
    },
  });
  if (values.child) {
    await measureOne(Number(values.hosts), Number(values.window), Number(values['keep-open']));
  } else {
    const keepOpen = Number(values['keep-open']);
    const results = simulate(values.hosts.split(',').map(Number), Number(values.window), keepOpen);
    process.stdout.write(
      `${markdownTable(
        SIM_COLUMNS,
        results.map((r) => simRow(keepOpen, r)),
      )}\n`,
    );
  }
}

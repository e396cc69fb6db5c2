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
import { parseArgs } from 'node:util';
import { MemoryJournal } from '../src/journal/file-store.js';
import { engineFor } from '../src/testing/engine-fixture.js';
import { fakeInventory, planFixture } from '../src/testing/plan-fixture.js';
import { RecordingTransport } from '../src/transport/recording.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '10,100,1000' },
    window: { type: 'string', default: '10' },
    'keep-open': { type: 'string', default: '100' },
    child: { type: 'boolean', default: false },
  },
});

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

if (values.child) {
  await measureOne(Number(values.hosts), Number(values.window), Number(values['keep-open']));
} else {
  const rows = [];
  for (const n of values.hosts.split(',').map(Number)) {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        import.meta.filename,
        '--child',
        '--hosts',
        String(n),
        '--window',
        values.window,
        '--keep-open',
        values['keep-open'],
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) as string);
    rows.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  }
  process.stdout.write(
    '| hosts | engine CPU | CPU per host | compile | peak RSS | RSS above start | per host | peak open sessions | logins |\n|---|---|---|---|---|---|---|---|---|\n',
  );
  for (const r of rows)
    process.stdout.write(
      `| ${r.hosts} | ${r.engineCpuMs} ms | ${(r.engineCpuMs / r.hosts).toFixed(2)} ms | ${r.compileMs} ms | ${r.peakRssMiB} MiB | ${(r.peakRssMiB - r.baseRssMiB).toFixed(1)} MiB | ${(((r.peakRssMiB - r.baseRssMiB) * 1024) / r.hosts).toFixed(0)} KiB | ${r.peakOpen} | ${r.logins} |\n`,
    );
}

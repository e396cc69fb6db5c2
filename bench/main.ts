/**
 * `npm run bench`: issue 8's benchmarks side by side on the same lab hosts. Installs what it needs
 * (scripts/prerequisites.sh bench: ansible-core, hyperfine, GNU time and the lab's packages), builds the CLI, waits (up to --max-wait minutes) for a
 * quiet machine, boots 100 plain lab hosts on 127.0.60.10-109, runs each benchmark, prints the
 * tables with the machine and load, and writes them into bench/README.md between its markers.
 * Usage: node bench/run.mjs [--runs 5] [--only steps,fanout,sim,logwait,seeds,lab,startup] [--max-wait 10] [--no-readme] [--keep]
 *        [--plain-first 127.0.60.10] [--seed-prefixes 127.0.62,127.0.63] (where the plain lab's hosts and the
 *        comindware and ecsc labs go: other address ranges, beside other labs)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hostProcesses, labDown, labUp, readHostRun } from '../lab/hosts.js';
import { labLayout } from '../lab/layout.js';
import { plainScenario } from '../lab/scenarios/plain.js';
import { fanout } from './fanout.js';
import type { BenchContext, TableBody } from './lib/context.js';
import { timed } from './lib/context.js';
import { loadAverage, machineInfo, waitForQuiet } from './lib/machine.js';
import { run } from './lib/process.js';
import { type BenchTable, formatLoad, goalsTable, renderTable, replaceResults } from './lib/report.js';
import { formatMs } from './lib/stats.js';
import { logWait } from './log-wait.js';
import { SEED_PREFIX, seedUpgrades } from './seeds.js';
import { fanoutCurve } from './fanout-sim.js';
import { startup } from './startup.js';
import { stepOverhead } from './step-overhead.js';

const BENCHMARKS = ['steps', 'fanout', 'sim', 'logwait', 'seeds', 'lab', 'startup'] as const;
type BenchId = (typeof BENCHMARKS)[number];
/** The plain lab's first address: `--plain-first`, else `--plain-prefix` (default 127.0.60) and .10 upward. */
const PLAIN_FIRST = '127.0.60.10';
const LAB_PREFIX = '127.0.64';

const root = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    'max-wait': { type: 'string', default: '10' },
    'no-readme': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'plain-prefix': { type: 'string', default: '127.0.60' },
    'plain-first': { type: 'string' },
    'seed-prefixes': { type: 'string' },
    'fanout-tools': { type: 'string' },
    'fanout-hosts': { type: 'string' },
    before: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run bench -- [--runs 5] [--only steps,fanout,sim,logwait,seeds,lab,startup] [--max-wait MINUTES] [--no-readme] [--keep] [--plain-prefix 127.0.60 | --plain-first 127.0.60.10] [--seed-prefixes 127.0.62,127.0.63] [--fanout-tools floor,serial,window,ansible] [--fanout-hosts 3,30,100] [--before OTHER/dist/cli.js]\n',
  );
  process.exit(0);
}
const runs = Number(values.runs);
if (!/^127\.\d{1,3}\.\d{1,3}$/.test(values['plain-prefix'])) {
  process.stderr.write(
    `bench: --plain-prefix must be three octets of 127.x.y, e.g. 127.0.70, not "${values['plain-prefix']}"\n`,
  );
  process.exit(2);
}
const maxWaitMin = Number(values['max-wait']);
const only = (values.only?.split(',').map((s) => s.trim()) ?? [...BENCHMARKS]) as BenchId[];
const unknown = only.filter((o) => !BENCHMARKS.includes(o));
const plainFirst = values['plain-first'] ?? `${values['plain-prefix']}.10`;
const loopback = /^127\.\d{1,3}\.\d{1,3}\.(\d{1,3})$/.exec(plainFirst);
const [comindwarePrefix, ecscPrefix, ...extra] = values['seed-prefixes']?.split(',') ?? [];
const seedPrefix =
  comindwarePrefix !== undefined ? { comindware: comindwarePrefix, ecsc: ecscPrefix ?? '' } : undefined;
const seedPrefixOk =
  !seedPrefix ||
  (extra.length === 0 &&
    [seedPrefix.comindware, seedPrefix.ecsc].every((p) => /^127\.\d{1,3}\.\d{1,3}$/.test(p)));
if (
  !Number.isInteger(runs) ||
  runs < 1 ||
  !(maxWaitMin >= 0) ||
  unknown.length > 0 ||
  !loopback ||
  !seedPrefixOk
) {
  process.stderr.write(
    `bench: ${unknown.length > 0 ? `unknown benchmark ${unknown.join(', ')} in --only (expected ${BENCHMARKS.join(', ')})` : !loopback ? `--plain-first ${plainFirst}: expected a loopback address like ${PLAIN_FIRST}` : !seedPrefixOk ? `--seed-prefixes ${values['seed-prefixes']}: expected two /24 loopback prefixes, comindware's and ecsc's, like 127.0.62,127.0.63` : '--runs must be a whole number from 1 and --max-wait minutes from 0'}\n`,
  );
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write(
    'bench: needs root: the lab runs sshd hosts in Linux namespaces (sudo npm run bench)\n',
  );
  process.exit(2);
}

const started = new Date();
const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), 'cutover-bench-'));
const plainLabDir = join(root, '.lab', 'bench-plain');
const seedLabDirs = Object.keys(SEED_PREFIX).map((s) => join(root, '.lab', `bench-${s}`));

async function cleanup(): Promise<void> {
  for (const labDir of [plainLabDir, ...seedLabDirs]) {
    await labDown({ labDir, purge: true }).catch((e: Error) => log(`lab down ${labDir}: ${e.message}`));
  }
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping the bench labs (Ctrl-C again to quit at once)');
  void cleanup().finally(() => process.exit(130));
});

/**
 * What the lab's hosts hold: their processes (unshare and everything in each host's namespaces)
 * and the memory those use, as PSS (shared pages such as sshd's code counted once overall).
 */
async function labFootprint(
  labDir: string,
  hosts: readonly string[],
): Promise<{ procs: number; pssKiB: number }> {
  const layout = labLayout(labDir);
  let procs = 0;
  let pssKiB = 0;
  for (const name of hosts) {
    const run = await readHostRun(layout, name);
    if (!run) continue;
    const pids = new Set([run.unshare.pid, ...hostProcesses(run).map((p) => p.pid)]);
    for (const pid of pids) {
      try {
        const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
        pssKiB += Number(pss?.[1] ?? 0);
        procs += 1;
      } catch {
        // ended meanwhile
      }
    }
  }
  return { procs, pssKiB };
}

/** Item 5 is bench/lab.mjs; its table is taken as it prints it. */
async function labCost(): Promise<TableBody> {
  const labRuns = Math.max(3, runs - 2);
  log(`lab cost: node bench/lab.mjs --runs ${labRuns} --prefix ${LAB_PREFIX}`);
  const r = await run(
    process.execPath,
    [join(root, 'bench', 'lab.mjs'), '--runs', String(labRuns), '--prefix', LAB_PREFIX],
    {
      cwd: root,
    },
  );
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('|'));
  const split = (l: string) =>
    l
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
  const [header, , ...body] = lines;
  if (!header) throw new Error(`bench/lab.mjs printed no table:\n${r.stdout}`);
  return {
    id: 'lab',
    title: '5. Lab cost: `lab up` / `lab down`',
    setup: `\`node bench/lab.mjs --runs ${labRuns} --prefix ${LAB_PREFIX}\` (see "The lab" above for what each row covers).`,
    columns: split(header),
    rows: body.map(split),
    notes: [],
  };
}

const tables: BenchTable[] = [];
const failures: string[] = [];
let quietLine = '';
let labLine = '';
let machineLine = '';
try {
  execFileSync('sh', [join(root, 'scripts', 'prerequisites.sh'), 'bench'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  log('building the CLI (node scripts/build.mjs)');
  await run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root });

  const info = machineInfo();
  machineLine = `${info.cores} × ${info.cpu}, ${info.memoryGiB} GiB, ${info.kernel}, ${info.tmpFilesystem} /tmp. Node ${info.node}; ${info.openssh}; ${info.ansible} (${info.python}); ${info.hyperfine}.`;

  const needsPlain = only.some((o) => o === 'steps' || o === 'fanout' || o === 'logwait');
  const fanoutHosts = values['fanout-hosts']?.split(',').map(Number);
  const hostCount = only.includes('fanout') ? Math.max(3, ...(fanoutHosts ?? [100])) : 3;
  const ctx: BenchContext = {
    root,
    work,
    runs,
    cli: [process.execPath, join(root, 'bin', 'cutover.js')],
    ...(fanoutHosts ? { fanoutHosts } : {}),
    ...(values.before ? { beforeCli: [process.execPath, resolve(values.before)] } : {}),
    ...(values['fanout-tools']
      ? { fanoutTools: values['fanout-tools'].split(',').map((t) => t.trim()) }
      : {}),
    plain: { labDir: plainLabDir, access: { key: '', knownHosts: '' }, hosts: [] },
    ...(seedPrefix ? { seedPrefix } : {}),
    log,
  };
  if (needsPlain) {
    await labDown({ labDir: plainLabDir, purge: true }).catch(() => undefined);
    const b0 = performance.now();
    log(`booting ${hostCount} plain lab hosts from ${plainFirst}`);
    const up = await labUp({
      scenario: plainScenario({ hosts: hostCount, firstAddress: plainFirst }),
      labDir: plainLabDir,
      bootTimeoutMs: 180_000,
    });
    const bootMs = performance.now() - b0;
    const held = await labFootprint(
      plainLabDir,
      up.hosts.map((h) => h.name),
    );
    labLine = `Plain lab for items 1–3: ${hostCount} hosts (${up.hosts[0]?.address}–${up.hosts.at(-1)?.address}) booted in ${formatMs(bootMs)} (\`labUp\`, in parallel, until each accepts a real ssh login); idle, they hold ${held.procs} processes and ${Math.round(held.pssKiB / 1024)} MiB (PSS), well within this machine's limits (pid_max ${readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()}, ${info.memoryGiB} GiB, open files ${execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()}).`;
    log(labLine);
    ctx.plain = {
      labDir: plainLabDir,
      access: { key: up.key, knownHosts: up.knownHosts },
      hosts: up.hosts.map((h) => ({ name: h.name, address: h.address })),
    };
  }
  // After the boot: its own load should settle too before anything is measured.
  const quiet = await waitForQuiet({ threshold: 1, maxWaitMs: maxWaitMin * 60_000, pollMs: 15_000, log });
  quietLine = quiet.quiet
    ? `The 1-minute load average was ${quiet.load[0]?.toFixed(2)} (below 1.0) when the benchmarks started${quiet.waitedMs > 0 ? `, after waiting ${formatMs(quiet.waitedMs)} for it` : ''}.`
    : `**Taken under load**: the 1-minute load average was ${quiet.load[0]?.toFixed(2)} when the benchmarks started${quiet.waitedMs > 0 ? `, still, after waiting ${formatMs(quiet.waitedMs)} for it to drop below 1.0` : ' (--max-wait 0: not waited for a quiet machine)'}; other work was running on this ${info.cores}-core machine, so compare medians with that in mind.`;
  log(quietLine.replace(/\*\*/g, ''));

  const bodies: Record<BenchId, () => Promise<TableBody>> = {
    steps: () => stepOverhead(ctx),
    fanout: () => fanout(ctx),
    sim: () => fanoutCurve(ctx),
    logwait: () => logWait(ctx),
    seeds: () => seedUpgrades(ctx),
    lab: labCost,
    startup: () => startup(ctx),
  };
  for (const id of BENCHMARKS) {
    if (!only.includes(id) || interrupted) continue;
    if (id === 'seeds' && needsPlain) {
      // The seed labs run simulators; the 100 idle plain hosts need not keep their memory meanwhile.
      await labDown({ labDir: plainLabDir, purge: true });
    }
    try {
      const table = await timed(bodies[id]);
      tables.push(table);
      process.stdout.write(`\n${renderTable(table)}\n`);
      log(`${id} took ${formatMs(table.tookMs)}`);
    } catch (e) {
      failures.push(`${id}: ${(e as Error).message}`);
      log(`${id} FAILED: ${(e as Error).message}`);
    }
  }
} finally {
  await cleanup();
}

const took = performance.now() - t0;
const header = [
  '## Results',
  '',
  `Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`, ${formatMs(took)} in all (--runs ${runs}).`,
  '',
  `Machine: ${machineLine}`,
  '',
  quietLine,
  `Load average (1/5/15 min) at the end: ${formatLoad(loadAverage())}.`,
  ...(labLine ? ['', labLine] : []),
  ...(failures.length > 0
    ? ['', '**Failed benchmarks**:', ...failures.map((f) => `- ${f.split('\n')[0]}`)]
    : []),
].join('\n');
const goals = goalsTable(tables);
const body = [header, ...(goals ? [goals] : []), ...tables.map(renderTable)].join('\n\n');
if (goals) process.stdout.write(`\n${goals}\n`);
process.stdout.write(`\n${header}\n`);
if (!values['no-readme'] && tables.length > 0) {
  const readme = join(root, 'bench', 'README.md');
  writeFileSync(readme, replaceResults(readFileSync(readme, 'utf8'), body));
  // biome formats Markdown too: the file must stay as `npm run lint` wants it.
  const biome = await run(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', readme], {
    cwd: root,
    check: false,
  });
  if (biome.code !== 0)
    log(`biome format ${readme} failed; run \`npx biome format --write bench/README.md\`:\n${biome.stderr}`);
  log(`results written to ${readme}`);
}
if (values.keep) log(`generated files kept in ${work}`);
log(`done in ${formatMs(took)}${failures.length > 0 ? `; ${failures.length} benchmark(s) failed` : ''}`);
process.exit(failures.length > 0 ? 1 : 0);

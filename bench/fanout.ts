/**
 * Item 2 of issue 8, fan-out: one step on 3, 30 and 100 lab hosts with a concurrency limit of
 * 10 (cutover `rolling: { serial: 10 }` in batches and `rolling: { window: 10 }` as a pool,
 * Ansible `forks = 10`): wall time, controller CPU and peak memory, and how they grow. Run alone: `node bench/run.mjs --only fanout`.
 */
import os from 'node:os';
import { join } from 'node:path';
import { type BenchContext, benchDir, type TableBody, writeIn } from './lib/context.js';
import { engineSpan, readRuns } from './lib/journal.js';
import { measure, type ResourceUse } from './lib/process.js';
import type { GoalCheck } from './lib/report.js';
import { iniInventory, poolFloorScript, stepsPlaybook, stepsRunbook } from './lib/render.js';
import { formatMs, median, ratio, spread, summarize } from './lib/stats.js';
import { ansibleEnv } from './step-overhead.js';

/** Host counts measured. Example: FANOUT_HOSTS[2] -> 100. */
export const FANOUT_HOSTS = [3, 30, 100] as const;
/** Hosts worked on at once, by either tool. Example: 10 (cutover `serial: 10`, Ansible `forks = 10`). */
export const CONCURRENCY = 10;

/** Measures item 2 and returns its table. Example: `await fanout(ctx)`. */
export async function fanout(ctx: BenchContext): Promise<TableBody> {
  const dir = benchDir(ctx, 'fanout');
  const runs = Math.max(3, ctx.runs - 2);
  const runbook = writeIn(dir, 'one-step.yml', stepsRunbook(1, CONCURRENCY));
  const pooled = writeIn(dir, 'one-step-window.yml', stepsRunbook(1, CONCURRENCY, 'window'));
  const playbook = writeIn(dir, 'one-step.playbook.yml', stepsPlaybook(1));
  const rows: string[][] = [];
  const walls: Record<string, Record<number, number>> = {
    floor: {},
    cutover: {},
    'cutover-window': {},
    'window-before': {},
    ansible: {},
  };
  const cpus: Record<string, Record<number, number>> = {
    floor: {},
    cutover: {},
    'cutover-window': {},
    'window-before': {},
    ansible: {},
  };
  const rssOf: Record<string, Record<number, number>> = {
    floor: {},
    cutover: {},
    'cutover-window': {},
    'window-before': {},
    ansible: {},
  };
  const wanted = new Set(
    (ctx.fanoutTools ?? ['floor', 'serial', 'window', 'ansible']).map((t) =>
      t === 'serial' ? 'cutover' : t === 'window' ? 'cutover-window' : t,
    ),
  );
  // `--before`: the same window run by another build of the CLI, in the same rounds.
  if (ctx.beforeCli) wanted.add('window-before');
  const sizes = ctx.fanoutHosts ?? FANOUT_HOSTS;
  for (const n of sizes) {
    if (ctx.plain.hosts.length < n)
      throw new Error(`fan-out needs ${n} lab hosts, the lab has ${ctx.plain.hosts.length}`);
    const ini = writeIn(dir, `fanout${n}.ini`, iniInventory(ctx.plain.hosts.slice(0, n), ctx.plain.access));
    const stateDirs: Record<string, string> = {
      cutover: join(dir, `state-${n}`),
      'cutover-window': join(dir, `state-window-${n}`),
      'window-before': join(dir, `state-window-before-${n}`),
    };
    const floor = writeIn(
      dir,
      `floor${n}.sh`,
      poolFloorScript(ctx.plain.hosts.slice(0, n), ctx.plain.access, CONCURRENCY),
    );
    const tools: [string, string[], Record<string, string> | undefined][] = [
      ['floor', ['bash', floor], undefined],
      [
        'cutover',
        [...ctx.cli, '--state-dir', stateDirs.cutover as string, 'apply', '-r', runbook, '-i', ini, '--yes'],
        undefined,
      ],
      [
        'cutover-window',
        [
          ...ctx.cli,
          '--state-dir',
          stateDirs['cutover-window'] as string,
          'apply',
          '-r',
          pooled,
          '-i',
          ini,
          '--yes',
        ],
        undefined,
      ],
      [
        'window-before',
        [
          ...(ctx.beforeCli ?? []),
          '--state-dir',
          stateDirs['window-before'] as string,
          'apply',
          '-r',
          pooled,
          '-i',
          ini,
          '--yes',
        ],
        undefined,
      ],
      [
        'ansible',
        ['ansible-playbook', '-i', ini, playbook],
        ansibleEnv(dir, { ANSIBLE_FORKS: String(CONCURRENCY) }),
      ],
    ];
    // Round after round (each tool once, then again), so load that comes and goes hits them alike.
    const chosen = tools.filter(([tool]) => wanted.has(tool));
    const usesOf = new Map<string, ResourceUse[]>(chosen.map(([tool]) => [tool, []]));
    // One unmeasured run before a tool's first size warms the page cache and Python's bytecode.
    const warmup = n === sizes[0] ? 1 : 0;
    for (let i = 0; i < warmup + runs; i++) {
      for (const [tool, argv, env] of chosen) {
        ctx.log(
          `fan-out: ${tool} on ${n} hosts, run ${i + 1 - warmup} of ${runs}${i < warmup ? ' (warm-up)' : ''}`,
        );
        const use = await measure(argv, { workDir: dir, cwd: dir, ...(env ? { env } : {}) });
        if (i >= warmup) usesOf.get(tool)?.push(use);
      }
    }
    for (const [tool] of chosen) {
      const uses = usesOf.get(tool) ?? [];
      const wall = summarize(uses.map((u) => u.wallMs));
      const cpuAll = uses.every((u) => u.cpuMs !== undefined)
        ? median(uses.map((u) => u.cpuMs as number))
        : undefined;
      const tree = median(uses.map((u) => u.treeCpuMs));
      const rss = median(uses.map((u) => u.maxRssKiB));
      walls[tool]![n] = wall.median;
      cpus[tool]![n] = cpuAll ?? tree;
      rssOf[tool]![n] = rss;
      let engine = '';
      const stateDir = stateDirs[tool];
      if (stateDir !== undefined) {
        const spans = readRuns(stateDir).map((r) => engineSpan(r.events));
        if (spans.some((s) => s.outcome !== 'succeeded'))
          throw new Error(`a cutover run on ${n} hosts did not succeed; see ${stateDir}`);
        engine = formatMs(median(spans.slice(1).map((s) => s.ms)));
      }
      ctx.log(
        `fan-out: ${tool} on ${n} hosts: wall median ${formatMs(wall.median)}, max RSS ${Math.round(rss / 1024)} MiB`,
      );
      rows.push([
        String(n),
        tool === 'floor'
          ? `floor: OpenSSH, ${n} fresh \`ssh host true\`, \`xargs -P${CONCURRENCY}\``
          : tool === 'cutover'
            ? `cutover (serial ${CONCURRENCY}: batches)`
            : tool === 'cutover-window'
              ? `cutover (window ${CONCURRENCY}: a pool)`
              : tool === 'window-before'
                ? `cutover before (\`--before\`, window ${CONCURRENCY})`
                : `Ansible (forks ${CONCURRENCY}, default settings)`,
        formatMs(wall.median),
        spread(wall),
        engine,
        cpuAll === undefined ? '–' : formatMs(cpuAll),
        formatMs(tree),
        `${Math.round(rss / 1024)} MiB`,
        formatMs(wall.median / n),
        formatMs((cpuAll ?? tree) / n),
      ]);
    }
  }
  const cores = os.cpus().length;
  const has = (tool: string) => walls[tool]![100] !== undefined && walls[tool]![3] !== undefined;
  const busy = (tool: string) =>
    has(tool) ? `${Math.round((100 * cpus[tool]![100]!) / (walls[tool]![100]! * cores))} %` : '–';
  const growth = (tool: string) =>
    has(tool)
      ? `${tool}: wall ${ratio(walls[tool]![100]!, walls[tool]![3]!)} and CPU ${ratio(cpus[tool]![100]!, cpus[tool]![3]!)} from 3 to 100 hosts (${ratio(walls[tool]![100]!, walls[tool]![30]!)} wall from 30 to 100)`
      : `${tool}: not run`;
  const toFloor = (tool: string) =>
    [30, 100]
      .filter((n) => walls[tool]![n] !== undefined && walls.floor![n] !== undefined)
      .map((n) => `${n} hosts ${ratio(walls[tool]![n]!, walls.floor![n]!)}`)
      .join(', ');
  const floorNote = `Against the OpenSSH floor (goal: within 1.3×): window ${toFloor('cutover-window') || 'not run'}; serial ${toFloor('cutover') || 'not run'}. Controller memory at 100 hosts (largest process): ${rssOf['cutover-window']![100] !== undefined ? `${Math.round(rssOf['cutover-window']![100]! / 1024)} MiB` : '–'} (goal: under 150 MB).`;
  const goals: GoalCheck[] = [30, 100].map((n) => {
    const mine = walls['cutover-window']![n];
    const floorWall = walls.floor![n];
    const known = mine !== undefined && floorWall !== undefined;
    return {
      goal: `fan-out on ${n} hosts, \`window: ${CONCURRENCY}\`, within 1.3× of the OpenSSH floor`,
      measured: known
        ? `${ratio(mine, floorWall)} (${formatMs(mine)})`
        : 'not run (--fanout-hosts / --fanout-tools)',
      floor: known ? `${n} × \`ssh host true\`, \`xargs -P${CONCURRENCY}\`: ${formatMs(floorWall)}` : '–',
      met: known ? mine <= 1.3 * floorWall : undefined,
    };
  });
  const rss100 = rssOf['cutover-window']![100];
  goals.push({
    goal: 'controller memory at 100 hosts under 150 MB (largest process)',
    measured: rss100 !== undefined ? `${Math.round(rss100 / 1024)} MiB` : 'not run',
    floor: `plain OpenSSH: ${rssOf.floor![100] !== undefined ? `${Math.round(rssOf.floor![100]! / 1024)} MiB` : '–'} (one ssh client)`,
    met: rss100 !== undefined ? rss100 * 1024 < 150e6 : undefined,
  });
  return {
    goals,
    id: 'fanout',
    title: '2. Fan-out: one step on 3, 30 and 100 hosts, 10 at a time',
    setup: `One \`shell.run true\` step (Ansible: one shell task) on the first N hosts of the plain lab (${ctx.plain.hosts[0]?.address} upward), at most ${CONCURRENCY} hosts at once: cutover \`rolling: { serial: ${CONCURRENCY} }\` (batches of ${CONCURRENCY}) and \`rolling: { window: ${CONCURRENCY} }\` (a pool of ${CONCURRENCY}: the next host starts as soon as one is done), Ansible \`forks = ${CONCURRENCY}\` (a pool of ${CONCURRENCY}). ${runs} measured runs per row (one unmeasured run before each tool's first size). "engine" is cutover's journal from run.started to run.finished. CPU "all" is user+system time of every process the run started, its detached ssh ControlMasters included (a cpuacct cgroup per run); "tree" is what GNU time sees (the process and the children it waited for); max RSS is the largest single process (GNU time).`,
    columns: [
      'hosts',
      'tool',
      'wall median',
      'wall min–max',
      'engine',
      'CPU all',
      'CPU tree',
      'max RSS',
      'wall per host',
      'CPU per host',
    ],
    rows,
    notes: [
      floorNote,
      growth('cutover'),
      growth('cutover-window'),
      growth('ansible'),
      `At 100 hosts the controller side alone kept ${busy('cutover')} (cutover) and ${busy('ansible')} (Ansible) of this machine's ${cores} cores busy for the whole run, and the hosts' sshd run on the same cores: both tools are CPU-bound here, so the wall time follows the CPU each host costs (an SSH connection: key exchange and a few ssh client processes) more than the concurrency limit.`,
    ],
  };
}

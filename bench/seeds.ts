/**
 * Item 4 of issue 8, the seed upgrades: wall time of the two example upgrades in the lab (each
 * on a fresh lab, under the lab's load generator), and where it goes — waiting on the
 * application (the simulators' own critical path), other steps, and cutover alone.
 * Run alone: `node bench/run.mjs --only seeds`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp } from '../lab/hosts.js';
import { labLoadTargets, startLoad } from '../lab/load.js';
import type { Scenario } from '../lab/scenario.js';
import { CMW_VERSIONS, comindwareScenario } from '../lab/scenarios/comindware.js';
import { ecscScenario } from '../lab/scenarios/ecsc.js';
import { type BenchContext, benchDir, type TableBody } from './lib/context.js';
import type { GoalCheck } from './lib/report.js';
import { readRuns, splitTime, type TimeSplit } from './lib/journal.js';
import { run } from './lib/process.js';
import { formatMs, median, spread, summarize } from './lib/stats.js';

/** A scenario on other loopback addresses (last octet kept). Example: relocated(comindwareScenario, '127.0.62').hosts[0].address -> '127.0.62.10'. */
export function relocated(scenario: Scenario, prefix: string): Scenario {
  return {
    ...scenario,
    hosts: scenario.hosts.map((h) => ({ ...h, address: `${prefix}.${h.address.split('.')[3]}` })),
  };
}

interface Seed {
  name: string;
  scenario: Scenario;
  runbook: string;
  /** Extra `apply` arguments and environment, from the lab that is up. */
  args(labDir: string, info: Record<string, string>): { argv: string[]; env: Record<string, string> };
  /** URLs that answer 200 (and the platform says `running`) once the applications have started. */
  ready(scenario: Scenario): Promise<boolean>;
  /** Run the upgrade under the lab's load generator: only where traffic is drained (comindware's nginx). */
  load: boolean;
}

const get = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) })
    .then(async (r) => ({ status: r.status, body: await r.text() }))
    .catch(() => ({ status: 0, body: '' }));

/** The lab prefixes of the seed labs, away from 127.0.10.x where other labs and tests run. Example: SEED_PREFIX.ecsc -> '127.0.63'. */
export const SEED_PREFIX = { comindware: '127.0.62', ecsc: '127.0.63' } as const;

function seeds(root: string, prefix: { comindware: string; ecsc: string } = SEED_PREFIX): Seed[] {
  return [
    {
      name: 'comindware (seed 000)',
      scenario: relocated(comindwareScenario, prefix.comindware),
      runbook: join(root, 'examples', 'comindware', 'runbook.yml'),
      args: (labDir, info) => ({
        argv: [
          '-p',
          `version=${CMW_VERSIONS.holdLock}`,
          '-p',
          `distr_url=${info.artifactServer}`,
          '--approve-gates',
        ],
        env: { CMW_DISTR_PASSWORD: readFileSync(join(labDir, 'secrets', 'distr_password'), 'utf8').trim() },
      }),
      ready: async (s) =>
        (
          await Promise.all(
            s.hosts.map(async (h) => {
              const r = await get(`http://${h.address}:8080/api/version`);
              return r.status === 200 && /"state":\s*"running"/.test(r.body);
            }),
          )
        ).every(Boolean),
      load: true,
    },
    {
      name: 'ecsc (seed 004)',
      scenario: relocated(ecscScenario, prefix.ecsc),
      runbook: join(root, 'examples', 'ecsc', 'runbook.yml'),
      args: () => ({ argv: [], env: {} }),
      ready: async () => true,
      // Each node is its own target (the seed has no balancer to drain), so its requests fail while it restarts.
      load: false,
    },
  ];
}

async function until(what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline)
      throw new Error(`${what} within ${timeoutMs / 1000} s; see the lab's hosts/*/console.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One upgrade: process wall time, the engine's split, and what the load saw. */
interface UpgradeRun {
  wallMs: number;
  /** `node -e 0` plus one fresh `ssh host true` to every host at once, on the same lab after the upgrade. */
  floorMs: number;
  split: TimeSplit;
  /** Requests the load generator sent and how many failed; absent without load. */
  sent?: number;
  failed?: number;
}

/** Measures item 4 and returns its table. Example: `await seedUpgrades(ctx)`. */
export async function seedUpgrades(ctx: BenchContext): Promise<TableBody> {
  const dir = benchDir(ctx, 'seeds');
  const runs = 3;
  const rows: string[][] = [];
  const goals: GoalCheck[] = [];
  const notes: string[] = [];
  // `--before`: the same upgrade by another build's CLI, on its own fresh lab, in the same rounds.
  const clis: { label: string; cli: string[] }[] = [
    { label: '', cli: ctx.cli },
    ...(ctx.beforeCli ? [{ label: ', before', cli: ctx.beforeCli }] : []),
  ];
  for (const seed of seeds(ctx.root, ctx.seedPrefix)) {
    if (!existsSync(seed.runbook)) {
      notes.push(`${seed.name}: not measured: ${seed.runbook} does not exist yet.`);
      continue;
    }
    const labDir = join(ctx.root, '.lab', `bench-${seed.scenario.name}`);
    const stateDir = join(dir, `state-${seed.scenario.name}`);
    const resultsOf = new Map<string, UpgradeRun[]>(clis.map((c) => [c.label, []]));
    try {
      for (let i = 0; i < runs; i++) {
        for (const { label, cli } of clis) {
          const results = resultsOf.get(label) as UpgradeRun[];
          ctx.log(
            `seeds: ${seed.name}${label}, run ${i + 1} of ${runs}: fresh lab on ${seed.scenario.hosts[0]?.address.replace(/\.\d+$/, '.x')}`,
          );
          await labDown({ labDir, purge: true }).catch(() => undefined);
          const up = await labUp({ scenario: seed.scenario, labDir });
          const targets = await labLoadTargets(labDir);
          await until(`${seed.name}: the applications did not start`, async () => {
            const answers = await Promise.all(targets.map((t) => get(t.url)));
            return answers.every((a) => a.status === 200) && (await seed.ready(seed.scenario));
          });
          const { argv, env } = seed.args(labDir, up.controller?.info ?? {});
          const load = seed.load
            ? startLoad({ targets, ratePerSecond: 20, durationMs: 10 * 60_000 })
            : undefined;
          const before = new Set(readRuns(stateDir).map((r) => r.run));
          const apply = await run(
            cli[0]!,
            [
              ...cli.slice(1),
              '--state-dir',
              stateDir,
              'apply',
              '-r',
              seed.runbook,
              '-i',
              up.inventory,
              '--yes',
              ...argv,
            ],
            { env, check: false },
          );
          const report = await load?.stop();
          const journaled = readRuns(stateDir).find((r) => !before.has(r.run));
          if (apply.code !== 0 || !journaled) {
            throw new Error(
              `${seed.name}: cutover apply exited ${apply.code}${journaled ? ` (run ${journaled.run}, journal in ${stateDir})` : ''}:\n${(apply.stderr || apply.stdout).trimEnd().split('\n').slice(-12).join('\n')}`,
            );
          }
          // The floor of cutover's own part, on the same lab right after the upgrade: Node's start
          // and one fresh login to every host at once (cutover connects up to 10 at a time).
          const node = await run(process.execPath, ['-e', '0']);
          const logins = await run('sh', [
            '-c',
            `for h in ${seed.scenario.hosts.map((h) => h.name).join(' ')}; do ssh -F "$1" "$h" true & done; wait`,
            'logins',
            up.sshConfig,
          ]);
          results.push({
            floorMs: node.ms + logins.ms,
            wallMs: apply.ms,
            split: splitTime(journaled.events),
            ...(report ? { sent: report.total.sent, failed: report.total.failed } : {}),
          });
        }
      }
    } catch (e) {
      notes.push(`${seed.name}: NOT measured: ${(e as Error).message.split('\n')[0]}`);
      ctx.log((e as Error).message);
      continue;
    } finally {
      await labDown({ labDir, purge: true }).catch((e: Error) => ctx.log(`lab down ${labDir}: ${e.message}`));
    }
    for (const { label } of clis) {
      const results = resultsOf.get(label) as UpgradeRun[];
      const wall = summarize(results.map((r) => r.wallMs));
      const m = (f: (r: UpgradeRun) => number) => median(results.map(f));
      const app = m((r) => r.split.appMs);
      const steps = m((r) => r.split.commandMs);
      const alone = m((r) => r.wallMs - r.split.wallMs + r.split.idleMs);
      const share = m((r) => (r.wallMs - r.split.wallMs + r.split.idleMs) / r.wallMs);
      const floor = m((r) => r.floorMs);
      if (label === '')
        goals.push({
          goal: `${seed.name}: cutover's own share of the upgrade's wall time ≤ 8 %`,
          measured: `${(share * 100).toFixed(1)} % (${formatMs(alone)} of ${formatMs(wall.median)})`,
          floor: `\`node -e 0\` and a fresh \`ssh host true\` to its ${seed.scenario.hosts.length} hosts at once: ${formatMs(floor)}, ${((100 * floor) / wall.median).toFixed(1)} % of the wall time`,
          met: share <= 0.08,
        });
      rows.push([
        `${seed.name}${label}`,
        String(seed.scenario.hosts.length),
        formatMs(wall.median),
        spread(wall),
        formatMs(app),
        formatMs(steps),
        formatMs(alone),
        formatMs(floor),
        `${(share * 100).toFixed(1)} %`,
        seed.load
          ? `${results.reduce((a, r) => a + (r.failed ?? 0), 0)} of ${results.reduce((a, r) => a + (r.sent ?? 0), 0)}`
          : 'no load',
      ]);
    }
  }
  return {
    goals,
    id: 'seeds',
    title: '4. Seed upgrades in the lab',
    setup: `Each example runbook applied with \`cutover apply --yes\` (comindware also \`--approve-gates\`) on a fresh lab (${(ctx.seedPrefix ?? SEED_PREFIX).comindware}.x, ${(ctx.seedPrefix ?? SEED_PREFIX).ecsc}.x), after its applications answer, comindware under the lab's load generator (20 requests/s to \`/\` on web and \`/async\` on integration, as \`npm run demo\`), ecsc without (as its e2e test: every node is its own target, with no balancer to drain, so its requests fail by design while it restarts). ${runs} runs each. From each run's journal, the wall time is split by what was running at each moment on any host: a step that waits on the application (\`wait.*\`, \`service.*\`, \`process.*\`: the simulators' own critical path, plus up to one poll interval per wait), only other steps (commands, transfers, edits, nginx drains), or no step at all; "cutover alone" is that last part plus the process's start and exit outside the engine (Node start, load, validate, compile, connect, close). Its floor, measured on the same lab right after each upgrade, is Node's own start (\`node -e 0\`) plus one fresh \`ssh host true\` to every host of the seed at once: what any tool that logs into these hosts pays.`,
    columns: [
      'seed',
      'hosts',
      'wall median',
      'wall min–max',
      'waiting on the application',
      'other steps',
      'cutover alone',
      'its floor: `node -e 0` + logins',
      "cutover's share",
      'failed requests',
    ],
    rows,
    notes,
  };
}

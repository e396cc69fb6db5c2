/**
 * Item 1 of issue 8, step overhead: 20 `shell.run true` steps on 3 hosts, host after host
 * (rolling serial 1) and all at once, against the floor (the same 60 commands over plain
 * OpenSSH ControlMaster connections) and the equivalent Ansible playbook (default settings,
 * and with pipelining). Run alone: `node bench/run.mjs --only steps`.
 */
import { join } from 'node:path';
import { type BenchContext, benchDir, type TableBody, writeIn } from './lib/context.js';
import { engineSpan, readRuns } from './lib/journal.js';
import { hyperfine, run, type TimedCommand } from './lib/process.js';
import { closeMastersScript, floorScript, iniInventory, stepsPlaybook, stepsRunbook } from './lib/render.js';
import { formatMs, ratio, spread, summarize } from './lib/stats.js';

const STEPS = 20;
const HOSTS = 3;

/** The environment every Ansible run gets: its ControlMasters in a folder of ours, no colour. Example: ansibleEnv(dir, { ANSIBLE_PIPELINING: 'True' }). */
export function ansibleEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ...extra,
  };
}

/** Measures item 1 and returns its table. Example: `await stepOverhead(ctx)`. */
export async function stepOverhead(ctx: BenchContext): Promise<TableBody> {
  const dir = benchDir(ctx, 'step-overhead');
  const hosts = ctx.plain.hosts.slice(0, HOSTS);
  const ini = writeIn(dir, `bench${HOSTS}.ini`, iniInventory(hosts, ctx.plain.access));
  const runbook = {
    serial: writeIn(dir, 'steps-serial1.yml', stepsRunbook(STEPS, 1)),
    parallel: writeIn(dir, 'steps-parallel.yml', stepsRunbook(STEPS, HOSTS)),
  };
  const floor = {
    sequential: writeIn(
      dir,
      'floor-sequential.sh',
      floorScript(hosts, ctx.plain.access, STEPS, 'sequential'),
    ),
    parallel: writeIn(dir, 'floor-parallel.sh', floorScript(hosts, ctx.plain.access, STEPS, 'parallel')),
  };
  const playbook = {
    parallel: writeIn(dir, 'steps-parallel.playbook.yml', stepsPlaybook(STEPS)),
    serial: writeIn(dir, 'steps-serial1.playbook.yml', stepsPlaybook(STEPS, 1)),
  };
  const closeMasters = writeIn(dir, 'close-masters.sh', closeMastersScript(join(dir, 'cp')));
  const state = { serial: join(dir, 'state-serial1'), parallel: join(dir, 'state-parallel') };
  const apply = (rb: string, stateDir: string): TimedCommand['argv'] => [
    ...ctx.cli,
    '--state-dir',
    stateDir,
    'apply',
    '-r',
    rb,
    '-i',
    ini,
    '--yes',
  ];

  // One command over an already open mux: the unit the floor is made of.
  const first = hosts[0]!;
  const sock = join(dir, 'mux');
  const sshBase = [
    '-o',
    'BatchMode=yes',
    '-o',
    `IdentityFile=${ctx.plain.access.key}`,
    '-o',
    `UserKnownHostsFile=${ctx.plain.access.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-l',
    'root',
    '-o',
    `ControlPath=${sock}`,
  ];
  ctx.log('step overhead: one command over an open ControlMaster');
  await run('ssh', [...sshBase, '-M', '-f', '-N', first.address]);
  let mux: Awaited<ReturnType<typeof hyperfine>>;
  try {
    mux = await hyperfine([{ name: 'mux', argv: ['ssh', ...sshBase, first.address, 'true'] }], {
      runs: 30,
      warmup: 3,
      workDir: dir,
    });
  } finally {
    await run('ssh', [...sshBase, '-O', 'exit', first.address], { check: false });
  }

  ctx.log(`step overhead: floor and cutover, ${ctx.runs} runs each`);
  const quick = await hyperfine(
    [
      { name: 'floor-seq', argv: ['bash', floor.sequential] },
      { name: 'floor-par', argv: ['bash', floor.parallel] },
      { name: 'version', argv: [...ctx.cli, '--version'] },
      { name: 'plan', argv: [...ctx.cli, 'plan', '-r', runbook.serial, '-i', ini] },
      { name: 'cutover-serial', argv: apply(runbook.serial, state.serial) },
      { name: 'cutover-parallel', argv: apply(runbook.parallel, state.parallel) },
    ],
    { runs: ctx.runs, warmup: 1, workDir: dir },
  );

  const ansibleRuns = Math.max(3, ctx.runs - 2);
  ctx.log(`step overhead: Ansible, 4 variants × ${ansibleRuns} runs (the slow part)`);
  const env = ansibleEnv(dir);
  // One unmeasured run first, so Python's caches are warm for every variant.
  await run('ansible-playbook', ['-i', ini, playbook.parallel], { env, cwd: dir });
  const ansible = await hyperfine(
    [
      { name: 'ansible-par', argv: ['ansible-playbook', '-i', ini, playbook.parallel], env },
      {
        name: 'ansible-par-pipe',
        argv: ['ansible-playbook', '-i', ini, playbook.parallel],
        env: { ...env, ANSIBLE_PIPELINING: 'True' },
      },
      { name: 'ansible-ser', argv: ['ansible-playbook', '-i', ini, playbook.serial], env },
      {
        name: 'ansible-ser-pipe',
        argv: ['ansible-playbook', '-i', ini, playbook.serial],
        env: { ...env, ANSIBLE_PIPELINING: 'True' },
      },
    ],
    { runs: ansibleRuns, warmup: 0, workDir: dir, prepare: ['sh', closeMasters], cwd: dir },
  );
  await run('sh', [closeMasters]);

  const by = new Map([...mux, ...quick, ...ansible].map((r) => [r.name, summarize(r.timesMs)]));
  const s = (name: string) => {
    const v = by.get(name);
    if (!v) throw new Error(`no measurement named ${name}: a bug in bench/step-overhead.ts`);
    return v;
  };
  // The engine's own time, from each run's journal; the first run of each folder was hyperfine's warm-up.
  const engine = (stateDir: string) => {
    const spans = readRuns(stateDir).map((r) => engineSpan(r.events));
    const failed = spans.filter((x) => x.outcome !== 'succeeded');
    if (failed.length > 0)
      throw new Error(`${failed.length} cutover runs in ${stateDir} did not succeed; see their events.jsonl`);
    return summarize(spans.slice(1).map((x) => x.ms));
  };
  const engineSerial = engine(state.serial);
  const engineParallel = engine(state.parallel);

  const row = (what: string, v: ReturnType<typeof summarize>, compare = '') => [
    what,
    formatMs(v.median),
    spread(v),
    String(v.n),
    compare,
  ];
  const cs = s('cutover-serial');
  const cp = s('cutover-parallel');
  const fs = s('floor-seq');
  const fp = s('floor-par');
  const rows = [
    row('floor: one `ssh host true` over an open ControlMaster', s('mux')),
    row('floor, host after host: per host a master, 20 × `ssh host true`, master closed', fs),
    row('floor, all hosts at once (same, 3 in parallel)', fp),
    row('`cutover --version` (Node start, CLI loaded)', s('version')),
    row('`cutover plan` (load, validate, compile; no SSH)', s('plan')),
    row('**cutover apply, rolling serial 1**', cs, `${ratio(cs.median, fs.median)} floor (host after host)`),
    row(
      '↳ engine only, serial 1 (journal: run.started → run.finished)',
      engineSerial,
      `${ratio(engineSerial.median, fs.median)} floor`,
    ),
    row(
      '**cutover apply, all hosts at once** (serial 3)',
      cp,
      `${ratio(cp.median, fp.median)} floor (all at once)`,
    ),
    row('↳ engine only, all at once', engineParallel, `${ratio(engineParallel.median, fp.median)} floor`),
    row(
      'Ansible, default settings (linear, forks 5: 3 hosts at once)',
      s('ansible-par'),
      `${ratio(s('ansible-par').median, cp.median)} cutover (all at once)`,
    ),
    row(
      'Ansible, pipelining (3 hosts at once)',
      s('ansible-par-pipe'),
      `${ratio(s('ansible-par-pipe').median, cp.median)} cutover (all at once)`,
    ),
    row(
      'Ansible, default settings, `serial: 1`',
      s('ansible-ser'),
      `${ratio(s('ansible-ser').median, cs.median)} cutover (serial 1)`,
    ),
    row(
      'Ansible, pipelining, `serial: 1`',
      s('ansible-ser-pipe'),
      `${ratio(s('ansible-ser-pipe').median, cs.median)} cutover (serial 1)`,
    ),
  ];
  const perStep = engineSerial.median / (STEPS * HOSTS);
  const perMux = s('mux').median;
  const target = cs.median <= 2 * fs.median && cp.median <= 2 * fp.median;
  return {
    id: 'steps',
    title: '1. Step overhead: 20 × `shell.run true` on 3 hosts',
    setup: `The same ${STEPS * HOSTS} commands four ways, on lab hosts ${hosts.map((h) => h.address).join(', ')}, all from one generated INI inventory (same key, known_hosts and ssh options for every tool). Whole processes, timed by hyperfine (\`-N\`, ${ctx.runs} runs after one warm-up; Ansible ${ansibleRuns} runs after one warm-up run, its ControlMasters closed before each run as cutover closes its own). "engine only" is each cutover run's own journal from run.started to run.finished.`,
    columns: ['what', 'median', 'min–max', 'runs', 'ratio of medians'],
    rows,
    notes: [
      `Target "cutover within 2× of the floor": ${target ? 'met' : 'NOT met'} (serial 1: ${ratio(cs.median, fs.median)}, all at once: ${ratio(cp.median, fp.median)}, whole process included).`,
      `Per step on one host, inside the engine: ${formatMs(perStep)} (${STEPS * HOSTS} steps in ${formatMs(engineSerial.median)}, journal fsync per event included), against ${formatMs(perMux)} for one \`ssh host true\` over an open mux: cutover's long-lived \`sh\` per host answers without a new SSH session, fork of a login shell or sshd session per command, which is why it can be under the "floor".`,
    ],
  };
}

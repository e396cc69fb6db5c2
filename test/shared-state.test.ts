/**
 * Teams on one shared state (issue 19), with the real CLI and a real PostgreSQL (Debian's, started
 * here): the schema check before anything runs, two controllers running at once, the database
 * killed and restarted mid-run (nothing lost, nothing doubled), a run resumed by another
 * controller, a gate approved from a second controller's dashboard, and a host's history. The
 * "controllers" are separate state folders and processes on this machine; hosts use the local
 * transport. Barriers are files the test creates (wait.file steps), never durations.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/journal/events.js';
import { StateConnection } from '../src/state/pg/connection.js';
import { connect } from '../src/state/pg/database.js';
import { readSharedRun } from '../src/state/pg/history.js';
import { eventDigest } from '../src/state/pg/mirror.js';
import { startMigratedPostgres, type TestPostgres } from '../src/testing/postgres.js';
import { startDashboard } from '../src/ui/dashboard/server.js';
import { sharedSource } from '../src/ui/dashboard/source.js';
import { type CliResult, cutover, journalEvents, liveEvents, runIdFrom } from './cli.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startMigratedPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.destroy();
});
// A test that failed while the database was down must not fail the ones after it.
afterEach(() => {
  if (pg && !pg.running) pg.start();
});

/** A controller: its own folder, runbook, inventory (cluster `cluster`) and state folder. */
function controller(cluster: string, steps: (dir: string) => string[], params = '') {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-team-'));
  writeFileSync(
    join(dir, 'runbook.yml'),
    [
      'name: team',
      params,
      'phases:',
      '  - id: upgrade',
      '    hosts: all',
      '    steps:',
      ...steps(dir),
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'inventory.yml'),
    `cluster: ${cluster}\nhosts:\n  web: { address: 127.0.0.1, transport: local }\n`,
  );
  return {
    dir,
    state: join(dir, 'state'),
    run: (args: string[], env: Record<string, string> = {}) =>
      cutover(['--state-dir', join(dir, 'state'), ...args], { env, cwd: dir }),
    apply: (extra: string[] = []) =>
      cutover(
        [
          '--state-dir',
          join(dir, 'state'),
          '--state',
          pg.url,
          'apply',
          '-r',
          join(dir, 'runbook.yml'),
          '-i',
          join(dir, 'inventory.yml'),
          '--yes',
          ...extra,
        ],
        { cwd: dir },
      ),
  };
}

/** A step that waits for a file the test creates (in the controller's folder). */
const barrier = (id: string, dir: string, file: string) => [
  `      - id: ${id}`,
  `        wait.file: { path: "${join(dir, file)}", state: present }`,
  '        timeout: 5m',
];

async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + 60_000; // a bound for a stuck test, not an expected duration
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const running = (state: string, step: string) => () =>
  liveEvents(state).some((e) => e.type === 'step.started' && e.step === `upgrade/${step}@web`);

async function shared(run: string): Promise<JournalEvent[]> {
  const conn = await StateConnection.open(pg.url);
  try {
    const { events, gap } = await readSharedRun(conn, run);
    expect(gap).toBeUndefined();
    return events;
  } finally {
    await conn.close();
  }
}

function ok(res: CliResult): CliResult {
  expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
  return res;
}

describe('a team on one PostgreSQL', () => {
  it('refuses to run before `cutover state migrate` (exit 7, nothing changed); migrate is idempotent', async () => {
    const a = controller('pre', (dir) => [`      - shell.run: { command: "touch ${dir}/touched" }`]);
    const db = await connect(pg.url);
    await db.query('create database fresh');
    await db.end();
    const url = pg.url.replace(/\/cutover$/, '/fresh');
    const status = await a.run(['--state', url, 'state', 'status']);
    expect(status.stdout).toContain('schema version 0');
    expect(status.stdout).toContain('cutover state migrate');
    const refused = await a.run([
      '--state',
      url,
      'apply',
      '-r',
      join(a.dir, 'runbook.yml'),
      '-i',
      join(a.dir, 'inventory.yml'),
      '--yes',
    ]);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(/has no cutover schema yet[\s\S]*cutover state migrate/);
    expect(existsSync(join(a.dir, 'touched'))).toBe(false);
    expect(existsSync(join(a.state, 'runs'))).toBe(false);
    expect(ok(await a.run(['--state', url, 'state', 'migrate'])).stdout).toContain('applied migration 1');
    expect(ok(await a.run(['--state', url, 'state', 'migrate'])).stdout).toContain('nothing to do');
    expect(ok(await a.run(['--state', url, 'state', 'status'])).stdout).toMatch(
      /schema version 1 .*\n {2}0 runs/,
    );
    const bad = await a.run(['--state', 'mysql://x', 'runs']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a PostgreSQL URL');
    const away = await a.run(['--state', 'postgres://cutover:s3cret@127.0.0.1:1/cutover', 'runs']);
    expect(away.code).toBe(7);
    expect(away.stderr).toContain('postgres://cutover:***@127.0.0.1:1/cutover');
    expect(away.stderr).not.toContain('s3cret');
  }, 120_000);

  it('two controllers run at once; a third sees both runs, every event once, and who ran them', async () => {
    const a = controller('shop-a', (dir) => barrier('hold', dir, 'go-a'));
    const b = controller('shop-b', (dir) => barrier('hold', dir, 'go-b'));
    const runA = a.apply();
    const runB = b.apply();
    await until('both runs in flight', () => running(a.state, 'hold')() && running(b.state, 'hold')());
    writeFileSync(join(a.dir, 'go-a'), '');
    writeFileSync(join(b.dir, 'go-b'), '');
    const [resA, resB] = [ok(await runA), ok(await runB)];
    const ids = [runIdFrom(resA.stdout), runIdFrom(resB.stdout)];
    for (const [i, c] of [a, b].entries()) {
      const local = journalEvents(c.state, ids[i] as string);
      expect((await shared(ids[i] as string)).map(eventDigest)).toEqual(local.map(eventDigest));
    }
    const third = controller('elsewhere', () => []);
    const runs = ok(await third.run(['--state', pg.url, 'runs'])).stdout;
    for (const id of ids) expect(runs).toMatch(new RegExp(`${id}  succeeded .* by \\S+@${hostname()}`));
    const status = ok(await third.run(['--state', pg.url, 'status', ids[0] as string])).stdout;
    expect(status).toContain(`run ${ids[0]}: succeeded`);
    const report = ok(await third.run(['--state', pg.url, 'report', ids[1] as string])).stdout;
    expect(report).toContain(`run ${ids[1]}: succeeded`);
  }, 120_000);

  it('the database killed mid-run: the run goes on, says so once, and catches up — nothing lost or doubled', async () => {
    const c = controller('crash', (dir) => [
      ...barrier('one', dir, 'go-1'),
      '      - id: middle',
      '        shell.run: { command: "echo journaled while the database is down" }',
      ...barrier('two', dir, 'go-2'),
    ]);
    const run = c.apply();
    await until('step one running', running(c.state, 'one'));
    pg.kill();
    writeFileSync(join(c.dir, 'go-1'), '');
    await until('step two running', running(c.state, 'two'));
    pg.start();
    writeFileSync(join(c.dir, 'go-2'), '');
    const res = ok(await run);
    const id = runIdFrom(res.stdout);
    expect(res.stderr.match(/is unreachable/g)).toHaveLength(1);
    expect(res.stderr).toContain('the run goes on');
    const local = journalEvents(c.state, id);
    const inDb = await shared(id);
    expect(inDb.map((e) => e.seq)).toEqual(local.map((_, i) => i + 1));
    expect(inDb.map(eventDigest)).toEqual(local.map(eventDigest));

    // A run that ends while the database is still away: it says how to send the rest later.
    const d = controller('crash-2', (dir) => barrier('one', dir, 'go'));
    const second = d.apply();
    await until('step one running', running(d.state, 'one'));
    pg.kill();
    writeFileSync(join(d.dir, 'go'), '');
    const ended = ok(await second);
    const id2 = runIdFrom(ended.stdout);
    expect(ended.stderr, ended.stderr).toContain(`cutover state push ${id2}`);
    pg.start();
    expect(ok(await d.run(['--state', pg.url, 'state', 'push'])).stdout).toContain('1 run(s)');
    expect((await shared(id2)).map(eventDigest)).toEqual(journalEvents(d.state, id2).map(eventDigest));
    // Pushing again sends nothing twice.
    ok(await d.run(['--state', pg.url, 'state', 'push', id2]));
    expect(await shared(id2)).toHaveLength(journalEvents(d.state, id2).length);
  }, 180_000);

  it('a run that failed on one controller is resumed from another, from the shared state alone', async () => {
    const a = controller('handover', (dir) => [
      '      - id: check',
      `        shell.run: { command: "test -e ${dir}/fixed || { echo not fixed yet >&2; exit 1; }" }`,
      '      - id: after',
      `        shell.run: { command: "echo done > ${dir}/finished" }`,
    ]);
    const failed = await a.apply();
    expect(failed.code).toBe(1);
    const id = runIdFrom(failed.stdout);
    writeFileSync(join(a.dir, 'fixed'), '');
    // Controller B: another state folder, no local copy of the run, no runbook of its own.
    const bDir = mkdtempSync(join(tmpdir(), 'cutover-team-b-'));
    const b = await cutover(
      ['--state-dir', join(bDir, 'state'), '--state', pg.url, 'resume', id, '--rerun', 'upgrade/check@web'],
      {
        cwd: a.dir,
      },
    );
    expect(b.code, b.stderr + b.stdout).toBe(0);
    expect(b.stderr).toContain(`copied run ${id} from the shared state`);
    expect(existsSync(join(a.dir, 'finished'))).toBe(true);
    const inDb = await shared(id);
    expect(inDb.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'succeeded' });
    expect(inDb.map(eventDigest)).toEqual(journalEvents(join(bDir, 'state'), id).map(eventDigest));
    // Controller A sees where the run is now, as B left it.
    expect(ok(await a.run(['--state', pg.url, 'status', id])).stdout).toContain(`run ${id}: succeeded`);
  }, 120_000);

  it('a run is rolled back from another controller, from the shared state alone', async () => {
    const a = controller('rollback-elsewhere', (dir) => [
      '      - id: install',
      `        shell.run: { command: "echo 5.0 > ${dir}/installed", undo: "rm -f ${dir}/installed" }`,
    ]);
    const id = runIdFrom(ok(await a.apply()).stdout);
    expect(existsSync(join(a.dir, 'installed'))).toBe(true);
    const bDir = mkdtempSync(join(tmpdir(), 'cutover-team-b-'));
    const b = await cutover(['--state-dir', join(bDir, 'state'), '--state', pg.url, 'rollback', id, '--yes']);
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(join(a.dir, 'installed'))).toBe(false);
    expect((await shared(id)).at(-1)).toMatchObject({ type: 'run.finished', outcome: 'rolled-back' });
  }, 120_000);

  it('a cutover.config.yml names the shared state for the commands run below it; a bad line is a clear error', async () => {
    const c = controller('configured', (dir) => [`      - shell.run: { command: "touch ${dir}/ran" }`]);
    writeFileSync(join(c.dir, 'cutover.config.yml'), `# the team's database\nstate: "${pg.url}"  # shared\n`);
    const below = join(c.dir, 'nested', 'deeper');
    mkdirSync(below, { recursive: true });
    const args = [
      '--state-dir',
      c.state,
      'apply',
      '-r',
      join(c.dir, 'runbook.yml'),
      '-i',
      join(c.dir, 'inventory.yml'),
    ];
    const res = await cutover([...args, '--yes'], { cwd: below });
    const id = runIdFrom(ok(res).stdout);
    expect((await shared(id)).map(eventDigest)).toEqual(journalEvents(c.state, id).map(eventDigest));
    writeFileSync(join(c.dir, 'cutover.config.yml'), `state: "${pg.url}"\nstate_dir: x\n`);
    const bad = await cutover(['runs'], { cwd: below });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${join(c.dir, 'cutover.config.yml')}:2:1: expected \`state: postgres://`);
    // --state on the command line wins over the file, and $CUTOVER_STATE_URL too.
    const flag = await cutover(['--state', 'postgres://nobody@127.0.0.1:1/x', 'runs'], { cwd: below });
    expect(flag.code).toBe(7);
  }, 120_000);

  it('a gate is approved from a second dashboard, which records who approved it', async () => {
    const a = controller('gated', (dir) => [
      '      - id: verify',
      '        gate.confirm: { message: "Check the shop" }',
      '      - id: after',
      `        shell.run: { command: "echo approved > ${dir}/approved" }`,
    ]);
    const run = a.apply(['--await-approval']);
    const conn = await StateConnection.open(pg.url);
    const dashboard = await startDashboard({
      stateDir: mkdtempSync(join(tmpdir(), 'cutover-team-dash-')),
      host: '127.0.0.1',
      port: 0,
      source: sharedSource(conn),
    });
    try {
      const pending = await until('the gate in the shared state', () => {
        const e = liveEvents(a.state).find((x) => x.type === 'gate.pending');
        return e?.type === 'gate.pending' ? e : undefined;
      });
      // The dashboard sees the gate once the event is in the database (NOTIFY), not from A's files.
      const runs = await until('the dashboard to list the run as live with its gate', async () => {
        const list = (await (await fetch(`${dashboard.url}api/runs`)).json()) as {
          run: string;
          live: boolean;
          pendingGates: number;
        }[];
        return list.find((r) => r.run === pending.run && r.live && r.pendingGates === 1);
      });
      expect(runs.live).toBe(true);
      const res = await fetch(`${dashboard.url}api/runs/${pending.run}/gate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          step: pending.step,
          host: pending.host,
          gateSeq: pending.seq,
          approved: true,
          by: 'bob',
        }),
      });
      expect(res.status).toBe(202);
      ok(await run);
    } finally {
      await dashboard.close();
    }
    const decided = journalEvents(a.state, runIdFrom((await run).stdout)).find(
      (e) => e.type === 'gate.decided',
    );
    expect(decided).toMatchObject({ approved: true, by: `bob via dashboard on ${hostname()} (127.0.0.1)` });
    expect(existsSync(join(a.dir, 'approved'))).toBe(true);
  }, 120_000);

  it('`runs --host --since`: the runs that worked on a host and the versions it went through', async () => {
    const params = 'params:\n  version: { type: string, required: true }';
    const c = controller(
      'history',
      () => ['      - shell.run: { command: "echo installing {{ params.version }}" }'],
      params,
    );
    const first = runIdFrom(ok(await c.apply(['-p', 'version=5.0.24110.0'])).stdout);
    const second = runIdFrom(ok(await c.apply(['-p', 'version=5.0.24120.0'])).stdout);
    const other = controller('history-elsewhere', () => []);
    const out = ok(await other.run(['--state', pg.url, 'runs', '--host', 'web', '--since', '30d'])).stdout;
    expect(out).toContain(`${first}  succeeded   on web: done (1/1)  version=5.0.24110.0`);
    expect(out).toMatch(
      new RegExp(
        `web went through: .*version=5\\.0\\.24110\\.0 \\(${first}\\) → version=5\\.0\\.24120\\.0 \\(${second}\\)`,
      ),
    );
    const none = ok(await other.run(['--state', pg.url, 'runs', '--host', 'nowhere'])).stdout;
    expect(none).toContain('no runs on host nowhere');
    const bad = await other.run(['--state', pg.url, 'runs', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected an age (30d, 12h, 2w, 90m) or a date');
  }, 120_000);
});

/**
 * The shared state against a real PostgreSQL (Debian's, started here with initdb/pg_ctl): schema
 * versions, the journal mirror through a database killed and restarted, two controllers on one
 * run, the cluster lease, control requests, and copying a run to another controller.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockHeldError } from '../../errors.js';
import type { JournalEventBody } from '../../journal/events.js';
import { FileJournal, runFilePath } from '../../journal/file-store.js';
import { startMigratedPostgres, type TestPostgres } from '../../testing/postgres.js';
import { ControlWatcher } from '../control.js';
import { StateConnection } from './connection.js';
import { sendSharedControl, SharedControlFeed } from './control.js';
import { connect, shownUrl, StateUnavailableError } from './database.js';
import { materialiseRun, readSharedRun, sharedHistory } from './history.js';
import { readSharedLease, SharedLease } from './lease.js';
import { eventDigest, JournalMirror, MirroredJournal } from './mirror.js';
import { migrate, requireSchema, SCHEMA_VERSION, schemaVersion } from './schema.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startMigratedPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.destroy();
});

function started(run: string, extra: Partial<Record<string, unknown>> = {}): JournalEventBody {
  return {
    type: 'run.started',
    planHash: 'h1',
    runbook: '/rb.yml',
    inventory: '/inv.yml',
    cluster: `c-${run}`,
    params: { version: '5.0.24120.0' },
    operator: 'alice',
    controller: 'laptop',
    hosts: ['web', 'db'],
    steps: [],
    ...extra,
  } as JournalEventBody;
}

const phase = (name: string): JournalEventBody =>
  ({ type: 'phase.started', phase: name }) as JournalEventBody;

function tempJournal(): FileJournal {
  return new FileJournal(mkdtempSync(join(tmpdir(), 'cutover-state-')));
}

async function mirrorFor(notices: string[] = []) {
  const conn = await StateConnection.open(pg.url);
  const mirror = new JournalMirror(conn, (t) => notices.push(t));
  return { conn, mirror, notices };
}

describe('schema', () => {
  it('migrate applies each version once; a database without the schema or newer than this cutover is refused', async () => {
    const db = await connect(pg.url);
    expect(await schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(await migrate(db, pg.url)).toEqual([]); // again: nothing to do
    await requireSchema(db, pg.url);
    await db.query('create database fresh');
    const freshUrl = pg.url.replace(/\/cutover$/, '/fresh');
    const fresh = await connect(freshUrl);
    const missing = (await requireSchema(fresh, freshUrl).catch((e: unknown) => e)) as StateUnavailableError;
    expect(missing.describe()).toMatch(/no cutover schema yet[\s\S]*cutover state migrate/);
    expect((await migrate(fresh, freshUrl)).map((m) => m.version)).toEqual([1]);
    await fresh.query('insert into cutover.schema_version (version) values (99)');
    const err = await requireSchema(fresh, freshUrl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateUnavailableError);
    expect((err as Error).message).toMatch(/schema version 99, newer than this cutover knows \(1\)/);
    await expect(migrate(fresh, freshUrl)).rejects.toThrow(/newer than this cutover knows/);
    await fresh.end();
    await db.end();
  });

  it('an unreachable database is a clear error naming it without its password', async () => {
    const url = 'postgres://bob:s3cret@127.0.0.1:1/cutover';
    const err = await connect(url, { connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateUnavailableError);
    expect((err as StateUnavailableError).describe()).toContain('postgres://bob:***@127.0.0.1:1/cutover');
    expect((err as StateUnavailableError).describe()).not.toContain('s3cret');
    expect(shownUrl('postgres://u:p@h/db?password=x&sslmode=require')).toBe(
      'postgres://u:***@h/db?password=***&sslmode=require',
    );
  });
});

describe('journal mirror', () => {
  it('sends every event once, in order; with the database killed mid-run the run goes on and catches up, nothing lost or doubled', async () => {
    const local = tempJournal();
    const { conn, mirror, notices } = await mirrorFor();
    const journal = new MirroredJournal(local, mirror);
    journal.append('r-kill', started('r-kill'));
    for (let i = 0; i < 5; i++) journal.append('r-kill', phase(`p${i}`));
    expect(await mirror.flush(30_000)).toBe(0);
    expect((await readSharedRun(conn, 'r-kill')).events).toHaveLength(6);

    pg.kill();
    // The run goes on: appends return at once (the local journal is the truth), nothing is lost.
    for (let i = 5; i < 40; i++) journal.append('r-kill', phase(`p${i}`));
    journal.append('r-kill', { type: 'run.finished', outcome: 'succeeded' } as JournalEventBody);
    expect(await mirror.flush(3000)).toBeGreaterThan(0);
    expect(notices.filter((n) => n.includes('unreachable'))).toHaveLength(1);
    pg.start();
    expect(await mirror.flush(60_000)).toBe(0);
    expect(notices.filter((n) => n.includes('unreachable'))).toHaveLength(1);
    expect(notices.some((n) => n.includes('is back'))).toBe(true);

    const shared = await readSharedRun(conn, 'r-kill');
    expect(shared.gap).toBeUndefined();
    expect(shared.events.map((e) => e.seq)).toEqual(local.read('r-kill').map((e) => e.seq));
    expect(shared.events.map(eventDigest)).toEqual(local.read('r-kill').map(eventDigest));
    const count = await conn.query(
      'select count(*)::int as n, max(seq) as m from cutover.events where run = $1',
      ['r-kill'],
    );
    expect(count.rows[0]).toEqual({ n: 42, m: 42 });
    const row = await conn.query('select outcome, last_seq from cutover.runs where run = $1', ['r-kill']);
    expect(row.rows[0]).toEqual({ outcome: 'succeeded', last_seq: 42 });
    mirror.close();
    await conn.close();
  }, 120_000);

  it('a controller mirroring a run again (resume) sends only what the database lacks', async () => {
    const local = tempJournal();
    const first = await mirrorFor();
    const journal = new MirroredJournal(local, first.mirror);
    journal.append('r-again', started('r-again'));
    journal.append('r-again', phase('a'));
    expect(await first.mirror.flush(30_000)).toBe(0);
    first.mirror.close();
    await first.conn.close();
    // Events journaled while no mirror ran (a run without --state), then a resume with it.
    local.append('r-again', phase('b'));
    const second = await mirrorFor();
    const again = new MirroredJournal(local, second.mirror);
    again.append('r-again', { type: 'run.resumed', planHash: 'h1', operator: 'bob' } as JournalEventBody);
    expect(await second.mirror.flush(30_000)).toBe(0);
    const shared = await readSharedRun(second.conn, 'r-again');
    expect(shared.events.map((e) => e.type)).toEqual([
      'run.started',
      'phase.started',
      'phase.started',
      'run.resumed',
    ]);
    second.mirror.close();
    await second.conn.close();
  });

  it('two controllers writing one run: the second is told and never overwrites the first', async () => {
    const a = await mirrorFor();
    const b = await mirrorFor();
    const ja = new MirroredJournal(tempJournal(), a.mirror);
    const jb = new MirroredJournal(tempJournal(), b.mirror);
    ja.append('r-two', started('r-two'));
    expect(await a.mirror.flush(30_000)).toBe(0);
    jb.append('r-two', started('r-two', { operator: 'mallory' }));
    await b.mirror.flush(30_000);
    expect(b.notices.join('\n')).toMatch(/holds a different event 1 .*another controller wrote this run too/);
    const shared = await readSharedRun(a.conn, 'r-two');
    expect(shared.events).toHaveLength(1);
    expect((shared.events[0] as { operator: string }).operator).toBe('alice');
    for (const x of [a, b]) {
      x.mirror.close();
      await x.conn.close();
    }
  });

  it('two controllers with runs of their own at once: both complete, each event once', async () => {
    const a = await mirrorFor();
    const b = await mirrorFor();
    const ja = new MirroredJournal(tempJournal(), a.mirror);
    const jb = new MirroredJournal(tempJournal(), b.mirror);
    ja.append('r-a', started('r-a'));
    jb.append('r-b', started('r-b'));
    for (let i = 0; i < 300; i++) {
      ja.append('r-a', phase(`a${i}`));
      jb.append('r-b', phase(`b${i}`));
    }
    expect(await Promise.all([a.mirror.flush(60_000), b.mirror.flush(60_000)])).toEqual([0, 0]);
    const res = await a.conn.query(
      `select run, count(*)::int as n, max(seq) as m from cutover.events where run in ('r-a', 'r-b') group by run order by run`,
    );
    expect(res.rows).toEqual([
      { run: 'r-a', n: 301, m: 301 },
      { run: 'r-b', n: 301, m: 301 },
    ]);
    const history = sharedHistory(a.conn);
    expect(await history.listRuns({ host: 'web' })).toEqual(expect.arrayContaining(['r-a', 'r-b']));
    expect(await history.listRuns({ host: 'nowhere' })).toEqual([]);
    for (const x of [a, b]) {
      x.mirror.close();
      await x.conn.close();
    }
  });
});

describe('cluster lease', () => {
  it('one run per cluster across controllers; the same run on the same controller takes it over; an expired lease can be taken', async () => {
    const conn = await StateConnection.open(pg.url);
    const lease = await SharedLease.acquire(conn, 'shop', 'run-1', 'alice');
    const err = await SharedLease.acquire(conn, 'shop', 'run-2', 'bob').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toContain(`alice@${hostname()}`);
    expect((err as Error).message).toContain('run-1');
    const again = await SharedLease.acquire(conn, 'shop', 'run-1', 'alice'); // resume after a crash
    // Another controller's lease on the same run is not taken while it is renewed…
    await conn.query(`update cutover.leases set controller = 'other-laptop' where cluster = 'shop'`);
    await expect(SharedLease.acquire(conn, 'shop', 'run-1', 'alice')).rejects.toThrow(/other-laptop/);
    // …but once it expired (that controller died), it is.
    await conn.query(
      `update cutover.leases set expires_at = now() - interval '1 second' where cluster = 'shop'`,
    );
    const taken = await SharedLease.acquire(conn, 'shop', 'run-2', 'bob');
    expect((await readSharedLease(conn, 'shop'))?.run).toBe('run-2');
    await lease.release(); // not ours any more: nothing happens
    await again.release();
    expect((await readSharedLease(conn, 'shop'))?.run).toBe('run-2');
    await taken.release();
    expect(await readSharedLease(conn, 'shop')).toBeUndefined();
    await conn.close();
  });
});

describe('control requests', () => {
  it('a request from another machine reaches the running controller; earlier ones do not', async () => {
    const runner = await StateConnection.open(pg.url);
    const dashboard = await StateConnection.open(pg.url);
    await sendSharedControl(dashboard, 'r-ctl', { type: 'abort', by: 'an earlier process' });
    const watcher = new ControlWatcher(join(tmpdir(), 'no-such-control-file'));
    const aborts: string[] = [];
    watcher.onAbort((by) => aborts.push(by));
    const feed = await SharedControlFeed.start(runner, 'r-ctl', watcher);
    await sendSharedControl(dashboard, 'r-other', { type: 'abort', by: 'someone else' });
    await sendSharedControl(dashboard, 'r-ctl', { type: 'abort', by: 'bob via dashboard on lead-pc' });
    const deadline = Date.now() + 30_000; // a bound for a stuck test, not an expected duration
    while (aborts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await feed.settled();
    expect(aborts).toEqual(['bob via dashboard on lead-pc']);
    // The database restarts while the run waits (at a gate nothing else queries): the feed
    // reconnects by itself and hears the next request.
    pg.kill();
    pg.start();
    await sendSharedControl(dashboard, 'r-ctl', { type: 'abort', by: 'after the restart' });
    const later = Date.now() + 60_000; // a bound for a stuck test, not an expected duration
    while (aborts.length < 2 && Date.now() < later) await new Promise((r) => setTimeout(r, 20));
    expect(aborts).toEqual(['bob via dashboard on lead-pc', 'after the restart']);
    feed.stop();
    await runner.close();
    await dashboard.close();
  });
});

describe('another controller', () => {
  it('copies a run (events and uploaded files) into its own state folder, and refuses a journal that differs', async () => {
    const { conn, mirror } = await mirrorFor();
    const a = tempJournal();
    const sha = 'ab'.repeat(32);
    mkdirSync(join(a.runDir('r-copy'), 'files'), { recursive: true });
    writeFileSync(runFilePath(a.runDir('r-copy'), sha), 'artifact bytes');
    const inputs = {
      runbook: { file: '/rb.yml', text: 'x' },
      inventory: { sources: [], texts: {}, resolved: {} },
      files: { '/srv/app.tar': sha },
    };
    const ja = new MirroredJournal(a, mirror);
    ja.append('r-copy', started('r-copy', { inputs }));
    ja.append('r-copy', phase('one'));
    expect(await mirror.flush(30_000)).toBe(0);

    const b = tempJournal();
    expect(await materialiseRun(conn, b, 'r-copy')).toMatch(
      /copied run r-copy .* 2 event\(s\), 1 uploaded file/,
    );
    expect(b.read('r-copy').map(eventDigest)).toEqual(a.read('r-copy').map(eventDigest));
    expect(await materialiseRun(conn, b, 'r-copy')).toBeUndefined(); // already there
    b.append('r-copy', phase('b only'));
    expect(await materialiseRun(conn, b, 'r-copy')).toBeUndefined(); // local has more: it is the truth

    const c = tempJournal();
    c.append('r-copy', started('r-copy', { operator: 'mallory' }));
    await expect(materialiseRun(conn, c, 'r-copy')).rejects.toThrow(/differ at event 1/);
    mirror.close();
    await conn.close();
  });
});

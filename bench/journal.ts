/**
 * What the shared state costs per journal event (issue 19), against the file journal, on a real
 * PostgreSQL started here (Debian's, as in the tests). Three ways to journal N events:
 *
 * - **file**: the embedded journal, one fsync'd JSON line per event (what a run waits on today);
 * - **file + mirror**: what a run with `--state` waits on (the same append, then a queue push), and
 *   how long until the last event is committed in PostgreSQL (batched transactions);
 * - **PostgreSQL, one transaction per event**: what a run would wait on if it journaled straight
 *   to the database (for comparison: cutover does not do this).
 *
 * Usage: npx tsx bench/journal.ts [--events 2000]
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JournalEventBody } from '../src/journal/events.js';
import { FileJournal } from '../src/journal/file-store.js';
import { StateConnection } from '../src/state/pg/connection.js';
import { connect } from '../src/state/pg/database.js';
import { eventDigest, JournalMirror, MirroredJournal } from '../src/state/pg/mirror.js';
import { migrate } from '../src/state/pg/schema.js';
import { startPostgres } from '../src/testing/postgres.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000' } } });
const N = Number(values.events);

const started = (run: string): JournalEventBody =>
  ({
    type: 'run.started',
    planHash: 'h',
    runbook: '/rb.yml',
    inventory: '/inv.yml',
    cluster: run,
    params: {},
    operator: 'bench',
    controller: 'bench',
    hosts: ['web'],
    steps: [],
  }) as JournalEventBody;
// A typical event: a step's command with a little output.
const command = (i: number): JournalEventBody =>
  ({
    type: 'step.command',
    step: `upgrade/step-${i}@web`,
    host: 'web',
    command: `systemctl restart app-${i} && curl -fsS http://127.0.0.1:8080/health`,
  }) as JournalEventBody;

function stats(samples: number[]): { median: number; p95: number; total: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: at(0.5), p95: at(0.95), total: samples.reduce((a, b) => a + b, 0) };
}

const ms = (x: number) =>
  x < 1 ? `${(x * 1000).toFixed(0)} µs` : x < 1000 ? `${x.toFixed(2)} ms` : `${(x / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const load = loadavg()[0]?.toFixed(1);
  const pg = await startPostgres();
  try {
    const db = await connect(pg.url);
    await migrate(db, pg.url);
    await db.end();

    // 1. The file journal alone.
    const file = new FileJournal(mkdtempSync(join(tmpdir(), 'cutover-bench-journal-')));
    file.append('file', started('file'));
    const fileTimes: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      file.append('file', command(i));
      fileTimes.push(performance.now() - t);
    }

    // 2. The file journal mirrored into PostgreSQL.
    const conn = await StateConnection.open(pg.url);
    const mirror = new JournalMirror(conn, (t) => process.stderr.write(`${t}\n`));
    const mirrored = new MirroredJournal(
      new FileJournal(mkdtempSync(join(tmpdir(), 'cutover-bench-journal-'))),
      mirror,
    );
    mirrored.append('mirrored', started('mirrored'));
    await mirror.flush(60_000);
    const mirrorTimes: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      mirrored.append('mirrored', command(i));
      mirrorTimes.push(performance.now() - t);
    }
    const appended = performance.now() - t0;
    const unsent = await mirror.flush(600_000);
    const drained = performance.now() - t0;
    if (unsent !== 0) throw new Error(`${unsent} events not sent`);
    mirror.close();

    // 3. One transaction per event, straight to PostgreSQL.
    const direct: number[] = [];
    await conn.query(
      `insert into cutover.runs (run, cluster, runbook, operator, controller, started_at) values ('direct', 'd', '/rb', 'b', 'b', now())`,
    );
    for (let i = 0; i < N; i++) {
      const event = { ...command(i), seq: i + 1, at: new Date().toISOString(), run: 'direct' };
      const t = performance.now();
      await conn.transaction(async (c) => {
        await c.query(
          `insert into cutover.events (run, seq, at, type, host, body, digest) values ($1, $2, $3, $4, $5, $6, $7)`,
          [
            'direct',
            event.seq,
            event.at,
            event.type,
            'web',
            JSON.stringify(event),
            eventDigest(event as never),
          ],
        );
        await c.query(`update cutover.runs set last_seq = $2 where run = $1`, ['direct', event.seq]);
        await c.query(`select pg_notify('cutover_events', $1)`, [`direct:${event.seq}`]);
      });
      direct.push(performance.now() - t);
    }
    await conn.close();

    const f = stats(fileTimes);
    const m = stats(mirrorTimes);
    const d = stats(direct);
    const rows = [
      `| file journal (fsync per event) | ${ms(f.median)} | ${ms(f.p95)} | ${ms(f.total / N)} | — |`,
      `| file + mirror (what a run waits on) | ${ms(m.median)} | ${ms(m.p95)} | ${ms(appended / N)} | all ${N} in PostgreSQL ${ms(drained)} after the first append: ${ms(drained / N)} an event |`,
      `| PostgreSQL, one transaction per event (not used) | ${ms(d.median)} | ${ms(d.p95)} | ${ms(d.total / N)} | — |`,
    ];
    process.stdout.write(
      [
        `${new Date().toISOString().slice(0, 10)}, ${N} events, load average ${load} at start, Node ${process.version}:`,
        '',
        '| journal | append median | append p95 | append mean | committed in PostgreSQL |',
        '| --- | --- | --- | --- | --- |',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await pg.destroy();
  }
}

await main();

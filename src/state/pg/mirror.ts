/**
 * The run's journal, mirrored into the shared state. The local file journal stays the source of
 * truth while the run lives: every event is fsync'd there first, then queued here and sent in
 * order, in transactions keyed by (run, seq), so a retried batch never doubles an event and a
 * missing one shows as a gap. When PostgreSQL goes away the run goes on (the hosts' lock keeps it
 * safe): the queue holds what is not sent yet, the operator is told once, and everything is sent
 * when the database is back. An event already in the database with different content means another
 * controller wrote this run too: that is said loudly and this run stops mirroring, never overwrites.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type FileJournal, runFilePath } from '../../journal/file-store.js';
import type { JournalEvent, JournalEventBody, JournalStore } from '../../journal/events.js';
import type { StateConnection } from './connection.js';
import { reason, shownUrl } from './database.js';

/** Uploaded files larger than this stay only in the controller's run folder (said when it happens). */
export const MAX_SHARED_FILE_BYTES = 256 * 1024 * 1024;
/** Events sent in one transaction. */
const BATCH = 200;
/** Waits between attempts while the database is away: 1, 2, 4, then every 8 s. */
const RETRY_MS = [1000, 2000, 4000, 8000];

/** The digest that tells two versions of one event apart. Example: `eventDigest(e)` -> 'sha256 hex'. */
export function eventDigest(event: JournalEvent): string {
  return createHash('sha256').update(JSON.stringify(event)).digest('hex');
}

/** What both a connection and a client in a transaction can do. */
type Queryable = Pick<StateConnection, 'query'>;

interface RunQueue {
  runDir: string;
  /** Events not known to be in the database yet, in seq order. */
  pending: JournalEvent[];
  /** Highest seq known to be in the database (-1: not asked yet). */
  sent: number;
  /** Set when the database holds a different version of one of this run's events. */
  diverged?: string;
}

export class JournalMirror {
  readonly #runs = new Map<string, RunQueue>();
  #sending: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #away = false;
  #closed = false;
  readonly #idle = new Set<() => void>();

  constructor(
    readonly conn: StateConnection,
    /** Told once when the database goes away, once when it is back, and about divergence. */
    private readonly notice: (text: string) => void,
  ) {}

  /**
   * Starts mirroring `run`: every event its local journal holds now (the database may have some or
   * all of them already) and every event appended later through `push`.
   */
  track(run: string, journal: FileJournal): void {
    if (this.#runs.has(run)) return;
    this.#runs.set(run, { runDir: journal.runDir(run), pending: journal.read(run), sent: -1 });
    this.#kick();
  }

  /** Queues one event just written to the local journal. */
  push(event: JournalEvent): void {
    const queue = this.#runs.get(event.run);
    if (!queue || queue.diverged) return;
    queue.pending.push(event);
    this.#kick();
  }

  /** Events not in the database yet, all runs together. */
  get unsent(): number {
    let n = 0;
    for (const q of this.#runs.values()) n += q.pending.length;
    return n;
  }

  /**
   * Waits until every queued event is in the database, or `timeoutMs` passed; returns how many
   * are still unsent (0: all there).
   */
  async flush(timeoutMs: number): Promise<number> {
    if (this.unsent === 0) return 0;
    this.#failures = 0; // Try again at once rather than after the last backoff.
    this.#kick(true);
    await new Promise<void>((resolve) => {
      // Not unref'd: the process must stay up for the retries until the events are sent or time is up.
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#idle.add(done);
    });
    return this.unsent;
  }

  /** Stops sending (what is unsent stays in the local journal: `cutover state push` sends it later). */
  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    for (const done of this.#idle) done();
  }

  #kick(now = false): void {
    if (this.#closed || this.#sending) return;
    if (this.#retry) {
      if (!now) return; // A retry is scheduled: the backoff decides when.
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    this.#sending = this.#sendAll()
      .then(
        () => {
          if (this.#away) {
            this.#away = false;
            this.notice(
              `the shared state ${shownUrl(this.conn.url)} is back: the run's journal is caught up.`,
            );
          }
          this.#failures = 0;
        },
        (e: unknown) => this.#wentAway(e),
      )
      .finally(() => {
        this.#sending = undefined;
        if (this.unsent === 0 || this.#closed) {
          for (const done of this.#idle) done();
          this.#idle.clear();
        } else if (!this.#retry) this.#kick();
      });
  }

  #wentAway(e: unknown): void {
    if (!this.#away) {
      this.#away = true;
      this.notice(
        `the shared state ${shownUrl(this.conn.url)} is unreachable (${reason(e)}): the run goes on, its journal is kept on this controller, and ${this.unsent} event(s) so far will be sent when the database is back.`,
      );
    }
    const wait = RETRY_MS[Math.min(this.#failures, RETRY_MS.length - 1)] as number;
    this.#failures += 1;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#kick();
    }, wait);
    this.#retry.unref();
  }

  async #sendAll(): Promise<void> {
    for (const [run, queue] of this.#runs) {
      while (queue.pending.length > 0 && !queue.diverged && !this.#closed) await this.#sendBatch(run, queue);
    }
  }

  async #sendBatch(run: string, queue: RunQueue): Promise<void> {
    if (queue.sent < 0) {
      const res = await this.conn.query<{ last_seq: number }>(
        'select last_seq from cutover.runs where run = $1',
        [run],
      );
      queue.sent = res.rows[0]?.last_seq ?? 0;
    }
    const batch = queue.pending.slice(0, BATCH);
    const fresh = batch.filter((e) => e.seq > queue.sent);
    const known = batch.filter((e) => e.seq <= queue.sent);
    if (known.length) await this.#checkSame(run, queue, known);
    if (queue.diverged) return;
    if (fresh.length) {
      const first = fresh[0] as JournalEvent;
      if (first.seq !== queue.sent + 1)
        throw new Error(`run ${run}: event ${first.seq} would follow ${queue.sent} in the shared state`);
      await this.conn
        .transaction(async (db) => {
          for (const e of fresh) await writeEvent(db, queue.runDir, e, this.notice);
          const inserted = await db.query<{ seq: number }>(
            `insert into cutover.events (run, seq, at, type, host, body, digest)
           select $1, (e->>'seq')::int, (e->>'at')::timestamptz, e->>'type', e->>'host', e, d
           from json_array_elements($2::json) with ordinality as x(e, i)
           join unnest($3::text[]) with ordinality as y(d, j) on i = j
           on conflict (run, seq) do nothing returning seq`,
            [run, JSON.stringify(fresh), fresh.map(eventDigest)],
          );
          if (inserted.rowCount !== fresh.length) {
            // Someone else wrote some of these seqs since we asked: compare, never overwrite.
            await this.#checkSame(run, queue, fresh, db);
            if (queue.diverged) throw new Diverged();
          }
          const last = (fresh[fresh.length - 1] as JournalEvent).seq;
          await db.query('update cutover.runs set last_seq = greatest(last_seq, $2) where run = $1', [
            run,
            last,
          ]);
          await db.query(`select pg_notify('cutover_events', $1)`, [`${run}:${last}`]);
        })
        .catch((e: unknown) => {
          if (!(e instanceof Diverged)) throw e;
        });
      if (queue.diverged) return;
      queue.sent = Math.max(queue.sent, (fresh[fresh.length - 1] as JournalEvent).seq);
    }
    queue.pending.splice(0, batch.length);
  }

  async #checkSame(
    run: string,
    queue: RunQueue,
    events: readonly JournalEvent[],
    db: Queryable = this.conn,
  ): Promise<void> {
    const res = await db.query<{ seq: number; digest: string }>(
      'select seq, digest from cutover.events where run = $1 and seq = any($2::int[])',
      [run, events.map((e) => e.seq)],
    );
    const stored = new Map(res.rows.map((r) => [r.seq, r.digest]));
    for (const e of events) {
      const digest = stored.get(e.seq);
      if (digest === undefined || digest === eventDigest(e)) continue;
      queue.diverged = `event ${e.seq}`;
      queue.pending = [];
      this.notice(
        `run ${run}: the shared state holds a different event ${e.seq} than this controller's journal — another controller wrote this run too. This controller's journal (${queue.runDir}) stays as it is; it is no longer sent to the shared state. Find out which controller ran it (cutover status ${run} --state …) before going on.`,
      );
      return;
    }
  }
}

class Diverged extends Error {}

/** The run row (on run.started), its summary updates, and the uploaded files its inputs name. */
async function writeEvent(
  db: Queryable,
  runDir: string,
  e: JournalEvent,
  notice: (text: string) => void,
): Promise<void> {
  if (e.type === 'run.started') {
    await db.query(
      `insert into cutover.runs (run, cluster, runbook, operator, controller, params, hosts, started_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (run) do nothing`,
      [e.run, e.cluster, e.runbook, e.operator, e.controller, JSON.stringify(e.params), e.hosts, e.at],
    );
  } else if (e.type === 'run.finished') {
    await db.query('update cutover.runs set finished_at = $2, outcome = $3 where run = $1', [
      e.run,
      e.at,
      e.outcome,
    ]);
  } else if (e.type === 'run.resumed') {
    await db.query('update cutover.runs set finished_at = null, outcome = null where run = $1', [e.run]);
  } else if (e.type === 'run.replanned') {
    await db.query('update cutover.runs set hosts = $2 where run = $1', [e.run, e.hosts]);
  }
  if ((e.type === 'run.started' || e.type === 'run.replanned') && e.inputs) {
    for (const sha of new Set(Object.values(e.inputs.files))) {
      const file = runFilePath(runDir, sha);
      if (!existsSync(file)) continue;
      if (statSync(file).size > MAX_SHARED_FILE_BYTES) {
        notice(
          `run ${e.run}: uploaded file ${sha.slice(0, 12)} is larger than ${MAX_SHARED_FILE_BYTES / 1024 / 1024} MiB and stays only in ${runDir}: another controller resuming this run needs its own copy.`,
        );
        continue;
      }
      await db.query(
        'insert into cutover.run_files (run, sha256, content) values ($1, $2, $3) on conflict do nothing',
        [e.run, sha, readFileSync(file)],
      );
    }
  }
}

/**
 * The journal a run writes with a shared state: the local file journal first (fsync'd, the source
 * of truth), then the mirror. Example: `new MirroredJournal(fileJournal, mirror).append(run, ev)`.
 */
export class MirroredJournal implements JournalStore {
  constructor(
    readonly local: FileJournal,
    readonly mirror: JournalMirror,
  ) {}

  runDir(run: string): string {
    return this.local.runDir(run);
  }

  append(run: string, body: JournalEventBody): JournalEvent {
    this.mirror.track(run, this.local); // First: it reads the events already journaled.
    const event = this.local.append(run, body);
    this.mirror.push(event);
    return event;
  }

  read(run: string): JournalEvent[] {
    return this.local.read(run);
  }

  listRuns(): string[] {
    return this.local.listRuns();
  }

  close(): void {
    this.local.close();
  }
}

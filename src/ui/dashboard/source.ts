/**
 * Where the dashboard's runs come from. The state folder: every run's `events.jsonl`, followed by
 * a short poll (the file system has no portable push), liveness from the local cluster lock, and
 * requests appended to the run's control file. The shared state (`--state postgres://…`): every
 * controller's runs, pushed by NOTIFY as their events are committed (no polling loop), liveness from
 * the shared cluster leases, and requests inserted for whichever controller runs the run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ClusterLock, controlFile, sendControl } from '../../engine/index.js';
import type { JournalEvent } from '../../journal/events.js';
import type { ControlRequestBody } from '../../state/control.js';
import type { StateConnection } from '../../state/pg/connection.js';
import { sendSharedControl } from '../../state/pg/control.js';
import { shownUrl } from '../../state/pg/database.js';
import { readSharedRun } from '../../state/pg/history.js';
import { liveLeases, type SharedLeaseHolder } from '../../state/pg/lease.js';
import type { RunView } from '../run-view.js';
import { JournalTail } from './tail.js';

export interface DashboardSource {
  /** For messages: "state folder /x" or "shared state postgres://…". */
  readonly where: string;
  /** Starts following; `changed` is called when new events may be there to `take`. */
  start(changed: () => void): Promise<void>;
  /** The events that arrived since the last call, per run. */
  take(): Map<string, JournalEvent[]>;
  /** Whether a controller is running the run now. */
  isLive(view: RunView): boolean;
  /** Hands a request to the controller running the run. */
  send(run: string, body: ControlRequestBody): Promise<void>;
  /** The run's events, all of them (for its report). */
  readAll(run: string): Promise<JournalEvent[]>;
  close(): Promise<void>;
}

const RUN_ID = /^[A-Za-z0-9_.-]{1,100}$/;

/** The state folder's runs. */
export function folderSource(stateDir: string, pollMs = 250): DashboardSource {
  const tails = new Map<string, JournalTail>();
  let timer: NodeJS.Timeout | undefined;
  return {
    where: `state folder ${stateDir}`,
    async start(changed) {
      timer = setInterval(changed, pollMs);
      timer.unref();
    },
    take() {
      const dir = join(stateDir, 'runs');
      const out = new Map<string, JournalEvent[]>();
      const ids = existsSync(dir) ? readdirSync(dir).filter((d) => RUN_ID.test(d)) : [];
      for (const id of ids) {
        let tail = tails.get(id);
        if (!tail) {
          const file = join(dir, id, 'events.jsonl');
          if (!existsSync(file)) continue;
          tail = new JournalTail(file);
          tails.set(id, tail);
        }
        const events = tail.read();
        if (events.length) out.set(id, events);
      }
      return out;
    },
    isLive(view) {
      if (!view.open) return false;
      const holder = ClusterLock.read(stateDir, view.cluster);
      if (!holder || holder.runId !== view.run || holder.hostname !== hostname()) return false;
      try {
        process.kill(holder.pid, 0);
        return true;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    async send(run, body) {
      sendControl(controlFile(stateDir, run), body);
    },
    async readAll(run) {
      return new JournalTail(join(stateDir, 'runs', run, 'events.jsonl')).read();
    },
    async close() {
      if (timer) clearInterval(timer);
    },
  };
}

/** Every controller's runs in the shared state, pushed by NOTIFY. */
export function sharedSource(conn: StateConnection): DashboardSource {
  /** Highest seq received per run. */
  const known = new Map<string, number>();
  let arrived = new Map<string, JournalEvent[]>();
  let leases = new Map<string, SharedLeaseHolder>();
  let changed = () => {};
  let fetching = Promise.resolve();

  const add = (run: string, events: readonly JournalEvent[]) => {
    const from = known.get(run) ?? 0;
    const fresh = events.filter((e) => e.seq > from);
    if (!fresh.length) return;
    known.set(run, (fresh[fresh.length - 1] as JournalEvent).seq);
    arrived.set(run, [...(arrived.get(run) ?? []), ...fresh]);
  };
  // One fetch at a time, in order: a notification during a fetch fetches again after it.
  const queue = (work: () => Promise<void>) => {
    fetching = fetching.then(work).then(
      () => changed(),
      () => {
        // Away: the next connection catches up (onConnected).
      },
    );
  };
  const fetchRun = (run: string) =>
    queue(async () => {
      const res = await conn.query<{ body: JournalEvent }>(
        'select body from cutover.events where run = $1 and seq > $2 order by seq',
        [run, known.get(run) ?? 0],
      );
      add(
        run,
        contiguous(
          res.rows.map((r) => r.body),
          known.get(run) ?? 0,
        ),
      );
    });
  const fetchAll = () =>
    queue(async () => {
      const res = await conn.query<{ body: JournalEvent }>(
        'select body from cutover.events order by run, seq',
      );
      const byRun = new Map<string, JournalEvent[]>();
      for (const { body } of res.rows) byRun.set(body.run, [...(byRun.get(body.run) ?? []), body]);
      for (const [run, events] of byRun) add(run, contiguous(events, known.get(run) ?? 0));
      leases = new Map((await liveLeases(conn)).map((l) => [l.cluster, l]));
    });
  const fetchLeases = () =>
    queue(async () => {
      leases = new Map((await liveLeases(conn)).map((l) => [l.cluster, l]));
    });

  return {
    where: `shared state ${shownUrl(conn.url)}`,
    async start(onChanged) {
      changed = onChanged;
      await conn.listen('cutover_events', (payload) => {
        const run = payload.slice(0, payload.lastIndexOf(':'));
        if (run) fetchRun(run);
      });
      await conn.listen('cutover_leases', () => fetchLeases());
      conn.onConnected(() => fetchAll());
      fetchAll();
      await fetching;
    },
    take() {
      const out = arrived;
      arrived = new Map();
      return out;
    },
    isLive(view) {
      if (!view.open) return false;
      const lease = leases.get(view.cluster);
      return lease?.run === view.run && Date.parse(lease.expiresAt) > Date.now();
    },
    async send(run, body) {
      await sendSharedControl(conn, run, body);
    },
    async readAll(run) {
      return (await readSharedRun(conn, run)).events;
    },
    async close() {
      await conn.close();
    },
  };
}

/** The events that follow `after` without a gap (a later one waits until the missing one is there). */
function contiguous(events: readonly JournalEvent[], after: number): JournalEvent[] {
  const out: JournalEvent[] = [];
  let next = after + 1;
  for (const e of events) {
    if (e.seq < next) continue;
    if (e.seq !== next) break;
    out.push(e);
    next += 1;
  }
  return out;
}

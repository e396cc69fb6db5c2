/**
 * A run with a shared state (`--state postgres://…`): the cluster lease every controller sees, the
 * journal mirrored as it is written, gate decisions and aborts from any team dashboard, and — for
 * `resume`/`rollback` on another controller — the run copied into this state folder first. Without
 * a shared state none of this loads. Example: `const shared = await openShared(global)`.
 */
import type { FileJournal } from '../journal/file-store.js';
import type { JournalStore } from '../journal/events.js';
import type { ControlWatcher } from '../state/control.js';
import type { StateConnection } from '../state/pg/connection.js';
import { shownUrl } from '../state/pg/database.js';
import { type GlobalOptions, openJournal, stateUrl } from './state.js';

/** The shared state named by the options, connected and checked (exit 7 when it cannot be), or undefined. */
export async function openShared(global: GlobalOptions): Promise<StateConnection | undefined> {
  const url = stateUrl(global);
  if (!url) return undefined;
  const { openSharedState } = await import('../state/pg/open.js');
  return openSharedState(url);
}

/** Before resume/rollback: the run as the shared state has it, in this state folder (said on stderr). */
export async function bringRunHere(conn: StateConnection, global: GlobalOptions, run: string): Promise<void> {
  const { materialiseRun } = await import('../state/pg/history.js');
  const journal = openJournal(global);
  try {
    const did = await materialiseRun(conn, journal, run);
    if (did) process.stderr.write(`${did}\n`);
  } finally {
    journal.close();
  }
}

/** What a run attached to the shared state gives back: its journal, and how to detach at the end. */
export interface SharedAttachment {
  journal: JournalStore & { runDir(run: string): string; close(): void };
  /** Sends what is left (bounded), releases the lease, stops the control feed. */
  detach(): Promise<void>;
}

/**
 * Takes the cluster's shared lease (LockHeldError, exit 3, when another controller runs it), then
 * mirrors the run's journal and feeds the shared control requests to `watcher`.
 */
export async function attachRun(
  conn: StateConnection,
  opts: {
    journal: FileJournal;
    run: string;
    cluster: string;
    operator: string;
    watcher: ControlWatcher;
    notice: (text: string) => void;
    onLost: (why: string) => void;
  },
): Promise<SharedAttachment> {
  const [{ SharedLease }, { JournalMirror, MirroredJournal }, { SharedControlFeed }] = await Promise.all([
    import('../state/pg/lease.js'),
    import('../state/pg/mirror.js'),
    import('../state/pg/control.js'),
  ]);
  const lease = await SharedLease.acquire(conn, opts.cluster, opts.run, opts.operator);
  lease.startRenewal(opts.onLost);
  const mirror = new JournalMirror(conn, opts.notice);
  mirror.track(opts.run, opts.journal);
  const feed = await SharedControlFeed.start(conn, opts.run, opts.watcher);
  return {
    journal: new MirroredJournal(opts.journal, mirror),
    async detach() {
      feed.stop();
      const unsent = await mirror.flush(15_000);
      mirror.close();
      if (unsent > 0)
        opts.notice(
          `${unsent} event(s) of run ${opts.run} are not in the shared state ${shownUrl(conn.url)} yet (it is unreachable); they are safe in this controller's journal. Send them when it is back: cutover state push ${opts.run}`,
        );
      await lease.release();
      await conn.close();
    },
  };
}

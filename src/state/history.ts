/**
 * Where the journal views (`runs`, `status`, `report`, `serve`) read runs from: the local state
 * folder, or the shared state in PostgreSQL where every controller's runs are. Both give the same
 * events; the views do not know which. Example: `const h = fileHistory('.cutover'); await h.read(run)`.
 */
import { FileJournal } from '../journal/file-store.js';
import type { JournalEvent } from '../journal/events.js';

/** A filter on runs: those that touched `host`, started at or after `since`. */
export interface RunFilter {
  host?: string;
  since?: Date;
}

export interface RunHistory {
  /** For messages: "the state folder /x/.cutover" or "the shared state postgres://…". */
  readonly where: string;
  /** Run ids, oldest first. */
  listRuns(filter?: RunFilter): Promise<string[]>;
  /** The run's events in seq order ([] when there is no such run). */
  read(run: string): Promise<JournalEvent[]>;
  close(): Promise<void>;
}

/** The state folder's runs. */
export function fileHistory(stateDir: string): RunHistory {
  const journal = new FileJournal(stateDir);
  return {
    where: `the state folder ${stateDir}`,
    async listRuns(filter = {}) {
      const runs = journal.listRuns();
      if (!filter.host && !filter.since) return runs;
      return runs.filter((run) => matches(journal.read(run), filter));
    },
    async read(run) {
      return journal.read(run);
    },
    async close() {
      journal.close();
    },
  };
}

/** Whether a run's events pass the filter. Example: `matches(events, { host: 'web' })`. */
export function matches(events: readonly JournalEvent[], filter: RunFilter): boolean {
  const started = events[0];
  if (started?.type !== 'run.started') return false;
  if (filter.since && Date.parse(started.at) < filter.since.getTime()) return false;
  if (filter.host) {
    const hosts = new Set(started.hosts);
    for (const e of events) if (e.type === 'run.replanned') for (const h of e.hosts) hosts.add(h);
    if (!hosts.has(filter.host)) return false;
  }
  return true;
}

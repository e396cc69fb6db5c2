/**
 * The shared state's runs, for the journal views and for a controller that resumes or rolls back a
 * run another controller started: its events and uploaded files are copied into the local state
 * folder first (`materialiseRun`), so resume and rollback work from a local journal as always.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FileJournal, runFilePath } from '../../journal/file-store.js';
import type { JournalEvent } from '../../journal/events.js';
import type { RunFilter, RunHistory } from '../history.js';
import type { StateConnection } from './connection.js';
import { shownUrl } from './database.js';
import { eventDigest } from './mirror.js';

/** Events of one run from the shared state, in seq order; `gap` names the first missing seq. */
export async function readSharedRun(
  conn: Pick<StateConnection, 'query'>,
  run: string,
): Promise<{ events: JournalEvent[]; gap?: number }> {
  const res = await conn.query<{ body: JournalEvent }>(
    'select body from cutover.events where run = $1 order by seq',
    [run],
  );
  const events = res.rows.map((r) => r.body);
  const gap = events.findIndex((e, i) => e.seq !== i + 1);
  return gap < 0 ? { events } : { events: events.slice(0, gap), gap: gap + 1 };
}

/** The shared state's runs as a RunHistory. */
export function sharedHistory(conn: StateConnection): RunHistory {
  return {
    where: `the shared state ${shownUrl(conn.url)}`,
    async listRuns(filter: RunFilter = {}) {
      const res = await conn.query<{ run: string }>(
        `select run from cutover.runs
         where ($1::text is null or $1 = any(hosts)) and ($2::timestamptz is null or started_at >= $2)
         order by started_at, run`,
        [filter.host ?? null, filter.since?.toISOString() ?? null],
      );
      return res.rows.map((r) => r.run);
    },
    async read(run) {
      const { events, gap } = await readSharedRun(conn, run);
      if (gap !== undefined)
        process.stderr.write(
          `warning: run ${run} in the shared state misses event ${gap} (its controller has not sent it yet): showing events 1-${gap - 1}\n`,
        );
      return events;
    },
    async close() {
      await conn.close();
    },
  };
}

/**
 * Makes the local state folder hold `run` as the shared state has it, for resume or rollback on
 * this controller: the events (when the database has more than the local journal) and the uploaded
 * files. A local journal that disagrees with the shared one is refused, never overwritten. Returns
 * what it did, for one line on stderr. Example: `await materialiseRun(conn, journal, run)` -> 'copied 42 events …'.
 */
export async function materialiseRun(
  conn: Pick<StateConnection, 'query'>,
  journal: FileJournal,
  run: string,
): Promise<string | undefined> {
  const { events, gap } = await readSharedRun(conn, run);
  const local = journal.read(run);
  if (events.length === 0) return undefined;
  const common = Math.min(local.length, events.length);
  for (let i = 0; i < common; i++) {
    if (eventDigest(local[i] as JournalEvent) !== eventDigest(events[i] as JournalEvent))
      throw new Error(
        `run ${run}: this controller's journal and the shared state differ at event ${i + 1}; nothing was run. Another controller wrote this run too: find out which (cutover status ${run}), then move one of the journals aside.`,
      );
  }
  const dir = journal.runDir(run);
  let copiedFiles = 0;
  const res = await conn.query<{ sha256: string; content: Buffer }>(
    'select sha256, content from cutover.run_files where run = $1',
    [run],
  );
  for (const row of res.rows) {
    const file = runFilePath(dir, row.sha256);
    if (existsSync(file)) continue;
    mkdirSync(join(dir, 'files'), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.part`, row.content, { mode: 0o600 });
    renameSync(`${file}.part`, file);
    copiedFiles += 1;
  }
  if (events.length <= local.length)
    return copiedFiles ? `copied ${copiedFiles} uploaded file(s)` : undefined;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'events.jsonl');
  const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
  // Whole or nothing: a reader never sees half a copy.
  writeFileSync(`${file}.part`, text, { mode: 0o600 });
  renameSync(`${file}.part`, file);
  if (existsSync(file) && readFileSync(file, 'utf8') !== text) throw new Error(`could not write ${file}`);
  return `copied run ${run} from the shared state: ${events.length - local.length} event(s)${copiedFiles ? `, ${copiedFiles} uploaded file(s)` : ''}${gap !== undefined ? ` (event ${gap} is not there yet: its controller has not sent it)` : ''}`;
}

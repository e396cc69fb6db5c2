import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Redactor } from '../shell/secret.js';
import type { JournalEvent, JournalEventBody, JournalStore } from './events.js';

/** Where a run keeps its copy of an uploaded file: `<run folder>/files/<sha256>`. */
export function runFilePath(runDir: string, sha: string): string {
  return join(runDir, 'files', sha);
}

/**
 * The embedded journal: one append-only JSON-lines file per run under `<stateDir>/runs/<run>/`,
 * fsync'd after every event so a killed controller loses nothing it reported. Every event is
 * redacted before it is written. Example: `new FileJournal('.cutover', redactor).append(run, ev)`.
 */
export class FileJournal implements JournalStore {
  #fds = new Map<string, { fd: number; seq: number }>();
  constructor(
    readonly stateDir: string,
    private readonly redactor?: Redactor,
  ) {}

  runDir(run: string): string {
    return join(this.stateDir, 'runs', run);
  }

  append(run: string, body: JournalEventBody): JournalEvent {
    let handle = this.#fds.get(run);
    if (!handle) {
      mkdirSync(this.runDir(run), { recursive: true });
      const file = join(this.runDir(run), 'events.jsonl');
      const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
      handle = { fd: openSync(file, 'a', 0o600), seq: parseLines(existing).length };
      // A line torn by a crash mid-write is ended, so the next event starts a line of its own.
      if (existing !== '' && !existing.endsWith('\n')) writeSync(handle.fd, '\n');
      this.#fds.set(run, handle);
    }
    handle.seq += 1;
    const raw = { ...body, seq: handle.seq, at: new Date().toISOString(), run } as JournalEvent;
    const event = this.redactor ? this.redactor.redactValue(raw) : raw;
    writeSync(handle.fd, `${JSON.stringify(event)}\n`);
    fsyncSync(handle.fd);
    return event;
  }

  read(run: string): JournalEvent[] {
    const file = join(this.runDir(run), 'events.jsonl');
    return existsSync(file) ? parseLines(readFileSync(file, 'utf8')) : [];
  }

  listRuns(): string[] {
    const dir = join(this.stateDir, 'runs');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((d) => existsSync(join(dir, d, 'events.jsonl')))
      .sort();
  }

  close(): void {
    for (const { fd } of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }
}

/** An in-memory journal for tests. */
export class MemoryJournal implements JournalStore {
  readonly runs = new Map<string, JournalEvent[]>();
  append(run: string, body: JournalEventBody): JournalEvent {
    const list = this.runs.get(run) ?? [];
    const event = { ...body, seq: list.length + 1, at: new Date().toISOString(), run } as JournalEvent;
    list.push(JSON.parse(JSON.stringify(event)) as JournalEvent);
    this.runs.set(run, list);
    return event;
  }
  read(run: string): JournalEvent[] {
    return this.runs.get(run) ?? [];
  }
  listRuns(): string[] {
    return [...this.runs.keys()].sort();
  }
}

function parseLines(text: string): JournalEvent[] {
  const events: JournalEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as JournalEvent);
    } catch {
      // A line torn by a crash mid-write: everything before it is intact.
    }
  }
  return events;
}

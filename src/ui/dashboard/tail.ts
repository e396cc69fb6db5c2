import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { JournalEvent } from '../../journal/events.js';

/**
 * Follows one run's `events.jsonl` as the engine appends to it: each `read()` returns the events
 * written since the last one. A torn last line (the writer mid-append) waits for the next read.
 * Example: `const tail = new JournalTail(file); setInterval(() => show(tail.read()), 250)`.
 */
export class JournalTail {
  #offset = 0;
  #rest: Buffer = Buffer.alloc(0);
  constructor(readonly file: string) {}

  read(): JournalEvent[] {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    if (size < this.#offset) {
      // The file was replaced (a test cleaned the state folder): start over.
      this.#offset = 0;
      this.#rest = Buffer.alloc(0);
    }
    if (size === this.#offset) return [];
    const buffer = Buffer.alloc(size - this.#offset);
    const fd = openSync(this.file, 'r');
    let got = 0;
    try {
      got = readSync(fd, buffer, 0, buffer.length, this.#offset);
    } finally {
      closeSync(fd);
    }
    this.#offset += got;
    // Bytes, not text, until a whole line is there: a torn line may end inside a UTF-8 character.
    const bytes = Buffer.concat([this.#rest, buffer.subarray(0, got)]);
    const end = bytes.lastIndexOf(0x0a);
    this.#rest = end < 0 ? bytes : bytes.subarray(end + 1);
    if (end < 0) return [];
    const events: JournalEvent[] = [];
    for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line) as JournalEvent);
      } catch {
        // A line that is not JSON cannot come from the journal writer; skip it like replay does.
      }
    }
    return events;
  }
}

import type { LogMark } from '../journal/events.js';
import { type Command, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import type { Session } from '../transport/transport.js';

const CHUNK = 1 << 20;

/** The command that resolves a log path on the host (its date is the host's) and prints `file`, then `dev:inode size` or `missing`. */
export function markCommand(path: Word): Command {
  return sh`f=${path}; printf '%s\\n' "$f"; stat -L -c '%d:%i %s' -- "$f" 2>/dev/null || echo missing`;
}

export function parseMark(stdout: string): LogMark {
  const [file = '', stat = 'missing'] = stdout.split('\n');
  if (stat.startsWith('missing')) return { file, inode: '', size: 0 };
  const [inode = '', size = '0'] = stat.split(' ');
  return { file, inode, size: Number(size) };
}

/**
 * Follows a log from a mark: only bytes written after the mark are returned, across rotation
 * (inode change or truncation: read the new file from its start) and across a date change in
 * the file name (finish the old file, then read the new one from its start).
 */
export class LogFollower {
  #file: string;
  #inode: string;
  #pos: number;
  #partial = '';

  constructor(
    private readonly session: Session,
    private readonly path: Word,
    mark: LogMark,
  ) {
    this.#file = mark.file;
    this.#inode = mark.inode;
    this.#pos = mark.size;
  }

  /** Complete new lines since the last call. */
  async poll(timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
    const opts = { timeoutMs, ...(signal ? { signal } : {}) };
    const res = await this.session.exec(markCommand(this.path).render('exec'), opts);
    const now = parseMark(res.stdout);
    let text = '';
    if (now.file !== this.#file) {
      if (this.#inode) text += await this.#read(this.#file, this.#pos, opts);
      this.#file = now.file;
      this.#inode = now.inode;
      this.#pos = 0;
    } else if (now.inode !== this.#inode || now.size < this.#pos) {
      this.#inode = now.inode;
      this.#pos = 0;
      this.#partial = '';
    }
    if (now.inode && now.size > this.#pos) text += await this.#read(this.#file, this.#pos, opts);
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.map((l) => l.replace(/\r$/, ''));
  }

  async #read(
    file: string,
    from: number,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<string> {
    const res = await this.session.exec(
      sh`tail -c +${String(from + 1)} -- ${file} 2>/dev/null | head -c ${String(CHUNK)}`.render('exec'),
      opts,
    );
    this.#pos = from + Buffer.byteLength(res.stdout, 'utf8');
    return res.stdout;
  }
}

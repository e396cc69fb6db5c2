import type { LogMark } from '../journal/events.js';
import { type Command, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import type { Session } from '../transport/transport.js';

const CHUNK = 1 << 20;

/** The command that resolves a log path on the host (its date is the host's) and prints `file`, then `dev:inode size` or `missing`. */
export function markCommand(path: Word): Command {
  return sh`f=${path}; printf '%s\\n' "$f"; stat -L -c '%d:%i %s' -- "$f" 2>/dev/null || echo missing`;
}

/**
 * The command of one followed round: the host itself waits until the log holds something new for
 * the controller — bytes past `known.size` in the same file, a new file under the name (rotation,
 * a new date in the name), a truncation — or until `capSec` passed, then prints what markCommand
 * prints and a last line `followed`. The waiting is `tail -F` from the cursor (event-driven where
 * tail uses inotify, as GNU tail does on Linux), read through a fifo until its first byte; nothing
 * of what it reads is used: the controller reads the new bytes itself, by offset, as a poll does,
 * so every rule of the mark holds (rotation, truncation, dates, the journaled cursor on resume).
 * A host without `timeout`, `mkfifo`, `dd` or `mktemp` (or whose tail cannot follow) waits for nothing and prints `polled`: the
 * controller then polls at its interval, as before.
 * Example: `followCommand('/var/log/app.log', { file: '/var/log/app.log', inode: '2049:17', size: 4096 }, 5)`.
 */
export function followCommand(path: Word, known: LogMark, capSec: number): Command {
  const now = known.inode ? `${known.inode} ${known.size}` : 'missing';
  // tail ends by our kill (143), at the cap (124), by writing to the fifo dd left (141), or at once
  // when it cannot follow (then: polled).
  return sh`f=${path}
m=polled
if command -v timeout >/dev/null 2>&1 && command -v mkfifo >/dev/null 2>&1 && command -v dd >/dev/null 2>&1 && d=$(mktemp -d 2>/dev/null); then
  m=followed
  if [ "$f" = ${known.file} ] && [ "$(stat -L -c '%d:%i %s' -- "$f" 2>/dev/null || echo missing)" = ${now} ] && mkfifo "$d/p"; then
    timeout ${String(capSec)} tail -c +${String(known.size + 1)} -F -- "$f" >"$d/p" 2>/dev/null &
    t=$!
    dd bs=1 count=1 <"$d/p" >/dev/null 2>&1
    kill "$t" 2>/dev/null
    wait "$t" 2>/dev/null
    case $? in 0|124|141|143) ;; *) m=polled ;; esac
  fi
  rm -rf "$d"
fi
${markCommand(path)}
echo "$m"`;
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
    return this.#advance(parseMark(res.stdout), opts);
  }

  /**
   * Complete new lines, once the host saw the log change (or `capSec` passed): see followCommand.
   * `followed` is false when the host could not wait (it answered at once, as a poll does);
   * `changed` whether the log moved at all (a partial line, a rotation: no line, but no cap either).
   */
  async next(
    capSec: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ lines: string[]; followed: boolean; changed: boolean }> {
    const opts = { timeoutMs: timeoutMs + capSec * 1000, ...(signal ? { signal } : {}) };
    const known = { file: this.#file, inode: this.#inode, size: this.#pos };
    const res = await this.session.exec(followCommand(this.path, known, capSec).render('exec'), opts);
    const followed = res.stdout.split('\n')[2] === 'followed';
    const now = parseMark(res.stdout);
    const changed = now.file !== known.file || now.inode !== known.inode || now.size !== known.size;
    return { lines: await this.#advance(now, opts), followed, changed };
  }

  async #advance(now: LogMark, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<string[]> {
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

/**
 * Following a log on a host for `wait.log` (issue 15). The rules of the cursor, stated first:
 * - only bytes written after the mark count (the engine took it before the triggering step);
 * - a new file under the name (rotation, a new date in the name) is read from its start; a file
 *   that shrank (truncation) too; when the name moves to a new date, the old file is finished first;
 * - lines may be seen twice after a rotation or truncation inside a segment (harmless: a match or
 *   a failure ends the wait at its first sight); a line after the mark is never skipped.
 *
 * How: a *segment* is one command that streams the log as it is written — `tail -F` from the
 * cursor, through the host's long-lived `sh`, so a line reaches the controller without a single
 * process start on the host or a request from the controller. The controller counts the bytes it
 * received, which is the cursor the next segment starts from. A segment ends at its cap (the path
 * is then rendered again: a new date in its name), after CHUNK bytes (memory), or when the
 * controller has what it waited for (it kills the segment, in the background: the session runs
 * nothing else on the host meanwhile). Whatever tail says on stderr during a segment (replaced,
 * truncated, gone, appeared) makes the count unsure: the next segment then reads the file under
 * the name from its start. Anything but a plain append since the cursor (a new file, a new date, a
 * truncation between segments) is read by offset, as a poll does (#advance). A host without GNU
 * `timeout --foreground` or a tail that can follow by name is polled at the interval.
 */
import type { LogMark } from '../journal/events.js';
import { type Command, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import type { Session } from '../transport/transport.js';

/** The most a segment or an offset read brings at once, so a chatty log never fills the controller's memory. */
const CHUNK = 1 << 20;
/**
 * Where GNU tail does not trust inotify (overlayfs, as in containers and the lab; NFS) it checks
 * the file itself, by default once a second: this often instead. A check is a stat and a read
 * inside tail (no process start), about 1 % of a core on the host at this rate; elsewhere tail
 * waits on inotify and never looks at it.
 */
const TAIL_POLL_SEC = '0.01';
/** A cursor that matches no file: the next segment reads the file under the name from its start. */
const UNSURE = 'unsure';

/** The command that resolves a log path on the host (its date is the host's) and prints `file`, then `dev:inode size` or `missing`. */
export function markCommand(path: Word): Command {
  return sh`f=${path}; printf '%s\\n' "$f"; stat -L -c '%d:%i %s' -- "$f" 2>/dev/null || echo missing`;
}

/**
 * One segment on the host: prints the mark of the path now (as markCommand), then a mode line:
 * `follow` and the log's bytes from `known.size` as they are written, for `capSec` at most, when
 * the file under the name is the known one and did not shrink (or is still missing); `moved` when
 * it is not (the controller reads by offset); `polled` on a host without `timeout`. tail's exit
 * status ends stderr as `tail N` (124 at the cap), after its notices. No pipe after tail: `head`
 * and the like buffer their output, and a line would wait for the cap.
 * Example: `segmentCommand('/var/log/app.log', { file: '/var/log/app.log', inode: '2049:17', size: 4096 }, 5)`.
 */
export function segmentCommand(path: Word, known: LogMark, capSec: number): Command {
  // --foreground keeps tail in the command's process group, so a kill of the group reaches it.
  return sh`f=${path}
s=$(stat -L -c '%d:%i %s' -- "$f" 2>/dev/null || echo missing)
printf '%s\\n%s\\n' "$f" "$s"
follow() {
  echo follow
  timeout --foreground ${String(capSec)} tail -s ${TAIL_POLL_SEC} -c +${String(known.size + 1)} -F -- "$f"
  echo "tail $?" >&2
}
if ! command -v timeout >/dev/null 2>&1; then
  echo polled
elif [ "$f" != ${known.file} ]; then
  echo moved
elif [ "$s" = missing ]; then
  if [ -z ${known.inode} ]; then follow; else echo moved; fi
elif [ "\${s%% *}" = ${known.inode} ] && [ "\${s#* }" -ge ${String(known.size)} ]; then
  follow
else
  echo moved
fi`;
}

export function parseMark(stdout: string): LogMark {
  const [file = '', stat = 'missing'] = stdout.split('\n');
  if (stat.startsWith('missing')) return { file, inode: '', size: 0 };
  const [inode = '', size = '0'] = stat.split(' ');
  return { file, inode, size: Number(size) };
}

/** How a segment ended. `followed`: the host streamed the log (false: it cannot, poll it); `changed`: the log moved at all. */
export interface SegmentEnd {
  followed: boolean;
  changed: boolean;
  /** The controller's `onLines` decided the wait; the segment is being killed in the background. */
  decided: boolean;
}

/**
 * Follows a log from a mark (see the rules at the top of this file). `segment` streams complete
 * lines to a callback as the host writes them; `poll` reads what is new by offset, for hosts that
 * cannot follow.
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

  /** Complete new lines since the last call, read by offset (a host that cannot follow). */
  async poll(timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
    const opts = { timeoutMs, ...(signal ? { signal } : {}) };
    const res = await this.session.exec(markCommand(this.path).render('exec'), opts);
    return this.#advance(parseMark(res.stdout), opts);
  }

  /**
   * One segment: complete lines go to `onLines` as they arrive; when it returns true (a match, a
   * failure) the segment is killed in the background and this resolves at once. Otherwise it
   * resolves when the host ends the segment (its cap, CHUNK bytes), or at once when the log
   * moved in another way than an append (those lines are read by offset and given to `onLines`).
   */
  async segment(
    capSec: number,
    timeoutMs: number,
    onLines: (lines: string[]) => boolean,
    signal?: AbortSignal,
  ): Promise<SegmentEnd> {
    const known: LogMark = { file: this.#file, inode: this.#inode, size: this.#pos };
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let header = '';
    let mode: string | undefined;
    let streamed = false;
    let unsure = false;
    let decide!: (end: SegmentEnd) => void;
    const decided = new Promise<SegmentEnd>((resolve) => {
      decide = resolve;
    });
    let received = 0;
    const take = (text: string) => {
      streamed = true;
      const bytes = Buffer.byteLength(text, 'utf8');
      this.#pos += bytes;
      received += bytes;
      const lines = this.#lines(text);
      if (lines.length > 0 && onLines(lines)) {
        stop.abort(new Error('the wait has what it waited for'));
        decide({ followed: true, changed: true, decided: true });
      } else if (received >= CHUNK) {
        // A chatty log: end the segment here (the next one starts from this count).
        stop.abort(new Error('enough for one segment'));
        decide({ followed: true, changed: true, decided: false });
      }
    };
    const onOutput = (stream: 'stdout' | 'stderr', text: string) => {
      if (stop.signal.aborted) return;
      if (stream === 'stderr') {
        // tail's notices: the file was replaced, truncated, is gone or appeared. Its first
        // "cannot open" of a file still missing changes nothing.
        for (const l of text.split('\n'))
          if (l && !/^tail \d+$/.test(l) && !(known.inode === '' && /cannot open/.test(l))) unsure = true;
        return;
      }
      if (mode !== undefined) return take(text);
      header += text;
      const parts = header.split('\n');
      if (parts.length < 4) return;
      mode = parts[2];
      const rest = parts.slice(3).join('\n');
      header = parts.slice(0, 2).join('\n');
      if (mode === 'follow' && rest) take(rest);
    };
    const exec = this.session.exec(segmentCommand(this.path, known, capSec).render('exec'), {
      timeoutMs: timeoutMs + capSec * 1000,
      signal: stop.signal,
      onOutput,
    });
    try {
      const res = await Promise.race([exec, decided]);
      if ('decided' in res) {
        // The kill of a segment no longer needed goes on in the background; the session runs the
        // next command on this host after it.
        exec.catch(() => {});
        return res;
      }
      if (mode === undefined) return { followed: false, changed: false, decided: false };
      const now = parseMark(header);
      const code = Number(/^tail (\d+)$/m.exec(res.stderr)?.[1] ?? -1);
      // 124: the cap. Anything else, with nothing streamed: this tail
      // cannot follow here, and what is new is read by offset.
      const cannotFollow = mode === 'polled' || (mode === 'follow' && !streamed && code !== 124);
      if (mode !== 'follow' || cannotFollow) {
        const lines = await this.#advance(now, { timeoutMs, ...(signal ? { signal } : {}) });
        const moved = now.file !== known.file || now.inode !== known.inode || now.size !== known.size;
        const end = { followed: !cannotFollow, changed: moved || lines.length > 0, decided: false };
        if (lines.length > 0 && onLines(lines)) return { ...end, decided: true };
        return end;
      }
      if (unsure) {
        this.#inode = UNSURE;
        this.#partial = '';
      }
      return { followed: true, changed: streamed || unsure, decided: false };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #lines(text: string): string[] {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.map((l) => l.replace(/\r$/, ''));
  }

  async #advance(now: LogMark, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<string[]> {
    let text = '';
    if (now.file !== this.#file) {
      if (this.#inode && this.#inode !== UNSURE) text += await this.#read(this.#file, this.#pos, opts);
      this.#file = now.file;
      this.#inode = now.inode;
      this.#pos = 0;
    } else if (now.inode !== this.#inode || now.size < this.#pos) {
      this.#inode = now.inode;
      this.#pos = 0;
      this.#partial = '';
    }
    if (now.inode && now.size > this.#pos) text += await this.#read(this.#file, this.#pos, opts);
    return this.#lines(text);
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

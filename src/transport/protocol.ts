/**
 * The framed-sh protocol shared by the ssh and local transports: one long-lived `/bin/sh` per
 * session (the "driver") reads requests on its stdin; each command runs in its own process
 * group and session (`setsid`), in a fresh `/bin/sh`, with its stdin fed from a pipe (or
 * /dev/null), and its stdout/stderr written straight to the driver's. Frames that end a
 * command's output start with a per-session random key followed by a per-request random
 * nonce, so neither a command's output nor a background process left by an earlier command
 * can forge or desynchronise them. The key and nonces live only in the driver's memory and
 * its input, never in any process's argv or environment (`ps -ef` cannot show them).
 *
 * Request (written to the driver's stdin):
 *   __co_in='…stdin, quoted…'                      (only when the command has stdin)
 *   __co_run <key><nonce> <1|0> 3<<'__CO_<nonce>'
 *   …script…
 *   __CO_<nonce>
 * Frames (a line; text before the key on the same line is command output):
 *   stdout: <key><nonce>P <pgid>   the command started     stderr: <key><nonce>E   stderr ended
 *           <key><nonce>X <code>   it exited
 *           <key><nonce>K          a kill request finished (group gone)
 *           <key><nonce>R <user>   the driver is ready (and runs as <user>)   stderr: <key><nonce>Q   (ready too)
 *           <key><nonce>F <text>   the driver cannot work on this host
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { quote } from '../shell/quote.js';
import { stderrTail, TransportError } from './errors.js';
import type { ExecOptions, ExecResult } from './transport.js';

/** Tuning shared by the ssh and local sessions. Example: `{ readyTimeoutMs: 30_000, killGraceMs: 2000 }`. */
export interface ShellOptions {
  /** How long a new shell may take to answer (connecting, login rc files). Default 30 s. */
  readyTimeoutMs?: number;
  /** After a timeout or abort, how long the command's process group gets between TERM and KILL. Default 2 s. */
  killGraceMs?: number;
  /**
   * When the host's shell died, the pauses before each reconnect attempt: a host that comes back
   * within them (sshd restarted, a network blip) is used again; one that does not is unreachable.
   * Default RECONNECT_DELAYS_MS (1, 2, 4, 8 s: about 15 s plus the connect timeouts).
   */
  reconnectDelaysMs?: readonly number[];
  /** Called before each reconnect attempt (tests use it as a barrier). Example: `(n) => log(`attempt ${n}`)`. */
  onReconnect?: (attempt: number, why: string) => void | Promise<void>;
}

/**
 * How a session starts its driver shell. Example (local):
 * `{ host: 'ctl', where: 'ctl (local)', spawn: async () => spawn('/bin/sh', [], { detached: true }), startFailed }`.
 */
export interface ShellLauncher {
  /** The inventory name of the host, for errors. */
  readonly host: string;
  /** The host and where it is, for messages: `web (root@10.0.0.10:22)`. */
  readonly where: string;
  /** Starts the process whose stdin/stdout/stderr are the driver's (`ssh … -- exec /bin/sh`, or `/bin/sh`). */
  spawn(attempt: 'first' | 'reconnect'): Promise<ChildProcessWithoutNullStreams>;
  /** Turns a failed start (why, and the process's stderr) into an error that says what to do. */
  startFailed(reason: string, stderr: string): TransportError;
  /** The driver in `child` answered its ready frames (an ssh master's socket serves from then on). */
  ready?(child: ChildProcessWithoutNullStreams): void;
  /**
   * At terminate, once the driver's stdin is closed: true when the process is not the session's to
   * wait for or kill (an ssh master that still serves other sessions ends with the last of them).
   */
  handsOver?(child: ChildProcessWithoutNullStreams): boolean;
}

const DEFAULT_READY_TIMEOUT_MS = 30_000;
const DEFAULT_KILL_GRACE_MS = 2000;
/** After a kill request, how long the host may take to confirm before the connection is declared broken. */
const KILL_CONFIRM_SLACK_MS = 5000;
/** After the kill confirmation, how long to wait for the exit frames the reporter writes at the same time. */
const SETTLE_AFTER_KILL_MS = 2000;
/** After the process exits, how long its pipes may stay open (held by background children) before it counts as dead. */
const CLOSE_AFTER_EXIT_MS = 2000;
const NONCE_HEX = 16;

// Trusted driver code, sent once per shell. `$1` of both functions is the frame prefix (key +
// nonce), passed in the request so it never appears in a process's argv. The reporter and killer
// are background subshells, so the driver keeps reading stdin (kill requests) while a command runs;
// each is waited for at the next request so no zombie is left behind.
// __co_live: is any process of group $1 alive? Zombies do not count: orphans of a killed
// command may wait long for a busy or absent init to reap them, and cannot be killed anyway.
// The command's shell sources the script from the here-document on fd 3 (no fork of `cat`);
// without /dev/fd it falls back to eval.
const DRIVER = `__co_r=; __co_k=; __co_in=
__co_src='if [ -r /dev/fd/3 ]; then . /dev/fd/3; else eval "$(cat <&3)" 3<&-; fi'
__co_run() {
  if [ -n "$__co_r" ]; then wait "$__co_r"; fi
  if [ -n "$__co_k" ]; then wait "$__co_k"; fi
  __co_k=
  (
    if [ "$2" = 1 ]; then
      printf '%s' "$__co_in" | setsid /bin/sh -c "$__co_src" &
    else
      setsid /bin/sh -c "$__co_src" </dev/null &
    fi
    __co_p=$!
    exec 3<&-
    printf '%sP %s\\n' "$1" "$__co_p"
    wait "$__co_p"
    __co_c=$?
    printf '%sE\\n' "$1" >&2
    printf '%sX %s\\n' "$1" "$__co_c"
  ) &
  __co_r=$!
  __co_in=
}
__co_live() {
  if [ -r /proc/self/stat ]; then
    for __co_f in /proc/[0-9]*/stat; do
      # stderr first: a process gone between the glob and the read must not print on the driver's stderr.
      read -r __co_l 2>/dev/null < "$__co_f" || continue
      set -- "$1" \${__co_l##*) }
      if [ "$4" = "$1" ] && [ "$2" != Z ]; then return 0; fi
    done
    return 1
  fi
  kill -s 0 -- "-$1" 2>/dev/null
}
__co_kill() {
  (
    kill -s TERM -- "-$2" 2>/dev/null
    __co_i=0
    while [ "$__co_i" -lt "$3" ] && __co_live "$2"; do
      sleep 0.05 2>/dev/null || sleep 1
      __co_i=$((__co_i + 1))
    done
    kill -s KILL -- "-$2" 2>/dev/null
    printf '%sK\\n' "$1"
  ) &
  __co_k=$!
}
`;

function bootstrap(readyPrefix: string): string {
  const p = quote(readyPrefix);
  return (
    DRIVER +
    `command -v setsid >/dev/null 2>&1 || { printf '%sF %s\\n' ${p} 'setsid is not installed (it is part of util-linux)'; exit 127; }\n` +
    `printf '%sQ\\n' ${p} >&2\nprintf '%sR %s\\n' ${p} "$(id -un 2>/dev/null)"\n`
  );
}

function randomHex(chars: number): string {
  return randomBytes(Math.ceil(chars / 2))
    .toString('hex')
    .slice(0, chars);
}

/**
 * Splits one output stream into text and frames: everything before the key is text, the key up
 * to the end of its line is a frame. A trailing piece that could be the start of the key is held
 * back until the next chunk decides. Example: push('abc' + key + 'n…X 0\n') -> text 'abc', frame 'n…X 0'.
 */
export class FrameScanner {
  #pending: Buffer = Buffer.alloc(0);
  constructor(
    private readonly key: Buffer,
    private readonly onText: (text: Buffer) => void,
    private readonly onFrame: (body: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      const at = buf.indexOf(this.key);
      if (at < 0) {
        const keep = partialKeySuffix(buf, this.key);
        if (buf.length > keep) this.onText(buf.subarray(0, buf.length - keep));
        buf = buf.subarray(buf.length - keep);
        break;
      }
      if (at > 0) this.onText(buf.subarray(0, at));
      const end = buf.indexOf(0x0a, at + this.key.length);
      if (end < 0) {
        buf = buf.subarray(at);
        break;
      }
      const body = buf.toString('latin1', at + this.key.length, end);
      buf = buf.subarray(end + 1);
      this.onFrame(body);
    }
    this.#pending = Buffer.from(buf);
  }
}

/** Length of the longest suffix of `buf` that is a proper prefix of `key`. */
function partialKeySuffix(buf: Buffer, key: Buffer): number {
  for (let k = Math.min(key.length - 1, buf.length); k > 0; k--) {
    if (buf.subarray(buf.length - k).equals(key.subarray(0, k))) return k;
  }
  return 0;
}

type KillReason = 'timeout' | 'abort' | 'close';

interface Running {
  nonce: string;
  opts: ExecOptions;
  out: StringDecoder;
  err: StringDecoder;
  stdout: string[];
  stderr: string[];
  pgid?: number;
  code?: number;
  stderrEnded: boolean;
  kill?: KillReason;
  killSent: boolean;
  killDone: boolean;
  settled: boolean;
  callbackError?: unknown;
  timers: NodeJS.Timeout[];
  onAbort?: () => void;
  resolve(result: ExecResult): void;
  reject(error: unknown): void;
}

interface Starting {
  nonce: string;
  stdoutReady: boolean;
  stderrReady: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * One driver shell (see the file comment): runs one command at a time (callers queue, see
 * ShellSession), streams its output, kills its process group on timeout/abort and stays usable.
 * Example: `const shell = await FramedShell.start(launcher, {}); await shell.run('echo hi', {})`.
 */
export class FramedShell {
  readonly #launcher: ShellLauncher;
  readonly #readyTimeoutMs: number;
  readonly #killGraceMs: number;
  readonly #key = `@co${randomHex(24)}`;
  #child!: ChildProcessWithoutNullStreams;
  #starting: Starting | undefined;
  #current: Running | undefined;
  #dead: string | undefined;
  /** The last command outlived even KILL (e.g. stuck in the kernel): the next request must not wait for its reporter. */
  #forgetReporter = false;
  /** The driver process exited; its pipes may still deliver the current command's last frames. */
  #exited = false;
  #closing = false;
  /** stderr not attributed to a command (ssh's own messages, rc files), for error messages. */
  #looseStderr = '';
  #user: string | undefined;

  private constructor(launcher: ShellLauncher, opts: ShellOptions) {
    this.#launcher = launcher;
    this.#readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.#killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  /** Spawns the driver, sends the protocol code and waits for its ready frames. */
  static async start(
    launcher: ShellLauncher,
    opts: ShellOptions,
    attempt: 'first' | 'reconnect' = 'first',
  ): Promise<FramedShell> {
    const shell = new FramedShell(launcher, opts);
    await shell.#start(attempt);
    return shell;
  }

  /** The user the driver runs as (`id -un`), from its ready frame. */
  get user(): string | undefined {
    return this.#user;
  }

  /** False once the driver process ended (or was never started). */
  get alive(): boolean {
    return this.#dead === undefined && !this.#exited;
  }

  /** Why the driver ended, for the reconnect error. */
  get deathReason(): string {
    return this.#dead ?? (this.#exited ? 'the shell exited' : 'running');
  }

  async #start(attempt: 'first' | 'reconnect'): Promise<void> {
    const child = await this.#launcher.spawn(attempt);
    this.#child = child;
    const key = Buffer.from(this.#key, 'latin1');
    const stdoutScanner = new FrameScanner(
      key,
      (text) => this.#onText('stdout', text),
      (body) => this.#onFrame('stdout', body),
    );
    const stderrScanner = new FrameScanner(
      key,
      (text) => this.#onText('stderr', text),
      (body) => this.#onFrame('stderr', body),
    );
    child.stdout.on('data', (chunk: Buffer) => stdoutScanner.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderrScanner.push(chunk));
    // EPIPE when the driver died: the 'close' handler reports it.
    child.stdin.on('error', () => {});
    child.on('error', (e) => this.#onDeath(`cannot start: ${e.message}`));
    let exitTimer: NodeJS.Timeout | undefined;
    child.on('exit', (code, signal) => {
      this.#exited = true;
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      // Background children may hold the pipes open; do not wait for them forever.
      exitTimer = setTimeout(() => this.#onDeath(why), CLOSE_AFTER_EXIT_MS);
      exitTimer.unref();
    });
    child.on('close', (code, signal) => {
      if (exitTimer) clearTimeout(exitTimer);
      this.#onDeath(signal ? `killed by ${signal}` : `exit code ${code}`);
    });

    const nonce = randomHex(NONCE_HEX);
    const ready = new Promise<void>((resolve, reject) => {
      this.#starting = { nonce, stdoutReady: false, stderrReady: false, resolve, reject };
    });
    const timer = setTimeout(() => {
      if (!this.#starting) return;
      this.#fail(`no answer within ${this.#readyTimeoutMs} ms`);
    }, this.#readyTimeoutMs);
    child.stdin.write(bootstrap(this.#key + nonce));
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
    this.#launcher.ready?.(child);
  }

  /** Kills the driver process and reports `why` to whoever waits on it. */
  #fail(why: string): void {
    this.#onDeath(why);
    this.#child.kill('SIGKILL');
  }

  #onDeath(why: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = why;
    const starting = this.#starting;
    if (starting) {
      this.#starting = undefined;
      starting.reject(this.#launcher.startFailed(why, this.#looseStderr));
    }
    const r = this.#current;
    if (r) {
      this.#current = undefined;
      for (const t of r.timers) clearTimeout(t);
      if (r.onAbort) r.opts.signal?.removeEventListener('abort', r.onAbort);
      const tail = stderrTail(this.#looseStderr, 4);
      r.reject(
        this.#closing
          ? new TransportError(
              `${this.#launcher.where}: the session was closed while a command was running`,
              'Close sessions only after their commands finished.',
              { host: this.#launcher.host },
            )
          : new TransportError(
              `${this.#launcher.where}: the connection was lost while a command was running (${why})${tail ? `: ${tail}` : ''}; the command may have finished or may still be running on the host`,
              'Check the host by hand before going on; the next command on this host reconnects.',
              { host: this.#launcher.host, stderr: tail },
            ),
      );
    }
  }

  #onText(stream: 'stdout' | 'stderr', text: Buffer): void {
    const r = this.#current;
    const collecting = r && (stream === 'stdout' ? r.code === undefined : !r.stderrEnded);
    if (!r || !collecting) {
      // Output outside a command: rc-file noise before ready, or a background process left by
      // an earlier command. Not attributable; keep a little stderr for error messages.
      if (stream === 'stderr') this.#looseStderr = (this.#looseStderr + text.toString('utf8')).slice(-4096);
      return;
    }
    this.#deliver(r, stream, stream === 'stdout' ? r.out.write(text) : r.err.write(text));
  }

  #deliver(r: Running, stream: 'stdout' | 'stderr', text: string): void {
    if (text === '') return;
    (stream === 'stdout' ? r.stdout : r.stderr).push(text);
    if (!r.opts.onOutput) return;
    try {
      r.opts.onOutput(stream, text);
    } catch (e) {
      r.callbackError ??= e;
    }
  }

  #onFrame(stream: 'stdout' | 'stderr', body: string): void {
    const nonce = body.slice(0, NONCE_HEX);
    const type = body.charAt(NONCE_HEX);
    const payload = body.slice(NONCE_HEX + 1).trim();
    const starting = this.#starting;
    if (starting && nonce === starting.nonce) {
      if (type === 'F') {
        this.#fail(payload);
        return;
      }
      if (type === 'R') {
        starting.stdoutReady = true;
        if (payload) this.#user = payload;
      }
      if (type === 'Q') starting.stderrReady = true;
      if (starting.stdoutReady && starting.stderrReady) {
        this.#starting = undefined;
        this.#looseStderr = '';
        starting.resolve();
      }
      return;
    }
    const r = this.#current;
    // A frame of an earlier request (e.g. its exit after a kill was confirmed) is stale: drop it.
    if (!r || nonce !== r.nonce) return;
    if (stream === 'stderr') {
      if (type === 'E') r.stderrEnded = true;
    } else if (type === 'P') {
      r.pgid = Number(payload);
      if (r.kill && !r.killSent) this.#sendKill(r);
    } else if (type === 'X') {
      r.code = Number(payload);
    } else if (type === 'K') {
      r.killDone = true;
      if (!(r.code !== undefined && r.stderrEnded)) {
        const t = setTimeout(() => {
          r.settled = true;
          this.#maybeFinish(r);
        }, SETTLE_AFTER_KILL_MS);
        r.timers.push(t);
      }
    }
    this.#maybeFinish(r);
  }

  /**
   * Runs one script; resolves with its exact output and exit code. On timeout the result has
   * code 124 and `timedOut`; on abort it rejects with the signal's reason. Either way the
   * command's whole process group is gone (TERM, then KILL after the grace) before it settles.
   */
  run(script: string, opts: ExecOptions): Promise<ExecResult> {
    if (!this.alive) return Promise.reject(new Error('bug: FramedShell.run on a shell that ended'));
    if (this.#current) return Promise.reject(new Error('bug: FramedShell.run called while a command runs'));
    if (script.includes('\0') || opts.stdin?.includes('\0')) {
      return Promise.reject(
        new TypeError('a command or its stdin contains a NUL byte; send binary data with put()'),
      );
    }
    let nonce = randomHex(NONCE_HEX);
    while (script.includes(`__CO_${nonce}`)) nonce = randomHex(NONCE_HEX);
    return new Promise<ExecResult>((resolve, reject) => {
      const r: Running = {
        nonce,
        opts,
        out: new StringDecoder('utf8'),
        err: new StringDecoder('utf8'),
        stdout: [],
        stderr: [],
        stderrEnded: false,
        killSent: false,
        killDone: false,
        settled: false,
        timers: [],
        resolve,
        reject,
      };
      this.#current = r;
      let request = '';
      if (this.#forgetReporter) request += '__co_r=\n';
      this.#forgetReporter = false;
      if (opts.stdin !== undefined) request += `__co_in=${quote(opts.stdin)}\n`;
      request += `__co_run ${this.#key}${nonce} ${opts.stdin !== undefined ? 1 : 0} 3<<'__CO_${nonce}'\n`;
      // The command's shell reads the script through its own descriptor (/dev/fd/3 reopened), so
      // fd 3 can go at once and is not inherited by what the command starts.
      request += `exec 3<&-; ${script}`;
      if (!script.endsWith('\n')) request += '\n';
      request += `__CO_${nonce}\n`;
      this.#child.stdin.write(request);
      if (opts.timeoutMs !== undefined) {
        r.timers.push(setTimeout(() => this.#requestKill(r, 'timeout'), Math.max(0, opts.timeoutMs)));
      }
      if (opts.signal) {
        r.onAbort = () => this.#requestKill(r, 'abort');
        if (opts.signal.aborted) r.onAbort();
        else opts.signal.addEventListener('abort', r.onAbort, { once: true });
      }
    });
  }

  #requestKill(r: Running, reason: KillReason): void {
    if (this.#current !== r || r.kill || r.code !== undefined) return;
    r.kill = reason;
    if (r.pgid !== undefined) this.#sendKill(r);
    // If the host never confirms, the connection is broken: reset it rather than hang.
    const deadline = setTimeout(() => {
      if (this.#current !== r) return;
      this.#fail(`the host did not confirm the kill within ${this.#killGraceMs + KILL_CONFIRM_SLACK_MS} ms`);
    }, this.#killGraceMs + KILL_CONFIRM_SLACK_MS);
    r.timers.push(deadline);
  }

  #sendKill(r: Running): void {
    r.killSent = true;
    const polls = Math.max(1, Math.ceil(this.#killGraceMs / 50));
    this.#child.stdin.write(`__co_kill ${this.#key}${r.nonce} ${r.pgid} ${polls}\n`);
  }

  #maybeFinish(r: Running): void {
    if (this.#current !== r) return;
    const streamsDone = r.code !== undefined && r.stderrEnded;
    const done = r.killSent ? r.killDone && (streamsDone || r.settled) : streamsDone;
    if (!done) return;
    this.#current = undefined;
    if (r.code === undefined) this.#forgetReporter = true;
    for (const t of r.timers) clearTimeout(t);
    if (r.onAbort) r.opts.signal?.removeEventListener('abort', r.onAbort);
    this.#deliver(r, 'stdout', r.out.end());
    this.#deliver(r, 'stderr', r.err.end());
    const stdout = r.stdout.join('');
    const stderr = r.stderr.join('');
    if (r.callbackError !== undefined) r.reject(r.callbackError);
    else if (r.kill === 'abort') r.reject(r.opts.signal?.reason ?? new Error('aborted'));
    else if (r.kill === 'close') {
      r.reject(
        new TransportError(
          `${this.#launcher.where}: the session was closed while a command was running; it was killed`,
          'Close sessions only after their commands finished.',
          { host: this.#launcher.host },
        ),
      );
    } else if (r.kill === 'timeout') r.resolve({ code: 124, stdout, stderr, timedOut: true });
    else r.resolve({ code: r.code ?? -1, stdout, stderr });
  }

  /**
   * Ends the driver: kills a running command (its exec rejects), closes stdin so the shell
   * exits, and makes sure the process is gone (TERM, then KILL).
   */
  async terminate(): Promise<void> {
    if (this.#dead !== undefined) return;
    this.#closing = true;
    const r = this.#current;
    if (r) {
      const settled = new Promise<void>((resolve) => {
        const { resolve: ok, reject: bad } = r;
        r.resolve = (v) => {
          ok(v);
          resolve();
        };
        r.reject = (e) => {
          bad(e);
          resolve();
        };
      });
      this.#requestKill(r, 'close');
      await settled;
    }
    if (this.#dead !== undefined || this.#exited) return;
    const gone = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end();
    if (this.#launcher.handsOver?.(this.#child)) return;
    if (await settleWithin(gone, 2000)) return;
    this.#child.kill('SIGTERM');
    if (await settleWithin(gone, 2000)) return;
    this.#child.kill('SIGKILL');
    await gone;
  }
}

/** True when `p` settled within `ms` (shutdowns: wait this long before the harder signal). */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

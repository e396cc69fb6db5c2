/**
 * A Session over one framed driver shell (protocol.ts): requests run one after another (a queue),
 * and when the shell died it is started again with a bounded backoff; a host still down after the
 * last attempt is unreachable, and later requests fail at once with the same error.
 */
import { FramedShell, type ShellLauncher, type ShellOptions } from './protocol.js';
import { TransportError } from './errors.js';
import type { ExecOptions, ExecResult, Session } from './transport.js';

/** The default reconnect backoff: bounded, so a dead host fails its work in about 15 s, never hangs. */
export const RECONNECT_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000];

/**
 * A Session over one driver shell: serialises requests (a queue), reconnects with a bounded
 * backoff when the shell died, and leaves put/get to the concrete transport. Example: `class LocalSession extends ShellSession`.
 */
export abstract class ShellSession implements Session {
  #shell: FramedShell | undefined;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;
  #unreachable: TransportError | undefined;

  constructor(
    protected readonly launcher: ShellLauncher,
    protected readonly shellOptions: ShellOptions,
  ) {}

  get host(): string {
    return this.launcher.host;
  }

  /** The user the shell runs as on the host (after sudo, if any), from its ready frame. */
  get user(): string | undefined {
    return this.#shell?.user;
  }

  /** Starts the first shell; connect() awaits this so unreachable hosts fail at connect time. */
  async open(): Promise<this> {
    this.#shell = await FramedShell.start(this.launcher, this.shellOptions, 'first');
    return this;
  }

  exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.enqueue(async () => (await this.#liveShell()).run(script, opts), opts.signal);
  }

  abstract put(data: Buffer, remotePath: string, opts?: { mode?: string }): Promise<{ sha256: string }>;
  abstract get(remotePath: string): Promise<Buffer>;

  /** Runs `task` after every earlier request; a request aborted while it waits rejects at once. */
  protected enqueue<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let started = false;
      const onAbort = () => {
        if (!started) reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#tail = this.#tail.then(async () => {
        if (signal?.aborted) return;
        started = true;
        signal?.removeEventListener('abort', onAbort);
        if (this.#closed) return reject(this.#closedError());
        try {
          resolve(await task());
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /**
   * The shell, started again when it died: up to one attempt per reconnect delay, with the pause
   * before each. A host still unreachable after the last is reported as such (`unreachable`).
   */
  async #liveShell(): Promise<FramedShell> {
    const shell = this.#shell;
    if (shell?.alive) return shell;
    if (this.#unreachable) throw this.#unreachable;
    const why = shell ? shell.deathReason : 'never started';
    const delays = this.shellOptions.reconnectDelaysMs ?? RECONNECT_DELAYS_MS;
    let last: unknown;
    for (const [i, delay] of delays.entries()) {
      await this.shellOptions.onReconnect?.(i + 1, why);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#closed) throw this.#closedError();
      try {
        this.#shell = await FramedShell.start(this.launcher, this.shellOptions, 'reconnect');
        return this.#shell;
      } catch (e) {
        last = e;
      }
    }
    const cause = last instanceof TransportError ? last : undefined;
    const waited = delays.reduce((sum, d) => sum + d, 0) / 1000;
    // Later requests fail at once with the same error instead of each waiting the backoff again.
    this.#unreachable = new TransportError(
      `${this.launcher.where}: unreachable: the shell on the host ended (${why}) and ${delays.length} reconnect attempt${delays.length === 1 ? '' : 's'} over ${waited}s failed; the last: ${(last as Error | undefined)?.message ?? 'none'}`,
      cause?.hint ??
        'Check that the host is up and reachable (ssh to it by hand), then `cutover status` shows where it stopped and `cutover resume` goes on from there.',
      { host: this.launcher.host, unreachable: true, ...(cause?.stderr ? { stderr: cause.stderr } : {}) },
    );
    throw this.#unreachable;
  }

  #closedError(): TransportError {
    return new TransportError(
      `${this.launcher.where}: the session is closed`,
      'This is a bug in the caller: open a new session with connect().',
      { host: this.launcher.host },
    );
  }

  /** Kills a running command, rejects queued ones, and ends the shell. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#shell?.terminate();
  }
}

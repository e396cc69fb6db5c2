import { createHash } from 'node:crypto';
import { TransportError } from './errors.js';
import type { ExecOptions, ExecResult, HostAddress, Session, Transport } from './transport.js';

/** One recorded exec. Example: `{ seq: 3, host: 'web', type: 'exec', script: 'systemctl stop app', timeoutMs: 30000 }`. */
export interface RecordedExec {
  seq: number;
  host: string;
  type: 'exec';
  script: string;
  stdin?: string;
  timeoutMs?: number;
}

/** One recorded put. Example: `{ seq: 4, host: 'web', type: 'put', path: '/home/app.tar', data: <Buffer>, mode: '0644' }`. */
export interface RecordedPut {
  seq: number;
  host: string;
  type: 'put';
  path: string;
  data: Buffer;
  mode?: string;
}

/** One recorded get. Example: `{ seq: 5, host: 'web', type: 'get', path: '/etc/nginx/nginx.conf' }`. */
export interface RecordedGet {
  seq: number;
  host: string;
  type: 'get';
  path: string;
}

/** Every call the recording saw, in order across hosts. */
export type RecordedCall = RecordedExec | RecordedPut | RecordedGet;

/** Which scripts a rule answers: a substring, a pattern, or a predicate. Example: `/systemctl is-active/`. */
export type ScriptMatcher = string | RegExp | ((script: string, call: RecordedExec) => boolean);

/** What a rule answers: a (partial) result or a function of the call (may be async). Example: `{ code: 3, stdout: 'inactive\n' }`. */
export type Reply =
  | Partial<ExecResult>
  | ((call: RecordedExec) => Partial<ExecResult> | Promise<Partial<ExecResult>>);

/** Options of the recording. Example: `{ delay: () => clock.sleep(50) }` with the engine's fake clock. */
export interface RecordingOptions {
  /**
   * Awaited before every answer (exec, put, get), so engine tests can interleave hosts on an
   * injected clock. Rejecting (e.g. with the abort reason) makes the call reject.
   */
  delay?: (call: RecordedCall, signal?: AbortSignal) => Promise<void> | void;
  /** Streams output to `onOutput` in chunks of this many characters, as a pipe may; default whole. */
  chunkSize?: number;
}

interface Rule {
  host: string;
  matcher: ScriptMatcher;
  reply: Reply;
  /** Uses left; undefined = unlimited. */
  times: number | undefined;
}

/**
 * A Transport for engine tests: records every exec/put/get with a sequence number across hosts,
 * answers execs from rules (first match wins, default `{ code: 0, stdout: '', stderr: '' }`), and
 * keeps a virtual file system per host for put/get. Example:
 * `const rec = new RecordingTransport().respond('*', /is-active/, { stdout: 'active\n' }).fail('web', 'systemctl start', { stderr: 'boom' });`
 */
export class RecordingTransport implements Transport {
  readonly calls: RecordedCall[] = [];
  readonly #rules: Rule[] = [];
  readonly #files = new Map<string, Map<string, { data: Buffer; mode?: string }>>();
  readonly #options: RecordingOptions;
  #seq = 0;
  #open = 0;

  constructor(options: RecordingOptions = {}) {
    this.#options = options;
  }

  /** Adds a rule for `host` (or `*` for every host); earlier rules win. `times` limits how often it answers. */
  respond(host: string, matcher: ScriptMatcher, reply: Reply, opts: { times?: number } = {}): this {
    this.#rules.push({ host, matcher, reply, times: opts.times });
    return this;
  }

  /** Sugar for a failing command: `fail('web', 'systemctl start app', { stderr: 'failed' })` answers code 1 unless given. */
  fail(
    host: string,
    matcher: ScriptMatcher,
    result: Partial<ExecResult> = {},
    opts: { times?: number } = {},
  ): this {
    return this.respond(host, matcher, { code: 1, ...result }, opts);
  }

  /** Puts a file into a host's virtual file system (what `get` returns). */
  setFile(host: string, path: string, data: string | Buffer, mode?: string): this {
    this.#vfs(host).set(path, { data: Buffer.from(data), ...(mode !== undefined ? { mode } : {}) });
    return this;
  }

  /** A file of a host's virtual file system (written by `put` or `setFile`), or undefined. */
  file(host: string, path: string): Buffer | undefined {
    return this.#files.get(host)?.get(path)?.data;
  }

  /** The mode given with the last put of that file. */
  fileMode(host: string, path: string): string | undefined {
    return this.#files.get(host)?.get(path)?.mode;
  }

  /** The calls to one host, in order. */
  callsFor(host: string): RecordedCall[] {
    return this.calls.filter((c) => c.host === host);
  }

  /** The exec'd scripts, of one host or of all, in order. */
  scripts(host?: string): string[] {
    return this.calls
      .filter((c): c is RecordedExec => c.type === 'exec' && (host === undefined || c.host === host))
      .map((c) => c.script);
  }

  /** How many sessions are open (connected and not closed). */
  get openSessions(): number {
    return this.#open;
  }

  async connect(host: HostAddress): Promise<Session> {
    this.#open++;
    let closed = false;
    const name = host.name;
    const ensureOpen = () => {
      if (closed)
        throw new TransportError(`${name}: the session is closed`, 'Open a new session with connect().', {
          host: name,
        });
    };
    return {
      host: name,
      exec: async (script: string, opts: ExecOptions = {}) => {
        ensureOpen();
        const call: RecordedExec = { seq: ++this.#seq, host: name, type: 'exec', script };
        if (opts.stdin !== undefined) call.stdin = opts.stdin;
        if (opts.timeoutMs !== undefined) call.timeoutMs = opts.timeoutMs;
        this.calls.push(call);
        await this.#wait(call, opts.signal);
        const result = await this.#answer(call);
        if (opts.onOutput) {
          const size = this.#options.chunkSize ?? Number.POSITIVE_INFINITY;
          for (const stream of ['stdout', 'stderr'] as const)
            for (let i = 0; i < result[stream].length; i += size)
              opts.onOutput(stream, result[stream].slice(i, i + size));
        }
        return result;
      },
      put: async (data: Buffer, remotePath: string, opts: { mode?: string } = {}) => {
        ensureOpen();
        const call: RecordedPut = {
          seq: ++this.#seq,
          host: name,
          type: 'put',
          path: remotePath,
          data: Buffer.from(data),
        };
        if (opts.mode !== undefined) call.mode = opts.mode;
        this.calls.push(call);
        await this.#wait(call);
        this.#vfs(name).set(remotePath, {
          data: Buffer.from(data),
          ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
        });
        return { sha256: createHash('sha256').update(data).digest('hex') };
      },
      get: async (remotePath: string) => {
        ensureOpen();
        const call: RecordedGet = { seq: ++this.#seq, host: name, type: 'get', path: remotePath };
        this.calls.push(call);
        await this.#wait(call);
        const file = this.#files.get(name)?.get(remotePath);
        if (!file) {
          throw new TransportError(
            `${name} (recording): get ${remotePath}: No such file`,
            'Add it with setFile() in the test.',
            {
              host: name,
            },
          );
        }
        return Buffer.from(file.data);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.#open--;
      },
    };
  }

  async close(): Promise<void> {}

  async #wait(call: RecordedCall, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    await this.#options.delay?.(call, signal);
    if (signal?.aborted) throw signal.reason;
  }

  async #answer(call: RecordedExec): Promise<ExecResult> {
    for (const rule of this.#rules) {
      if (rule.host !== '*' && rule.host !== call.host) continue;
      if (rule.times !== undefined && rule.times <= 0) continue;
      if (!matches(rule.matcher, call)) continue;
      if (rule.times !== undefined) rule.times--;
      const partial = typeof rule.reply === 'function' ? await rule.reply(call) : rule.reply;
      return { code: 0, stdout: '', stderr: '', ...partial };
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  #vfs(host: string): Map<string, { data: Buffer; mode?: string }> {
    let files = this.#files.get(host);
    if (!files) {
      files = new Map();
      this.#files.set(host, files);
    }
    return files;
  }
}

function matches(matcher: ScriptMatcher, call: RecordedExec): boolean {
  if (typeof matcher === 'string') return call.script.includes(matcher);
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(call.script);
  }
  return matcher(call.script, call);
}

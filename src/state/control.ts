/**
 * The control channel: how another process (the `cutover serve` dashboard) asks a running
 * `cutover apply`/`resume` to approve or decline a gate, or to abort. Requests are appended as
 * JSON lines to `<stateDir>/runs/<run>/control.jsonl`; the run polls the file (every ~250 ms)
 * and journals what it did with them (`gate.decided` with `by`, `abort.requested`). The file
 * is append-only, like the journal, so a request is never lost or applied twice.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { JournalEvent } from '../journal/events.js';

/**
 * One request to a running engine. `gateSeq` is the journal seq of the `gate.pending` event the
 * requester saw, so an approval never applies to a later gate on the same step (a retry, a resume).
 * Example: `{ type: 'gate', gateSeq: 41, step: 'upgrade/verify@web', host: 'web', approved: true, by: 'dashboard (127.0.0.1)', at: '…' }`.
 */
export type ControlRequest =
  | { type: 'gate'; gateSeq: number; step: string; host: string; approved: boolean; by: string; at: string }
  | { type: 'abort'; by: string; at: string };

/** A request before the channel stamps it. Example: `{ type: 'abort', by: 'dashboard (127.0.0.1)' }`. */
export type ControlRequestBody = ControlRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'at'>
    : never
  : never;

/** How a gate was decided, for the journal. Example: `{ approved: true, by: 'dashboard (127.0.0.1)' }`. */
export interface GateDecision {
  approved: boolean;
  by: string;
}

/** The control file of a run. Example: `controlFile('.cutover', '20261122-030000-ab12')` -> `.cutover/runs/20261122-030000-ab12/control.jsonl`. */
export function controlFile(stateDir: string, run: string): string {
  return join(stateDir, 'runs', run, 'control.jsonl');
}

/** Appends one request (fsync'd, mode 0600). Example: `sendControl(file, { type: 'abort', by: 'alice' })`. */
export function sendControl(file: string, body: ControlRequestBody): ControlRequest {
  const request = { ...body, at: new Date().toISOString() } as ControlRequest;
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(request)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return request;
}

/**
 * Reads the complete requests after byte `offset`; a torn last line (a writer mid-append) is
 * left for the next read. Example: `readControl(file, 0)` -> `{ requests: [...], offset: 120 }`.
 */
export function readControl(file: string, offset: number): { requests: ControlRequest[]; offset: number } {
  if (!existsSync(file)) return { requests: [], offset };
  const size = statSync(file).size;
  if (size <= offset) return { requests: [], offset: Math.min(offset, size) };
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(size - offset);
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  const end = buffer.lastIndexOf(0x0a);
  if (end < 0) return { requests: [], offset };
  const requests: ControlRequest[] = [];
  for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
    const request = parseRequest(line);
    if (request) requests.push(request);
  }
  return { requests, offset: offset + end + 1 };
}

/** One request from its JSON text; undefined for anything else. */
export function parseRequest(line: string): ControlRequest | undefined {
  if (!line.trim()) return undefined;
  try {
    const r = JSON.parse(line) as Partial<ControlRequest> & Record<string, unknown>;
    if (typeof r.by !== 'string' || typeof r.at !== 'string') return undefined;
    if (r.type === 'abort') return { type: 'abort', by: r.by, at: r.at };
    if (
      r.type === 'gate' &&
      typeof r.gateSeq === 'number' &&
      typeof r.step === 'string' &&
      typeof r.host === 'string' &&
      typeof r.approved === 'boolean'
    )
      return {
        type: 'gate',
        gateSeq: r.gateSeq,
        step: r.step,
        host: r.host,
        approved: r.approved,
        by: r.by,
        at: r.at,
      };
  } catch {
    // Not JSON: someone wrote to the file by hand. Ignored like any unknown request.
  }
  return undefined;
}

/**
 * Watches a run's control file from its current end (requests from before this process started
 * belong to an earlier process), and matches gate requests to the gates this run has pending.
 * Feed it the run's events with `observe`. Example:
 * `const w = new ControlWatcher(controlFile(dir, run)); w.onAbort((by) => abort(by)); w.start();`
 */
export class ControlWatcher {
  readonly #file: string;
  readonly #intervalMs: number;
  #offset = 0;
  #timer?: NodeJS.Timeout;
  /** `step\0host` -> seq of its latest gate.pending. */
  readonly #pending = new Map<string, number>();
  /** gateSeq -> the first decision requested for it. */
  readonly #decisions = new Map<number, GateDecision>();
  readonly #waiters = new Set<{ seq: number; resolve: (d: GateDecision) => void }>();
  readonly #abortListeners = new Set<(by: string) => void>();

  constructor(file: string, opts: { intervalMs?: number } = {}) {
    this.#file = file;
    this.#intervalMs = opts.intervalMs ?? 250;
  }

  /** Starts polling; requests already in the file are skipped. */
  start(): this {
    this.#offset = existsSync(this.#file) ? statSync(this.#file).size : 0;
    this.#timer = setInterval(() => this.poll(), this.#intervalMs);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Tracks pending gates from the run's events (call it for every event, before the approver runs). */
  observe(event: JournalEvent): void {
    const key = `${'step' in event ? event.step : ''}\u0000${'host' in event ? event.host : ''}`;
    if (event.type === 'gate.pending') this.#pending.set(key, event.seq);
    else if (event.type === 'gate.decided') this.#pending.delete(key);
  }

  /** Reads new requests now (the timer calls this; tests may too). */
  poll(): void {
    let read: ReturnType<typeof readControl>;
    try {
      read = readControl(this.#file, this.#offset);
    } catch {
      return; // The run folder is being written or was removed: try again next tick.
    }
    this.#offset = read.offset;
    this.deliver(read.requests);
  }

  /** Applies requests from any channel (the control file, or the shared state's control feed). */
  deliver(requests: readonly ControlRequest[]): void {
    for (const r of requests) {
      if (r.type === 'abort') {
        for (const listener of this.#abortListeners) listener(r.by);
        continue;
      }
      if (this.#pending.get(`${r.step}\u0000${r.host}`) !== r.gateSeq) continue;
      if (this.#decisions.has(r.gateSeq)) continue;
      const decision = { approved: r.approved, by: r.by };
      this.#decisions.set(r.gateSeq, decision);
      for (const w of this.#waiters) if (w.seq === r.gateSeq) w.resolve(decision);
    }
  }

  /** Calls `listener(by)` for every abort request. Returns the unsubscribe function. */
  onAbort(listener: (by: string) => void): () => void {
    this.#abortListeners.add(listener);
    return () => this.#abortListeners.delete(listener);
  }

  /**
   * Resolves with the decision requested for the gate pending on `step`@`host`, or undefined when
   * `cancel` fires first (another decider answered, or the run was aborted).
   */
  waitForGate(step: string, host: string, cancel?: AbortSignal): Promise<GateDecision | undefined> {
    // A gate this watcher never saw pending (events not observed) can only be cancelled.
    const seq = this.#pending.get(`${step}\u0000${host}`) ?? -1;
    const known = this.#decisions.get(seq);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const waiter = {
        seq,
        resolve: (d: GateDecision | undefined) => {
          this.#waiters.delete(waiter);
          cancel?.removeEventListener('abort', onCancel);
          resolve(d);
        },
      };
      const onCancel = () => waiter.resolve(undefined);
      if (cancel?.aborted) return resolve(undefined);
      cancel?.addEventListener('abort', onCancel, { once: true });
      this.#waiters.add(waiter);
    });
  }
}

/** Who can decide a gate, besides the control channel. */
export interface GateDeciders {
  /** `--approve-gates`: approve at once; wins over everything else. */
  approveAll: boolean;
  /** Asks at the terminal; resolves undefined when `cancel` fires. Undefined: no terminal. */
  prompt?: (
    gate: { step: string; host: string; message: string },
    cancel: AbortSignal,
  ) => Promise<boolean | undefined>;
  /** With no terminal: wait for the control channel (true) or decline at once (false). */
  awaitRemote: boolean;
  /** The run's abort signal: a gate still open when it fires is declined. */
  signal?: AbortSignal;
  /** Told why a gate was declined without anyone deciding, or that it waits for the dashboard. */
  notice?: (text: string) => void;
}

/**
 * A gate approver for the engine that races the terminal prompt against the control channel:
 * whichever answers first decides, and the other is cancelled. Example:
 * `approveGate: raceGate(watcher, { approveAll: false, prompt: askOnTty, awaitRemote: false })`.
 */
export function raceGate(
  watcher: ControlWatcher,
  deciders: GateDeciders,
): (gate: { step: string; host: string; message: string }) => Promise<boolean | GateDecision> {
  return async (gate) => {
    if (deciders.approveAll) return true;
    if (!deciders.prompt && !deciders.awaitRemote) {
      deciders.notice?.(
        `gate on ${gate.host}: ${gate.message}\nNo terminal to ask on and neither --approve-gates nor --await-approval given: declining.\n`,
      );
      return false;
    }
    const settled = new AbortController();
    const onRunAbort = () => settled.abort();
    deciders.signal?.addEventListener('abort', onRunAbort, { once: true });
    if (!deciders.prompt) {
      deciders.notice?.(
        `gate on ${gate.host}: ${gate.message}\nWaiting for a decision from the dashboard (cutover serve).\n`,
      );
    }
    try {
      const remote = watcher.waitForGate(gate.step, gate.host, settled.signal);
      const local = deciders.prompt
        ? deciders.prompt(gate, settled.signal).then((answer) => answer)
        : new Promise<undefined>(() => undefined);
      const decision = await Promise.race([remote, local]);
      if (decision === undefined) return false; // The run was aborted while the gate was open.
      return decision;
    } finally {
      settled.abort();
      deciders.signal?.removeEventListener('abort', onRunAbort);
    }
  };
}

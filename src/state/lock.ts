import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockHeldError } from '../errors.js';

/** Who holds a cluster: written into the lock file. */
export interface LockHolder {
  owner: string;
  runId: string;
  pid: number;
  hostname: string;
  acquiredAt: string;
  expiresAt: string;
}

const LEASE_MS = 60_000;
const RENEW_MS = 20_000;

/**
 * One run per cluster: a lease file `<stateDir>/locks/<cluster>.json` created exclusively,
 * renewed while the run lives. A second run gets LockHeldError (exit 3) naming the holder.
 * `resume` of the same run may take over a lease whose process is gone; anything else must be
 * broken explicitly (`cutover unlock --force`). Example: `const lock = ClusterLock.acquire(dir, 'lab', run, 'alice')`.
 */
export class ClusterLock {
  #timer?: NodeJS.Timeout;
  #onLost: (current: LockHolder | undefined) => void = () => {};
  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
  ) {}

  /** True once someone broke this lease (`cutover unlock --force`): it is never taken back. */
  lost = false;

  static path(stateDir: string, cluster: string): string {
    return join(stateDir, 'locks', `${cluster.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  static read(stateDir: string, cluster: string): LockHolder | undefined {
    return ClusterLock.#readFile(ClusterLock.path(stateDir, cluster));
  }

  static acquire(
    stateDir: string,
    cluster: string,
    runId: string,
    owner: string,
    opts: { now?: number; onLost?: (current: LockHolder | undefined) => void } = {},
  ): ClusterLock {
    const now = opts.now ?? Date.now();
    const file = ClusterLock.path(stateDir, cluster);
    mkdirSync(join(stateDir, 'locks'), { recursive: true });
    const holder: LockHolder = {
      owner,
      runId,
      pid: process.pid,
      hostname: hostname(),
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + LEASE_MS).toISOString(),
    };
    try {
      writeFileSync(file, JSON.stringify(holder, null, 2), { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const current = ClusterLock.read(stateDir, cluster);
      if (current && !(current.runId === runId && !holderAlive(current)))
        throw new LockHeldError(current, file);
      // Our own run's lease, left by a controller that died: take it over atomically.
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(holder, null, 2), { mode: 0o600 });
      renameSync(tmp, file);
    }
    const lock = new ClusterLock(file, holder);
    if (opts.onLost) lock.#onLost = opts.onLost;
    lock.#timer = setInterval(() => lock.renew(), RENEW_MS);
    lock.#timer.unref();
    return lock;
  }

  /**
   * Extends the lease, unless it was broken: then the new holder (or nobody) keeps the file,
   * renewals stop and `onLost` says so, since two runs must never hold one cluster.
   */
  renew(now = Date.now()): void {
    if (this.lost) return;
    let current: LockHolder | undefined;
    try {
      current = ClusterLock.#readFile(this.file);
    } catch {
      return; // Unreadable for a moment (not gone): the next renewal tries again.
    }
    if (!current || !this.#isMine(current)) {
      this.lost = true;
      if (this.#timer) clearInterval(this.#timer);
      this.#onLost(current);
      return;
    }
    this.holder.expiresAt = new Date(now + LEASE_MS).toISOString();
    try {
      const tmp = `${this.file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(this.holder, null, 2), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch {
      // The next renewal retries; an expired lease is still never broken implicitly.
    }
  }

  release(): void {
    if (this.#timer) clearInterval(this.#timer);
    let current: LockHolder | undefined;
    try {
      current = ClusterLock.#readFile(this.file);
    } catch {
      return; // Left for `cutover unlock --force`: never remove a lock that may not be ours.
    }
    if (current && this.#isMine(current)) rmSync(this.file, { force: true });
  }

  #isMine(current: LockHolder): boolean {
    const h = this.holder;
    return current.runId === h.runId && current.pid === h.pid && current.acquiredAt === h.acquiredAt;
  }

  /** The holder in the file; undefined when there is none. Throws when it cannot be read. */
  static #readFile(file: string): LockHolder | undefined {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as LockHolder;
    } catch {
      return undefined; // Written by rename, so never half a file: not a lock cutover wrote.
    }
  }

  /** Explicitly breaks whatever lock the cluster has; returns the holder it removed. */
  static breakLock(stateDir: string, cluster: string): LockHolder | undefined {
    const current = ClusterLock.read(stateDir, cluster);
    rmSync(ClusterLock.path(stateDir, cluster), { force: true });
    return current;
  }
}

/**
 * A holder on this machine whose process is gone (or whose pid now runs something that is not
 * cutover) is dead; on another machine we cannot tell, so it is alive.
 */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').includes('cutover');
  } catch {
    return true;
  }
}

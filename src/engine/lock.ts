import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
  ) {}

  static path(stateDir: string, cluster: string): string {
    return join(stateDir, 'locks', `${cluster.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  static read(stateDir: string, cluster: string): LockHolder | undefined {
    const file = ClusterLock.path(stateDir, cluster);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    } catch {
      return undefined;
    }
  }

  static acquire(
    stateDir: string,
    cluster: string,
    runId: string,
    owner: string,
    now = Date.now(),
  ): ClusterLock {
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
    lock.#timer = setInterval(() => lock.renew(), RENEW_MS);
    lock.#timer.unref();
    return lock;
  }

  renew(now = Date.now()): void {
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
    const current = existsSync(this.file)
      ? (JSON.parse(readFileSync(this.file, 'utf8')) as LockHolder)
      : undefined;
    if (current && current.runId === this.holder.runId && current.pid === this.holder.pid)
      rmSync(this.file, { force: true });
  }

  /** Explicitly breaks whatever lock the cluster has; returns the holder it removed. */
  static breakLock(stateDir: string, cluster: string): LockHolder | undefined {
    const current = ClusterLock.read(stateDir, cluster);
    rmSync(ClusterLock.path(stateDir, cluster), { force: true });
    return current;
  }
}

/** A holder on this machine whose process is gone is dead; on another machine we cannot tell, so it is alive. */
function holderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The cluster lease in the shared state: which run, controller and operator hold a cluster now.
 * It is what the team dashboard calls "live", and it stops a second controller from starting or
 * resuming a run on a cluster another controller is running (the lock on the hosts stays the one
 * that protects the hosts; this one answers first and for every controller). Renewed every 20 s;
 * a lease not renewed for 60 s (its controller died) can be taken. While the database is away the
 * run keeps going and renews again when it is back.
 */
import { hostname } from 'node:os';
import { LockHeldError } from '../../errors.js';
import { holderAlive, type LockHolder } from '../lock.js';
import type { StateConnection } from './connection.js';
import { shownUrl } from './database.js';

export const SHARED_LEASE_MS = 60_000;
const RENEW_MS = 20_000;

/** A lease row. Example: `{ cluster: 'lab', run: '2026…', operator: 'alice', controller: 'laptop', pid: 4242, expiresAt: '…' }`. */
export interface SharedLeaseHolder {
  cluster: string;
  run: string;
  operator: string;
  controller: string;
  pid: number;
  expiresAt: string;
}

export class SharedLease {
  #timer: NodeJS.Timeout | undefined;
  readonly #controller = hostname();

  private constructor(
    readonly conn: StateConnection,
    readonly cluster: string,
    readonly run: string,
  ) {}

  /**
   * Takes the cluster for `run`: free, expired, or already this run's on this controller. Anything
   * else throws LockHeldError naming who holds it and until when.
   */
  static async acquire(
    conn: StateConnection,
    cluster: string,
    run: string,
    operator: string,
  ): Promise<SharedLease> {
    const lease = new SharedLease(conn, cluster, run);
    const current = await readSharedLease(conn, cluster);
    // The same run on this machine is taken over only from a process that is gone (a crash, not a
    // second terminal resuming it while the first still runs).
    if (
      current &&
      current.run === run &&
      current.controller === lease.#controller &&
      current.pid !== process.pid &&
      Date.parse(current.expiresAt) > Date.now() &&
      holderAlive({ pid: current.pid, hostname: current.controller } as LockHolder)
    )
      throw new LockHeldError(
        {
          owner: `${current.operator}@${current.controller}`,
          runId: current.run,
          expiresAt: current.expiresAt,
          pid: current.pid,
          hostname: current.controller,
        },
        `the shared state ${shownUrl(conn.url)} (cutover.leases)`,
      );
    const taken = await conn.query(
      `insert into cutover.leases as l (cluster, run, operator, controller, pid, acquired_at, renewed_at, expires_at)
       values ($1, $2, $3, $4, $5, now(), now(), now() + make_interval(secs => $6))
       on conflict (cluster) do update set run = excluded.run, operator = excluded.operator,
         controller = excluded.controller, pid = excluded.pid, acquired_at = excluded.acquired_at,
         renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
       where l.expires_at < now() or (l.run = excluded.run and l.controller = excluded.controller)
       returning run`,
      [cluster, run, operator, lease.#controller, process.pid, SHARED_LEASE_MS / 1000],
    );
    if (taken.rowCount === 0) {
      const holder = await readSharedLease(conn, cluster);
      throw new LockHeldError(
        {
          owner: holder ? `${holder.operator}@${holder.controller}` : 'another controller',
          runId: holder?.run ?? '?',
          expiresAt: holder?.expiresAt ?? '?',
          ...(holder ? { pid: holder.pid, hostname: holder.controller } : {}),
        },
        `the shared state ${shownUrl(conn.url)} (cutover.leases)`,
      );
    }
    await notifyLeases(conn, cluster);
    return lease;
  }

  /** Renews every 20 s; `onLost` hears when someone else holds the cluster now (unlock --force). */
  startRenewal(onLost: (why: string) => void): void {
    this.#timer = setInterval(() => {
      void this.#renew(onLost);
    }, RENEW_MS);
    this.#timer.unref();
  }

  async #renew(onLost: (why: string) => void): Promise<void> {
    try {
      const res = await this.conn.query(
        `update cutover.leases set renewed_at = now(), expires_at = now() + make_interval(secs => $5)
         where cluster = $1 and run = $2 and controller = $3 and pid = $4`,
        [this.cluster, this.run, this.#controller, process.pid, SHARED_LEASE_MS / 1000],
      );
      if (res.rowCount === 0) {
        const holder = await readSharedLease(this.conn, this.cluster);
        onLost(
          holder
            ? `the shared lease of cluster ${this.cluster} is now held by ${holder.operator}@${holder.controller}, run ${holder.run}`
            : `the shared lease of cluster ${this.cluster} was broken`,
        );
        this.stop();
        return;
      }
      await notifyLeases(this.conn, this.cluster);
    } catch {
      // The database is away: the run goes on; the mirror has said so. Renewed when it is back.
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Gives the cluster back (only if this run on this controller still holds it). */
  async release(): Promise<void> {
    this.stop();
    try {
      await this.conn.query(
        'delete from cutover.leases where cluster = $1 and run = $2 and controller = $3',
        [this.cluster, this.run, this.#controller],
      );
      await notifyLeases(this.conn, this.cluster);
    } catch {
      // Away: the lease expires by itself within a minute.
    }
  }
}

/** Who holds a cluster in the shared state, or undefined. */
export async function readSharedLease(
  conn: Pick<StateConnection, 'query'>,
  cluster: string,
): Promise<SharedLeaseHolder | undefined> {
  const res = await conn.query<{
    run: string;
    operator: string;
    controller: string;
    pid: number;
    expires_at: Date;
  }>('select run, operator, controller, pid, expires_at from cutover.leases where cluster = $1', [cluster]);
  const r = res.rows[0];
  return r
    ? {
        cluster,
        run: r.run,
        operator: r.operator,
        controller: r.controller,
        pid: r.pid,
        expiresAt: new Date(r.expires_at).toISOString(),
      }
    : undefined;
}

/** Every lease not expired, for the dashboard. */
export async function liveLeases(conn: Pick<StateConnection, 'query'>): Promise<SharedLeaseHolder[]> {
  const res = await conn.query<{
    cluster: string;
    run: string;
    operator: string;
    controller: string;
    pid: number;
    expires_at: Date;
  }>(
    'select cluster, run, operator, controller, pid, expires_at from cutover.leases where expires_at > now()',
  );
  return res.rows.map((r) => ({
    cluster: r.cluster,
    run: r.run,
    operator: r.operator,
    controller: r.controller,
    pid: r.pid,
    expiresAt: new Date(r.expires_at).toISOString(),
  }));
}

/** Breaks a cluster's shared lease whoever holds it (`cutover unlock --force` with --state). */
export async function breakSharedLease(conn: StateConnection, cluster: string): Promise<boolean> {
  const res = await conn.query('delete from cutover.leases where cluster = $1', [cluster]);
  await notifyLeases(conn, cluster);
  return (res.rowCount ?? 0) > 0;
}

async function notifyLeases(conn: Pick<StateConnection, 'query'>, cluster: string): Promise<void> {
  await conn.query(`select pg_notify('cutover_leases', $1)`, [cluster]);
}

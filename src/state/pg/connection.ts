/**
 * One connection to the shared state for a whole run: the journal mirror, the cluster lease and
 * the control feed share it. When the database goes away mid-run the connection says so (once, via
 * the mirror) and is opened again on the next use, at most once at a time; LISTENs are renewed on
 * every new connection, and `onConnected` listeners catch up on what they missed meanwhile.
 */
import type pg from 'pg';
import { connect } from './database.js';

type NotificationListener = (payload: string) => void;

export class StateConnection {
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #channels = new Map<string, Set<NotificationListener>>();
  readonly #onConnected = new Set<() => void>();

  private constructor(readonly url: string) {}

  /** Connects (throws StateUnavailableError when it cannot) and returns the connection. */
  static async open(url: string): Promise<StateConnection> {
    const conn = new StateConnection(url);
    await conn.client();
    return conn;
  }

  /** Whether a client is connected now (false while the database is away). */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The connected client, connecting first when the last one broke. Throws when the database is away. */
  async client(): Promise<pg.Client> {
    if (this.#closed) throw new Error('the shared state connection is closed');
    if (this.#client) return this.#client;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<pg.Client> {
    const client = await connect(this.url, { connectTimeoutMs: 5_000 });
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#reconnectLater();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      for (const listener of this.#channels.get(n.channel) ?? []) listener(n.payload ?? '');
    });
    for (const channel of this.#channels.keys()) await client.query(`listen ${channel}`);
    this.#client = client;
    for (const listener of this.#onConnected) listener();
    return client;
  }

  /**
   * Runs one query. A connection that broke since its last use (the server restarted) is found
   * dead only by this query: it is dropped and the query tried once more on a new connection. The
   * queries here are reads, or writes that are harmless twice (a control request, a lease renewal).
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.client();
      try {
        return await client.query<R>(sql, params);
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        this.#drop(client);
        if (attempt > 0) throw e;
      }
    }
  }

  /** Runs `body` in one transaction (rolled back when it throws). */
  async transaction<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      await client.query('begin');
      try {
        const result = await body(client);
        await client.query('commit');
        return result;
      } catch (e) {
        await client.query('rollback').catch(() => {});
        throw e;
      }
    } catch (e) {
      if (isConnectionError(e)) this.#drop(client);
      throw e;
    }
  }

  /** Calls `listener(payload)` for each NOTIFY on `channel` (a plain identifier), on this and later connections. */
  async listen(channel: string, listener: NotificationListener): Promise<void> {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const listeners = this.#channels.get(channel) ?? new Set();
    const first = listeners.size === 0;
    listeners.add(listener);
    this.#channels.set(channel, listeners);
    if (first && this.#client) await this.query(`listen ${channel}`);
  }

  /** Calls `listener` after every (re)connection. */
  onConnected(listener: () => void): void {
    this.#onConnected.add(listener);
  }

  #drop(client: pg.Client): void {
    if (this.#client === client) {
      this.#client = undefined;
      this.#reconnectLater();
    }
    void client.end().catch(() => {});
  }

  /**
   * Someone listens (a dashboard, a run waiting at a gate): nothing else may query for a long
   * while, so connect again in the background — after 1, 2, 4, then every 8 s — to hear again.
   */
  #reconnectLater(attempt = 0): void {
    if (this.#closed || this.#channels.size === 0 || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#closed || this.#client) return;
      this.client().catch(() => this.#reconnectLater(attempt + 1));
    }, [1000, 2000, 4000, 8000][Math.min(attempt, 3)]);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}

/** Whether an error means the connection is gone (not a bad query). */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (typeof err?.code === 'string') {
    // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or starting.
    if (err.code.startsWith('08') || /^57P0[123]$/.test(err.code)) return true;
    if (/^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH)$/.test(err.code)) return true;
  }
  return /Connection terminated|not queryable|connection is closed|cannot reach the shared state/i.test(
    err?.message ?? '',
  );
}

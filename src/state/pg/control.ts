/**
 * Gate decisions and aborts through the shared state: any team dashboard inserts a request and
 * NOTIFYs; the controller running that run LISTENs, reads the requests it has not seen, and hands
 * them to its ControlWatcher like the control file's. Requests sent while the database was away
 * from the controller are read when it connects again; requests from before the run (re)started
 * belong to an earlier process and are skipped, as with the file.
 */
import {
  type ControlRequest,
  type ControlRequestBody,
  type ControlWatcher,
  parseRequest,
} from '../control.js';
import type { StateConnection } from './connection.js';

/** Sends one request to the controller running `run`. Example: `await sendSharedControl(conn, run, { type: 'abort', by: 'bob' })`. */
export async function sendSharedControl(
  conn: Pick<StateConnection, 'query'>,
  run: string,
  body: ControlRequestBody,
): Promise<ControlRequest> {
  const request = { ...body, at: new Date().toISOString() } as ControlRequest;
  await conn.query('insert into cutover.control (run, request) values ($1, $2)', [
    run,
    JSON.stringify(request),
  ]);
  await conn.query(`select pg_notify('cutover_control', $1)`, [run]);
  return request;
}

/** Feeds a run's shared control requests to its watcher. Example: `await SharedControlFeed.start(conn, run, watcher)`. */
export class SharedControlFeed {
  #lastId = 0;
  #reading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  private constructor(
    readonly conn: StateConnection,
    readonly run: string,
    readonly watcher: ControlWatcher,
  ) {}

  static async start(
    conn: StateConnection,
    run: string,
    watcher: ControlWatcher,
  ): Promise<SharedControlFeed> {
    const feed = new SharedControlFeed(conn, run, watcher);
    const res = await conn.query<{ id: string }>(
      'select coalesce(max(id), 0)::text as id from cutover.control where run = $1',
      [run],
    );
    feed.#lastId = Number(res.rows[0]?.id ?? 0);
    await conn.listen('cutover_control', (payload) => {
      if (payload === run) feed.read();
    });
    conn.onConnected(() => feed.read());
    return feed;
  }

  /** Reads the requests after the last one seen (one read at a time; a notification during one reads again after). */
  read(): void {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#readOnce()
      .catch(() => {
        // Away: read again on the next connection.
      })
      .finally(() => {
        this.#reading = undefined;
        if (this.#again) {
          this.#again = false;
          this.read();
        }
      });
  }

  async #readOnce(): Promise<void> {
    const res = await this.conn.query<{ id: string; request: unknown }>(
      'select id::text as id, request from cutover.control where run = $1 and id > $2 order by id',
      [this.run, this.#lastId],
    );
    const requests: ControlRequest[] = [];
    for (const row of res.rows) {
      this.#lastId = Math.max(this.#lastId, Number(row.id));
      const request = parseRequest(JSON.stringify(row.request));
      if (request) requests.push(request);
    }
    if (requests.length) this.watcher.deliver(requests);
  }

  /** Waits for a read in progress (tests, and the end of a run). */
  async settled(): Promise<void> {
    while (this.#reading) await this.#reading;
  }

  stop(): void {
    this.#stopped = true;
  }
}

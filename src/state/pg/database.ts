/**
 * The shared state in PostgreSQL (`--state postgres://…`): how cutover connects, names the
 * database in messages (never its password), and says it cannot reach it. node-postgres (`pg`)
 * reads PGPASSWORD and ~/.pgpass like psql does, so the URL need not hold a password.
 */
import pg from 'pg';
import { CutoverError, ExitCode } from '../../errors.js';

/** The shared state could not be reached, or its schema is not the one this cutover knows. Nothing was run. */
export class StateUnavailableError extends CutoverError {
  readonly exitCode = ExitCode.stateUnavailable;
}

/** Whether a `--state` value names PostgreSQL. Example: `isPostgresUrl('postgres://db/cutover')` -> true. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/**
 * The URL as messages show it: the password replaced, the rest kept so the operator sees which
 * database. Example: `shownUrl('postgres://bob:s3cret@db:5432/cutover')` -> 'postgres://bob:***@db:5432/cutover'.
 */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()])
      if (/pass|secret|key/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** A connected client; `end()` it when done. Example: `const db = await connect(url); await db.query('select 1'); await db.end();`. */
export async function connect(url: string, opts: { connectTimeoutMs?: number } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    application_name: 'cutover',
  });
  // A connection dropped later (server restarted) must not crash the process: callers see the
  // failure on their next query and reconnect.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw new StateUnavailableError(
      `cannot reach the shared state ${shownUrl(url)}: ${reason(e)}`,
      'Nothing was run. Check that the database is up and reachable (psql with the same URL), or leave out --state / CUTOVER_STATE_URL to journal in the local state folder only.',
    );
  }
  return client;
}

/** A short reason from a driver or network error. Example: `reason(new Error('connect ECONNREFUSED 127.0.0.1:5432'))`. */
export function reason(e: unknown): string {
  const err = e as { message?: string; code?: string };
  const text = err?.message || err?.code || String(e);
  return text.replace(/postgres(ql)?:\/\/\S+/gi, (u) => shownUrl(u));
}

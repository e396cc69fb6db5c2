/**
 * The shared state's schema, versioned: migration N takes the schema from version N-1 to N, and
 * `cutover state migrate` applies the ones a database lacks, each in its own transaction, under an
 * advisory lock so two operators migrating at once do not collide. Every run checks the version at
 * start: an older schema asks for `cutover state migrate`, a newer one (a newer cutover migrated it)
 * is refused with a clear error, never a crash halfway through a run. Everything lives in the
 * `cutover` schema, away from whatever else the database holds.
 */
import type pg from 'pg';
import { StateUnavailableError, shownUrl } from './database.js';

/** One migration: the SQL that takes the schema to `version`. */
interface Migration {
  version: number;
  what: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'runs, their events, uploaded files, cluster leases and control requests',
    sql: `
create table cutover.runs (
  run         text primary key,
  cluster     text not null,
  runbook     text not null,
  operator    text not null,
  controller  text not null,
  params      jsonb not null default '{}',
  hosts       text[] not null default '{}',
  started_at  timestamptz not null,
  finished_at timestamptz,
  outcome     text,
  last_seq    integer not null default 0
);
create index runs_started on cutover.runs (started_at);
create index runs_hosts on cutover.runs using gin (hosts);
-- One row per journal event; (run, seq) makes a retried append a no-op and a gap visible.
create table cutover.events (
  run    text not null references cutover.runs (run) on delete cascade,
  seq    integer not null check (seq >= 1),
  at     timestamptz not null,
  type   text not null,
  host   text,
  body   json not null, -- json, not jsonb: the event's text as journaled (key order kept)
  digest text not null,
  primary key (run, seq)
);
create index events_host on cutover.events (host, at) where host is not null;
-- Uploaded controller files, so another controller can resume or roll back the run.
create table cutover.run_files (
  run     text not null references cutover.runs (run) on delete cascade,
  sha256  text not null,
  content bytea not null,
  primary key (run, sha256)
);
-- Which controller runs which cluster now: renewed while the run lives.
create table cutover.leases (
  cluster     text primary key,
  run         text not null,
  operator    text not null,
  controller  text not null,
  pid         integer not null,
  acquired_at timestamptz not null,
  renewed_at  timestamptz not null,
  expires_at  timestamptz not null
);
-- Requests to a running controller from any dashboard: gate decisions and aborts.
create table cutover.control (
  id      bigserial primary key,
  run     text not null,
  request jsonb not null,
  at      timestamptz not null default now()
);
create index control_run on cutover.control (run, id);
`,
  },
];

/** The schema version this cutover knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The version a database is at (0: never migrated). Example: `await schemaVersion(db)` -> 1. */
export async function schemaVersion(db: pg.Client): Promise<number> {
  const exists = await db.query(`select to_regclass('cutover.schema_version') is not null as present`);
  if (!exists.rows[0]?.present) return 0;
  const res = await db.query('select coalesce(max(version), 0) as version from cutover.schema_version');
  return Number(res.rows[0]?.version ?? 0);
}

/**
 * Applies every migration the database lacks; returns what it applied. Safe to run twice and from
 * two terminals at once. Example: `await migrate(db)` -> [{ version: 1, what: '…' }].
 */
export async function migrate(db: pg.Client, url: string): Promise<Migration[]> {
  const applied: Migration[] = [];
  await db.query('select pg_advisory_lock(hashtext($1))', ['cutover.migrate']);
  try {
    await db.query('create schema if not exists cutover');
    await db.query(
      'create table if not exists cutover.schema_version (version integer primary key, applied_at timestamptz not null default now())',
    );
    const current = await schemaVersion(db);
    if (current > SCHEMA_VERSION) throw newerSchema(current, url);
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await db.query('begin');
      try {
        await db.query(m.sql);
        await db.query('insert into cutover.schema_version (version) values ($1)', [m.version]);
        await db.query('commit');
      } catch (e) {
        await db.query('rollback');
        throw e;
      }
      applied.push(m);
    }
  } finally {
    await db.query('select pg_advisory_unlock(hashtext($1))', ['cutover.migrate']).catch(() => {});
  }
  return applied;
}

/** Refuses a database whose schema is not this cutover's. Example: `await requireSchema(db, url)`. */
export async function requireSchema(db: pg.Client, url: string): Promise<void> {
  const version = await schemaVersion(db);
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) throw newerSchema(version, url);
  throw new StateUnavailableError(
    version === 0
      ? `the shared state ${shownUrl(url)} has no cutover schema yet`
      : `the shared state ${shownUrl(url)} is at schema version ${version}; this cutover needs ${SCHEMA_VERSION}`,
    `Nothing was run. Apply the migrations once: cutover state migrate --state ${shownUrl(url)}`,
  );
}

function newerSchema(version: number, url: string): StateUnavailableError {
  return new StateUnavailableError(
    `the shared state ${shownUrl(url)} is at schema version ${version}, newer than this cutover knows (${SCHEMA_VERSION}): a newer cutover migrated it`,
    'Nothing was run. Use that newer cutover (or one at least as new) on this controller.',
  );
}

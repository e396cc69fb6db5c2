/**
 * `cutover state migrate|status|push`: the shared state's own commands. `migrate` applies the
 * schema migrations this cutover knows (once per database; safe to repeat); `status` says where
 * the database is and what it holds; `push` sends runs of this state folder that are not (fully)
 * in the shared state — after a run that ended while the database was away, or runs from before
 * the team had one.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { StateConnection } from '../state/pg/connection.js';
import { shownUrl } from '../state/pg/database.js';
import { JournalMirror } from '../state/pg/mirror.js';
import { openSharedState } from '../state/pg/open.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from '../state/pg/schema.js';
import { type GlobalOptions, openJournal, stateDir, stateUrl } from './state.js';

function requireUrl(global: GlobalOptions, command: string): string {
  const url = stateUrl(global);
  if (!url)
    throw new UsageError(
      `cutover state ${command} needs a shared state`,
      'Pass --state postgres://user@host/database (or set $CUTOVER_STATE_URL, or `state:` in cutover.config.yml).',
    );
  return url;
}

export function registerStateCommands(program: Command): void {
  const state = program
    .command('state')
    .description(
      'the shared state in PostgreSQL (--state): migrate its schema, see what it holds, push local runs',
    );

  state
    .command('migrate')
    .description(
      `apply the schema migrations the database lacks (this cutover's schema is version ${SCHEMA_VERSION})`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const url = requireUrl(cmd.optsWithGlobals() as GlobalOptions, 'migrate');
      const conn = await StateConnection.open(url);
      try {
        const applied = await migrate(await conn.client(), url);
        process.stdout.write(
          applied.length
            ? applied.map((m) => `applied migration ${m.version}: ${m.what}\n`).join('') +
                `${shownUrl(url)} is at schema version ${SCHEMA_VERSION}\n`
            : `${shownUrl(url)} is at schema version ${SCHEMA_VERSION} already: nothing to do\n`,
        );
      } finally {
        await conn.close();
      }
    });

  state
    .command('status')
    .description('the shared state: schema version, runs, live leases')
    .action(async (_opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const url = requireUrl(global, 'status');
      const conn = await StateConnection.open(url);
      try {
        const version = await schemaVersion(await conn.client());
        const lines = [`${shownUrl(url)}: schema version ${version} (this cutover: ${SCHEMA_VERSION})`];
        if (version === SCHEMA_VERSION) {
          const runs = await conn.query<{ n: number; open: number }>(
            'select count(*)::int as n, count(*) filter (where finished_at is null)::int as open from cutover.runs',
          );
          const leases = await conn.query<{
            cluster: string;
            run: string;
            operator: string;
            controller: string;
          }>(
            'select cluster, run, operator, controller from cutover.leases where expires_at > now() order by cluster',
          );
          lines.push(`  ${runs.rows[0]?.n ?? 0} runs (${runs.rows[0]?.open ?? 0} not finished)`);
          for (const l of leases.rows)
            lines.push(`  cluster ${l.cluster}: run ${l.run} by ${l.operator} on ${l.controller} (live)`);
        } else if (version < SCHEMA_VERSION)
          lines.push('  run `cutover state migrate` to bring it up to date');
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await conn.close();
      }
    });

  state
    .command('push [runs...]')
    .description(
      'send runs of this state folder (default: all) to the shared state: the events it lacks and the uploaded files',
    )
    .action(async (runs: string[], _opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const conn = await openSharedState(requireUrl(global, 'push'));
      const journal = openJournal(global);
      const notices: string[] = [];
      const mirror = new JournalMirror(conn, (t) => notices.push(t));
      try {
        const ids = runs.length ? runs : journal.listRuns();
        for (const id of ids) {
          if (journal.read(id).length === 0)
            throw new UsageError(`no run ${id} in ${stateDir(global)}`, 'List them with `cutover runs`.');
          mirror.track(id, journal);
        }
        const unsent = await mirror.flush(60_000);
        for (const n of notices) process.stderr.write(`cutover: ${n}\n`);
        if (notices.some((n) => n.includes('another controller wrote this run'))) process.exitCode = 1;
        if (unsent > 0) {
          process.exitCode = 1;
          process.stderr.write(
            `cutover: ${unsent} event(s) could not be sent to ${shownUrl(conn.url)}; try again\n`,
          );
          return;
        }
        process.stdout.write(`${ids.length} run(s) of ${stateDir(global)} are in ${shownUrl(conn.url)}\n`);
      } finally {
        mirror.close();
        journal.close();
        await conn.close();
      }
    });
}

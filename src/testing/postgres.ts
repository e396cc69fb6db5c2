/**
 * A real PostgreSQL server for tests, from Debian's `postgresql` package (installed by
 * scripts/prerequisites.sh test): initdb in a temporary folder, pg_ctl start on 127.0.0.1 and a
 * free port, trust authentication for the `cutover` role. As root the server runs as the
 * `postgres` user (PostgreSQL refuses root). `kill()` stops it the hard way (immediate shutdown, as
 * a crash) and `start()` brings it back on the same port with the same data.
 * Example: `const pg = await startPostgres(); … pg.url …; await pg.destroy();`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { connect } from '../state/pg/database.js';
import { migrate } from '../state/pg/schema.js';

export interface TestPostgres {
  /** `postgres://cutover@127.0.0.1:PORT/cutover` */
  url: string;
  port: number;
  /** Immediate shutdown: what a crash or a killed server looks like to clients. */
  kill(): void;
  start(): void;
  /** Whether it is up (false after kill, until start). */
  readonly running: boolean;
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new Error(
      'PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb): run `sh scripts/prerequisites.sh test` as root',
    );
  return join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A server whose database already has cutover's schema (what `cutover state migrate` makes). */
export async function startMigratedPostgres(): Promise<TestPostgres> {
  const server = await startPostgres();
  const db = await connect(server.url);
  try {
    await migrate(db, server.url);
  } finally {
    await db.end();
  }
  return server;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'cutover-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  const ids = asRoot ? postgresIds() : undefined;
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const run = (cmd: string, args: string[]) => {
    const res = spawnSync(join(bin, cmd), args, {
      cwd: dir,
      encoding: 'utf8',
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    if (res.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}): ${res.stderr || res.stdout}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'cutover', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const start = () =>
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-h 127.0.0.1 -p ${port} -k ${dir} -c max_connections=50`,
      'start',
    ]);
  start();
  run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'cutover', 'cutover']);
  let running = true;
  return {
    url: `postgres://cutover@127.0.0.1:${port}/cutover`,
    port,
    kill() {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    start() {
      start();
      running = true;
    },
    get running() {
      return running;
    },
    async destroy() {
      if (running) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresIds(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'no postgres user: Debian’s postgresql package creates it; run `sh scripts/prerequisites.sh test` as root',
    );
  }
}

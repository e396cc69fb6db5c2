import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { sudoHandshake, sudoStart } from './become.js';
import { TransportError } from './errors.js';
import type { ShellLauncher, ShellOptions } from './protocol.js';
import { ShellSession } from './session.js';
import type { HostAddress, Session, Transport } from './transport.js';

/** Options of the local transport. Example: `new LocalTransport({ killGraceMs: 500 })`. */
export interface LocalTransportOptions extends ShellOptions {
  /** Folder commands start in (and relative put/get paths resolve against). Default: the home folder, as over ssh. */
  cwd?: string;
}

/**
 * Runs commands on the controller itself with the same framed-sh protocol as ssh (a local
 * `/bin/sh` driver), and copies files with the local filesystem (temp file beside the target,
 * fsync, sha256, rename). Example: `const s = await new LocalTransport().connect({ name: 'ctl', address: 'localhost' })`.
 */
export class LocalTransport implements Transport {
  readonly #sessions = new Set<LocalSession>();
  constructor(private readonly options: LocalTransportOptions = {}) {}

  async connect(host: HostAddress): Promise<Session> {
    const cwd = this.options.cwd ?? homedir();
    const become = host.become;
    const where = `${host.name} (local${become ? `, as ${become.user}` : ''})`;
    const launcher: ShellLauncher = {
      host: host.name,
      where,
      spawn: async () => {
        // detached: the driver gets its own session, so a Ctrl-C meant for cutover does not reach
        // it or its commands directly; the engine decides what to kill.
        if (!become)
          return spawn('/bin/sh', [], {
            cwd,
            detached: true,
            stdio: 'pipe',
          }) as ChildProcessWithoutNullStreams;
        const start = sudoStart(become.user);
        const [cmd, ...args] = start.argv;
        const child = spawn(cmd as string, args, {
          cwd,
          detached: true,
          stdio: 'pipe',
        }) as ChildProcessWithoutNullStreams;
        child.stdin.on('error', () => {});
        await sudoHandshake(child, start, become, {
          host: host.name,
          where,
          timeoutMs: this.options.readyTimeoutMs ?? 30_000,
        });
        return child;
      },
      startFailed: (reason, stderr) =>
        new TransportError(
          `${where}: cannot start /bin/sh: ${reason}${stderr ? `: ${stderr.trim()}` : ''}`,
          'Check that /bin/sh and setsid exist on the controller.',
          { host: host.name, stderr },
        ),
    };
    const session = new LocalSession(launcher, this.options, cwd, become !== undefined);
    await session.open();
    this.#sessions.add(session);
    session.onClose = () => this.#sessions.delete(session);
    return session;
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.close()));
  }
}

class LocalSession extends ShellSession {
  onClose: (() => void) | undefined;
  constructor(
    launcher: ShellLauncher,
    options: ShellOptions,
    private readonly cwd: string,
    private readonly become: boolean,
  ) {
    super(launcher, options);
  }

  /** Files are copied by the controller's own process: under become they would be the wrong user's. */
  #refuseUnderBecome(what: string, path: string): void {
    if (this.become)
      throw new TransportError(
        `${this.launcher.where}: ${what} ${path}: copying files on a local host with become is not supported`,
        'Run cutover as the user that should own the file, or use an ssh host for this step.',
        { host: this.host },
      );
  }

  async put(data: Buffer, remotePath: string, opts: { mode?: string } = {}): Promise<{ sha256: string }> {
    const target = resolve(this.cwd, remotePath);
    this.#refuseUnderBecome('put', target);
    const mode = parseMode(opts.mode, { host: this.host, where: this.launcher.where, path: target });
    const want = sha256(data);
    const tmp = join(dirname(target), `.${basename(target)}.cutover-${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const got = sha256(await readFile(tmp));
      if (got !== want) {
        throw new TransportError(
          `${this.launcher.where}: put ${target}: the written file has sha256 ${got}, expected ${want} (${data.length} bytes); ${target} was not changed`,
          'Check the disk (full, failing) and run again.',
          { host: this.host },
        );
      }
      const existing = await stat(target).catch(() => undefined);
      if (mode !== undefined) await chmod(tmp, mode);
      else if (existing) await chmod(tmp, existing.mode & 0o7777);
      else await chmod(tmp, 0o666 & ~currentUmask());
      if (existing) await chown(tmp, existing.uid, existing.gid).catch(() => {});
      await rename(tmp, target);
      await syncDir(dirname(target));
      return { sha256: got };
    } catch (e) {
      await rm(tmp, { force: true });
      if (e instanceof TransportError) throw e;
      throw new TransportError(
        `${this.launcher.where}: put ${target}: ${(e as Error).message}; ${target} was not changed`,
        'Check that the folder exists and is writable, then run again.',
        { host: this.host },
      );
    }
  }

  async get(remotePath: string): Promise<Buffer> {
    const target = resolve(this.cwd, remotePath);
    this.#refuseUnderBecome('get', target);
    try {
      return await readFile(target);
    } catch (e) {
      throw new TransportError(
        `${this.launcher.where}: get ${target}: ${(e as Error).message}`,
        'Check the path and its permissions.',
        { host: this.host },
      );
    }
  }

  override async close(): Promise<void> {
    this.onClose?.();
    await super.close();
  }
}

/** Parses an octal mode; other forms are refused so ssh and local behave the same. Example: parseMode('0644', at) -> 0o644. */
export function parseMode(
  mode: string | undefined,
  at: { host: string; where: string; path: string },
): number | undefined {
  if (mode === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(mode)) {
    throw new TransportError(
      `${at.where}: put ${at.path}: mode "${mode}" is not an octal mode`,
      'Write the mode as 3 or 4 octal digits, like 0644 or 755.',
      { host: at.host },
    );
  }
  return Number.parseInt(mode, 8);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function currentUmask(): number {
  // Reading the umask without changing it (also allowed in worker threads).
  return process.umask();
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

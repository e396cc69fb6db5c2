import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { sh } from '../shell/command.js';
import { commandLine, sudoHandshake, sudoStart } from './become.js';
import { stderrTail, TransportError } from './errors.js';
import { parseMode } from './local.js';
import type { ShellLauncher, ShellOptions } from './protocol.js';
import { ShellSession } from './session.js';
import { Master } from './ssh-master.js';
import type { HostAddress, Session, Transport } from './transport.js';

/** Options of the OpenSSH transport. Example: `new SshTransport({ connectTimeoutSec: 10 })`. */
export interface SshTransportOptions extends ShellOptions {
  /** The OpenSSH client. Default `ssh` from PATH. */
  sshBinary?: string;
  /** TCP connect timeout used when neither ~/.ssh/config nor the inventory sets ConnectTimeout. Default 15 s. */
  connectTimeoutSec?: number;
  /** Where the private control-socket folder is made. Default the system temp folder (or /tmp when that path is long). */
  controlParent?: string;
  /** The operator's ssh config file (`ssh -F`). Default: ssh's own, `~/.ssh/config` then `/etc/ssh/ssh_config`. */
  configFile?: string;
  /**
   * `-vvv`: OpenSSH's own `-v` on each host's master and sessions, its lines handed here (the CLI
   * writes them to stderr). Session debug goes through a descriptor of its own (`-E /dev/fd/3`), so it
   * never mixes with a command's output. Example: `{ debug: (line) => process.stderr.write(`${line}\n`) }`.
   */
  debug?: (line: string) => void;
}

/**
 * Runs commands over the system OpenSSH client: one ControlMaster per host (socket in a private
 * 0700 folder), which is also the host's first session (ssh-master.ts), and per session one
 * long-lived remote `/bin/sh` speaking the framed protocol (see protocol.ts), so no login shell or
 * rc file runs per command. Honours ~/.ssh/config, the agent, ProxyJump and known_hosts; BatchMode, so a
 * missing key fails at once. Example:
 * `const t = new SshTransport(); const s = await t.connect({ name: 'web', address: '10.0.0.10', user: 'root' }); await s.exec('uptime'); await t.close();`
 */
export class SshTransport implements Transport {
  readonly #options: SshTransportOptions;
  readonly #ssh: string;
  readonly #masters = new Map<string, Promise<Master>>();
  readonly #sessions = new Set<SshSession>();
  /** Sessions open or opening per master (see masterKey). */
  readonly #users = new Map<string, number>();
  readonly #stopping = new Set<Promise<unknown>>();
  #dir: Promise<string> | undefined;
  #dirPath: string | undefined;
  #count = 0;
  #closed = false;

  constructor(options: SshTransportOptions = {}) {
    this.#options = options;
    this.#ssh = options.sshBinary ?? 'ssh';
  }

  /** The private folder holding the control sockets (undefined until the first connect). For diagnostics and tests. */
  get controlDir(): string | undefined {
    return this.#dirPath;
  }

  async connect(host: HostAddress): Promise<Session> {
    if (this.#closed) throw new Error('SshTransport.connect after close(): create a new transport');
    checkAddress(host);
    const key = masterKey(host);
    // Counted before the master starts, so a session closing meanwhile does not stop it under us.
    this.#users.set(key, (this.#users.get(key) ?? 0) + 1);
    let session: SshSession | undefined;
    try {
      const master = await this.#masterFor(host);
      let left = false;
      const opened = new SshSession(master, host, this.#options, () => {
        this.#sessions.delete(opened);
        if (!left) this.#leave(key);
        left = true;
      });
      session = opened;
      await opened.open();
    } catch (e) {
      // The session never opened: its close (if any) must not count it twice.
      if (session === undefined) this.#leave(key);
      else await session.close();
      throw e;
    }
    if (this.#closed) {
      // close() ran while this session was starting: do not leak it.
      await session.close();
      throw new Error(`${host.name}: the transport was closed while connecting`);
    }
    this.#sessions.add(session);
    return session;
  }

  /**
   * A session of the master `key` ended: the last one stops the master, so a run that closes a
   * finished host's session holds no ssh process for it any more (a later connect starts a new one).
   */
  #leave(key: string): void {
    const left = (this.#users.get(key) ?? 1) - 1;
    if (left > 0) {
      this.#users.set(key, left);
      return;
    }
    this.#users.delete(key);
    const master = this.#masters.get(key);
    if (!master || this.#closed) return;
    this.#masters.delete(key);
    this.#stopping.add(
      master
        .then((m) => m.stop())
        .catch(() => undefined)
        .finally(() => this.#stopping.delete(master)),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const sessions = [...this.#sessions];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.close()));
    const masters = [...this.#masters.values()];
    this.#masters.clear();
    await Promise.all(masters.map(async (m) => (await m.catch(() => undefined))?.stop()));
    await Promise.all([...this.#stopping]);
    const dir = this.#dir ? await this.#dir.catch(() => undefined) : undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  #masterFor(host: HostAddress): Promise<Master> {
    const key = masterKey(host);
    let master = this.#masters.get(key);
    if (!master) {
      master = this.#newMaster(host);
      master.catch(() => this.#masters.delete(key));
      this.#masters.set(key, master);
    }
    return master;
  }

  /** A master that has not logged in yet: the first session's spawn starts it (ssh-master.ts). */
  async #newMaster(host: HostAddress): Promise<Master> {
    const dir = await this.#controlDir();
    const id = String(this.#count++);
    return new Master(this.#ssh, host, join(dir, id), join(dir, `${id}.log`), this.#options);
  }

  #controlDir(): Promise<string> {
    this.#dir ??= (async () => {
      let parent = this.#options.controlParent ?? tmpdir();
      // Socket paths are limited (~104 bytes) and ssh adds a 17-byte suffix while binding.
      if (parent.length > 40 || /[\s%]/.test(parent)) parent = '/tmp';
      const dir = await mkdtemp(join(parent, 'co-'));
      this.#dirPath = dir;
      return dir;
    })();
    return this.#dir;
  }
}

/** One master per address, port, user and ssh options. */
function masterKey(host: HostAddress): string {
  return JSON.stringify([host.address, host.port, host.user, Object.entries(host.sshOptions ?? {}).sort()]);
}

/** Refuses addresses and options that ssh would read as something else (e.g. an address starting with "-"). */
function checkAddress(host: HostAddress): void {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_.:[\]%-]+$/.test(host.address) || host.address.startsWith('-')) {
    problems.push(`address "${host.address}" is not a host name or IP address`);
  }
  if (host.user !== undefined && (!/^[A-Za-z0-9_.@-]+$/.test(host.user) || host.user.startsWith('-'))) {
    problems.push(`user "${host.user}" is not a valid user name`);
  }
  if (host.port !== undefined && !(Number.isInteger(host.port) && host.port > 0 && host.port < 65536)) {
    problems.push(`port ${host.port} is not between 1 and 65535`);
  }
  for (const [k, v] of Object.entries(host.sshOptions ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(k))
      problems.push(`ssh option name "${k}" is not an ssh_config keyword`);
    if (/[\r\n\0]/.test(v)) problems.push(`ssh option ${k} contains a line break`);
  }
  if (problems.length > 0) {
    throw new TransportError(`${host.name}: ${problems.join('; ')}`, 'Fix the host in the inventory.', {
      host: host.name,
    });
  }
}

class SshSession extends ShellSession {
  readonly #master: Master;
  readonly #onClose: () => void;

  constructor(master: Master, address: HostAddress, options: ShellOptions, onClose: () => void) {
    const become = address.become;
    // Whether the latest spawn started the master (a failure then is a failed login).
    let startedMaster = false;
    const launcher: ShellLauncher = {
      host: master.host.name,
      get where() {
        return become ? `${master.where} as ${become.user}` : master.where;
      },
      spawn: async () => {
        // The remote login shell parses this one line once; from then on only /bin/sh runs.
        if (!become) {
          const child = await master.spawn('exec /bin/sh');
          startedMaster = master.isMaster(child);
          return child;
        }
        const start = sudoStart(become.user);
        const child = await master.spawn(commandLine(start.argv));
        startedMaster = master.isMaster(child);
        child.stdin.on('error', () => {});
        await sudoHandshake(child, start, become, {
          host: master.host.name,
          where: master.where,
          timeoutMs: options.readyTimeoutMs ?? 30_000,
        });
        return child;
      },
      startFailed: (reason, stderr) =>
        master.connectError(startedMaster ? 'cannot connect' : `cannot start a shell (${reason})`, stderr),
      ready: (child) => master.ready(child),
      // The master lives on for the host's other sessions; the transport stops it with the last.
      handsOver: (child) => master.isMaster(child),
    };
    super(launcher, options);
    this.#master = master;
    this.#onClose = onClose;
    this.#become = become !== undefined;
  }

  readonly #become: boolean;

  /**
   * Streams the bytes over a separate channel into a temp file beside the target, then (over the
   * session) checks the host's sha256 against ours, sets mode and owner, and renames it into place.
   */
  async put(data: Buffer, remotePath: string, opts: { mode?: string } = {}): Promise<{ sha256: string }> {
    const where = this.launcher.where;
    parseMode(opts.mode, { host: this.host, where, path: remotePath });
    const want = sha256(data);
    const tmp = posix.join(
      posix.dirname(remotePath),
      `.${posix.basename(remotePath)}.cutover-${randomBytes(6).toString('hex')}.tmp`,
    );
    // Under sudo a copy channel would write as the login user: the bytes go through the session's
    // own shell instead (base64 on stdin), so the target user writes them.
    const upload = this.#become
      ? await this.#throughSession(
          sh`umask 077 && base64 -d > ${tmp}`.render('exec'),
          data.toString('base64'),
        )
      : await this.#channel(
          sh`exec /bin/sh -c ${'umask 077 && exec cat > "$1"'} sh ${tmp}`.render('exec'),
          data,
        );
    if (upload.code !== 0) {
      await this.exec(sh`rm -f -- ${tmp}`.render('exec')).catch(() => undefined);
      if (upload.code === 255)
        throw this.#master.connectError(`put ${remotePath}: the copy channel failed`, upload.stderr);
      throw new TransportError(
        `${where}: put ${remotePath}: cannot write the temp file ${tmp}: ${stderrTail(upload.stderr, 3)}; ${remotePath} was not changed`,
        `Check that the folder ${posix.dirname(remotePath)} exists on the host and is writable by the ssh user.`,
        { host: this.host, stderr: stderrTail(upload.stderr) },
      );
    }
    const res = await this.exec(finalizePut(tmp, remotePath, want, opts.mode ?? '').render('exec'));
    const got = res.stdout.split('\n')[0]?.trim() ?? '';
    if (res.code === 3) {
      throw new TransportError(
        `${where}: put ${remotePath}: the host computed sha256 ${got || '(none)'} but cutover sent ${want} (${data.length} bytes); the temp file was removed and ${remotePath} was not changed`,
        'Run again; if it repeats, check the disk on the host (full, failing) and the network.',
        { host: this.host },
      );
    }
    if (res.code !== 0) {
      throw new TransportError(
        `${where}: put ${remotePath}: cannot move the verified file into place (exit ${res.code}): ${stderrTail(res.stderr, 3)}; ${remotePath} was not changed`,
        'Check the target path (not a folder), its permissions, and that sha256sum and stat exist on the host.',
        { host: this.host, stderr: stderrTail(res.stderr) },
      );
    }
    return { sha256: got };
  }

  /** Asks the host for the file's sha256 (over the session), reads it over a channel, and compares. */
  async get(remotePath: string): Promise<Buffer> {
    const where = this.launcher.where;
    const hashed = await this.exec(
      sh`if [ -d ${remotePath} ]; then echo 'is a directory' >&2; exit 2; fi
h=$(sha256sum < ${remotePath}) || exit 2
set -- $h
echo "$1"`.render('exec'),
    );
    if (hashed.code !== 0) {
      throw new TransportError(
        `${where}: get ${remotePath}: ${stderrTail(hashed.stderr, 3) || `exit ${hashed.code}`}`,
        'Check the path and that the ssh user may read it.',
        { host: this.host, stderr: stderrTail(hashed.stderr) },
      );
    }
    const hostHash = hashed.stdout.trim();
    if (this.#become) {
      const read = await this.exec(sh`base64 < ${remotePath}`.render('exec'));
      const data = Buffer.from(read.stdout.replace(/\s+/g, ''), 'base64');
      if (read.code !== 0 || sha256(data) !== hostHash) {
        throw new TransportError(
          `${where}: get ${remotePath}: ${read.code !== 0 ? `cannot read the file (exit ${read.code}): ${stderrTail(read.stderr, 3)}` : `received ${data.length} bytes with sha256 ${sha256(data)}, but the host computed ${hostHash}`}`,
          'Check the path and that the user may read it (and that base64 is installed on the host); run again.',
          { host: this.host, stderr: stderrTail(read.stderr) },
        );
      }
      return data;
    }
    // rc files of the login shell may print before the file: a random mark says where it starts.
    const mark = `CUTOVER-GET-${randomBytes(12).toString('hex')}:`;
    const read = await this.#channel(
      sh`exec /bin/sh -c ${'printf %s "$1" && exec cat -- "$2"'} sh ${mark} ${remotePath}`.render('exec'),
    );
    if (read.code === 255)
      throw this.#master.connectError(`get ${remotePath}: the copy channel failed`, read.stderr);
    const at = read.stdout.indexOf(mark);
    if (read.code !== 0 || at < 0) {
      throw new TransportError(
        `${where}: get ${remotePath}: cannot read the file (exit ${read.code}): ${stderrTail(read.stderr, 3)}`,
        'Check the path and that the ssh user may read it.',
        { host: this.host, stderr: stderrTail(read.stderr) },
      );
    }
    const data = read.stdout.subarray(at + mark.length);
    const got = sha256(data);
    if (got !== hostHash) {
      throw new TransportError(
        `${where}: get ${remotePath}: received ${data.length} bytes with sha256 ${got}, but the host computed ${hostHash}`,
        'The file may have changed while it was read, or the transfer was damaged; run again.',
        { host: this.host },
      );
    }
    return data;
  }

  override async close(): Promise<void> {
    // The shell first (a running command is killed through it), then the master may stop.
    await super.close();
    this.#onClose();
  }

  /** One command over the session's own shell (as the become user), with text on its stdin. */
  async #throughSession(
    script: string,
    stdin: string,
  ): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const res = await this.exec(script, { stdin });
    return { code: res.code, stdout: Buffer.from(res.stdout), stderr: res.stderr };
  }

  /** One command over a fresh channel of the master (through the login shell), with its stdin. */
  #channel(
    remoteCommand: string,
    input?: Buffer,
  ): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    return run(this.#master.ssh, this.#master.commandArgs(remoteCommand), input);
  }
}

/** Checks the uploaded temp file's sha256 on the host, sets mode/owner, renames it over the target. */
function finalizePut(tmp: string, target: string, want: string, mode: string) {
  return sh`t=${tmp}; d=${target}; m=${mode}
if ! command -v sha256sum >/dev/null 2>&1; then rm -f -- "$t"; echo 'sha256sum is not installed on the host' >&2; exit 5; fi
h=$(sha256sum < "$t") || { rm -f -- "$t"; exit 5; }
set -- $h
echo "$1"
if [ "$1" != ${want} ]; then rm -f -- "$t"; exit 3; fi
if [ -d "$d" ]; then rm -f -- "$t"; echo "$d is a folder" >&2; exit 4; fi
if [ -n "$m" ]; then chmod "$m" "$t"
elif [ -e "$d" ]; then chmod "$(stat -c %a -- "$d")" "$t"
else chmod "$(printf '%o' "$(( 0666 & ~0$(umask) ))")" "$t"
fi || { rm -f -- "$t"; exit 4; }
if [ -e "$d" ]; then chown "$(stat -c %u:%g -- "$d")" "$t" 2>/dev/null || true; fi
mv -f -- "$t" "$d" || { rm -f -- "$t"; exit 4; }`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs a helper process to the end (10 min at most), feeding `input`; rejects only when it cannot start. */
function run(
  cmd: string,
  args: string[],
  input?: Buffer,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(input);
  });
}

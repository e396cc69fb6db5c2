import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { sh } from '../shell/command.js';
import { commandLine, sudoHandshake, sudoStart } from './become.js';
import { stderrTail, TransportError } from './errors.js';
import { parseMode } from './local.js';
import type { ShellLauncher, ShellOptions } from './protocol.js';
import { ShellSession } from './session.js';
import { sshArgsFor } from './ssh-config.js';
import type { HostAddress, Session, Transport } from './transport.js';

/** Options of the OpenSSH transport. Example: `new SshTransport({ connectTimeoutSec: 10 })`. */
export interface SshTransportOptions extends ShellOptions {
  /** The OpenSSH client. Default `ssh` from PATH. */
  sshBinary?: string;
  /** TCP connect timeout used when neither ~/.ssh/config nor the inventory sets ConnectTimeout. Default 15 s. */
  connectTimeoutSec?: number;
  /** How long a master outlives its last session if cutover dies without close(). Default 60 s. */
  controlPersistSec?: number;
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

/** What `ssh -G` resolved for a host: the real hostname, port and user after ~/.ssh/config. */
interface Target {
  hostname: string;
  port: string;
  user: string;
  connectTimeout: string;
}

/**
 * Runs commands over the system OpenSSH client: one ControlMaster per host (socket in a private
 * 0700 folder, started once, closed by `close()`), and per session one long-lived remote
 * `/bin/sh` speaking the framed protocol (see protocol.ts), so no login shell or rc file runs
 * per command. Honours ~/.ssh/config, the agent, ProxyJump and known_hosts; BatchMode, so a
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
      master = this.#startMaster(host);
      // A failed start is not cached: the next connect tries again.
      master.catch(() => this.#masters.delete(key));
      this.#masters.set(key, master);
    }
    return master;
  }

  async #startMaster(host: HostAddress): Promise<Master> {
    const dir = await this.#controlDir();
    const id = String(this.#count++);
    const master = new Master(this.#ssh, host, join(dir, id), join(dir, `${id}.log`), this.#options);
    await master.start();
    return master;
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

/** One ControlMaster: a background `ssh -M -N -f` whose socket every session and copy of the host reuses. */
class Master {
  readonly host: HostAddress;
  #pid: number | undefined;
  #target: Target | undefined;
  #restarting: Promise<void> | undefined;

  constructor(
    readonly ssh: string,
    host: HostAddress,
    readonly controlPath: string,
    readonly logPath: string,
    readonly options: SshTransportOptions,
  ) {
    this.host = host;
  }

  /** `web (root@10.0.0.10:22)`: the inventory name and where ssh really connects. */
  get where(): string {
    const t = this.#target;
    return t
      ? `${this.host.name} (${t.user}@${t.hostname}:${t.port})`
      : `${this.host.name} (${this.host.address})`;
  }

  /** ssh options common to the master, the sessions and the copy channels. */
  args(): string[] {
    const h = this.host;
    const args = this.options.configFile ? ['-F', this.options.configFile] : [];
    args.push('-T', '-o', 'BatchMode=yes', '-o', `ControlPath=${this.controlPath}`);
    // A RemoteCommand or forwardings in ~/.ssh/config would break or disturb our channels.
    args.push('-o', 'RemoteCommand=none', '-o', 'ClearAllForwardings=yes', ...sshArgsFor(h));
    if (this.#target?.connectTimeout === 'none') {
      args.push('-o', `ConnectTimeout=${this.options.connectTimeoutSec ?? 15}`);
    }
    return args;
  }

  /** The ssh argv for a command on the host through this master. */
  commandArgs(remoteCommand: string): string[] {
    return [...this.args(), '-o', 'ControlMaster=no', '--', this.host.address, remoteCommand];
  }

  async start(): Promise<void> {
    this.#target = await this.#resolve();
    const log = openSync(this.logPath, 'w', 0o600);
    let exit: { code: number | null; error?: Error };
    try {
      // -f: the foreground process exits once authenticated and the socket listens, which is
      // exactly "connected"; the master lives on in the background. Its stderr goes to a file
      // because it keeps the descriptor after detaching.
      const child = spawn(
        this.ssh,
        [
          ...this.args(),
          ...(this.options.debug ? ['-v'] : []),
          '-o',
          'ControlMaster=yes',
          '-o',
          `ControlPersist=${this.options.controlPersistSec ?? 60}`,
          '-N',
          '-f',
          '--',
          this.host.address,
        ],
        { stdio: ['ignore', 'ignore', log] },
      );
      exit = await new Promise((resolve) => {
        child.once('error', (error) => resolve({ code: null, error }));
        child.once('exit', (code) => resolve({ code }));
      });
    } finally {
      closeSync(log);
    }
    const stderr = readFileSync(this.logPath, 'utf8');
    this.#debugLog(stderr);
    if (exit.error) throw sshMissing(this.host.name, this.ssh, exit.error);
    if (exit.code !== 0) throw this.connectError('cannot connect', stderr);
    const check = await run(this.ssh, ['-O', 'check', ...this.args(), '--', this.host.address]);
    const pid = /pid=(\d+)/.exec(check.stderr)?.[1];
    this.#pid = pid ? Number(pid) : undefined;
  }

  /** Before a reconnect: restart the master if it went away (a dead master makes ssh connect directly). */
  async ensure(): Promise<void> {
    this.#restarting ??= (async () => {
      const check = await run(this.ssh, ['-O', 'check', ...this.args(), '--', this.host.address]);
      if (check.code !== 0) {
        await rm(this.controlPath, { force: true });
        await this.start();
      }
    })().finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  /** With `debug`: the master's ssh -v lines written since the last call (its log file), prefixed with the host. */
  #debugLog(text?: string): void {
    const debug = this.options.debug;
    if (!debug) return;
    let all = text;
    if (all === undefined) {
      try {
        all = readFileSync(this.logPath, 'utf8');
      } catch {
        return;
      }
    }
    const fresh = all.slice(this.#debugSeen);
    this.#debugSeen = all.length;
    for (const line of fresh.split(/\r?\n/)) if (line) debug(`ssh ${this.host.name} (master): ${line}`);
  }
  #debugSeen = 0;

  /**
   * A session's ssh: with `debug`, `-v -E FILE` (ssh's log in a file of the control folder, never in the
   * session's stderr, which carries the commands' output), followed while the session lives.
   */
  sessionSpawn(remoteCommand: string): ChildProcessWithoutNullStreams {
    const debug = this.options.debug;
    if (!debug)
      return spawn(this.ssh, this.commandArgs(remoteCommand), {
        stdio: 'pipe',
      }) as ChildProcessWithoutNullStreams;
    const log = `${this.logPath}.${this.#sessions++}`;
    const child = spawn(
      this.ssh,
      [...this.args(), '-v', '-E', log, '-o', 'ControlMaster=no', '--', this.host.address, remoteCommand],
      { stdio: 'pipe' },
    ) as ChildProcessWithoutNullStreams;
    const stop = followLog(log, (line) => debug(`ssh ${this.host.name}: ${line}`));
    child.once('close', stop);
    return child;
  }
  #sessions = 0;

  /** `ssh -O exit`, then makes sure the master process is gone. */
  async stop(): Promise<void> {
    this.#debugLog();
    await run(this.ssh, ['-O', 'exit', ...this.args(), '--', this.host.address]);
    const pid = this.#pid;
    if (pid !== undefined) {
      if (!(await waitGone(pid, 3000))) {
        signal(pid, 'SIGTERM');
        if (!(await waitGone(pid, 2000))) signal(pid, 'SIGKILL');
      }
    }
    await rm(this.controlPath, { force: true });
  }

  async #resolve(): Promise<Target> {
    const res = await run(this.ssh, ['-G', ...this.args(), '--', this.host.address]).catch((e: Error) => {
      throw sshMissing(this.host.name, this.ssh, e);
    });
    if (res.code !== 0) {
      throw new TransportError(
        `${this.host.name} (${this.host.address}): ssh rejects the connection settings: ${stderrTail(res.stderr, 3)}`,
        "Fix the host's port, user or ssh options in the inventory (or ~/.ssh/config).",
        { host: this.host.name, stderr: stderrTail(res.stderr) },
      );
    }
    const conf = new Map<string, string>();
    for (const line of res.stdout.toString('utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0 && !conf.has(line.slice(0, sp))) conf.set(line.slice(0, sp), line.slice(sp + 1));
    }
    return {
      hostname: conf.get('hostname') ?? this.host.address,
      port: conf.get('port') ?? String(this.host.port ?? 22),
      user: conf.get('user') ?? this.host.user ?? '?',
      connectTimeout: conf.get('connecttimeout') ?? 'none',
    };
  }

  /** An error naming the host and address:port, with ssh's stderr and what to do about it. */
  connectError(what: string, stderr: string): TransportError {
    // ssh's host-key warning is a long banner: the message keeps its telling lines, `.stderr` all of it.
    const telling = stderr.split(/\r?\n/).filter((l) => TELLING.test(l));
    const tail = telling.length > 0 ? telling.join(' ') : stderrTail(stderr);
    const t = this.#target ?? {
      hostname: this.host.address,
      port: String(this.host.port ?? 22),
      user: this.host.user ?? '',
    };
    return new TransportError(`${this.where}: ${what}${tail ? `: ${tail}` : ''}`, connectHint(stderr, t), {
      host: this.host.name,
      stderr: stderr.slice(-4000),
    });
  }
}

const TELLING =
  /Host key for .* has changed|Host key verification failed|host key is known|Permission denied|Connection refused|Could not resolve|timed out|No route to host|Network is unreachable|no such identity|Connection closed|Connection reset/i;

/**
 * Hands each new line of a growing file to `onLine` (every 100 ms, and once more when stopped), for
 * ssh's `-E` debug log. Returns stop. Example: `const stop = followLog(file, console.error)`.
 */
function followLog(file: string, onLine: (line: string) => void): () => void {
  let offset = 0;
  let rest = '';
  const read = () => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      return;
    }
    if (data.length <= offset) return;
    const lines = (rest + data.subarray(offset).toString('utf8')).split(/\r?\n/);
    offset = data.length;
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) onLine(line);
  };
  const timer = setInterval(read, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    read();
    if (rest) onLine(rest);
    rest = '';
  };
}

/** What to do about an ssh failure, from ssh's stderr. */
function connectHint(stderr: string, t: { hostname: string; port: string; user: string }): string {
  const dest = `${t.user ? `${t.user}@` : ''}${t.hostname}`;
  const byHand = `Check by hand with: ssh -p ${t.port} ${dest} true`;
  const verify = `ssh-keyscan -p ${t.port} ${t.hostname} | ssh-keygen -lf -`;
  if (/HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
    return (
      `The host key of ${t.hostname}:${t.port} differs from the one in known_hosts: the host was reinstalled, or ` +
      `something is in between. Verify the new fingerprint out of band (${verify}); only then replace the old entry ` +
      `(ssh-keygen -R '[${t.hostname}]:${t.port}') and add the new one. cutover never turns host key checking off.`
    );
  }
  if (/Host key verification failed|host key is known/i.test(stderr)) {
    return (
      `The host key of ${t.hostname}:${t.port} is not in known_hosts. Verify its fingerprint out of band ` +
      `(${verify}) and add it to known_hosts (or set UserKnownHostsFile). cutover never turns host key checking off.`
    );
  }
  if (/Permission denied/i.test(stderr)) {
    return (
      `The host refused every key offered for ${t.user || 'the user'}. Load the key into the agent (ssh-add), or set ` +
      `IdentityFile for this host in ~/.ssh/config or in the inventory's ssh options. ${byHand}`
    );
  }
  if (/Connection refused/i.test(stderr)) {
    return `Nothing accepts connections on ${t.hostname}:${t.port}: check the address and port in the inventory and that sshd runs there.`;
  }
  if (/Could not resolve hostname|Name or service not known/i.test(stderr)) {
    return `The name ${t.hostname} does not resolve: fix the address in the inventory, or DNS / /etc/hosts.`;
  }
  if (/timed out|No route to host|Network is unreachable/i.test(stderr)) {
    return `${t.hostname}:${t.port} is not reachable: check the network path (VPN, firewall, ProxyJump in ~/.ssh/config).`;
  }
  return byHand;
}

function sshMissing(host: string, ssh: string, e: Error): TransportError {
  return new TransportError(
    `${host}: cannot run the OpenSSH client "${ssh}": ${e.message}`,
    'Install openssh-client on the controller.',
    {
      host,
    },
  );
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
    const launcher: ShellLauncher = {
      host: master.host.name,
      get where() {
        return become ? `${master.where} as ${become.user}` : master.where;
      },
      spawn: async (attempt) => {
        if (attempt === 'reconnect') await master.ensure();
        // The remote login shell parses this one line once; from then on only /bin/sh runs.
        if (!become) return master.sessionSpawn('exec /bin/sh');
        const start = sudoStart(become.user);
        const child = master.sessionSpawn(commandLine(start.argv));
        child.stdin.on('error', () => {});
        await sudoHandshake(child, start, become, {
          host: master.host.name,
          where: master.where,
          timeoutMs: options.readyTimeoutMs ?? 30_000,
        });
        return child;
      },
      startFailed: (reason, stderr) => master.connectError(`cannot start a shell (${reason})`, stderr),
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
    this.#onClose();
    await super.close();
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

/** True when the process is gone (or a zombie nobody reaps) within `ms`. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (processGone(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * One host's OpenSSH ControlMaster, which is also its first session: `ssh -o ControlMaster=yes …
 * -- host 'exec /bin/sh'` logs in once and carries that session's driver shell on its own
 * channel, while its control socket serves every other session and copy channel of the host
 * (`ssh -o ControlMaster=no`, a mux client: no new login). A host therefore costs one ssh client
 * and one sshd session, not a background master plus a client per session.
 *
 * OpenSSH semantics this relies on (ssh(1), clientloop.c): a master started with a command keeps
 * serving mux clients while its own session runs, and after it ends, until the last mux client
 * is gone, then exits by itself (no ControlPersist: `-o ControlPersist=no` overrides a config
 * that sets it, since a persisting master would fork into the background). So closing the first
 * session while others still run leaves the master to them; the master stops with the last one.
 * If cutover dies, its pipes close, the shell ends and the master with it.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { stderrTail, TransportError } from './errors.js';
import { settleWithin } from './protocol.js';
import { resolveArgs, sshArgsFor, sshDump } from './ssh-config.js';
import type { HostAddress } from './transport.js';

/** The OpenSSH options the master and its sessions share. Example: `{ configFile: '~/.ssh/cutover_config' }`. */
export interface MasterOptions {
  /** TCP connect timeout used when neither ~/.ssh/config nor the inventory sets ConnectTimeout. Default 15 s. */
  connectTimeoutSec?: number;
  /** The operator's ssh config file (`ssh -F`). */
  configFile?: string;
  /** `-vvv`: OpenSSH's `-v` lines of the master and the sessions (each through a log file, see followLog). */
  debug?: (line: string) => void;
}

/** What `ssh -G` resolved for a host: the real hostname, port and user after ~/.ssh/config. */
interface Target {
  hostname: string;
  port: string;
  user: string;
  connectTimeout: string;
}

/** The running master process: also its first session's shell. */
interface Running {
  child: ChildProcessWithoutNullStreams;
  /** Settles when the control socket serves (the first session's shell answered) or the process ended. */
  listening: Promise<void>;
  markListening: () => void;
  isListening: boolean;
  exited: boolean;
  gone: Promise<void>;
}

/** One host's master (see the top of this file). Example: `const child = await master.spawn('exec /bin/sh')`. */
export class Master {
  #target: Target | undefined;
  #running: Running | undefined;
  #spawned = 0;

  constructor(
    readonly ssh: string,
    readonly host: HostAddress,
    readonly controlPath: string,
    readonly logPath: string,
    readonly options: MasterOptions,
  ) {}

  /** `web (root@10.0.0.10:22)`: the inventory name and where ssh really connects. */
  get where(): string {
    const t = this.#target;
    return t
      ? `${this.host.name} (${t.user}@${t.hostname}:${t.port})`
      : `${this.host.name} (${this.host.address})`;
  }

  /** Whether `child` is the master process (the session it carries then owns no process of its own). */
  isMaster(child: ChildProcessWithoutNullStreams): boolean {
    return this.#running?.child === child;
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

  /** The ssh argv for a command on the host through this master (a mux client). */
  commandArgs(remoteCommand: string): string[] {
    return [...this.args(), '-o', 'ControlMaster=no', '--', this.host.address, remoteCommand];
  }

  /**
   * A process whose stdin/stdout/stderr reach `remoteCommand` on the host: the master itself when
   * none runs (it logs in), else a mux client of the running one, once its socket serves (two
   * sessions opening at once log in once).
   */
  async spawn(remoteCommand: string): Promise<ChildProcessWithoutNullStreams> {
    this.#target ??= await this.#resolve();
    for (;;) {
      const running = this.#running;
      if (!running || running.exited) return this.#startMaster(remoteCommand);
      if (running.isListening) return this.#muxClient(remoteCommand);
      await running.listening;
    }
  }

  /** The session `child` carries answered: if it is the master, its socket serves from now on. */
  ready(child: ChildProcessWithoutNullStreams): void {
    if (this.isMaster(child)) this.#running?.markListening();
  }

  #startMaster(remoteCommand: string): ChildProcessWithoutNullStreams {
    const debug = this.options.debug;
    const log = `${this.logPath}.${this.#spawned++}`;
    const child = spawn(
      this.ssh,
      [
        ...this.args(),
        ...(debug ? ['-v', '-E', log] : []),
        '-o',
        'ControlMaster=yes',
        '-o',
        'ControlPersist=no',
        '--',
        this.host.address,
        remoteCommand,
      ],
      // Own session: a Ctrl-C meant for cutover must not end the connection its undo needs.
      { stdio: 'pipe', detached: true },
    ) as ChildProcessWithoutNullStreams;
    let markListening = () => {};
    const listening = new Promise<void>((resolve) => {
      markListening = resolve;
    });
    const running: Running = {
      child,
      listening,
      markListening: () => {
        running.isListening = true;
        markListening();
      },
      isListening: false,
      exited: false,
      gone: new Promise((resolve) => {
        const end = () => {
          running.exited = true;
          markListening();
          resolve();
        };
        child.once('exit', end);
        child.once('error', end);
      }),
    };
    this.#running = running;
    if (debug) {
      const stop = followLog(log, (line) => debug(`ssh ${this.host.name} (master): ${line}`));
      void running.gone.then(stop);
    }
    return child;
  }

  /** A mux client of the master; with `debug`, its `-v` lines go through a log file, never into the session's stderr. */
  #muxClient(remoteCommand: string): ChildProcessWithoutNullStreams {
    const debug = this.options.debug;
    if (!debug)
      return spawn(this.ssh, this.commandArgs(remoteCommand), {
        stdio: 'pipe',
        detached: true,
      }) as ChildProcessWithoutNullStreams;
    const log = `${this.logPath}.${this.#spawned++}`;
    const child = spawn(
      this.ssh,
      [...this.args(), '-v', '-E', log, '-o', 'ControlMaster=no', '--', this.host.address, remoteCommand],
      { stdio: 'pipe', detached: true },
    ) as ChildProcessWithoutNullStreams;
    const stop = followLog(log, (line) => debug(`ssh ${this.host.name}: ${line}`));
    child.once('close', stop);
    return child;
  }

  /**
   * After the host's last session closed (their shells were told to end): waits for the master to
   * exit by itself, then TERM, then KILL; removes the socket.
   */
  async stop(): Promise<void> {
    const running = this.#running;
    if (running && !running.exited) {
      running.child.stdin.end();
      if (!(await settleWithin(running.gone, 3000))) {
        running.child.kill('SIGTERM');
        if (!(await settleWithin(running.gone, 2000))) running.child.kill('SIGKILL');
        await running.gone;
      }
    }
    await rm(this.controlPath, { force: true });
  }

  async #resolve(): Promise<Target> {
    const res = await sshDump(this.ssh, resolveArgs(this.host, this.options.configFile)).catch((e: Error) => {
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
    for (const line of res.stdout.split('\n')) {
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

/** The OpenSSH client cannot be started at all. */
export function sshMissing(host: string, ssh: string, e: Error): TransportError {
  return new TransportError(
    `${host}: cannot run the OpenSSH client "${ssh}": ${e.message}`,
    'Install openssh-client on the controller.',
    {
      host,
    },
  );
}

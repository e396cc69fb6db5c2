import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostAddress } from '../transport.js';

const execFileP = promisify(execFile);

/**
 * A real OpenSSH server for tests, on 127.0.0.1 and a free port, with its own host key, a client
 * key in its own authorized_keys, and a known_hosts file holding its host key (so host keys are
 * checked as in production). Logins get `HOME=<dir>/home` (sshd `SetEnv`), so tests can put
 * rc files there without touching the machine's /root. Example:
 * `const sshd = await startSshd(); const s = await new SshTransport().connect(sshd.host); … await sshd.stop();`
 */
export interface SshdFixture {
  /** Ready to pass to SshTransport.connect: name `fixture`, user root, IdentityFile and UserKnownHostsFile set. */
  host: HostAddress;
  port: number;
  /** The temp folder holding everything; removed by stop(). */
  dir: string;
  /** HOME of the fixture's logins (put `.bashrc` here). */
  home: string;
  knownHostsFile: string;
  clientKeyFile: string;
  /** The server's public host key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** The sshd log so far (-e), for failing tests. */
  log(): string;
  /** Kills sshd and every session it serves (SIGKILL), as a crashed or killed sshd: the host becomes unreachable. */
  crash(): Promise<void>;
  /** Starts sshd again on the same port, with the same keys, after crash(). */
  restart(): Promise<void>;
  /** Stops sshd and removes the folder. */
  stop(): Promise<void>;
}

/** Starts sshd (see SshdFixture); retries with another port if the chosen one was taken meanwhile. Example: `const sshd = await startSshd()`. */
export async function startSshd(): Promise<SshdFixture> {
  // sshd -t / -D refuse to run without its privilege-separation folder.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'cutover-sshd-'));
  try {
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    const hostKey = join(dir, 'host_key');
    const clientKey = join(dir, 'client_key');
    await Promise.all([keygen(hostKey), keygen(clientKey)]);
    const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      writeFileSync(
        config,
        [
          'ListenAddress 127.0.0.1',
          `Port ${port}`,
          `HostKey ${hostKey}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorizedKeys}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          // The temp folder sits in world-writable /tmp, which StrictModes refuses.
          'StrictModes no',
          `SetEnv HOME=${home}`,
          'MaxSessions 64',
          'MaxStartups 64',
          'LogLevel INFO',
          '',
        ].join('\n'),
      );
      const started = await launch(config, port);
      if ('child' in started) {
        const knownHostsFile = join(dir, 'known_hosts');
        writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
        let child = started.child;
        let log = started.log;
        return {
          host: {
            name: 'fixture',
            address: '127.0.0.1',
            port,
            user: 'root',
            sshOptions: {
              IdentityFile: clientKey,
              IdentitiesOnly: 'yes',
              UserKnownHostsFile: knownHostsFile,
            },
          },
          port,
          dir,
          home,
          knownHostsFile,
          clientKeyFile: clientKey,
          hostPublicKey,
          log: () => log(),
          crash: async () => {
            const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
            for (const pid of descendants(child.pid as number)) killQuietly(pid);
            child.kill('SIGKILL');
            await gone;
          },
          restart: async () => {
            const again = await launch(config, port);
            if (!('child' in again))
              throw new Error(`sshd fixture: sshd did not start again on ${port}:\n${again.log}`);
            child = again.child;
            log = again.log;
          },
          stop: async () => {
            for (const pid of descendants(child.pid as number)) killQuietly(pid);
            await stopChild(child);
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      if (attempt >= 2 || !/Address already in use/.test(started.log)) {
        throw new Error(`sshd fixture: sshd did not start on 127.0.0.1:${port}:\n${started.log}`);
      }
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function keygen(file: string): Promise<void> {
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cutover-test', '-f', file]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `sshd -D -e` and waits (deadline 10 s) for "Server listening", or for it to exit. */
function launch(
  config: string,
  port: number,
): Promise<{ child: ChildProcess; log(): string } | { log: string }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    let done = false;
    const finish = (value: { child: ChildProcess; log(): string } | { log: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ log: `${log}\n(no "Server listening" within 10 s)` });
    }, 10_000);
    child.stderr?.on('data', (b: Buffer) => {
      log += b.toString('utf8');
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) finish({ child, log: () => log });
    });
    child.once('error', (e) => finish({ log: `${log}\n${e.message}` }));
    child.once('exit', (code) => finish({ log: `${log}\n(sshd exited with ${code})` }));
  });
}

/** Every process below `root` (its sessions and their children), from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const below: number[] = [];
  const visit = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid !== pid) continue;
      below.push(child);
      visit(child);
    }
  };
  visit(root);
  return below;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/**
 * How the lab itself talks to its hosts: the system ssh client with the lab's ssh_config (so the
 * host key is checked exactly as a user's login would), and a raw TCP probe for sshd's banner.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';

/** Output of one command run over ssh. Example: `{ code: 0, stdout: 'web\n', stderr: '' }`. */
export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` on a lab host with `ssh -F <sshConfig> <host>`; never throws for a non-zero exit
 * (255 = ssh itself failed). Example: await labSsh('/tmp/lab/ssh_config', 'web', 'hostname').
 */
export function labSsh(
  sshConfig: string,
  host: string,
  command: string,
  opts: { timeoutMs?: number; extraOptions?: string[]; stdin?: string } = {},
): Promise<SshResult> {
  return new Promise((resolve) => {
    const args = ['-F', sshConfig, '-o', 'ConnectTimeout=5', ...(opts.extraOptions ?? []), host, command];
    const child = execFile(
      'ssh',
      args,
      { timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : error.killed ? 124 : 255) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
    else child.stdin?.end();
  });
}

/**
 * True when something at address:port answers with an SSH banner within `timeoutMs`.
 * Example: await sshBanner('127.0.10.10') -> 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7'.
 */
export function sshBanner(address: string, port = 22, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let data = '';
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const line = data.split('\r\n')[0] ?? '';
      if (data.includes('\n')) done(line.startsWith('SSH-') ? line.trim() : undefined);
    });
    socket.on('error', () => done(undefined));
    socket.on('end', () => done(undefined));
  });
}

/**
 * A lab where, as on most real sites, nobody logs in as root: each host has the login user
 * `deploy` (the lab key in its authorized_keys, a password in /etc/shadow) who may use sudo,
 * without a password on the hosts named `nopasswd` and with one elsewhere, and sshd refuses root on
 * port 22, the port cutover's inventory uses. The lab's own tooling (boot checks, `lab status`,
 * the tests' file checks) logs in as root on port 2222 of the same sshd, which cutover is never given.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The login user of a sudo-login lab. */
export const LAB_LOGIN = 'deploy';
const LAB_LOGIN_ID = 2000;
/** The port on which root may still log in, for the lab's own tooling only. */
export const LAB_ROOT_PORT = 2222;

/** How a lab's hosts are logged into. Example: `{ nopasswd: ['web'] }`: deploy needs no sudo password on web only. */
export interface SudoLogin {
  /** Hosts where deploy's sudo needs no password (NOPASSWD); on the others sudo asks for it. */
  nopasswd: string[];
}

/** Where the lab keeps deploy's password on the controller (0600). Example: '<labDir>/secrets/deploy_password'. */
export function sudoPasswordFile(labDir: string): string {
  return path.join(labDir, 'secrets', 'deploy_password');
}

/** deploy's password: made once per lab, kept in the lab's secrets folder. */
export async function ensureSudoPassword(labDir: string): Promise<string> {
  const file = sudoPasswordFile(labDir);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const password = randomBytes(12).toString('base64url');
  await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Writes deploy into one host's private /etc and /home (passwd, shadow, group from the
 * controller's plus deploy; a sudoers file; the lab key). `root(p)` maps a host path to the host's
 * overlay. Idempotent: the files are rendered again on every boot.
 */
export async function prepareSudoLogin(
  root: (p: string) => string,
  host: string,
  login: SudoLogin,
  password: string,
  labPublicKey: string,
): Promise<void> {
  const id = LAB_LOGIN_ID;
  const shadowHash = await hashPassword(password);
  const withLine = (file: string, name: string, line: string) => {
    const base = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith(`${name}:`));
    return `${[...base, line].join('\n')}\n`;
  };
  await writeMode(
    root('etc/passwd'),
    withLine(
      '/etc/passwd',
      LAB_LOGIN,
      `${LAB_LOGIN}:x:${id}:${id}:cutover lab operator:/home/${LAB_LOGIN}:/bin/bash`,
    ),
    0o644,
  );
  await writeMode(root('etc/group'), withLine('/etc/group', LAB_LOGIN, `${LAB_LOGIN}:x:${id}:`), 0o644);
  await writeMode(
    root('etc/shadow'),
    withLine('/etc/shadow', LAB_LOGIN, `${LAB_LOGIN}:${shadowHash}:20000:0:99999:7:::`),
    0o640,
  );
  const rule = login.nopasswd.includes(host) ? 'NOPASSWD: ALL' : 'ALL';
  await writeMode(
    root('etc/sudoers.d/cutover-lab'),
    `# cutover lab: ${LAB_LOGIN} logs in and uses sudo (${rule === 'ALL' ? 'with its password' : 'without a password'}).\n${LAB_LOGIN} ALL=(ALL:ALL) ${rule}\n`,
    0o440,
  );
  const home = root(`home/${LAB_LOGIN}`);
  await fs.mkdir(path.join(home, '.ssh'), { recursive: true });
  await writeMode(path.join(home, '.ssh', 'authorized_keys'), `${labPublicKey}\n`, 0o600);
  for (const [dotfile, source] of [
    ['.bashrc', '/etc/skel/.bashrc'],
    ['.profile', '/etc/skel/.profile'],
  ] as const)
    if (existsSync(source)) await fs.copyFile(source, path.join(home, dotfile));
  await fs.chmod(home, 0o750);
  await fs.chmod(path.join(home, '.ssh'), 0o700);
  for (const p of [
    home,
    path.join(home, '.ssh'),
    path.join(home, '.ssh', 'authorized_keys'),
    path.join(home, '.bashrc'),
    path.join(home, '.profile'),
  ])
    if (existsSync(p)) await fs.chown(p, id, id);
}

/** A SHA-512 crypt hash of the password, as /etc/shadow holds it (openssl passwd -6; the password on stdin). */
async function hashPassword(password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['passwd', '-6', '-stdin'], (error, stdout) => {
      if (error) reject(new Error(`openssl passwd failed: ${error.message} (install openssl)`));
      else resolve(stdout.trim());
    });
    child.stdin?.end(`${password}\n`);
  });
}

async function writeMode(file: string, text: string, mode: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, { mode });
  await fs.chmod(file, mode);
}

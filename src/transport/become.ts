/**
 * Privilege escalation for a session: the long-lived driver shell itself runs under sudo, so a
 * host costs one sudo per run (per target user), not one per command. sudo is asked to prompt with
 * a random text on stderr; the password is written to sudo's stdin only when that prompt appears
 * (never in argv, never to a shell that did not ask), and the shell says a random mark once it
 * runs as the target user. Everything sudo can answer instead is turned into an error naming the
 * host and the fix (a sudoers line, `requiretty`, a missing or wrong password, an unknown user).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { BECOME_PASSWORD_SOURCES } from '../shared/become.js';
import { quote } from '../shell/quote.js';
import { stderrTail, TransportError } from './errors.js';
import type { BecomeTarget } from './transport.js';

/** One sudo start: the argv that starts the driver shell as the target user, and how to recognise its answers. */
export interface SudoStart {
  /** `sudo -S -p PROMPT -u USER -H -- /bin/sh -c 'cd; printf MARK; exec /bin/sh'` as an argv. */
  argv: string[];
  prompt: string;
  mark: string;
}

/** A fresh sudo start for `user` (random prompt and mark, so no output can forge them). Example: sudoStart('root').argv[0] -> 'sudo'. */
export function sudoStart(user: string): SudoStart {
  const id = randomBytes(9).toString('hex');
  const prompt = `[cutover-sudo-${id}] password: `;
  const mark = `cutover-become-${id}`;
  // -H: HOME is the target user's; the shell starts there (or in /), not in a folder it may not read.
  const script = `cd 2>/dev/null || cd /; printf '%s\\n' ${mark}; exec /bin/sh`;
  return {
    argv: ['sudo', '-S', '-p', prompt, '-u', user, '-H', '--', '/bin/sh', '-c', script],
    prompt,
    mark,
  };
}

/** The argv as one command line for a remote login shell. Example: commandLine(['sudo', '-u', 'a b']) -> "exec sudo -u 'a b'". */
export function commandLine(argv: readonly string[]): string {
  return `exec ${argv.map((a) => quote(a)).join(' ')}`;
}

/**
 * Waits until the shell runs as the target user: answers sudo's prompt once with the password,
 * fails at a second prompt (wrong password), at a prompt with no password given, or when sudo
 * exits. Resolves with nothing left listening on the child's streams. Example:
 * `await sudoHandshake(child, start, target, { host: 'web', where: 'web (deploy@10.0.0.10:22)', timeoutMs: 30_000 })`.
 */
export function sudoHandshake(
  child: ChildProcessWithoutNullStreams,
  start: SudoStart,
  target: BecomeTarget,
  at: { host: string; where: string; timeoutMs: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let prompts = 0;
    let done = false;
    const finish = (error?: TransportError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout.off('data', onStdout);
      child.stderr.off('data', onStderr);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) {
        child.kill('SIGKILL');
        reject(error);
      } else resolve();
    };
    const fail = (message: string, hint: string) =>
      finish(new TransportError(`${at.where}: sudo -u ${target.user}: ${message}`, hint, { host: at.host }));
    const onStdout = (chunk: Buffer) => {
      stdout = (stdout + chunk.toString('utf8')).slice(-8192);
      if (stdout.split('\n').some((line) => line.trim() === start.mark)) finish();
    };
    const onStderr = (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (;;) {
        const at = stderr.indexOf(start.prompt);
        if (at < 0) break;
        stderr = stderr.slice(0, at) + stderr.slice(at + start.prompt.length);
        prompts += 1;
        if (target.password === undefined) {
          fail(
            'sudo asks for a password and none was given',
            `Give the sudo password with ${BECOME_PASSWORD_SOURCES}, or allow this user sudo without one (a sudoers line such as \`${'<login>'} ALL=(ALL) NOPASSWD: ALL\`). Nothing was changed.`,
          );
          return;
        }
        if (prompts > 1) {
          fail(
            'sudo did not accept the password',
            `Check the sudo password given with ${BECOME_PASSWORD_SOURCES}; it is the login user's own password on the host. Nothing was changed.`,
          );
          return;
        }
        child.stdin.write(`${target.password}\n`);
      }
      stderr = stderr.slice(-8192);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      // Let the last stderr bytes arrive before judging them.
      setImmediate(() => {
        const why = stderrTail(stderr, 4) || (signal ? `killed by ${signal}` : `exit code ${code}`);
        const [message, hint] = explain(stderr, target.user);
        fail(`${message}: ${why}`, hint);
      });
    };
    const onError = (e: Error) =>
      fail(`cannot start: ${e.message}`, 'Install openssh-client (and sudo on the host).');
    const timer = setTimeout(
      () =>
        fail(
          `no answer within ${at.timeoutMs} ms`,
          'sudo may be waiting on something cutover cannot see (a PAM module, a two-factor prompt): check `sudo -v` on the host by hand.',
        ),
      at.timeoutMs,
    );
    child.stdout.on('data', onStdout);
    child.stderr.on('data', onStderr);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** What a failed sudo said, as a message and the fix. */
function explain(stderr: string, user: string): [string, string] {
  if (/must have a tty|requiretty/i.test(stderr))
    return [
      'sudo requires a terminal (requiretty)',
      'Allow sudo without a terminal for this login: a sudoers line `Defaults:<login> !requiretty` (visudo). cutover never allocates a terminal for its shell. Nothing was changed.',
    ];
  if (/unknown user|user .* does not exist/i.test(stderr))
    return [
      `the user ${user} does not exist on the host`,
      `Create ${user} on the host, or fix become_user. Nothing was changed.`,
    ];
  if (
    /not in the sudoers file|is not allowed to execute|may not run sudo|not allowed to run sudo/i.test(stderr)
  )
    return [
      'this login may not use sudo',
      `Add a sudoers line for the login user (visudo), e.g. \`<login> ALL=(${user}) ALL\`, or log in as a user that may. Nothing was changed.`,
    ];
  if (/incorrect password attempt|Sorry, try again/i.test(stderr))
    return [
      'sudo did not accept the password',
      `Check the sudo password given with ${BECOME_PASSWORD_SOURCES}. Nothing was changed.`,
    ];
  if (/sudo: (not found|command not found)|sudo: No such file/i.test(stderr))
    return [
      'sudo is not installed on the host',
      'Install sudo on the host (apt-get install sudo). Nothing was changed.',
    ];
  return [
    'sudo ended before the shell started',
    'Run `sudo -v` on the host by hand to see why. Nothing was changed.',
  ];
}

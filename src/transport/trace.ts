/**
 * `-vv`: every command a session runs — the steps' own, and the ones the progress view never shows
 * (probes, log marks, wait polls, guards, the lock) — with its exit code, time and output, one
 * host-prefixed line each, through `redact` (secrets never leave it). Example:
 * `tracedSession(session, (l) => process.stderr.write(`${l}\n`), (t) => redactor.redact(t))`.
 */
import type { ExecOptions, ExecResult, Session } from './transport.js';

/** A session that reports each exec, put and get to `write` (already redacted), and otherwise is `session`. */
export function tracedSession(
  session: Session,
  write: (line: string) => void,
  redact: (text: string) => string,
  now: () => number = Date.now,
): Session {
  const say = (text: string) => {
    for (const line of redact(text).replace(/\n$/, '').split('\n')) write(`trace ${session.host}: ${line}`);
  };
  return {
    get host() {
      return session.host;
    },
    get user() {
      return session.user;
    },
    async exec(script: string, opts?: ExecOptions): Promise<ExecResult> {
      const started = now();
      say(`$ ${script}${opts?.stdin !== undefined ? ' (with stdin)' : ''}`);
      try {
        const res = await session.exec(script, opts);
        if (res.stdout) say(res.stdout.replace(/\n$/, '').replace(/^/gm, '| '));
        if (res.stderr) say(res.stderr.replace(/\n$/, '').replace(/^/gm, '! '));
        say(`exit ${res.code}${res.timedOut ? ' (timed out)' : ''} in ${now() - started} ms`);
        return res;
      } catch (e) {
        say(`failed after ${now() - started} ms: ${(e as Error).message}`);
        throw e;
      }
    },
    async put(data, remotePath, opts) {
      say(`put ${remotePath} (${data.length} bytes)`);
      return session.put(data, remotePath, opts);
    },
    async get(remotePath) {
      say(`get ${remotePath}`);
      return session.get(remotePath);
    },
    close: () => session.close(),
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../errors.js';
import type { Session } from '../transport.js';

/** What the contract needs from a transport under test. Example: `{ connect: () => t.connect(host), scratch: '/tmp/x' }`. */
export interface ContractTarget {
  /** Opens a new session to the host (the transport's kill grace should be short, ~300 ms). */
  connect(): Promise<Session>;
  /** A folder of the host that the test may use; the host is this machine, so the test reads it directly. */
  scratch: string;
}

/** Polls `check` until it is true; fails after `ms` (a deadline, not a timing assertion). Example: `await eventually(() => processGone(pid), 'killed')`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when no live (non-zombie) process has this pid. Example: `processGone(12345)`. */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * The behaviour every framed-sh session must have, run against the local shell and a real sshd.
 * Example: `sessionContract('local', () => ({ connect: () => t.connect(host), scratch }))`.
 */
export function sessionContract(name: string, target: () => ContractTarget): void {
  describe(`${name}: session contract`, () => {
    let s: Session;
    let dir: string;
    let n = 0;
    /** A fresh folder of the scratch area for one test. */
    const folder = (): string => {
      const d = join(dir, `t${n++}`);
      mkdirSync(d, { recursive: true });
      return d;
    };

    beforeAll(async () => {
      dir = target().scratch;
      s = await target().connect();
    });
    afterAll(async () => {
      await s?.close();
    });

    it('reports exact exit codes', async () => {
      expect((await s.exec('true')).code).toBe(0);
      expect((await s.exec('false')).code).toBe(1);
      expect((await s.exec('exit 3')).code).toBe(3);
      expect((await s.exec('sh -c "kill -9 \\$\\$"')).code).toBe(137);
    });

    it('keeps stdout and stderr apart, exactly, with or without a trailing newline', async () => {
      const r = await s.exec('printf out1; printf err1 >&2; printf "\\nout2"; printf "\\n\\nerr2\\n" >&2');
      expect(r).toEqual({ code: 0, stdout: 'out1\nout2', stderr: 'err1\n\nerr2\n' });
      expect(await s.exec('printf ""')).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('feeds exactly opts.stdin, and EOF (never the control stream) without it', async () => {
      const stdin = "line 1\n'quoted' \"double\" $HOME `x` \\ '\\''\n__CO_x\nno newline at the end ж";
      expect((await s.exec('cat', { stdin })).stdout).toBe(stdin);
      expect((await s.exec('cat', { stdin: '' })).stdout).toBe('');
      expect(await s.exec('cat; echo after')).toEqual({ code: 0, stdout: 'after\n', stderr: '' });
      expect((await s.exec('read -r line')).code).toBe(1);
      expect((await s.exec('echo still here')).stdout).toBe('still here\n');
    });

    it('runs each command in its own shell: cd, exported vars, set -e and exit do not leak', async () => {
      const home = (await s.exec('pwd')).stdout;
      expect((await s.exec('cd /tmp && export CO_LEAK=1 && set -e && exit 7')).code).toBe(7);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      expect((await s.exec('pwd; echo "${CO_LEAK:-unset}"; false; echo continues')).stdout).toBe(
        `${home}unset\ncontinues\n`,
      );
    });

    it('cannot be desynchronised by what a command prints, parses or leaves behind', async () => {
      const bad = await s.exec("echo 'unterminated");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/unterminated|Unterminated|EOF/);
      // Text shaped like frames and heredoc ends, and a process listing: the key is in no argv.
      const lookalike = '@co0123456789abcdef0123456789abcdefX 0\n__CO_0123456789abcdef\n';
      expect((await s.exec(`printf '%s' '${lookalike}'`)).stdout).toBe(lookalike);
      const ps = await s.exec('ps -eo args');
      expect(ps.code).toBe(0);
      expect(ps.stdout).not.toContain('@co');
      expect((await s.exec('exec >&- 2>&-; echo lost')).code).not.toBe(0);
      expect((await s.exec("echo ')' '}' 'fi' 'done' 'EOF'")).stdout).toBe(') } fi done EOF\n');
      // The script's own descriptor is not inherited by what the command starts.
      expect(
        (await s.exec("sh -c 'if [ -e /proc/$$/fd/3 ]; then echo open; else echo closed; fi'")).stdout,
      ).toBe('closed\n');
      // A background process that keeps stdout open does not hold the command (nohup-style).
      const bg = await s.exec('sleep 60 & echo $!');
      expect(bg.code).toBe(0);
      expect((await s.exec('echo next')).stdout).toBe('next\n');
      await s.exec(`kill ${bg.stdout.trim()}`);
    });

    it('streams output to onOutput as it arrives', async () => {
      const d = folder();
      const seen: string[] = [];
      // The command waits for a file that only the onOutput callback creates: it can only finish
      // if its first line was delivered while it was still running.
      const r = await s.exec(`echo first; while [ ! -e ${d}/go ]; do sleep 0.02; done; echo second >&2`, {
        timeoutMs: 15_000,
        onOutput: (stream, chunk) => {
          seen.push(`${stream}:${chunk}`);
          if (chunk.includes('first')) writeFileSync(join(d, 'go'), '');
        },
      });
      expect(r).toEqual({ code: 0, stdout: 'first\n', stderr: 'second\n' });
      expect(seen).toEqual(['stdout:first\n', 'stderr:second\n']);
    });

    it('returns large output exactly (3 MB stdout and 1 MB stderr at once, multibyte text)', async () => {
      const r = await s.exec(
        "head -c 3000000 /dev/zero | tr '\\0' x & head -c 1000000 /dev/zero | tr '\\0' y >&2; wait",
      );
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(3_000_000);
      expect(r.stdout).toMatch(/^x+$/);
      expect(r.stderr.length).toBe(1_000_000);
      const ru = await s.exec("i=0; while [ $i -lt 2000 ]; do printf 'жёлтый'; i=$((i+1)); done");
      expect(ru.stdout).toBe('жёлтый'.repeat(2000));
    });

    it('serialises concurrent requests on one session, in order', async () => {
      const d = folder();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          s.exec(`echo start-${i} >> ${d}/log; echo ${i}; echo end-${i} >> ${d}/log`),
        ),
      );
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
      const expected = Array.from({ length: 12 }, (_, i) => `start-${i}\nend-${i}\n`).join('');
      expect(readFileSync(join(d, 'log'), 'utf8')).toBe(expected);
    });

    it('kills the whole process group on timeout and stays usable', async () => {
      const d = folder();
      const r = await s.exec(`sleep 100 & echo $! > ${d}/bg; sleep 100`, { timeoutMs: 300 });
      expect(r.timedOut).toBe(true);
      expect(r.code).toBe(124);
      const bg = Number(readFileSync(join(d, 'bg'), 'utf8'));
      await eventually(() => processGone(bg), `background sleep ${bg} killed with its group`);
      expect(await s.exec('echo ok')).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    });

    it('kills a command that ignores TERM after the grace period', async () => {
      const d = folder();
      const r = await s.exec(`trap '' TERM; echo $$ > ${d}/pid; sleep 100`, { timeoutMs: 200 });
      expect(r.timedOut).toBe(true);
      await eventually(
        () => processGone(Number(readFileSync(join(d, 'pid'), 'utf8'))),
        'TERM-proof command killed',
      );
      expect((await s.exec('echo ok')).stdout).toBe('ok\n');
    });

    it('aborts a running command (rejects with the reason) and a queued one (never runs)', async () => {
      const d = folder();
      const running = new AbortController();
      const first = s.exec(`echo $$ > ${d}/pid; echo started; sleep 100`, {
        signal: running.signal,
        onOutput: (_stream, chunk) => {
          if (chunk.includes('started')) running.abort(new Error('operator abort'));
        },
      });
      const queued = new AbortController();
      const second = s.exec(`touch ${d}/second-ran`, { signal: queued.signal });
      queued.abort(new Error('not needed'));
      await expect(second).rejects.toThrow('not needed');
      await expect(first).rejects.toThrow('operator abort');
      expect(processGone(Number(readFileSync(join(d, 'pid'), 'utf8')))).toBe(true);
      expect((await s.exec('echo ok')).stdout).toBe('ok\n');
      expect(existsSync(join(d, 'second-ran'))).toBe(false);
      const already = new AbortController();
      already.abort(new Error('too late'));
      await expect(s.exec(`touch ${d}/third-ran`, { signal: already.signal })).rejects.toThrow('too late');
      expect(existsSync(join(d, 'third-ran'))).toBe(false);
    });

    it('puts and gets binary files byte for byte, verified by sha256', async () => {
      const d = folder();
      const data = Buffer.concat([
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        randomBytes(1_500_000),
      ]);
      const sha = createHash('sha256').update(data).digest('hex');
      const path = join(d, 'blob.bin');
      expect(await s.put(data, path, { mode: '0640' })).toEqual({ sha256: sha });
      expect(readFileSync(path).equals(data)).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o640);
      expect((await s.exec(`sha256sum < ${path}`)).stdout.split(' ')[0]).toBe(sha);
      expect((await s.get(path)).equals(data)).toBe(true);
      expect(readdirSync(d)).toEqual(['blob.bin']);
    });

    it('put keeps the mode of the file it replaces, and gives new files the umask default', async () => {
      const d = folder();
      writeFileSync(join(d, 'conf'), 'old\n', { mode: 0o600 });
      await s.put(Buffer.from('new\n'), join(d, 'conf'));
      expect(readFileSync(join(d, 'conf'), 'utf8')).toBe('new\n');
      expect(statSync(join(d, 'conf')).mode & 0o777).toBe(0o600);
      await s.put(Buffer.from(''), join(d, 'fresh'));
      const umask = Number.parseInt((await s.exec('umask')).stdout.trim(), 8);
      expect(statSync(join(d, 'fresh')).mode & 0o777).toBe(0o666 & ~umask);
      expect((await s.get(join(d, 'fresh'))).length).toBe(0);
    });

    it('put and get fail clearly and leave nothing behind', async () => {
      const d = folder();
      const missing = join(d, 'no-such-dir', 'f');
      const err = await s.put(Buffer.from('x'), missing).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).message).toContain(missing);
      expect((err as TransportError).message).toContain('was not changed');
      await expect(s.put(Buffer.from('x'), join(d, 'f'), { mode: 'rwx' })).rejects.toThrow(/octal/);
      await expect(s.put(Buffer.from('x'), d)).rejects.toThrow(TransportError);
      await expect(s.get(join(d, 'absent'))).rejects.toThrow(/absent/);
      expect(readdirSync(d)).toEqual([]);
      expect(readdirSync(dir).filter((f) => f.includes('.cutover-'))).toEqual([]);
    });

    it('reconnects once when the shell on the host died', async () => {
      const own = await target().connect();
      // Kill the driver shell: the parent of the command's reporter.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      const r = await own.exec('read -r l < /proc/$PPID/stat; set -- ${l##*) }; kill -9 $2');
      expect(r.code).toBe(0);
      // The death may be noticed only while the next request is on its way: that one then
      // reports the lost connection, and the one after it reconnects.
      const lost: unknown[] = [];
      await eventually(async () => {
        const again = await own.exec('echo again').catch((e: unknown) => {
          lost.push(e);
          return undefined;
        });
        return again?.stdout === 'again\n';
      }, 'reconnected');
      expect(lost.length).toBeLessThanOrEqual(1);
      for (const e of lost) expect(String(e)).toMatch(/connection was lost/);
      await own.close();
    });

    it('rejects exec after close', async () => {
      const own = await target().connect();
      await own.close();
      await expect(own.exec('true')).rejects.toThrow(/closed/);
    });
  });
}

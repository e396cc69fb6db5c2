import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { SshTransport } from './ssh.js';
import { prefetchDumps, resolveArgs, resolveConnections } from './ssh-config.js';
import { eventually, sessionContract } from './testing/contract.js';
import { type SshdFixture, startSshd } from './testing/sshd-fixture.js';
import type { HostAddress } from './transport.js';

let sshd: SshdFixture;
let transport: SshTransport;
const scratch = mkdtempSync(join(tmpdir(), 'cutover-ssh-'));

beforeAll(async () => {
  sshd = await startSshd();
  transport = new SshTransport({ killGraceMs: 300 });
});
afterAll(async () => {
  await transport?.close();
  await sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

sessionContract('ssh', () => ({ connect: () => transport.connect(sshd.host), scratch }));

/** pids of processes whose command line mentions `text` (pgrep -f). */
function pgrep(text: string): number[] {
  const res = spawnSync('pgrep', ['-f', '--', text], { encoding: 'utf8' });
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

function withOptions(host: HostAddress, options: Record<string, string>): HostAddress {
  return { ...host, sshOptions: { ...host.sshOptions, ...options } };
}

async function connectError(host: HostAddress): Promise<TransportError> {
  const t = new SshTransport();
  try {
    const err = await t.connect(host).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransportError);
    return err as TransportError;
  } finally {
    await t.close();
  }
}

/** Writes the fixture's ~/.bashrc for the duration of `body`. */
async function withBashrc(text: string, body: () => Promise<void>): Promise<void> {
  writeFileSync(join(sshd.home, '.bashrc'), text);
  try {
    await body();
  } finally {
    rmSync(join(sshd.home, '.bashrc'), { force: true });
  }
}

describe('SshTransport: connection failures name the host, address:port, ssh stderr and what to do', () => {
  it('refuses a host whose key differs from known_hosts', async () => {
    const other = join(scratch, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrongKnownHosts = join(scratch, 'known_hosts_wrong');
    const otherKey = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(wrongKnownHosts, `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    const err = await connectError(withOptions(sshd.host, { UserKnownHostsFile: wrongKnownHosts }));
    expect(err.message).toContain(`fixture (root@127.0.0.1:${sshd.port})`);
    expect(err.message).toContain('has changed');
    expect(err.message).toContain('Host key verification failed');
    expect(err.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(err.hint).toContain('differs from the one in known_hosts');
    expect(err.hint).toContain('never turns host key checking off');
  });

  it('refuses an unknown host key without prompting', async () => {
    const empty = join(scratch, 'known_hosts_empty');
    writeFileSync(empty, '');
    const err = await connectError(withOptions(sshd.host, { UserKnownHostsFile: empty }));
    expect(err.message).toContain('Host key verification failed');
    expect(err.hint).toContain('is not in known_hosts');
    expect(readFileSync(empty, 'utf8')).toBe('');
  });

  it('reports a refused key with a hint about the agent and IdentityFile', async () => {
    const stranger = join(scratch, 'stranger_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const err = await connectError(withOptions(sshd.host, { IdentityFile: stranger }));
    expect(err.message).toContain(`127.0.0.1:${sshd.port}`);
    expect(err.message).toContain('Permission denied (publickey)');
    expect(err.hint).toMatch(/ssh-add/);
    expect(err.hint).toMatch(/IdentityFile/);
  });

  it('reports a closed port', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const err = await connectError({ ...sshd.host, port });
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('Connection refused');
    expect(err.hint).toContain(`127.0.0.1:${port}`);
  });

  it('refuses addresses and options ssh would misread', async () => {
    await expect(
      connectError({ ...sshd.host, address: '-oProxyCommand=touch /tmp/x' }),
    ).resolves.toMatchObject({
      message: expect.stringContaining('not a host name'),
    });
    await expect(connectError(withOptions(sshd.host, { 'Bad Key': 'x' }))).resolves.toMatchObject({
      message: expect.stringContaining('ssh_config keyword'),
    });
  });
});

describe('SshTransport', () => {
  it('-vvv: debug hands over OpenSSH -v of the master and the session, never mixed into a command output', async () => {
    const lines: string[] = [];
    const t = new SshTransport({ debug: (l) => lines.push(l) });
    try {
      // The first session is the master's own; the second is a client of it.
      const [first, second] = [await t.connect(sshd.host), await t.connect(sshd.host)];
      for (const s of [first, second]) {
        const res = await s.exec('echo out; echo err >&2');
        expect(res).toMatchObject({ code: 0, stdout: 'out\n', stderr: 'err\n' });
      }
      await Promise.all([first.close(), second.close()]);
    } finally {
      await t.close();
    }
    expect(lines.some((l) => l.startsWith(`ssh ${sshd.host.name} (master): debug1:`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`ssh ${sshd.host.name}: debug1:`))).toBe(true);
  });

  it('shares one ControlMaster between sessions of a host that run in parallel', async () => {
    const d = join(scratch, 'parallel');
    mkdirSync(d);
    const [a, b] = await Promise.all([transport.connect(sshd.host), transport.connect(sshd.host)]);
    // Each command waits for the other's file: they can only finish if they run at the same time.
    const wait = (mine: string, theirs: string) =>
      `touch ${d}/${mine}; while [ ! -e ${d}/${theirs} ]; do sleep 0.02; done; echo ${mine}`;
    const results = await Promise.all([
      a.exec(wait('a', 'b'), { timeoutMs: 15_000 }),
      b.exec(wait('b', 'a'), { timeoutMs: 15_000 }),
    ]);
    expect(results.map((r) => r.stdout)).toEqual(['a\n', 'b\n']);
    const dir = transport.controlDir as string;
    const masters = pgrep(dir).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ControlMaster=yes'),
    );
    expect(masters).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  });

  it("logs in once per host: the first session is the master's own, later ones and copies go through it", async () => {
    const logins = () => (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const before = logins();
    const t = new SshTransport();
    try {
      const first = await t.connect(sshd.host);
      const dir = t.controlDir as string;
      // One ssh process for the host: the master carries the first session's shell.
      expect(pgrep(dir)).toHaveLength(1);
      expect(readFileSync(`/proc/${pgrep(dir)[0]}/cmdline`, 'utf8')).toContain('ControlMaster=yes');
      const second = await t.connect(sshd.host);
      await first.put(Buffer.from('through the master\n'), join(scratch, 'one-login'));
      expect((await second.exec(`cat ${join(scratch, 'one-login')}`)).stdout).toBe('through the master\n');
      expect(logins()).toBe(before + 1);
    } finally {
      await t.close();
    }
  });

  it('resolves a host with `ssh -G` once per process, whoever asks first (plan resolution or connect)', async () => {
    const calls = join(scratch, 'ssh-calls');
    const wrapper = join(scratch, 'counting-ssh');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec ssh "$@"\n`);
    chmodSync(wrapper, 0o755);
    const host = withOptions(sshd.host, { ServerAliveInterval: '17' });
    const { become: _, ...address } = host;
    const { connections } = await resolveConnections(
      [{ ...address, roles: [], vars: {}, sshOptions: host.sshOptions ?? {}, transport: 'ssh' }],
      { sshBinary: wrapper },
    );
    expect(connections.get(host.name)?.port).toBe(sshd.port);
    const t = new SshTransport({ sshBinary: wrapper });
    try {
      const [a, b] = await Promise.all([t.connect(host), t.connect(host)]);
      await Promise.all([a.close(), b.close()]);
      await (await t.connect(host)).exec('true');
    } finally {
      await t.close();
    }
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.startsWith('-G '))).toHaveLength(1);
    // No helper processes either (no -O check or -O exit): only the sessions' own ssh.
    expect(lines.filter((l) => / -O /.test(` ${l}`))).toEqual([]);
  });

  it('resolves many hosts through one controller shell: the `ssh -G`s share an ancestor that is not cutover', async () => {
    const calls = join(scratch, 'ssh-parents');
    const wrapper = join(scratch, 'parent-ssh');
    // Each job runs in a subshell of the controller shell: its parent's parent is that shell.
    writeFileSync(
      wrapper,
      `#!/bin/sh\necho "$PPID $(cut -d' ' -f4 /proc/$PPID/stat) $*" >> ${calls}\nexec ssh "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const hosts = [21, 22, 23].map((n) => ({
      name: `many-${n}`,
      address: sshd.host.address,
      port: sshd.port,
      roles: [],
      vars: {},
      sshOptions: { ...sshd.host.sshOptions, ServerAliveInterval: String(n) },
      transport: 'ssh' as const,
    }));
    // As `cutover plan` does: resolution warmed up while the runbook compiles, then asked for.
    const warming = prefetchDumps(
      wrapper,
      hosts.map((h) => resolveArgs(h)),
    );
    const { connections, problems } = await resolveConnections(hosts, { sshBinary: wrapper });
    await warming;
    expect([...connections.values()].map((c) => c.port)).toEqual([sshd.port, sshd.port, sshd.port]);
    // Three names for one sshd: the duplicate check still sees every resolution.
    expect(problems.map((p) => p.path)).toEqual(['many-22', 'many-23']);
    const [parents, shells] = [0, 1].map((field) =>
      readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .map((l) => Number(l.split(' ')[field])),
    );
    // Once each, though asked twice.
    expect(parents).toHaveLength(3);
    expect(parents).not.toContain(process.pid);
    expect(new Set(shells).size).toBe(1);
  });

  it('runs the login shell and its rc files once per session, never per command', async () => {
    const count = join(scratch, 'rc-count');
    const rc = `echo RC-NOISE; echo RC-ERR >&2; echo x >> ${count}; sleep 0.1\n`;
    await withBashrc(rc, async () => {
      const t = new SshTransport();
      try {
        const s = await t.connect(sshd.host);
        for (let i = 0; i < 10; i++)
          expect(await s.exec(`echo ${i}`)).toEqual({ code: 0, stdout: `${i}\n`, stderr: '' });
        expect(readFileSync(count, 'utf8')).toBe('x\n');
        // The copy channels do go through the login shell; its noise must not corrupt the bytes.
        const data = Buffer.from('payload\0with\nbinary\xff', 'latin1');
        await s.put(data, join(scratch, 'rc-put'));
        expect((await s.get(join(scratch, 'rc-put'))).equals(data)).toBe(true);
      } finally {
        await t.close();
      }
    });
  });

  it('rejects put and get when the host computes another sha256, changing nothing', async () => {
    const bin = join(scratch, 'lying-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'sha256sum'), `#!/bin/sh\ncat >/dev/null\necho "${'0'.repeat(64)}  -"\n`);
    chmodSync(join(bin, 'sha256sum'), 0o755);
    const target = join(scratch, 'lied-about');
    writeFileSync(target, 'original\n');
    await withBashrc(`export PATH=${bin}:$PATH\n`, async () => {
      const t = new SshTransport();
      try {
        const s = await t.connect(sshd.host);
        const put = await s.put(Buffer.from('new\n'), target).catch((e: unknown) => e);
        expect(put).toBeInstanceOf(TransportError);
        expect(String(put)).toMatch(/host computed sha256 0{64} but cutover sent [0-9a-f]{64}/);
        expect(String(put)).toContain('was not changed');
        expect(readFileSync(target, 'utf8')).toBe('original\n');
        await expect(s.get(target)).rejects.toThrow(
          /received 9 bytes with sha256 [0-9a-f]{64}, but the host computed 0{64}/,
        );
      } finally {
        await t.close();
      }
    });
    expect(execFileSync('ls', ['-A', scratch], { encoding: 'utf8' })).not.toContain('.cutover-');
  });

  it('reconnects after the master died, and says so when it cannot', async () => {
    const own = await startSshd();
    const t = new SshTransport({ reconnectDelaysMs: [0] });
    try {
      const s = await t.connect(own.host);
      const stopMaster = () =>
        spawnSync('ssh', ['-O', 'exit', '-o', `ControlPath=${t.controlDir}/0`, '127.0.0.1'], {
          encoding: 'utf8',
        });
      expect(stopMaster().status).toBe(0);
      const lost: unknown[] = [];
      await eventually(async () => {
        const r = await s.exec('echo back').catch((e: unknown) => {
          lost.push(e);
          return undefined;
        });
        return r?.stdout === 'back\n';
      }, 'reconnected through a new master');
      expect(lost.length).toBeLessThanOrEqual(1);
      expect(pgrep(`${t.controlDir}/0`).length).toBeGreaterThan(0);

      await own.stop();
      stopMaster();
      let failure: unknown;
      await eventually(async () => {
        failure = await s.exec('echo never').then(
          () => undefined,
          (e: unknown) => e,
        );
        return failure instanceof TransportError && failure.unreachable;
      }, 'reconnect failure reported');
      expect(String(failure)).toContain('unreachable: the shell on the host ended');
      expect(String(failure)).toContain('Connection refused');
      expect(String(failure)).toContain(`127.0.0.1:${own.port}`);
    } finally {
      await t.close();
      await own.stop();
    }
  });

  it('uses a host again that comes back while it reconnects (sshd killed, then restarted)', async () => {
    const own = await startSshd();
    const attempts: number[] = [];
    const t = new SshTransport({
      reconnectDelaysMs: [0, 0, 0, 0],
      // The barrier: sshd comes back only when the second attempt is about to be made.
      onReconnect: async (attempt) => {
        attempts.push(attempt);
        if (attempt === 2) await own.restart();
      },
    });
    try {
      const s = await t.connect(own.host);
      expect((await s.exec('echo before')).stdout).toBe('before\n');
      await own.crash();
      // The command that was running when sshd died (if the death was not seen yet) is lost;
      // the next one reconnects through the backoff.
      const r = await s.exec('echo after').catch(() => s.exec('echo after'));
      expect(r.stdout).toBe('after\n');
      expect(attempts).toEqual([1, 2]);
    } finally {
      await t.close();
      await own.stop();
    }
  });

  it('says a host is unreachable after the bounded attempts, and later requests fail at once', async () => {
    const own = await startSshd();
    const attempts: number[] = [];
    const t = new SshTransport({ reconnectDelaysMs: [0, 0, 0], onReconnect: (n) => void attempts.push(n) });
    try {
      const s = await t.connect(own.host);
      await own.crash();
      const failure = await s
        .exec('echo never')
        .catch((e: unknown) => e)
        .then((e) =>
          e instanceof TransportError && e.unreachable ? e : s.exec('echo never').catch((x) => x),
        );
      expect(failure).toBeInstanceOf(TransportError);
      expect((failure as TransportError).unreachable).toBe(true);
      expect(String(failure)).toMatch(
        /fixture \(root@127\.0\.0\.1:\d+\): unreachable: .*3 reconnect attempts/,
      );
      expect(String(failure)).toContain('Connection refused');
      expect(attempts).toEqual([1, 2, 3]);
      // Sticky: no second round of attempts for the same dead host.
      const again = await s.exec('echo never').catch((e: unknown) => e);
      expect(again).toBe(failure);
      expect(attempts).toEqual([1, 2, 3]);
    } finally {
      await t.close();
      await own.stop();
    }
  });

  it("closing a host's last session stops its master; the next connect starts a new one", async () => {
    const t = new SshTransport();
    try {
      const [a, b] = await Promise.all([t.connect(sshd.host), t.connect(sshd.host)]);
      const dir = t.controlDir as string;
      const masters = () =>
        pgrep(dir).filter((pid) =>
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ControlMaster=yes'),
        );
      expect(masters()).toHaveLength(1);
      await a?.close();
      // Another session still uses it.
      expect(masters()).toHaveLength(1);
      expect((await b?.exec('echo still'))?.stdout).toBe('still\n');
      await b?.close();
      await eventually(() => pgrep(dir).length === 0, 'the master to stop');
      const again = await t.connect(sshd.host);
      expect((await again.exec('echo again')).stdout).toBe('again\n');
      expect(masters()).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('close() leaves no ssh process and no control socket behind', async () => {
    const t = new SshTransport();
    const sessions = await Promise.all([t.connect(sshd.host), t.connect(sshd.host)]);
    for (const s of sessions) expect((await s.exec('echo hi')).stdout).toBe('hi\n');
    await sessions[0]?.put(Buffer.from('x'), join(scratch, 'close-put'));
    const dir = t.controlDir as string;
    expect(pgrep(dir).length).toBeGreaterThan(0);
    await t.close();
    expect(pgrep(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    await expect(sessions[1]?.exec('true')).rejects.toThrow(/closed/);
  });
});

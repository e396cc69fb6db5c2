/**
 * The cluster lock through the engine with a recording transport whose sessions say who they run
 * as (so the working folder is checked): each host's folder check travels in its lock's request,
 * one round trip per host instead of two, and a failed check still lists every host and gives the
 * lock back before anything runs. The start gate: a check the CLI runs while the engine connects.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockHeldError, PreflightError } from '../errors.js';
import { MemoryJournal } from '../journal/file-store.js';
import { engineFor } from '../testing/engine-fixture.js';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { RecordingTransport } from '../transport/recording.js';
import type { Session } from '../transport/transport.js';
import { workRootCheck, workRootTest } from './context.js';
import {
  acquireScript,
  HOST_LOCK_DIR,
  HostLease,
  lockScript,
  releaseScript,
  renewScript,
  splitCheck,
  withCheck,
} from './lease.js';

const RUNBOOK = `
name: one step
phases:
  - id: up
    hosts: all
    steps:
      - id: work
        shell.run: { command: "work-{{ host.name }}" }
`;

/** A recording session that runs as root, as a real one says in its ready frame. */
function asRoot(rec: RecordingTransport) {
  return async (h: { name: string; address: string }): Promise<Session> => {
    const s = await rec.connect({ name: h.name, address: h.address });
    return { ...s, host: s.host, user: 'root' };
  };
}

const isCheck = (script: string) => script.includes('is not a folder');
const isLock = (script: string) => script.includes(HOST_LOCK_DIR) && script.includes('mkdir -m 0755');

describe('the working folder check rides with the lock', () => {
  it('sends one request per host that checks the folder and takes the lock, and no check of its own', async () => {
    const fx = await planFixture(RUNBOOK, fakeInventory(['a', 'b']));
    const rec = new RecordingTransport();
    const lease = new HostLease('r1', 'alice');
    const outcome = await engineFor(fx, rec, new MemoryJournal(), {
      connect: asRoot(rec),
      lease: { lease, onLost: () => {} },
    }).apply();
    expect(outcome).toBe('succeeded');
    for (const host of ['a', 'b']) {
      const scripts = rec.scripts(host);
      expect(scripts.filter(isCheck)).toHaveLength(1);
      expect(scripts.filter(isLock)).toHaveLength(1);
      expect(scripts.find(isCheck)).toBe(scripts.find(isLock));
    }
  });

  it('lists every host whose folder is unusable, gives the lock back and runs nothing', async () => {
    const fx = await planFixture(RUNBOOK, fakeInventory(['a', 'b']));
    const rec = new RecordingTransport().respond('*', /cutover-lease-check-exit/, {
      code: 0,
      stdout: '\ncutover-lease-check-exit 4\nbelongs to nobody\n',
    });
    const journal = new MemoryJournal();
    const error = await engineFor(fx, rec, journal, {
      connect: asRoot(rec),
      lease: { lease: new HostLease('r1', 'alice'), onLost: () => {} },
    })
      .apply()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightError);
    const message = (error as Error).message;
    expect(message).toContain('cannot use 2 host session(s)');
    expect(message).toMatch(
      /a: cutover's working folder \/var\/tmp\/cutover belongs to nobody; steps there run as root/,
    );
    expect(message).toMatch(/b: cutover's working folder \/var\/tmp\/cutover belongs to nobody/);
    for (const host of ['a', 'b'])
      expect(rec.scripts(host).filter((s) => s.includes('rm -rf'))).toHaveLength(1);
    expect(rec.scripts().some((s) => s.includes('work-'))).toBe(false);
    expect(journal.read('r1').some((e) => e.type === 'step.started')).toBe(false);
  });
});

/** A host's lock folder as a fake session sees it: who holds it, and every script sent. */
function fakeHost(name: string, address: string, holder?: string) {
  const host = { holder, scripts: [] as string[], pending: [] as (() => void)[] };
  const session = {
    host: name,
    exec: async (script: string) => {
      host.scripts.push(script);
      // The barrier: a take answers only when the test lets it.
      await new Promise<void>((resolve) => host.pending.push(resolve));
      const run = /run=(\S+)/.exec(script)?.[1] ?? '';
      if (script.includes('mkdir -m 0755')) {
        if (host.holder && host.holder !== run)
          return { code: 3, stdout: `run=${host.holder}\noperator=bob@x\n`, stderr: '' };
        host.holder = run;
        return { code: 0, stdout: '', stderr: '' };
      }
      if (script.includes('rm -rf') && script.includes(host.holder ?? '\0')) host.holder = undefined;
      return { code: 0, stdout: '', stderr: '' };
    },
  } as unknown as Session;
  return { host, target: { host: name, address, session: async () => session } };
}

/** Answers every request sent so far, round after round, until `done` settles. */
async function answerAll(hosts: { pending: (() => void)[] }[], done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    for (const h of hosts) for (const go of h.pending.splice(0)) go();
    await new Promise<void>((r) => setImmediate(r));
  }
}

describe('taking the lock', () => {
  it('asks every free host at once (one round, not one host after another)', async () => {
    const hosts = ['10.0.0.3', '10.0.0.1', '10.0.0.2'].map((a, i) => fakeHost(`h${i}`, a));
    const lease = new HostLease('r1', 'alice');
    const done = lease.acquire(hosts.map((h) => h.target));
    await new Promise<void>((r) => setImmediate(r));
    // Every take is out before any was answered.
    expect(hosts.map((h) => h.host.scripts.length)).toEqual([1, 1, 1]);
    await answerAll(
      hosts.map((h) => h.host),
      done,
    );
    await done;
    expect(hosts.map((h) => h.host.holder)).toEqual(['r1', 'r1', 'r1']);
    expect(lease.hosts.sort()).toEqual(['h0', 'h1', 'h2']);
  });

  it('meeting a holder, gives everything back, then names the first held host in address order and keeps nothing', async () => {
    const hosts = [
      fakeHost('c', '10.0.0.9', 'other'),
      fakeHost('a', '10.0.0.1'),
      fakeHost('b', '10.0.0.2', 'other'),
    ];
    const lease = new HostLease('r1', 'alice');
    const done = lease.acquire(hosts.map((h) => h.target));
    await answerAll(
      hosts.map((h) => h.host),
      done,
    );
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as Error).message).toContain('b is held by another run');
    expect(hosts.map((h) => h.host.holder)).toEqual(['other', undefined, 'other']);
    expect(lease.hosts).toEqual([]);
  });
});

describe('the start gate (a check the CLI runs while the engine connects)', () => {
  it('is awaited after the hosts are connected and locked, and its failure runs nothing', async () => {
    const fx = await planFixture(RUNBOOK, fakeInventory(['a', 'b']));
    const rec = new RecordingTransport();
    let fail: (e: Error) => void = () => {};
    const gate = new Promise<void>((_, reject) => {
      fail = reject;
    });
    const journal = new MemoryJournal();
    const done = engineFor(fx, rec, journal, {
      lease: { lease: new HostLease('r1', 'alice'), onLost: () => {} },
      startGate: gate,
    })
      .apply()
      .catch((e: unknown) => e);
    // Barrier: both locks taken while the gate is still open.
    while (rec.scripts().filter(isLock).length < 2) await new Promise<void>((r) => setImmediate(r));
    fail(new Error('the journaled inputs rebuild another plan'));
    expect(String(await done)).toContain('rebuild another plan');
    expect(rec.scripts().some((s) => s.includes('work-'))).toBe(false);
    expect(journal.read('r1').some((e) => e.type === 'step.started')).toBe(false);
    // The lock was given back.
    for (const host of ['a', 'b'])
      expect(rec.scripts(host).filter((s) => s.includes('rm -rf'))).toHaveLength(1);
  });
});

/*
 * The host-side scripts run for real (no mocks), under every POSIX shell a host may have as
 * /bin/sh that this machine has: dash (Debian's sh), bash in POSIX mode, busybox ash.
 */
const SHELLS = [['sh'], ['bash', '--posix'], ['busybox', 'sh']].filter(
  ([cmd, ...args]) => spawnSync(cmd as string, [...args, '-c', 'true']).status === 0,
);
const asRootUser = process.getuid?.() === 0;
const NOBODY = 65534;
const HOLDER = 'run=r1\noperator=alice@x\npid=1\nsince=s\nuntil=u\n';
const OTHER = 'run=r2\noperator=bob@y\npid=2\nsince=s\nuntil=u\n';

/** A fresh folder anyone can enter (the runs as nobody need to reach inside it). */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-lease-sh-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** A lock folder `lock` in a fresh scratch folder, holding `holder` when given. */
function lockWith(holder?: string): string {
  const d = join(scratch(), 'lock');
  mkdirSync(d, { mode: 0o755 });
  if (holder !== undefined) writeFileSync(join(d, 'holder'), holder, { mode: 0o644 });
  return d;
}

describe.each(SHELLS)('the lock scripts under %s (for real)', (...shell) => {
  const [cmd, ...args] = shell as string[];
  const run = (script: string, uid?: number) => {
    const res = spawnSync(cmd as string, [...args, '-c', script], {
      encoding: 'utf8',
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  const exists = (p: string) => spawnSync('test', ['-e', p]).status === 0;

  describe('release', () => {
    const release = (d: string, uid?: number) => run(releaseScript(d, 'r1').render('exec'), uid);

    it('removes a lock whose holder names this run, also without a last newline', () => {
      for (const holder of [HOLDER, 'operator=alice@x\nrun=r1']) {
        const d = lockWith(holder);
        expect(release(d)).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(exists(d)).toBe(false);
      }
    });

    it('keeps a lock with no holder, another run as holder, or two runs named (as sed would)', () => {
      for (const holder of [undefined, OTHER, 'run=r1\nrun=r2\n', 'run=\nrun=r1\n']) {
        const d = lockWith(holder);
        expect(release(d)).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(exists(join(d, holder === undefined ? '.' : 'holder'))).toBe(true);
      }
    });

    // Root reads any file: only another user meets an unreadable holder.
    it.runIf(asRootUser)('keeps a lock whose holder it cannot read, quietly', () => {
      const d = lockWith(HOLDER);
      chmodSync(join(d, 'holder'), 0o000);
      chmodSync(d, 0o777);
      expect(release(d, NOBODY)).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(exists(join(d, 'holder'))).toBe(true);
    });
  });

  describe('acquire', () => {
    const acquire = (d: string, uid?: number) => run(acquireScript(d, 'r1', HOLDER).render('exec'), uid);

    it('takes a free host with a holder of mode 0644 whatever the umask, leaving no temporary file', () => {
      const d = join(scratch(), 'lock');
      expect(run(`umask 077\n${acquireScript(d, 'r1', HOLDER).render('exec')}`)).toEqual({
        code: 0,
        stdout: '',
        stderr: '',
      });
      expect(statSync(d).mode & 0o777).toBe(0o755);
      expect(statSync(join(d, 'holder')).mode & 0o777).toBe(0o644);
      expect(readFileSync(join(d, 'holder'), 'utf8')).toBe(HOLDER);
      expect(readdirSync(d)).toEqual(['holder']);
    });

    it('takes over a lock of this same run, writing its holder again', () => {
      const d = lockWith('run=r1\nuntil=old\n');
      expect(acquire(d)).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(readFileSync(join(d, 'holder'), 'utf8')).toBe(HOLDER);
    });

    it("exits 3 with another run's holder, changing nothing", () => {
      const d = lockWith(OTHER);
      expect(acquire(d)).toEqual({ code: 3, stdout: OTHER, stderr: '' });
      expect(readFileSync(join(d, 'holder'), 'utf8')).toBe(OTHER);
    });

    it('exits 3 with nothing to say when the lock has no holder yet', () => {
      expect(acquire(lockWith())).toEqual({ code: 3, stdout: '', stderr: '' });
    });

    it.runIf(asRootUser)('exits 3 when it cannot read the holder', () => {
      const d = lockWith(HOLDER);
      chmodSync(join(d, 'holder'), 0o000);
      chmodSync(d, 0o777);
      expect(acquire(d, NOBODY)).toEqual({ code: 3, stdout: '', stderr: '' });
    });

    it('exits 5 when the lock folder is a file', () => {
      const d = join(scratch(), 'lock');
      writeFileSync(d, 'x');
      expect(acquire(d)).toEqual({ code: 5, stdout: '', stderr: `cannot make ${d}\n` });
    });
  });

  describe('renew', () => {
    it('rewrites a holder of this run, 0644, and exits 3 with the holder of another', () => {
      const d = lockWith('run=r1\nuntil=old\n');
      expect(run(`umask 077\n${renewScript(d, 'r1', HOLDER).render('exec')}`).code).toBe(0);
      expect(readFileSync(join(d, 'holder'), 'utf8')).toBe(HOLDER);
      expect(statSync(join(d, 'holder')).mode & 0o777).toBe(0o644);
      const taken = lockWith(OTHER);
      expect(run(renewScript(taken, 'r1', HOLDER).render('exec'))).toEqual({
        code: 3,
        stdout: OTHER,
        stderr: '',
      });
    });
  });

  describe('the working folder check in the lock request', () => {
    const request = (root: string, lock: string, uid?: number) => {
      const res = run(withCheck(workRootTest(root), lockScript(lock, 'r1', HOLDER)).render('exec'), uid);
      return { code: res.code, stderr: res.stderr, ...splitCheck(res.stdout) };
    };

    it('answers 0 for a folder of its own or one it can make, and takes the lock', () => {
      const base = scratch();
      mkdirSync(join(base, 'work'));
      for (const root of [join(base, 'work'), join(base, 'not-yet')])
        expect(request(root, join(scratch(), 'lock'))).toEqual({
          code: 0,
          stderr: '',
          lock: '',
          check: { code: 0, stdout: '' },
        });
    });

    it("answers 3 for a file, and the lock's own answer stays apart", () => {
      const base = scratch();
      writeFileSync(join(base, 'work'), 'x');
      expect(request(join(base, 'work'), lockWith(OTHER))).toEqual({
        code: 3,
        stderr: '',
        lock: OTHER,
        check: { code: 3, stdout: 'is not a folder' },
      });
    });

    it.runIf(asRootUser)("answers 4 naming the owner of another user's folder", () => {
      const root = join(scratch(), 'work');
      mkdirSync(root);
      chownSync(root, NOBODY, NOBODY);
      expect(request(root, join(scratch(), 'lock')).check).toEqual({ code: 4, stdout: 'belongs to nobody' });
    });

    it.runIf(asRootUser)('answers 6 naming the parent it cannot write', () => {
      const base = scratch();
      const lockBase = scratch();
      chmodSync(lockBase, 0o777);
      expect(request(join(base, 'work'), join(lockBase, 'lock'), NOBODY)).toEqual({
        code: 0,
        stderr: '',
        lock: '',
        check: { code: 6, stdout: `cannot be made: ${base} is not writable` },
      });
    });

    it('as a request of its own, exits with the code and says the reason on stdout', () => {
      const base = scratch();
      writeFileSync(join(base, 'work'), 'x');
      expect(run(workRootCheck(join(base, 'work')).render('exec'))).toEqual({
        code: 3,
        stdout: 'is not a folder\n',
        stderr: '',
      });
      expect(run(workRootCheck(base).render('exec'))).toEqual({ code: 0, stdout: '', stderr: '' });
    });
  });
});

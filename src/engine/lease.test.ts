/**
 * The cluster lock through the engine with a recording transport whose sessions say who they run
 * as (so the working folder is checked): each host's folder check travels in its lock's request,
 * one round trip per host instead of two, and a failed check still lists every host and gives the
 * lock back before anything runs. The start gate: a check the CLI runs while the engine connects.
 */
import { describe, expect, it } from 'vitest';
import { LockHeldError, PreflightError } from '../errors.js';
import { MemoryJournal } from '../journal/file-store.js';
import { engineFor } from '../testing/engine-fixture.js';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { RecordingTransport } from '../transport/recording.js';
import type { Session } from '../transport/transport.js';
import { HOST_LOCK_DIR, HostLease } from './lease.js';

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

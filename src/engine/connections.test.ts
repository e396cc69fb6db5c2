/**
 * Connections bounded by the window, not by the fleet (issue 15, item 4), through the engine with a
 * recording transport: at most N connections set up at once, a host's connection closed once its
 * work in the run is done (kept while a later phase or a balancer needs it), and reopened by itself
 * when an undo or the lease needs the host again. Orders come from barriers, never durations.
 */
import { describe, expect, it } from 'vitest';
import type { Host } from '../inventory/model.js';
import { MemoryJournal } from '../journal/file-store.js';
import { engineFor } from '../testing/engine-fixture.js';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { RecordingTransport } from '../transport/recording.js';
import type { Session } from '../transport/transport.js';
import { Connections, Gate } from './connections.js';

/** Lets every settled promise's callbacks run (a barrier on the event loop, not a duration). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A connect over the recording that counts, per host, connects and closes, and how many connects overlap. */
function countingConnect(rec: RecordingTransport, hold?: Map<string, () => void>) {
  const opened = new Map<string, number>();
  const closed = new Map<string, number>();
  let inFlight = 0;
  let peak = 0;
  const connect = async (h: Host): Promise<Session> => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    try {
      if (hold) await new Promise<void>((resolve) => hold.set(h.name, resolve));
      const s = await rec.connect({ name: h.name, address: h.address });
      opened.set(h.name, (opened.get(h.name) ?? 0) + 1);
      return {
        ...s,
        host: s.host,
        close: async () => {
          closed.set(h.name, (closed.get(h.name) ?? 0) + 1);
          await s.close();
        },
      };
    } finally {
      inFlight -= 1;
    }
  };
  const isOpen = (h: string) => (opened.get(h) ?? 0) > (closed.get(h) ?? 0);
  return { connect, opened, closed, isOpen, inFlight: () => inFlight, peak: () => peak };
}

const TWO_PHASES = `
name: two phases
phases:
  - id: one
    hosts: all
    rolling: { window: 1 }
    steps:
      - id: work
        shell.run: { command: "one-{{ host.name }}", undo: "undo-one-{{ host.name }}" }
  - id: two
    hosts: { hosts: [b] }
    steps:
      - id: work
        shell.run: { command: "two-{{ host.name }}" }
`;

describe('connections bounded by the window', () => {
  it('sets up at most connect_concurrency connections at once at preflight', async () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    const fx = await planFixture(TWO_PHASES.replace('[b]', '[a]'), fakeInventory(hosts));
    const rec = new RecordingTransport();
    const hold = new Map<string, () => void>();
    const c = countingConnect(rec, hold);
    const done = engineFor(fx, rec, new MemoryJournal(), {
      connect: c.connect,
      connections: { concurrency: 2 },
    }).apply();
    await settle();
    expect(c.inFlight()).toBe(2);
    expect([...hold.keys()]).toEqual(['a', 'b']);
    hold.get('b')?.();
    await settle();
    // One place freed, one more host connects: never more than two.
    expect(c.inFlight()).toBe(2);
    expect([...hold.keys()]).toEqual(['a', 'b', 'c']);
    for (const h of hosts) {
      await settle();
      hold.get(h)?.();
    }
    await settle();
    for (const h of hosts) hold.get(h)?.();
    expect(await done).toBe('succeeded');
    expect(c.peak()).toBe(2);
  });

  it("closes a host's connection after its last phase, keeps one a later phase needs, and closes all at the end", async () => {
    const fx = await planFixture(TWO_PHASES, fakeInventory(['a', 'b', 'c']));
    const rec = new RecordingTransport();
    let releaseTwo: () => void = () => {};
    rec.respond('b', 'two-b', () => new Promise((resolve) => (releaseTwo = () => resolve({ code: 0 }))));
    const c = countingConnect(rec);
    const done = engineFor(fx, rec, new MemoryJournal(), {
      connect: c.connect,
      connections: { keepOpen: 0 },
    }).apply();
    while (!rec.scripts('b').includes('two-b')) await settle(1);
    await settle();
    // Phase two is in flight on b: a and c are done with the run, b is not.
    expect(c.isOpen('a')).toBe(false);
    expect(c.isOpen('c')).toBe(false);
    expect(c.isOpen('b')).toBe(true);
    releaseTwo();
    expect(await done).toBe('succeeded');
    for (const h of ['a', 'b', 'c']) expect(c.isOpen(h)).toBe(false);
  });

  it('closes a host as soon as it finishes its last phase, while other hosts of that phase are in flight', async () => {
    const runbook = `
name: second phase
phases:
  - id: first
    hosts: { hosts: [x] }
    steps:
      - id: work
        shell.run: { command: "first-{{ host.name }}" }
  - id: second
    hosts: { hosts: [a, b] }
    rolling: { window: 1 }
    steps:
      - id: work
        shell.run: { command: "second-{{ host.name }}" }
`;
    const fx = await planFixture(runbook, fakeInventory(['x', 'a', 'b']));
    const rec = new RecordingTransport();
    let releaseB: () => void = () => {};
    rec.respond('b', 'second-b', () => new Promise((resolve) => (releaseB = () => resolve({ code: 0 }))));
    const c = countingConnect(rec);
    const done = engineFor(fx, rec, new MemoryJournal(), {
      connect: c.connect,
      connections: { keepOpen: 0 },
    }).apply();
    while (!rec.scripts('b').includes('second-b')) await settle(1);
    await settle();
    // a finished phase `second` (its last) before b started: closed without waiting for the phase to end.
    expect(c.isOpen('a')).toBe(false);
    expect(c.isOpen('b')).toBe(true);
    releaseB();
    expect(await done).toBe('succeeded');
  });

  it('keeps the most recently finished hosts open up to keep_open', async () => {
    const fx = await planFixture(TWO_PHASES.replace('[b]', '[a]'), fakeInventory(['a', 'b', 'c', 'd']));
    const rec = new RecordingTransport();
    let releaseTwo: () => void = () => {};
    rec.respond('a', 'two-a', () => new Promise((resolve) => (releaseTwo = () => resolve({ code: 0 }))));
    const c = countingConnect(rec);
    const done = engineFor(fx, rec, new MemoryJournal(), {
      connect: c.connect,
      connections: { keepOpen: 2 },
    }).apply();
    while (!rec.scripts('a').includes('two-a')) await settle(1);
    await settle();
    // b, c, d finished in that order: the oldest (b) was closed, c and d kept; a still works.
    expect(['a', 'b', 'c', 'd'].map(c.isOpen)).toEqual([true, false, true, true]);
    releaseTwo();
    expect(await done).toBe('succeeded');
    // After preflight only the first two in the order of work (a, b) kept theirs: c and d logged in again.
    expect(['a', 'b', 'c', 'd'].map((h) => c.opened.get(h))).toEqual([1, 1, 2, 2]);
  });

  it("reconnects by itself when a host closed after preflight starts, and for its saga's undo", async () => {
    const fx = await planFixture(TWO_PHASES, fakeInventory(['a', 'b']));
    const rec = new RecordingTransport().fail('b', 'two-b');
    const c = countingConnect(rec);
    const journal = new MemoryJournal();
    const outcome = await engineFor(fx, rec, journal, {
      connect: c.connect,
      connections: { keepOpen: 0 },
    })
      .apply()
      .catch((e: Error) => e.message);
    expect(outcome).toMatch(/two/);
    // a: preflight, then its phase. b: preflight, phase one (closed: keep_open 0 trims it), phase two.
    expect(c.opened.get('a')).toBe(2);
    expect(c.opened.get('b')).toBe(2);
    // b's saga undid phase one's step over the reopened connection.
    expect(rec.scripts('b')).toContain('undo-one-b');
    const b = journal.read('r1').find((e) => e.type === 'compensation.succeeded' && e.step === 'one/work@b');
    expect(b).toBeDefined();
    expect(c.isOpen('a') || c.isOpen('b')).toBe(false);
  });

  it('keeps a balancer open while its phase runs, closes it when no later phase needs it', async () => {
    const runbook = `
name: behind a balancer
phases:
  - id: up
    hosts: { roles: [app] }
    rolling: { window: 1 }
    balancer:
      hosts: { roles: [lb] }
      commands: { drain: "echo drain", drained: "echo drained", undrain: "echo undrain" }
    steps:
      - id: work
        shell.run: { command: "work-{{ host.name }}" }
  - id: after
    hosts: { roles: [app] }
    steps:
      - id: check
        shell.run: { command: "check-{{ host.name }}", readonly: true }
`;
    const fx = await planFixture(
      runbook,
      fakeInventory(['a', 'b', 'lb'], { a: ['app'], b: ['app'], lb: ['lb'] }),
    );
    // The drain says which balancers it drained (the undo puts back only those).
    const rec = new RecordingTransport().respond('lb', 'echo drained_lb=1', { stdout: 'drained_lb=1\n' });
    let releaseCheck: () => void = () => {};
    rec.respond('a', 'check-a', () => new Promise((resolve) => (releaseCheck = () => resolve({ code: 0 }))));
    const c = countingConnect(rec);
    const done = engineFor(fx, rec, new MemoryJournal(), {
      connect: c.connect,
      connections: { keepOpen: 0 },
    }).apply();
    while (!rec.scripts('a').includes('check-a')) await settle(1);
    await settle();
    // lb drained and undrained both hosts over one connection (its second login: keep_open 0 closed
    // it after preflight), kept between the hosts, and closed when phase \`up\` ended.
    expect(rec.scripts('lb').filter((s) => s.includes('undrain'))).toHaveLength(2);
    expect(c.opened.get('lb')).toBe(2);
    expect(c.isOpen('lb')).toBe(false);
    releaseCheck();
    expect(await done).toBe('succeeded');
  });
});

describe('Connections', () => {
  it('closes a released connection only after its command returns, and reconnects on the next use', async () => {
    const rec = new RecordingTransport();
    let finish: () => void = () => {};
    rec.respond('web', 'slow', () => new Promise((resolve) => (finish = () => resolve({ code: 0 }))));
    const c = countingConnect(rec);
    const pool = new Connections(c.connect, { concurrency: 1, keepOpen: 0 });
    const host = { name: 'web', address: '10.0.0.10' } as Host;
    const session = await pool.session(host, undefined);
    const slow = session.exec('slow');
    await settle();
    const released = pool.release('web');
    await settle();
    expect(c.isOpen('web')).toBe(true);
    finish();
    expect((await slow).code).toBe(0);
    await released;
    expect(c.isOpen('web')).toBe(false);
    expect((await session.exec('again')).code).toBe(0);
    expect(c.opened.get('web')).toBe(2);
    await pool.closeAll();
    expect(c.isOpen('web')).toBe(false);
  });

  it('a gate lets the next waiter in as soon as a place is free, in arrival order', async () => {
    const gate = new Gate(1);
    const order: string[] = [];
    let open: () => void = () => {};
    const first = gate.run(() => new Promise<void>((r) => (open = r)).then(() => order.push('first')));
    const second = gate.run(async () => order.push('second'));
    const third = gate.run(async () => order.push('third'));
    await settle();
    expect(order).toEqual([]);
    open();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
  });
});

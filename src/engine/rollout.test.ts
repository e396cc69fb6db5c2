import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../journal/events.js';
import { MemoryJournal } from '../journal/file-store.js';
import { fakeInventory, groupedInventory, planFixture } from '../testing/plan-fixture.js';
import { RecordingTransport } from '../transport/recording.js';
import { FakeClock } from '../actions/clock.js';
import { crashAfterStart, engineFor } from '../testing/engine-fixture.js';

// Health answers for neighbours come from a real local server; hosts themselves are recorded.
const unhealthy = new Set<string>();
/** Health probes answered, per host name. */
const probes = new Map<string, number>();
let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = req.url?.split('/').pop() ?? '';
    probes.set(name, (probes.get(name) ?? 0) + 1);
    res.writeHead(unhealthy.has(name) ? 503 : 200).end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const SITE = `server {
    listen 80;
    location / {
        proxy_pass http://127.0.0.1:8080;
    }
}
`;

function drainRunbook(rolling: string): string {
  return `
name: drain
phases:
  - id: up
    name: upgrade
    hosts: { roles: [app] }
    rolling: ${rolling}
    drain:
      config: /etc/nginx/site
      locations: [/]
      upstream: "http://{{ neighbour.address }}:8080"
      neighbours: { roles: [app] }
      health: { url: "http://127.0.0.1:${port}/health/{{ neighbour.name }}", status: [200] }
      max_drained: 1
    steps:
      - id: work
        shell.run: { command: "upgrade-{{ host.name }}" }
`;
}

async function run(rolling: string, setup: (rec: RecordingTransport) => void = () => {}) {
  const fx = await planFixture(drainRunbook(rolling), fakeInventory(['a', 'b', 'c']));
  const rec = new RecordingTransport();
  for (const h of ['a', 'b', 'c']) rec.setFile(h, '/etc/nginx/site', SITE);
  setup(rec);
  const journal = new MemoryJournal();
  const outcome = await engineFor(fx, rec, journal)
    .apply()
    .catch((e: Error) => e);
  return { rec, events: journal.read('r1'), outcome };
}

function routes(events: JournalEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'drain.routed' ? [`${e.host}->${e.neighbour}`] : []));
}

/** Resolves once the journal holds an event that `pick` accepts (a barrier, not a duration). */
async function journaled(journal: MemoryJournal, pick: (e: JournalEvent) => boolean): Promise<void> {
  while (!journal.read('r1').some(pick)) await new Promise<void>((r) => setImmediate(r));
}

describe('the health guard: a host is done only while it stays healthy', () => {
  async function guarded(setup: (rec: RecordingTransport, journal: MemoryJournal) => void) {
    const fx = await planFixture(drainRunbook('{ serial: 1 }'), fakeInventory(['a', 'b', 'c']));
    const rec = new RecordingTransport();
    for (const h of ['a', 'b', 'c']) rec.setFile(h, '/etc/nginx/site', SITE);
    const journal = new MemoryJournal();
    setup(rec, journal);
    const outcome = await engineFor(fx, rec, journal)
      .apply()
      .catch((e: Error) => e);
    return { events: journal.read('r1'), outcome };
  }

  it('fails the run when a host already upgraded goes down while the next one is in flight; nothing new starts', async () => {
    unhealthy.clear();
    const { events, outcome } = await guarded((rec, journal) =>
      // While b is being upgraded, a (done) goes down; b's step waits until the guard has said so.
      rec.respond('b', 'upgrade-b', async () => {
        unhealthy.add('a');
        await journaled(journal, (e) => e.type === 'host.unhealthy' && e.host === 'a');
        return {};
      }),
    );
    unhealthy.clear();
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(
      /a went down after its upgrade \(phase up\): http:\/\/127\.0\.0\.1:\d+\/health\/a answered 503/,
    );
    expect((outcome as { hint?: string }).hint).toContain('cutover rollback r1');
    expect(events.find((e) => e.type === 'host.unhealthy')).toMatchObject({
      host: 'a',
      phase: 'up',
      seen: '503',
    });
    // b was in flight: it finished; c never started; the run is failed, not succeeded.
    expect(events.find((e) => e.type === 'host.finished' && e.host === 'b')).toMatchObject({
      outcome: 'succeeded',
    });
    expect(events.some((e) => e.type === 'host.started' && e.host === 'c')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'failed' });
  });

  it('does not take a host that a later phase works on again for a host that went down', async () => {
    unhealthy.clear();
    const twoPhases = `${drainRunbook('{ serial: 1 }')}
  - id: again
    name: a second pass
    hosts: { roles: [app] }
    rolling: { serial: 1 }
    drain:
      config: /etc/nginx/site
      locations: [/]
      upstream: "http://{{ neighbour.address }}:8080"
      neighbours: { roles: [app] }
      health: { url: "http://127.0.0.1:${port}/health/{{ neighbour.name }}", status: [200] }
    steps:
      - id: restart
        shell.run: { command: "restart-{{ host.name }}" }
`;
    const fx = await planFixture(twoPhases, fakeInventory(['a', 'b', 'c']));
    const rec = new RecordingTransport();
    for (const h of ['a', 'b', 'c']) rec.setFile(h, '/etc/nginx/site', SITE);
    const journal = new MemoryJournal();
    // a is down while the second phase restarts it, until the guard has made four more rounds
    // (it still guards b, so b's probes count them): a barrier, not a duration.
    rec.respond('a', 'restart-a', async () => {
      unhealthy.add('a');
      const before = probes.get('b') ?? 0;
      while ((probes.get('b') ?? 0) < before + 4) await new Promise<void>((r) => setImmediate(r));
      unhealthy.delete('a');
      return {};
    });
    const outcome = await engineFor(fx, rec, journal).apply();
    expect(outcome).toBe('succeeded');
    expect(journal.read('r1').filter((e) => e.type === 'host.unhealthy')).toEqual([]);
  });

  it('checks every upgraded host before it says succeeded: the last host down at the end fails the run', async () => {
    unhealthy.clear();
    // c goes down right after its traffic went back: its second reload (the restore's) is its last command.
    let reloads = 0;
    const { events, outcome } = await guarded((rec) =>
      rec.respond(
        'c',
        (script) => script.includes('nginx -s reload') && ++reloads === 2,
        () => {
          unhealthy.add('c');
          return {};
        },
      ),
    );
    unhealthy.clear();
    expect(String(outcome)).toMatch(/c went down after its upgrade/);
    expect(events.filter((e) => e.type === 'host.unhealthy').map((e) => 'host' in e && e.host)).toEqual([
      'c',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'failed' });
  });
});

describe('a drain whose nginx -t fails', () => {
  it('says which step failed and why, and the untouched file is not reported as a failed undo', async () => {
    unhealthy.clear();
    const { events, outcome } = await run('{ serial: 1 }', (rec) =>
      rec.fail('a', 'nginx -t', {
        stderr: 'nginx: [emerg] unknown directive "proxy_pas" in /etc/nginx/site:4',
      }),
    );
    expect(String(outcome)).toContain('up/drain@a');
    expect(String(outcome)).toContain('unknown directive');
    expect(events.filter((e) => e.type === 'compensation.failed')).toEqual([]);
  });
});

describe('rolling policy and drain budget', () => {
  it('routes each host to a healthy neighbour that is not being upgraded, and restores it after', async () => {
    unhealthy.clear();
    unhealthy.add('b');
    // b is unhealthy while a is drained, and recovers while a works.
    const { rec, events, outcome } = await run('{ serial: 1 }', (r) =>
      r.respond('a', 'upgrade-a', () => {
        unhealthy.delete('b');
        return {};
      }),
    );
    expect(outcome).toBe('succeeded');
    // a: b is unhealthy, so c; b and c: a is healthy and done by then.
    expect(routes(events)).toEqual(['a->c', 'b->a', 'c->a']);
    // a's nginx was rewritten to c's address, validated and reloaded, all before a's own work.
    const a = rec.calls.filter((c) => c.host === 'a');
    const put = a.find((c) => c.type === 'put' && c.path === '/etc/nginx/site');
    expect(put?.type === 'put' && put.data.toString()).toContain('proxy_pass http://10.9.0.3:8080;');
    const scripts = a.flatMap((c) => (c.type === 'exec' ? [c.script] : []));
    const order = ['nginx -t', 'nginx -s reload', 'upgrade-a'].map((s) =>
      scripts.findIndex((x) => x.includes(s)),
    );
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(order.every((i) => i >= 0)).toBe(true);
    // Traffic came back (the undo restores the original byte-identical copy) before b was touched.
    const restoredA = events.findIndex((e) => e.type === 'compensation.succeeded' && e.step === 'up/drain@a');
    const firstB = events.findIndex((e) => e.type === 'host.started' && e.host === 'b');
    expect(restoredA).toBeGreaterThan(0);
    expect(restoredA).toBeLessThan(firstB);
  });

  it('fails a host, without touching it, when no neighbour is healthy', async () => {
    unhealthy.clear();
    for (const h of ['b', 'c']) unhealthy.add(h);
    const { rec, events, outcome } = await run('{ serial: 1 }');
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(/no healthy neighbour to take a's traffic: b \(.*503\); c \(.*503\)/);
    expect(rec.calls.filter((c) => c.host === 'a' && c.type !== 'exec')).toEqual([]);
    expect(events.some((e) => e.type === 'host.started' && e.host === 'b')).toBe(false);
  });

  it('never drains more than max_drained hosts at once, even with serial 3', async () => {
    unhealthy.clear();
    const { events, outcome } = await run('{ serial: 3 }');
    expect(outcome).toBe('succeeded');
    let drained = 0;
    let most = 0;
    for (const e of events) {
      if (e.type === 'drain.routed') drained += 1;
      if (e.type === 'compensation.succeeded' && e.step.includes('/drain@')) drained -= 1;
      most = Math.max(most, drained);
    }
    expect(most).toBe(1);
  });

  it("never starts a host while it carries a drained neighbour's traffic", async () => {
    unhealthy.clear();
    const fx = await planFixture(
      drainRunbook('{ serial: 3 }').replace('max_drained: 1', 'max_drained: 2'),
      fakeInventory(['a', 'b', 'c']),
    );
    const rec = new RecordingTransport();
    for (const h of ['a', 'b', 'c']) rec.setFile(h, '/etc/nginx/site', SITE);
    // b works longer than a, so a's drain slot is free while b's traffic is still on c.
    rec.respond('b', 'upgrade-b', async () => {
      for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
      return {};
    });
    const journal = new MemoryJournal();
    expect(await engineFor(fx, rec, journal).apply()).toBe('succeeded');
    const events = journal.read('r1');
    const r = routes(events);
    expect(r.slice(0, 2).sort()).toEqual(['a->c', 'b->c']);
    const restored = (h: string) =>
      events.findIndex((e) => e.type === 'compensation.succeeded' && e.step === `up/drain@${h}`);
    const cStarted = events.findIndex((e) => e.type === 'host.started' && e.host === 'c');
    expect(cStarted).toBeGreaterThan(restored('a'));
    expect(cStarted).toBeGreaterThan(restored('b'));
    // At every route, the neighbour was neither drained nor being upgraded.
    const busy = new Set<string>();
    for (const e of events) {
      if (e.type === 'host.started') busy.add(e.host);
      if (e.type === 'host.finished') busy.delete(e.host);
      if (e.type === 'drain.routed') expect(busy.has(e.neighbour), `${e.host}->${e.neighbour}`).toBe(false);
    }
  });

  it('runs a canary, pauses on the clock, then the rest in one batch', async () => {
    unhealthy.clear();
    const fx = await planFixture(
      `
name: canary
phases:
  - name: p
    hosts: all
    rolling: { serial: 2, canary: { hosts: 1, pause: 10m } }
    steps:
      - shell.run: { command: "work" }
`,
      fakeInventory(['a', 'b', 'c']),
    );
    const journal = new MemoryJournal();
    const clock = new FakeClock();
    const times: Record<string, number> = {};
    await engineFor(fx, new RecordingTransport(), journal, {
      clock,
      onEvent: (e) => {
        if (e.type === 'host.started') times[e.host] = clock.now();
      },
    }).apply();
    expect((times.b as number) - (times.a as number)).toBeGreaterThanOrEqual(10 * 60_000);
    expect(times.c).toBe(times.b);
    const started = journal.read('r1').filter((e) => e.type === 'host.started' || e.type === 'host.finished');
    expect(started.map((e) => `${e.type}:${'host' in e ? e.host : ''}`).slice(2, 4)).toEqual([
      'host.started:b',
      'host.started:c',
    ]);
  });

  it('goes on within the failure budget and stops beyond it', async () => {
    unhealthy.clear();
    const book = (budget: number) => `
name: budget
phases:
  - name: p
    hosts: all
    rolling: { serial: 1, failure_budget: ${budget} }
    steps:
      - shell.run: { command: "work-{{ host.name }}" }
`;
    for (const [budget, expected] of [
      [1, ['a', 'b', 'c']],
      [0, ['a']],
    ] as const) {
      const fx = await planFixture(book(budget), fakeInventory(['a', 'b', 'c']));
      const rec = new RecordingTransport().fail('a', 'work-a', { code: 1 });
      const journal = new MemoryJournal();
      await expect(engineFor(fx, rec, journal).apply()).rejects.toThrow(/work-a/);
      expect([...new Set(rec.calls.map((c) => c.host))]).toEqual(expected);
    }
  });
});

describe('a failure stops the rollout at once', () => {
  it('starts no host in another group while the failed host is still being put back', async () => {
    const fx = await planFixture(
      `
name: groups
phases:
  - name: p
    hosts: all
    rolling: { serial: 1, group_by: host.vars.svc, failure_budget: 0 }
    steps:
      - shell.run: { command: "work-{{ host.name }}", undo: "undo-{{ host.name }}" }
`,
      groupedInventory({ x1: 'x', x2: 'x', y1: 'y', y2: 'y' }),
    );
    // y1 fails at once; its undo lasts until x1, still working when y1 failed, has finished.
    let undoStarted!: () => void;
    const yUndoing = new Promise<void>((r) => {
      undoStarted = r;
    });
    let x1Done!: () => void;
    const x1Finished = new Promise<void>((r) => {
      x1Done = r;
    });
    const ticks = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
    };
    const rec = new RecordingTransport()
      .fail('y1', 'work-y1', { stderr: 'boom' })
      .respond('x1', 'work-x1', async () => {
        await yUndoing;
        return {};
      })
      .respond('y1', 'undo-y1', async () => {
        undoStarted();
        await x1Finished;
        await ticks(20);
        return {};
      });
    const journal = new MemoryJournal();
    const outcome = await engineFor(fx, rec, journal, {
      onEvent: (e) => {
        if (e.type === 'host.finished' && e.host === 'x1') x1Done();
      },
    })
      .apply()
      .catch((e: Error) => e);
    expect(outcome).toBeInstanceOf(Error);
    const events = journal.read('r1');
    const hosts = events.flatMap((e) => (e.type === 'host.started' ? [e.host] : []));
    expect(hosts.sort()).toEqual(['x1', 'y1']);
    // x1 was in flight: it finished its own steps and was not undone.
    expect(events.find((e) => e.type === 'host.finished' && e.host === 'x1')).toMatchObject({
      outcome: 'succeeded',
    });
    expect(rec.scripts('x1').some((s) => s.includes('undo-x1'))).toBe(false);
    expect(rec.scripts('y1').some((s) => s.includes('undo-y1'))).toBe(true);
  });
});

describe('max_unavailable across groups', () => {
  it('caps the hosts of all groups in flight at once; without it each group rolls on its own', async () => {
    const inventory = groupedInventory({ x1: 'x', x2: 'x', y1: 'y', y2: 'y', z1: 'z', z2: 'z' });
    const most = async (rolling: string) => {
      const fx = await planFixture(
        `
name: groups
phases:
  - name: p
    hosts: all
    rolling: ${rolling}
    steps:
      - shell.run: { command: "work-{{ host.name }}" }
`,
        inventory,
      );
      const clock = new FakeClock();
      const journal = new MemoryJournal();
      // Every command takes a minute of virtual time, so hosts overlap as they would for real.
      const rec = new RecordingTransport({ delay: () => clock.sleep(60_000) });
      await engineFor(fx, rec, journal, { clock }).apply();
      let inFlight = 0;
      let peak = 0;
      for (const e of journal.read('r1')) {
        if (e.type === 'host.started') inFlight += 1;
        if (e.type === 'host.finished') inFlight -= 1;
        peak = Math.max(peak, inFlight);
      }
      const started = journal.read('r1').filter((e) => e.type === 'host.started');
      return { peak, started: started.length, plan: fx.plan };
    };
    const free = await most('{ serial: 1, group_by: host.vars.svc }');
    expect(free).toMatchObject({ peak: 3, started: 6 });
    const capped = await most('{ serial: 1, group_by: host.vars.svc, max_unavailable: 2 }');
    expect(capped).toMatchObject({ peak: 2, started: 6 });
    expect(free.plan.phases[0]?.rolling.maxUnavailable).toBeUndefined();
    expect(capped.plan.phases[0]?.rolling.maxUnavailable).toBe(2);
  });
});

describe('resume with traffic still drained', () => {
  it('keeps the neighbour that carries it from starting until it is restored', async () => {
    unhealthy.clear();
    const runbook = drainRunbook('{ serial: 1, group_by: host.vars.svc }');
    const inventory = groupedInventory({ a: 'x', b: 'y' });
    const fx = await planFixture(runbook, inventory);
    const journal = new MemoryJournal();
    // The controller dies while a works, a's traffic on b. b's own upgrade waits behind a's.
    const crashing = crashAfterStart(journal, 'up/work@a');
    const rec = new RecordingTransport();
    for (const h of ['a', 'b']) rec.setFile(h, '/etc/nginx/site', SITE);
    await engineFor(fx, rec, crashing)
      .apply()
      .catch(() => undefined);
    const before = journal.read('r1');
    expect(routes(before)).toEqual(['a->b']);
    const resumedAt = before.length;
    expect(rec.file('a', '/etc/nginx/site')?.toString()).toContain('10.9.0.2');
    // The same hosts (their files as the first run left them); a's work is run again.
    expect(await engineFor(fx, rec, journal, { rerun: new Set(['up/work@a']) }).resume()).toBe('succeeded');
    const after = journal.read('r1').slice(resumedAt);
    const restoredA = after.findIndex((e) => e.type === 'compensation.succeeded' && e.step === 'up/drain@a');
    const startedB = after.findIndex((e) => e.type === 'host.started' && e.host === 'b');
    expect(restoredA).toBeGreaterThanOrEqual(0);
    expect(startedB).toBeGreaterThan(restoredA);
    // And b, once a was back, drained to a.
    expect(routes(journal.read('r1').slice(resumedAt))).toEqual(['b->a']);
  });
});

import { describe, expect, it } from 'vitest';
import type { RollingPolicy } from '../runbook/model.js';
import {
  batches,
  decide,
  pool,
  RollingWindow,
  stages,
  type Waiting,
  type WindowCounts,
  type WindowLimits,
} from './rolling.js';

const policy = (p: Partial<RollingPolicy>): RollingPolicy => ({ serial: 1, failureBudget: 0, ...p });
const limits = (l: Partial<WindowLimits> = {}): WindowLimits => ({
  maxUnavailable: Number.MAX_SAFE_INTEGER,
  maxDrained: 1,
  failureBudget: 0,
  ...l,
});
const counts = (c: Partial<WindowCounts> = {}): WindowCounts => ({
  places: 0,
  drainPlaces: 0,
  carriedBy: new Map(),
  stopped: false,
  ...c,
});
const waiting = (
  host: string,
  drain: Waiting['drain'] = 'none',
  need: Waiting['need'] = 'place',
): Waiting => ({
  host,
  need,
  drain,
  holds: { place: need !== 'place', drain: need === 'carry' && drain !== 'none' },
});
const hosts = (ws: readonly Waiting[]) => ws.map((w) => w.host);

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('batches', () => {
  it('cuts serial hosts at a time, the canary first', () => {
    expect(batches(['a', 'b', 'c', 'd'], policy({ serial: 2 }))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(batches(['a', 'b', 'c', 'd'], policy({ serial: 2, canary: { hosts: 1 } }))).toEqual([
      ['a'],
      ['b', 'c'],
      ['d'],
    ]);
  });

  it('never makes a batch bigger than max_unavailable, nor smaller than one host', () => {
    expect(batches(['a', 'b', 'c'], policy({ serial: 3, maxUnavailable: 2 }))).toEqual([['a', 'b'], ['c']]);
    expect(batches(['a', 'b'], policy({ serial: 0 }))).toEqual([['a'], ['b']]);
    expect(batches([], policy({ serial: 2 }))).toEqual([]);
  });
});

describe('decide', () => {
  it('starts hosts while places last, first come first served', () => {
    const d = decide([waiting('a'), waiting('b'), waiting('c')], counts(), limits({ maxUnavailable: 2 }));
    expect(hosts(d.start)).toEqual(['a', 'b']);
    expect(hosts(d.waiting)).toEqual(['c']);
    expect(d.counts.places).toBe(2);
  });

  it('holds a drained host to the drain budget, keeping the place it already has', () => {
    const d = decide([waiting('a', 'needed'), waiting('b', 'needed'), waiting('c')], counts(), limits());
    expect(hosts(d.start)).toEqual(['a', 'c']);
    expect(d.waiting).toEqual([
      { host: 'b', need: 'drain', drain: 'needed', holds: { place: true, drain: false } },
    ]);
    expect(d.counts).toMatchObject({ places: 3, drainPlaces: 1 });
  });

  it('lets no later host overtake one waiting for a place', () => {
    const d = decide([waiting('a'), waiting('b')], counts({ places: 1 }), limits({ maxUnavailable: 1 }));
    expect(d.start).toEqual([]);
    expect(hosts(d.waiting)).toEqual(['a', 'b']);
  });

  it('keeps a host that carries a drained neighbour’s traffic waiting until it is back', () => {
    const carried = counts({ carriedBy: new Map([['x', 'a']]) });
    const d = decide([waiting('a'), waiting('b')], carried, limits());
    expect(hosts(d.start)).toEqual(['b']);
    expect(d.waiting).toEqual([
      { host: 'a', need: 'carry', drain: 'none', holds: { place: true, drain: false } },
    ]);
  });

  it('once stopped, skips waiting hosts and gives their places back, but finishes a drain left open', () => {
    const queue = [waiting('a', 'needed', 'carry'), waiting('b', 'open', 'carry'), waiting('c', 'open')];
    const d = decide(queue, counts({ places: 2, drainPlaces: 2, stopped: true }), limits({ maxDrained: 2 }));
    expect(hosts(d.skip)).toEqual(['a', 'c']);
    expect(hosts(d.start)).toEqual(['b']);
    expect(d.counts).toMatchObject({ places: 1, drainPlaces: 1 });
  });
});

describe('RollingWindow', () => {
  it('gives a finished host’s place to the next one waiting', async () => {
    const w = new RollingWindow(limits({ maxUnavailable: 1 }));
    const turns: string[] = [];
    for (const h of ['a', 'b']) void w.turn(h, 'none').then((t) => turns.push(`${h}:${t}`));
    await settle();
    expect(turns).toEqual(['a:start']);
    expect(w.canCarry('a')).toBe(false);
    w.finish('a');
    await settle();
    expect(turns).toEqual(['a:start', 'b:start']);
    expect(w.canCarry('a')).toBe(true);
  });

  it('keeps a reserved neighbour from starting until the traffic it carries is restored', async () => {
    const w = new RollingWindow(limits({ maxDrained: 2 }));
    const turns: string[] = [];
    void w.turn('a', 'needed').then((t) => turns.push(`a:${t}`));
    await settle();
    w.carry('a', 'b');
    w.drained('a');
    expect(w.canCarry('a')).toBe(false);
    void w.turn('b', 'needed').then((t) => turns.push(`b:${t}`));
    await settle();
    expect(turns).toEqual(['a:start']);
    w.restored('a');
    await settle();
    expect(turns).toEqual(['a:start', 'b:start']);
  });

  it('counts a drain left open by a resume against the budget until its host finishes', async () => {
    const w = new RollingWindow(limits({ maxDrained: 1 }));
    w.reopen('a', 'c');
    const turns: string[] = [];
    void w.turn('b', 'needed').then((t) => turns.push(`b:${t}`));
    void w.turn('a', 'open').then((t) => turns.push(`a:${t}`));
    await settle();
    expect(turns).toEqual(['a:start']);
    expect(w.canCarry('c')).toBe(true);
    w.finish('a');
    await settle();
    expect(turns).toEqual(['a:start', 'b:start']);
  });

  it('stops beyond the failure budget and skips every host still waiting', async () => {
    const w = new RollingWindow(limits({ maxUnavailable: 1, failureBudget: 1 }));
    const turns: string[] = [];
    for (const h of ['a', 'b', 'c']) void w.turn(h, 'none').then((t) => turns.push(`${h}:${t}`));
    await settle();
    w.hostFailed();
    expect(w.stopped).toBe(false);
    w.finish('a');
    await settle();
    w.hostFailed();
    expect(w.stopped).toBe(true);
    await settle();
    expect(turns).toEqual(['a:start', 'b:start', 'c:skip']);
    expect(w.failures).toBe(2);
  });
});

describe('stages: batches or one pool after the canary', () => {
  const five = ['a', 'b', 'c', 'd', 'e'];
  it('serial: each batch is a stage as wide as itself', () => {
    expect(stages(five, policy({ serial: 2 }))).toEqual([
      { hosts: ['a', 'b'], width: 2 },
      { hosts: ['c', 'd'], width: 2 },
      { hosts: ['e'], width: 1 },
    ]);
  });
  it('window: the canary, then every other host in one pool of the window, capped by max_unavailable', () => {
    expect(stages(five, policy({ serial: 3, window: 3, canary: { hosts: 1 } }))).toEqual([
      { hosts: ['a'], width: 1 },
      { hosts: ['b', 'c', 'd', 'e'], width: 3 },
    ]);
    expect(stages(five, policy({ serial: 3, window: 3, maxUnavailable: 2 }))).toEqual([
      { hosts: five, width: 2 },
    ]);
  });
});

describe('pool: the next host starts as soon as one is done', () => {
  /** A pool over `hosts` whose every host runs until the test releases it. */
  function held(hosts: string[], width: number, stopped = () => false) {
    const started: string[] = [];
    const release = new Map<string, (fail?: Error) => void>();
    const done = pool({ hosts, width }, stopped, (h) => {
      started.push(h);
      return new Promise<void>((resolve, reject) => {
        release.set(h, (fail) => (fail ? reject(fail) : resolve()));
      });
    });
    const finish = async (h: string, fail?: Error) => {
      release.get(h)?.(fail);
      await settle();
    };
    return { started, finish, done };
  }

  it('keeps `width` hosts in flight, in order, without waiting for the slowest', async () => {
    const p = held(['a', 'b', 'c', 'd'], 2);
    expect(p.started).toEqual(['a', 'b']);
    await p.finish('b');
    expect(p.started).toEqual(['a', 'b', 'c']);
    await p.finish('c');
    expect(p.started).toEqual(['a', 'b', 'c', 'd']);
    await p.finish('a');
    await p.finish('d');
    expect(await p.done).toEqual({});
  });

  it('starts no host once stopped; the ones in flight finish', async () => {
    let stopped = false;
    const p = held(['a', 'b', 'c', 'd'], 2, () => stopped);
    stopped = true;
    await p.finish('a');
    await p.finish('b');
    expect(p.started).toEqual(['a', 'b']);
    expect(await p.done).toEqual({});
  });

  it('returns the first rejection once every begun host settled, and begins no other', async () => {
    const p = held(['a', 'b', 'c'], 2);
    const boom = new Error('blocked');
    await p.finish('a', boom);
    expect(p.started).toEqual(['a', 'b']);
    await p.finish('b');
    expect(await p.done).toEqual({ error: boom });
  });
});

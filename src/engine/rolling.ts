/**
 * The rolling policy of one phase, with no engine, clock or I/O in it:
 *
 * - `batches` cuts a group's hosts into the batches it rolls one after another: the canary
 *   first, then `serial` hosts at a time (never more than `max_unavailable`).
 * - `stages` says how a group rolls: each batch is a stage of its own width (all its hosts at once,
 *   the next stage when the whole batch is done); with `window`, the canary is one stage and every
 *   other host one pool of the window's width, where the next host starts as soon as one is done.
 * - `pool` runs a stage: at most `width` hosts at once, in order, none after the window stops.
 * - `decide` says, for the hosts waiting for their turn (in arrival order), which may start now,
 *   which must be skipped, and which still wait, given the places taken (out of service, out of
 *   rotation), who carries whose traffic, and whether the rollout has stopped.
 * - `RollingWindow` keeps that state for the engine and answers `turn(host)` with a promise.
 *
 * A host's turn has three stages, each first come, first served: a place out of service (at most
 * `max_unavailable` across the phase's groups), a place out of rotation if it is drained (the drain
 * budget, `max_drained`), and carrying no drained neighbour's traffic (it must not go down while it
 * stands in for another host). Once the rollout stops (failure budget spent, abort, fatal error),
 * waiting hosts are skipped, except one whose traffic is still drained from before a resume and
 * that already holds its place: like any host in flight, it finishes and restores its traffic.
 */
import type { RollingPolicy } from '../runbook/model.js';

/** The batches of one group, in order. Example: `batches(['a','b','c'], { serial: 2, canary: { hosts: 1 } })` -> `[['a'], ['b','c']]`. */
export function batches(hosts: readonly string[], rolling: RollingPolicy): string[][] {
  const { serial, maxUnavailable, canary } = rolling;
  const size = Math.max(1, Math.min(serial, maxUnavailable ?? serial));
  const out: string[][] = [];
  let rest = [...hosts];
  if (canary && canary.hosts > 0) {
    out.push(rest.slice(0, canary.hosts));
    rest = rest.slice(canary.hosts);
  }
  for (let i = 0; i < rest.length; i += size) out.push(rest.slice(i, i + size));
  return out;
}

/** One stage of a group: its hosts, in order, and how many of them run at once. Example: `{ hosts: ['b','c','d'], width: 2 }`. */
export interface Stage {
  hosts: string[];
  width: number;
}

/**
 * The stages a group rolls through, one after another. Batches (`serial`): each batch is a stage
 * as wide as itself. A window: the canary batch (if any), then the rest as one pool of the
 * window's width (never more than `max_unavailable`).
 * Example: `stages(['a','b','c','d'], { serial: 2, window: 2, canary: { hosts: 1 } })` -> `[{ hosts: ['a'], width: 1 }, { hosts: ['b','c','d'], width: 2 }]`.
 */
export function stages(hosts: readonly string[], rolling: RollingPolicy): Stage[] {
  const list = batches(hosts, rolling);
  if (rolling.window === undefined) return list.map((b) => ({ hosts: b, width: b.length }));
  const canary = rolling.canary && rolling.canary.hosts > 0 ? list.shift() : undefined;
  const rest = list.flat();
  const width = Math.max(1, Math.min(rolling.window, rolling.maxUnavailable ?? rolling.window));
  return [
    ...(canary ? [{ hosts: canary, width: canary.length }] : []),
    ...(rest.length > 0 ? [{ hosts: rest, width }] : []),
  ];
}

/**
 * Runs `start` for the stage's hosts in order, at most `width` at once: as soon as one settles the
 * next begins. Once `stopped()` says so, no further host begins (those running finish). Settles
 * when every begun host has; the first rejection is returned, not thrown, after they all have.
 * Example: `await pool(stage, () => window.stopped, (h) => runHost(h))`.
 */
export async function pool(
  stage: Stage,
  stopped: () => boolean,
  start: (host: string) => Promise<unknown>,
): Promise<{ error?: unknown }> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lane = async () => {
    while (next < stage.hosts.length && !stopped() && !failed) {
      const host = stage.hosts[next++] as string;
      try {
        await start(host);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(stage.width, stage.hosts.length) }, lane));
  return failed ?? {};
}

/** The limits a phase's window enforces. Example: `{ maxUnavailable: 2, maxDrained: 1, failureBudget: 0 }`. */
export interface WindowLimits {
  maxUnavailable: number;
  maxDrained: number;
  failureBudget: number;
}

/** The limits of a planned phase. Example: `limitsOf(phase.rolling, phase.drain?.maxDrained)`. */
export function limitsOf(rolling: RollingPolicy, maxDrained: number | undefined): WindowLimits {
  return {
    maxUnavailable: rolling.maxUnavailable ?? Number.MAX_SAFE_INTEGER,
    maxDrained: Math.max(1, maxDrained ?? 1),
    failureBudget: rolling.failureBudget,
  };
}

/** What a waiting host needs next: a place out of service, a place out of rotation, or to carry no traffic. */
export type Need = 'place' | 'drain' | 'carry';

/** A host waiting for its turn. `drain`: none, needed (it will be drained), or open (drained before a resume). */
export interface Waiting {
  host: string;
  need: Need;
  drain: 'none' | 'needed' | 'open';
  /** Places it already holds (given back if it is skipped). */
  holds: { place: boolean; drain: boolean };
}

/** The window's counters as `decide` reads and returns them. */
export interface WindowCounts {
  /** Hosts holding a place out of service. */
  places: number;
  /** Hosts holding a place out of rotation (the drain budget). */
  drainPlaces: number;
  /** Drained host -> the neighbour carrying its traffic. */
  carriedBy: ReadonlyMap<string, string>;
  stopped: boolean;
}

/** The outcome of one `decide`: who starts, who is skipped, who still waits (with what it holds now). */
export interface Decision {
  start: Waiting[];
  skip: Waiting[];
  waiting: Waiting[];
  counts: WindowCounts;
}

/**
 * Moves every waiting host as far as the limits allow, first come first served per stage.
 * Example: one place left, `[a (place), b (place)]` -> a goes on to its next stage, b waits.
 */
export function decide(queue: readonly Waiting[], counts: WindowCounts, limits: WindowLimits): Decision {
  let { places, drainPlaces } = counts;
  const carrying = new Set(counts.carriedBy.values());
  const start: Waiting[] = [];
  const skip: Waiting[] = [];
  const waiting: Waiting[] = [];
  // A stage whose first waiter is blocked blocks the ones behind it (no overtaking for a place).
  let placeBlocked = false;
  let drainBlocked = false;
  for (const original of queue) {
    const w: Waiting = { ...original, holds: { ...original.holds } };
    let settled = false;
    while (!settled) {
      if (counts.stopped && (w.need === 'place' || w.drain !== 'open')) {
        if (w.holds.place) places -= 1;
        if (w.holds.drain) drainPlaces -= 1;
        skip.push(w);
        settled = true;
      } else if (w.need === 'place') {
        if (placeBlocked || places >= limits.maxUnavailable) {
          placeBlocked = true;
          waiting.push(w);
          settled = true;
        } else {
          places += 1;
          w.holds.place = true;
          w.need = w.drain === 'needed' ? 'drain' : 'carry';
        }
      } else if (w.need === 'drain') {
        if (drainBlocked || drainPlaces >= limits.maxDrained) {
          drainBlocked = true;
          waiting.push(w);
          settled = true;
        } else {
          drainPlaces += 1;
          w.holds.drain = true;
          w.need = 'carry';
        }
      } else if (carrying.has(w.host)) {
        waiting.push(w);
        settled = true;
      } else {
        start.push(w);
        settled = true;
      }
    }
  }
  return { start, skip, waiting, counts: { ...counts, places, drainPlaces } };
}

/**
 * Who may take a drained host's traffic, and the reservations made: the rolling window during a
 * rollout; whatever keeps the same books during an undo. Example: `if (ledger.canCarry('b')) ledger.carry('a', 'b')`.
 */
export interface TrafficLedger {
  /** Whether `host` may take a neighbour's traffic now: not in flight, not drained. */
  canCarry(host: string): boolean;
  /** Reserves `neighbour` for `host`'s traffic, before the route is written. */
  carry(host: string, neighbour: string): void;
  /** The host's traffic now goes to its neighbour. */
  drained(host: string): void;
  /** The host's traffic is back: its neighbour is free. */
  restored(host: string): void;
}

/** A host's turn: start it, or skip it (the rollout stopped before it started). */
export type Turn = 'start' | 'skip';

/**
 * The rolling window of one phase: which hosts are in flight, drained, carrying traffic, and how
 * many failed. The engine asks it for each host's turn and tells it what happened; it decides
 * nothing that `decide` does not. Example: `if ((await window.turn('web', 'needed')) === 'start') …`.
 */
export class RollingWindow implements TrafficLedger {
  readonly #limits: WindowLimits;
  #queue: { waiting: Waiting; resolve: (turn: Turn) => void }[] = [];
  #places = 0;
  #drainPlaces = 0;
  readonly #holds = new Map<string, Waiting['holds']>();
  readonly #inFlight = new Set<string>();
  readonly #drained = new Set<string>();
  readonly #carriedBy = new Map<string, string>();
  #failures = 0;
  #stopped = false;

  constructor(limits: WindowLimits) {
    this.#limits = limits;
  }

  /** How many hosts failed in this phase. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether the rollout stopped: no host starts any more. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Resolves when the host may start (it is then in flight), or is to be skipped. */
  turn(host: string, drain: Waiting['drain']): Promise<Turn> {
    const holds = this.#holds.get(host) ?? { place: false, drain: false };
    return new Promise<Turn>((resolve) => {
      this.#queue.push({ waiting: { host, need: 'place', drain, holds }, resolve });
      this.#pump();
    });
  }

  /** A host drained before a resume: it holds a drain place (even past the budget) and its neighbour. */
  reopen(host: string, neighbour: string | undefined): void {
    this.#drainPlaces += 1;
    this.#holds.set(host, { place: false, drain: true });
    this.#drained.add(host);
    if (neighbour) this.#carriedBy.set(host, neighbour);
  }

  /** Whether `host` may take a neighbour's traffic now: not in flight, not drained. */
  canCarry(host: string): boolean {
    return !this.#inFlight.has(host) && !this.#drained.has(host);
  }

  /** Reserves `neighbour` for `host`'s traffic (before the route is written): it does not start until the traffic is back. */
  carry(host: string, neighbour: string): void {
    this.#carriedBy.set(host, neighbour);
  }

  /** The host's traffic now goes to its neighbour. */
  drained(host: string): void {
    this.#drained.add(host);
  }

  /** The host's traffic is back: its neighbour may start. */
  restored(host: string): void {
    this.#drained.delete(host);
    if (this.#carriedBy.delete(host)) this.#pump();
  }

  /** A host failed: counts against the failure budget at once (its saga may take minutes). */
  hostFailed(): void {
    this.#failures += 1;
    if (this.#failures > this.#limits.failureBudget) this.stop();
  }

  /** No host starts any more; waiting hosts are skipped. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#pump();
  }

  /** A started host is done, either way: its places and its neighbour are free again. */
  finish(host: string): void {
    this.#inFlight.delete(host);
    this.#drained.delete(host);
    this.#carriedBy.delete(host);
    this.#release(host);
    this.#pump();
  }

  #release(host: string): void {
    const holds = this.#holds.get(host);
    if (holds?.place) this.#places -= 1;
    if (holds?.drain) this.#drainPlaces -= 1;
    this.#holds.delete(host);
  }

  #pump(): void {
    const d = decide(
      this.#queue.map((q) => q.waiting),
      {
        places: this.#places,
        drainPlaces: this.#drainPlaces,
        carriedBy: this.#carriedBy,
        stopped: this.#stopped,
      },
      this.#limits,
    );
    this.#places = d.counts.places;
    this.#drainPlaces = d.counts.drainPlaces;
    const resolvers = new Map(this.#queue.map((q) => [q.waiting.host, q.resolve]));
    this.#queue = d.waiting.map((w) => ({ waiting: w, resolve: resolvers.get(w.host) as (t: Turn) => void }));
    for (const w of d.waiting) this.#holds.set(w.host, w.holds);
    for (const w of d.start) {
      this.#holds.set(w.host, w.holds);
      this.#inFlight.add(w.host);
      resolvers.get(w.host)?.('start');
    }
    for (const w of d.skip) {
      this.#holds.delete(w.host);
      resolvers.get(w.host)?.('skip');
    }
  }
}

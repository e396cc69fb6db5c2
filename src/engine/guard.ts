/**
 * The health guard: a host is not done when its steps are done; it must stay healthy. Every host
 * that finished a phase with a health check is probed again every GUARD_INTERVAL_MS until the run
 * ends; DOWN_AFTER failed probes in a row mark it down (journaled as `host.unhealthy`), and the
 * engine stops the rollout and fails the run. Before a run is reported succeeded, every guarded
 * host is checked once more (`finalCheck`): a success is only reported after it was verified.
 */
import type { RunContext } from './context.js';
import { type HealthCheck, healthCheckFor, probeHealth } from './health.js';

/** Between two rounds of probes of the upgraded hosts. */
export const GUARD_INTERVAL_MS = 2000;
/** Failed probes in a row that make a host "down" (one lost probe is not an outage). */
export const DOWN_AFTER = 3;

/** A host the guard found down. Example: `{ host: 'web', phase: 'upgrade', url: 'http://10.0.0.10:8080/', seen: '502' }`. */
export interface DownHost {
  host: string;
  phase: string;
  url: string;
  seen: string;
}

interface Watched {
  phase: string;
  check: HealthCheck;
  misses: number;
}

/** Example: `guard.watch('upgrade', 'web'); …; await guard.stop(); if (!(await guard.finalCheck())) …`. */
export class HealthGuard {
  readonly #run: RunContext;
  readonly #onDown: (down: DownHost) => void;
  readonly #watched = new Map<string, Watched>();
  readonly #down: DownHost[] = [];
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(run: RunContext, onDown: (down: DownHost) => void) {
    this.#run = run;
    this.#onDown = onDown;
  }

  /** Hosts found down so far. */
  get down(): readonly DownHost[] {
    return this.#down;
  }

  /** Guards a host that finished `phase`, if the phase has a health check. */
  watch(phase: string, hostName: string): void {
    const check = healthCheckFor(this.#run, phase, this.#run.host(hostName));
    if (!check || this.#stop.signal.aborted) return;
    this.#watched.set(hostName, { phase, check, misses: 0 });
    this.#loop ??= this.#guard();
  }

  /** A guarded host starts work again (a later phase): it is in flight, not guarded, until it finishes. */
  unwatch(hostName: string): void {
    this.#watched.delete(hostName);
  }

  /** Ends the guarding (the run is over); waits for a round in progress. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** Probes every guarded host up to DOWN_AFTER times; true when all answer. */
  async finalCheck(): Promise<boolean> {
    for (const [host, w] of this.#watched) {
      if (this.#down.some((d) => d.host === host)) continue;
      let seen = '';
      for (let attempt = 1; attempt <= DOWN_AFTER; attempt++) {
        const answer = await probeHealth(w.check);
        if (answer.ok) {
          seen = '';
          break;
        }
        seen = answer.seen;
        if (attempt < DOWN_AFTER) await this.#run.clock.sleep(GUARD_INTERVAL_MS);
      }
      if (seen) this.#markDown(host, w, seen);
    }
    return this.#down.length === 0;
  }

  async #guard(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#run.clock.sleep(GUARD_INTERVAL_MS, signal);
      } catch {
        return;
      }
      for (const [host, w] of this.#watched) {
        if (signal.aborted) return;
        if (this.#down.some((d) => d.host === host)) continue;
        const answer = await probeHealth(w.check, signal);
        if (signal.aborted) return;
        w.misses = answer.ok ? 0 : w.misses + 1;
        if (w.misses >= DOWN_AFTER) this.#markDown(host, w, answer.seen);
      }
    }
  }

  #markDown(host: string, w: Watched, seen: string): void {
    const down = { host, phase: w.phase, url: w.check.url, seen };
    this.#down.push(down);
    this.#run.emit({ type: 'host.unhealthy', phase: w.phase, host, url: w.check.url, seen });
    this.#onDown(down);
  }
}

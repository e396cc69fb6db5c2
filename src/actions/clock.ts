/** Time as the engine sees it; injected so tests run on virtual time. Example: `await clock.sleep(500)`. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Virtual time for engine tests: `sleep` advances `now` at once and yields to other tasks, so
 * a 10-minute timeout takes microseconds and runs deterministically.
 */
export class FakeClock implements Clock {
  #now: number;
  constructor(start = Date.UTC(2026, 10, 22, 3, 0, 0)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.#now += ms;
    await new Promise<void>((r) => setImmediate(r));
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

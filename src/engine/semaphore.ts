/** Counts free places (the drain budget); waiters are served in order. */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  constructor(places: number) {
    this.#free = Math.max(1, places);
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  /** Takes a place without waiting, even past the limit (a drain already open when a run resumes). */
  take(): void {
    this.#free -= 1;
  }
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free += 1;
  }
}

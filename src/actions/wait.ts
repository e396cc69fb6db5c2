import type { Clock } from './clock.js';

/** What one poll saw. `done` ends the wait; `failure` ends it at once as failed; `seen` is shown on timeout. */
export interface PollResult {
  done: boolean;
  failure?: string;
  seen?: string[];
  /** How long to wait before the next poll, instead of the interval (a poll that itself waited on the host). */
  againMs?: number;
}

/** Why a wait ended without its condition. */
export class WaitFailed extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'failure',
    readonly lastSeen: string[],
  ) {
    super(message);
  }
}

/**
 * The one way cutover waits: poll until done, a failure, or the deadline, on an injected clock.
 * Example: `await waitFor(clock, { deadline: clock.now() + 60_000, intervalMs: 250, what: 'nginx active' }, poll)`.
 */
export async function waitFor(
  clock: Clock,
  opts: { deadline: number; intervalMs: number; what: string; signal?: AbortSignal; keepLines?: number },
  poll: () => Promise<PollResult>,
): Promise<void> {
  const keep = opts.keepLines ?? 20;
  let lastSeen: string[] = [];
  for (;;) {
    const result = await poll();
    if (result.seen && result.seen.length > 0) lastSeen = [...lastSeen, ...result.seen].slice(-keep);
    if (result.failure) throw new WaitFailed(`${opts.what}: ${result.failure}`, 'failure', lastSeen);
    if (result.done) return;
    const left = opts.deadline - clock.now();
    if (left <= 0) {
      throw new WaitFailed(`timed out waiting for ${opts.what}`, 'timeout', lastSeen);
    }
    const again = result.againMs ?? opts.intervalMs;
    if (again > 0) await clock.sleep(Math.min(again, left), opts.signal);
    else opts.signal?.throwIfAborted();
  }
}

/**
 * The run's connections to its hosts, bounded by the work in flight rather than by the fleet
 * (issue 15, item 4). Three rules:
 *
 * - At most `concurrency` connections are being set up at once (key exchange, login, the
 *   long-lived shell starting): preflight, a lazy reopen and the lease all go through one gate, so a
 *   1000-host run never knocks 1000 times at once on a bastion's `MaxStartups` (OpenSSH's default
 *   starts refusing at 10 unauthenticated connections) or on a 2-core controller.
 * - A host's connection is closed once its work in the run is done and no later phase needs it
 *   (as a host of its own, or as a balancer), keeping the `keepOpen` most recently finished ones
 *   open; after preflight only the first `keepOpen` hosts in the order of work keep theirs.
 * - Closing is never an error for later users: every session handed out reconnects by itself
 *   (through the gate) when a saga's undo, a resume, the lease or a balancer needs the host again.
 *   A connection in use is closed only when its last command has returned.
 *
 * The health guard and a drain's neighbour checks are HTTP from the controller: they need no
 * connection. Example: `const c = new Connections(connect, { concurrency: 10, keepOpen: 100 })`.
 */
import type { Host } from '../inventory/model.js';
import type { Plan } from '../plan/types.js';
import type { ExecOptions, ExecResult, Session } from '../transport/transport.js';

/** Connections set up at once by default: OpenSSH's `MaxStartups` starts refusing at 10 (10:30:100). */
export const DEFAULT_CONNECT_CONCURRENCY = 10;
/**
 * Hosts not in flight that keep their connection by default: a second login costs ~200 ms and a
 * key exchange, an idle connection two ssh processes (~10 MiB); up to 100 hosts nothing is closed early.
 */
export const DEFAULT_KEEP_OPEN = 100;

/** How the run connects. Example: `{ concurrency: 10, keepOpen: 100 }`. */
export interface ConnectionLimits {
  /** Connections being set up at once (at least 1). */
  concurrency: number;
  /** Hosts not in flight whose connection stays open (0: closed as soon as the host's work is done). */
  keepOpen: number;
}

/** Counters for tests and the bench. Example: `{ opened: 12, open: 3, peakOpen: 10, connecting: 0, peakConnecting: 10 }`. */
export interface ConnectionStats {
  opened: number;
  open: number;
  peakOpen: number;
  connecting: number;
  peakConnecting: number;
}

/** A semaphore: at most `width` tasks at once, the others wait in arrival order. Example: `await gate.run(() => connect(h))`. */
export class Gate {
  readonly #width: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(width: number) {
    this.#width = Math.max(1, width);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#busy >= this.#width) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy += 1;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The place passes straight to the next waiter: nobody overtakes it.
      if (next) next();
      else this.#busy -= 1;
    }
  }
}

/**
 * For each host, the index of the last phase that needs a connection to it: a phase it works in
 * (its steps or its drain) or one whose drains run commands on it (a balancer). -1: preflight only.
 * Example: two phases on web, a balancer lb in the first -> `{ web: 1, lb: 0 }`.
 */
export function lastPhaseOf(plan: Plan): Map<string, number> {
  const last = new Map<string, number>(plan.hosts.map((h) => [h.name, -1]));
  plan.phases.forEach((phase, index) => {
    for (const group of phase.groups) for (const h of group.hosts) last.set(h, index);
    for (const drain of Object.values(phase.drains)) {
      last.set(drain.host, index);
      const balancers = (drain.params as { balancers?: unknown } | undefined)?.balancers;
      if (Array.isArray(balancers)) for (const b of balancers) if (typeof b === 'string') last.set(b, index);
    }
  });
  return last;
}

/** The hosts in the order the phases first work on them (then the rest of the plan's hosts). */
export function workOrder(plan: Plan): string[] {
  const seen = new Set<string>();
  for (const phase of plan.phases) for (const g of phase.groups) for (const h of g.hosts) seen.add(h);
  for (const h of plan.hosts) seen.add(h.name);
  return [...seen];
}

/** One (host, user) connection: opened on first use, closed when released and idle, reopened on use. */
class Connection {
  #session: Promise<Session> | undefined;
  #busy = 0;
  #releaseWanted = false;
  user: string | undefined;

  constructor(
    readonly host: Host,
    readonly runAs: string | undefined,
    private readonly pool: Connections,
  ) {}

  get open(): boolean {
    return this.#session !== undefined;
  }

  /** The live session, connecting (through the gate) when there is none. */
  ensure(): Promise<Session> {
    if (!this.#session) {
      const opening = this.pool.connectThroughGate(this.host, this.runAs);
      this.#session = opening;
      opening.then(
        (s) => {
          if (s.user !== undefined) this.user = s.user;
        },
        () => {
          // A failed connect is not kept: the next use tries again.
          if (this.#session === opening) this.#session = undefined;
          this.pool.closed(opening);
        },
      );
    }
    return this.#session;
  }

  async use<T>(task: (s: Session) => Promise<T>): Promise<T> {
    this.#busy += 1;
    this.#releaseWanted = false;
    try {
      return await task(await this.ensure());
    } finally {
      this.#busy -= 1;
      if (this.#busy === 0 && this.#releaseWanted) await this.#close();
    }
  }

  /** Closes the connection now, or when its last command returns. */
  async release(): Promise<void> {
    this.#releaseWanted = true;
    if (this.#busy === 0) await this.#close();
  }

  async #close(): Promise<void> {
    this.#releaseWanted = false;
    const s = this.#session;
    this.#session = undefined;
    if (!s) return;
    const session = await s.catch(() => undefined);
    if (session) {
      this.pool.closed(s);
      await session.close();
    }
  }
}

/** What the engine's parts hold: a session that reconnects by itself after its connection was released. */
class ReconnectingSession implements Session {
  constructor(readonly conn: Connection) {}
  get host(): string {
    return this.conn.host.name;
  }
  get user(): string | undefined {
    return this.conn.user;
  }
  exec(script: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.conn.use((s) => s.exec(script, opts));
  }
  put(data: Buffer, remotePath: string, opts?: { mode?: string }): Promise<{ sha256: string }> {
    return this.conn.use((s) => s.put(data, remotePath, opts));
  }
  get(remotePath: string): Promise<Buffer> {
    return this.conn.use((s) => s.get(remotePath));
  }
  close(): Promise<void> {
    return this.conn.release();
  }
}

/** The run's connections. Example: `const s = await connections.session(host); …; await connections.done('web')`. */
export class Connections {
  readonly limits: ConnectionLimits;
  readonly #connect: (host: Host, runAs?: string) => Promise<Session>;
  readonly #gate: Gate;
  readonly #byKey = new Map<string, ReconnectingSession>();
  readonly #byHost = new Map<string, ReconnectingSession[]>();
  /** Finished hosts whose connection is still open, oldest first. */
  readonly #finished = new Set<string>();
  readonly #live = new Set<Promise<Session>>();
  #opened = 0;
  #peakOpen = 0;
  #connecting = 0;
  #peakConnecting = 0;

  constructor(
    connect: (host: Host, runAs?: string) => Promise<Session>,
    limits: Partial<ConnectionLimits> = {},
  ) {
    this.#connect = connect;
    this.limits = {
      concurrency: limits.concurrency ?? DEFAULT_CONNECT_CONCURRENCY,
      keepOpen: limits.keepOpen ?? DEFAULT_KEEP_OPEN,
    };
    this.#gate = new Gate(this.limits.concurrency);
  }

  get stats(): ConnectionStats {
    return {
      opened: this.#opened,
      open: this.#live.size,
      peakOpen: this.#peakOpen,
      connecting: this.#connecting,
      peakConnecting: this.#peakConnecting,
    };
  }

  /** The host's session as `runAs` (or the login user), connected before it resolves; rejects when it cannot connect. */
  async session(host: Host, runAs: string | undefined): Promise<Session> {
    const key = runAs === undefined ? host.name : `${host.name}\u0000${runAs}`;
    let handle = this.#byKey.get(key);
    if (!handle) {
      handle = new ReconnectingSession(new Connection(host, runAs, this));
      this.#byKey.set(key, handle);
      this.#byHost.set(host.name, [...(this.#byHost.get(host.name) ?? []), handle]);
    }
    this.#finished.delete(host.name);
    await handle.conn.ensure();
    return handle;
  }

  /** Whether the host has an open (or opening) connection as `runAs`. */
  isOpen(host: string, runAs?: string): boolean {
    const key = runAs === undefined ? host : `${host}\u0000${runAs}`;
    return this.#byKey.get(key)?.conn.open ?? false;
  }

  /** Who the (host, runAs) session runs as, once it was connected. */
  userOf(host: string, runAs?: string): string | undefined {
    const key = runAs === undefined ? host : `${host}\u0000${runAs}`;
    return this.#byKey.get(key)?.conn.user;
  }

  /** The host's work in the run is done: its connection joins the finished ones, the oldest beyond `keepOpen` is closed. */
  async done(host: string): Promise<void> {
    if (this.#finished.has(host) || !this.#handles(host).some((h) => h.conn.open)) return;
    this.#finished.add(host);
    const closing: Promise<void>[] = [];
    while (this.#finished.size > this.limits.keepOpen) {
      const oldest = this.#finished.values().next().value as string;
      this.#finished.delete(oldest);
      closing.push(this.release(oldest));
    }
    await Promise.all(closing);
  }

  /** After preflight: only the first `keepOpen` hosts in `order` keep their connections. */
  async trim(order: readonly string[]): Promise<void> {
    const keep = new Set(order.slice(0, this.limits.keepOpen));
    await Promise.all([...this.#byHost.keys()].filter((h) => !keep.has(h)).map((h) => this.release(h)));
  }

  /** Closes every connection of the host (now, or when its command in progress returns). */
  async release(host: string): Promise<void> {
    this.#finished.delete(host);
    await Promise.all(this.#handles(host).map((h) => h.conn.release()));
  }

  #handles(host: string): ReconnectingSession[] {
    return this.#byHost.get(host) ?? [];
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#byKey.values()].map((h) => h.conn.release()));
  }

  /** @internal Connects through the gate, counting. */
  connectThroughGate(host: Host, runAs: string | undefined): Promise<Session> {
    const opening = this.#gate.run(async () => {
      this.#connecting += 1;
      this.#peakConnecting = Math.max(this.#peakConnecting, this.#connecting);
      try {
        return await this.#connect(host, runAs);
      } finally {
        this.#connecting -= 1;
      }
    });
    opening.then(
      () => {
        this.#live.add(opening);
        this.#opened += 1;
        this.#peakOpen = Math.max(this.#peakOpen, this.#live.size);
      },
      () => undefined,
    );
    return opening;
  }

  /** @internal A connection ended (closed, or failed to open). */
  closed(opening: Promise<Session>): void {
    this.#live.delete(opening);
  }
}

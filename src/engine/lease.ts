/**
 * The cluster lock, kept on the hosts themselves (as Kamal does): a lock folder on every host of
 * the run, made with an atomic `mkdir`, holding who holds it (run, operator@controller, pid, since,
 * lease until). Two runs from two state folders or two laptops meet there, not in a local file.
 * Hosts are taken in one fixed order (by address, the same from every inventory), all or nothing:
 * a run that meets a held host gives back what it took and stops with exit 3 naming the holder,
 * so two runs overlapping on some hosts never deadlock. The common case (nobody else holds any
 * host) is taken in one parallel round (a request per host at once, not one after another: 30
 * hosts cost one round trip, not 30); only when that meets a holder or an error is everything
 * given back and the hosts taken again one by one in address order, which names the first holder.
 * The lease is renewed while the run lives,
 * released on every path, taken over by `resume`/`rollback` of the same run, and broken only by
 * `cutover unlock`.
 *
 * With bounded connections (connections.ts) the lease is renewed on the hosts the run is connected
 * to: those in flight, waiting with their connection, or recently finished. A host whose connection
 * was closed keeps its lock (its holder names this run and its pid; nothing takes an expired lease
 * by itself) with the `until` of its last renewal; release at the end reconnects to give it back.
 */
import { hostname } from 'node:os';
import { LockHeldError } from '../errors.js';
import { type Command, sh } from '../shell/command.js';
import type { Session } from '../transport/transport.js';

/** The lock folder on every host. */
export const HOST_LOCK_DIR = '/var/tmp/cutover.lock';
/** How long a lease stays valid without renewal (shown to whoever meets it). */
export const HOST_LEASE_MS = 120_000;
/** How often a live run renews its lease on every host. */
export const HOST_RENEW_MS = 30_000;

/** Who holds a host, as its holder file says. Example: `{ run: '20261202-1000-ab12', operator: 'alice@laptop', ... }`. */
export interface HostHolder {
  run: string;
  operator: string;
  pid: string;
  since: string;
  until: string;
}

/**
 * A host to lock: its inventory name, its address (the order) and the session the lock uses;
 * `connected` says whether the run holds a connection to it now (absent: always).
 */
export interface LeaseTarget {
  host: string;
  address: string;
  session: () => Promise<Session>;
  connected?: () => boolean;
  /**
   * A read-only check sent in the same request as the lock (one round trip per host instead of
   * two): its answer comes back apart from the lock's, whether or not the lock was taken. It runs
   * in the request's own shell (no subshell, so no process of its own): it must never exit, and
   * leaves its answer in `$check_code` (0: fine) and `$check_out`. Example: the working folder's
   * check (context.ts).
   */
  alongside?: { script: Command; verdict: (res: { code: number; stdout: string }) => void };
}

/**
 * A run's lease on its hosts. Example:
 * `const lease = new HostLease(runId, 'alice'); await lease.acquire(targets); …; await lease.release();`.
 */
export class HostLease {
  readonly #run: string;
  readonly #operator: string;
  readonly #since = new Date().toISOString();
  #held: LeaseTarget[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    run: string,
    operator: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#run = run;
    this.#operator = `${operator}@${hostname()}`;
  }

  /** Hosts this run holds now. */
  get hosts(): string[] {
    return this.#held.map((t) => t.host);
  }

  /**
   * Takes every host: all at once first; when that meets another run's lock or an error, gives
   * back what it took and takes them again in address order, so the first held host is named and
   * LockHeldError thrown with nothing kept. A lease of this same run is taken over.
   */
  async acquire(targets: readonly LeaseTarget[]): Promise<void> {
    const ordered = [...targets].sort(
      (a, b) => compareAddress(a.address, b.address) || a.host.localeCompare(b.host),
    );
    // Each check travels once: a host checked in the parallel round is not checked again.
    const checked = new Set<LeaseTarget>();
    const results = await mapLimit(ordered, PARALLEL_TAKES, (t) =>
      this.#take(t, checked).then(
        (res) => res,
        () => undefined,
      ),
    );
    results.forEach((res, i) => {
      if (res?.code === 0) this.#held.push(ordered[i] as LeaseTarget);
    });
    if (this.#held.length === ordered.length) return;
    await this.release();
    for (const t of ordered) {
      const res = await this.#take(t, checked);
      if (res.code === 0) {
        this.#held.push(t);
        continue;
      }
      await this.release();
      if (res.code === 3) {
        const holder = parseHolder(res.stdout);
        throw new LockHeldError(
          {
            owner: holder?.operator ?? 'an unknown holder (its lock has no holder file yet)',
            runId: holder?.run ?? '?',
            expiresAt: holder?.until ?? '?',
          },
          `${HOST_LOCK_DIR} on ${t.host}`,
          `${t.host} is held by another run` +
            (holder ? ` since ${holder.since} (pid ${holder.pid})` : '') +
            '; this run took no host and changed nothing',
        );
      }
      throw new Error(
        `${t.host}: cannot take the cluster lock ${HOST_LOCK_DIR} (exit ${res.code}): ${res.stderr.trim() || res.stdout.trim()}`,
      );
    }
  }

  /** One host's take: the lock's exit code and output, its check (if any, and not yet answered) in the same request. */
  async #take(
    t: LeaseTarget,
    checked: Set<LeaseTarget>,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const check = t.alongside && !checked.has(t) ? t.alongside : undefined;
    const holder = this.#holderText();
    const script = check
      ? withCheck(check.script, lockScript(HOST_LOCK_DIR, this.#run, holder))
      : acquireScript(HOST_LOCK_DIR, this.#run, holder);
    const res = await (await t.session()).exec(script.render('exec'), { timeoutMs: 30_000 });
    // Without the mark the request itself died: the lock's failure says so.
    const split = check ? splitCheck(res.stdout) : undefined;
    if (!split) return res;
    checked.add(t);
    check?.verdict(split.check);
    return { ...res, stdout: split.lock };
  }

  /** Renews the lease on every held host now and then; `onLost` hears of a host someone took from this run. */
  startRenewal(onLost: (why: string) => void): void {
    this.#timer = setInterval(() => {
      void this.#renew(onLost);
    }, HOST_RENEW_MS);
    this.#timer.unref();
  }

  async #renew(onLost: (why: string) => void): Promise<void> {
    for (const t of this.#held) {
      // A host whose work is done and whose connection was closed keeps its lock as it is: the
      // renewal does not log in again every 30 s on every host of a long run (release does, once).
      if (t.connected && !t.connected()) continue;
      try {
        const res = await (await t.session()).exec(
          renewScript(HOST_LOCK_DIR, this.#run, this.#holderText()).render('exec'),
          { timeoutMs: 30_000 },
        );
        if (res.code === 3) {
          const holder = parseHolder(res.stdout);
          onLost(
            `the lock on ${t.host} was broken (cutover unlock)${holder ? `; it is now held by ${holder.operator}, run ${holder.run}` : ''}`,
          );
          return;
        }
      } catch {
        // An unreachable host keeps its (expiring) lease; the run deals with the host itself.
      }
    }
  }

  /** Gives back every host this run holds (only where the holder is still this run). */
  async release(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const held = this.#held;
    this.#held = [];
    await Promise.all(
      held.map(async (t) => {
        try {
          await (await t.session()).exec(releaseScript(HOST_LOCK_DIR, this.#run).render('exec'), {
            timeoutMs: 30_000,
          });
        } catch {
          // Unreachable: the lease stays until resume takes it over or unlock breaks it.
        }
      }),
    );
  }

  #holderText(): string {
    const until = new Date(this.now() + HOST_LEASE_MS).toISOString();
    return `run=${this.#run}\noperator=${this.#operator}\npid=${process.pid}\nsince=${this.#since}\nuntil=${until}\n`;
  }
}

/** Hosts asked at once in the parallel round (their sessions are open already: a request each). */
const PARALLEL_TAKES = 64;

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/*
 * The host-side scripts. Every process they start costs the host a fork and an exec (5-10 ms of
 * CPU on a small host, and the lab's hosts share the controller's cores), times every host of the
 * run: on the success path they start only what cannot be done with shell builtins (mkdir, mv,
 * rm). They are exported for the tests that run them under a real /bin/sh.
 */

/** Ends the lock's stdout in a combined request; the check's exit code and stdout follow it. */
const CHECK_MARK = 'cutover-lease-check-exit';

/**
 * `check` then `lock` in one script, both in the one shell (no subshell, no `$( )`: no process):
 * the check leaves its answer in `$check_code`/`$check_out`, the lock its code in `$lock_code`;
 * the check's answer is printed after the lock's stdout, behind a line with its code.
 */
export function withCheck(check: Command, lock: Command): Command {
  return sh`${check}
${lock}
printf '\n%s %s\n%s' ${CHECK_MARK} "$check_code" "$check_out"
exit "$lock_code"`;
}

/** The lock's stdout and the check's result out of a withCheck request's stdout; undefined when the mark is missing (the request died). */
export function splitCheck(
  stdout: string,
): { lock: string; check: { code: number; stdout: string } } | undefined {
  const at = stdout.lastIndexOf(`\n${CHECK_MARK} `);
  if (at < 0) return undefined;
  const rest = stdout.slice(at + CHECK_MARK.length + 2);
  const nl = rest.indexOf('\n');
  const code = Number(rest.slice(0, nl < 0 ? undefined : nl));
  if (!Number.isInteger(code)) return undefined;
  return { lock: stdout.slice(0, at), check: { code, stdout: nl < 0 ? '' : rest.slice(nl + 1) } };
}

/**
 * Sets `$h` to what `$(sed -n 's/^run=//p' "$d/holder" 2>/dev/null)` gave (every `run=` value,
 * one a line, trailing newlines dropped: two runs named never equal one), with builtins only.
 * Missing or unreadable: empty. The `-f`/`-r` tests keep the redirection from failing (it would
 * print an error, and a strict POSIX shell may exit on it); the `{ } 2>/dev/null` silences the
 * one left, a holder removed between the test and the read.
 */
const HOLDER_RUN = sh`h=
if [ -f "$d/holder" ] && [ -r "$d/holder" ]; then
{ while IFS= read -r l || [ -n "$l" ]; do case $l in run=*) h="$h\${l#run=}
" ;; esac; done < "$d/holder"; } 2>/dev/null
while :; do case $h in *'
') h=\${h%?} ;; *) break ;; esac; done
fi`;

/**
 * Writes the holder through a temporary file renamed over it, so a reader never meets half a
 * holder. The umask makes it 0644 as it is created (a `chmod` would cost a process).
 */
function writeHolder(holder: string): Command {
  return sh`t="$d/.holder.$$"
umask 022
printf '%s' ${holder} > "$t" && mv -f "$t" "$d/holder"`;
}

/**
 * Takes the lock in `dir` without exiting, leaving its code in `$lock_code`: mkdir takes a free
 * host; a host held by this run is taken over; else 3 with the holder on stdout, 5 when the lock
 * cannot be made, 4 when the holder cannot be written.
 */
export function lockScript(dir: string, run: string, holder: string): Command {
  return sh`d=${dir}; run=${run}
if mkdir -m 0755 "$d" 2>/dev/null; then lock_code=0
elif [ -d "$d" ]; then
${HOLDER_RUN}
if [ "$h" = "$run" ]; then lock_code=0; else cat "$d/holder" 2>/dev/null; lock_code=3; fi
else echo "cannot make $d" >&2; lock_code=5
fi
if [ "$lock_code" = 0 ]; then
${writeHolder(holder)} || lock_code=4
fi`;
}

/** lockScript as a request of its own: its code is the exit code. */
export function acquireScript(dir: string, run: string, holder: string): Command {
  return sh`${lockScript(dir, run, holder)}
exit "$lock_code"`;
}

/** Rewrites the holder (a later `until`) while it still names this run; else exit 3 with whoever holds it. */
export function renewScript(dir: string, run: string, holder: string): Command {
  return sh`d=${dir}; run=${run}
${HOLDER_RUN}
if [ "$h" != "$run" ]; then cat "$d/holder" 2>/dev/null; exit 3; fi
${writeHolder(holder)}`;
}

/** Removes the lock when its holder names this run (rm is the one process it starts). */
export function releaseScript(dir: string, run: string): Command {
  return sh`d=${dir}
${HOLDER_RUN}
if [ "$h" = ${run} ]; then rm -rf -- "$d"; fi`;
}

/** Reads a host's lock: its holder, or undefined when the host is free. For `cutover unlock`. */
export async function readHostLock(session: Session): Promise<HostHolder | 'no-holder' | undefined> {
  const res = await session.exec(
    sh`d=${HOST_LOCK_DIR}; [ -d "$d" ] || exit 1; cat "$d/holder" 2>/dev/null; exit 0`.render('exec'),
    { timeoutMs: 30_000 },
  );
  if (res.code === 1) return undefined;
  return parseHolder(res.stdout) ?? 'no-holder';
}

/** Breaks a host's lock whoever holds it (`cutover unlock --force`). */
export async function breakHostLock(session: Session): Promise<void> {
  const res = await session.exec(sh`rm -rf -- ${HOST_LOCK_DIR}`.render('exec'), { timeoutMs: 30_000 });
  if (res.code !== 0)
    throw new Error(`cannot remove ${HOST_LOCK_DIR}: ${res.stderr.trim() || `exit ${res.code}`}`);
}

/** The holder file's `key=value` lines. Example: parseHolder('run=r1\noperator=a@b\n')?.run -> 'r1'. */
export function parseHolder(text: string): HostHolder | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const run = fields.get('run');
  if (!run) return undefined;
  return {
    run,
    operator: fields.get('operator') ?? '?',
    pid: fields.get('pid') ?? '?',
    since: fields.get('since') ?? '?',
    until: fields.get('until') ?? '?',
  };
}

/** Addresses in one order for every controller: IPv4 numerically, then names. Example: '10.0.0.9' < '10.0.0.10'. */
function compareAddress(a: string, b: string): number {
  const key = (s: string) =>
    /^\d+\.\d+\.\d+\.\d+$/.test(s)
      ? s
          .split('.')
          .map((n) => n.padStart(3, '0'))
          .join('.')
      : `~${s}`;
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Reading /proc on the controller: identities of the lab's own processes (pid + start time, so a
 * reused pid is never mistaken for ours), their namespaces, and polling until they are gone.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A process as the lab recorded it. Example: `{ pid: 4242, startTime: 1234567 }` (clock ticks since boot). */
export interface ProcessRef {
  pid: number;
  startTime: number;
}

/** Parent pid and start time from /proc/PID/stat, or undefined when the process is gone. Example: procStat(1)?.ppid -> 0. */
export function procStat(pid: number): { ppid: number; startTime: number; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', ppid: Number(fields[1]), startTime: Number(fields[19]) };
}

/** The identity of a running process, for recording. Example: processRef(process.pid). */
export function processRef(pid: number): ProcessRef | undefined {
  const stat = procStat(pid);
  return stat ? { pid, startTime: stat.startTime } : undefined;
}

/** True when this exact process (same pid and start time) still runs and is not a zombie. Example: isAlive(ref). */
export function isAlive(ref: ProcessRef): boolean {
  const stat = procStat(ref.pid);
  return stat !== undefined && stat.startTime === ref.startTime && stat.state !== 'Z';
}

/** Every pid in /proc. Example: allPids().includes(process.pid) -> true. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Children of a process (found by scanning, since /proc/PID/task/TID/children may be absent). Example: childrenOf(unsharePid). */
export function childrenOf(pid: number): number[] {
  return allPids().filter((p) => procStat(p)?.ppid === pid);
}

/** A namespace id such as `pid:[4026532301]`, or undefined when the process is gone. Example: namespaceOf(1, 'mnt'). */
export function namespaceOf(pid: number, kind: 'pid' | 'mnt' | 'uts'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** The command line of a process, arguments joined by spaces ('' when gone). Example: cmdlineOf(process.pid). */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Live (non-zombie) pids whose pid or mount namespace is one of `namespaces`. Zombies are left out:
 * they hold no mounts and run nothing, and reaping orphans is the controller's PID 1's job.
 * The kernel reuses the ids of freed namespaces: only ask about namespaces something still holds.
 * Example: pidsInNamespaces(['pid:[4026532301]']).
 */
export function pidsInNamespaces(namespaces: readonly string[]): number[] {
  if (namespaces.length === 0) return [];
  const wanted = new Set(namespaces);
  return allPids().filter((pid) => {
    const stat = procStat(pid);
    if (!stat || stat.state === 'Z') return false;
    const pidNs = namespaceOf(pid, 'pid');
    const mntNs = namespaceOf(pid, 'mnt');
    return (pidNs !== undefined && wanted.has(pidNs)) || (mntNs !== undefined && wanted.has(mntNs));
  });
}

/** Sends a signal to a recorded process if it is still that process. Example: signalIfAlive(ref, 'SIGKILL'). */
export function signalIfAlive(ref: ProcessRef, signal: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Polls `condition` every `intervalMs` until it holds (true) or the deadline passes (false). Example: await pollUntil(() => !isAlive(ref), 5000). */
export async function pollUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

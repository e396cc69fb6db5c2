import type { Command } from 'commander';
import { hostname } from 'node:os';
import { breakHostLock, HOST_LOCK_DIR, type HostHolder, readHostLock } from '../engine/index.js';
import { UsageError } from '../errors.js';
import type { Host } from '../inventory/model.js';
import { ClusterLock, holderAlive, type LockHolder } from '../state/index.js';
import { openShared } from './shared-run.js';
import { loadInventory } from '../inventory/load.js';
import { collect, connector, type GlobalOptions, readBecomePassword, stateDir } from './context.js';

/** `cutover unlock`: breaking a cluster lock is always explicit. */
export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description("break a cluster's lock (only when its run is known to be dead)")
    .option(
      '-i, --inventory <path>',
      'the inventory whose cluster to unlock (repeatable, as for apply)',
      collect,
    )
    .option('--cluster <name>', 'the cluster name instead of an inventory')
    .option('--force', 'required: confirms you checked the holder is gone')
    .action(async (opts: { inventory?: string[]; cluster?: string; force?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const inventory = opts.inventory ? await loadInventory(opts.inventory) : undefined;
      const cluster = opts.cluster ?? inventory?.cluster;
      if (!cluster) throw new UsageError('name the cluster with --inventory FILE or --cluster NAME');
      // The lock that counts is on the hosts: read (and with --force break) it on each of them.
      if (inventory) await unlockHosts(inventory.hosts, global, opts.force ?? false);
      await unlockShared(global, cluster, opts.force ?? false);
      const holder = ClusterLock.read(stateDir(global), cluster);
      if (!holder) {
        process.stdout.write(`cluster ${cluster} is not locked in ${stateDir(global)}\n`);
        return;
      }
      if (!opts.force) {
        throw new UsageError(
          `cluster ${cluster} is locked by ${holder.owner} (run ${holder.runId}, pid ${holder.pid} on ${holder.hostname}, lease until ${holder.expiresAt})`,
          'If that run is really gone, run again with --force.',
        );
      }
      if (holder.hostname === hostname() && holderAlive(holder)) {
        // Breaking a live run's lease would let a second run onto the cluster while it works.
        throw new UsageError(
          `cluster ${cluster} is locked by a run that is still alive on this machine: ${holder.owner}, run ${holder.runId}, pid ${holder.pid}`,
          `Stop that run first (Ctrl-C in its terminal, or abort it from \`cutover serve\`); its saga puts its hosts back and it releases the lock. Nothing was changed.`,
        );
      }
      ClusterLock.breakLock(stateDir(global), cluster);
      process.stdout.write(
        `lock of cluster ${cluster} broken (was held by ${holder.owner}, run ${holder.runId})\n`,
      );
    });
}

/**
 * Says who holds each host's lock; with `force`, breaks them, but never one whose run is alive on
 * this machine. Hosts that cannot be reached are named (their lock stays).
 */
async function unlockHosts(hosts: Host[], global: GlobalOptions, force: boolean): Promise<void> {
  const password = hosts.some((h) => h.become) ? await readBecomePassword(global) : undefined;
  const transports = connector(global, { password });
  try {
    const found = await Promise.all(
      hosts
        .filter((h) => h.transport !== 'local')
        .map(async (h) => {
          try {
            const session = await transports.connect(h, h.become?.user);
            return { host: h.name, session, holder: await readHostLock(session) };
          } catch (e) {
            return { host: h.name, error: (e as Error).message };
          }
        }),
    );
    for (const f of found)
      if ('error' in f) process.stderr.write(`${f.host}: cannot read its lock: ${f.error}\n`);
    const held = found.flatMap((f) => ('holder' in f && f.holder ? [{ ...f, holder: f.holder }] : []));
    if (held.length === 0) {
      process.stdout.write(`no host holds a lock (${HOST_LOCK_DIR})\n`);
      return;
    }
    for (const f of held) process.stdout.write(`${f.host}: ${describeHolder(f.holder)}\n`);
    if (!force)
      throw new UsageError(
        `${held.length} host(s) are locked`,
        'If that run is really gone (its controller dead, nothing to resume), run again with --force. Otherwise `cutover resume RUN` of that run takes the lock over.',
      );
    const live = held.find((f) => f.holder !== 'no-holder' && aliveHere(f.holder));
    if (live && live.holder !== 'no-holder')
      throw new UsageError(
        `${live.host} is locked by a run that is still alive on this machine: ${live.holder.operator}, run ${live.holder.run}, pid ${live.holder.pid}`,
        'Stop that run first (Ctrl-C in its terminal, or abort it from `cutover serve`); it gives its hosts back when it ends. Nothing was changed.',
      );
    for (const f of held) {
      await breakHostLock(f.session);
      process.stdout.write(`${f.host}: lock broken\n`);
    }
  } finally {
    await transports.close();
  }
}

function describeHolder(holder: HostHolder | 'no-holder'): string {
  if (holder === 'no-holder') return `locked (${HOST_LOCK_DIR} without a holder file: a run was taking it)`;
  return `locked by ${holder.operator}, run ${holder.run}, pid ${holder.pid}, since ${holder.since}, lease until ${holder.until}`;
}

/** A holder whose controller is this machine and whose process is a live cutover. */
function aliveHere(holder: HostHolder): boolean {
  const [, at] = holder.operator.split('@');
  if (at !== hostname()) return false;
  return holderAlive({
    owner: holder.operator,
    runId: holder.run,
    pid: Number(holder.pid),
    hostname: at,
    acquiredAt: holder.since,
    expiresAt: holder.until,
  });
}

/** With a shared state: says who holds the cluster's shared lease; with `force`, breaks it (never a live one of this machine). */
async function unlockShared(global: GlobalOptions, cluster: string, force: boolean): Promise<void> {
  const conn = await openShared(global);
  if (!conn) return;
  try {
    const { breakSharedLease, readSharedLease } = await import('../state/pg/lease.js');
    const holder = await readSharedLease(conn, cluster);
    if (!holder || Date.parse(holder.expiresAt) < Date.now()) {
      process.stdout.write(`cluster ${cluster} has no live lease in the shared state\n`);
      if (holder) await breakSharedLease(conn, cluster);
      return;
    }
    const who = `${holder.operator}@${holder.controller}, run ${holder.run}, pid ${holder.pid}, lease until ${holder.expiresAt}`;
    if (!force)
      throw new UsageError(
        `cluster ${cluster} is leased in the shared state by ${who}`,
        'That controller renews the lease while the run lives: if it is really gone, run again with --force (or wait until the lease expires, a minute after its last renewal).',
      );
    if (
      holder.controller === hostname() &&
      holderAlive({ pid: holder.pid, hostname: holder.controller } as LockHolder)
    )
      throw new UsageError(
        `cluster ${cluster} is leased by a run still alive on this machine: ${who}`,
        'Stop that run first (Ctrl-C in its terminal, or abort it from `cutover serve`). Nothing was changed.',
      );
    await breakSharedLease(conn, cluster);
    process.stdout.write(`shared lease of cluster ${cluster} broken (was held by ${who})\n`);
  } finally {
    await conn.close();
  }
}

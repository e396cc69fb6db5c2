import type { Command } from 'commander';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { ClusterLock, holderAlive } from '../state/index.js';
import { loadInventory } from '../inventory/load.js';
import { collect, type GlobalOptions, stateDir } from './context.js';

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
      const cluster =
        opts.cluster ?? (opts.inventory ? (await loadInventory(opts.inventory)).cluster : undefined);
      if (!cluster) throw new UsageError('name the cluster with --inventory FILE or --cluster NAME');
      const holder = ClusterLock.read(stateDir(global), cluster);
      if (!holder) {
        process.stdout.write(`cluster ${cluster} is not locked\n`);
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

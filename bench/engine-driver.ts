/**
 * Runs a plan through cutover's engine with a chosen poll interval, as `cutover apply --yes`
 * does otherwise (the CLI has no flag for the interval): for the log-wait benchmark only.
 * bench/log-wait.ts bundles it like the CLI (`bundleDriver`); `node --import tsx bench/engine-driver.ts` works too.
 * Usage: engine-driver RUNBOOK INVENTORY STATE_DIR POLL_INTERVAL_MS
 */
import { CutoverError } from '../src/errors.js';
import { ClusterLock } from '../src/state/index.js';
import { Engine } from '../src/engine/index.js';
import { connector, newRunId, openJournal, prepare, templateScope } from '../src/cli/context.js';

const [runbook, inventory, stateDir, interval] = process.argv.slice(2);
if (!runbook || !inventory || !stateDir || !/^\d+$/.test(interval ?? '')) {
  process.stderr.write('usage: engine-driver RUNBOOK INVENTORY STATE_DIR POLL_INTERVAL_MS\n');
  process.exit(2);
}
const prepared = await prepare({ runbook, inventory }).catch((e: unknown) => {
  process.stderr.write(`engine-driver: ${e instanceof CutoverError ? e.describe() : String(e)}\n`);
  process.exit(e instanceof CutoverError ? e.exitCode : 70);
});
const runId = newRunId();
const lock = ClusterLock.acquire(stateDir, prepared.plan.inventory.cluster, runId, 'bench');
const journal = openJournal({ stateDir }, prepared.redactor);
const transports = connector();
const engine = new Engine({
  plan: prepared.plan,
  runId,
  journal,
  connect: transports.connect,
  redactor: prepared.redactor,
  approveGate: async () => false,
  templateScope: (host, neighbour) => templateScope(prepared, host, neighbour),
  pollIntervalMs: Number(interval),
});
try {
  await engine.apply();
} finally {
  await transports.close();
  journal.close();
  lock.release();
}

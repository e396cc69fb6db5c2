/**
 * Runs a plan through cutover's engine with a chosen poll interval, as `cutover apply --yes`
 * does otherwise (the CLI has no flag for the interval): for the log-wait benchmark only.
 * bench/log-wait.ts bundles it like the CLI (`bundleDriver`); `node --import tsx bench/engine-driver.ts` works too.
 * Usage: engine-driver RUNBOOK INVENTORY STATE_DIR POLL_INTERVAL_MS [polled]
 * `polled`: the hosts look as if they had no timeout(1), so log waits are polled at the interval
 * as before issue 15 (the control for the followed waits).
 */
import { CutoverError } from '../src/errors.js';
import { ClusterLock } from '../src/state/index.js';
import { Engine } from '../src/engine/index.js';
import { connector, newRunId, openJournal, prepare, templateScope } from '../src/cli/context.js';
import type { Session } from '../src/transport/transport.js';

const [runbook, inventory, stateDir, interval, mode] = process.argv.slice(2);
if (!runbook || !inventory || !stateDir || !/^\d+$/.test(interval ?? '') || (mode && mode !== 'polled')) {
  process.stderr.write('usage: engine-driver RUNBOOK INVENTORY STATE_DIR POLL_INTERVAL_MS [polled]\n');
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
/** A host without timeout(1) as log-follow.ts asks for it: its log waits are polled. */
const polled = async (...args: Parameters<typeof transports.connect>): Promise<Session> => {
  const session = await transports.connect(...args);
  return {
    ...session,
    host: session.host,
    user: session.user,
    exec: (script, opts) =>
      session.exec(script.replace('command -v timeout', 'command -v cutover-bench-no-timeout'), opts),
    put: (data, path, opts) => session.put(data, path, opts),
    get: (path) => session.get(path),
    close: () => session.close(),
  };
};
const engine = new Engine({
  plan: prepared.plan,
  runId,
  journal,
  connect: mode === 'polled' ? polled : transports.connect,
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

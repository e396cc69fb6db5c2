import type { Command } from 'commander';
import { renderPlanSummary } from '../plan/summary.js';
import { formatProblem } from '../errors.js';
import { describeConnection } from '../transport/ssh-config.js';
import {
  becomePassword,
  collect,
  connector,
  type GlobalOptions,
  INVENTORY_HELP,
  FROM_HELP,
  LIMIT_HELP,
  ONLY_HELP,
  PARAM_HELP,
  type InputOptions,
  prepare,
  resolveHostConnections,
} from './context.js';

/** `cutover plan`: the plan in a minute's reading; `-v` per host, in execution order, every command that will run; secrets redacted. */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'compile and show the plan: phases, host order, steps × hosts and one line of intent per step (what it changes, probe, undo); -v every exact command per host, --json the data (secrets redacted)',
    )
    .requiredOption('-r, --runbook <file>', 'runbook YAML')
    .option('-i, --inventory <path>', INVENTORY_HELP, collect)
    .option('-p, --param <key=value...>', PARAM_HELP)
    .option('-l, --limit <hosts>', LIMIT_HELP)
    .option('--only <step...>', ONLY_HELP)
    .option('--from <step>', FROM_HELP)
    .option('--no-undo', 'do not show compensations')
    .option(
      '--probe',
      "connect and show, read-only, what each step would change now: probes' verdicts and file diffs",
    )
    .action(async (opts: InputOptions & { undo: boolean; probe?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const { plan, redactor, warnings } = await prepare(opts, undefined, 'placeholder', global);
      // What ssh will really use per host (~/.ssh/config or --ssh-config); a name that does not resolve is only a warning here.
      const resolved = await resolveHostConnections(plan.hosts, global, 'warning');
      for (const p of [...warnings, ...resolved.warnings])
        if (global.json) process.stderr.write(`${JSON.stringify(p)}\n`);
        else process.stderr.write(`${formatProblem(p)} (${p.severity})\n`);
      let findings: Map<string, string[]> | undefined;
      if (opts.probe) {
        const transports = connector(
          global,
          { password: await becomePassword(plan, global, redactor) },
          redactor,
        );
        try {
          const { previewPlan } = await import('../engine/index.js');
          findings = await previewPlan(plan, transports.connect, redactor);
        } finally {
          await transports.close();
        }
      }
      if (global.json) {
        process.stdout.write(
          `${JSON.stringify({ hash: plan.hash, hosts: plan.hosts, connections: Object.fromEntries(resolved.connections), preflight: plan.preflight, phases: plan.phases, localFiles: plan.localFiles })}\n`,
        );
        return;
      }
      const connections = new Map(
        [...resolved.connections].map(([name, c]) => [name, describeConnection(c)]),
      );
      const view = { compensations: opts.undo, connections, ...(findings ? { findings } : {}) };
      // Each view's code is loaded only when it is asked for (the summary is the common one).
      process.stdout.write(
        (global.verbose ?? 0) >= 1
          ? (await import('../plan/render.js')).renderPlan(plan, view)
          : renderPlanSummary(plan, view),
      );
    });
}

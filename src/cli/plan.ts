import type { Command } from 'commander';
import { renderPlan } from '../plan/render.js';
import { previewPlan } from '../engine/index.js';
import { connector, type GlobalOptions, type InputOptions, prepare } from './context.js';

/** `cutover plan`: per host, in execution order, every command that will run, secrets redacted. */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'compile and show the plan: per host, in order, every command, probe and undo (secrets redacted)',
    )
    .requiredOption('-r, --runbook <file>', 'runbook YAML')
    .requiredOption('-i, --inventory <file>', 'inventory file')
    .option('-p, --param <key=value...>', 'runbook params')
    .option('--no-undo', 'do not show compensations')
    .option(
      '--probe',
      "connect and show, read-only, what each step would change now: probes' verdicts and file diffs",
    )
    .action(async (opts: InputOptions & { undo: boolean; probe?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const { plan, redactor } = await prepare(opts, undefined, 'placeholder');
      let findings: Map<string, string[]> | undefined;
      if (opts.probe) {
        const transports = connector();
        try {
          findings = await previewPlan(plan, transports.connect, redactor);
        } finally {
          await transports.close();
        }
      }
      if (global.json) {
        process.stdout.write(
          `${JSON.stringify({ hash: plan.hash, hosts: plan.hosts, preflight: plan.preflight, phases: plan.phases, localFiles: plan.localFiles })}\n`,
        );
        return;
      }
      process.stdout.write(renderPlan(plan, { compensations: opts.undo, ...(findings ? { findings } : {}) }));
    });
}

import type { Command } from 'commander';
import { renderPlan } from '../plan/render.js';
import { type GlobalOptions, type InputOptions, prepare } from './context.js';

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
    .action(async (opts: InputOptions & { undo: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const { plan } = await prepare(opts, undefined, 'placeholder');
      if (global.json) {
        process.stdout.write(
          `${JSON.stringify({ hash: plan.hash, hosts: plan.hosts, preflight: plan.preflight, phases: plan.phases, localFiles: plan.localFiles })}\n`,
        );
        return;
      }
      process.stdout.write(renderPlan(plan, { compensations: opts.undo }));
    });
}

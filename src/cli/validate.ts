import type { Command } from 'commander';
import { formatProblem } from '../errors.js';
import { compile } from '../plan/compile.js';
import { resolveParams } from '../runbook/inputs.js';
import { loadRunbook } from '../runbook/load.js';
import { Secret } from '../shell/secret.js';
import {
  collect,
  type GlobalOptions,
  INVENTORY_HELP,
  PARAM_HELP,
  type InputOptions,
  loadAll,
  parseParamFlags,
  resolveHostConnections,
} from './context.js';

/** `cutover validate`: every problem at once as file:line:col, exit 2 on any error. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a runbook (and inventory) and report every problem at once; changes nothing')
    .requiredOption('-r, --runbook <file>', 'runbook YAML')
    .option(
      '-i, --inventory <path>',
      `${INVENTORY_HELP}; enables role/host checks, ssh resolution and a full compile`,
      collect,
    )
    .option('-p, --param <key=value...>', `${PARAM_HELP} (with -i, validates the compiled plan too)`)
    .action(async (opts: InputOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      if (!opts.inventory) {
        const { runbook, warnings } = await loadRunbook(opts.runbook);
        report(warnings, global);
        say(
          global,
          `${opts.runbook}: valid (${runbook.phases.length} phases, ${runbook.phases.reduce((n, p) => n + p.steps.length, 0)} steps)`,
        );
        return;
      }
      const { runbook, inventory, warnings } = await loadAll(opts);
      // What ssh will use per host: a bad ssh config is an error, a name that does not resolve (here) a warning.
      const resolved = await resolveHostConnections(inventory.hosts, global, 'warning');
      report([...warnings, ...resolved.warnings], global);
      const given = parseParamFlags(opts.param);
      const missing = Object.entries(runbook.params).filter(
        ([k, p]) => p.required && !(k in given) && p.default === undefined,
      );
      if (missing.length === 0) {
        const params = resolveParams(runbook, given);
        const secrets = Object.fromEntries(
          Object.keys(runbook.secrets).map((n) => [n, new Secret(n, `unresolved:${n}`)]),
        );
        const plan = compile({ runbook, inventory, params, secrets });
        say(
          global,
          `${opts.runbook}: valid; plan ${plan.hash.slice(0, 12)} has ${plan.phases.reduce((n, p) => n + Object.values(p.steps).flat().length, 0)} steps on ${plan.hosts.length} hosts`,
        );
      } else {
        say(
          global,
          `${opts.runbook}: valid against ${[opts.inventory].flat().join(', ')} (pass ${missing.map(([k]) => `-p ${k}=...`).join(' ')} to compile the plan too)`,
        );
      }
    });
}

function report(problems: { severity: string }[], global: GlobalOptions): void {
  for (const p of problems) {
    if (global.json) process.stdout.write(`${JSON.stringify(p)}\n`);
    else process.stderr.write(`${formatProblem(p as never)} (${p.severity})\n`);
  }
}

function say(global: GlobalOptions, text: string): void {
  if (global.json) process.stdout.write(`${JSON.stringify({ valid: true, message: text })}\n`);
  else process.stdout.write(`${text}\n`);
}

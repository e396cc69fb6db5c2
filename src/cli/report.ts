import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { replay } from '../journal/replay.js';
import { resolveSecrets } from '../runbook/inputs.js';
import { loadRunbook } from '../runbook/load.js';
import { Redactor } from '../shell/secret.js';
import { renderReport } from '../ui/report-html.js';
import { type GlobalOptions, openJournal, stateDir } from './context.js';

/** `cutover report RUN --html FILE`: the run as one self-contained HTML file. */
export function registerReport(program: Command): void {
  program
    .command('report <run>')
    .description(
      'write a self-contained HTML report of a run: summary, timeline (Gantt), plan and every step’s output',
    )
    .requiredOption('--html <file>', 'where to write the HTML file (- for stdout)')
    .action(async (run: string, opts: { html: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const events = openJournal(global).read(run);
      if (events.length === 0)
        throw new UsageError(
          `no run ${run} in ${stateDir(global)}`,
          'List runs with `cutover runs` (and pass the same --state-dir as the run).',
        );
      const html = renderReport(events, { redactor: await knownSecrets(replay(events).runbook) });
      if (opts.html === '-') {
        process.stdout.write(html);
        return;
      }
      const file = resolve(opts.html);
      writeFileSync(file, html, { mode: 0o644 });
      process.stderr.write(`report of run ${run} written to ${file}\n`);
    });
}

/**
 * The journal is redacted when written; the report redacts again with whatever secrets can be read
 * without asking (env and file sources), in case a value reached the journal some other way.
 */
async function knownSecrets(runbookFile: string): Promise<Redactor> {
  const redactor = new Redactor();
  if (!existsSync(runbookFile)) return redactor;
  try {
    const { runbook } = await loadRunbook(runbookFile);
    const secrets = await resolveSecrets(runbook, { env: process.env });
    for (const s of Object.values(secrets)) redactor.add(s);
  } catch {
    // A secret only a prompt can give, or a runbook changed since: the journal's redaction stands.
  }
  return redactor;
}

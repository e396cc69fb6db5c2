import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { replay } from '../journal/replay.js';
import { resolveSecrets } from '../runbook/inputs.js';
import type { JournalEvent } from '../journal/events.js';
import { loadRunbook, parseRunbook } from '../runbook/load.js';
import { Redactor } from '../shell/secret.js';
import { renderReport } from '../ui/report-html.js';
import { type GlobalOptions, openHistory, runOrLatest } from './state.js';
import { renderSummary } from './runs.js';

/** `cutover report [RUN]`: the run's text summary, or with `--html FILE` one self-contained HTML file. */
export function registerReport(program: Command): void {
  program
    .command('report [run]')
    .description(
      'a run (default: the latest) as a text summary, or with --html a self-contained HTML report: summary, timeline (Gantt), plan and every step’s output',
    )
    .option('--html <file>', 'write the HTML report to this file (- for stdout) instead of the text summary')
    .action(async (given: string | undefined, opts: { html?: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const history = await openHistory(global);
      let events: JournalEvent[];
      let run: string;
      try {
        run = await runOrLatest(given, history, 'report');
        events = await history.read(run);
        if (events.length === 0)
          throw new UsageError(
            `no run ${run} in ${history.where}`,
            'List runs with `cutover runs` (and pass the same --state-dir or --state as the run).',
          );
      } finally {
        await history.close();
      }
      const redactor = await knownSecrets(events);
      if (opts.html === undefined) {
        process.stdout.write(redactor.redact(renderSummary(replay(events))));
        return;
      }
      const html = renderReport(events, { redactor });
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
async function knownSecrets(events: readonly JournalEvent[]): Promise<Redactor> {
  const redactor = new Redactor();
  const started = events[0];
  if (started?.type !== 'run.started') return redactor;
  try {
    // The runbook as the run journaled it (the file may be gone or edited), else the file it names.
    const journaled = started.inputs?.runbook;
    const runbook = journaled
      ? parseRunbook(journaled.text, journaled.file).runbook
      : existsSync(started.runbook)
        ? (await loadRunbook(started.runbook)).runbook
        : undefined;
    if (!runbook) return redactor;
    const secrets = await resolveSecrets(runbook, { env: process.env });
    for (const s of Object.values(secrets)) redactor.add(s);
  } catch {
    // A secret only a prompt can give, or a runbook changed since: the journal's redaction stands.
  }
  return redactor;
}

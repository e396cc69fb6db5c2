import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { formatProblem, InputError, UsageError } from '../errors.js';
import { LIMITS } from '../source/limits.js';
import { importMarkdown } from '../import/import.js';
import { reportJson, reportText, summarize, summaryLine } from '../import/report.js';
import { parseRunbook } from '../runbook/load.js';
import { readInputFile } from '../source/read.js';
import type { GlobalOptions } from './context.js';

interface ImportOptions {
  output?: string;
  report?: boolean;
  force?: boolean;
}

/**
 * `cutover import FILE.md [-o runbook.yml] [--report]`: a Markdown runbook -> a draft runbook
 * that validates (TODOs are warnings). Example: `cutover import upgrade.md -o runbook.yml`.
 */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'turn a Markdown runbook (headings or numbered steps, commands in code blocks) into a draft runbook to review',
    )
    .argument('<file>', 'the Markdown runbook')
    .option('-o, --output <file>', 'write the draft here (default: print it)')
    .option(
      '--report',
      'print what was recognised, what was not, and why (instead of the draft when there is no -o)',
    )
    .option('--force', 'replace the -o file if it exists')
    .action(async (file: string, opts: ImportOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const text = await readInputFile(
        file,
        'document',
        'Check the path (it is relative to the current folder).',
      );
      if (opts.output && existsSync(opts.output) && !opts.force) {
        throw new UsageError(
          `${opts.output} exists; the draft would replace it`,
          'Choose another -o file, or pass --force to replace it.',
        );
      }
      refuseOversizedDocument(text, file);
      const result = importMarkdown(text, basename(file));
      // The draft must load; a draft that does not is a bug in the importer, not in the document.
      const check = parseRunbook(result.yaml, opts.output ?? `${basename(file)}.yml`);
      const errors = check.problems.filter((p) => p.severity === 'error');
      if (errors.length > 0) {
        throw new Error(`the imported draft does not validate:\n${errors.map(formatProblem).join('\n')}`);
      }
      if (opts.output) {
        const temp = join(dirname(opts.output), `.${basename(opts.output)}.${process.pid}.tmp`);
        writeFileSync(temp, result.yaml);
        renameSync(temp, opts.output);
      }
      const summary = summarize(result);
      if (opts.report) {
        process.stdout.write(global.json ? `${JSON.stringify(reportJson(result))}\n` : reportText(result));
        return;
      }
      const next = opts.output ? ` Review them: cutover validate -r ${opts.output}` : '';
      if (opts.output) {
        process.stdout.write(
          global.json
            ? `${JSON.stringify({ output: opts.output, summary })}\n`
            : `${opts.output}: ${summaryLine(summary)}.${next}\n`,
        );
      } else {
        process.stdout.write(result.yaml);
        process.stderr.write(`${basename(file)}: ${summaryLine(summary)}.\n`);
      }
    });
}

/**
 * A document whose code would make a draft past the runbook's step limit is refused before the
 * import starts (exit 2 at the line where the limit is passed), not imported into a draft that
 * cannot load.
 */
function refuseOversizedDocument(text: string, file: string): void {
  let fenced = false;
  let code = 0;
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced || line.trim() === '') continue;
    code += 1;
    if (code > LIMITS.importCodeLines) {
      throw new InputError(
        [
          {
            file,
            line: i + 1,
            col: 1,
            path: '',
            message: `more than ${LIMITS.importCodeLines} lines of code in fenced blocks; cutover import reads at most ${LIMITS.importCodeLines} per document`,
            severity: 'error',
          },
        ],
        'Split the document (one per procedure or per phase) and import each part.',
      );
    }
  }
}

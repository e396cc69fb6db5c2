import type { Command } from 'commander';
import { docsMarkdown } from '../runbook/docs.js';
import { inventoryJsonSchema, runbookJsonSchema } from '../runbook/jsonschema.js';
import { EXIT_CODES_DOC } from './exit-codes.js';

/** `cutover docs`: the reference, generated from the same zod schemas that validate runbooks. */
export function registerDocs(program: Command): void {
  program
    .command('docs')
    .description('print the runbook reference (Markdown), or the JSON Schema with --schema')
    .option('--schema <which>', 'print a JSON Schema: runbook or inventory')
    .action((opts: { schema?: string }) => {
      if (opts.schema === 'runbook')
        process.stdout.write(`${JSON.stringify(runbookJsonSchema(), null, 2)}\n`);
      else if (opts.schema === 'inventory')
        process.stdout.write(`${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`);
      else process.stdout.write(`${docsMarkdown()}\n${EXIT_CODES_DOC}`);
    });
}
